"""fishing_in_zone on hand-made tracks (docs/detectors.md)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import polars as pl
import pytest
import shapely

from seawatch import schema
from seawatch.detect.fishing_in_zone import detect_fishing_in_zone, fishing_rules, zone_state
from seawatch.geo import Zone, default_zones, zone_index
from tests.detect.zone_tracks import (
    CHN,
    ECU,
    ECU2,
    EEZ_ONLY,
    HIGH_SEAS,
    PER,
    RESERVE,
    T0,
    drift,
    t,
    track,
)

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
