"""seawatch.detect.spoofing: shared identities, faked positions, and what is not spoofing."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from seawatch import schema
from seawatch.detect.events import details_of
from seawatch.detect.spoofing import detect_spoofing
from seawatch.tracks import segment
from tests.tracks.track_builders import OPEN_OCEAN, T0, every, hours, positions, step, track

MMSI = 735000001


def _spoofing(pos: pl.DataFrame, **kw: float) -> pl.DataFrame:
    return detect_spoofing(segment(pos), **kw)  # type: ignore[arg-type]


def _shared(separation_km: float = 300.0) -> pl.DataFrame:
    """Two vessels with one MMSI, each reporting every 10 min for 6 h, ``separation_km``
    apart (the second starts 5 min after the first)."""
    a = track(MMSI, OPEN_OCEAN, every(10, 36), bearing=90.0)
    far = step(*OPEN_OCEAN, 180.0, separation_km)
    b = track(MMSI, far, every(10, 36, start=T0 + timedelta(minutes=5)), bearing=45.0)
    return pl.concat([a, b])


def _jump(km: float, *, index: int = 5, reports: int = 2) -> pl.DataFrame:
    """A 10 kn track every 10 min with ``reports`` positions from ``index`` on moved ``km``
    north (all to the first one's faked place: a second transmitter standing still)."""
    pos = track(MMSI, OPEN_OCEAN, every(10, 12))
    faked = step(pos["lat"][index], pos["lon"][index], 0.0, km)
    row = pl.int_range(pl.len()).is_between(index, index + reports - 1)
    return pos.with_columns(
        pl.when(row).then(faked[0]).otherwise("lat").alias("lat"),
        pl.when(row).then(faked[1]).otherwise("lon").alias("lon"),
    )


def test_two_vessels_sharing_an_mmsi_300_km_apart() -> None:
    seg = segment(_shared())
    assert seg["segment_id"].n_unique() == 2
    ev = detect_spoofing(seg)
    assert ev.height == 1
    row = ev.row(0, named=True)
    assert row["type"] == "spoofing" and row["mmsi"] == MMSI and row["other_mmsi"] is None
    assert row["start"] == T0 and row["end"] == T0 + timedelta(minutes=355)
    d = details_of(row)
    assert d["kind"] == "shared_identity" and d["n_tracks"] == 2
    assert d["n_switches"] == 71  # every report alternates
    assert d["max_separation_km"] > 300
    assert d["max_implied_speed_kn"] > 1000
    assert row["score"] == pytest.approx(1.0)
    assert ev.columns == list(schema.EVENTS)


def test_a_jump_of_two_reports_and_back() -> None:
    seg = segment(_jump(150.0))
    assert sorted(seg.group_by("segment_id").len()["len"].to_list()) == [2, 10]  # intact
    ev = detect_spoofing(seg)
    assert ev.height == 1
    row = ev.row(0, named=True)
    assert row["start"] == T0 + timedelta(minutes=40)
    assert row["end"] == T0 + timedelta(minutes=70)
    d = details_of(row)
    assert d == {
        "kind": "position_jump",
        "n_tracks": 2,
        "n_switches": 2,
        "max_implied_speed_kn": pytest.approx(150 / 1.852 * 6, rel=0.01),
        "max_separation_km": pytest.approx(150.0, rel=0.01),
        "tracks": [
            {
                "segment_id": MMSI * 100_000,
                "positions": 2,
                "start": "2026-01-15T00:40:00Z",
                "end": "2026-01-15T01:10:00Z",
                "lat": pytest.approx(seg["lat"][4], abs=1e-5),
                "lon": pytest.approx(seg["lon"][4], abs=1e-5),
            },
            {
                "segment_id": MMSI * 100_000 + 1,
                "positions": 2,
                "start": "2026-01-15T00:50:00Z",
                "end": "2026-01-15T01:00:00Z",
                "lat": pytest.approx(seg["lat"][5], abs=1e-5),
                "lon": pytest.approx(seg["lon"][5], abs=1e-5),
            },
        ],
    }
    assert row["score"] == 0.75


def test_a_single_garbled_report_is_not_spoofing() -> None:
    # issue 12: the AISHub sample's 15 spoofing alerts were each one report garbled in the
    # air (205370590: longitude 4.357 -> 0.007 -> 4.357); a second transmitter repeats itself
    one = _jump(150.0, reports=1)
    assert sorted(segment(one).group_by("segment_id").len()["len"].to_list()) == [1, 11]
    assert _spoofing(one).height == 0
    assert _spoofing(one, min_track_positions=1, min_track_duration=0).height == 0  # lone_km
    assert _spoofing(one, min_track_positions=1, min_track_duration=0, lone_km=0).height == 1
    # two reports within seconds are one transmission heard twice, not a track
    pos = _jump(150.0, reports=1)
    echo = pos.slice(5, 1).with_columns(pl.col("ts") + timedelta(seconds=5))
    assert _spoofing(pl.concat([pos, echo])).height == 0
    assert _spoofing(pl.concat([pos, echo]), min_track_duration="5s").height == 1
    # flagged outliers are ignored even where they would make a track
    flagged = segment(_jump(150.0)).with_columns(
        (pl.col("segment_id") == MMSI * 100_000 + 1).alias("outlier")
    )
    assert detect_spoofing(flagged).height == 0
    assert detect_spoofing(flagged.drop("outlier")).height == 1


def test_small_jumps_are_noise_not_spoofing() -> None:
    assert _spoofing(_jump(8.0)).height == 0  # below jump_km = 10 km
    assert _spoofing(_jump(8.0), jump_km=5.0).height == 1


def test_one_impossible_switch_is_not_enough() -> None:
    # a stale report (GFW fixture 209515000 has one): 20 kn every 30 min; 20 min after a
    # report comes one 9 km behind it (reachable), then the next good report is 27 km on
    # 10 min later. Only that one switch is impossible: a wrong report, not a faked track.
    pos = track(MMSI, OPEN_OCEAN, every(30, 12), speed_kn=20.0)
    behind = step(pos["lat"][6], pos["lon"][6], 270.0, 9.0)
    stale = positions([MMSI], [pos["ts"][6] + timedelta(minutes=20)], [behind[0]], [behind[1]])
    both = pl.concat([pos, stale])
    assert sorted(segment(both).group_by("segment_id").len()["len"].to_list()) == [1, 12]
    assert _spoofing(both).height == 0
    single = {"min_track_positions": 1, "min_track_duration": 0, "lone_km": 0}
    assert _spoofing(both, **single).height == 0
    assert _spoofing(both, min_switches=1, **single).height == 1


def test_one_vessel_is_not_spoofing() -> None:
    pos = track(MMSI, OPEN_OCEAN, every(10, 100), speed_kn=20.0)
    assert _spoofing(pos).height == 0
    # nor is a vessel reappearing far away after a long silence (a clean hand-over)
    later = track(MMSI, step(*OPEN_OCEAN, 0.0, 900.0), every(10, 10, start=T0 + timedelta(1)))
    assert _spoofing(pl.concat([pos, later])).height == 0


def test_episodes_merge_when_close_and_split_when_apart() -> None:
    a = track(MMSI, OPEN_OCEAN, every(10, 6 * 24 * 4), speed_kn=0.5)  # 4 days
    far = step(*OPEN_OCEAN, 180.0, 300.0)
    b1 = track(MMSI, far, every(10, 12, start=T0 + timedelta(hours=2, minutes=5)))
    b2 = track(MMSI, step(*far, 0.0, 60.0), every(10, 12, start=T0 + timedelta(hours=40.1)))
    b3 = track(MMSI, step(*far, 0.0, 120.0), every(10, 12, start=T0 + timedelta(hours=90.1)))
    ev = _spoofing(pl.concat([a, b1, b2, b3]))
    assert ev.height == 2  # b1 and b2 are 36 h apart: one episode; b3 is 48 h after b2
    assert [s.hour for s in ev["start"]] == [2, 18]  # b3 starts at 90 h: 18:00 on day 4
    assert _spoofing(pl.concat([a, b1, b2, b3]), merge_h=24.0).height == 3


def test_two_ships_sharing_an_mmsi_for_days_are_one_event_and_two_tracks() -> None:
    # issue 12 item 4 (GFW fixture 412440453): a class A vessel heard every 30 min for 4 days
    # and a class B vessel 1,000 km away heard in bursts twice a day, once after 24 h of
    # silence: one identity event with both tracks as evidence, never one per switch
    a = track(MMSI, OPEN_OCEAN, every(30, 2 * 24 * 4), speed_kn=8.0).with_columns(
        pl.lit(1, pl.Int8).alias("msg_type")
    )
    far = step(*OPEN_OCEAN, 200.0, 1000.0)
    bursts = [h + 1 / 6 for h in (3, 15, 39, 51, 63, 75, 87)]  # 24 h unheard from 15 to 39
    b = pl.concat(
        [
            track(MMSI, step(*far, 90.0, 10.0 * k), every(3, 4, start=T0 + timedelta(hours=h)))
            for k, h in enumerate(bursts)
        ]
    ).with_columns(pl.lit(18, pl.Int8).alias("msg_type"))
    seg = segment(pl.concat([a, b]))
    # each ship is one track of its own: segments never jump between them
    tracks = seg.group_by("segment_id").agg(pl.col("msg_type").unique(), pl.len())
    assert sorted(tracks["len"].to_list()) == [28, 192]
    assert all(len(t) == 1 for t in tracks["msg_type"].to_list())
    ev = detect_spoofing(seg)
    assert ev.height == 1
    row = ev.row(0, named=True)
    d = details_of(row)
    assert d["kind"] == "shared_identity" and d["n_tracks"] == 2
    assert d["n_switches"] == 2 * len(bursts)
    # the evidence: class A from 03:00 to 87:30 (170 reports), all 28 of class B
    assert [t["positions"] for t in d["tracks"]] == [170, 28]
    assert (row["start"], row["end"]) == (T0 + timedelta(hours=3), T0 + timedelta(hours=87.5))


def test_antimeridian_track_is_not_a_jump() -> None:
    lons = [179.7, 179.8, 179.9, -179.95, -179.85, -179.75]
    pos = positions([MMSI] * 6, hours(0, 1, 2, 3, 4, 5), [0.0] * 6, lons)
    assert _spoofing(pos).height == 0


def test_requires_segment_id_and_handles_empty() -> None:
    with pytest.raises(schema.SchemaError, match="segment_id"):
        detect_spoofing(track(MMSI, OPEN_OCEAN, every(10, 3)))
    assert detect_spoofing(segment(schema.empty(schema.POSITIONS))).height == 0


def test_a_track_retracing_another_late_is_a_delayed_copy_not_a_second_transmitter() -> None:
    # a station whose clock is an hour off (issue 12: 0.5 % of lines an hour late gave 169
    # spoofing alerts): its reports form a ghost track an hour behind the vessel
    pos = track(MMSI, OPEN_OCEAN, every(1, 6 * 60), speed_kn=12.0)  # 6 h, every minute
    late = pos.filter(pl.int_range(pl.len()).is_in([30, 31, 32, 150, 151, 240])).with_columns(
        pl.col("ts") + timedelta(hours=1)
    )
    on_time = pos.filter(~pl.int_range(pl.len()).is_in([30, 31, 32, 150, 151, 240]))
    both = pl.concat([on_time, late])
    seg = segment(both)
    assert seg["segment_id"].n_unique() == 2  # the ghost is self-consistent: a track
    assert detect_spoofing(seg).height == 0
    assert detect_spoofing(seg, replica_km=0).height == 1
    # a second ship 300 km away never retraces the first
    assert _spoofing(_shared()).height == 1


def _lone_visits(far: list[tuple[float, float]]) -> pl.DataFrame:
    """A 10 kn track every 10 min for 12 h (segment 1) with the reports at 2 h, 4 h, ...
    replaced by ``far`` positions, all of segment 2 (segmented by hand: a segmenter joins
    reports hours apart when they are within reach)."""
    pos = track(MMSI, OPEN_OCEAN, every(10, 72))
    rows = [12 * (k + 1) for k in range(len(far))]
    lat = pos["lat"].to_list()
    lon = pos["lon"].to_list()
    seg = [1] * pos.height
    for r, (a, b) in zip(rows, far, strict=True):
        lat[r], lon[r], seg[r] = a, b, 2
    return pos.with_columns(pl.Series("lat", lat), pl.Series("lon", lon),
                            pl.Series("segment_id", seg, dtype=pl.Int64))


def test_lone_reports_nothing_of_their_track_corroborates_are_not_spoofing() -> None:
    # issue 12: two garbled reports of one vessel, 4 h and 300 km apart, joined by the
    # segmenter into one 'track' (simulated 636711069), each alone between the track's reports
    lat0, lon0 = OPEN_OCEAN
    garbled = _lone_visits([(lat0 + 1.5, lon0), (lat0 - 1.2, lon0 + 1.0)])
    assert detect_spoofing(garbled).height == 0
    assert detect_spoofing(garbled, lone_km=0).height == 1  # the rule off: an alert
    # a second transmitter heard once at a time, always at one place (AISHub 111111111,
    # GFW 636018024): its reports corroborate one another
    moored = _lone_visits([(lat0 + 1.5, lon0), (lat0 + 1.5, lon0 + 0.001),
                           (lat0 + 1.5005, lon0)])
    ev = detect_spoofing(moored)
    assert ev.height == 1
    assert details_of(ev.row(0, named=True))["n_switches"] == 6


def test_a_lone_report_is_corroborated_by_its_neighbours_in_its_track_not_by_any() -> None:
    # simulated seed 17 (issue 12): a garbled report 55 km north of a track; hours later the
    # segmenter continued the vessel's own track in the garbled report's segment, and the
    # vessel passed near the garbled position at last. The report next to the garbled one
    # in its segment is 53 km away: nothing heard it again there.
    t0 = T0
    rows = [(t0 + timedelta(minutes=10 * k), 1, 0.001 * k) for k in range(20)]
    rows[5] = (rows[5][0], 2, 0.5)
    rows += [(t0 + timedelta(minutes=10 * k), 2, 0.02 + (k - 20) * 0.48 / 36)
             for k in range(20, 57)]
    pos = pl.DataFrame({"mmsi": [MMSI] * len(rows), "ts": [r[0] for r in rows],
                        "segment_id": [r[1] for r in rows], "lat": [r[2] for r in rows],
                        "lon": [OPEN_OCEAN[1]] * len(rows)})
    assert detect_spoofing(pos).height == 0
    assert detect_spoofing(pos, lone_km=0).height == 1
