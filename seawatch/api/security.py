"""Authentication of API requests, local mode, and credentials kept out of URLs and logs.

The HTTP side of :mod:`seawatch.share` (see ``docs/sharing.md``); each route's guard
(:mod:`seawatch.api.policy`) calls :meth:`Security.authorize`:

- **Authentication** (mode ``required``): ``Authorization: Bearer sw_...`` or the session
  cookie ``seawatch_session`` (with ``X-CSRF-Token`` on anything but GET/HEAD/OPTIONS),
  throttled; then the role's right to the action; then the caller's
  :class:`~seawatch.share.policy.Access` (own agency plus grants live *now*: an expired or
  revoked grant stops working at the next request). Public routes (the page shell, static
  files, ``/openapi.json``, ``/docs``, the OGC landing page and conformance, login) look at
  no credentials at all. A refusal is the :mod:`seawatch.share` error itself (401, 403,
  429, 503), answered by :func:`seawatch.api.errors.error_handler`.
- **Local mode** (``auth="local"``, the single-user demo): every request acts as the
  built-in principal ``local``, a read-only analyst of the host agency; the application then
  answers only requests from a loopback address whose ``Host`` is a loopback name
  (:class:`LoopbackOnlyMiddleware`, also defeating DNS rebinding), and refuses every write.
- **Credentials** are accepted only in the ``Authorization`` header or the cookie: a token
  or password in the URL (which access logs print) is refused with a 400
  (:func:`credential_in_query`), and tokens are masked in the server's logs
  (:class:`RedactTokens`).

What a caller then sees is :class:`seawatch.api.view.View`; every request is audited by
:mod:`seawatch.api.audit`.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from fastapi import Request
from fastapi.responses import JSONResponse

from seawatch.api.audit import AUDIT_SCOPE_KEY, audit_note
from seawatch.errors import Forbidden, InvalidValue
from seawatch.share import auth as share_auth
from seawatch.share import roles
from seawatch.share.policy import Access

if TYPE_CHECKING:  # pragma: no cover
    from starlette.types import ASGIApp, Receive, Scope, Send

    from seawatch.share.db import State
    from seawatch.share.roles import Principal

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

    def __init__(self, state: State, mode: str = "required") -> None:
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

    def local_principal(self) -> Principal:
        """The built-in principal of local mode: ``local``, analyst of the host agency."""
        agency = self.host_agency() or LOCAL_FALLBACK_AGENCY
        return roles.Principal(0, LOCAL_USER, agency, LOCAL_ROLE, "local", True)

    def local_access(self, principal: Principal) -> Access:
        """The local principal's Access: everything (it is the host)."""
        from seawatch.share.db import utcnow
        from seawatch.share.markings import default_marking

        return Access(principal, host_agency=principal.agency, now=utcnow(),
                      default_level=default_marking(self.state), state=self.state)

    def authorize(self, request: Request, action: str) -> Access | None:
        """Authenticate ``request`` and check ``action``; the caller's Access (None: public).

        Raises
        ------
        seawatch.errors.SeawatchError
            :class:`~seawatch.errors.InvalidValue` (credentials in the URL; 400),
            :class:`~seawatch.errors.Unauthenticated` (no or bad credentials; 401,
            ``WWW-Authenticate: Bearer``), :class:`~seawatch.errors.Forbidden` (role, CSRF,
            or a write in local mode; 403), :class:`~seawatch.errors.RateLimited`
            (throttled; 429, ``Retry-After``), :class:`~seawatch.errors.Unavailable` (state
            not initialised; 503).
        """
        note = audit_note(request)
        note["action"] = action
        bad = credential_in_query(request.query_params.multi_items())
        if bad is not None:
            raise InvalidValue(
                f"query parameter {bad[:40]!r} looks like a credential: never put tokens or "
                "passwords in a URL (URLs are logged); send 'Authorization: Bearer <token>'",
            )
        if self.local:
            local = self.local_principal()
            note["principal"] = local
            if action == roles.PUBLIC:
                return None
            if action not in LOCAL_ACTIONS or request.method.upper() not in \
                    share_auth.SAFE_METHODS:
                raise Forbidden(
                    f"this server runs in local mode, which is read-only: {action} needs "
                    "`seawatch serve --auth required` and a login",
                )
            return self.local_access(local)
        if action == roles.PUBLIC:
            return None
        from seawatch.share.policy import access_for

        client = request.client.host if request.client else None
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
        request.state.principal = principal
        request.state.access = access
        return access


class LoopbackOnlyMiddleware:
    """Local mode: answer only clients on this machine that name it in ``Host``.

    A request from another address (a proxy, ``--host 0.0.0.0`` by mistake) or naming
    another host (DNS rebinding from a web page) gets a 403 and nothing else.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
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
        args = record.args
        if isinstance(args, tuple) and any(
                isinstance(a, str) and _TOKEN_IN_TEXT.search(a) for a in args):
            record.args = tuple(
                _TOKEN_IN_TEXT.sub("sw_[redacted]", a) if isinstance(a, str) else a
                for a in args
            )
        return True


def install_log_redaction() -> None:
    """Add :class:`RedactTokens` to uvicorn's loggers and seawatch's (once)."""
    for name in ("uvicorn.access", "uvicorn.error", "seawatch.api"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())


