"""The authorisation matrix, built from the application's own route table.

Every route of ``app.routes`` must declare exactly one action of ``POLICY`` and have calls in
:func:`calls_for` (a new route without either fails the first test below). Then:

- **roles**: every route × admin, analyst, watch officer (host agency), partner viewer,
  partner admin and anonymous callers, with the partner holding a live grant: allowed calls
  answer, denied ones are 401 (anonymous, ``WWW-Authenticate: Bearer``) or 403, with
  ``{"detail": ...}`` and nothing else;
- **grants**: every data route × the partner's grant states (none, active, zone with
  positions, box with positions, RED, expired, revoked, other area, other event types,
  marking above the grant):
  the partner gets exactly the rows an independent oracle releases (events by owner, area,
  types, marking and releasable-to; positions only through a positions grant), counts and
  extents computed after filtering, single items outside its access answer 404 like unknown
  ones, and no hidden event id or MMSI appears anywhere in any response. Alerts (one per
  event, from a rule of the host) follow their events: the partner lists and reads the
  alerts of exactly the events it may see, and acting on one it sees is refused (403: the
  host's), on one it does not see answers 404.

Both run on SQLite, and on PostgreSQL when ``SEAWATCH_TEST_PG`` is set.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

import polars as pl
import pytest
import shapely

from seawatch import schema
from seawatch.api.policy import iter_routes, route_actions
from seawatch.api.query.geography import zone_ids
from seawatch.risk import watch_list
from seawatch.share import roles
from seawatch.share.markings import TLP
from tests.api.conftest import HOST, PARTNER, PASSWORD, USERS, setup_sharing

RESERVE = "Galápagos Marine Reserve"
ACTIVE_BOX = (-92.5, -0.5, -87.0, 1.5)
"""Holds the store's encounter (in the Galápagos reserve) and its spoofing, and no loitering
or gap."""
RED_BOX = (-80.6, -2.9, -80.3, -2.7)
"""Holds two port visits (one RED releasable to the partner, one RED to ECU-CG) and a zone
exit."""
FAR_BOX = (-100.0, -10.0, -95.0, -5.0)
"""Holds no data."""
COAST_BOX = (-81.5, -3.5, -80.0, -1.5)
"""Off the coast near Manta: positions of nine vessels, one of which leaves the box."""
ACTIVE = {"bbox": ACTIVE_BOX, "types": ["encounter", "spoofing"], "max": "AMBER"}
GRANT_STATES: dict[str, list[dict[str, Any]]] = {
    "none": [],
    "active": [ACTIVE],
    "zone_positions": [{"zone": RESERVE, "max": "AMBER", "positions": True}],
    "red": [{"bbox": RED_BOX, "types": ["port_visit"], "max": "RED"}],
    "expired": [{**ACTIVE, "expired": True}],
    "revoked": [{**ACTIVE, "revoked": True}],
    "other_area": [{"bbox": FAR_BOX, "max": "RED", "positions": True}],
    "box_positions": [{"bbox": COAST_BOX, "max": "AMBER", "positions": True}],
    "other_types": [{**ACTIVE, "types": ["loitering", "gap"]}],
    "marking_above": [{**ACTIVE, "max": "GREEN"}],
}
"""The partner's grants (from the host) in each state of the grant matrix."""
PRINCIPALS = ["admin", "analyst", "watch_officer", "partner_viewer", "partner_admin",
              "anonymous"]
PUBLIC_PATHS = {"/", "/static", "/openapi.json", "/docs", "/docs/swagger", "/ogc", "/ogc/",
                "/ogc/conformance", "/api/v1/auth/login"}
"""Routes that must stay public (anything else needs a login)."""
DENIED = (401, 403)
WATCHLIST_ENTRIES = [{"name": "MATRIX TRAWLER", "mmsi": 725000001, "imo": 9074729}]
"""The host's watchlist (AMBER): no vessel of the store, so sharing it reveals none."""


# --- the world of the matrix ---------------------------------------------------------------


@dataclass
class World:
    """The matrix's app and state, the store's data, markings and candidate ids."""

    app: Any
    client: Any
    state: Any
    tokens: dict[str, str]
    events: pl.DataFrame  # with marking, releasable_to, owner_agency as set below
    positions: pl.DataFrame
    reserve: Any  # the reserve's polygon
    ids: dict[str, str]  # role of an event in the matrix -> event id
    mmsis: list[int]
    position_ids: list[str]
    zone_slugs: list[str]
    zone_names: dict[str, str]  # slug -> name
    state_name: str = "active"
    grant_specs: list[dict[str, Any]] = field(default_factory=list)
    alerts: dict[str, int] = field(default_factory=dict)  # event id -> its alert's id
    rule_id: int = 0  # the host's rule raising them
    watchlist_id: int = 0  # the host's AMBER watchlist

    def headers(self, who: str) -> dict[str, str]:
        if who == "anonymous":
            return {}
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, store_dir, store, tmp_path_factory) -> World:
    from fastapi.testclient import TestClient

    from seawatch.api import create_app
    from seawatch.geo import default_zones
    from seawatch.share.db import open_state
    from seawatch.share.markings import set_marking

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('matrix') / 'state.db'}"
    else:
        url = request.getfixturevalue("pg_schemas")()
    sharing = setup_sharing(open_state(url))
    state = sharing.state
    events = store.events().collect()
    from seawatch.traffic.density import build_store_picture, store_picture_path, write_picture

    write_picture(build_store_picture(store), store_picture_path(store))

    def find(type_: str, mmsi: int | None = None) -> str:
        rows = events.filter(pl.col("type") == type_)
        if mmsi is not None:
            rows = rows.filter(pl.col("mmsi") == mmsi)
        return str(rows.sort("start")["event_id"][0])

    ids = {
        "encounter": find("encounter"),
        "spoofing": find("spoofing"),
        "reserve_visit": find("port_visit", 735116118),
        "red_partner": find("port_visit", 538014000),
        "red_other": find("port_visit", 538008000),
        "partner_owned": find("zone_entry", 735086238),
        "loitering": find("loitering"),
        "zone_exit": find("zone_exit", 477062000),
    }
    marks = {  # event id -> (level, releasable_to, owner)
        ids["spoofing"]: ("GREEN", [], HOST),
        ids["red_partner"]: ("RED", [PARTNER], HOST),
        ids["red_other"]: ("RED", ["ECU-CG"], HOST),
        ids["partner_owned"]: ("AMBER", [], PARTNER),
    }
    for event_id, (level, to, owner) in marks.items():
        set_marking(state, "event", event_id, level, releasable_to=to, owner=owner)
    events = events.with_columns(
        pl.col("event_id").map_elements(lambda e: marks.get(e, ("AMBER",))[0],
                                        return_dtype=pl.String).alias("marking"),
        pl.col("event_id").map_elements(lambda e: marks.get(e, ("", []))[1],
                                        return_dtype=pl.List(pl.String)).alias("releasable_to"),
        pl.col("event_id").map_elements(lambda e: marks.get(e, ("", [], HOST))[2],
                                        return_dtype=pl.String).alias("owner_agency"),
    )
    positions = store.positions().collect()
    reserve = next(z for z in default_zones() if z.name == RESERVE).geometry
    inside = shapely.contains_xy(reserve, positions["lon"].to_numpy(),
                                 positions["lat"].to_numpy())
    pos_in = positions.filter(pl.Series(inside)).row(0, named=True)
    pos_out = positions.filter(~pl.Series(inside) & pl.col("lat").is_not_null()).row(
        0, named=True)
    position_ids = [f"{p['mmsi']}-{_epoch_us(p['ts'])}" for p in (pos_in, pos_out)]
    encounter = events.filter(pl.col("event_id") == ids["encounter"]).row(0, named=True)
    mmsis = [encounter["mmsi"], encounter["other_mmsi"], 735244000, 735116118, 538014000,
             538008000, 735086238, 563109253, pos_in["mmsi"]]
    zones = default_zones()
    slugs = zone_ids(zones)
    from seawatch.share.alerts import add_rule, list_alerts, raise_alerts
    from seawatch.share.watchlists import import_watchlists

    rule = add_rule(state, "matrix: every event")
    raise_alerts(state, events)
    alert_ids = {a.event_id: a.id for a in list_alerts(state)}
    assert set(alert_ids) == set(events["event_id"])
    (watchlist,) = import_watchlists(state, WATCHLIST_ENTRIES, name="matrix: host list",
                                     marking="AMBER")
    app = create_app(store_dir, state=state)
    client = TestClient(app, raise_server_exceptions=False)
    return World(app, client, state, sharing.tokens, events, positions, reserve, ids,
                 list(dict.fromkeys(mmsis)), position_ids, slugs,
                 dict(zip(slugs, [z.name for z in zones], strict=True)), alerts=alert_ids,
                 rule_id=rule.id, watchlist_id=watchlist.id)


def _epoch_us(ts) -> int:
    from datetime import UTC, datetime

    return int((ts - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))


def set_grants(world: World, name: str) -> None:
    """Revoke the partner's live grants; give those of state ``name``."""
    from seawatch.share.db import utcnow
    from seawatch.share.grants import create_grant, live_grants, revoke_grant

    now = utcnow()
    for g in live_grants(world.state, PARTNER, now):
        revoke_grant(world.state, g.id)
    for spec in GRANT_STATES[name]:
        created = now - timedelta(days=2) if spec.get("expired") else now
        expires = now - timedelta(days=1) if spec.get("expired") else now + timedelta(hours=1)
        grant = create_grant(
            world.state, grantor=HOST, grantee=PARTNER, expires_at=expires,
            max_marking=spec["max"], zone=spec.get("zone"),
            bbox=list(spec["bbox"]) if "bbox" in spec else None,
            event_types=spec.get("types"), include_positions=spec.get("positions", False),
            now=created,
        )
        if spec.get("revoked"):
            revoke_grant(world.state, grant.id)
    world.state_name = name
    world.grant_specs = [s for s in GRANT_STATES[name]
                         if not s.get("expired") and not s.get("revoked")]


# --- the oracle ----------------------------------------------------------------------------


def _in_area(world: World, spec: dict[str, Any], lat, lon):
    import numpy as np

    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    if "zone" in spec:
        return shapely.contains_xy(world.reserve, lon, lat)
    if "bbox" in spec:
        x0, y0, x1, y1 = spec["bbox"]
        with np.errstate(invalid="ignore"):
            return (lat >= y0) & (lat <= y1) & (lon >= x0) & (lon <= x1)
    return np.ones(lat.shape, dtype=bool)


@dataclass
class Expected:
    """What one caller may see in the current grant state."""

    full: bool
    events: set[str]
    positions: pl.DataFrame
    mmsis: set[int]  # vessels it may know of
    event_mmsis: set[int]
    zones: set[str]


_EXPECTED: dict[tuple[int, str, str], Expected] = {}


def expected(world: World, who: str) -> Expected:
    key = (id(world), world.state_name, "host" if _agency(who) == HOST else who)
    if key not in _EXPECTED:
        _EXPECTED[key] = _expected(world, who)
    return _EXPECTED[key]


def _expected(world: World, who: str) -> Expected:
    events, positions = world.events, world.positions
    if who in ("admin", "analyst", "watch_officer"):
        mmsis = set(positions["mmsi"].unique().to_list())
        ids = set(events["event_id"].to_list())
        named = set(events["mmsi"].to_list()) | set(events["other_mmsi"].drop_nulls().to_list())
        return Expected(True, ids, positions, mmsis, named, set(world.zone_names.values()))
    visible: set[str] = set()
    for row in events.iter_rows(named=True):
        if row["owner_agency"] == PARTNER:
            visible.add(row["event_id"])
            continue
        for spec in world.grant_specs:
            level = TLP.parse(row["marking"])
            if (row["owner_agency"] == HOST
                    and (spec.get("types") is None or row["type"] in spec["types"])
                    and row["lat"] is not None
                    and bool(_in_area(world, spec, [row["lat"]], [row["lon"]])[0])
                    and level <= TLP.parse(spec["max"])
                    and (PARTNER in row["releasable_to"]
                         or (not row["releasable_to"] and level < TLP.RED))):
                visible.add(row["event_id"])
    keep = pl.Series([False] * positions.height)
    for spec in world.grant_specs:
        if spec.get("positions") and TLP.parse(spec["max"]) >= TLP.AMBER:
            keep = keep | pl.Series(_in_area(world, spec, positions["lat"].to_numpy(),
                                             positions["lon"].to_numpy()))
    shown = positions.filter(keep)
    seen = events.filter(pl.col("event_id").is_in(list(visible)))
    event_mmsis = set(seen["mmsi"].to_list()) | set(seen["other_mmsi"].drop_nulls().to_list())
    zones = {s["zone"] for s in world.grant_specs if "zone" in s}
    return Expected(False, visible, shown, event_mmsis | set(shown["mmsi"].unique().to_list()),
                    event_mmsis, zones)


# --- calls ---------------------------------------------------------------------------------


@dataclass
class Call:
    method: str
    url: str
    kind: str
    body: Any = None
    key: Any = None  # the id a single-item call asks for


def _q(text: str) -> str:
    return quote(text, safe="")


def calls_for(world: World, method: str, path: str, few: bool = False) -> list[Call]:
    """The requests the matrix makes for one route (parameters that return data to the
    host); ``few``: two ids per single-item route instead of every candidate."""
    ev = world.ids
    events = list(ev.values())
    mmsis, positions, slugs = world.mmsis, world.position_ids, world.zone_slugs
    if few:
        events, mmsis, positions, slugs = events[:2], mmsis[:2], positions[:1], slugs[:1]
    big = "limit=10000"
    table: dict[tuple[str, str], Callable[[], list[Call]]] = {
        ("GET", "/api/v1/stats"): lambda: [Call("GET", "/api/v1/stats", "stats")],
        ("GET", "/api/v1/vessels"): lambda: [
            Call("GET", "/api/v1/vessels", "vessels"),
            Call("GET", "/api/v1/vessels?format=geojson", "vessels_geojson")],
        ("GET", "/api/v1/vessels/{mmsi}"): lambda: [
            Call("GET", f"/api/v1/vessels/{m}", "vessel", key=m) for m in mmsis],
        ("GET", "/api/v1/vessels/{mmsi}/track"): lambda: [
            Call("GET", f"/api/v1/vessels/{m}/track", "track", key=m) for m in mmsis],
        ("GET", "/api/v1/positions"): lambda: [
            Call("GET", f"/api/v1/positions?{big}", "positions")],
        ("GET", "/api/v1/events"): lambda: [
            Call("GET", f"/api/v1/events?{big}", "events"),
            Call("GET", f"/api/v1/events?{big}&format=geojson", "events_geojson")],
        ("GET", "/api/v1/events/{event_id}"): lambda: [
            Call("GET", f"/api/v1/events/{_q(e)}?margin_hours=6", "event", key=e)
            for e in events],
        ("GET", "/api/v1/zones"): lambda: [Call("GET", "/api/v1/zones", "zones")],
        ("GET", "/api/v1/basemap/land"): lambda: [Call("GET", "/api/v1/basemap/land", "land")],
        ("GET", "/api/v1/coverage"): lambda: [Call("GET", "/api/v1/coverage", "coverage")],
        ("GET", "/api/v1/coverage/cells"): lambda: [
            Call("GET", "/api/v1/coverage/cells", "coverage_cells")],
        ("GET", "/api/v1/installations"): lambda: [
            Call("GET", "/api/v1/installations", "installations")],
        ("GET", "/api/v1/traffic"): lambda: [Call("GET", "/api/v1/traffic", "traffic")],
        ("GET", "/api/v1/export/positions"): lambda: [
            Call("GET", "/api/v1/export/positions?format=csv", "export_positions")],
        ("GET", "/api/v1/export/events"): lambda: [
            Call("GET", "/api/v1/export/events?format=csv", "export_events"),
            Call("GET", "/api/v1/export/events?format=geojson", "export_events_geojson")],
        ("GET", "/api/v1/export/vessels"): lambda: [
            Call("GET", "/api/v1/export/vessels?format=csv", "export_vessels")],
        ("GET", "/ogc"): lambda: [Call("GET", "/ogc", "public")],
        ("GET", "/ogc/"): lambda: [Call("GET", "/ogc/", "public")],
        ("GET", "/ogc/conformance"): lambda: [Call("GET", "/ogc/conformance", "public")],
        ("GET", "/ogc/collections"): lambda: [
            Call("GET", "/ogc/collections", "ogc_collections")],
        ("GET", "/ogc/collections/{collectionId}"): lambda: [
            Call("GET", f"/ogc/collections/{c}", "ogc_collection", key=c)
            for c in ("vessels", "positions", "events", "zones")],
        ("GET", "/ogc/collections/{collectionId}/items"): lambda: [
            Call("GET", f"/ogc/collections/{c}/items?{big}", "ogc_items", key=c)
            for c in ("vessels", "positions", "events", "zones")],
        ("GET", "/ogc/collections/{collectionId}/items/{featureId}"): lambda: [
            *[Call("GET", f"/ogc/collections/events/items/{_q(e)}", "ogc_event", key=e)
              for e in events],
            *[Call("GET", f"/ogc/collections/vessels/items/{m}", "ogc_vessel", key=m)
              for m in mmsis],
            *[Call("GET", f"/ogc/collections/positions/items/{p}", "ogc_position", key=p)
              for p in positions],
            *[Call("GET", f"/ogc/collections/zones/items/{z}", "ogc_zone", key=z)
              for z in slugs]],
        ("POST", "/api/v1/auth/login"): lambda: [Call("POST", "/api/v1/auth/login", "login")],
        ("POST", "/api/v1/auth/logout"): lambda: [
            Call("POST", "/api/v1/auth/logout", "logout")],
        ("GET", "/api/v1/auth/me"): lambda: [Call("GET", "/api/v1/auth/me", "me")],
        ("GET", "/api/v1/grants"): lambda: [Call("GET", "/api/v1/grants", "grants")],
        ("POST", "/api/v1/grants"): lambda: [Call(
            "POST", "/api/v1/grants", "grant_create",
            body={"grantee": "ECU-CG", "until": "1h", "bbox": [-1, -1, 1, 1],
                  "max_marking": "GREEN", "note": "matrix"})],
        ("POST", "/api/v1/grants/{grant_id}/revoke"): lambda: [
            Call("POST", "/api/v1/grants/{fresh}/revoke", "grant_revoke")],
        ("GET", "/api/v1/audit"): lambda: [Call("GET", "/api/v1/audit?limit=1000", "audit")],
        ("PUT", "/api/v1/markings/events/{event_id}"): lambda: [Call(
            "PUT", f"/api/v1/markings/events/{_q(ev['encounter'])}", "marking",
            body={"level": "AMBER", "releasable_to": []}, key=ev["encounter"])],
        ("GET", "/api/v1/alerts"): lambda: [
            Call("GET", f"/api/v1/alerts?{big}", "alerts")],
        ("GET", "/api/v1/alerts/{alert_id}"): lambda: [
            Call("GET", f"/api/v1/alerts/{world.alerts.get(e, 0)}", "alert", key=e)
            for e in events],
        **{("POST", f"/api/v1/alerts/{{alert_id}}/{verb}"): (
            lambda verb=verb, body=body: [
                Call("POST", f"/api/v1/alerts/{{alert}}/{verb}", f"alert_{verb}", body=body,
                     key=e) for e in (ev["encounter"], ev.get("loitering")) if e])
           for verb, body in (("acknowledge", None), ("assign", {"user": "navy-watch"}),
                              ("close", {"reason": "no_action", "note": "matrix"}),
                              ("reopen", None))},
        ("POST", "/api/v1/alerts/handover"): lambda: [Call(
            "POST", "/api/v1/alerts/handover", "alert_handover",
            body={"from_watch": "matrix-a", "to_watch": "matrix-b", "note": "matrix"})],
        ("GET", "/api/v1/stream"): lambda: [Call("GET", "/api/v1/stream", "stream")],
        ("GET", "/api/v1/vessels/{mmsi}/identity"): lambda: [
            Call("GET", f"/api/v1/vessels/{m}/identity", "identity", key=m) for m in mmsis],
        ("GET", "/api/v1/watch"): lambda: [
            Call("GET", "/api/v1/watch?top=1000", "watch"),
            Call("GET", "/api/v1/watch?top=1000&day=1990-01-01", "watch", key="1990-01-01")],
        ("GET", "/api/v1/watchlists"): lambda: [
            Call("GET", "/api/v1/watchlists", "watchlists")],
        ("GET", "/api/v1/watchlists/{watchlist_id}"): lambda: [
            Call("GET", f"/api/v1/watchlists/{world.watchlist_id}", "watchlist")],
        ("POST", "/api/v1/watchlists"): lambda: [Call(
            "POST", "/api/v1/watchlists", "watchlist_create",
            body={"entries": [{"name": "MATRIX LONGLINER", "mmsi": 725000002}]})],
        ("DELETE", "/api/v1/watchlists/{watchlist_id}"): lambda: [
            Call("DELETE", "/api/v1/watchlists/{fresh_list}", "watchlist_remove")],
        ("GET", "/api/v1/alert-rules"): lambda: [Call("GET", "/api/v1/alert-rules", "rules")],
        ("POST", "/api/v1/alert-rules"): lambda: [Call(
            "POST", "/api/v1/alert-rules", "rule_create", body={"event_types": ["gap"]})],
        ("GET", "/api/v1/alert-rules/{rule_id}"): lambda: [
            Call("GET", "/api/v1/alert-rules/{fresh_rule}", "rule")],
        ("PATCH", "/api/v1/alert-rules/{rule_id}"): lambda: [Call(
            "PATCH", "/api/v1/alert-rules/{fresh_rule}", "rule_update",
            body={"min_score": 0.5})],
        ("DELETE", "/api/v1/alert-rules/{rule_id}"): lambda: [
            Call("DELETE", "/api/v1/alert-rules/{fresh_rule}", "rule_remove")],
        ("GET", "/openapi.json"): lambda: [Call("GET", "/openapi.json", "public")],
        ("GET", "/docs"): lambda: [Call("GET", "/docs", "public")],
        ("GET", "/docs/swagger"): lambda: [Call("GET", "/docs/swagger", "public")],
        ("GET", "/static"): lambda: [Call("GET", "/static/app.js", "public")],
        ("GET", "/"): lambda: [Call("GET", "/", "public")],
    }
    build = table.get((method, path))
    return build() if build is not None else []


def route_table(app) -> list[tuple[str, str, str]]:
    """``(method, path, action)`` of every route of the application."""
    out = []
    for path, methods, route in iter_routes(app.routes):
        actions = route_actions(route)
        assert len(actions) == 1, f"route {path} declares {actions or 'no action'}"
        for method in sorted(methods or {"GET"}):
            if method == "HEAD":
                continue
            out.append((method, path, actions[0]))
    return out


# --- checks --------------------------------------------------------------------------------


def _role(who: str) -> str:
    return roles.ANONYMOUS if who == "anonymous" else USERS[who][1]


def _agency(who: str) -> str | None:
    return None if who == "anonymous" else (PARTNER if who.startswith("partner") else HOST)


def check_denied(response, status: int | tuple[int, ...], what: str) -> None:
    wanted = status if isinstance(status, tuple) else (status,)
    assert response.status_code in wanted, (what, response.status_code, response.text[:300])
    body = response.json()
    assert set(body) == {"detail"} and isinstance(body["detail"], str), (what, body)
    if response.status_code == 401:
        assert response.headers["www-authenticate"] == "Bearer", what


def check_no_leak(world: World, exp: Expected, text: str, what: str) -> None:
    """No hidden event id and no MMSI of a vessel the caller may not know, anywhere."""
    for event_id in world.events["event_id"].to_list():
        if event_id not in exp.events:
            assert event_id not in text and _q(event_id) not in text, (what, event_id)
    for mmsi in world.positions["mmsi"].unique().to_list():
        if mmsi not in exp.mmsis:
            assert not re.search(rf"(?<![0-9.]){mmsi}(?![0-9])", text), (what, mmsi)


def _inside_released(world: World, exp: Expected, lon: list[float], lat: list[float]) -> bool:
    """Every point is a released position (by coordinates)."""
    if not lon:
        return True
    released = set(zip(exp.positions["lon"].to_list(), exp.positions["lat"].to_list(),
                       strict=True))
    return all((x, y) in released for x, y in zip(lon, lat, strict=True))


def check_data(world: World, exp: Expected, call: Call, response, what: str) -> None:
    """The answer of an allowed data call holds exactly what the caller may see."""
    kind, status = call.kind, response.status_code
    single = {"vessel", "track", "identity", "event", "ogc_event", "ogc_vessel",
              "ogc_position", "ogc_zone"}
    if kind in single:
        if kind in ("event", "ogc_event"):
            visible: bool | None = call.key in exp.events
        elif kind in ("vessel", "track", "identity", "ogc_vessel"):
            # every vessel named by a visible event or with a released position answers
            visible = call.key in exp.mmsis
        elif kind == "ogc_position":
            mmsi, us = call.key.split("-")
            visible = exp.positions.filter(
                (pl.col("mmsi") == int(mmsi))
                & (pl.col("ts").dt.epoch("us") == int(us))).height > 0
        else:
            visible = world.zone_names[call.key] in exp.zones
        if visible is False or (visible is None and status == 404):
            check_denied(response, 404, what)
            return
        assert status == 200, (what, status, response.text[:300])
    else:
        assert status == 200, (what, status, response.text[:300])
    n_events, n_positions = len(exp.events), exp.positions.height
    if kind == "stats":
        body = response.json()
        assert body["events"] == n_events and body["positions"] == n_positions, what
        assert sum(body["events_by_type"].values()) == n_events, what
    elif kind in ("vessels", "vessels_geojson", "export_vessels"):
        if kind == "vessels":
            items = response.json()["items"]
            mmsis = [v["mmsi"] for v in items]
            assert response.json()["total"] == len(items), what
            shown = [(v["lon"], v["lat"]) for v in items if v["lat"] is not None]
        elif kind == "vessels_geojson":
            features = response.json()["features"]
            mmsis = [f["id"] for f in features]
            shown = [tuple(f["geometry"]["coordinates"]) for f in features if f["geometry"]]
        else:
            frame = pl.read_csv(io.BytesIO(response.content))
            mmsis = frame["mmsi"].to_list()
            shown = []
        assert set(mmsis) <= exp.mmsis and exp.event_mmsis <= set(mmsis), what
        if not exp.full:
            assert _inside_released(world, exp, [x for x, _ in shown], [y for _, y in shown])
    elif kind == "positions":
        body = response.json()
        assert body["total"] == n_positions == len(body["items"]), what
        if not exp.full:
            assert _inside_released(world, exp, [p["lon"] for p in body["items"]],
                                    [p["lat"] for p in body["items"]]), what
    elif kind == "export_positions":
        assert response.headers["x-tlp"] in ("AMBER", "CLEAR"), what
        assert pl.read_csv(io.BytesIO(response.content)).height == n_positions, what
    elif kind in ("events", "events_geojson", "export_events", "export_events_geojson"):
        if kind == "events":
            items = response.json()["items"]
            got = [e["event_id"] for e in items]
            assert response.json()["total"] == n_events, what
            for e in items:
                row = world.events.filter(pl.col("event_id") == e["event_id"]).row(
                    0, named=True)
                assert (e["marking"], e["releasable_to"], e["owner_agency"]) == (
                    row["marking"], row["releasable_to"], row["owner_agency"]), what
        elif kind == "export_events":
            with io.StringIO(response.text) as fh:
                got = [r["event_id"] for r in csv.DictReader(fh)]
            levels = world.events.filter(pl.col("event_id").is_in(got))["marking"]
            top = max((TLP.parse(v) for v in levels), default=TLP.CLEAR)
            assert response.headers["x-tlp"] == top.label, what
        else:
            doc = response.json()
            got = [f["id"] for f in doc["features"]]
            if kind == "export_events_geojson":
                assert doc["marking"]["tlp"] == response.headers["x-tlp"], what
                assert doc["marking"]["recipient"] == (None if exp.full else PARTNER), what
        assert sorted(got) == sorted(exp.events), (what, sorted(got), sorted(exp.events))
    elif kind in ("event", "ogc_event"):
        body = response.json()
        if kind == "event":
            assert body["event"]["event_id"] == call.key, what
            points = [f for f in body["evidence"]["features"]
                      if f["geometry"]["type"] == "Point"]
            if not exp.full:
                assert _inside_released(world, exp,
                                        [f["geometry"]["coordinates"][0] for f in points],
                                        [f["geometry"]["coordinates"][1] for f in points]), what
                for v in body["vessels"]:
                    if v["lat"] is not None:
                        assert _inside_released(world, exp, [v["lon"]], [v["lat"]]), what
        else:
            assert body["id"] == call.key, what
    elif kind in ("vessel", "ogc_vessel"):
        body = response.json()
        props = body if kind == "vessel" else body["properties"]
        assert props["mmsi"] == call.key, what
        if not exp.full and props["lat"] is not None:
            assert _inside_released(world, exp, [props["lon"]], [props["lat"]]), what
        if kind == "vessel" and not exp.full:
            mine = exp.positions.filter(pl.col("mmsi") == call.key)
            assert props["positions"] == mine.height, what
    elif kind == "watch":
        # the risk of the events the caller sees, recomputed here: a partner's watch list
        # holds only its vessels, and no risk or evidence from an event it may not see
        body = response.json()
        seen = world.events.filter(pl.col("event_id").is_in(sorted(exp.events)))
        day = date.fromisoformat(call.key) if call.key else None
        want, shown = watch_list(seen.select(list(schema.EVENTS)), day, top=1000)
        assert body["day"] == (shown.isoformat() if shown else None), what
        got = [(i["mmsi"], i["risk"], [(b["signal"], b["events"]) for b in i["breakdown"]])
               for i in body["items"]]
        assert got == [(r["mmsi"], r["risk"], [(b["signal"], b["events"]) for b in
                                              r["breakdown"]]) for r in want.to_dicts()], what
        assert all(i["mmsi"] in exp.mmsis for i in body["items"]), what
        if call.key:
            assert body["items"] == [], what
        elif exp.full:
            assert body["items"], what
    elif kind == "identity":
        body = response.json()
        assert body["mmsi"] == call.key and isinstance(body["history"], list), what
    elif kind == "track":
        geometry = response.json()["geometry"]
        if not exp.full:
            coords = [] if geometry is None else (
                geometry["coordinates"] if geometry["type"] == "LineString"
                else [geometry["coordinates"]])
            assert _inside_released(world, exp, [c[0] for c in coords],
                                    [c[1] for c in coords]), what
    elif kind == "zones":
        names = {f["properties"]["name"] for f in response.json()["features"]}
        assert names == exp.zones, what
    elif kind == "land":
        # one world land for every caller: it depends on no data, so it reveals nothing
        ids = [f["id"] for f in response.json()["features"]]
        assert ids == ["land"], what
    elif kind == "coverage":
        # the host's receivers and when they heard: another agency gets empty lists
        body = response.json()
        assert bool(body["feeds"]) == exp.full, what
        assert exp.full or body["outages"] == [], what
        assert exp.full or body.get("live_outages", []) == [], what
    elif kind == "coverage_cells":
        # another agency: only cell-hours whose every position it may read, so a cell
        # never counts more positions than it is released there, and no feed is named
        cells = response.json()["features"]
        assert bool(cells) or not exp.full, what
        if not exp.full:
            mine = exp.positions.filter(pl.col("lat").is_finite() & pl.col("lon").is_finite())
            per_cell = {(la, lo): n for la, lo, n in mine.group_by(
                (pl.col("lat") // 1).cast(pl.Int64), (pl.col("lon") // 1).cast(pl.Int64)
            ).len().iter_rows()}
            for cell in cells:
                p = cell["properties"]
                assert p["feeds"] == [], what
                assert p["positions"] <= per_cell.get((p["cell_lat"], p["cell_lon"]), 0), what
    elif kind == "traffic":
        # the picture counts every vessel of the store, positions no grant releases among
        # them: the host gets its cells, another agency none (not even whether one is built)
        body = response.json()
        assert bool(body["features"]) == exp.full, what
        assert exp.full or body["properties"] == {"built": False}, what
        if exp.full:
            total = sum(f["properties"]["positions"] for f in body["features"])
            valid = world.positions.filter(
                (pl.col("lat").abs() <= 90) & (pl.col("lon").abs() <= 180))
            assert total == body["properties"]["positions"] == valid.height, what
    elif kind == "installations":
        # the host's installations and the candidates read from all of its events
        body = response.json()
        assert exp.full or (body["features"] == [] and body["at_installations"] == {}), what
    elif kind == "ogc_items":
        doc = response.json()
        want = {"events": n_events, "positions": n_positions, "zones": len(exp.zones)}
        if call.key in want:
            assert doc["numberMatched"] == want[call.key], (what, doc["numberMatched"])
        else:
            assert {f["id"] for f in doc["features"]} <= exp.mmsis, what
        assert doc["numberReturned"] == len(doc["features"]), what
    elif kind in ("ogc_collections", "ogc_collection"):
        doc = response.json()
        for c in doc.get("collections", [doc]):
            if c["id"] == "events":
                box = c["extent"]["spatial"]["bbox"][0]
                rows = world.events.filter(pl.col("event_id").is_in(list(exp.events)))
                if rows.height:
                    assert box == [rows["lon"].min(), rows["lat"].min(), rows["lon"].max(),
                                   rows["lat"].max()], what
                else:
                    assert box == [-180.0, -90.0, 180.0, 90.0], what


def check_admin(world: World, exp: Expected, who: str, call: Call, response,
                what: str) -> None:
    """The sharing and session routes: agency rules beyond the role table."""
    kind, status = call.kind, response.status_code
    if kind == "login":
        assert status == 200, (what, response.text)
        body = response.json()
        assert set(body) == {"user", "agency", "role", "csrf_token", "expires_at"}
        cookies = response.headers.get_list("set-cookie")
        session = next(c for c in cookies if c.startswith("seawatch_session="))
        assert "HttpOnly" in session and "SameSite=strict" in session.replace("Strict",
                                                                               "strict")
        assert any(c.startswith("seawatch_csrf=") and "HttpOnly" not in c for c in cookies)
    elif kind == "logout":
        assert status == 200 and response.json() == {"ended": False}, what
    elif kind == "me":
        body = response.json()
        assert status == 200 and body["agency"] == _agency(who), what
        assert body["host"] == exp.full, what
    elif kind == "grants":
        assert status == 200, what
        for g in response.json()["items"]:
            if not exp.full:
                assert PARTNER in (g["grantor"], g["grantee"]), (what, g)
    elif kind == "grant_create":
        assert status == 201, (what, response.text)
        assert response.json()["grantor"] == _agency(who), what
    elif kind == "grant_revoke":
        if who == "partner_admin":  # not its grant: as if it did not exist
            check_denied(response, 404, what)
        else:
            assert status == 200 and response.json()["status"] == "revoked", what
    elif kind == "audit":
        assert status == 200, what
        items = response.json()["items"]
        if not exp.full:
            assert items and {e["agency"] for e in items} == {PARTNER}, what
        else:
            assert {e["agency"] for e in items} >= {HOST, PARTNER}, what
    elif kind == "marking":
        if who == "partner_admin":  # it sees the event (active grant) but does not own it
            check_denied(response, 403 if call.key in exp.events else 404, what)
        else:
            assert status == 200 and response.json()["marking"] == "AMBER", what
    else:
        raise AssertionError(f"no check for {kind}")


ADMIN_KINDS = {"login", "logout", "me", "grants", "grant_create", "grant_revoke", "audit",
               "marking"}
ALERT_STEPS = {"alert_acknowledge": ("new", "acknowledged"),
               "alert_assign": ("acknowledged", "assigned"),
               "alert_close": ("assigned", "closed"), "alert_reopen": ("closed", "assigned")}
"""Each step's kind -> the state the alert is put in before the call, the state after."""
ALERT_KINDS = {"alerts", "alert", "alert_handover", "rules", "rule", "rule_create",
               "rule_update", "rule_remove", *ALERT_STEPS}
WATCHLIST_KINDS = {"watchlists", "watchlist", "watchlist_create", "watchlist_remove"}
_NAMES = iter(range(1, 10**9))


def prepare_alert(world: World, event_id: str, state_name: str) -> int:
    """Put the alert of ``event_id`` in ``state_name`` (assigned to the host's watch officer
    from ``assigned`` on); its id."""
    from seawatch.share.models import AlertRow

    with world.state.write() as s:
        row = s.get(AlertRow, world.alerts[event_id])
        row.state = state_name
        row.assigned_to = "navy-watch" if state_name in ("assigned", "closed") else None
        row.close_reason = "resolved" if state_name == "closed" else None
        return row.id


def check_alerts(world: World, exp: Expected, who: str, call: Call, response,
                 what: str) -> None:
    """The alert routes: alerts follow their events; the host acts, others are refused."""
    kind, status = call.kind, response.status_code
    if kind == "alerts":
        assert status == 200, (what, response.text[:300])
        body = response.json()
        got = [a["event_id"] for a in body["items"]]
        assert sorted(got) == sorted(exp.events) and body["total"] == len(got), what
        assert all(a["rule_id"] == world.rule_id for a in body["items"]), what
    elif kind == "alert":
        if call.key not in exp.events:
            check_denied(response, 404, what)
        else:
            assert status == 200 and response.json()["event_id"] == call.key, what
    elif kind in ALERT_STEPS:
        if not exp.full:  # the host's alert: seen (403) or not (404)
            check_denied(response, 403 if call.key in exp.events else 404, what)
        else:
            assert status == 200, (what, response.text[:300])
            assert response.json()["state"] == ALERT_STEPS[kind][1], what
    elif kind == "alert_handover":
        assert status == 200 and response.json()["note"] == "matrix", (what, response.text)
    elif kind == "rules":
        assert status == 200, what
        agencies = {r["agency"] for r in response.json()["items"]}
        assert agencies <= ({HOST, PARTNER} if exp.full else {PARTNER}), (what, agencies)
        assert exp.full == (HOST in agencies), what
    elif kind in ("rule", "rule_update", "rule_remove"):  # a rule of the host
        if not exp.full:
            check_denied(response, 404, what)
        else:
            assert status == 200, (what, response.text[:300])
    elif kind == "rule_create":
        assert status == 201 and response.json()["agency"] == _agency(who), (what,
                                                                             response.text)
    else:
        raise AssertionError(f"no check for {kind}")


def host_list_visible(world: World, exp: Expected) -> bool:
    """The oracle of the host's AMBER list: the host sees it; another agency through a live
    grant of the host up to AMBER or above whose event types hold ``watchlist_hit``."""
    return exp.full or any(
        TLP.parse(spec["max"]) >= TLP.AMBER
        and (spec.get("types") is None or "watchlist_hit" in spec["types"])
        for spec in world.grant_specs)


def check_watchlists(world: World, exp: Expected, who: str, call: Call, response,
                     what: str) -> None:
    """The watchlist routes: lists seen through grants; each agency changes its own."""
    kind, status = call.kind, response.status_code
    seen = host_list_visible(world, exp)
    if kind == "watchlists":
        assert status == 200, (what, response.text[:300])
        items = response.json()["items"]
        assert (world.watchlist_id in {w["id"] for w in items}) == seen, what
        assert exp.full or {w["owner_agency"] for w in items} <= {HOST, PARTNER}, what
        assert all(w["owner_agency"] == PARTNER or seen for w in items), what
    elif kind == "watchlist":
        if not seen:
            check_denied(response, 404, what)
        else:
            assert status == 200 and response.json()["id"] == world.watchlist_id, what
    elif kind == "watchlist_create":
        assert status == 201, (what, response.text[:300])
        assert response.json()["owner_agency"] == _agency(who), what
    elif kind == "watchlist_remove":  # a fresh list of the host, as its AMBER list
        if not exp.full:
            check_denied(response, 403 if seen else 404, what)
        else:
            assert status == 200, (what, response.text[:300])
    else:
        raise AssertionError(f"no check for {kind}")


def run_call(world: World, who: str, call: Call, action: str) -> None:
    """Make one call as ``who``; check the denial or the data."""
    url = call.url
    if "{fresh}" in url:
        from seawatch.share.db import utcnow
        from seawatch.share.grants import create_grant

        grant = create_grant(world.state, grantor=HOST, grantee="ECU-CG",
                             expires_at=utcnow() + timedelta(hours=1), bbox=[0, 0, 1, 1])
        url = url.replace("{fresh}", str(grant.id))
    if "{fresh_rule}" in url:
        from seawatch.share.alerts import add_rule

        rule = add_rule(world.state, f"matrix rule {next(_NAMES)}", event_types=["gap"])
        url = url.replace("{fresh_rule}", str(rule.id))
    if "{alert}" in url:
        url = url.replace("{alert}", str(prepare_alert(world, call.key,
                                                       ALERT_STEPS[call.kind][0])))
    if "{fresh_list}" in url:
        from seawatch.share.watchlists import import_watchlists

        (made,) = import_watchlists(world.state, WATCHLIST_ENTRIES,
                                    name=f"matrix list {next(_NAMES)}", marking="AMBER")
        url = url.replace("{fresh_list}", str(made.id))
    body = call.body
    if call.kind == "watchlist_create":
        body = {**body, "name": f"matrix list {next(_NAMES)}"}
    if call.kind == "rule_create":
        body = {**body, "name": f"matrix rule {next(_NAMES)}"}
    if call.kind == "login":
        user = USERS["partner_viewer" if who == "anonymous" else who][0]
        body = {"username": user, "password": PASSWORD}
    if call.kind == "stream" and roles.allowed(
            None if who == "anonymous" else _principal(who), action):
        return  # an open stream never ends: tests/api/rest/test_stream.py reads it over HTTP
    response = world.client.request(call.method, url, json=body, headers=world.headers(who))
    what = f"[{world.state_name}] {who} {call.method} {url}"
    exp = expected(world, who)
    if who != "anonymous" and not exp.full and call.kind != "audit" and \
            response.status_code < 300:  # (an error echoes the id asked for, no more)
        check_no_leak(world, exp, response.text, what)
    if not roles.allowed(None if who == "anonymous" else _principal(who), action):
        check_denied(response, 401 if who == "anonymous" else 403, what)
        return
    if call.kind == "public":
        assert response.status_code == 200, (what, response.status_code)
    elif call.kind in ADMIN_KINDS:
        check_admin(world, exp, who, call, response, what)
    elif call.kind in ALERT_KINDS:
        check_alerts(world, exp, who, call, response, what)
    elif call.kind in WATCHLIST_KINDS:
        check_watchlists(world, exp, who, call, response, what)
    else:
        check_data(world, exp, call, response, what)


def _principal(who: str):
    return roles.Principal(1, USERS[who][0], _agency(who) or "", USERS[who][1])


# --- the tests -----------------------------------------------------------------------------


def test_every_route_declares_one_action_and_is_in_the_matrix(app):
    table = route_table(app)
    assert len(table) >= 30
    missing = [(m, p) for m, p, _ in table if not calls_for_placeholder(m, p)]
    assert not missing, f"routes missing from the matrix: {missing}"
    public = {p for _, p, a in table if a == roles.PUBLIC}
    assert public == PUBLIC_PATHS, public ^ PUBLIC_PATHS
    for _, _, action in table:
        assert action in roles.POLICY


def calls_for_placeholder(method: str, path: str) -> bool:
    dummy = World(None, None, None, {}, pl.DataFrame(), pl.DataFrame(), None,
                  {"encounter": "x"}, [1], ["1-2"], ["z"], {"z": "Z"})
    return bool(calls_for(dummy, method, path))


def test_a_route_without_a_policy_fails_the_table(store_dir):
    from fastapi.testclient import TestClient

    from seawatch.api import create_app

    app = create_app(store_dir, auth="local")

    @app.get("/api/v1/oops")
    def oops() -> dict:
        return {"secret": 1}

    with pytest.raises(AssertionError, match="/api/v1/oops declares no action"):
        route_table(app)
    TestClient(app)  # the app itself still builds: only the table refuses it


def test_role_matrix(world):
    """Every route × every role (the partner with a live grant)."""
    set_grants(world, "active")
    calls = 0
    for method, path, action in route_table(world.app):
        for who in PRINCIPALS:
            for call in calls_for(world, method, path, few=True):
                run_call(world, who, call, action)
                calls += 1
    assert calls > 250


@pytest.mark.parametrize("grant_state", list(GRANT_STATES))
def test_grant_matrix(world, grant_state):
    """Every data route × the partner's grant states: exactly what the grants release."""
    set_grants(world, grant_state)
    exp = expected(world, "partner_viewer")
    owned = {world.ids["partner_owned"]}
    assert owned <= exp.events  # its own data, whatever the grants
    if grant_state in ("active", "zone_positions", "red", "marking_above"):
        assert exp.events - owned, "the state releases something"
    if grant_state == "zone_positions":
        assert exp.positions.height > 0
    for method, path, action in route_table(world.app):
        if action not in (roles.READ, roles.EXPORT, roles.GRANT_LIST, roles.SESSION):
            continue
        for call in calls_for(world, method, path):
            if call.kind in ("login", "logout"):
                continue
            run_call(world, "partner_viewer", call, action)


def test_grant_states_release_what_they_should(world):
    """The oracle itself, on the states' intent (guards against a vacuous matrix)."""
    ids = world.ids
    cases = {
        "none": set(),
        "active": {ids["encounter"], ids["spoofing"]},
        "zone_positions": None,  # (below: every event in the reserve up to AMBER)
        "red": {ids["red_partner"]},
        "expired": set(),
        "revoked": set(),
        "other_area": set(),
        "other_types": set(),
        "marking_above": {ids["spoofing"]},
    }
    ev = world.events
    in_reserve = shapely.contains_xy(world.reserve, ev["lon"].to_numpy(), ev["lat"].to_numpy())
    in_reserve_ids = set(ev.filter(pl.Series(in_reserve))["event_id"])
    for name, wanted in cases.items():
        if name == "zone_positions":
            assert {ids["reserve_visit"], ids["encounter"]} <= in_reserve_ids
            assert ids["spoofing"] not in in_reserve_ids
            wanted = in_reserve_ids - {ids["partner_owned"]}
        set_grants(world, name)
        assert expected(world, "partner_viewer").events == wanted | {ids["partner_owned"]}, name
        body = world.client.get("/api/v1/events", headers=world.headers("partner_viewer"))
        assert {e["event_id"] for e in body.json()["items"]} == wanted | {
            ids["partner_owned"]}, name


def test_marking_is_unchanged_by_refused_writes(world):
    from seawatch.share.markings import get_marking

    set_grants(world, "active")
    before = get_marking(world.state, "event", world.ids["encounter"])
    response = world.client.put(
        f"/api/v1/markings/events/{_q(world.ids['encounter'])}",
        json={"level": "CLEAR", "releasable_to": [PARTNER]},
        headers=world.headers("partner_admin"))
    assert response.status_code == 403
    assert get_marking(world.state, "event", world.ids["encounter"]) == before
    assert json.loads(response.text) == {"detail": response.json()["detail"]}


@pytest.mark.parametrize("grant_state", ["zone_positions", "box_positions"])
def test_every_vessel_with_released_positions_answers(world, grant_state):
    """Issue 14: with a grant that releases positions, every vessel with a released
    position answers on /vessels/{mmsi}, /track and the OGC item (its latest released
    position, its released positions counted), not only those whose latest position in
    the store happens to lie in the grant's area."""
    set_grants(world, grant_state)
    exp = expected(world, "partner_viewer")
    released = exp.positions.group_by("mmsi").len()
    assert released.height >= 5
    headers = world.headers("partner_viewer")
    moved_out = 0
    latest = world.positions.group_by("mmsi").agg(pl.all().sort_by("ts").last())
    for mmsi, count in released.iter_rows():
        vessel = world.client.get(f"/api/v1/vessels/{mmsi}", headers=headers)
        assert vessel.status_code == 200, (mmsi, vessel.text)
        assert vessel.json()["positions"] == count
        assert _inside_released(world, exp, [vessel.json()["lon"]], [vessel.json()["lat"]])
        track = world.client.get(f"/api/v1/vessels/{mmsi}/track", headers=headers)
        assert track.status_code == 200 and track.json()["properties"]["points_total"] > 0
        item = world.client.get(f"/ogc/collections/vessels/items/{mmsi}", headers=headers)
        assert item.status_code == 200, (mmsi, item.text)
        last = latest.filter(pl.col("mmsi") == mmsi).row(0, named=True)
        spec = world.grant_specs[0]
        moved_out += not bool(_in_area(world, spec, [last["lat"]], [last["lon"]])[0])
    # some left the area: the case the issue found (in the box; none leaves the reserve)
    assert moved_out > 0 or grant_state == "zone_positions"
