"""The REST API under ``/api/v1``, one module per resource.

Each module adds its routes to the router with ``add_routes(router, query)``. Every endpoint
declares its action once (``access: Annotated[Access, require(READ)]``, see
:mod:`seawatch.api.policy`), parses its parameters with :mod:`seawatch.api.params` (a bad
value is a 400 naming it), asks :class:`seawatch.api.query.StoreQuery` through the caller's
:class:`~seawatch.api.view.View` (rows filtered by the caller's own data and live grants
before any paging or counting), and writes the answer column-wise with
:mod:`seawatch.export`. See ``docs/api.md``.

The data (:func:`build_router`):

- :mod:`~seawatch.api.rest.stats`: ``/stats``;
- :mod:`~seawatch.api.rest.vessels`: ``/vessels``, ``/vessels/{mmsi}``;
- :mod:`~seawatch.api.rest.identity`: ``/vessels/{mmsi}/identity`` (identity history);
- :mod:`~seawatch.api.rest.tracks`: ``/vessels/{mmsi}/track``;
- :mod:`~seawatch.api.rest.positions`: ``/positions``;
- :mod:`~seawatch.api.rest.events`: ``/events``, ``/events/{event_id}``;
- :mod:`~seawatch.api.rest.geography`: ``/zones``, ``/basemap/land``;
- :mod:`~seawatch.api.rest.coverage`: ``/coverage`` (feeds and coverage outages) and
  ``/coverage/cells`` (the cells heard, GeoJSON);
- :mod:`~seawatch.api.rest.installations`: ``/installations`` (fixed installations and
  the candidates found in the data, GeoJSON);
- :mod:`~seawatch.api.rest.traffic`: ``/traffic`` (the traffic picture, GeoJSON);
- :mod:`~seawatch.api.rest.export`: ``/export/{positions,events,vessels}``, marked files;
- :mod:`~seawatch.api.rest.watch`: ``/watch`` (today's watch list, vessels by risk).

Sharing (:func:`build_sharing_router`; the work is done by :mod:`seawatch.share`):

- :mod:`~seawatch.api.rest.auth`: ``/auth/login``, ``/auth/logout``, ``/auth/me``;
- :mod:`~seawatch.api.rest.grants`: ``/grants``, ``/grants/{grant_id}/revoke``;
- :mod:`~seawatch.api.rest.audit`: ``/audit``;
- :mod:`~seawatch.api.rest.markings`: ``/markings/events/{event_id}``;
- :mod:`~seawatch.api.rest.alerts`: ``/alerts`` (list, one, acknowledge, assign, close,
  reopen, hand-over) and ``/alert-rules`` (the rules that raise them);
- :mod:`~seawatch.api.rest.watchlists`: ``/watchlists`` (list, one, import, delete);
- :mod:`~seawatch.api.rest.stream`: ``/stream`` (Server-Sent Events of the store's and the
  alerts' changes, :mod:`seawatch.api.stream`).

What they share (parameters, documented errors, pages) is in
:mod:`~seawatch.api.rest.common`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter

from seawatch.api.rest import (
    alerts,
    audit,
    auth,
    coverage,
    events,
    export,
    geography,
    grants,
    identity,
    installations,
    markings,
    positions,
    stats,
    stream,
    tracks,
    traffic,
    vessels,
    watch,
    watchlists,
)

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.api.query import StoreQuery

PREFIX = "/api/v1"


def build_router(query: StoreQuery) -> APIRouter:
    """The ``/api/v1`` router of the data over one store."""
    router = APIRouter(prefix=PREFIX)
    for resource in (stats, vessels, identity, tracks, positions, events, geography,
                     coverage, installations, export, traffic, watch):
        resource.add_routes(router, query)
    return router


def build_sharing_router(query: StoreQuery) -> APIRouter:
    """The ``/api/v1`` router of login and the administration of sharing."""
    router = APIRouter(prefix=PREFIX)
    for resource in (auth, grants, audit, markings, alerts, watchlists, stream):
        resource.add_routes(router, query)
    return router
