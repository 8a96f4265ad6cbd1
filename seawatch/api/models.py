"""Response shapes of the API, for the OpenAPI document (``/openapi.json``, ``/docs``).

The endpoints build their JSON column-wise (see :mod:`seawatch.export`) and return it
as it is; these pydantic models only describe it. Times are ISO 8601 UTC text with ``Z``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Error(BaseModel):
    """Every error: a 4xx for a bad request, a 500 (logged) for a fault of the server."""

    detail: str = Field(description="What was wrong and, for a bad request, what to do.")


class Detection(BaseModel):
    written_at: str | None = None
    positions_snapshot: int
    stale: bool = Field(description="Inputs were ingested after the detection run.")


class Stats(BaseModel):
    positions: int
    vessels: int = Field(description="Distinct MMSIs in positions and identity reports.")
    events: int
    first_ts: str | None
    last_ts: str | None
    events_by_type: dict[str, int]
    days: list[str] = Field(description="UTC days holding positions (YYYY-MM-DD).")
    positions_by_day: dict[str, int]
    snapshot: int
    inputs: int
    size_bytes: int
    detection: Detection | None


class Feed(BaseModel):
    source: str = Field(description="Receiving station (tag block s:) or input file name.")
    first_ts: str | None
    last_ts: str | None
    hours: int = Field(description="UTC hours in which it delivered data.")
    positions: int
    vessels_per_hour: float | None = Field(
        None, description="Median over its hours of the vessels it heard in the hour.")
    interval_s: float | None = Field(
        None, description="Its usual time between two reports of one vessel (median of days).")


class Outage(BaseModel):
    kind: str = Field(description="feed: one feed silent; store: no feed at all.")
    source: str | None = Field(None, description="The silent feed (null for kind store).")
    start: str = Field(description="Last delivery before the silence.")
    end: str = Field(description="First delivery after it.")
    hours: int = Field(description="Whole UTC hours without data.")


class LiveOutage(BaseModel):
    kind: str = Field(description="feed: the span one live feed had no connection.")
    source: str = Field(description="The feed (its name in seawatch live).")
    start: str = Field(description="When the connection broke, or the first attempt failed.")
    end: str | None = Field(description="When it came back; null while the span is open.")
    hours: int | None = Field(description="Whole UTC hours inside the span (null while open).")
    seconds: float | None = Field(description="Length of the span (null while open).")
    reason: str = Field(description="Why (refused, broken, silent, service not running).")


class Coverage(BaseModel):
    cell_deg: float = Field(description="Side of the coverage grid's cells, degrees.")
    min_outage_h: int
    feeds: list[Feed]
    outages: list[Outage]
    live_outages: list[LiveOutage] = Field(
        [], description="Spans seawatch live recorded a feed without a connection.")


class Vessel(BaseModel):
    mmsi: int
    name: str | None = None
    callsign: str | None = None
    imo: int | None = None
    ship_type: int | None = None
    ship_type_label: str | None = None
    flag: str | None = Field(None, description="ISO 3166 alpha-3 from the MMSI's MID.")
    cls: str | None = Field(None, description="Transponder class A or B, when known.")
    ts: str | None = Field(None, description="Time of the latest position.")
    lat: float | None = None
    lon: float | None = None
    sog: float | None = None
    cog: float | None = None
    heading: int | None = None


class VesselDetail(Vessel):
    length: float | None = None
    width: float | None = None
    draught: float | None = None
    destination: str | None = None
    mmsi_valid: bool | None = None
    identity_ts: str | None = Field(None, description="Time of the latest identity report.")
    positions: int = 0
    first_ts: str | None = None
    last_ts: str | None = None
    events: int = 0


class VesselPage(BaseModel):
    items: list[Vessel]
    total: int
    limit: int
    offset: int
    next: int | None = Field(None, description="Offset of the next page; null on the last.")


class Position(BaseModel):
    mmsi: int
    ts: str
    lat: float | None = None
    lon: float | None = None
    sog: float | None = None
    cog: float | None = None
    heading: int | None = None
    nav_status: int | None = None
    msg_type: int | None = None
    source: str | None = None
    accuracy: bool | None = None
    second: int | None = None
    mmsi_valid: bool | None = None


class Link(BaseModel):
    rel: str
    href: str
    type: str | None = None
    title: str | None = None


class PositionPage(BaseModel):
    items: list[Position]
    total: int
    limit: int
    offset: int
    next: int | None = Field(None, description="Offset of the next page; null on the last.")
    links: list[Link] = Field(default_factory=list)


class Event(BaseModel):
    event_id: str
    type: str
    mmsi: int
    other_mmsi: int | None = None
    start: str
    end: str
    lat: float | None = None
    lon: float | None = None
    zone: str | None = None
    score: float | None = None
    details: dict[str, Any] | None = None
    marking: str | None = Field(None, description="TLP 2.0 level: CLEAR, GREEN, AMBER, "
                                "AMBER+STRICT or RED.")
    releasable_to: list[str] | None = Field(
        None, description="Agencies it may be released to (empty: any grantee in scope).")
    owner_agency: str | None = Field(None, description="The agency that owns it.")


class EventPage(BaseModel):
    items: list[Event]
    total: int
    limit: int
    offset: int
    next: int | None = None


class FeatureCollection(BaseModel):
    """A GeoJSON FeatureCollection (RFC 7946); lists may carry extra members."""

    type: str = "FeatureCollection"
    features: list[dict[str, Any]]


class Feature(BaseModel):
    """A GeoJSON Feature (RFC 7946)."""

    type: str = "Feature"
    geometry: dict[str, Any] | None
    properties: dict[str, Any] | None


class EventDetail(BaseModel):
    event: Event
    vessels: list[Vessel]
    evidence: FeatureCollection


GEOJSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection", "Feature"]},
        "features": {"type": "array", "items": {"type": "object"}},
    },
}
"""OpenAPI schema of a GeoJSON document (for ``application/geo+json`` responses)."""


# --- sharing: login, grants, audit, markings ----------------------------------------------


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class LoginResult(BaseModel):
    user: str
    agency: str
    role: str
    csrf_token: str = Field(description="Echo it in the X-CSRF-Token header of every request "
                            "that changes something (also in the seawatch_csrf cookie).")
    expires_at: str | None = None


class LogoutResult(BaseModel):
    ended: bool = Field(description="A session was ended (false for a bearer token).")


class Me(BaseModel):
    user: str
    agency: str
    role: str
    auth: str = Field(description="token, session or local.")
    host: bool = Field(description="The caller's agency is the host: it sees all the data.")
    grants: list[int] = Field(description="Grants the caller reads through now.")
    mode: str = Field(description="The server's authentication mode: required or local.")
    actions: list[str] = Field(description="Actions the caller may take.")


class GrantRequest(BaseModel):
    grantee: str = Field(min_length=1, max_length=64, description="Agency receiving access.")
    until: str = Field(min_length=1, max_length=64,
                       description="Expiry: ISO 8601 time or a duration from now (24h, 7d).")
    zone: str | None = Field(None, max_length=200, description="Area: a zone's name.")
    bbox: list[float] | str | None = Field(
        None, description="Area: min_lon,min_lat,max_lon,max_lat (list or text).")
    event_types: list[str] | None = Field(None, description="Event types (default: all).")
    include_positions: bool = Field(False, description="Also release positions in scope.")
    max_marking: str = Field("AMBER", max_length=16, description="Highest TLP level released.")
    data_start: str | None = Field(None, max_length=64, description="Data window start.")
    data_end: str | None = Field(None, max_length=64, description="Data window end.")
    note: str = Field("", max_length=2000)


class GrantOut(BaseModel):
    id: int
    grantor: str
    grantee: str
    area: str
    area_kind: str
    zone: str | None = None
    bbox: list[float] | None = None
    event_types: list[str] | None = None
    include_positions: bool
    max_marking: str
    data_start: str | None = None
    data_end: str | None = None
    expires_at: str | None = None
    created_at: str | None = None
    created_by: str
    revoked_at: str | None = None
    revoked_by: str | None = None
    note: str
    status: str = Field(description="active, expired, revoked (or pending).")


class GrantList(BaseModel):
    items: list[GrantOut]


class AuditEntry(BaseModel):
    seq: int
    ts: str
    actor: str | None = None
    agency: str | None = None
    action: str
    resource: str
    params: dict[str, Any]
    status: str
    client: str | None = None
    hash: str


class AuditPage(BaseModel):
    items: list[AuditEntry]
    limit: int


class MarkingRequest(BaseModel):
    level: str = Field(max_length=20, description="CLEAR, GREEN, AMBER, AMBER+STRICT or RED.")
    releasable_to: list[str] = Field(default_factory=list, max_length=100,
                                     description="Agencies it may be released to.")


class MarkingOut(BaseModel):
    event_id: str
    marking: str
    releasable_to: list[str]
    owner_agency: str
    set_by: str
    set_at: str | None = None


class AlertOut(BaseModel):
    id: int
    rule_id: int
    rule: str = Field(description="The rule's name.")
    agency: str = Field(description="The rule's agency: the one that acts on the alert.")
    event_id: str
    event_type: str
    mmsi: int | None = None
    other_mmsi: int | None = None
    event_start: str | None = None
    event_end: str | None = None
    lat: float | None = None
    lon: float | None = None
    zone: str | None = None
    score: float | None = None
    state: str = Field(description="new, acknowledged, assigned or closed.")
    raised_at: str | None = None
    updated_at: str | None = Field(None, description="Last time its event changed.")
    acknowledged_at: str | None = None
    acknowledged_by: str | None = None
    assigned_to: str | None = None
    assigned_at: str | None = None
    assigned_by: str | None = None
    watch: str | None = Field(None, description="The watch (shift) it is on.")
    closed_at: str | None = None
    closed_by: str | None = None
    close_reason: str | None = None
    close_note: str = ""


class AlertPage(BaseModel):
    items: list[AlertOut]
    total: int
    limit: int
    offset: int
    next: int | None = None


class AssignRequest(BaseModel):
    user: str = Field(min_length=1, max_length=64, description="User to assign it to.")
    watch: str | None = Field(None, max_length=64, description="Watch (shift) it is on.")


class CloseRequest(BaseModel):
    reason: str = Field(max_length=32, description="resolved, false_positive, "
                        "legitimate_activity, duplicate, referred or no_action.")
    note: str = Field("", max_length=2000)


class HandoverRequest(BaseModel):
    from_watch: str | None = Field(None, max_length=64)
    from_user: str | None = Field(None, max_length=64)
    to_watch: str | None = Field(None, max_length=64)
    to_user: str | None = Field(None, max_length=64)
    note: str = Field("", max_length=2000)


class HandoverOut(BaseModel):
    alerts: list[int] = Field(description="The alerts handed over.")
    to_watch: str | None = None
    to_user: str | None = None
    note: str


class AlertRuleRequest(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    event_types: list[str] | None = Field(None, description="Event types (default: all).")
    zones: list[str] | None = Field(None, description="Zone names (default: anywhere).")
    mmsis: list[int] | None = Field(None, description="Watchlist: either vessel of an event.")
    watchlist_id: int | None = Field(None, ge=1, le=2**62,
                                     description="A shared watchlist (reserved).")
    min_score: float | None = Field(None, ge=0.0, le=1.0)
    vessel_types: list[int | str] | None = Field(
        None, description="Ship type codes (30) or labels (Fishing).")
    enabled: bool = True
    note: str = Field("", max_length=2000)


class AlertRulePatch(BaseModel):
    event_types: list[str] | None = None
    zones: list[str] | None = None
    mmsis: list[int] | None = None
    watchlist_id: int | None = Field(None, ge=1, le=2**62)
    min_score: float | None = Field(None, ge=0.0, le=1.0)
    vessel_types: list[int | str] | None = None
    enabled: bool | None = None
    note: str | None = Field(None, max_length=2000)


class AlertRuleOut(BaseModel):
    id: int
    name: str
    agency: str
    event_types: list[str]
    zones: list[str]
    mmsis: list[int]
    watchlist_id: int | None = None
    min_score: float | None = None
    vessel_types: list[int | str]
    enabled: bool
    note: str
    created_at: str | None = None
    created_by: str
    updated_at: str | None = None
    updated_by: str


class AlertRuleList(BaseModel):
    items: list[AlertRuleOut]


class Removed(BaseModel):
    removed: int = Field(description="Id of what was removed.")
    alerts_removed: int = Field(description="Alerts removed with it.")
