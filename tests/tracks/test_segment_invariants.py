"""Invariants of seawatch.tracks.segment on random noisy, shared-MMSI traffic (hypothesis)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seawatch.geo.geodesy import distance_km
from seawatch.tracks import SEGMENT_ID_FACTOR, segment
from tests.tracks.track_builders import T0

MAX_KN, NOISE_KM, MAX_GAP_H = 25.0, 1.0, 24.0


def _random_traffic(seed: int, n_mmsi: int, n: int, with_sog: bool) -> pl.DataFrame:
    """Up to three vessels per MMSI sailing random courses at 0-28 kn near the antimeridian,
    reporting at random times (some at the same time, some after long silences), with
    position jumps of up to 50 km and stale repeats of earlier reports."""
    rng = np.random.default_rng(seed)
    vessel = rng.integers(0, 3 * n_mmsi, n)
    dt_s = rng.exponential(300, n) * rng.choice([0.0, 1.0, 200.0], n, p=[0.05, 0.93, 0.02])
    t = np.cumsum(dt_s)
    speed = rng.uniform(0, 28, 3 * n_mmsi)[vessel]
    course = rng.uniform(0, 360, 3 * n_mmsi)[vessel] + rng.normal(0, 20, n)
    lat = np.empty(n)
    lon = np.empty(n)
    last: dict[int, tuple[float, float, float]] = {}
    for k in range(n):  # a test helper: clarity over speed
        v = int(vessel[k])
        la, lo, tv = last.get(v, (rng.uniform(-3, 3), rng.uniform(178, 182), t[k]))
        km = speed[k] * 1.852 * (t[k] - tv) / 3600
        la += km / 111.2 * np.cos(np.radians(course[k]))
        lo += km / 111.2 * np.sin(np.radians(course[k])) / np.cos(np.radians(la))
        last[v] = (la, lo, t[k])
        lat[k], lon[k] = la, lo
    jump = rng.random(n) < 0.05
    lat[jump] += rng.uniform(-0.45, 0.45, int(jump.sum()))
    stale = np.flatnonzero(rng.random(n) < 0.03)
    stale = stale[stale > 5]
    lat[stale], lon[stale] = lat[stale - 5], lon[stale - 5]
    return pl.DataFrame(
        {
            "mmsi": vessel // 3 + 735000000,
            "ts": (T0.timestamp() * 1e6 + t * 1e6).astype(np.int64),
            "lat": lat,
            "lon": (lon + 180.0) % 360.0 - 180.0,
            "sog": speed if with_sog else np.full(n, np.nan),
            "cog": course % 360 if with_sog else np.full(n, np.nan),
            "msg_type": rng.choice([1, 18, 27], n, p=[0.6, 0.3, 0.1]),
        }
    ).with_columns(pl.col("sog").fill_nan(None), pl.col("cog").fill_nan(None))


def _check(seg: pl.DataFrame) -> None:
    assert seg["segment_id"].null_count() == 0
    # ids: mmsi * factor + k, k = 0..K-1 in order of first position
    firsts = (
        seg.with_row_index("r")
        .group_by("segment_id")
        .agg(pl.col("mmsi").first(), pl.col("r").min())
        .sort("mmsi", "r")
        .with_columns(
            (pl.int_range(pl.len()).over("mmsi") + pl.col("mmsi") * SEGMENT_ID_FACTOR).alias("want")
        )
    )
    assert firsts["segment_id"].to_list() == firsts["want"].to_list()
    # consecutive positions of a segment: within max_gap_h, and reachable or within noise
    by_seg = seg.with_row_index("r").sort("segment_id", "r")
    same = by_seg["segment_id"].to_numpy()[1:] == by_seg["segment_id"].to_numpy()[:-1]
    lat, lon = by_seg["lat"].to_numpy(), by_seg["lon"].to_numpy()
    t = by_seg["ts"].dt.epoch("us").to_numpy()
    d = distance_km(lat[:-1], lon[:-1], lat[1:], lon[1:])[same]
    dt_h = ((t[1:] - t[:-1]) / 3.6e9)[same]
    assert (dt_h >= 0).all() and (dt_h <= MAX_GAP_H).all()
    assert ((d <= NOISE_KM) | (d <= MAX_KN * 1.852 * dt_h * (1 + 1e-9))).all()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n_mmsi=st.integers(1, 4),
    n=st.integers(1, 1500),
    with_sog=st.booleans(),
    max_open=st.integers(1, 6),
)
def test_segments_are_plausible_tracks(
    seed: int, n_mmsi: int, n: int, with_sog: bool, max_open: int
) -> None:
    _check(segment(_random_traffic(seed, n_mmsi, n, with_sog), max_open_segments=max_open))


@pytest.mark.parametrize("seed", [3, 4, 11])
@pytest.mark.parametrize("max_open", [1, 20])
def test_segments_are_plausible_tracks_on_larger_samples(seed: int, max_open: int) -> None:
    # seeds 3 and 4 once caught look-back reaching past max_gap_h
    _check(segment(_random_traffic(seed, 5, 20_000, seed % 2 == 0), max_open_segments=max_open))
