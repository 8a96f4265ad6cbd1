"""Resampling onto the time grid: alignment, interpolation, gaps, antimeridian, tracks."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from seawatch import schema
from seawatch.geo.geodesy import distance_m
from seawatch.tracks.resample import (
    RESAMPLED,
    concat_samples,
    resample,
    resample_samples,
)
from seawatch.units import duration_us

T0 = datetime(2026, 1, 15, tzinfo=UTC)


def positions(mmsi: int, minutes: list[float], lat: list[float], lon: list[float], **extra):
    ts = [T0 + timedelta(minutes=m) for m in minutes]
    return pl.DataFrame({"mmsi": mmsi, "ts": ts, "lat": lat, "lon": lon, **extra})


def hhmm(frame: pl.DataFrame) -> list[str]:
    return frame["ts"].dt.strftime("%H:%M").to_list()


def test_columns_and_types():
    r = resample(positions(1, [0, 10], [0.0, 0.0], [0.0, 0.01]))
    assert r.schema == pl.Schema(RESAMPLED)
    assert r["segment_id"].null_count() == r.height


def test_empty_input():
    r = resample(schema.empty(schema.POSITIONS))
    assert r.height == 0
    assert r.schema == pl.Schema(RESAMPLED)


def test_grid_is_aligned_to_the_epoch_and_interpolated():
    # 00:03 -> 00:33, 0.3 degrees of latitude: grid times 00:10, 00:20, 00:30
    r = resample(positions(1, [3, 33], [0.0, 0.3], [10.0, 10.0], sog=[6.0, 8.0]))
    assert hhmm(r) == ["00:10", "00:20", "00:30"]
    assert r["lat"].to_list() == pytest.approx([0.07, 0.17, 0.27])
    assert r["speed_kn"].to_list() == pytest.approx(
        [6.0 + 2 * 7 / 30, 6 + 2 * 17 / 30, 6 + 2 * 27 / 30]
    )


def test_position_on_a_grid_time_is_kept_as_is():
    r = resample(positions(1, [0, 7], [1.0, 2.0], [3.0, 3.0], sog=[0.5, 0.5]))
    assert hhmm(r) == ["00:00"]
    assert r.row(0, named=True)["lat"] == 1.0


def test_no_interpolation_across_max_gap_or_more():
    # 60 minutes apart: not interpolated (gap of 1 h or more); 59 min: interpolated
    r = resample(positions(1, [0, 60], [0.0, 0.1], [0.0, 0.0]))
    assert hhmm(r) == ["00:00", "01:00"]
    r = resample(positions(1, [1, 60], [0.0, 0.1], [0.0, 0.0]))
    assert hhmm(r) == ["00:10", "00:20", "00:30", "00:40", "00:50", "01:00"]
    r = resample(positions(1, [0, 60], [0.0, 0.1], [0.0, 0.0]), max_gap="61m")
    assert r.height == 7


def test_gap_in_the_middle_leaves_a_hole():
    r = resample(positions(1, [0, 20, 95, 115], [0.0] * 4, [0.0, 0.01, 0.02, 0.03]))
    assert hhmm(r) == ["00:00", "00:10", "00:20", "01:40", "01:50"]


def test_antimeridian_interpolates_the_short_way():
    r = resample(positions(1, [0, 20], [0.0, 0.0], [179.99, -179.99]))
    assert hhmm(r) == ["00:00", "00:10", "00:20"]
    assert r["lon"].to_list() == pytest.approx([179.99, 180.0 - 360.0, -179.99])
    r = resample(positions(1, [0, 20], [0.0, 0.0], [-179.99, 179.99]))
    assert r["lon"][1] == pytest.approx(-180.0)
    assert (r["lon"].abs() > 179.9).all()


def test_speed_is_implied_when_sog_is_missing():
    # 0.1 degree of latitude at the equator in 30 minutes: about 11.94 kn
    r = resample(positions(1, [0, 30], [0.0, 0.1], [0.0, 0.0]))
    d = distance_m(np.array([0.0]), np.array([0.0]), np.array([0.1]), np.array([0.0]))[0]
    assert r["speed_kn"].to_list() == pytest.approx([d / 1852 * 2] * 4)


def test_isolated_position_without_sog_has_unknown_speed():
    r = resample(positions(1, [0], [0.0], [0.0]))
    assert r["speed_kn"].to_list() == [None]


def test_tracks_are_resampled_separately():
    a = positions(1, [0, 20], [0.0, 0.2], [0.0, 0.0], segment_id=[1, 1])
    b = positions(1, [0, 20], [5.0, 5.2], [0.0, 0.0], segment_id=[2, 2])
    c = positions(2, [0, 20], [9.0, 9.2], [0.0, 0.0], segment_id=[1, 1])
    # interleaved, unsorted input: two segments of MMSI 1 overlapping in time, and MMSI 2
    mixed = pl.concat([c, b, a]).sample(fraction=1.0, shuffle=True, seed=3)
    r = resample(mixed)
    assert r.select("mmsi", "segment_id").unique(maintain_order=True).rows() == [
        (1, 1),
        (1, 2),
        (2, 1),
    ]
    assert r.filter(segment_id=2, mmsi=1)["lat"].to_list() == pytest.approx([5.0, 5.1, 5.2])


def test_duplicates_and_invalid_positions_are_ignored():
    p = positions(1, [0, 0, 10, 20], [0.0, 50.0, 0.1, 95.0], [0.0, 50.0, 0.0, 0.0])
    r = resample(p)
    assert hhmm(r) == ["00:00", "00:10"]
    assert r["lat"].to_list() == [0.0, 0.1]


def test_missing_columns_are_named():
    with pytest.raises(schema.SchemaError, match="lat"):
        resample(pl.DataFrame({"mmsi": [1], "ts": [T0], "lon": [0.0]}))


def test_one_vessel_in_two_frames_is_one_track():
    whole = positions(1, list(range(0, 240, 3)), [0.001 * k for k in range(80)], [0.0] * 80)
    first, second = whole.head(37), whole.tail(43)
    assert resample(pl.concat([second, first])).equals(resample(whole))


def test_samples_arrays_match_the_frame():
    p = positions(1, [0, 25, 50], [0.0, 0.1, 0.2], [0.0, 0.0, 0.0])
    s = resample_samples(p)
    r = resample(p)
    assert len(s) == r.height
    assert (s.step * s.grid_us).tolist() == r["ts"].dt.epoch("us").to_list()


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("10m", 10), ("1h", 60), ("1h50m", 110), ("90min", 90), ("2d", 2880), ("30s", 0.5)],
)
def test_duration_strings(text, minutes):
    assert duration_us(text) == duration_us(timedelta(minutes=minutes))


def test_bad_duration_says_what_to_use():
    with pytest.raises(ValueError, match=r"use e\.g\. '30min', '1h30m'"):
        duration_us("ten minutes")


# --------------------------------------------------------------------------- concat_samples


def _fleet() -> pl.DataFrame:
    """Five vessels with gaps, a second segment and an antimeridian crossing."""
    rng = np.random.default_rng(5)
    frames = []
    for k, mmsi in enumerate((11, 22, 33, 44, 55)):
        minutes = np.sort(rng.choice(np.arange(0, 600, 3), 120, replace=False)).astype(float)
        frames.append(
            positions(
                mmsi,
                minutes.tolist(),
                (k + 0.001 * np.arange(120)).tolist(),
                (179.95 + 0.001 * np.arange(120) - (360.0 if k == 4 else 0.0)).tolist(),
                sog=rng.uniform(0, 3, 120).round(1).tolist(),
                segment_id=[mmsi * 10 + (m > 300) for m in minutes],
            )
        )
    return pl.concat(frames)


def _same(a, b) -> bool:
    fields = [f for f in a.__dataclass_fields__ if f != "grid_us"]
    return a.grid_us == b.grid_us and all(
        np.array_equal(getattr(a, f), getattr(b, f), equal_nan=getattr(a, f).dtype.kind == "f")
        for f in fields
    )


@pytest.mark.parametrize("cuts", [[33], [11, 22, 33, 44], [0, 40, 99]])
def test_concat_samples_of_parts_equals_samples_of_the_whole(cuts):
    fleet = _fleet()
    bounds = [-1, *cuts, 10**9]
    parts = [
        resample_samples(fleet.filter(pl.col("mmsi").is_between(lo + 1, hi)))
        for lo, hi in itertools.pairwise(bounds)
    ]
    assert _same(concat_samples(parts), resample_samples(fleet))


def test_concat_samples_refuses_overlapping_parts_and_mixed_grids():
    fleet = _fleet()
    low = resample_samples(fleet.filter(pl.col("mmsi") <= 33))
    high = resample_samples(fleet.filter(pl.col("mmsi") >= 33))
    with pytest.raises(ValueError, match="overlapping or unordered"):
        concat_samples([low, high])
    with pytest.raises(ValueError, match="overlapping or unordered"):
        concat_samples([high, resample_samples(fleet.filter(pl.col("mmsi") == 11))])
    with pytest.raises(ValueError, match="different grids"):
        concat_samples([low, resample_samples(fleet.filter(pl.col("mmsi") > 33), grid="5m")])
    empty = concat_samples([])
    assert len(empty) == 0 and empty.grid_us == duration_us("10m")
    assert concat_samples([], grid_us=duration_us("5m")).grid_us == duration_us("5m")
