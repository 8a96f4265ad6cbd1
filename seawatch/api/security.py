"""Who may call what, what each caller sees, and the audit of every API request.

The HTTP side of :mod:`seawatch.share` (see ``docs/sharing.md``):

- **One action per route.** Every route of the application carries exactly one action of
  :data:`seawatch.share.roles.POLICY`, declared once with :func:`require` (a FastAPI
  dependency: ``access: Annotated[Access, require(READ)]`` or
  ``dependencies=[require(PUBLIC)]``), or with :func:`declare` for a mounted folder (the
  map's static files). :func:`route_actions` reads them back from ``app.routes``, so a test
  builds the authorisation matrix from the application's own route table and fails on a
  route without one.
- **Authentication** (mode ``required``): ``Authorization: Bearer sw_...`` or the session
  cookie ``seawatch_session`` (with ``X-CSRF-Token`` on anything but GET/HEAD/OPTIONS),
  throttled; then the role's right to the action; then the caller's
  :class:`~seawatch.share.policy.Access` (own agency plus grants live *now*: an expired or
  revoked grant stops working at the next request). Public routes (the page shell, static
  files, ``/openapi.json``, ``/docs``, the OGC landing page and conformance, login) look at
  no credentials at all.
- **Local mode** (``auth="local"``, the single-user demo): every request acts as the
  built-in principal ``local``, a read-only analyst of the host agency; the application then
  answers only requests from a loopback address whose ``Host`` is a loopback name (also
  defeating DNS rebinding), and refuses every write.
- **What a caller sees**: :class:`View` wraps :class:`~seawatch.api.query.StoreQuery` and
  filters its results (cached per snapshot, shared by everyone) through the caller's
  ``Access`` *before* paging, counting, extents or 404s, so nothing leaks through totals.
- **Audit**: :class:`AuditMiddleware` appends one hash-chained entry
  (:func:`seawatch.share.audit.record`) per request under ``/api/`` and ``/ogc``, allowed or
  denied: who, agency, action, path, the query parameters (secrets redacted), status and
  client address. The entry is written before the response starts; when it cannot be
  written the response is a 503 and no data leaves. Credentials are accepted only in the
  ``Authorization`` header or the cookie: a token or password in the URL (which access logs
  print) is refused with a 400.
"""

# No ``from __future__ import annotations``: FastAPI reads the parameter annotations.

import ipaddress
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import parse_qsl

import polars as pl
from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from seawatch.api import models
from seawatch.api.params import BadRequest, format_time, parse_time
from seawatch.share import auth as share_auth
from seawatch.share import roles
from seawatch.share.errors import AuthenticationError, RateLimited, ShareError, error_headers
from seawatch.share.policy import Access

if TYPE_CHECKING:  # pragma: no cover
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from seawatch.api.query import StoreQuery
    from seawatch.share.db import State
    from seawatch.share.grants import Grant
    from seawatch.share.roles import Principal

log = logging.getLogger("seawatch.api")

AUTH_MODES: tuple[str, ...] = ("required", "local")
"""``required``: every data route needs a token or a session. ``local``: the one-user demo on
this machine (loopback only, read-only)."""
LOCAL_USER = "local"
"""Username of the built-in principal of local mode (and its audit entries)."""
LOCAL_ROLE = roles.ANALYST
"""Role of the local principal (it may read and export, never write)."""
LOCAL_FALLBACK_AGENCY = "LOCAL"
"""Agency of the local principal while the state has no host agency yet."""
LOCAL_ACTIONS: frozenset[str] = frozenset(
    {roles.PUBLIC, roles.SESSION, roles.READ, roles.EXPORT, roles.GRANT_LIST}
)
"""What local mode allows: reading only."""
LOOPBACK_NAMES: frozenset[str] = frozenset({"localhost", "localhost.", "ip6-localhost"})
"""Host names taken as this machine (besides loopback addresses)."""
AUDIT_SCOPE_KEY = "seawatch.audit"
"""Key of the ASGI scope entry through which a route's guard tells the audit who and what."""
AUDIT_PARAM_CHARS = 500
"""Query parameter values are cut to this many characters in the audit log."""
SECRET_PARAM_WORDS: tuple[str, ...] = (
    "token", "password", "passwd", "secret", "authorization", "session", "csrf", "api_key",
    "apikey",
)
"""A query parameter whose name contains one of these is refused (credentials in a URL)."""
_TOKEN_IN_TEXT = re.compile(r"sw_[A-Za-z0-9_-]{20,}")
AUDIT_LIMIT_MAX = 1000
"""Most audit entries one request lists."""


class AuthConfigError(ValueError):
    """The application cannot run with the authentication asked for (e.g. ``local`` mode on
    an address other machines can reach)."""


# --- loopback ------------------------------------------------------------------------------


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` (an address or a name, optionally ``[v6]`` or with a port stripped
    already) is this machine: ``localhost``, 127.0.0.0/8 or ::1.

    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("localhost")
    (True, True, True)
    >>> is_loopback("0.0.0.0"), is_loopback("192.168.1.5"), is_loopback(None)
    (False, False, False)
    """
    if not host:
        return False
    name = host.strip().lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_header_name(value: str | None) -> str | None:
    """The host name of a ``Host`` header, without its port.

    >>> host_header_name("127.0.0.1:8000"), host_header_name("[::1]:80")
    ('127.0.0.1', '::1')
    >>> host_header_name("localhost")
    'localhost'
    """
    if not value:
        return None
    text = value.strip()
    if text.startswith("["):
        end = text.find("]")
        return text[1:end] if end > 0 else None
    if text.count(":") > 1:  # a bare IPv6 address (not valid in Host, but be strict)
        return text
    return text.split(":", 1)[0]


def check_auth_mode(auth: str, host: str | None = None) -> str:
    """``auth`` checked: one of :data:`AUTH_MODES`; ``local`` only on a loopback ``host``.

    Raises
    ------
    AuthConfigError
        An unknown mode, or ``local`` on an address that other machines can reach.

    >>> check_auth_mode("local", "127.0.0.1")
    'local'
    >>> check_auth_mode("local", "0.0.0.0")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    seawatch.api.security.AuthConfigError: --auth local serves without login...
    """
    if auth not in AUTH_MODES:
        raise AuthConfigError(f"unknown auth mode {auth!r}; use one of {', '.join(AUTH_MODES)}")
    if auth == "local" and host is not None and not is_loopback(host):
        raise AuthConfigError(
            f"--auth local serves without login, so it listens only on this machine "
            f"(127.0.0.1, ::1 or localhost), not on {host!r}: use --auth required (and "
            "`seawatch user add` / `seawatch token create`) to serve other machines"
        )
    return auth


# --- route policy --------------------------------------------------------------------------


class Guard:
    """The dependency of one route: authenticates, checks its action, builds the Access.

    Returns the caller's :class:`~seawatch.share.policy.Access` (None on public routes).
    """

    def __init__(self, action: str) -> None:
        if action not in roles.POLICY:
            raise KeyError(f"action {action!r} is not in seawatch.share.roles.POLICY")
        self.action = action

    def __repr__(self) -> str:
        return f"Guard({self.action!r})"

    def __call__(self, request: Request) -> Any:
        security: Security = request.app.state.security
        return security.authorize(request, self.action)


def require(action: str) -> Any:
    """The FastAPI dependency declaring (and enforcing) a route's action.

    Use it once per route: as a parameter, ``access: Annotated[Access, require(READ)]``, or in
    ``dependencies=[require(PUBLIC)]``.
    """
    return Depends(Guard(action))


def declare(route: Any, action: str) -> Any:
    """Declare the action of a route that takes no dependencies (a mounted folder)."""
    if action not in roles.POLICY:
        raise KeyError(f"action {action!r} is not in seawatch.share.roles.POLICY")
    route.seawatch_action = action
    return route


def route_actions(route: Any) -> list[str]:
    """The actions declared on a route of ``app.routes`` (exactly one for a correct route)."""
    found: list[str] = []
    declared = getattr(route, "seawatch_action", None)
    if declared is not None:
        found.append(declared)
    dependant = getattr(route, "dependant", None)
    stack = list(dependant.dependencies) if dependant is not None else []
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, Guard):
            found.append(dep.call.action)
        stack.extend(dep.dependencies)
    return found


def iter_routes(routes: Iterable[Any]) -> list[tuple[str | None, frozenset[str], Any]]:
    """``(path, methods, route)`` of every route of ``app.routes``, included routers
    expanded (their full paths), the route object being the one that carries the guard."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before included routers were kept as such
        return [(getattr(r, "path", None), frozenset(getattr(r, "methods", None) or ()), r)
                for r in routes]
    return [(c.path, frozenset(c.methods or ()), c.original_route)
            for c in iter_route_contexts(list(routes))]


def http_error(exc: ShareError) -> HTTPException:
    """The HTTP error of a sharing-layer error: its status, message and headers."""
    return HTTPException(exc.status, str(exc), headers=error_headers(exc) or None)


def _audit_note(request: Request) -> dict[str, Any]:
    note = request.scope.get(AUDIT_SCOPE_KEY)
    if note is None:
        note = request.scope[AUDIT_SCOPE_KEY] = {}
    return note  # type: ignore[no-any-return]


def credential_in_query(params: Iterable[tuple[str, str]]) -> str | None:
    """The name of a query parameter carrying a credential, or None.

    >>> credential_in_query([("bbox", "1,2,3,4"), ("access_token", "x")])
    'access_token'
    >>> credential_in_query([("q", "sw_" + "a" * 43)])
    'q'
    >>> credential_in_query([("q", "manta")]) is None
    True
    """
    for name, value in params:
        lowered = name.lower()
        if any(word in lowered for word in SECRET_PARAM_WORDS) or _TOKEN_IN_TEXT.search(value):
            return name
    return None


class Security:
    """Authentication mode and state of one application; see the module's description.

    Parameters
    ----------
    state
        The operational state (:func:`seawatch.share.db.open_state`).
    mode
        ``'required'`` or ``'local'`` (:data:`AUTH_MODES`).
    """

    def __init__(self, state: "State", mode: str = "required") -> None:
        self.state = state
        self.mode = check_auth_mode(mode)

    @property
    def local(self) -> bool:
        """Whether the application runs in local mode."""
        return self.mode == "local"

    def host_agency(self) -> str | None:
        """The state's host agency (None before ``init-state``)."""
        from seawatch.share.errors import NotInitialised
        from seawatch.share.markings import host_agency_name

        try:
            return host_agency_name(self.state)
        except NotInitialised:
            return None

    def local_principal(self) -> "Principal":
        """The built-in principal of local mode: ``local``, analyst of the host agency."""
        agency = self.host_agency() or LOCAL_FALLBACK_AGENCY
        return roles.Principal(0, LOCAL_USER, agency, LOCAL_ROLE, "local", True)

    def local_access(self, principal: "Principal") -> Access:
        """The local principal's Access: everything (it is the host)."""
        from seawatch.share.db import utcnow
        from seawatch.share.markings import default_marking

        return Access(principal, host_agency=principal.agency, now=utcnow(),
                      default_level=default_marking(self.state), state=self.state)

    def authorize(self, request: Request, action: str) -> Access | None:
        """Authenticate ``request`` and check ``action``; the caller's Access (None: public).

        Raises
        ------
        fastapi.HTTPException
            400 (credentials in the URL), 401 (no or bad credentials; ``WWW-Authenticate:
            Bearer``), 403 (role, CSRF, or a write in local mode), 429 (throttled;
            ``Retry-After``), 503 (state not initialised).
        """
        note = _audit_note(request)
        note["action"] = action
        bad = credential_in_query(request.query_params.multi_items())
        if bad is not None:
            raise HTTPException(
                400,
                f"query parameter {bad[:40]!r} looks like a credential: never put tokens or "
                "passwords in a URL (URLs are logged); send 'Authorization: Bearer <token>'",
            )
        if self.local:
            principal = self.local_principal()
            note["principal"] = principal
            if action == roles.PUBLIC:
                return None
            if action not in LOCAL_ACTIONS or request.method.upper() not in \
                    share_auth.SAFE_METHODS:
                raise HTTPException(
                    403,
                    f"this server runs in local mode, which is read-only: {action} needs "
                    "`seawatch serve --auth required` and a login",
                )
            return self.local_access(principal)
        if action == roles.PUBLIC:
            return None
        from seawatch.share.policy import access_for

        client = request.client.host if request.client else None
        try:
            principal = share_auth.authenticate_request(
                self.state,
                method=request.method,
                authorization=request.headers.get("authorization"),
                session_id=request.cookies.get(share_auth.SESSION_COOKIE),
                csrf_token=request.headers.get(share_auth.CSRF_HEADER),
                client=client,
            )
            note["principal"] = principal
            roles.require(principal, action)
            assert principal is not None  # require() refuses anonymous callers
            access = access_for(self.state, principal)
        except ShareError as exc:
            raise http_error(exc) from None
        request.state.principal = principal
        request.state.access = access
        return access


async def share_error_handler(_request: Request, exc: Exception) -> Response:
    """A :class:`~seawatch.share.errors.ShareError` raised by a route as its HTTP error."""
    assert isinstance(exc, ShareError)
    return JSONResponse({"detail": str(exc)}, status_code=exc.status,
                        headers=error_headers(exc) or None)


# --- middleware ----------------------------------------------------------------------------


def audited(path: str) -> bool:
    """Whether requests to ``path`` are audited: the API (``/api/...``) and ``/ogc``."""
    return path.startswith("/api/") or path == "/ogc" or path.startswith("/ogc/")


def _query_params(scope: "Scope") -> dict[str, Any]:
    raw = scope.get("query_string", b"").decode("latin-1")
    out: dict[str, Any] = {}
    for name, value in parse_qsl(raw, keep_blank_values=True):
        name = name[:100]
        value = value[:AUDIT_PARAM_CHARS]
        if name in out:
            prior = out[name]
            out[name] = [*prior, value] if isinstance(prior, list) else [prior, value]
        else:
            out[name] = value
    return out


class AuditMiddleware:
    """Appends one audit entry per API request (before its response starts).

    The route's guard leaves the action and the principal in the scope (key
    :data:`AUDIT_SCOPE_KEY`); a request that reaches no route is recorded as ``unrouted``.
    When the entry cannot be written, the response becomes a 503 without its body: data
    never leaves unaudited.
    """

    def __init__(self, app: "ASGIApp", security: Security) -> None:
        self.app = app
        self.security = security

    async def __call__(self, scope: "Scope", receive: "Receive", send: "Send") -> None:
        if scope["type"] != "http" or not audited(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        from anyio import to_thread

        note: dict[str, Any] = {}
        scope[AUDIT_SCOPE_KEY] = note
        recorded = False
        blocked = False

        async def record(status: int) -> bool:
            try:
                await to_thread.run_sync(self._record, scope, note, status)
                return True
            except Exception:
                log.exception("cannot write the audit entry of %s %s", scope.get("method"),
                              scope.get("path"))
                return False

        async def send_audited(message: "Message") -> None:
            nonlocal recorded, blocked
            if message["type"] == "http.response.start" and not recorded:
                recorded = True
                if not await record(int(message["status"])):
                    blocked = True
                    body = b'{"detail":"the audit log cannot be written; try again later"}'
                    await send({"type": "http.response.start", "status": 503, "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ]})
                    await send({"type": "http.response.body", "body": body})
                    return
            if blocked:
                return
            await send(message)

        try:
            await self.app(scope, receive, send_audited)
        except Exception:
            if not recorded:
                recorded = True
                await record(500)
            raise

    def _record(self, scope: "Scope", note: Mapping[str, Any], status: int) -> None:
        from seawatch.share.audit import record

        params: dict[str, Any] = _query_params(scope)
        extra = note.get("params")
        if extra:
            params = {**params, "request": extra}
        client = scope.get("client")
        record(
            self.security.state,
            note.get("action") or "unrouted",
            principal=note.get("principal"),
            actor=note.get("actor"),
            resource=str(scope.get("path", ""))[:1000],
            params=params,
            status=status,
            client=client[0] if client else None,
        )


class LoopbackOnlyMiddleware:
    """Local mode: answer only clients on this machine that name it in ``Host``.

    A request from another address (a proxy, ``--host 0.0.0.0`` by mistake) or naming
    another host (DNS rebinding from a web page) gets a 403 and nothing else.
    """

    def __init__(self, app: "ASGIApp") -> None:
        self.app = app

    async def __call__(self, scope: "Scope", receive: "Receive", send: "Send") -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        host = None
        for key, value in scope.get("headers", []):
            if key == b"host":
                host = value.decode("latin-1")
                break
        if is_loopback(client[0] if client else None) and is_loopback(host_header_name(host)):
            await self.app(scope, receive, send)
            return
        note = scope.get(AUDIT_SCOPE_KEY)
        if note is not None:
            note["action"] = "local.refused"
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        response = JSONResponse(
            {"detail": "this server runs in local mode (no login) and answers only this "
                       "machine: open it as http://127.0.0.1:PORT/ or http://localhost:PORT/"},
            status_code=403,
        )
        await response(scope, receive, send)


class RedactTokens(logging.Filter):
    """Logging filter replacing API tokens (``sw_...``) in log records (access logs print
    request lines; a token never belongs there, but if a client puts one, it is hidden)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and _TOKEN_IN_TEXT.search(record.msg):
            record.msg = _TOKEN_IN_TEXT.sub("sw_[redacted]", record.msg)
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            if any(isinstance(a, str) and _TOKEN_IN_TEXT.search(a) for a in args):
                cleaned = tuple(
                    _TOKEN_IN_TEXT.sub("sw_[redacted]", a) if isinstance(a, str) else a
                    for a in args
                )
                record.args = cleaned if isinstance(record.args, tuple) else cleaned[0]
        return True


def install_log_redaction() -> None:
    """Add :class:`RedactTokens` to uvicorn's loggers and seawatch's (once)."""
    for name in ("uvicorn.access", "uvicorn.error", "seawatch.api"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())


# --- what a caller sees --------------------------------------------------------------------

POSITION_FIELDS: tuple[str, ...] = ("ts", "lat", "lon", "sog", "cog", "heading")
"""Fields of a vessel record that describe its latest position (null when not released)."""


class View:
    """The store as one caller sees it: :class:`~seawatch.api.query.StoreQuery` results
    filtered by the caller's :class:`~seawatch.share.policy.Access`.

    For the host agency (and local mode) every method answers what the query answers (the
    fast, cached paths), with the markings joined onto events. For another agency, rows are
    filtered before any paging, counting or extent: events by
    :meth:`~seawatch.share.policy.Access.filter_events`, positions by
    :meth:`~seawatch.share.policy.Access.filter_positions` (read only where a live grant
    releases positions, pre-filtered by the grants' boxes and windows), vessels by
    :meth:`~seawatch.share.policy.Access.filter_vessels` (the latest position shown only
    where released; vessels named by visible events listed with their identity), zones by
    :meth:`~seawatch.share.policy.Access.filter_zones`.
    """

    def __init__(self, query: "StoreQuery", access: Access) -> None:
        self.query = query
        self.access = access
        self._event_mmsis: set[int] | None = None
        self._all_positions: pl.DataFrame | None = None

    @property
    def full(self) -> bool:
        """Whether the caller sees the whole store (the host agency)."""
        return self.access.full

    def live_grants(self) -> list["Grant"]:
        """The grants the caller's agency holds now."""
        a = self.access
        return [g for g in a.grants if g.grantee == a.agency and g.is_live(a.now)]

    # --- events -----------------------------------------------------------------------

    def events(self, **filters: Any) -> pl.DataFrame:
        """:meth:`StoreQuery.events` visible to the caller, with their markings."""
        return self.access.filter_events(self.query.events(**filters))

    def event(self, event_id: str) -> pl.DataFrame:
        """The visible event with this id (one row), or an empty frame."""
        return self.access.filter_events(self.query.event(event_id))

    def event_mmsis(self) -> set[int]:
        """MMSIs of the vessels of the events the caller sees."""
        if self._event_mmsis is None:
            frame = self.events()
            ids = pl.concat([frame["mmsi"], frame["other_mmsi"]]).drop_nulls().unique()
            self._event_mmsis = {int(v) for v in ids.to_list()}
        return self._event_mmsis

    # --- positions --------------------------------------------------------------------

    def position_grants(self) -> list["Grant"]:
        """Live grants that release positions."""
        return [g for g in self.live_grants() if g.include_positions]

    def positions_frame(
        self,
        mmsi: Sequence[int] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        bbox: tuple[float, float, float, float] | None = None,
    ) -> pl.DataFrame:
        """Every visible position matching the filters, in store order."""
        if self.full:
            return self.query.positions_frame(mmsi=mmsi, start=start, end=end, bbox=bbox)
        if mmsi is None and start is None and end is None and bbox is None \
                and self._all_positions is not None:
            return self._all_positions
        grants = self.position_grants()
        lazy = self.query.positions(mmsi, start, end, bbox)
        if not grants:
            frame = self.query.collect(lazy.head(0))
        else:
            frame = self.access.filter_positions(
                self.query.collect(lazy.filter(grants_prefilter(grants)))
            )
        if mmsi is None and start is None and end is None and bbox is None:
            self._all_positions = frame
        return frame

    def positions_page(self, offset: int, limit: int, **filters: Any) -> tuple[pl.DataFrame, int]:
        """Visible positions ``offset .. offset + limit`` and how many match."""
        if self.full:
            return self.query.positions_page(offset, limit, **filters)
        frame = self.positions_frame(**filters)
        return frame.slice(offset, limit), frame.height

    def positions_count(self, **filters: Any) -> int:
        """How many visible positions match."""
        if self.full:
            return self.query.positions_count(**filters)
        return self.positions_frame(**filters).height

    # --- vessels ----------------------------------------------------------------------

    def vessels(self, q: str | None = None,
                bbox: tuple[float, float, float, float] | None = None) -> pl.DataFrame:
        """:meth:`StoreQuery.vessels` as the caller sees them (columns ``VESSEL_FIELDS``).

        For another agency: vessels whose latest position a grant releases, and vessels of
        the events it sees (their position null unless released); ``bbox`` applies to the
        position shown, ``q`` to the identity.
        """
        from seawatch.api.query import VESSEL_FIELDS, search
        from seawatch.store.store import bbox_filter

        if self.full:
            return self.query.vessels(q=q, bbox=bbox)
        frame = self.access.filter_vessels(
            self.query.latest().select(VESSEL_FIELDS), visible_mmsi=self.event_mmsis()
        )
        if bbox is not None:
            frame = frame.filter(bbox_filter(bbox))
        if q:
            frame = search(frame, q)
        return frame

    def vessel(self, mmsi: int) -> dict[str, Any] | None:
        """One vessel (``GET /vessels/{mmsi}``), or None when unknown *or hidden*."""
        record = self.query.vessel(mmsi)
        if record is None or self.full:
            return record
        shown = self.vessels().filter(pl.col("mmsi") == mmsi)
        if shown.height == 0 and mmsi not in self.event_mmsis():
            return None
        if shown.height == 0 or shown["lat"].item() is None:
            record.update(dict.fromkeys(POSITION_FIELDS))
        positions = self.positions_frame(mmsi=[mmsi])
        times = positions["ts"]
        record["positions"] = positions.height
        record["first_ts"] = format_time(times.min()) if positions.height else None
        record["last_ts"] = format_time(times.max()) if positions.height else None
        events = self.events(mmsi=[mmsi])
        record["events"] = events.height
        return record

    def known_vessel(self, mmsi: int) -> bool:
        """Whether the caller may know of the vessel (the same test as :meth:`vessel`)."""
        if self.full:
            return self.query.last_seen(mmsi) is not None or self.query.vessel(mmsi) is not None
        if mmsi in self.event_mmsis():
            return True
        return self.vessels().filter(pl.col("mmsi") == mmsi).height > 0

    def last_seen(self, mmsi: int) -> datetime | None:
        """Time of the vessel's latest position the caller sees."""
        if self.full:
            return self.query.last_seen(mmsi)
        frame = self.positions_frame(mmsi=[mmsi])
        return frame["ts"].max() if frame.height else None  # type: ignore[return-value]

    def track(self, mmsi: int, start: datetime, end: datetime,
              zoom: float | None = None) -> dict[str, Any]:
        """The vessel's track (``GET /vessels/{mmsi}/track``) from visible positions."""
        if self.full:
            return self.query.track(mmsi, start, end, zoom)
        from seawatch.api.query import track_feature

        frame = self.positions_frame(mmsi=[mmsi], start=start, end=end)
        return track_feature(frame, mmsi, start, end, zoom)

    def identities(self, mmsis: Sequence[int]) -> list[dict[str, Any]]:
        """Identity and latest position of each MMSI (position null unless released)."""
        records = self.query.identities(mmsis)
        if self.full:
            return records
        shown = self.vessels().filter(pl.col("mmsi").is_in(list(mmsis)) &
                                      pl.col("lat").is_not_null())
        released = set(shown["mmsi"].to_list())
        for record in records:
            if record["mmsi"] not in released:
                record.update(dict.fromkeys(POSITION_FIELDS))
        return records

    def evidence(self, event: pl.DataFrame, margin: timedelta) -> str:
        """The event's evidence (``GET /events/{id}``) from positions the caller sees."""
        if self.full:
            return self.query.evidence(event, margin)
        from seawatch.api.query import evidence_collection, evidence_window

        ids, lo, hi = evidence_window(event, margin)
        frame = self.positions_frame(mmsi=ids, start=lo, end=hi)
        return evidence_collection(frame, ids, lo, hi, margin)

    # --- zones, statistics, extents ---------------------------------------------------

    def zones(self) -> list[Any]:
        """The zones the caller sees (:class:`seawatch.geo.Zone`)."""
        zones, _ = self.query.zones()
        return list(zones) if self.full else self.access.filter_zones(zones)

    def zones_geojson(self) -> str:
        """``GET /zones``: the zones' GeoJSON, limited to the zones the caller sees."""
        text = self.query.zones_geojson()
        if self.full:
            return text
        doc = json.loads(text)
        doc.pop("note", None)  # (it names the zones detection used)
        names = {z.name for z in self.zones()}
        doc["features"] = [f for f in doc["features"]
                           if (f.get("properties") or {}).get("name") in names]
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)

    def land_geojson(self) -> str:
        """``GET /basemap/land``: for another agency only the fixed fine-land box (the
        coarse land around the data would outline the extent of the host's data)."""
        return self.query.land_geojson() if self.full else fine_land_geojson()

    def stats(self) -> dict[str, Any]:
        """``GET /stats`` over what the caller sees (store size and inputs only for the
        host)."""
        if self.full:
            return self.query.stats()
        events = self.events()
        counts = events.group_by("type").len().sort("type")
        positions = self.positions_frame()
        by_day: dict[str, int] = {}
        if positions.height:
            days = positions.group_by(pl.col("ts").dt.date().cast(pl.String).alias("d")).len()
            by_day = dict(sorted(zip(days["d"].to_list(), days["len"].to_list(), strict=True)))
        vessels = set(positions["mmsi"].unique().to_list()) | self.event_mmsis()
        return {
            "positions": positions.height,
            "vessels": len(vessels),
            "events": events.height,
            "first_ts": format_time(positions["ts"].min()) if positions.height else None,
            "last_ts": format_time(positions["ts"].max()) if positions.height else None,
            "events_by_type": dict(zip(counts["type"].to_list(), counts["len"].to_list(),
                                       strict=True)),
            "days": sorted(by_day),
            "positions_by_day": by_day,
            "snapshot": self.query.snapshot_id,
            "inputs": 0,
            "size_bytes": 0,
            "detection": None,
        }

    def positions_extent(self) -> tuple[tuple[float, float, float, float] | None,
                                        list[str | None]]:
        """Box and time interval of the positions the caller sees."""
        if self.full:
            return self.query.extent(), list(self.query.time_extent())
        return frame_extent(self.positions_frame(), "ts", "ts")

    def vessels_extent(self) -> tuple[tuple[float, float, float, float] | None,
                                      list[str | None]]:
        """Box and time interval of the vessels' latest positions the caller sees."""
        if self.full:
            return self.query.extent(), list(self.query.time_extent())
        return frame_extent(self.vessels(), "ts", "ts")


def frame_extent(frame: pl.DataFrame, start: str, end: str) -> tuple[
        tuple[float, float, float, float] | None, list[str | None]]:
    """``(min_lon, min_lat, max_lon, max_lat)`` (None without coordinates) and
    ``[first start, last end]`` of a frame."""
    if frame.height == 0:
        return None, [None, None]
    row = frame.select(
        pl.col("lon").min().alias("x0"), pl.col("lat").min().alias("y0"),
        pl.col("lon").max().alias("x1"), pl.col("lat").max().alias("y1"),
        pl.col(start).min().alias("t0"), pl.col(end).max().alias("t1"),
    ).row(0)
    box = None if None in row[:4] else (float(row[0]), float(row[1]), float(row[2]),
                                        float(row[3]))
    return box, [format_time(row[4]), format_time(row[5])]


def grants_prefilter(grants: Sequence["Grant"]) -> pl.Expr:
    """A cheap superset of what the grants release (their areas' boxes and data windows),
    pushed into the positions scan before the exact :meth:`Access.filter_positions`."""
    import shapely

    expr = pl.lit(False)
    for g in grants:
        cond = pl.lit(True)
        if g.area_kind != "all":
            area = g.area
            if area is None:
                continue
            if g.area_kind == "bbox" and g.bbox is not None and g.bbox[0] > g.bbox[2]:
                x0, y0, x1, y1 = g.bbox
                lon_ok = (pl.col("lon") >= x0) | (pl.col("lon") <= x1)
            else:
                x0, y0, x1, y1 = (float(v) for v in shapely.bounds(area))
                lon_ok = pl.col("lon").is_between(x0, x1)
            cond = cond & pl.col("lat").is_between(y0, y1) & lon_ok
        if g.data_start is not None:
            cond = cond & (pl.col("ts") >= pl.lit(g.data_start))
        if g.data_end is not None:
            cond = cond & (pl.col("ts") <= pl.lit(g.data_end))
        expr = expr | cond
    return expr


_FINE_LAND: list[str] = []


def fine_land_geojson() -> str:
    """Natural Earth 1:10m land in the fixed coverage box only (cached)."""
    if not _FINE_LAND:
        import shapely

        from seawatch.api.query import LAND_PRECISION_DEG
        from seawatch.geo import land

        geom = shapely.set_precision(land(), LAND_PRECISION_DEG, mode="pointwise")
        _FINE_LAND.append(
            '{"type":"FeatureCollection","features":[{"type":"Feature","id":"fine",'
            '"properties":{"source":"Natural Earth 1:10m land (world-atlas)"},"geometry":'
            + shapely.to_geojson(geom) + "}]}"
        )
    return _FINE_LAND[0]


# --- exports: markings ---------------------------------------------------------------------


def frame_marking(frame: pl.DataFrame, access: Access) -> Any:
    """The :class:`~seawatch.share.markings.Marking` an export of ``frame`` carries.

    Frames with marking columns (events) use :func:`~seawatch.share.markings.export_marking`;
    others (positions, vessels) carry the store's default level, owned by the host.
    """
    from seawatch.share.markings import TLP, Marking, export_marking

    if "marking" in frame.columns and "releasable_to" in frame.columns:
        return export_marking(frame)
    if frame.height == 0:
        return Marking(TLP.CLEAR, (), access.host_agency)
    return Marking(access.default_level, (), access.host_agency)


# --- the sharing endpoints -----------------------------------------------------------------

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": models.Error, "description": "A parameter or the body is malformed."},
}


def _note_params(request: Request, **params: Any) -> None:
    _audit_note(request)["params"] = params


def _grant_json(grant: "Grant", now: datetime) -> dict[str, Any]:
    return {
        "id": grant.id,
        "grantor": grant.grantor,
        "grantee": grant.grantee,
        "area": grant.area_text(),
        "area_kind": grant.area_kind,
        "zone": grant.zone_name,
        "bbox": list(grant.bbox) if grant.bbox is not None else None,
        "event_types": list(grant.event_types) if grant.event_types else None,
        "include_positions": grant.include_positions,
        "max_marking": grant.max_marking.label,
        "data_start": format_time(grant.data_start),
        "data_end": format_time(grant.data_end),
        "expires_at": format_time(grant.expires_at),
        "created_at": format_time(grant.created_at),
        "created_by": grant.created_by,
        "revoked_at": format_time(grant.revoked_at),
        "revoked_by": grant.revoked_by,
        "note": grant.note,
        "status": grant.status(now),
    }


def _when(text: str | None, name: str, now: datetime) -> datetime | None:
    """A time of a request body: ISO 8601 or a duration from now (``24h``, ``7d``)."""
    if text is None or not text.strip():
        return None
    from seawatch.share.cli import _DURATION, parse_duration

    value = text.strip()
    if _DURATION.match(value):
        return now + parse_duration(value)
    if value.startswith("-") and _DURATION.match(value[1:]):
        return now - parse_duration(value[1:])
    return parse_time(value, name)


def _set_session_cookies(response: Response, request: Request, session_id: str, csrf: str,
                         max_age: int) -> None:
    secure = request.url.scheme == "https"
    response.set_cookie(share_auth.SESSION_COOKIE, session_id, max_age=max_age, path="/",
                        httponly=True, samesite="strict", secure=secure)
    response.set_cookie(share_auth.CSRF_COOKIE, csrf, max_age=max_age, path="/",
                        httponly=False, samesite="strict", secure=secure)


def build_router(query: "StoreQuery") -> APIRouter:
    """``/api/v1/auth/...``, ``/api/v1/grants``, ``/api/v1/audit`` and
    ``/api/v1/markings/...``: login and the administration of sharing."""
    from seawatch.share.db import utcnow

    router = APIRouter(prefix="/api/v1")

    def security(request: Request) -> Security:
        return request.app.state.security  # type: ignore[no-any-return]

    # --- session ------------------------------------------------------------------------

    @router.post(
        "/auth/login", tags=["auth"], summary="Log in with a password (web session)",
        response_model=models.LoginResult, dependencies=[require(roles.PUBLIC)],
        responses={
            **ERRORS,
            401: {"model": models.Error, "description": "Wrong username or password."},
            429: {"model": models.Error,
                  "description": "Too many failures: locked (see Retry-After)."},
        },
    )
    def login(request: Request, body: Annotated[models.LoginRequest, Body()]) -> Response:
        """Check the password and open a web session: sets the HttpOnly cookie
        ``seawatch_session`` (SameSite=Strict; Secure over https) and the readable cookie
        ``seawatch_csrf``, and answers the CSRF token, which must be echoed in the
        ``X-CSRF-Token`` header of every request that changes something. Five failures in
        five minutes lock the username and the client address for 15 minutes (429)."""
        sec = security(request)
        note = _audit_note(request)
        note["actor"] = body.username.strip().lower()[:64]
        if sec.local:
            raise HTTPException(
                400, "this server runs in local mode: there is no login (restart it with "
                     "`seawatch serve --auth required` to use accounts)")
        client = request.client.host if request.client else None
        try:
            principal, new = share_auth.login(sec.state, body.username, body.password,
                                              client=client)
        except RateLimited as exc:
            raise http_error(exc) from None
        except AuthenticationError as exc:
            raise http_error(exc) from None
        note["principal"] = principal
        payload = {"user": principal.username, "agency": principal.agency,
                   "role": principal.role, "csrf_token": new.csrf_token,
                   "expires_at": format_time(new.expires_at)}
        response = JSONResponse(payload, headers={"Cache-Control": "no-store"})
        _set_session_cookies(response, request, new.session_id, new.csrf_token,
                             int(share_auth.SESSION_TTL.total_seconds()))
        return response

    @router.post(
        "/auth/logout", tags=["auth"], summary="End the web session",
        response_model=models.LogoutResult, responses=ERRORS,
    )
    def logout(request: Request, _access: Annotated[Any, require(roles.SESSION)]) -> Response:
        """Ends the session of the cookie (its CSRF token in ``X-CSRF-Token``) and clears
        the cookies. With a bearer token there is no session to end (``ended: false``)."""
        ended = False
        session_id = request.cookies.get(share_auth.SESSION_COOKIE)
        if session_id and not request.headers.get("authorization") and not security(
                request).local:
            ended = share_auth.end_session(security(request).state, session_id)
        response = JSONResponse({"ended": ended})
        for name in (share_auth.SESSION_COOKIE, share_auth.CSRF_COOKIE):
            response.delete_cookie(name, path="/", samesite="strict")
        return response

    @router.get("/auth/me", tags=["auth"], summary="Who am I", response_model=models.Me,
                responses=ERRORS)
    def me(request: Request, access: Annotated[Access, require(roles.SESSION)]) -> Response:
        """The caller: user, agency, role, how it authenticated, whether its agency is the
        host (it sees all the store's data), the grants it reads through now, and the
        server's authentication mode."""
        p = access.principal
        return JSONResponse({
            "user": p.username, "agency": p.agency, "role": p.role, "auth": p.auth_method,
            "host": access.full, "grants": access.describe()["grants"],
            "mode": security(request).mode,
            "actions": sorted(a for a in roles.ACTIONS if roles.allowed(p, a)
                              and (not security(request).local or a in LOCAL_ACTIONS)),
        })

    # --- grants -------------------------------------------------------------------------

    @router.get("/grants", tags=["sharing"], summary="Grants given or received",
                response_model=models.GrantList, responses=ERRORS)
    def grants(
        request: Request,
        access: Annotated[Access, require(roles.GRANT_LIST)],
        live: Annotated[bool, Query(description="Only grants active now.")] = False,
    ) -> Response:
        """Grants the caller's agency gave or received (the host agency: all), newest
        first, each with its status now (``active``, ``expired``, ``revoked``)."""
        from seawatch.share.grants import list_grants

        now = utcnow()
        p = access.principal
        rows = list_grants(security(request).state, live_at=now if live else None,
                           principal=None if access.full else p,
                           agency=None if access.full else p.agency)
        return JSONResponse({"items": [_grant_json(g, now) for g in rows]})

    @router.post(
        "/grants", tags=["sharing"], summary="Grant another agency read access",
        status_code=201, response_model=models.GrantOut,
        responses={**ERRORS, 404: {"model": models.Error,
                                   "description": "Unknown agency or zone."}},
    )
    def grant_create(
        request: Request,
        access: Annotated[Access, require(roles.GRANT_CREATE)],
        body: Annotated[models.GrantRequest, Body()],
    ) -> Response:
        """Give ``grantee`` read access to the caller's agency's data in a scope (zone or
        box, event types, highest marking, optional positions and data window) until
        ``until`` (ISO 8601 or a duration: ``24h``, ``7d``). Admins only; the host's data is
        granted by the host's admins."""
        from seawatch.share.grants import create_grant

        now = utcnow()
        until = _when(body.until, "until", now)
        if until is None:
            raise BadRequest("until is required: a time (ISO 8601) or a duration (24h, 7d)")
        zones, _ = query.zones()
        bbox = body.bbox
        grant = create_grant(
            security(request).state, grantor=access.principal.agency, grantee=body.grantee,
            expires_at=until, max_marking=body.max_marking, zone=body.zone,
            bbox=",".join(str(v) for v in bbox) if isinstance(bbox, list) else bbox,
            zones=zones, event_types=body.event_types, include_positions=body.include_positions,
            data_start=_when(body.data_start, "data_start", now),
            data_end=_when(body.data_end, "data_end", now), note=body.note,
            principal=access.principal, now=now,
        )
        _note_params(request, grant=grant.id, to=grant.grantee, area=grant.area_text(),
                     types=list(grant.event_types or []), max=grant.max_marking.label,
                     positions=grant.include_positions, until=format_time(grant.expires_at))
        return JSONResponse(_grant_json(grant, now), status_code=201)

    @router.post(
        "/grants/{grant_id}/revoke", tags=["sharing"], summary="Revoke a grant now",
        response_model=models.GrantOut,
        responses={**ERRORS,
                   404: {"model": models.Error, "description": "No such grant."},
                   409: {"model": models.Error, "description": "Already revoked."}},
    )
    def grant_revoke(
        request: Request,
        access: Annotated[Access, require(roles.GRANT_REVOKE)],
        grant_id: Annotated[int, Path(ge=1, le=2**62)],
    ) -> Response:
        """Revoke a grant at once: the grantee's next request no longer sees through it.
        Admins of the granting agency, or of the host."""
        from seawatch.share.errors import NotFound
        from seawatch.share.grants import get_grant, revoke_grant

        state = security(request).state
        p = access.principal
        grant = get_grant(state, grant_id)
        if not access.full and p.agency not in (grant.grantor, grant.grantee):
            raise NotFound(f"unknown grant id {grant_id}")
        _note_params(request, grant=grant_id)
        revoked = revoke_grant(state, grant_id, principal=p)
        return JSONResponse(_grant_json(revoked, utcnow()))

    # --- audit --------------------------------------------------------------------------

    @router.get("/audit", tags=["sharing"], summary="The audit log",
                response_model=models.AuditPage, responses=ERRORS)
    def audit_log(
        request: Request,
        access: Annotated[Access, require(roles.AUDIT_READ)],
        user: Annotated[str | None, Query(max_length=128)] = None,
        agency: Annotated[str | None, Query(max_length=64, description=(
            "Only this agency (host admins; other admins always see their own)."))] = None,
        action: Annotated[str | None, Query(max_length=64, description=(
            "Only this action; a trailing * matches a prefix (grant.*)."))] = None,
        since: Annotated[str | None, Query(description="From this time (ISO 8601).")] = None,
        until: Annotated[str | None, Query(description="Before this time (ISO 8601).")] = None,
        limit: Annotated[int, Query(ge=1, le=AUDIT_LIMIT_MAX)] = 100,
    ) -> Response:
        """Audit entries, newest first: admins of the host agency see every entry, admins
        of another agency the entries of their agency."""
        from seawatch.share.audit import format_ts, show

        lo, hi = parse_time(since, "since"), parse_time(until, "until")
        if not access.full:
            agency = access.principal.agency
        rows = show(security(request).state, user=user, agency=agency, action=action,
                    since=lo, until=hi, limit=limit)
        items = [{
            "seq": e.seq, "ts": format_ts(e.ts), "actor": e.actor, "agency": e.agency,
            "action": e.action, "resource": e.resource, "params": e.params,
            "status": e.status, "client": e.client, "hash": e.hash,
        } for e in rows]
        return JSONResponse({"items": items, "limit": limit})

    # --- markings -----------------------------------------------------------------------

    @router.put(
        "/markings/events/{event_id}", tags=["sharing"], summary="Mark an event (TLP 2.0)",
        response_model=models.MarkingOut,
        responses={**ERRORS, 404: {"model": models.Error, "description": "No such event."}},
    )
    def marking_set(
        request: Request,
        access: Annotated[Access, require(roles.MARKING_SET)],
        event_id: Annotated[str, Path(max_length=500)],
        body: Annotated[models.MarkingRequest, Body()],
    ) -> Response:
        """Set an event's TLP level and releasable-to list. Admins and analysts of the
        agency that owns the event (or the host's admins)."""
        from seawatch.share.markings import set_marking

        if View(query, access).event(event_id).height == 0:
            raise HTTPException(404, f"no event with id {event_id[:200]!r}")
        marking = set_marking(security(request).state, "event", event_id, body.level,
                              releasable_to=body.releasable_to, principal=access.principal)
        _note_params(request, level=marking.level.label,
                     releasable_to=list(marking.releasable_to))
        return JSONResponse({
            "event_id": event_id, "marking": marking.level.label,
            "releasable_to": list(marking.releasable_to), "owner_agency": marking.owner,
            "set_by": marking.set_by, "set_at": format_time(marking.set_at),
        })

    return router


def security_schemes() -> dict[str, Any]:
    """OpenAPI security schemes: bearer token, session cookie (with its CSRF header)."""
    return {
        "bearerAuth": {"type": "http", "scheme": "bearer",
                       "description": "An API token: `seawatch token create --user NAME`."},
        "sessionCookie": {"type": "apiKey", "in": "cookie", "name": share_auth.SESSION_COOKIE,
                          "description": "Web session from POST /api/v1/auth/login; writes "
                                         "also need the X-CSRF-Token header."},
    }


def operation_actions(routes: Iterable[Any]) -> dict[tuple[str, str], str]:
    """``(path, method) -> action`` of every routed operation (for the OpenAPI document)."""
    out: dict[tuple[str, str], str] = {}
    for path, methods, route in iter_routes(routes):
        actions = route_actions(route)
        if not actions or path is None:
            continue
        for method in methods:
            out[(path, method.lower())] = actions[0]
    return out


def describe_security(doc: dict[str, Any], routes: Iterable[Any]) -> dict[str, Any]:
    """Add security requirements and 401/403/429 responses to an OpenAPI document."""
    actions = operation_actions(routes)
    doc.setdefault("components", {}).setdefault("securitySchemes", {}).update(
        security_schemes())
    ref = {"$ref": "#/components/schemas/Error"}
    for path, item in doc.get("paths", {}).items():
        for method, operation in item.items():
            action = actions.get((path, method))
            if action is None or action == roles.PUBLIC:
                continue
            operation["security"] = [{"bearerAuth": []}, {"sessionCookie": []}]
            responses = operation.setdefault("responses", {})
            responses.setdefault("401", {
                "description": "No, or an invalid, expired or revoked, credential "
                               "(WWW-Authenticate: Bearer).",
                "content": {"application/json": {"schema": ref}}})
            responses.setdefault("403", {
                "description": f"The caller's role may not {action} (or a session write "
                               "without its X-CSRF-Token).",
                "content": {"application/json": {"schema": ref}}})
            responses.setdefault("429", {
                "description": "Too many failed authentications from this address "
                               "(Retry-After).",
                "content": {"application/json": {"schema": ref}}})
    return doc


__all__ = [
    "AUTH_MODES",
    "AuditMiddleware",
    "AuthConfigError",
    "Guard",
    "LoopbackOnlyMiddleware",
    "Security",
    "View",
    "build_router",
    "check_auth_mode",
    "declare",
    "is_loopback",
    "iter_routes",
    "require",
    "route_actions",
]
