"""``GET /api/v1/export/{positions,events,vessels}``: the rows of a list as a file (GeoJSON,
CSV, Parquet or KML, written by :mod:`seawatch.export`), with the TLP marking it carries."""

# No ``from __future__ import annotations``: FastAPI reads the parameter annotations.

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import polars as pl
from fastapi import APIRouter, Query
from fastapi.responses import Response

from seawatch import export
from seawatch.api.policy import require
from seawatch.api.query import StoreQuery
from seawatch.api.rest.common import (
    BBoxQ,
    EndQ,
    MinScoreQ,
    MmsiQ,
    SearchQ,
    StartQ,
    TypeQ,
    ZoneQ,
    file_responses,
)
from seawatch.api.rest.events import event_rows
from seawatch.api.rest.positions import position_filters
from seawatch.api.rest.vessels import vessel_rows
from seawatch.api.view import View
from seawatch.errors import InvalidValue
from seawatch.share.policy import Access
from seawatch.share.roles import EXPORT

EXPORT_MAX_POSITIONS = 1_000_000
"""Positions one CSV or Parquet export may hold (narrow the filters beyond it)."""
EXPORT_MAX_POSITIONS_TEXT = 200_000
"""Positions one GeoJSON or KML export may hold (each is a feature with all its columns)."""

FormatQ = Annotated[
    Literal["geojson", "csv", "parquet", "kml"],
    Query(description="File format; CSV times are ISO 8601 UTC."),
]


def add_routes(router: APIRouter, query: StoreQuery) -> None:
    """Add ``/export/positions``, ``/export/events`` and ``/export/vessels`` to the
    ``/api/v1`` router."""

    @router.get("/export/positions", tags=["export"], summary="Download positions",
                responses=file_responses())
    def export_positions(
        access: Annotated[Access, require(EXPORT)],
        bbox: BBoxQ = None,
        start: StartQ = None,
        end: EndQ = None,
        mmsi: MmsiQ = None,
        format: FormatQ = "csv",
    ) -> Response:
        """Positions matching the filters as a file. At most 1,000,000 positions in CSV
        or Parquet and 200,000 in GeoJSON or KML: a larger selection is refused (400) with
        its size; narrow ``bbox``, ``start``/``end`` or ``mmsi``."""
        filters = position_filters(bbox, start, end, mmsi)
        view = View(query, access)
        cap = EXPORT_MAX_POSITIONS if format in ("csv", "parquet") else EXPORT_MAX_POSITIONS_TEXT
        n = view.positions_count(**filters)
        if n > cap:
            raise InvalidValue(
                f"the filters match {n:,} positions; a {format} export holds at most "
                f"{cap:,}: narrow bbox, start/end or mmsi (or export in parts)"
            )
        frame = view.positions_frame(**filters)
        return marked_export(frame, format, export.POSITIONS, access)

    @router.get("/export/events", tags=["export"], summary="Download events",
                responses=file_responses())
    def export_events(
        access: Annotated[Access, require(EXPORT)],
        type: TypeQ = None,
        bbox: BBoxQ = None,
        start: StartQ = None,
        end: EndQ = None,
        mmsi: MmsiQ = None,
        zone: ZoneQ = None,
        min_score: MinScoreQ = None,
        format: FormatQ = "csv",
    ) -> Response:
        """Events matching the filters (as ``/events``) as a file; ``details`` is JSON
        text in CSV and KML, an object in GeoJSON; each row has its ``marking``,
        ``releasable_to`` and ``owner_agency``."""
        frame = event_rows(View(query, access), type, bbox, start, end, mmsi, zone,
                           min_score)
        return marked_export(frame, format, export.EVENTS, access)

    @router.get("/export/vessels", tags=["export"], summary="Download vessels",
                responses=file_responses())
    def export_vessels(access: Annotated[Access, require(EXPORT)], q: SearchQ = None,
                       bbox: BBoxQ = None, format: FormatQ = "csv") -> Response:
        """Vessels matching the filters (as ``/vessels``) as a file."""
        frame = vessel_rows(View(query, access), q, bbox)
        return marked_export(frame, format, export.VESSELS, access)


def marked_export(frame: pl.DataFrame, fmt: str, layout: export.Layout,
                  access: Access) -> Response:
    """The export file of ``frame`` with its TLP marking: the ``X-TLP`` header, and in the
    file what :func:`seawatch.export.render` attaches (a ``marking`` column in CSV, a
    top-level ``marking`` object in GeoJSON, the banner in the KML Document's description,
    key-value metadata in Parquet)."""
    from seawatch.share.markings import export_metadata

    marking = frame_marking(frame, access)
    recipient = None if access.full else access.agency
    meta = export_metadata(marking, recipient=recipient)
    body = export.render(frame, fmt, layout, marking=meta)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    filename = f"seawatch-{layout.name}-{stamp}.{export.SUFFIXES[fmt]}"
    return Response(
        content=body,
        media_type=export.MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"',
                 "X-TLP": marking.level.label},
    )


def frame_marking(frame: pl.DataFrame, access: Access) -> Any:
    """The :class:`~seawatch.share.markings.Marking` an export of ``frame`` carries.

    Frames with marking columns (events) use :func:`~seawatch.share.markings.export_marking`;
    others (positions, vessels) carry the store's default level, owned by the host.
    """
    from seawatch.share.markings import TLP, Marking, export_marking

    if "marking" in frame.columns and "releasable_to" in frame.columns:
        return export_marking(frame)
    if frame.height == 0:
        return Marking(TLP.CLEAR, (), access.host_agency)
    return Marking(access.default_level, (), access.host_agency)
