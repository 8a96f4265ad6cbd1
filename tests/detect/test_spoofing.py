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


def _jump(km: float, *, index: int = 5) -> pl.DataFrame:
    """A 10 kn track every 10 min with position ``index`` moved ``km`` north."""
    pos = track(MMSI, OPEN_OCEAN, every(10, 12))
    faked = step(pos["lat"][index], pos["lon"][index], 0.0, km)
    row = pl.int_range(pl.len()) == index
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


def test_single_position_jump_and_back() -> None:
    seg = segment(_jump(150.0))
    assert sorted(seg.group_by("segment_id").len()["len"].to_list()) == [1, 11]  # intact
    ev = detect_spoofing(seg)
    assert ev.height == 1
    row = ev.row(0, named=True)
    assert row["start"] == T0 + timedelta(minutes=40)
    assert row["end"] == T0 + timedelta(minutes=60)
    d = details_of(row)
    assert d == {
        "kind": "position_jump",
        "n_tracks": 2,
        "n_switches": 2,
        "max_implied_speed_kn": pytest.approx(150 / 1.852 * 6, rel=0.01),
        "max_separation_km": pytest.approx(150.0, rel=0.01),
    }
    assert row["score"] == 0.75


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
    assert _spoofing(both, min_switches=1).height == 1


def test_one_vessel_is_not_spoofing() -> None:
    pos = track(MMSI, OPEN_OCEAN, every(10, 100), speed_kn=20.0)
    assert _spoofing(pos).height == 0
    # nor is a vessel reappearing far away after a long silence (a clean hand-over)
    later = track(MMSI, step(*OPEN_OCEAN, 0.0, 900.0), every(10, 10, start=T0 + timedelta(1)))
    assert _spoofing(pl.concat([pos, later])).height == 0


def test_episodes_merge_when_close_and_split_when_apart() -> None:
    a = track(MMSI, OPEN_OCEAN, every(10, 6 * 24), speed_kn=0.5)  # 24 h
    far = step(*OPEN_OCEAN, 180.0, 300.0)
    b1 = track(MMSI, far, every(10, 12, start=T0 + timedelta(hours=2, minutes=5)))
    b2 = track(MMSI, far, every(10, 12, start=T0 + timedelta(hours=7, minutes=5)))
    b3 = track(MMSI, far, every(10, 12, start=T0 + timedelta(hours=20, minutes=5)))
    ev = _spoofing(pl.concat([a, b1, b2, b3]))
    assert ev.height == 2  # b1 and b2 are 3 h apart: one episode; b3 is 11 h later
    assert [s.hour for s in ev["start"]] == [2, 20]
    assert _spoofing(pl.concat([a, b1, b2, b3]), merge_h=2.0).height == 3


def test_antimeridian_track_is_not_a_jump() -> None:
    lons = [179.7, 179.8, 179.9, -179.95, -179.85, -179.75]
    pos = positions([MMSI] * 6, hours(0, 1, 2, 3, 4, 5), [0.0] * 6, lons)
    assert _spoofing(pos).height == 0


def test_requires_segment_id_and_handles_empty() -> None:
    with pytest.raises(schema.SchemaError, match="segment_id"):
        detect_spoofing(track(MMSI, OPEN_OCEAN, every(10, 3)))
    assert detect_spoofing(segment(schema.empty(schema.POSITIONS))).height == 0
