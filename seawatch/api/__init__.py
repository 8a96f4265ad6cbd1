"""The HTTP API: REST under ``/api/v1``, OGC API - Features under ``/ogc``, and the web map.

:func:`create_app` builds a FastAPI application over one store directory; ``seawatch serve``
runs it with uvicorn. The modules, by topic:

- ``params``: parsing and validation of request parameters (boxes, times, lists);
- ``query``: data access over a :class:`seawatch.store.Store`, with per-snapshot caches;
- ``posindex``: the positions query index (hour x 0.25 degree cell groups, memory-mapped),
  built in the background so box + time-window queries do not scan whole days;
- ``security``: authentication (tokens, sessions + CSRF, or the loopback-only ``local``
  mode), each route's policy action, per-caller filtering through grants, and the audit;
- ``export``: JSON, GeoJSON, CSV, Parquet and KML writers of whole tables;
- ``rest``, ``ogc``: the two routers; ``app``: the application, errors and headers;
- ``server``: running the app (``serve``, and a background server for tests).

FastAPI and uvicorn load only when :func:`create_app` or the server is used, so
``import seawatch.api`` stays cheap. See ``docs/api.md`` for every endpoint.
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
