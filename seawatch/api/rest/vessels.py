"""``GET /api/v1/vessels`` (the latest position and identity of each vessel; what the map
loads) and ``GET /api/v1/vessels/{mmsi}`` (one vessel)."""

# No ``from __future__ import annotations``: FastAPI reads the parameter annotations.

from typing import Annotated, Literal

import polars as pl
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from seawatch import export
from seawatch.api import models
from seawatch.api.params import parse_bbox
from seawatch.api.policy import require
from seawatch.api.query import StoreQuery
from seawatch.api.query.vessels import VESSELS_MAX
from seawatch.api.rest.common import (
    GEOJSON,
    NOT_FOUND,
    BBoxQ,
    MmsiPath,
    OffsetQ,
    SearchQ,
    json_or_geojson,
    json_text,
    page_json,
    page_members,
)
from seawatch.api.view import View
from seawatch.errors import NotFound
from seawatch.share.policy import Access
from seawatch.share.roles import READ


def vessel_rows(view: View, q: str | None, bbox: str | None) -> pl.DataFrame:
    """The vessels the caller sees matching ``q`` and ``bbox`` (request parameters)."""
    return view.vessels(q=q, bbox=parse_bbox(bbox))


def add_routes(router: APIRouter, query: StoreQuery) -> None:
    """Add ``/vessels`` and ``/vessels/{mmsi}`` to the ``/api/v1`` router."""

    @router.get("/vessels", response_model=models.VesselPage, tags=["vessels"],
                summary="Latest position and identity of each vessel",
                responses=json_or_geojson())
    def vessels(
        request: Request,
        access: Annotated[Access, require(READ)],
        q: SearchQ = None,
        bbox: BBoxQ = None,
        limit: Annotated[int, Query(ge=1, le=VESSELS_MAX,
                                    description="Vessels per page (default: all).")] = VESSELS_MAX,
        offset: OffsetQ = 0,
        format: Annotated[Literal["json", "geojson"], Query()] = "json",
    ) -> Response:
        """Every vessel with a known position: its identity (latest value of each field)
        and latest position. ``format=geojson`` gives a FeatureCollection of Points (id:
        MMSI) with the same fields as properties: the map loads all vessels this way.
        Ordered by MMSI; with ``q``, exact matches first, then by name."""
        view = View(query, access)
        if (view.full and format == "geojson" and not q and not bbox and offset == 0
                and limit == VESSELS_MAX):
            # the map's request: served from a per-snapshot cache, compressed once
            if "gzip" in request.headers.get("accept-encoding", "").lower():
                return Response(
                    query.all_vessels_geojson_gzip(), media_type=GEOJSON,
                    headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"},
                )
            return json_text(query.all_vessels_geojson(), GEOJSON)
        frame = vessel_rows(view, q, bbox)
        total = frame.height
        page = frame.slice(offset, limit)
        members = page_members(total, limit, offset)
        if format == "geojson":
            return json_text(export.VESSELS.collection(page, members), GEOJSON)
        return json_text(page_json(export.VESSELS.records(page), members))

    @router.get("/vessels/{mmsi}", response_model=models.VesselDetail, tags=["vessels"],
                summary="One vessel", responses=NOT_FOUND)
    def vessel(mmsi: MmsiPath, access: Annotated[Access, require(READ)]) -> Response:
        """Identity (all fields), latest position, number of positions, first and last
        time seen, and number of events involving the vessel (as far as the caller sees:
        a vessel it may not see is a 404 like an unknown one)."""
        record = View(query, access).vessel(mmsi)
        if record is None:
            raise NotFound(f"no vessel with MMSI {mmsi} in the store")
        return JSONResponse(record)
