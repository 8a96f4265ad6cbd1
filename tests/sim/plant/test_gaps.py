"""Tests of seawatch.sim.plant.gaps: short reception gaps."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from seawatch.sim import Scenario
from tests.sim.sim_checks import negatives_named, track_of


def test_short_reception_gaps_are_2_to_8_h(scenario: Scenario) -> None:
    for r in negatives_named(scenario, "short_reception_gap"):
        p = track_of(scenario.positions, r["mmsi"])
        gap = p.with_columns(d=pl.col("ts").diff()).filter(
            pl.col("ts").is_between(r["start"], r["end"] + timedelta(hours=1)))["d"].max()
        assert timedelta(hours=2) <= gap <= timedelta(hours=8, minutes=20)
