"""zone_entry / zone_exit and fishing_in_zone on hand-made tracks (docs/detectors.md)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
import shapely

from seawatch import schema
from seawatch.detect.zone import (
    detect_fishing_in_zone,
    detect_zone_crossings,
    fishing_rules,
    zone_state,
)
from seawatch.geo import Zone, default_zones, zone_index

T0 = datetime(2026, 1, 15, tzinfo=UTC)
BOX = Zone("Box", "user", shapely.box(-81.0, -1.0, -80.0, 0.0))

CHN = 412000001  # MID 412: China (the distant-water squid fleet)
ECU = 735000001  # MID 735: Ecuador
ECU2 = 735000002
PER = 760000001  # MID 760: Peru

# points checked below against the default zones
EEZ_ONLY = (-1.0, -83.5)  # Ecuador EEZ between the mainland and the Galápagos
RESERVE = (-0.5, -90.8)  # inside the Galápagos Marine Reserve (and the EEZ)
HIGH_SEAS = (-1.0, -100.0)


def t(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def track(
    mmsi: int,
    points: Sequence[tuple[float, float, float]],
    sog: float | Sequence[float | None] | None = 3.0,
    segment_id: int | None = None,
) -> pl.DataFrame:
    """Positions of one vessel from (minutes, lat, lon) triples."""
    n = len(points)
    speeds = [sog] * n if sog is None or isinstance(sog, int | float) else list(sog)
    data = {
        "mmsi": [mmsi] * n,
        "ts": [t(m) for m, _, _ in points],
        "lat": [la for _, la, _ in points],
        "lon": [lo for _, _, lo in points],
        "sog": pl.Series(speeds, dtype=pl.Float32),
    }
    frame = pl.DataFrame(data)
    if segment_id is not None:
        frame = frame.with_columns(pl.lit(segment_id, dtype=pl.Int64).alias("segment_id"))
    return frame


def drift(
    mmsi: int,
    at: tuple[float, float],
    minutes: Sequence[float],
    sog: float | Sequence[float | None] | None = 3.0,
) -> pl.DataFrame:
    """A vessel creeping east from ``at`` (about 10 m per minute), reporting at ``minutes``."""
    lat, lon = at
    return track(mmsi, [(m, lat, lon + 1e-4 * m) for m in minutes], sog)


def kinds_at(lat: float, lon: float) -> list[str]:
    zones = default_zones()
    _, z = zone_index(zones).locate([lat], [lon])
    return sorted(zones[k].kind for k in z)


def crossings(frame: pl.DataFrame, zones: Sequence[Zone] = (BOX,)) -> list[tuple]:
    ev = detect_zone_crossings(frame, list(zones))
    return ev.select("type", "zone", "start").rows()


# --------------------------------------------------------------------------- crossings


def test_entry_and_exit_at_the_first_position_on_the_new_side():
    frame = track(ECU, [(0, -0.5, -81.5), (10, -0.5, -80.5), (20, -0.5, -80.4), (30, -0.5, -79.5)])
    ev = detect_zone_crossings(frame, [BOX])
    assert ev.columns == list(schema.EVENTS)
    assert ev.select("type", "zone", "start", "end").rows() == [
        ("zone_entry", "Box", t(10), t(10)),
        ("zone_exit", "Box", t(30), t(30)),
    ]
    entry = ev.row(0, named=True)
    assert (entry["lat"], entry["lon"], entry["score"]) == (-0.5, -80.5, 1.0)
    assert json.loads(entry["details"]) == {"zone_kind": "user", "minutes_since_previous": 10.0}
    assert entry["event_id"] == "zone_entry:735000001:Box:20260115T001000Z"


def test_a_track_that_starts_inside_has_no_entry_and_one_that_ends_inside_no_exit():
    starts_inside = track(ECU, [(0, -0.5, -80.5), (10, -0.5, -79.5)])
    assert crossings(starts_inside) == [("zone_exit", "Box", t(10))]
    ends_inside = track(ECU, [(0, -0.5, -79.5), (10, -0.5, -80.5), (20, -0.5, -80.6)])
    assert crossings(ends_inside) == [("zone_entry", "Box", t(10))]
    always_inside = track(ECU, [(0, -0.5, -80.5), (600, -0.5, -80.6)])
    assert crossings(always_inside) == []


def test_gap_outside_then_reappearing_inside_is_an_entry():
    frame = track(ECU, [(0, -0.5, -79.5), (10, -0.5, -79.6), (370, -0.5, -80.5)])
    ev = detect_zone_crossings(frame, [BOX])
    assert ev.select("type", "start").rows() == [("zone_entry", t(370))]
    assert json.loads(ev["details"][0])["minutes_since_previous"] == 360.0


def test_a_new_segment_that_starts_inside_has_no_entry():
    first = track(ECU, [(0, -0.5, -79.5), (10, -0.5, -79.6)], segment_id=1)
    second = track(ECU, [(3000, -0.5, -80.5), (3010, -0.5, -79.5)], segment_id=2)
    assert crossings(pl.concat([first, second])) == [("zone_exit", "Box", t(3010))]
    # without segment ids the same positions are one track: reappearing inside is an entry
    both = pl.concat([first, second]).drop("segment_id")
    assert crossings(both) == [("zone_entry", "Box", t(3000)), ("zone_exit", "Box", t(3010))]


def test_segments_of_one_mmsi_are_separate_tracks():
    """Two tracks sharing an MMSI (spoofing) interleave in time: crossings per track."""
    inside = track(ECU, [(0, -0.5, -80.5), (20, -0.5, -80.6), (40, -0.5, -80.7)], segment_id=1)
    outside = track(ECU, [(10, -0.5, -70.0), (30, -0.5, -70.1)], segment_id=2)
    assert crossings(pl.concat([inside, outside])) == []
    # as one track, the alternation would be four crossings
    assert len(crossings(pl.concat([inside, outside]).drop("segment_id"))) == 4


def test_a_point_exactly_on_the_boundary_is_outside():
    on_edge = (-0.5, -80.0)  # the box's east edge
    assert not zone_index([BOX]).contains([on_edge[0]], [on_edge[1]], 0)[0]
    frame = track(ECU, [(0, -0.5, -79.5), (10, *on_edge), (20, -0.5, -80.5), (30, *on_edge)])
    assert crossings(frame) == [("zone_entry", "Box", t(20)), ("zone_exit", "Box", t(30))]


def test_a_vessel_skirting_the_edge():
    # sailing along the north edge 10 m outside it, and exactly on it: never inside
    outside = track(ECU, [(k, 0.0001, -81.2 + 0.1 * k) for k in range(15)])
    on_line = track(ECU2, [(k, 0.0, -81.2 + 0.1 * k) for k in range(15)])
    assert crossings(pl.concat([outside, on_line])) == []
    # dipping 10 m inside once and back out: one entry, one exit
    lats = [0.0001] * 5 + [-0.0001] + [0.0001] * 5
    dip = track(ECU, [(k, lat, -80.8 + 0.05 * k) for k, lat in enumerate(lats)])
    assert crossings(dip) == [("zone_entry", "Box", t(5)), ("zone_exit", "Box", t(6))]


def test_nested_zones_cross_separately_and_kinds_filter():
    inner = Zone("Inner", "mpa", shapely.box(-80.6, -0.6, -80.4, -0.4))
    frame = track(ECU, [(0, -0.5, -79.5), (10, -0.5, -80.2), (20, -0.5, -80.5), (30, -0.5, -81.5)])
    assert crossings(frame, [BOX, inner]) == [
        ("zone_entry", "Box", t(10)),
        ("zone_entry", "Inner", t(20)),
        ("zone_exit", "Box", t(30)),
        ("zone_exit", "Inner", t(30)),
    ]
    ev = detect_zone_crossings(frame, [BOX, inner], kinds=["mpa"])
    assert ev["zone"].to_list() == ["Inner", "Inner"]


def test_many_vessels_in_any_order_and_rows_without_a_place():
    a = track(ECU, [(0, -0.5, -79.5), (10, -0.5, -80.5)])
    b = track(PER, [(5, -0.5, -80.5), (15, -0.5, -81.5)])
    c = track(CHN, [(0, -0.5, -79.5), (10, None, None), (20, -0.5, -80.5)])  # type: ignore[list-item]
    frame = pl.concat([a, b, c]).sample(fraction=1.0, shuffle=True, seed=3)
    ev = detect_zone_crossings(frame, [BOX])
    assert ev.select("type", "mmsi", "start").rows() == [
        ("zone_entry", ECU, t(10)),
        ("zone_exit", PER, t(15)),
        ("zone_entry", CHN, t(20)),
    ]


def test_default_zones_from_the_high_seas_to_the_reserve():
    assert kinds_at(*HIGH_SEAS) == []
    assert kinds_at(*EEZ_ONLY) == ["eez"]
    assert "mpa" in kinds_at(*RESERVE)
    lons = np.linspace(-100.0, -90.8, 93)
    frame = track(CHN, [(10 * k, -0.5, float(lo)) for k, lo in enumerate(lons)], sog=12.0)
    ev = detect_zone_crossings(frame)  # default zones
    entries = ev.filter(pl.col("type") == "zone_entry")["zone"].to_list()
    assert entries[0] == "Ecuador EEZ"
    assert "Galápagos Marine Reserve" in entries
    assert ev.filter(pl.col("type") == "zone_exit").height == 0


def test_empty_inputs():
    assert detect_zone_crossings(track(ECU, []), [BOX]).height == 0
    assert detect_zone_crossings(track(ECU, [(0, -0.5, -80.5)]), []).height == 0
    with pytest.raises(ValueError, match="unique"):
        detect_zone_crossings(track(ECU, [(0, -0.5, -80.5)]), [BOX, BOX])


# --------------------------------------------------------------------------- fishing in zone

FLEET = pl.DataFrame(
    {
        "mmsi": [CHN, ECU, ECU2, PER, 735000099],
        "ship_type": [30, 30, 30, 30, 70],  # 70: cargo
        "flag": ["CHN", "ECU", "ECU", "PER", "ECU"],
    }
)

TWO_HOURS = range(0, 121, 5)


def fishing(frame: pl.DataFrame, vessels: pl.DataFrame = FLEET, **kw) -> pl.DataFrame:
    return detect_fishing_in_zone(frame, vessels, **kw)


def test_foreign_squid_jigger_in_ecuador_eez_vs_ecuadorian_in_its_own_eez():
    frame = pl.concat([drift(CHN, EEZ_ONLY, TWO_HOURS), drift(ECU, EEZ_ONLY, TWO_HOURS)])
    ev = fishing(frame)
    assert ev.columns == list(schema.EVENTS)
    assert ev.select("type", "mmsi", "zone", "start", "end").rows() == [
        ("fishing_in_zone", CHN, "Ecuador EEZ", t(0), t(120))
    ]
    details = json.loads(ev["details"][0])
    assert details["zone_kind"] == "eez" and details["flag"] == "CHN"
    assert details["zone_state"] == "ECU" and details["hours"] == 2.0
    assert details["median_speed_kn"] == 3.0 and details["fishing_positions"] == 25
    assert ev["score"][0] == 1.0


def test_any_fishing_vessel_in_the_reserve_is_one_event_per_episode():
    frame = pl.concat([drift(m, RESERVE, TWO_HOURS) for m in (CHN, ECU, 735000099)])
    ev = fishing(frame)
    assert ev.select("mmsi", "zone").rows() == [
        (CHN, "Galápagos Marine Reserve"),
        (ECU, "Galápagos Marine Reserve"),
    ]  # 735000099 is a cargo ship: not a fishing vessel
    foreign = json.loads(ev["details"][0])
    assert foreign["zone_kind"] == "mpa"
    assert "Ecuador EEZ" in foreign["zones"] and foreign["zones"][0] == "Galápagos Marine Reserve"
    assert json.loads(ev["details"][1])["zones"] == ["Galápagos Marine Reserve"]


@pytest.mark.parametrize(
    ("speed", "found"), [(0.4, False), (0.5, True), (3.0, True), (5.0, True), (5.1, False)]
)
def test_fishing_speed_bounds_are_included(speed, found):
    assert fishing(drift(CHN, EEZ_ONLY, TWO_HOURS, sog=speed)).height == int(found)


@pytest.mark.parametrize(("minutes", "found"), [(59, False), (60, True), (61, True)])
def test_at_least_one_hour(minutes, found):
    ev = fishing(drift(CHN, EEZ_ONLY, range(minutes + 1)))
    assert ev.height == int(found)
    if found:
        assert ev["end"][0] - ev["start"][0] == timedelta(minutes=minutes)


def test_pauses_under_an_hour_do_not_split_an_episode():
    minutes = list(range(0, 181))
    stopped = [0.1 if 61 <= m <= 109 else 3.0 for m in minutes]  # fishing resumes at 110
    ev = fishing(drift(CHN, EEZ_ONLY, minutes, sog=stopped))
    assert ev.select("start", "end").rows() == [(t(0), t(180))]
    details = json.loads(ev["details"][0])
    assert details["positions"] == 181 and details["fishing_positions"] == 181 - 49
    assert ev["score"][0] == pytest.approx(132 / 181)
    # a stop from 61 to 130 min: 71 min between fishing positions, two episodes
    longer = [0.1 if 61 <= m <= 130 else 3.0 for m in range(0, 200)]
    ev = fishing(drift(CHN, EEZ_ONLY, range(0, 200), sog=longer))
    assert ev.select("start", "end").rows() == [(t(0), t(60)), (t(131), t(199))]


def test_leaving_the_zone_or_steaming_ends_an_episode_and_so_does_a_new_segment():
    lat, lon = EEZ_ONLY
    points = [(m, lat, lon) for m in range(0, 61, 5)]
    points += [(m, HIGH_SEAS[0], HIGH_SEAS[1]) for m in range(65, 76, 5)]  # out of the EEZ
    points += [(m, lat, lon) for m in range(80, 141, 5)]
    ev = fishing(track(CHN, points))
    assert ev.select("start", "end").rows() == [(t(0), t(60)), (t(80), t(140))]
    # one report at 9 kn: steaming, not a pause
    speeds = [3.0] * 13 + [9.0] + [3.0] * 13
    ev = fishing(drift(CHN, EEZ_ONLY, range(0, 135, 5), sog=speeds))
    assert ev.select("start", "end").rows() == [(t(0), t(60)), (t(70), t(130))]
    # the same report at 0.2 kn: a pause of 10 min
    speeds[13] = 0.2
    ev = fishing(drift(CHN, EEZ_ONLY, range(0, 135, 5), sog=speeds))
    assert ev.select("start", "end").rows() == [(t(0), t(130))]
    one = track(CHN, [(m, lat, lon) for m in range(0, 61, 5)], segment_id=1)
    two = track(CHN, [(m, lat, lon) for m in range(65, 126, 5)], segment_id=2)
    assert fishing(pl.concat([one, two])).select("start", "end").rows() == [
        (t(0), t(60)),
        (t(65), t(125)),
    ]


def test_flag_from_the_mmsi_when_the_identity_has_none():
    vessels = pl.DataFrame({"mmsi": [ECU, CHN], "ship_type": [30, 30], "flag": [None, None]})
    frame = pl.concat([drift(CHN, EEZ_ONLY, TWO_HOURS), drift(ECU, EEZ_ONLY, TWO_HOURS)])
    assert fishing(frame, vessels)["mmsi"].to_list() == [CHN]
    no_flag = pl.DataFrame({"mmsi": [ECU, CHN], "ship_type": [30, 30]})
    assert fishing(frame, no_flag)["mmsi"].to_list() == [CHN]


def test_identity_over_time_latest_ship_type_wins():
    vessels = pl.DataFrame(
        {
            "mmsi": [CHN, CHN],
            "ts": [T0, T0 + timedelta(hours=1)],
            "ship_type": [70, 30],
            "flag": ["CHN", None],
        }
    )
    assert fishing(drift(CHN, EEZ_ONLY, TWO_HOURS), vessels).height == 1
    assert fishing(drift(CHN, EEZ_ONLY, TWO_HOURS), None).height == 0


def test_unknown_speed_uses_the_implied_speed():
    lat, lon = EEZ_ONLY
    # 0.001 degree of longitude (111 m) per minute: 3.6 kn, a fishing speed
    frame = track(CHN, [(m, lat, lon + 0.001 * m) for m in range(0, 121)], sog=None)
    ev = fishing(frame)
    assert ev.height == 1
    assert json.loads(ev["details"][0])["median_speed_kn"] == pytest.approx(3.6, abs=0.05)
    still = track(CHN, [(m, lat, lon) for m in range(0, 121)], sog=None)
    assert fishing(still).height == 0


def test_user_zones_with_a_coastal_state_and_closed_areas(caplog):
    peru = Zone("Peru EEZ", "eez", shapely.box(-85.0, -10.0, -78.0, -4.0), {"ISO_SOV1": "per"})
    closure = Zone("Closure", "user", shapely.box(-84.0, -9.0, -83.0, -8.0), {"no_fishing": True})
    nobody = Zone("Somebody's EEZ", "eez", shapely.box(-90.0, -10.0, -85.5, -4.0))
    assert zone_state(peru) == "PER" and zone_state(nobody) is None
    frame = pl.concat(
        [
            drift(PER, (-6.0, -80.0), TWO_HOURS),  # Peruvian in Peru's EEZ: allowed
            drift(CHN, (-6.0, -80.0), TWO_HOURS),  # foreign: flagged
            drift(PER, (-8.5, -83.5), TWO_HOURS),  # closed to all, inside Peru's EEZ too
            drift(CHN, (-6.0, -88.0), TWO_HOURS),  # EEZ of unknown state: ignored
        ]
    ).with_columns(segment_id=pl.Series([1] * 25 + [2] * 25 + [3] * 25 + [4] * 25))
    with caplog.at_level(logging.WARNING):
        ev = fishing(frame, zones=[peru, closure, nobody])
    assert "no coastal state" in caplog.text
    assert ev.select("mmsi", "zone").rows() == [(CHN, "Peru EEZ"), (PER, "Closure")]
    rules = fishing_rules([peru, closure, nobody])
    assert rules.select("closed", "foreign").rows() == [
        (False, True),
        (True, False),
        (False, False),
    ]


def test_one_event_per_zone_on_request():
    frame = drift(CHN, RESERVE, TWO_HOURS)
    ev = fishing(frame, one_event_per_zone=True)
    zones = default_zones()
    _, z = zone_index(zones).locate([RESERVE[0]], [RESERVE[1]])
    assert sorted(ev["zone"].to_list()) == sorted(zones[k].name for k in z)
    assert ev.height >= 2  # the reserve and the EEZ at least
    assert fishing(frame).height == 1
    assert {json.loads(d)["zones"][0] for d in ev["details"]} == set(ev["zone"])
    assert ev["start"].to_list() == [t(0)] * ev.height


def test_zone_index_can_be_shared():
    zones = default_zones()
    index = zone_index(zones)
    frame = drift(CHN, RESERVE, TWO_HOURS)
    assert fishing(frame, zones=index).equals(fishing(frame, zones=zones))
