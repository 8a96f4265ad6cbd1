"""The pages of the application: the API documentation (``/docs``) and the web map (``/``
and ``/static/...``). Both are public: they hold no data; the map asks the API for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from fastapi import FastAPI

DEFAULT_WEB_DIR = Path(__file__).resolve().parents[1] / "web" / "static"
"""The web map's assets shipped with the package (``seawatch/web/static``)."""

MISSING_MAP = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>seawatch</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 2em auto">
<h1>seawatch</h1>
<p>The map's files are missing (no <code>index.html</code> in the web folder), so there is
no map to show. The API works: see <a href="docs">the API documentation</a>,
<a href="api/v1/stats">store statistics</a> and <a href="ogc">OGC API - Features</a>.</p>
</body></html>
"""
"""The page at ``/`` when the web folder has no ``index.html``."""

DOCS_PAGE = """<!doctype html>
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
"""The page at ``/docs``: the OpenAPI document listed by tag, loading nothing from the
internet."""


def add_docs(app: FastAPI) -> None:
    """``/docs`` (the API documentation, offline) and ``/docs/swagger`` (Swagger UI)."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse

    from seawatch.api.policy import require
    from seawatch.share.roles import PUBLIC

    @app.get("/docs", include_in_schema=False, dependencies=[require(PUBLIC)])
    def docs() -> HTMLResponse:
        return HTMLResponse(DOCS_PAGE)

    @app.get("/docs/swagger", include_in_schema=False, dependencies=[require(PUBLIC)])
    def swagger() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="../openapi.json", title="seawatch API")


def add_web(app: FastAPI, web_dir: Path) -> None:
    """The web map: ``/`` its ``index.html`` (or a short page saying it is missing) and
    ``/static/...`` its assets, from ``web_dir``."""
    from fastapi.responses import FileResponse, HTMLResponse
    from fastapi.staticfiles import StaticFiles

    from seawatch.api.policy import declare, require
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
        return HTMLResponse(MISSING_MAP)
