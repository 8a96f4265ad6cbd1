"""Tests of seawatch.sim.truth.port_visit."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from seawatch import geo
from seawatch.sim import Scenario
from tests.sim.sim_checks import details, track_of


def test_port_visits_stay_within_3_km_for_30_min(scenario: Scenario) -> None:
    rows = scenario.truth.filter(pl.col("type") == "port_visit").to_dicts()
    assert len(rows) > 10
    pidx = geo.port_index()
    for r in rows[:: max(1, len(rows) // 40)]:
        p = track_of(scenario.positions, r["mmsi"], r["start"], r["end"])
        d, _ = pidx.nearest(p["lat"].to_numpy(), p["lon"].to_numpy())
        assert d[0] <= 3.0 or details(r)["open"]
        assert d.max() <= 4.0
        assert (r["end"] - r["start"]) >= timedelta(minutes=30)
