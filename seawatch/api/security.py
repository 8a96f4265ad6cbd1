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
- **The client address** is the TCP peer's. Forwarding headers are believed only from the
  reverse proxies the operator names (``trusted_proxies``, ``seawatch serve
  --trusted-proxy``): :class:`ClientAddressMiddleware` then takes the client from
  ``X-Forwarded-For`` (the nearest hop that is not a trusted proxy) and the scheme from
  ``X-Forwarded-Proto``. Without trusted proxies nothing a client sends changes its address,
  so throttling and the audit key on the real peer.
- **Local mode** (``auth="local"``, the single-user demo): every request acts as the
  built-in principal ``local``, a read-only analyst of the host agency; the application then
  answers only requests from a loopback address whose ``Host`` is a loopback name and that
  did not come through a proxy (no proxy header, not HTTP/1.0; :class:`LoopbackOnlyMiddleware`,
  also defeating DNS rebinding), and refuses every write.
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

from seawatch.api.audit import AUDIT_SCOPE_KEY, PEER_SCOPE_KEY, audit_note
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
PROXY_HEADERS: frozenset[bytes] = frozenset({
    b"forwarded", b"via", b"x-real-ip", b"forwarded-for", b"true-client-ip", b"client-ip",
    b"x-client-ip", b"x-cluster-client-ip", b"cf-connecting-ip", b"fastly-client-ip",
})
"""Headers (lower case) that proxies add; local mode refuses a request carrying any of them,
or any ``X-Forwarded-*`` (:data:`PROXY_HEADER_PREFIX`)."""
PROXY_HEADER_PREFIX = b"x-forwarded-"
"""Prefix of the de-facto proxy headers (``X-Forwarded-For``, ``-Host``, ``-Proto``, ...)."""
PROXY_HTTP_VERSIONS: frozenset[str] = frozenset({"1.0"})
"""HTTP versions local mode refuses: nginx's ``proxy_pass`` speaks HTTP/1.0 unless told
otherwise, while every browser, curl and Python client speaks HTTP/1.1 or later."""


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


def check_auth_mode(
    auth: str, host: str | None = None, trusted_proxies: Iterable[str] = ()
) -> str:
    """``auth`` checked: one of :data:`AUTH_MODES`; ``local`` only on a loopback ``host``
    and without trusted proxies.

    Raises
    ------
    AuthConfigError
        An unknown mode, ``local`` on an address that other machines can reach, or
        ``local`` behind a proxy.

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
    if auth == "local" and list(trusted_proxies):
        raise AuthConfigError(
            "--auth local answers this machine only and never through a proxy, so it takes "
            "no --trusted-proxy: serve behind a reverse proxy with --auth required"
        )
    return auth


# --- proxies and the client address ---------------------------------------------------------

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_address(text: str | None) -> IPAddress | None:
    """An IP address as a proxy or the socket writes it (``203.0.113.5``, ``2001:db8::1``,
    ``[2001:db8::1]``, ``203.0.113.5:443``, ``[2001:db8::1]:443``), IPv4-mapped IPv6
    addresses as IPv4; None when ``text`` is not one (``unknown``, a name, garbage).

    >>> str(parse_address("[::ffff:127.0.0.1]:8080")), str(parse_address(" 10.0.0.7 "))
    ('127.0.0.1', '10.0.0.7')
    >>> parse_address("unknown") is None, parse_address("_hidden") is None
    (True, True)
    """
    if not text:
        return None
    value = text.strip()
    if value.startswith("["):
        end = value.find("]")
        value = value[1:end] if end > 0 else ""
    elif value.count(":") == 1:  # IPv4 with a port
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def parse_trusted_proxies(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """The operator's ``--trusted-proxy`` values (addresses or CIDR networks) checked.

    Raises
    ------
    AuthConfigError
        A value that is not an address or network, or one that trusts every address
        (``0.0.0.0/0``, ``::/0``: every client could then forge its address).

    >>> [str(n) for n in parse_trusted_proxies(["127.0.0.1", "10.8.0.0/16", "::1"])]
    ['127.0.0.1/32', '10.8.0.0/16', '::1/128']
    >>> parse_trusted_proxies(["nginx"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    seawatch.api.security.AuthConfigError: --trusted-proxy 'nginx' is not an IP address...
    """
    networks: list[IPNetwork] = []
    for value in values:
        text = str(value).strip()
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise AuthConfigError(
                f"--trusted-proxy {text[:60]!r} is not an IP address or network (give the "
                "proxy's address as it connects to seawatch, e.g. 127.0.0.1 or 10.8.0.0/24)"
            ) from None
        if network.prefixlen == 0:
            raise AuthConfigError(
                f"--trusted-proxy {text!r} would trust every address, so any client could "
                "forge its own: name the proxies' addresses or networks"
            )
        networks.append(network)
    return tuple(networks)


class TrustedProxies:
    """The reverse proxies whose forwarding headers are believed, and the client address
    they report.

    Parameters
    ----------
    values
        Addresses or networks (:func:`parse_trusted_proxies`); none: trust nobody.

    Examples
    --------
    >>> proxies = TrustedProxies(["127.0.0.1"])
    >>> proxies.client("127.0.0.1", ["203.0.113.9"])  # nginx in front of a client
    '203.0.113.9'
    >>> proxies.client("127.0.0.1", ["6.6.6.6, 203.0.113.9"])  # the client's forged hop
    '203.0.113.9'
    >>> proxies.client("198.51.100.4", ["6.6.6.6"])  # not a proxy: its header is ignored
    '198.51.100.4'
    >>> TrustedProxies().client("127.0.0.1", ["6.6.6.6"])  # trust nobody (the default)
    '127.0.0.1'
    """

    def __init__(self, values: Iterable[str] = ()) -> None:
        self.networks = parse_trusted_proxies(values)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def __repr__(self) -> str:
        return f"TrustedProxies({[str(n) for n in self.networks]!r})"

    def trusts(self, address: str | None) -> bool:
        """Whether ``address`` is one of the trusted proxies."""
        parsed = parse_address(address)
        return parsed is not None and any(parsed in n for n in self.networks)

    def client(self, peer: str, forwarded_for: Iterable[str]) -> str:
        """The client's address for a request from ``peer`` with these ``X-Forwarded-For``
        header values (in the order received).

        Only a trusted ``peer`` is believed. Its header is read from the right (each proxy
        appends the address it saw): the first hop that is not itself a trusted proxy is the
        client. A hop that is not an address (``unknown``, garbage) stops the walk at the
        last proxy, whose address is then used: a broken header never names a made-up
        client.
        """
        if not self.trusts(peer):
            return peer
        hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()]
        client = peer
        for hop in reversed(hops):
            address = parse_address(hop)
            if address is None:
                break
            client = str(address)
            if not self.trusts(client):
                break
        return client


def proxy_header(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The name of the first header in ``headers`` (ASGI: lower-case bytes) that a proxy
    adds (:data:`PROXY_HEADERS`, ``X-Forwarded-*``), or None.

    >>> proxy_header([(b"host", b"127.0.0.1"), (b"x-forwarded-for", b"6.6.6.6")])
    'x-forwarded-for'
    >>> proxy_header([(b"host", b"127.0.0.1"), (b"accept", b"*/*")]) is None
    True
    """
    for key, _value in headers:
        name = key.lower()
        if name in PROXY_HEADERS or name.startswith(PROXY_HEADER_PREFIX):
            return name.decode("latin-1")
    return None


class ClientAddressMiddleware:
    """Replace the ASGI ``client`` (and ``scheme``) with what a trusted proxy reports.

    For a request whose TCP peer is a trusted proxy, ``scope["client"]`` becomes the
    address :meth:`TrustedProxies.client` reads from ``X-Forwarded-For`` and
    ``scope["scheme"]`` follows ``X-Forwarded-Proto`` (``http`` or ``https``: cookies are
    then marked Secure); the peer stays in ``scope[PEER_SCOPE_KEY]``. Requests from any
    other peer are passed on untouched, whatever headers they carry.
    """

    def __init__(self, app: ASGIApp, proxies: TrustedProxies) -> None:
        self.app = app
        self.proxies = proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] in ("http", "websocket") and client and self.proxies.trusts(client[0]):
            forwarded: list[str] = []
            proto = None
            for key, value in scope.get("headers", []):
                if key == b"x-forwarded-for":
                    forwarded.append(value.decode("latin-1"))
                elif key == b"x-forwarded-proto":
                    proto = value.decode("latin-1").split(",")[-1].strip().lower()
            scope[PEER_SCOPE_KEY] = tuple(client)
            scope["client"] = (self.proxies.client(client[0], forwarded), 0)
            if proto in ("http", "https"):
                secure = proto == "https"
                if scope["type"] == "websocket":
                    scope["scheme"] = "wss" if secure else "ws"
                else:
                    scope["scheme"] = proto
        await self.app(scope, receive, send)


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
    trusted_proxies
        Addresses or networks of the reverse proxies in front (``required`` mode only).
    """

    def __init__(self, state: State, mode: str = "required",
                 trusted_proxies: Iterable[str] = ()) -> None:
        self.state = state
        proxies = list(trusted_proxies)
        self.mode = check_auth_mode(mode, trusted_proxies=proxies)
        self.proxies = TrustedProxies(proxies)
        """The reverse proxies whose ``X-Forwarded-For`` is believed (none by default)."""

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


def local_refusal(scope: Scope) -> str | None:
    """Why local mode refuses a request (None: it is from this machine, directly).

    Refused: a peer that is not a loopback address (another machine, ``--host 0.0.0.0`` by
    mistake); a ``Host`` that is not a loopback name (DNS rebinding from a web page); a
    proxy header (:func:`proxy_header`); HTTP/1.0 (:data:`PROXY_HTTP_VERSIONS`: nginx's
    default ``proxy_pass``, which adds no header and names ``127.0.0.1:PORT`` as the host).

    >>> base = {"type": "http", "client": ("127.0.0.1", 5), "http_version": "1.1",
    ...         "headers": [(b"host", b"127.0.0.1:8000")]}
    >>> local_refusal(base) is None
    True
    >>> local_refusal({**base, "http_version": "1.0"})
    'an HTTP/1.0 request (a proxy)'
    >>> local_refusal({**base, "headers": [(b"host", b"127.0.0.1"), (b"via", b"1.1 p")]})
    'a via header (a proxy)'
    """
    client = scope.get("client")
    if not is_loopback(client[0] if client else None):
        return "a client on another machine"
    headers = scope.get("headers", [])
    host = next((v.decode("latin-1") for k, v in headers if k == b"host"), None)
    if not is_loopback(host_header_name(host)):
        return "a Host that is not this machine"
    found = proxy_header(headers)
    if found is not None:
        return f"a {found} header (a proxy)"
    if scope["type"] == "http" and scope.get("http_version") in PROXY_HTTP_VERSIONS:
        return f"an HTTP/{scope.get('http_version')} request (a proxy)"
    return None


class LoopbackOnlyMiddleware:
    """Local mode: answer only clients on this machine that name it in ``Host`` and come
    without a proxy (:func:`local_refusal`).

    A request from another address (``--host 0.0.0.0`` by mistake), naming another host
    (DNS rebinding from a web page) or through a reverse proxy (a proxy header, or HTTP/1.0
    as nginx forwards by default) gets a 403 and nothing else.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        reason = local_refusal(scope)
        if reason is None:
            await self.app(scope, receive, send)
            return
        note = scope.get(AUDIT_SCOPE_KEY)
        if note is not None:
            note["action"] = "local.refused"
            note["params"] = {"refused": reason}
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        response = JSONResponse(
            {"detail": f"this server runs in local mode (no login) and answers only this "
                       f"machine, directly, never through a proxy; refused: {reason}. Open it "
                       "as http://127.0.0.1:PORT/ or http://localhost:PORT/, or serve other "
                       "machines with --auth required (behind a proxy: --trusted-proxy)"},
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


