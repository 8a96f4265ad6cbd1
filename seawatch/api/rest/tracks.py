"""``GET /api/v1/vessels/{mmsi}/track``: a vessel's track in a window, simplified for a zoom
level, with the times, speeds and courses a map plays back."""

# No ``from __future__ import annotations``: FastAPI reads the parameter annotations.

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from seawatch.api import models
from seawatch.api.params import parse_window
from seawatch.api.policy import require
from seawatch.api.query import StoreQuery
from seawatch.api.query.tracks import TRACK_DEFAULT_WINDOW, TRACK_MAX_WINDOW
from seawatch.api.rest.common import NOT_FOUND, EndQ, MmsiPath, StartQ
from seawatch.api.view import View
from seawatch.errors import InvalidValue, NotFound
from seawatch.share.policy import Access
from seawatch.share.roles import READ
from seawatch.units import format_time


def add_routes(router: APIRouter, query: StoreQuery) -> None:
    """Add ``/vessels/{mmsi}/track`` to the ``/api/v1`` router."""

    @router.get("/vessels/{mmsi}/track", response_model=models.Feature, tags=["vessels"],
                summary="A vessel's track, simplified for a zoom level", responses=NOT_FOUND)
    def track(
        mmsi: MmsiPath,
        access: Annotated[Access, require(READ)],
        start: StartQ = None,
        end: EndQ = None,
        zoom: Annotated[float | None, Query(ge=0, le=24, description=(
            "Web Mercator zoom level: Douglas-Peucker simplification to about one pixel "
            "at it. Absent: every position (up to 50,000)."))] = None,
    ) -> Response:
        """GeoJSON Feature: a LineString of the positions in ``[start, end)`` (a Point for
        one position, null geometry for none), with ``times``, ``sog`` and ``cog`` per
        coordinate for playback, ``points_total`` and ``points_returned``.

        Default window: the last 24 h of the vessel's data; with only ``start`` (or
        ``end``), 24 h from it (or before it). At most 31 days."""
        lo, hi = parse_window(start, end)
        view = View(query, access)
        if not view.known_vessel(mmsi):
            raise NotFound(f"no vessel with MMSI {mmsi} in the store")
        last = view.last_seen(mmsi)
        if lo is None and hi is None:
            if last is None:
                return JSONResponse({
                    "type": "Feature", "id": mmsi, "geometry": None,
                    "properties": {"mmsi": mmsi, "start": None, "end": None, "zoom": zoom,
                                   "times": [], "sog": [], "cog": [], "points_total": 0,
                                   "points_returned": 0},
                })
            hi = last + timedelta(microseconds=1)
            lo = last - TRACK_DEFAULT_WINDOW
        elif lo is None:
            assert hi is not None
            lo = hi - TRACK_DEFAULT_WINDOW
        elif hi is None:
            hi = lo + TRACK_DEFAULT_WINDOW
        if hi - lo > TRACK_MAX_WINDOW:
            raise InvalidValue(
                f"track window {format_time(lo)} to {format_time(hi)} is longer than "
                f"{TRACK_MAX_WINDOW.days} days; ask for a shorter window"
            )
        return JSONResponse(view.track(mmsi, lo, hi, zoom))
