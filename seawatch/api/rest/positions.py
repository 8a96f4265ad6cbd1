"""``GET /api/v1/positions``: positions filtered by box, window and vessels, paged."""

# No ``from __future__ import annotations``: FastAPI reads the parameter annotations.

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from seawatch import export
from seawatch.api import models
from seawatch.api.params import parse_bbox, parse_mmsi_list, parse_window
from seawatch.api.policy import require
from seawatch.api.query import StoreQuery
from seawatch.api.rest.common import (
    GEOJSON,
    PAGE_MAX,
    BBoxQ,
    EndQ,
    MmsiQ,
    OffsetQ,
    StartQ,
    json_or_geojson,
    json_text,
    next_link,
    page_json,
    page_members,
)
from seawatch.api.view import View
from seawatch.share.policy import Access
from seawatch.share.roles import READ

POSITIONS_PAGE_DEFAULT = 1_000
"""Default page of positions."""


def position_filters(bbox: str | None, start: str | None, end: str | None,
                     mmsi: str | None) -> dict[str, Any]:
    """The filters of a positions query (keyword arguments of
    :meth:`~seawatch.api.view.View.positions_frame`) from its request parameters."""
    box = parse_bbox(bbox)
    lo, hi = parse_window(start, end)
    return {"mmsi": parse_mmsi_list(mmsi), "start": lo, "end": hi, "bbox": box}


def add_routes(router: APIRouter, query: StoreQuery) -> None:
    """Add ``/positions`` to the ``/api/v1`` router."""

    @router.get("/positions", response_model=models.PositionPage, tags=["positions"],
                summary="Positions, filtered and paged",
                responses=json_or_geojson())
    def positions(
        request: Request,
        access: Annotated[Access, require(READ)],
        bbox: BBoxQ = None,
        start: StartQ = None,
        end: EndQ = None,
        mmsi: MmsiQ = None,
        limit: Annotated[int, Query(ge=1, le=PAGE_MAX, description=(
            f"Positions per page, at most {PAGE_MAX:,}."))] = POSITIONS_PAGE_DEFAULT,
        offset: OffsetQ = 0,
        format: Annotated[Literal["json", "geojson"], Query()] = "json",
    ) -> Response:
        """Positions in store order (UTC day, then MMSI, then time), every column of the
        positions table. ``next`` is the offset of the next page (null on the last) and
        ``links`` holds its URL."""
        frame, total = View(query, access).positions_page(
            offset, limit, **position_filters(bbox, start, end, mmsi))
        members = page_members(total, limit, offset)
        members["links"] = next_link(request, total, limit, offset)
        if format == "geojson":
            return json_text(export.POSITIONS.collection(frame, members), GEOJSON)
        return json_text(page_json(export.POSITIONS.records(frame), members))
