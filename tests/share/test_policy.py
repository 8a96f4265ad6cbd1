"""Policy: the role × action table, and what each principal's Access lets through.

The leak tests compare :class:`Access` against a plain per-row reference implementation of
the rules on random events, for every state a grant can be in.
"""

from __future__ import annotations

import math
from datetime import timedelta

import polars as pl
import pytest
import shapely

from seawatch.share import roles
from seawatch.share.db import State
from seawatch.share.errors import AuthenticationError, Forbidden
from seawatch.share.grants import Grant, create_grant, revoke_grant
from seawatch.share.markings import TLP, set_marking
from seawatch.share.policy import (
    POLICY,
    ROLES,
    Access,
    Principal,
    access_for,
    authorize_request,
    require,
)
from tests.share.data import (
    COAST_GUARD,
    FISHERIES,
    HOST,
    INSIDE_RESERVE,
    OUTSIDE_RESERVE,
    PARTNER,
    T0,
    events_frame,
    principal,
    random_events,
    setup_agencies,
)

RESERVE = "Galápagos Marine Reserve"
DAY = timedelta(days=1)


# --- the policy table ---------------------------------------------------------------------


def test_policy_table_covers_every_action_and_role() -> None:
    constants = {
        v for k, v in vars(roles).items() if k.isupper() and isinstance(v, str) and "." in v
    }
    assert constants <= set(roles.ACTIONS)
    assert set(roles.ACTIONS) == set(POLICY), "every action has exactly one policy row"
    from seawatch.share import models

    assert models.ROLES == roles.ROLES  # the database's CHECK constraint lists the same roles
    for action, allowed_roles in POLICY.items():
        assert allowed_roles <= {*ROLES, roles.ANONYMOUS}, action
        assert "admin" in allowed_roles, f"admin may not {action}?"
    # partner viewers only read (and manage their own tokens)
    partner_writes = {a for a in roles.WRITE_ACTIONS if "partner_viewer" in POLICY[a]}
    assert partner_writes == {roles.TOKEN_SELF}
    for officer in ("watch_officer", "analyst"):
        assert officer in POLICY[roles.ALERT_ACK] and officer in POLICY[roles.ALERT_ASSIGN]
        assert officer not in POLICY[roles.GRANT_CREATE]
    assert POLICY[roles.GRANT_CREATE] == {"admin"}
    assert roles.ANONYMOUS in POLICY[roles.PUBLIC]
    assert all(roles.ANONYMOUS not in r for a, r in POLICY.items() if a != roles.PUBLIC)


def test_require() -> None:
    viewer = Principal(1, "v", PARTNER, "partner_viewer")
    require(viewer, roles.READ)
    with pytest.raises(Forbidden, match="partner_viewer"):
        require(viewer, roles.ALERT_ACK)
    with pytest.raises(AuthenticationError):
        require(None, roles.READ)
    require(None, roles.PUBLIC)
    with pytest.raises(KeyError):
        require(viewer, "no.such.action")


# --- a per-row reference of the rules ----------------------------------------------------


def _rank(label: str) -> int:
    return int(TLP.parse(label))


def _reference(frame: pl.DataFrame, agency: str, host: str, grants: list[Grant]) -> set[str]:
    visible = set()
    for row in frame.iter_rows(named=True):
        if agency == host or row["owner_agency"] == agency:
            visible.add(row["event_id"])
            continue
        for g in grants:
            if row["owner_agency"] != g.grantor:
                continue
            if g.event_types is not None and row["type"] not in g.event_types:
                continue
            end = row["end"] or row["start"]
            if g.data_start is not None and row["start"] < g.data_start:
                continue
            if g.data_end is not None and end > g.data_end:
                continue
            if _rank(row["marking"]) > int(g.max_marking):
                continue
            names = row["releasable_to"] or []
            if not (agency in names or (not names and row["marking"] != "RED")):
                continue
            lat, lon = row["lat"], row["lon"]
            if g.area_kind != "all":
                if lat is None or lon is None or math.isnan(lat):
                    continue
                if g.area_kind == "zone" and not shapely.contains(g.area, shapely.Point(lon, lat)):
                    continue
                if g.area_kind == "bbox":
                    x0, y0, x1, y1 = g.bbox  # type: ignore[misc]
                    if not (y0 <= lat <= y1 and x0 <= lon <= x1):
                        continue
            visible.add(row["event_id"])
            break
    return visible


def _ids(frame: pl.DataFrame) -> set[str]:
    return set(frame.get_column("event_id").to_list())


SCENARIOS = {
    "none": [],
    "reserve_encounters_amber": [
        dict(zone=RESERVE, event_types=["encounter"], max_marking="AMBER")
    ],
    "reserve_all_types_red": [dict(zone=RESERVE, max_marking="RED")],
    "bbox_window_green": [
        dict(bbox="-82,-3,-79,0", max_marking="GREEN", data_start=T0 - 10 * DAY,
             data_end=T0 - 3 * DAY)
    ],
    "everywhere_strict_gaps": [dict(event_types=["gap", "loitering"], max_marking="AMBER+STRICT")],
    "two_grants": [
        dict(zone=RESERVE, event_types=["fishing_in_zone"], max_marking="CLEAR"),
        dict(bbox="-95,-4,-90,3", event_types=["spoofing", "gap"], max_marking="AMBER"),
    ],
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_partner_sees_exactly_the_grants_scope(state: State, scenario: str) -> None:
    setup_agencies(state)
    for spec in SCENARIOS[scenario]:
        create_grant(state, grantor=HOST, grantee=PARTNER, expires_at=T0 + DAY, now=T0 - DAY,
                     **spec)  # type: ignore[arg-type]
    events = random_events(3000)
    for who in ("af-viewer", "cg-watch", "fish-analyst", "navy-watch"):
        p = principal(state, who)
        access = access_for(state, p, T0)
        got = access.filter_events(events)
        expected = _reference(events, p.agency, HOST, list(access.grants))
        assert _ids(got) == expected, f"{scenario}/{who}: leaked {_ids(got) - expected}, " \
            f"hid {expected - _ids(got)}"
        assert got.columns == events.columns
    partner = access_for(state, principal(state, "af-viewer"), T0).filter_events(events)
    own = events.filter(pl.col("owner_agency") == PARTNER).height
    if scenario == "none":
        assert partner.height == own  # only its own rows
    else:
        assert partner.height > own  # the grant released something


def test_grant_states_on_reserve_events(state: State) -> None:
    """Events inside/outside the reserve, of several types, markings and times, for each
    state a grant can be in: only the active, in-scope, low-enough rows show."""
    setup_agencies(state)
    rows = []
    for k, (lat, lon) in enumerate(INSIDE_RESERVE):
        rows.append({"event_id": f"in-enc-{k}", "type": "encounter", "lat": lat, "lon": lon})
        rows.append({"event_id": f"in-gap-{k}", "type": "gap", "lat": lat, "lon": lon})
    for k, (lat, lon) in enumerate(OUTSIDE_RESERVE):
        rows.append({"event_id": f"out-enc-{k}", "type": "encounter", "lat": lat, "lon": lon})
    rows.append({"event_id": "in-enc-old", "type": "encounter", "lat": -0.75, "lon": -90.6,
                 "start": T0 - 40 * DAY})
    rows.append({"event_id": "in-enc-red", "type": "encounter", "lat": -0.75, "lon": -90.6})
    rows.append({"event_id": "in-enc-strict", "type": "encounter", "lat": -0.75, "lon": -90.6})
    rows.append({"event_id": "in-enc-cg-only", "type": "encounter", "lat": -0.75, "lon": -90.6})
    events = events_frame(rows)
    set_marking(state, "event", "in-enc-red", "RED", releasable_to=[PARTNER])
    set_marking(state, "event", "in-enc-strict", "AMBER+STRICT")
    set_marking(state, "event", "in-enc-cg-only", "GREEN", releasable_to=[COAST_GUARD])
    viewer = principal(state, "af-viewer")

    def seen(now: object) -> set[str]:
        return _ids(access_for(state, viewer, now).filter_events(events))  # type: ignore[arg-type]

    assert seen(T0) == set()  # no grant
    g = create_grant(state, grantor=HOST, grantee=PARTNER, zone=RESERVE,
                     event_types=["encounter"], max_marking="AMBER", expires_at=T0 + DAY,
                     data_start=T0 - 30 * DAY, now=T0)
    active = {f"in-enc-{k}" for k in range(len(INSIDE_RESERVE))}
    assert seen(T0) == active  # not the gaps, not outside, not old, not above AMBER
    assert seen(T0 + DAY - timedelta(microseconds=1)) == active
    assert seen(T0 + DAY) == set()  # expired: takes effect at the next call
    assert seen(T0 - timedelta(seconds=1)) == set()  # before it existed
    revoke_grant(state, g.id, now=T0 + timedelta(hours=1))
    assert seen(T0 + timedelta(hours=1)) == set()  # revoked at once
    # marking above the grant: only a RED grant shows the RED event named for the partner
    create_grant(state, grantor=HOST, grantee=PARTNER, zone=RESERVE, event_types=["encounter"],
                 max_marking="RED", expires_at=T0 + DAY, data_start=T0 - 30 * DAY, now=T0)
    assert seen(T0 + timedelta(hours=2)) == active | {"in-enc-red", "in-enc-strict"}
    # the coast guard has no grant: nothing, not even the event releasable to it
    cg = access_for(state, principal(state, "cg-watch"), T0 + timedelta(hours=2))
    assert cg.filter_events(events).height == 0
    # the host sees everything, with the markings joined
    host = access_for(state, principal(state, "navy-watch"), T0).filter_events(events)
    assert host.height == events.height
    assert dict(zip(host["event_id"], host["marking"], strict=True))["in-enc-red"] == "RED"


def test_own_agency_data_and_out_of_scope_owner(state: State) -> None:
    setup_agencies(state)
    events = events_frame(
        [
            {"event_id": "cg1", "lat": -0.75, "lon": -90.6, "owner_agency": COAST_GUARD},
            {"event_id": "navy1", "lat": -0.75, "lon": -90.6, "owner_agency": HOST},
            {"event_id": "fish1", "lat": -0.75, "lon": -90.6, "owner_agency": FISHERIES},
        ],
        with_markings=True,
    )
    create_grant(state, grantor=COAST_GUARD, grantee=PARTNER, expires_at=T0 + DAY, now=T0)
    cg = access_for(state, principal(state, "cg-watch"), T0)
    assert _ids(cg.filter_events(events)) == {"cg1"}
    partner = access_for(state, principal(state, "af-viewer"), T0)
    assert _ids(partner.filter_events(events)) == {"cg1"}  # CG's grant covers CG's data only


def test_positions_vessels_zones(state: State) -> None:
    from seawatch.geo import default_zones

    setup_agencies(state)
    lat = [p[0] for p in INSIDE_RESERVE + OUTSIDE_RESERVE]
    lon = [p[1] for p in INSIDE_RESERVE + OUTSIDE_RESERVE]
    n = len(lat)
    positions = pl.DataFrame(
        {"mmsi": list(range(1, n + 1)), "ts": [T0 - timedelta(hours=k) for k in range(n)],
         "lat": lat, "lon": lon}
    ).with_columns(pl.col("ts").dt.cast_time_unit("us"))
    viewer = principal(state, "af-viewer")
    # an events-only grant does not release positions
    create_grant(state, grantor=HOST, grantee=PARTNER, zone=RESERVE, expires_at=T0 + DAY, now=T0)
    access = access_for(state, viewer, T0)
    assert access.filter_positions(positions).height == 0
    create_grant(state, grantor=HOST, grantee=PARTNER, zone=RESERVE, include_positions=True,
                 data_start=T0 - timedelta(hours=2), expires_at=T0 + DAY, now=T0)
    access = access_for(state, viewer, T0)
    shown = access.filter_positions(positions.lazy())
    assert shown.get_column("mmsi").to_list() == [1, 2, 3]  # inside, and ts >= T0 - 2 h
    # a grant reaching only GREEN does not release AMBER (default) positions
    other = access_for(state, principal(state, "fish-analyst"), T0)
    create_grant(state, grantor=HOST, grantee=FISHERIES, include_positions=True,
                 max_marking="GREEN", expires_at=T0 + DAY, now=T0)
    assert access_for(state, principal(state, "fish-analyst"), T0).filter_positions(
        positions).height == 0
    assert other.filter_positions(positions).height == 0
    # vessels: identity for visible MMSIs, position only where released
    vessels = positions.with_columns(pl.lit("NAME").alias("name"))
    v = access.filter_vessels(vessels, visible_mmsi=[5, 4])
    assert v.get_column("mmsi").to_list() == [1, 2, 3, 4, 5]
    hidden = v.filter(pl.col("mmsi").is_in([4, 5]))
    assert hidden.get_column("lat").null_count() == 2 and hidden.get_column("ts").null_count() == 2
    assert v.filter(pl.col("mmsi") == 1).get_column("lat").to_list() == [lat[0]]
    identity = vessels.drop("lat", "lon", "ts")
    assert access.filter_vessels(identity).height == 0
    assert access.filter_vessels(identity, visible_mmsi=[7]).get_column("mmsi").to_list() == [7]
    # zones: the host sees all, the partner the ones its grants name
    zones = default_zones()
    assert [z.name for z in access.filter_zones(zones)] == [RESERVE]
    host = access_for(state, principal(state, "navy-admin"), T0)
    assert len(host.filter_zones(zones)) == len(zones)
    assert host.filter_positions(positions).height == n
    assert host.filter_vessels(vessels).equals(vessels)
    assert access_for(state, principal(state, "cg-watch"), T0).filter_zones(zones) == []


def test_access_for_needs_a_principal(state: State) -> None:
    setup_agencies(state)
    with pytest.raises(AuthenticationError):
        access_for(state, None, T0)
    acc = access_for(state, principal(state, "navy-analyst"), T0)
    assert acc.full and acc.grants == () and acc.can(roles.ALERT_ACK)
    assert not access_for(state, principal(state, "af-viewer"), T0).can(roles.ALERT_ACK)


def test_access_without_state_needs_marking_columns() -> None:
    access = Access(Principal(1, "v", PARTNER, "partner_viewer"), HOST, T0)
    with pytest.raises(ValueError, match="attach_markings"):
        access.filter_events(events_frame([{"lat": 0.0, "lon": -90.0}]))


def test_authorize_request(state: State) -> None:
    from seawatch.share.auth import create_token
    setup_agencies(state)
    create_grant(state, grantor=HOST, grantee=PARTNER, zone=RESERVE, expires_at=T0 + DAY,
                 now=T0)
    token = create_token(state, "af-viewer", now=T0).token
    who, access = authorize_request(state, roles.READ, method="GET",
                                    authorization=f"Bearer {token}", client="10.0.0.1", now=T0)
    assert who is not None and access is not None and [g.zone_name for g in access.grants] == [
        RESERVE
    ]
    with pytest.raises(Forbidden) as denied:
        authorize_request(state, roles.ALERT_ACK, method="POST",
                          authorization=f"Bearer {token}", now=T0)
    assert denied.value.http_status == 403
    with pytest.raises(AuthenticationError) as anonymous:
        authorize_request(state, roles.READ, method="GET", now=T0)
    assert anonymous.value.http_status == 401
    assert anonymous.value.headers() == {"WWW-Authenticate": "Bearer"}
    assert authorize_request(state, roles.PUBLIC, method="GET", now=T0) == (None, None)
