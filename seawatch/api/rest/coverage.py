"""``GET /api/v1/coverage``: the store's feeds and coverage outages, each outage once;
``GET /api/v1/coverage/cells``: the grid cells its feeds heard, as GeoJSON (the map's
coverage layer)."""

# No ``from __future__ import annotations``: FastAPI reads the parameter annotations.

import json
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from seawatch.api import models
from seawatch.api.params import parse_window
from seawatch.api.policy import require
from seawatch.api.query import StoreQuery
from seawatch.api.query.coverage import build_cells, build_coverage, scoped_cells
from seawatch.api.rest.common import ERRORS, GEOJSON, geojson_only, json_text
from seawatch.api.view import View
from seawatch.share.policy import Access
from seawatch.share.roles import READ
from seawatch.store.coverage import CELL_DEG, MIN_OUTAGE_H

MAX_OUTAGE_H = 24 * 366
"""Largest ``min_hours`` accepted (a year: longer silences are between unrelated captures)."""


def add_routes(router: APIRouter, query: StoreQuery) -> None:
    """Add ``/coverage`` and ``/coverage/cells`` to the ``/api/v1`` router."""

    @router.get("/coverage", response_model=models.Coverage, tags=["store"],
                summary="Feeds and coverage outages", responses=ERRORS)
    def coverage(
        access: Annotated[Access, require(READ)],
        start: Annotated[str | None, Query(description="From this time (ISO 8601).")] = None,
        end: Annotated[str | None, Query(description="Before this time (ISO 8601).")] = None,
        min_hours: Annotated[int, Query(ge=1, le=MAX_OUTAGE_H, description=(
            "Shortest outage listed, in whole UTC hours without data."))] = MIN_OUTAGE_H,
    ) -> Response:
        """What each feed (a receiving station, tag block ``s:``, or an input file without
        one) delivered, and the coverage outages: a feed silent between two of its
        deliveries, or no feed at all between two captures. Each outage is listed once
        here and is never a vessel's ``gap`` alert. ``live_outages`` are the spans
        ``seawatch live`` had a ``--connect`` feed without a connection, or was not
        running (``outages.json`` of the store's live folder), to the second, with the
        reason, overlapping the window; an open one has no ``end``. The coverage describes
        the host's own receivers, so another agency gets empty lists."""
        lo, hi = parse_window(start, end)
        if not access.full:
            return JSONResponse({"cell_deg": CELL_DEG, "min_outage_h": min_hours,
                                 "feeds": [], "outages": [], "live_outages": []})
        return JSONResponse(build_coverage(query, lo, hi, min_hours))

    @router.get("/coverage/cells", response_model=models.FeatureCollection, tags=["store"],
                summary="Coverage cells heard (GeoJSON)",
                responses={**ERRORS, **geojson_only()})
    def coverage_cells(
        access: Annotated[Access, require(READ)],
        start: Annotated[str | None, Query(description="From this time (ISO 8601).")] = None,
        end: Annotated[str | None, Query(description="Before this time (ISO 8601).")] = None,
    ) -> Response:
        """The coverage grid's cells (``cell_deg`` degrees) in which a feed heard at least
        one vessel in the hours of ``[start, end)``, one Polygon each: ``positions``,
        ``hours`` heard (of the collection's ``hours``, first to last hour with data),
        ``vessels_per_hour`` (mean over those hours of the most vessels one feed heard
        there), ``peak_vessels``, ``feeds``, ``first_ts``, ``last_ts``. A cell missing
        from the answer was heard by no feed in the window. Another agency gets the
        cell-hours its grants release whole (every position counted there is one it may
        read: the hour inside a grant's data window, the cell inside its box or zone),
        without the feeds' names."""
        lo, hi = parse_window(start, end)
        if not access.full:
            body = scoped_cells(query, View(query, access).scope, lo, hi)
        else:
            body = build_cells(query, lo, hi)
        return json_text(json.dumps(body), GEOJSON)
