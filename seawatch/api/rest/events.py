"""``GET /api/v1/events`` (detected events, filtered and paged) and
``GET /api/v1/events/{event_id}`` (one event with its vessels and evidence)."""

# No ``from __future__ import annotations``: FastAPI reads the parameter annotations.

import json
from datetime import timedelta
from typing import Annotated, Literal

import polars as pl
from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from seawatch import export, schema
from seawatch.api import models
from seawatch.api.params import parse_bbox, parse_choices, parse_mmsi_list, parse_window
from seawatch.api.policy import require
from seawatch.api.query import StoreQuery
from seawatch.api.query.events import evidence_window
from seawatch.api.rest.common import (
    GEOJSON,
    NOT_FOUND,
    PAGE_MAX,
    BBoxQ,
    EventEndQ,
    EventStartQ,
    MinScoreQ,
    MmsiQ,
    OffsetQ,
    TypeQ,
    ZoneQ,
    json_or_geojson,
    json_text,
    page_json,
    page_members,
)
from seawatch.api.view import View
from seawatch.errors import NotFound
from seawatch.share.policy import Access
from seawatch.share.roles import READ

EVENTS_PAGE_DEFAULT = 100
"""Default page of events."""


def event_rows(view: View, type: str | None, bbox: str | None, start: str | None,
               end: str | None, mmsi: str | None, zone: str | None,
               min_score: float | None) -> pl.DataFrame:
    """The events the caller sees matching the request parameters, newest first."""
    types = parse_choices(type, schema.EVENT_TYPES, "type")
    box = parse_bbox(bbox)
    lo, hi = parse_window(start, end)
    ids = parse_mmsi_list(mmsi)
    return view.events(types=types, bbox=box, start=lo, end=hi, mmsi=ids, zone=zone,
                       min_score=min_score)


def add_routes(router: APIRouter, query: StoreQuery) -> None:
    """Add ``/events`` and ``/events/{event_id}`` to the ``/api/v1`` router."""

    @router.get("/events", response_model=models.EventPage, tags=["events"],
                summary="Detected events, newest first",
                responses=json_or_geojson())
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
        order: Annotated[Literal["time", "risk"], Query(description=(
            "time: newest first; risk: highest risk first (weight of the type x score, "
            "docs/risk.md), then newest."))] = "time",
    ) -> Response:
        """Events overlapping ``[start, end)``, newest first (``order=risk``: by risk), of
        the given types, near the given vessels (``mmsi`` matches either vessel of a pair),
        in a zone, with a score; ``details`` is an object of the measured quantities behind
        each. ``bbox`` applies to the event's
        representative point. Each event carries its ``marking`` (TLP 2.0),
        ``releasable_to`` and ``owner_agency``; only events the caller may see are listed
        and counted."""
        frame = event_rows(View(query, access), type, bbox, start, end, mmsi, zone, min_score)
        if order == "risk":
            from seawatch.risk import by_risk

            frame = by_risk(frame, query.risk_params)
        page = frame.slice(offset, limit)
        members = page_members(frame.height, limit, offset)
        if format == "geojson":
            return json_text(export.EVENTS.collection(page, members), GEOJSON)
        return json_text(page_json(export.EVENTS.records(page), members))

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
            raise NotFound(f"no event with id {event_id[:200]!r}")
        margin = timedelta(hours=margin_hours)
        ids, _, _ = evidence_window(row, margin)
        event_json = export.EVENTS.records(row)[1:-1]
        evidence = view.evidence(row, margin)
        vessels_json = json.dumps(view.identities(ids), separators=(",", ":"))
        body = '{"event":' + event_json + ',"vessels":' + vessels_json + ',"evidence":' + \
            evidence + "}"
        return json_text(body)
