"""REST endpoints under ``/api/v1``: statistics, vessels, tracks, positions, events, zones,
the land basemap and exports.

Each endpoint declares its action once (``access: Annotated[Access, require(READ)]``, see
:mod:`seawatch.api.security`), parses its parameters with :mod:`seawatch.api.params` (a bad
value is a 400 naming it), asks :class:`seawatch.api.query.StoreQuery` through the caller's
:class:`~seawatch.api.view.View` (rows filtered by the caller's own data and live grants
before any paging or counting), and writes the answer column-wise with
:mod:`seawatch.api.export`. Exports carry their TLP marking. See ``docs/api.md``.
"""

# No ``from __future__ import annotations``: FastAPI reads the parameter annotations.

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import polars as pl
from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from seawatch import export, schema
from seawatch.api import models
from seawatch.api.params import (
    MMSI_MAX,
    BadRequest,
    format_time,
    parse_bbox,
    parse_choices,
    parse_mmsi_list,
    parse_window,
)
from seawatch.api.query import TRACK_DEFAULT_WINDOW, TRACK_MAX_WINDOW, VESSELS_MAX, StoreQuery
from seawatch.api.security import require
from seawatch.api.view import View, frame_marking
from seawatch.share.policy import Access
from seawatch.share.roles import EXPORT, READ

PAGE_MAX = 10_000
"""Largest page of positions or events one request may ask for."""
POSITIONS_PAGE_DEFAULT = 1_000
"""Default page of positions."""
EVENTS_PAGE_DEFAULT = 100
"""Default page of events."""
OFFSET_MAX = 10**12
"""Largest offset accepted."""
EXPORT_MAX_POSITIONS = 1_000_000
"""Positions one CSV or Parquet export may hold (narrow the filters beyond it)."""
EXPORT_MAX_POSITIONS_TEXT = 200_000
"""Positions one GeoJSON or KML export may hold (each is a feature with all its columns)."""
Q_MAX_CHARS = 100
"""Longest search text."""

GEOJSON = "application/geo+json"

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": models.Error, "description": "A parameter is malformed or out of range."},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    404: {"model": models.Error, "description": "No such vessel or event."},
}


def _json_or_geojson() -> dict[int | str, dict[str, Any]]:
    return {
        **ERRORS,
        200: {
            "description": "JSON page (format=json) or GeoJSON FeatureCollection (geojson).",
            "content": {GEOJSON: {"schema": models.GEOJSON_SCHEMA}},
        },
    }


def _file_responses() -> dict[int | str, dict[str, Any]]:
    text = {"schema": {"type": "string"}}
    return {
        **ERRORS,
        200: {
            "description": "The file (Content-Disposition: attachment).",
            "content": {
                export.MEDIA_TYPES["geojson"]: {"schema": models.GEOJSON_SCHEMA},
                export.MEDIA_TYPES["csv"]: text,
                export.MEDIA_TYPES["kml"]: text,
                export.MEDIA_TYPES["parquet"]: {"schema": {"type": "string",
                                                           "format": "binary"}},
            },
        },
    }


# --- parameters shared by several endpoints ------------------------------------------------

BBoxQ = Annotated[
    str | None,
    Query(
        description="min_lon,min_lat,max_lon,max_lat in degrees (WGS84); min_lon > max_lon "
        "crosses the antimeridian.",
        examples=["-92,-2,-88,1"],
    ),
]
StartQ = Annotated[
    str | None,
    Query(description="Keep times >= start (ISO 8601; naive times are UTC).",
          examples=["2026-01-15T12:00:00Z"]),
]
EndQ = Annotated[
    str | None,
    Query(description="Keep times < end (ISO 8601; naive times are UTC).",
          examples=["2026-01-16T00:00:00Z"]),
]
EventStartQ = Annotated[
    str | None, Query(description="Keep events ending at or after this (ISO 8601).")
]
EventEndQ = Annotated[
    str | None, Query(description="Keep events starting before this (ISO 8601).")
]
MmsiQ = Annotated[
    str | None,
    Query(description="One MMSI or several, comma-separated.", examples=["735057000"]),
]
OffsetQ = Annotated[int, Query(ge=0, le=OFFSET_MAX, description="Rows to skip.")]
TypeQ = Annotated[
    str | None,
    Query(description="Event type(s), comma-separated: " + ", ".join(schema.EVENT_TYPES),
          examples=["encounter,loitering"]),
]
ZoneQ = Annotated[
    str | None, Query(max_length=200, description="Zone name (case-insensitive).")
]
MinScoreQ = Annotated[float | None, Query(ge=0.0, le=1.0, description="Keep score >= this.")]
SearchQ = Annotated[
    str | None,
    Query(
        max_length=Q_MAX_CHARS,
        description="MMSI or IMO prefix, or part of the name or call sign (any case).",
        examples=["manta"],
    ),
]
MmsiPath = Annotated[int, Path(ge=0, le=MMSI_MAX, description="The vessel's MMSI.")]


def _page_members(total: int, limit: int, offset: int) -> dict[str, Any]:
    after = offset + limit
    return {"total": total, "limit": limit, "offset": offset,
            "next": after if after < total else None}


def _next_link(request: Request, total: int, limit: int, offset: int) -> list[dict[str, str]]:
    if offset + limit >= total:
        return []
    href = str(request.url.include_query_params(offset=offset + limit, limit=limit))
    return [{"rel": "next", "href": href, "type": "application/json"}]


def _json(text: str, media_type: str = "application/json") -> Response:
    return Response(content=text, media_type=media_type)


def _page_json(items: str, members: dict[str, Any]) -> str:
    extra = "".join(
        f',"{k}":{json.dumps(v, separators=(",", ":"), ensure_ascii=False)}'
        for k, v in members.items()
    )
    return '{"items":' + items + extra + "}"


def _attachment(body: bytes | str, kind: str, fmt: str, tlp: str) -> Response:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    filename = f"seawatch-{kind}-{stamp}.{export.SUFFIXES[fmt]}"
    return Response(
        content=body,
        media_type=export.MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "X-TLP": tlp},
    )


def _event_types(text: str | None) -> list[str] | None:
    return parse_choices(text, schema.EVENT_TYPES, "type")


def build_router(query: StoreQuery) -> APIRouter:
    """The ``/api/v1`` router over one store."""
    router = APIRouter(prefix="/api/v1")

    # --- statistics ---------------------------------------------------------------------

    @router.get("/stats", response_model=models.Stats, tags=["store"],
                summary="Store statistics")
    def stats(access: Annotated[Access, require(READ)]) -> Response:
        """Counts of positions, vessels and events, time span, days, events per type, and
        whether the events predate the latest ingest (``detection.stale``). Counted over
        what the caller sees; the store's size, inputs and detection run only for the
        host agency."""
        return JSONResponse(View(query, access).stats())

    # --- vessels --------------------------------------------------------------------------

    def _vessel_frame(view: View, q: str | None, bbox: str | None) -> pl.DataFrame:
        return view.vessels(q=q, bbox=parse_bbox(bbox))

    @router.get("/vessels", response_model=models.VesselPage, tags=["vessels"],
                summary="Latest position and identity of each vessel",
                responses=_json_or_geojson())
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
            return _json(query.all_vessels_geojson(), GEOJSON)
        frame = _vessel_frame(view, q, bbox)
        total = frame.height
        page = frame.slice(offset, limit)
        members = _page_members(total, limit, offset)
        if format == "geojson":
            return _json(
                export.geojson_points(page, id_column="mmsi", members=members), GEOJSON
            )
        return _json(_page_json(export.records_json(page), members))

    @router.get("/vessels/{mmsi}", response_model=models.VesselDetail, tags=["vessels"],
                summary="One vessel", responses=NOT_FOUND)
    def vessel(mmsi: MmsiPath, access: Annotated[Access, require(READ)]) -> Response:
        """Identity (all fields), latest position, number of positions, first and last
        time seen, and number of events involving the vessel (as far as the caller sees:
        a vessel it may not see is a 404 like an unknown one)."""
        record = View(query, access).vessel(mmsi)
        if record is None:
            raise HTTPException(404, f"no vessel with MMSI {mmsi} in the store")
        return JSONResponse(record)

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
            raise HTTPException(404, f"no vessel with MMSI {mmsi} in the store")
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
            raise BadRequest(
                f"track window {format_time(lo)} to {format_time(hi)} is longer than "
                f"{TRACK_MAX_WINDOW.days} days; ask for a shorter window"
            )
        return JSONResponse(view.track(mmsi, lo, hi, zoom))

    # --- positions ------------------------------------------------------------------------

    def _positions(bbox: str | None, start: str | None, end: str | None,
                   mmsi: str | None) -> dict[str, Any]:
        box = parse_bbox(bbox)
        lo, hi = parse_window(start, end)
        return {"mmsi": parse_mmsi_list(mmsi), "start": lo, "end": hi, "bbox": box}

    @router.get("/positions", response_model=models.PositionPage, tags=["positions"],
                summary="Positions, filtered and paged",
                responses=_json_or_geojson())
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
            offset, limit, **_positions(bbox, start, end, mmsi))
        members = _page_members(total, limit, offset)
        members["links"] = _next_link(request, total, limit, offset)
        if format == "geojson":
            return _json(export.geojson_points(frame, members=members), GEOJSON)
        return _json(_page_json(export.records_json(frame), members))

    # --- events ---------------------------------------------------------------------------

    def _events(view: View, type: str | None, bbox: str | None, start: str | None,
                end: str | None, mmsi: str | None, zone: str | None,
                min_score: float | None) -> pl.DataFrame:
        types = _event_types(type)
        box = parse_bbox(bbox)
        lo, hi = parse_window(start, end)
        ids = parse_mmsi_list(mmsi)
        return view.events(types=types, bbox=box, start=lo, end=hi, mmsi=ids, zone=zone,
                           min_score=min_score)

    @router.get("/events", response_model=models.EventPage, tags=["events"],
                summary="Detected events, newest first",
                responses=_json_or_geojson())
    def events(
        access: Annotated[Access, require(READ)],
        type: TypeQ = None,
        bbox: BBoxQ = None,
        start: EventStartQ = None,
        end: EventEndQ = None,
        mmsi: MmsiQ = None,
        zone: ZoneQ = None,
        min_score: MinScoreQ = None,
        limit: Annotated[int, Query(ge=1, le=PAGE_MAX, description=(
            f"Events per page, at most {PAGE_MAX:,}."))] = EVENTS_PAGE_DEFAULT,
        offset: OffsetQ = 0,
        format: Annotated[Literal["json", "geojson"], Query()] = "json",
    ) -> Response:
        """Events overlapping ``[start, end)``, of the given types, near the given vessels
        (``mmsi`` matches either vessel of a pair), in a zone, with a score; ``details`` is
        an object of the measured quantities behind each. ``bbox`` applies to the event's
        representative point. Each event carries its ``marking`` (TLP 2.0),
        ``releasable_to`` and ``owner_agency``; only events the caller may see are listed
        and counted."""
        frame = _events(View(query, access), type, bbox, start, end, mmsi, zone, min_score)
        page = frame.slice(offset, limit)
        members = _page_members(frame.height, limit, offset)
        if format == "geojson":
            return _json(
                export.geojson_points(page, id_column="event_id", raw_json=["details"],
                                      members=members),
                GEOJSON,
            )
        return _json(_page_json(export.records_json(page, raw_json=["details"]), members))

    @router.get("/events/{event_id}", response_model=models.EventDetail, tags=["events"],
                summary="One event with its vessels and evidence", responses=NOT_FOUND)
    def event(
        access: Annotated[Access, require(READ)],
        event_id: Annotated[str, Path(max_length=500)],
        margin_hours: Annotated[float, Query(ge=0, le=72, description=(
            "Hours of positions before the start and after the end."))] = 2.0,
    ) -> Response:
        """The event, the identity of its vessel(s), and as evidence a FeatureCollection of
        the vessels' positions from ``start - margin`` to ``end + margin`` (Points with
        ``mmsi``, ``ts``, ``sog``, ``cog``) plus one LineString per vessel."""
        view = View(query, access)
        row = view.event(event_id)
        if row.height == 0:
            raise HTTPException(404, f"no event with id {event_id[:200]!r}")
        ids = [int(row["mmsi"].item())]
        other = row["other_mmsi"].item()
        if other is not None:
            ids.append(int(other))
        event_json = export.records_json(row, raw_json=["details"])[1:-1]
        evidence = view.evidence(row, timedelta(hours=margin_hours))
        vessels_json = json.dumps(view.identities(ids), separators=(",", ":"))
        body = '{"event":' + event_json + ',"vessels":' + vessels_json + ',"evidence":' + \
            evidence + "}"
        return _json(body)

    # --- geography ------------------------------------------------------------------------

    @router.get("/zones", response_model=models.FeatureCollection, tags=["geography"],
                summary="Zones in use",
                responses={200: {"content": {GEOJSON: {"schema": models.GEOJSON_SCHEMA}}}})
    def zones(access: Annotated[Access, require(READ)]) -> Response:
        """GeoJSON of the zones the detectors use: the server's ``--zones`` file, else the
        file the detection run recorded, else the default zones (Galápagos Marine Reserve,
        Ecuador territorial sea and EEZ approximations). ``source`` says which; ``note``
        warns when detection used zones the server does not have. Another agency sees
        the zones its grants name (and those it owns)."""
        return _json(View(query, access).zones_geojson(), GEOJSON)

    @router.get("/basemap/land", response_model=models.FeatureCollection, tags=["geography"],
                summary="Land polygons for the map",
                responses={200: {"content": {GEOJSON: {"schema": models.GEOJSON_SCHEMA}}}})
    def land(access: Annotated[Access, require(READ)]) -> Response:
        """Shipped land polygons: Natural Earth 1:10m in the Eastern Pacific box (lon -100
        to -70, lat -10 to 12) and, where the data reaches beyond it, 1:50m land around
        the data (for the host agency). Cached; about 0.1-1 MB."""
        response = _json(View(query, access).land_geojson(), GEOJSON)
        response.headers["Cache-Control"] = "private, max-age=3600"
        return response

    # --- exports --------------------------------------------------------------------------

    FormatQ = Annotated[
        Literal["geojson", "csv", "parquet", "kml"],
        Query(description="File format; CSV times are ISO 8601 UTC."),
    ]

    @router.get("/export/positions", tags=["export"], summary="Download positions",
                responses=_file_responses())
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
        filters = _positions(bbox, start, end, mmsi)
        view = View(query, access)
        cap = EXPORT_MAX_POSITIONS if format in ("csv", "parquet") else EXPORT_MAX_POSITIONS_TEXT
        n = view.positions_count(**filters)
        if n > cap:
            raise BadRequest(
                f"the filters match {n:,} positions; a {format} export holds at most "
                f"{cap:,}: narrow bbox, start/end or mmsi (or export in parts)"
            )
        frame = view.positions_frame(**filters)
        return _marked_export(frame, format, "positions", access)

    @router.get("/export/events", tags=["export"], summary="Download events",
                responses=_file_responses())
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
        frame = _events(View(query, access), type, bbox, start, end, mmsi, zone, min_score)
        return _marked_export(frame, format, "events", access)

    @router.get("/export/vessels", tags=["export"], summary="Download vessels",
                responses=_file_responses())
    def export_vessels(access: Annotated[Access, require(EXPORT)], q: SearchQ = None,
                       bbox: BBoxQ = None, format: FormatQ = "csv") -> Response:
        """Vessels matching the filters (as ``/vessels``) as a file."""
        frame = _vessel_frame(View(query, access), q, bbox)
        return _marked_export(frame, format, "vessels", access)

    return router


def _marked_export(frame: pl.DataFrame, fmt: str, kind: str, access: Access) -> Response:
    """The export file of ``frame`` with its TLP marking: the ``X-TLP`` header, and in the
    file a ``marking`` column (CSV), a top-level ``marking`` object (GeoJSON), the banner in
    the Document's description (KML), or key-value metadata (Parquet)."""
    from seawatch.share.markings import export_metadata

    marking = frame_marking(frame, access)
    recipient = None if access.full else access.agency
    meta = export_metadata(marking, recipient=recipient)
    body = export.render(frame, fmt, export.LAYOUTS[kind], marking=meta)
    return _attachment(body, kind, fmt, marking.level.label)
