"""The FastAPI application: :func:`create_app` assembles it over one store.

- ``/api/v1/...`` REST (:mod:`seawatch.api.rest`, one module per resource, with login,
  grants, audit and markings), ``/ogc/...`` OGC API - Features (:mod:`seawatch.api.ogc`),
  ``/openapi.json`` (:mod:`seawatch.api.openapi`), ``/docs`` and the web map at ``/`` with
  its assets under ``/static/...`` (:mod:`seawatch.api.pages`);
- every route declares one action of :data:`seawatch.share.roles.POLICY`
  (:mod:`seawatch.api.policy`); with ``auth="required"`` (the default) every route with
  data needs an API token or a web session, and answers only what the caller's agency owns
  or holds a live grant for (:mod:`seawatch.api.security`, :mod:`seawatch.api.view`); with
  ``auth="local"`` (the one-user demo) it acts as a read-only local analyst and answers
  only this machine, directly (never through a proxy); every request under ``/api/`` and
  ``/ogc`` is appended to the audit log (:mod:`seawatch.api.audit`) with the client's
  address: the TCP peer's, or what a trusted reverse proxy reports (``trusted_proxies``;
  nobody's forwarding headers are believed by default);
- every error is JSON ``{"detail": "..."}`` (:mod:`seawatch.api.errors`): a malformed or
  out-of-range parameter is a 400 saying which and why (FastAPI's 422 validation errors
  included), an unknown id a 404, and an unexpected exception a 500 that is logged with its
  traceback (:class:`GuardMiddleware`), never a dropped connection or a dead server;
- every response carries ``X-Content-Type-Options: nosniff``, ``X-Frame-Options:
  SAMEORIGIN`` and ``Referrer-Policy: no-referrer``; no CORS header is sent unless
  ``cors_origins`` names the origins allowed (never a wildcard by default);
- responses over 1 kB are gzip-compressed when the client accepts it (level 1: fast).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from fastapi import FastAPI
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from seawatch.share.db import State

log = logging.getLogger("seawatch.api")

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"referrer-policy", b"no-referrer"),
)
"""Headers added to every response (unless the endpoint set them)."""

GZIP_LEVEL = 1
"""Compression of responses on the fly: level 1 keeps most of the gain (AIS text compresses
3-6x) at a fifth of the time of the default 9, which matters for exports of tens of MB."""

DESCRIPTION = """\
Offline maritime domain awareness over one seawatch store.

* **REST** under `/api/v1`: statistics, vessels (latest position and identity), tracks,
  positions, events with evidence, zones, land basemap, exports (GeoJSON, CSV, Parquet, KML).
* **OGC API - Features** under `/ogc` (Core, GeoJSON, OpenAPI 3.0): collections `vessels`,
  `positions`, `events`, `zones`; usable from QGIS and OWSLib.
* **Authentication**: `Authorization: Bearer sw_...` (an API token from `seawatch token
  create`) or the web session of `POST /api/v1/auth/login` (cookie `seawatch_session`, with
  the `X-CSRF-Token` header on writes). Every caller sees its own agency's data and what
  live grants give it; every request is audited.

Times are ISO 8601 UTC (`2026-01-15T12:00:00Z`); boxes are `min_lon,min_lat,max_lon,max_lat`.
Errors are JSON `{"detail": "..."}`: 400 for a bad parameter, 401 without valid credentials,
403 when the role may not, 404 for an unknown (or hidden) id, 429 when throttled.
"""


class GuardMiddleware:
    """Outermost ASGI layer: security headers on every response, and a logged JSON 500
    instead of a dropped connection for any exception the app lets escape."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            log.exception("internal error serving %s %s", scope.get("method"),
                          scope.get("path"))
            if started:  # the response has begun: nothing more can be said to the client
                return
            from starlette.responses import JSONResponse

            response = JSONResponse(
                {"detail": "internal server error; the server log has the details"},
                status_code=500,
            )
            await response(scope, receive, send_with_headers)


def create_app(
    store_dir: Path | str,
    *,
    web_dir: Path | None = None,
    zones: Path | str | None = None,
    cors_origins: Sequence[str] | None = None,
    auth: str = "required",
    state: State | str | None = None,
    trusted_proxies: Sequence[str] = (),
    risk: Path | str | None = None,
) -> FastAPI:
    """The seawatch web application over one store.

    Parameters
    ----------
    store_dir
        The store's directory (made by ``seawatch ingest``).
    web_dir
        Folder of the web map (``index.html`` and its assets); default: the
        ``seawatch/web/static`` folder of the package. When it has no ``index.html``, ``/``
        is a short page saying the map is missing (the API still works).
    zones
        Zones file to serve at ``/api/v1/zones`` (see :class:`seawatch.api.query.StoreQuery`).
    cors_origins
        Origins allowed to call the API from a browser (CORS); default none.
    auth
        ``'required'`` (default): every route with data needs a token or a session.
        ``'local'``: the single-user demo: no login, every request acts as the read-only
        local analyst of the host agency, and only requests from this machine are answered
        (serve it on 127.0.0.1, ::1 or localhost only).
    state
        The operational state (a :class:`seawatch.share.db.State` or a database URL);
        default :func:`seawatch.share.db.open_state` of ``store_dir`` (which honours
        ``SEAWATCH_DB``). Opened once, here.
    trusted_proxies
        Addresses or networks (``127.0.0.1``, ``10.8.0.0/24``) of the reverse proxies in
        front of the application: only requests from them may name the client in
        ``X-Forwarded-For`` (and the scheme in ``X-Forwarded-Proto``); the client address is
        what throttling and the audit use. Default none: every client is its TCP peer.
        ``auth="required"`` only.
    risk
        A TOML file whose ``[risk]`` table sets the risk weights of ``/watch`` and of
        ``/events?order=risk`` (:class:`seawatch.risk.RiskParams`); default the model's.

    Returns
    -------
    fastapi.FastAPI

    Raises
    ------
    seawatch.store.StoreError
        ``store_dir`` is not a seawatch store.
    seawatch.api.security.AuthConfigError
        ``auth`` is not a known mode, a trusted proxy is not an address or network, or
        ``local`` mode was given trusted proxies.

    Examples
    --------
    >>> import json, tempfile, urllib.error, urllib.request
    >>> from seawatch.api.server import ServerThread
    >>> from seawatch.store import Store
    >>> path = tempfile.mkdtemp()
    >>> _ = Store(path)
    >>> with ServerThread(app=create_app(path, auth="local")) as server:
    ...     with urllib.request.urlopen(server.url + "/api/v1/stats") as response:
    ...         print(json.load(response)["positions"])
    ...     try:
    ...         urllib.request.urlopen(server.url + "/api/v1/positions?bbox=1,2,3")
    ...     except urllib.error.HTTPError as error:
    ...         print(error.code, json.load(error)["detail"][:26])
    0
    400 bbox needs 4 numbers min_l
    >>> with ServerThread(app=create_app(path)) as server:  # auth="required"
    ...     try:
    ...         urllib.request.urlopen(server.url + "/api/v1/stats")
    ...     except urllib.error.HTTPError as error:
    ...         print(error.code, error.headers["WWW-Authenticate"])
    401 Bearer
    """
    from fastapi import FastAPI
    from fastapi.middleware.gzip import GZipMiddleware
    from fastapi.responses import JSONResponse, Response

    from seawatch import __version__
    from seawatch.api import audit, ogc, pages, rest, security
    from seawatch.api.errors import add_error_handlers
    from seawatch.api.openapi import openapi_builder
    from seawatch.api.policy import require
    from seawatch.api.query import StoreQuery
    from seawatch.api.stream import StreamHub
    from seawatch.share.db import State, open_state
    from seawatch.share.roles import PUBLIC

    security.check_auth_mode(auth, trusted_proxies=trusted_proxies)
    security.parse_trusted_proxies(trusted_proxies)
    query = StoreQuery(store_dir, zones_file=zones)
    if risk is not None:
        from seawatch.risk import load_risk_params

        query.risk_params = load_risk_params(risk)
    if state is None:
        state = open_state(store_dir)
    elif not isinstance(state, State):
        state = open_state(state)
    if state.home is None:  # where a PostgreSQL state keeps its audit checkpoints
        state.home = Path(store_dir).expanduser().absolute()
    guard = security.Security(state, auth, trusted_proxies=trusted_proxies)
    security.install_log_redaction()
    app = FastAPI(
        title="seawatch",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.query = query
    app.state.security = guard
    app.state.share = state
    app.state.streams = StreamHub(query, state)
    app.include_router(rest.build_router(query))
    app.include_router(ogc.build_router(query))
    app.include_router(rest.build_sharing_router(query))

    @app.get("/openapi.json", include_in_schema=False, dependencies=[require(PUBLIC)])
    def openapi_document() -> Response:
        return JSONResponse(app.openapi())

    add_error_handlers(app)
    pages.add_docs(app)
    pages.add_web(app, pages.DEFAULT_WEB_DIR if web_dir is None else Path(web_dir))

    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=GZIP_LEVEL)
    if cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["GET"],
            allow_headers=["Authorization"],
        )
    if guard.local:
        app.add_middleware(security.LoopbackOnlyMiddleware)
    app.add_middleware(audit.AuditMiddleware, security=guard)
    if guard.proxies:  # outside the audit: the entry names the client the proxy reports
        app.add_middleware(security.ClientAddressMiddleware, proxies=guard.proxies)
    app.add_middleware(GuardMiddleware)
    app.openapi = openapi_builder(app)  # type: ignore[method-assign]
    return app
