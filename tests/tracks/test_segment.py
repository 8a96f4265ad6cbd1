"""seawatch.tracks.segment on hand-made tracks: thresholds, noise, shared MMSIs, chunks."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from seawatch import schema
from seawatch.geo.geodesy import distance_km
from seawatch.params import ConfigError
from seawatch.tracks import SEGMENT_ID_FACTOR, SegmentParams, segment
from tests.tracks.track_builders import (
    OPEN_OCEAN,
    T0,
    every,
    hours,
    positions,
    segments_of,
    speed_kn,
    step,
    track,
)

MMSI = 735000001


def _jump_track(jump_kn: float, *, with_sog: bool = True) -> pl.DataFrame:
    """10 kn eastwards every 10 min; then one hour later a position ``jump_kn`` away; then
    10 kn again from there."""
    before = track(MMSI, OPEN_OCEAN, every(10, 6), with_sog=with_sog)
    last = (before["lat"][-1], before["lon"][-1])
    jumped = step(*last, 90.0, jump_kn * 1.852)  # one hour at jump_kn
    t_jump = before["ts"][-1] + timedelta(hours=1)
    after = track(MMSI, jumped, every(10, 6, start=t_jump), with_sog=with_sog)
    assert speed_kn(last, jumped, 1.0) == pytest.approx(jump_kn, rel=1e-9)
    return pl.concat([before, after])


@pytest.mark.parametrize("jump_kn", [24.9, 24.99])
@pytest.mark.parametrize("with_sog", [True, False])
def test_not_split_at_or_below_max_speed(jump_kn: float, with_sog: bool) -> None:
    seg = segment(_jump_track(jump_kn, with_sog=with_sog))
    assert seg["segment_id"].n_unique() == 1


@pytest.mark.parametrize("jump_kn", [25.01, 25.1, 60.0])
@pytest.mark.parametrize("with_sog", [True, False])
def test_split_above_max_speed(jump_kn: float, with_sog: bool) -> None:
    seg = segment(_jump_track(jump_kn, with_sog=with_sog))
    assert segments_of(seg) == [list(range(6)), list(range(6, 12))]


def test_max_speed_is_a_parameter() -> None:
    assert segment(_jump_track(25.1), max_speed_kn=30.0)["segment_id"].n_unique() == 1


def test_parameters_are_a_model_checked_like_the_config() -> None:
    pos = _jump_track(25.1)
    by_model = segment(pos, params=SegmentParams(max_speed_kn=30.0))
    assert by_model.equals(segment(pos, max_speed_kn=30.0))
    with pytest.raises(ConfigError, match=r"^segment\(\): unknown parameter 'max_speed'; valid"):
        segment(pos, max_speed=30.0)
    with pytest.raises(ConfigError, match="max_gap_h must be a number, got '1d'"):
        segment(pos, max_gap_h="1d")
    with pytest.raises(ConfigError, match="max_speed_kn and max_gap_h must be positive"):
        segment(pos, max_gap_h=0)


def test_fast_but_within_noise_is_not_a_split() -> None:
    # 0.8 km in 10 s is 156 kn, but within noise_km = 1 km (GPS noise, time-stamp jitter)
    a = OPEN_OCEAN
    b = step(*a, 0.0, 0.8)
    c = step(*a, 0.0, 1.2)
    t = [T0, T0 + timedelta(seconds=10), T0 + timedelta(seconds=20)]
    seg = segment(positions([MMSI] * 3, t, [a[0], b[0], a[0]], [a[1], b[1], a[1]]))
    assert seg["segment_id"].n_unique() == 1
    seg = segment(positions([MMSI] * 2, t[:2], [a[0], c[0]], [a[1], c[1]]))
    assert seg["segment_id"].n_unique() == 2


def test_split_after_max_gap_strictly() -> None:
    pos = track(MMSI, OPEN_OCEAN, hours(0, 1, 25, 26, 50.0 + 1 / 3600), speed_kn=0.5)
    ids = segment(pos)["segment_id"].to_list()
    assert ids[:4] == [ids[0]] * 4  # exactly 24 h: same segment
    assert ids[4] != ids[3]  # 24 h + 1 s: a new one
    assert segment(pos, max_gap_h=12.0)["segment_id"].n_unique() == 3


def test_segment_id_is_mmsi_times_factor_plus_k_in_order_of_first_position() -> None:
    pos = pl.concat(
        [
            _jump_track(60.0),
            track(MMSI + 1, OPEN_OCEAN, every(10, 3)),
        ]
    )
    seg = segment(pos)
    assert seg.schema["segment_id"] == pl.Int64
    assert seg["segment_id"].unique().sort().to_list() == [
        MMSI * SEGMENT_ID_FACTOR,
        MMSI * SEGMENT_ID_FACTOR + 1,
        (MMSI + 1) * SEGMENT_ID_FACTOR,
    ]
    assert seg.columns == [*schema.POSITIONS, "segment_id"]


def test_two_vessels_sharing_an_mmsi_300_km_apart_are_two_segments() -> None:
    a = track(MMSI, OPEN_OCEAN, every(10, 36), bearing=90.0)
    far = step(*OPEN_OCEAN, 180.0, 300.0)
    b = track(MMSI, far, every(10, 36, start=T0 + timedelta(minutes=5)), bearing=45.0)
    seg = segment(pl.concat([a, b]))
    assert seg["segment_id"].n_unique() == 2
    per = seg.group_by("segment_id").agg(pl.col("lat").max() > OPEN_OCEAN[0] - 1.0)
    assert sorted(per["lat"].to_list()) == [False, True]  # one segment per vessel
    assert seg.group_by("segment_id").len()["len"].to_list() == [36, 36]


def test_single_position_jump_and_back_leaves_the_track_intact() -> None:
    pos = track(MMSI, OPEN_OCEAN, every(10, 12))
    faked = step(pos["lat"][5], pos["lon"][5], 0.0, 150.0)
    pos = pos.with_columns(
        pl.when(pl.int_range(pl.len()) == 5).then(faked[0]).otherwise("lat").alias("lat"),
        pl.when(pl.int_range(pl.len()) == 5).then(faked[1]).otherwise("lon").alias("lon"),
    )
    seg = segment(pos)
    assert segments_of(seg) == [[0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11], [5]]


def test_lone_noise_that_fits_nothing_is_its_own_tiny_segment() -> None:
    pos = track(MMSI, OPEN_OCEAN, every(10, 30))
    noise = positions([MMSI], [T0 + timedelta(minutes=95)], [-3.0], [-90.0])
    seg = segment(pl.concat([pos, noise]))
    sizes = sorted(seg.group_by("segment_id").len()["len"].to_list())
    assert sizes == [1, 30]


def test_stale_position_that_happens_to_be_reachable_does_not_end_the_track() -> None:
    # 15 kn every 15 min; one report repeats the position of 30 min earlier (reachable from
    # the position before it at 15 kn x 0.25 h, but the next report is then 15 km away
    # after 2 min): look-back detaches the stale report, the track goes on.
    pos = track(MMSI, OPEN_OCEAN, every(15, 12), speed_kn=15.0)
    times = pos["ts"].to_list()
    stale = positions([MMSI], [times[6] + timedelta(minutes=13)], [pos["lat"][4]], [pos["lon"][4]])
    seg = segment(pl.concat([pos, stale]))
    groups = segments_of(seg)
    assert [len(g) for g in groups] == [12, 1]
    assert seg["ts"][groups[1][0]] == times[6] + timedelta(minutes=13)


def test_jittered_position_does_not_cut_a_good_track() -> None:
    # a report 1.5 km ahead of where the vessel can be (time stamp a few seconds off):
    # it fits the position before last but not the last one; the next reports continue
    # from the last one, so the jittered report is the odd one out.
    pos = track(MMSI, OPEN_OCEAN, every(2, 20), speed_kn=20.0)
    t = pos["ts"][9] + timedelta(seconds=20)
    ahead = step(pos["lat"][9], pos["lon"][9], 90.0, 1.5)
    seg = segment(pl.concat([pos, positions([MMSI], [t], [ahead[0]], [ahead[1]])]))
    assert sorted(len(g) for g in segments_of(seg)) == [1, 20]


def test_antimeridian_crossing_is_a_short_step() -> None:
    lats = [0.0, 0.0, 0.0, 0.0]
    lons = [179.7, 179.9, -179.9, -179.7]  # 22 km apart, one hour apart: 12 kn
    seg = segment(positions([MMSI] * 4, hours(0, 1, 2, 3), lats, lons))
    assert seg["segment_id"].n_unique() == 1
    d = distance_km(np.array([0.0]), np.array([179.9]), np.array([0.0]), np.array([-179.9]))
    assert d[0] == pytest.approx(22.26, abs=0.01)


def test_one_vessel_in_two_input_chunks_is_segmented_as_one() -> None:
    whole = _jump_track(60.0)
    first, second = whole.head(7), whole.tail(whole.height - 7)
    together = segment(whole)
    assert segment(pl.concat([second, first])).equals(together)
    assert segment(pl.concat([first, second.head(3), first.head(2)])).height == 10  # dup rows


def test_vessels_do_not_influence_each_other() -> None:
    a = _jump_track(60.0)
    b = track(MMSI + 1, step(*OPEN_OCEAN, 0.0, 0.3), every(7, 20))
    both = segment(pl.concat([a, b]))
    assert both.filter(pl.col("mmsi") == MMSI).equals(segment(a))
    assert both.filter(pl.col("mmsi") == MMSI + 1).equals(segment(b))


def test_open_segments_are_bounded() -> None:
    # 50 positions far apart from each other at the same time: 50 one-position segments,
    # whatever max_open_segments
    rng = np.random.default_rng(3)
    lat = rng.uniform(-40, 40, 50)
    lon = rng.uniform(-170, 170, 50)
    pos = positions([MMSI] * 50, [T0] * 50, lat.tolist(), lon.tolist())
    for k in (1, 3, 20):
        assert segment(pos, max_open_segments=k)["segment_id"].n_unique() == 50


def test_empty_and_invalid_parameters() -> None:
    out = segment(schema.empty(schema.POSITIONS))
    assert out.height == 0 and out.schema["segment_id"] == pl.Int64
    with pytest.raises(ValueError, match="max_open_segments"):
        segment(schema.empty(schema.POSITIONS), max_open_segments=0)


def test_more_segments_than_the_id_has_room_for_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    seg_mod = importlib.import_module("seawatch.tracks.segment")  # the module, not the function
    monkeypatch.setattr(seg_mod, "SEGMENT_ID_FACTOR", 3)
    pos = positions([7] * 5, [T0] * 5, [0.0, 10, 20, 30, 40], [0.0] * 5)  # 5 segments
    with pytest.warns(UserWarning, match="more than 3 segments"):
        ids = seg_mod.segment(pos)["segment_id"].to_list()
    assert ids == [21, 22, 23, 23, 23]
