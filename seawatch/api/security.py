"""Who may call what, and the audit of every API request.

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
- **What a caller sees** is :class:`seawatch.api.view.View`: the store's results filtered
  through the caller's ``Access`` before paging, counting, extents or 404s. The sharing
  endpoints themselves (login, grants, audit, markings) are in :mod:`seawatch.api.sharing`.
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
import logging
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from fastapi import Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from seawatch.errors import InvalidValue, SeawatchError, Unavailable
from seawatch.share import auth as share_auth
from seawatch.share import roles
from seawatch.share.errors import ShareError
from seawatch.share.policy import Access

if TYPE_CHECKING:  # pragma: no cover
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from seawatch.share.db import State
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


class AuthConfigError(InvalidValue):
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


def http_error(exc: SeawatchError) -> HTTPException:
    """The HTTP error of a seawatch error: its status, message and headers."""
    return HTTPException(exc.http_status, str(exc), headers=exc.headers() or None)


def audit_note(request: Request) -> dict[str, Any]:
    """The request's audit entry in the making (a dict in the ASGI scope): a route adds the
    actor, the action or parameters to it; :class:`AuditMiddleware` writes it."""
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
        note = audit_note(request)
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


async def error_handler(_request: Request, exc: Exception) -> Response:
    """A :class:`~seawatch.errors.SeawatchError` raised by a route as its HTTP error.

    The one place the API turns seawatch's errors into answers: the error's status, its
    message as ``detail`` and its headers. An error of the server's own (status 500) is
    raised on, so that it is logged and answered as any other server fault."""
    assert isinstance(exc, SeawatchError)
    if exc.http_status >= 500 and not isinstance(exc, Unavailable):
        raise exc
    return JSONResponse({"detail": str(exc)}, status_code=exc.http_status,
                        headers=exc.headers() or None)


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
    "audit_note",
    "check_auth_mode",
    "declare",
    "is_loopback",
    "iter_routes",
    "require",
    "route_actions",
]
