"""Loitering: hand-made edges of the definition (speed, duration, shore, port, type, encounter)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from seawatch import schema
from seawatch.detect.encounter import detect_encounters
from seawatch.detect.events import details_of
from seawatch.detect.loitering import detect_loitering, drop_encounter_overlaps

T0 = datetime(2026, 1, 15, tzinfo=UTC)
LAT, LON = -2.0, -86.0  # open sea: 210 nm from shore, far from any port
CARRIER, FISHER, OTHER = 636000001, 735000002, 412000003
NONE = pl.DataFrame()  # "no encounters": skips the encounter check


def track(mmsi, start_min, end_min, lat=LAT, lon=LON, every=5, sog=1.0, **extra):
    minutes = np.arange(start_min, end_min + 1e-9, every)
    n = len(minutes)
    return pl.DataFrame(
        {
            "mmsi": [mmsi] * n,
            "ts": [T0 + timedelta(minutes=float(m)) for m in minutes],
            "lat": np.broadcast_to(np.asarray(lat, dtype=float), (n,)).copy(),
            "lon": np.broadcast_to(np.asarray(lon, dtype=float), (n,)).copy(),
            "sog": np.broadcast_to(np.asarray(sog, dtype=float), (n,)).copy(),
            **extra,
        }
    )


def spans(ev):
    return ev.select(pl.col("start", "end").dt.strftime("%d %H:%M")).rows()


@pytest.mark.parametrize(("sog", "n"), [(1.9, 1), (2.0, 0), (2.1, 0)])
def test_mean_speed_1_9_kn_is_loitering_2_1_is_not(sog, n):
    ev = detect_loitering(track(CARRIER, 0, 180, sog=sog), encounters=NONE)
    assert ev.height == n
    if n:
        assert details_of(ev.row(0, named=True))["mean_speed_kn"] == pytest.approx(sog)


def test_event_columns_and_details():
    ev = detect_loitering(track(CARRIER, 0, 240, sog=[0.5, 1.5] * 24 + [1.0]), encounters=NONE)
    assert ev.columns == list(schema.EVENTS)
    row = ev.row(0, named=True)
    assert (row["type"], row["mmsi"], row["other_mmsi"]) == ("loitering", CARRIER, None)
    assert row["event_id"] == f"loitering:{CARRIER}:20260115T000000Z"
    assert (row["lat"], row["lon"]) == pytest.approx((LAT, LON))
    assert row["score"] == 1.0
    d = details_of(row)
    assert d["mean_speed_kn"] == pytest.approx(1.0)
    assert d["duration_h"] == 4.0
    assert d["distance_from_shore_nm"] > 200
    assert d["distance_from_port_km"] > 300
    assert d["positions"] == 49


def test_exactly_2_h_is_loitering_1_h_55_is_not():
    assert spans(detect_loitering(track(CARRIER, 0, 120), encounters=NONE)) == [
        ("15 00:00", "15 02:00")
    ]
    assert detect_loitering(track(CARRIER, 0, 115), encounters=NONE).height == 0


def test_a_fishing_vessel_is_never_loitering():
    p = pl.concat([track(CARRIER, 0, 240), track(FISHER, 0, 240, lat=LAT + 1)])
    vessels = pl.DataFrame({"mmsi": [CARRIER, FISHER], "ship_type": [70, 30]})
    ev = detect_loitering(p, vessels, encounters=NONE)
    assert ev["mmsi"].to_list() == [CARRIER]
    # without identities nothing is known to be fishing
    assert detect_loitering(p, encounters=NONE).height == 2


def test_the_latest_ship_type_counts():
    p = track(FISHER, 0, 240)
    vessels = pl.DataFrame(
        {
            "mmsi": [FISHER, FISHER, FISHER],
            "ts": [T0 - timedelta(days=2), T0 - timedelta(days=1), T0],
            "ship_type": [70, 30, None],  # a null type does not hide the latest known one
        }
    )
    assert detect_loitering(p, vessels, encounters=NONE).height == 0
    assert detect_loitering(p, vessels.reverse(), encounters=NONE).height == 0
    relabelled = vessels.with_columns(pl.Series("ship_type", [30, 30, 79]))
    assert detect_loitering(p, relabelled, encounters=NONE).height == 1


def test_an_encounter_participant_is_not_loitering():
    p = pl.concat(
        [
            track(CARRIER, 0, 240),
            track(OTHER, 0, 240, lat=LAT + 0.001),  # 110 m away all the time
            track(FISHER, 0, 240, lat=LAT + 1.0),  # alone, one degree north
        ]
    )
    # encounters computed by default
    assert detect_loitering(p).select("mmsi").to_series().to_list() == [FISHER]
    # or given
    enc = detect_encounters(p)
    assert enc.height == 1
    assert detect_loitering(p, encounters=enc)["mmsi"].to_list() == [FISHER]
    assert detect_loitering(p, encounters=NONE).height == 3


def test_an_encounter_elsewhere_in_time_does_not_matter():
    p = track(CARRIER, 0, 240)
    enc = pl.DataFrame(
        {
            "mmsi": [CARRIER],
            "other_mmsi": [OTHER],
            "start": [T0 + timedelta(hours=5)],
            "end": [T0 + timedelta(hours=8)],
        }
    )
    assert detect_loitering(p, encounters=enc).height == 1
    overlapping = enc.with_columns(pl.lit(T0 + timedelta(hours=4)).alias("start"))
    assert detect_loitering(p, encounters=overlapping).height == 0


def test_near_shore_is_not_loitering():
    # 23.4 nm and 17.5 nm from the Ecuadorian coast west of Manta
    far = detect_loitering(track(CARRIER, 0, 240, lat=-1.0, lon=-81.3), encounters=NONE)
    assert far.height == 1
    assert details_of(far.row(0, named=True))["distance_from_shore_nm"] == pytest.approx(23.4, 0.01)
    near = detect_loitering(track(CARRIER, 0, 240, lat=-1.0, lon=-81.2), encounters=NONE)
    assert near.height == 0


def test_every_position_must_be_far_from_shore():
    # drifting from 23 nm to 17.5 nm from shore: the episode touches the 20 nm band
    p = track(CARRIER, 0, 240, lon=np.linspace(-81.3, -81.2, 49), lat=-1.0, sog=1.0)
    assert detect_loitering(p, encounters=NONE).height == 0


def test_near_a_port_is_not_loitering():
    ports = pl.DataFrame({"name": ["P"], "lat": [LAT], "lon": [LON - 0.08]})  # 8.9 km
    assert detect_loitering(track(CARRIER, 0, 240), ports=ports, encounters=NONE).height == 0
    ports = pl.DataFrame({"name": ["P"], "lat": [LAT], "lon": [LON - 0.1]})  # 11.1 km
    assert detect_loitering(track(CARRIER, 0, 240), ports=ports, encounters=NONE).height == 1


def test_straddling_midnight_is_one_episode():
    ev = detect_loitering(track(CARRIER, 22 * 60, 27 * 60), encounters=NONE)
    assert spans(ev) == [("15 22:00", "16 03:00")]


def test_one_vessel_in_two_frames_concatenated():
    p = track(CARRIER, 22 * 60, 27 * 60, source="x")
    midnight = datetime(2026, 1, 16, tzinfo=UTC)
    parts = [p.filter(pl.col("ts") >= midnight), p.filter(pl.col("ts") < midnight)]
    assert spans(detect_loitering(pl.concat(parts), encounters=NONE)) == [("15 22:00", "16 03:00")]


def test_a_gap_of_1_h_ends_a_slow_run():
    # without merging (merge_gap = 0) each slow run is an episode of its own
    p = pl.concat([track(CARRIER, 0, 150), track(CARRIER, 210, 360)])  # 60 min silent
    assert spans(detect_loitering(p, encounters=NONE, merge_gap=0)) == [
        ("15 00:00", "15 02:30"),
        ("15 03:30", "15 06:00"),
    ]
    p = pl.concat([track(CARRIER, 0, 150), track(CARRIER, 205, 360)])  # 55 min silent
    ev = detect_loitering(p, encounters=NONE, merge_gap=0)
    assert spans(ev) == [("15 00:00", "15 06:00")]
    assert details_of(ev.row(0, named=True))["slow_runs"] == 1


def test_a_fast_position_ends_a_slow_run():
    sog = np.full(73, 1.0)
    sog[30] = 8.0  # at 02:30
    ev = detect_loitering(track(CARRIER, 0, 360, sog=sog), encounters=NONE, merge_gap=0)
    assert spans(ev) == [("15 00:00", "15 02:25"), ("15 02:35", "15 06:00")]


def test_a_short_silence_or_a_short_move_does_not_split_the_episode():
    # issue 12: one behaviour, one alert. 1 h and 5 h unheard in the same place, a 10 min
    # move at 8 kn (a drifting carrier repositioning): one episode each
    silent = pl.concat([track(CARRIER, 0, 150), track(CARRIER, 210, 360)])
    ev = detect_loitering(silent, encounters=NONE)
    assert spans(ev) == [("15 00:00", "15 06:00")]
    d = details_of(ev.row(0, named=True))
    assert (d["slow_runs"], d["positions"], d["duration_h"]) == (2, 62, 6.0)
    long_silence = pl.concat([track(CARRIER, 0, 150), track(CARRIER, 450, 600)])
    assert spans(detect_loitering(long_silence, encounters=NONE)) == [("15 00:00", "15 10:00")]
    # 15 min at 3 kn that leave it 0.4 km from where it stopped (GFW fixture 372768000:
    # 13 to 29 min, then within 0.7 km)
    sog = np.full(73, 1.0)
    sog[29:32] = 3.0
    lat = LAT + np.where(np.arange(73) >= 29, 0.0036, 0.0)  # 0.4 km north from 02:25
    moved = detect_loitering(track(CARRIER, 0, 360, lat=lat, sog=sog), encounters=NONE)
    assert spans(moved) == [("15 00:00", "15 06:00")]
    assert details_of(moved.row(0, named=True))["slow_runs"] == 2
    # ... but 15 min at 10 kn to a place 4.6 km on is a move to another stop
    sog[29:32] = 10.0
    lat = LAT + np.where(np.arange(73) >= 29, 0.0417, 0.0)
    apart = detect_loitering(track(CARRIER, 0, 360, lat=lat, sog=sog), encounters=NONE)
    assert spans(apart) == [("15 00:00", "15 02:20"), ("15 02:40", "15 06:00")]


def test_stops_again_where_it_was_within_a_day_is_one_episode_with_its_stops():
    # issue 12: GFW fixture 710030580, a supply vessel by a platform, stopped again 1.5 km
    # from where it had stopped 7.6 h before: one episode, each stop kept in details
    lat = np.r_[np.full(31, LAT), np.full(31, LAT + 0.0135)]  # 1.5 km north
    again = pl.concat([track(CARRIER, 0, 150), track(CARRIER, 600, 750)]).with_columns(
        lat=pl.Series(lat))
    ev = detect_loitering(again, encounters=NONE)
    assert spans(ev) == [("15 00:00", "15 12:30")]
    d = details_of(ev.row(0, named=True))
    assert (d["slow_runs"], d["positions"]) == (2, 62)
    assert [(s["start"], s["end"], s["positions"]) for s in d["stops"]] == [
        ("2026-01-15T00:00:00Z", "2026-01-15T02:30:00Z", 31),
        ("2026-01-15T10:00:00Z", "2026-01-15T12:30:00Z", 31),
    ]
    assert [s["lat"] for s in d["stops"]] == pytest.approx([LAT, LAT + 0.0135])
    assert all(s["lon"] == pytest.approx(LON) for s in d["stops"])
    # merge_gap is the window: 7.5 h apart with merge_gap 6 h are two episodes
    two = detect_loitering(again, encounters=NONE, merge_gap="6h")
    assert [details_of(r)["stops"][0]["start"] for r in two.iter_rows(named=True)] == [
        "2026-01-15T00:00:00Z", "2026-01-15T10:00:00Z"]


def test_stops_apart_in_time_or_place_stay_separate_episodes():
    # 24 h or more between two stops, or a move no loitering vessel makes in the time
    # between them (here 110 km in 1 h; a carrier's 103 km in 8.4 h): separate episodes
    later = pl.concat([track(CARRIER, 0, 150), track(CARRIER, 1590, 1740)])  # 24 h apart
    assert len(spans(detect_loitering(later, encounters=NONE))) == 2
    assert len(spans(detect_loitering(later, encounters=NONE, merge_gap="25h"))) == 1
    steamed = pl.concat([track(CARRIER, 0, 150), track(CARRIER, 654, 804, lat=LAT + 0.927)])
    assert len(spans(detect_loitering(steamed, encounters=NONE))) == 2  # 103 km in 8.4 h
    elsewhere = pl.concat([track(CARRIER, 0, 150), track(CARRIER, 210, 360, lon=LON + 1)])
    elsewhere = elsewhere.with_columns(pl.lit(1).alias("segment_id"))  # one track
    assert len(spans(detect_loitering(elsewhere, encounters=NONE))) == 2
    # two tracks of one MMSI (two ships sharing it) are never merged
    near = pl.concat(
        [
            track(CARRIER, 0, 150, segment_id=[1] * 31),
            track(CARRIER, 210, 360, lat=LAT + 0.01, segment_id=[2] * 31),
        ]
    )
    assert len(spans(detect_loitering(near, encounters=NONE))) == 2


def test_implied_speed_without_sog():
    # 0.002 degree of latitude (221 m) per 5 min is 1.43 kn; 0.003 per 5 min is 2.15 kn
    slow = track(CARRIER, 0, 180, lat=LAT + 0.002 * np.arange(37)).drop("sog")
    fast = track(CARRIER, 0, 180, lat=LAT + 0.003 * np.arange(37)).drop("sog")
    ev = detect_loitering(slow, encounters=NONE)
    assert details_of(ev.row(0, named=True))["mean_speed_kn"] == pytest.approx(1.43, abs=0.01)
    assert detect_loitering(fast, encounters=NONE).height == 0


def test_segments_are_separate_tracks():
    a = track(CARRIER, 0, 180, segment_id=[1] * 37)
    b = track(CARRIER, 0, 180, lat=LAT + 2, segment_id=[2] * 37)
    ev = detect_loitering(pl.concat([a, b]), encounters=NONE)
    assert ev.height == 2


def test_no_positions_gives_no_events():
    ev = detect_loitering(schema.empty(schema.POSITIONS))
    assert ev.height == 0 and ev.columns == list(schema.EVENTS)


def test_encounter_check_after_the_fact_equals_the_check_inside():
    """Candidates found without encounters, then checked, are the events found with them."""
    p = pl.concat(
        [
            track(CARRIER, 0, 300),  # meets OTHER from 03:00
            track(OTHER, 180, 400, lat=LAT + 0.001),
            track(FISHER, 0, 200, lat=LAT + 1),  # alone
            track(FISHER + 1, 0, 150, lat=LAT + 1, lon=LON + 1),
            track(FISHER + 1, 250, 400, lat=LAT + 1, lon=LON + 2),  # two episodes
        ]
    )
    encounters = detect_encounters(p)
    assert encounters.height == 1
    with_check = detect_loitering(p, encounters=encounters)
    candidates = detect_loitering(p, encounters=NONE)
    assert candidates.height == 5 and with_check.height == 3
    assert drop_encounter_overlaps(candidates, encounters).equals(with_check)
    assert drop_encounter_overlaps(candidates, NONE).equals(candidates)
    assert drop_encounter_overlaps(candidates.head(0), encounters).height == 0
