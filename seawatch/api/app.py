"""The FastAPI application: routers, error handling, security headers, docs and the map.

:func:`create_app` assembles it over one store:

- ``/api/v1/...`` REST (:mod:`seawatch.api.rest`), ``/ogc/...`` OGC API - Features
  (:mod:`seawatch.api.ogc`), ``/api/v1/auth/...``, grants, audit and markings
  (:mod:`seawatch.api.security`), ``/openapi.json`` and ``/docs``;
- ``/`` the web map's ``index.html`` and ``/static/...`` its assets (from ``web_dir``);
- every route declares one action of :data:`seawatch.share.roles.POLICY`; with
  ``auth="required"`` (the default) every route with data needs an API token or a web
  session, and answers only what the caller's agency owns or holds a live grant for; with
  ``auth="local"`` (the one-user demo) it acts as a read-only local analyst and answers only
  this machine; every request under ``/api/`` and ``/ogc`` is appended to the audit log
  (see :mod:`seawatch.api.security`);
- every error is JSON ``{"detail": "..."}``: a malformed or out-of-range parameter is a 400
  saying which and why (FastAPI's 422 validation errors included), an unknown id a 404, and
  an unexpected exception a 500 that is logged with its traceback, never a dropped
  connection or a dead server;
- every response carries ``X-Content-Type-Options: nosniff``, ``X-Frame-Options:
  SAMEORIGIN`` and ``Referrer-Policy: no-referrer``; no CORS header is sent unless
  ``cors_origins`` names the origins allowed (never a wildcard by default);
- responses over 1 kB are gzip-compressed when the client accepts it (level 1: fast).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

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

DEFAULT_WEB_DIR = Path(__file__).resolve().parents[1] / "web" / "static"
"""The web map's assets shipped with the package (``seawatch/web/static``)."""

_MISSING_MAP = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>seawatch</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 2em auto">
<h1>seawatch</h1>
<p>The map's files are missing (no <code>index.html</code> in the web folder), so there is
no map to show. The API works: see <a href="docs">the API documentation</a>,
<a href="api/v1/stats">store statistics</a> and <a href="ogc">OGC API - Features</a>.</p>
</body></html>
"""

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

    Returns
    -------
    fastapi.FastAPI

    Raises
    ------
    seawatch.store.StoreError
        ``store_dir`` is not a seawatch store.
    seawatch.api.security.AuthConfigError
        ``auth`` is not a known mode.

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
    from fastapi.exceptions import RequestValidationError
    from fastapi.middleware.gzip import GZipMiddleware
    from fastapi.responses import HTMLResponse, JSONResponse, Response

    from seawatch import __version__
    from seawatch.api import ogc, rest, security, sharing
    from seawatch.api.query import StoreQuery
    from seawatch.errors import SeawatchError
    from seawatch.share.db import State, open_state
    from seawatch.share.roles import PUBLIC

    security.check_auth_mode(auth)
    query = StoreQuery(store_dir, zones_file=zones)
    if state is None:
        state = open_state(store_dir)
    elif not isinstance(state, State):
        state = open_state(state)
    guard = security.Security(state, auth)
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
    app.include_router(rest.build_router(query))
    app.include_router(ogc.build_router(query))
    app.include_router(sharing.build_router(query))

    @app.get("/openapi.json", include_in_schema=False, dependencies=[security.require(PUBLIC)])
    def openapi_document() -> Response:
        return JSONResponse(app.openapi())

    async def invalid(_request: Any, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse({"detail": validation_message(exc.errors())}, status_code=400)

    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(SeawatchError, security.error_handler)

    _add_docs(app)
    _add_web(app, DEFAULT_WEB_DIR if web_dir is None else Path(web_dir), HTMLResponse)

    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=GZIP_LEVEL)
    if cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["GET"],
            allow_headers=["Authorization"],
        )
    if guard.local:
        app.add_middleware(security.LoopbackOnlyMiddleware)
    app.add_middleware(security.AuditMiddleware, security=guard)
    app.add_middleware(GuardMiddleware)
    app.openapi = _openapi_with_400(app)  # type: ignore[method-assign]
    return app


def validation_message(errors: Sequence[Any]) -> str:
    """One sentence per invalid parameter, from FastAPI's validation errors.

    >>> validation_message([{"loc": ("query", "limit"), "msg": "Input should be less than "
    ...                      "or equal to 10000", "input": "20000"}])
    "query parameter 'limit': Input should be less than or equal to 10000 (got '20000')"
    """
    parts = []
    for error in errors:
        loc = [str(x) for x in error.get("loc", ())]
        where, name = (loc[0], ".".join(loc[1:])) if loc else ("request", "")
        text = f"{where} parameter {name!r}: {error.get('msg', 'invalid')}"
        got = error.get("input")
        if got is not None and where in ("query", "path") and not isinstance(got, dict):
            text += f" (got {str(got)[:60]!r})"
        parts.append(text)
    return "; ".join(parts) or "invalid request"


OPENAPI_VERSION = "3.0.3"
"""The API is described in OpenAPI 3.0 (the OGC conformance class ``oas30``)."""


def _openapi_with_400(app: FastAPI) -> Any:
    """``app.openapi`` giving an OpenAPI 3.0 document in which bad parameters are the 400
    they are (not FastAPI's 422)."""
    from fastapi.openapi.utils import get_openapi

    from seawatch.api.models import Error
    from seawatch.api.security import describe_security

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(title=app.title, version=app.version, description=app.description,
                          routes=app.routes)
        for item in doc.get("paths", {}).values():
            for operation in item.values():
                responses = operation.get("responses", {})
                if responses.pop("422", None) is not None and "400" not in responses:
                    responses["400"] = {
                        "description": "A parameter is malformed or out of range.",
                        "content": {"application/json": {"schema": {
                            "$ref": "#/components/schemas/Error"}}},
                    }
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        schemas.setdefault("Error", Error.model_json_schema())
        doc = describe_security(doc, app.routes)
        doc = to_openapi_30(doc)
        app.openapi_schema = doc
        return doc

    return openapi


def to_openapi_30(node: Any) -> Any:
    """An OpenAPI 3.1 document (as FastAPI writes it) rewritten as OpenAPI 3.0.

    ``anyOf [X, {type: null}]`` becomes ``X`` with ``nullable: true`` (``allOf [$ref]`` for
    a reference, whose siblings 3.0 ignores), ``const`` becomes a one-value ``enum`` and
    a schema's ``examples`` list its first ``example``.

    >>> to_openapi_30({"openapi": "3.1.0", "s": {"anyOf": [{"type": "string"},
    ...                {"type": "null"}], "examples": ["a"]}})
    {'openapi': '3.0.3', 's': {'type': 'string', 'example': 'a', 'nullable': True}}
    """
    if isinstance(node, list):
        return [to_openapi_30(v) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "openapi" and isinstance(value, str):
            out[key] = OPENAPI_VERSION
        elif key == "examples" and isinstance(value, list):
            if value:
                out["example"] = to_openapi_30(value[0])
        elif key == "const":
            out["enum"] = [value]
        elif key == "anyOf" and isinstance(value, list):
            rest = [v for v in value if v != {"type": "null"}]
            if len(rest) < len(value):
                out["nullable"] = True
            if len(rest) == 1:
                only = to_openapi_30(rest[0])
                if "$ref" in only:
                    out["allOf"] = [only]
                else:
                    out.update(only)
            else:
                out["anyOf"] = to_openapi_30(rest)
        else:
            out[key] = to_openapi_30(value)
    if out.get("nullable") and "type" in out:  # keep 'nullable' last, after 'type'
        out["nullable"] = out.pop("nullable")
    return out


_DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>seawatch API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;max-width:60em;margin:1em auto;padding:0 1em;color:#222}
h2{margin-top:1.5em;border-bottom:1px solid #ccc}
.op{margin:1em 0;padding:.5em 1em;border-left:4px solid #2a6ebb;background:#f6f8fb}
.m{font-weight:bold;color:#2a6ebb} code{background:#eee;padding:0 .2em}
table{border-collapse:collapse;margin:.3em 0} td,th{border:1px solid #ddd;padding:.2em .5em;
text-align:left;vertical-align:top;font-size:.9em}
</style></head><body>
<h1>seawatch API</h1>
<p>The OpenAPI document is <a href="openapi.json">openapi.json</a>; this page lists it without
loading anything from the internet. An interactive Swagger UI is at
<a href="docs/swagger">docs/swagger</a> (it needs internet access to load its scripts).</p>
<div id="doc">Loading…</div>
<script>
function esc(s){return String(s==null?"":s).replace(/[&<>"]/g,c=>({"&":"&amp;","<":"&lt;",
">":"&gt;",'"':"&quot;"}[c]));}
fetch("openapi.json").then(r=>r.json()).then(doc=>{
  const byTag={};
  for(const [path,item] of Object.entries(doc.paths||{})){
    for(const [method,op] of Object.entries(item)){
      const tag=(op.tags||["other"])[0]; (byTag[tag]=byTag[tag]||[]).push([path,method,op]);}}
  let html="<p>"+esc(doc.info.title)+" "+esc(doc.info.version)+"</p>";
  for(const [tag,ops] of Object.entries(byTag)){
    html+="<h2>"+esc(tag)+"</h2>";
    for(const [path,method,op] of ops){
      html+='<div class="op"><span class="m">'+esc(method.toUpperCase())+"</span> <code>"+
        esc(path)+"</code> "+esc(op.summary)+"<p>"+esc(op.description).replace(/\\n\\n/g,
        "<br><br>")+"</p>";
      const ps=op.parameters||[];
      if(ps.length){html+="<table><tr><th>parameter</th><th>in</th><th>type</th>"+
        "<th>description</th></tr>";
        for(const p of ps){const s=p.schema||{};const t=s.type||(s.anyOf||[]).map(x=>x.type||
          (x.enum||[]).join("|")).join(" or ")||(s.enum||[]).join("|");
          html+="<tr><td><code>"+esc(p.name)+"</code></td><td>"+esc(p.in)+"</td><td>"+
          esc(t)+(s.default!==undefined?" (default "+esc(s.default)+")":"")+"</td><td>"+
          esc(p.description)+"</td></tr>";}
        html+="</table>";}
      html+="</div>";}}
  document.getElementById("doc").innerHTML=html;
}).catch(e=>{document.getElementById("doc").textContent="Could not load openapi.json: "+e;});
</script></body></html>
"""


def _add_docs(app: FastAPI) -> None:
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse

    from seawatch.api.security import require
    from seawatch.share.roles import PUBLIC

    @app.get("/docs", include_in_schema=False, dependencies=[require(PUBLIC)])
    def docs() -> HTMLResponse:
        return HTMLResponse(_DOCS_PAGE)

    @app.get("/docs/swagger", include_in_schema=False, dependencies=[require(PUBLIC)])
    def swagger() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="../openapi.json", title="seawatch API")


def _add_web(app: FastAPI, web_dir: Path, html: Any) -> None:
    from fastapi.responses import FileResponse
    from fastapi.staticfiles import StaticFiles

    from seawatch.api.security import declare, require
    from seawatch.share.roles import PUBLIC

    index = web_dir / "index.html"
    if web_dir.is_dir():
        app.mount("/static", StaticFiles(directory=web_dir), name="static")
        declare(app.routes[-1], PUBLIC)

    @app.get("/", include_in_schema=False, dependencies=[require(PUBLIC)])
    def root() -> Any:
        if index.is_file():
            return FileResponse(index, media_type="text/html",
                                headers={"Cache-Control": "no-cache"})
        return html(_MISSING_MAP)
