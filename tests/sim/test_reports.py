"""Tests of reporting: ITU-R M.1371 rates as thinned, static messages, counter-based noise."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from seawatch.sim import Scenario, rand, simulate
from seawatch.sim.legs import (
    ANCHOR,
    DEFAULT_THINNING,
    DRIFT,
    FISHING,
    ITU_INTERVAL_S,
    STATIC_INTERVAL_S,
    UNDERWAY,
    interval_band,
    report_interval_s,
)


@pytest.mark.parametrize("thinning", [1, DEFAULT_THINNING, 10])
def test_intervals_are_the_standards_scaled_by_the_thinning(thinning: int) -> None:
    states = np.array([UNDERWAY, UNDERWAY, UNDERWAY, ANCHOR, DRIFT, FISHING, UNDERWAY, ANCHOR])
    speed = np.array([8.0, 16.0, 30.0, 0.0, 0.5, 3.0, 9.0, 0.0])
    cls_a = np.array([True, True, True, True, True, False, False, False])
    got = report_interval_s(cls_a, states, speed, thinning)
    ranges = list(ITU_INTERVAL_S.values())
    band = interval_band(cls_a, states, speed)
    for value, b in zip(got, band, strict=True):
        lo, hi = ranges[b]
        if hi >= 180:  # the 3-minute rates are not thinned
            assert value == 180
        else:
            assert min(lo * thinning, 180) - 1 <= value <= min(hi * thinning, 180) + 1


def _steps(s: Scenario) -> pl.DataFrame:
    return s.positions.sort("mmsi", "ts").with_columns(
        dt=pl.col("ts").diff().over("mmsi").dt.total_seconds(),
        sog_prev=pl.col("sog").shift(1).over("mmsi"),
        nav_prev=pl.col("nav_status").shift(1).over("mmsi"),
    ).drop_nulls("dt")


def _band_median(steps: pl.DataFrame, expr: pl.Expr) -> float:
    return float(steps.filter(expr)["dt"].median())


@pytest.mark.parametrize("thinning", [1, DEFAULT_THINNING])
def test_reports_in_the_data_follow_the_rates(thinning: int) -> None:
    s = simulate(seed=5, hours=2.0, vessels=80, noise=False, thinning=thinning, plant=False)
    steps = _steps(s)
    a, b = pl.col("msg_type") == 1, pl.col("msg_type") == 18
    slow_a = a & (pl.col("nav_status") == 0) & pl.col("sog").is_between(1, 13) \
        & pl.col("sog_prev").is_between(1, 13)
    fast_a = a & (pl.col("sog") > 15) & (pl.col("sog_prev") > 15)
    anchored = a & (pl.col("nav_status") == 1) & (pl.col("nav_prev") == 1)
    moving_b = b & (pl.col("sog") > 3) & (pl.col("sog_prev") > 3)
    ranges = ITU_INTERVAL_S
    for expr, band in ((slow_a, "A 0-14 kn"), (fast_a, "A 14-23 kn"),
                       (anchored, "A anchored"), (moving_b, "B over 2 kn")):
        lo, hi = ranges[band]
        median = _band_median(steps, expr)
        if hi >= 180:
            assert median == 180
        else:
            assert lo * thinning <= median <= min(hi * thinning, 180), band


def test_static_messages_every_six_minutes(quiet: Scenario) -> None:
    v = quiet.vessels.sort("mmsi", "ts").with_columns(
        part=pl.when(pl.col("name").is_null()).then(1).otherwise(0))
    gaps = v.with_columns(gap=pl.col("ts").diff().over("mmsi", "msg_type", "part")
                          .dt.total_seconds()).drop_nulls("gap")
    assert gaps.filter(pl.col("msg_type") == 5)["gap"].median() == STATIC_INTERVAL_S
    parts = v.filter(pl.col("msg_type") == 24)
    part_a = parts.filter(pl.col("name").is_not_null())
    part_b = parts.filter(pl.col("callsign").is_not_null())
    assert part_a["callsign"].is_null().all() and part_b["name"].is_null().all()
    assert abs(part_a.height - part_b.height) <= 0.1 * part_a.height
    assert set(parts["mmsi"]) == set(quiet.positions.filter(pl.col("msg_type") == 18)["mmsi"])


def test_reports_are_on_whole_seconds_with_the_transmitted_second(quiet: Scenario) -> None:
    p = quiet.positions
    assert (p["ts"].dt.microsecond() == 0).all()
    assert (p["ts"].dt.second() == p["second"]).all()
    assert (p["ts"].diff().drop_nulls() >= timedelta(0)).all()


def test_counter_based_numbers_do_not_depend_on_blocks() -> None:
    keys = np.arange(10_000)
    whole = rand.uniform(9, 3, keys, keys * 7)
    parts = np.concatenate([rand.uniform(9, 3, keys[i:i + 999], keys[i:i + 999] * 7)
                            for i in range(0, keys.size, 999)])
    assert (whole == parts).all()
    n = rand.normal(9, 4, keys)
    assert abs(n.mean()) < 0.05 and abs(n.std() - 1) < 0.05
    assert rand.uniform(1, 2, np.empty(0, np.int64), 5).size == 0
    with pytest.raises(ValueError, match="broadcast"):
        rand.uniform(1, 2, np.arange(3), np.arange(4))
