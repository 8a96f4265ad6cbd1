"""The HTTP API: REST under ``/api/v1``, OGC API - Features under ``/ogc``, and the web map.

:func:`create_app` builds a FastAPI application over one store; ``seawatch serve`` runs it
with uvicorn. The modules, by topic:

- ``app``: the application (routers, error handlers, middleware); ``server``: running it
  (``serve``, and a background server for tests);
- ``rest``: the REST routes, one module per resource (stats, vessels, tracks, positions,
  events, geography, exports; login, grants, audit, markings); ``ogc``: OGC API - Features;
  ``pages``: ``/docs`` and the web map's files; ``openapi``: the OpenAPI 3.0 document;
- ``params``: parsing and validation of request parameters (boxes, times, lists);
  ``models``: the response shapes the OpenAPI document describes;
- ``query``: data access over a :class:`seawatch.store.Store`, one module per resource,
  with per-snapshot caches; box + time-window queries of positions use the store's query
  index (:mod:`seawatch.store.posindex`) once it is built;
- ``policy``: each route's action; ``security``: authentication (tokens, sessions + CSRF,
  or the loopback-only ``local`` mode); ``audit``: the audit of every request;
  ``view``: what one caller sees (filtered through its grants); ``scope``: a partner's
  positions query narrowed to its grants; ``errors``: every error answered in one place.

Files (JSON, GeoJSON, CSV, Parquet, KML) are written by :mod:`seawatch.export`. FastAPI and
uvicorn load only when :func:`create_app` or the server is used, so ``import seawatch.api``
stays cheap. See ``docs/api.md`` for every endpoint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.api.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from seawatch.api.app import create_app

        return create_app
    raise AttributeError(f"module 'seawatch.api' has no attribute {name!r}")
