"""Tests of seawatch.sim.truth.gap: gaps are 12-24 h without positions, and every one is in
the truth."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from seawatch.sim import Scenario
from tests.sim.sim_checks import NM_KM, details, planted_events, spoofed_mmsis, track_of


def test_gaps_are_12_to_24_h_without_positions(scenario: Scenario) -> None:
    rows = planted_events(scenario, "gap")
    assert rows
    for r in rows:
        p = track_of(scenario.positions, r["mmsi"])
        ts = p["ts"]
        i = ts.search_sorted(r["start"])
        assert ts[i] == r["start"] and ts[i + 1] == r["end"]  # consecutive positions
        hours = (r["end"] - r["start"]).total_seconds() / 3600
        assert 12.0 < hours < 24.0
        d = details(r)
        assert d["likely_intentional"] and d["off_distance_from_shore_km"] > 50 * NM_KM
        assert d["intentional"] and d["planted_params"]["dark_hours"] > 12
        assert d["implied_speed_kn"] < 25.0


def test_every_gap_over_12_h_is_in_the_truth(scenario: Scenario) -> None:
    skip = spoofed_mmsis(scenario)
    gaps = scenario.positions.filter(~pl.col("mmsi").is_in(list(skip))).sort("mmsi", "ts") \
        .with_columns(prev=pl.col("ts").shift(1).over("mmsi")) \
        .filter((pl.col("ts") - pl.col("prev")) > timedelta(hours=12))
    found = {(r["mmsi"], r["prev"], r["ts"]) for r in gaps.to_dicts()}
    truth = {(r["mmsi"], r["start"], r["end"]) for r in
             scenario.truth.filter(pl.col("type") == "gap").to_dicts()}
    assert found == truth and truth
