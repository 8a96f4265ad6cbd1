"""Tests of seawatch.sim.plant.ports: passing ships stay under 30 minutes near a port."""

from __future__ import annotations

from datetime import timedelta

from seawatch import geo
from seawatch.sim import Scenario
from tests.sim.sim_checks import negatives_named, track_of


def test_passing_ships_stay_under_30_minutes_near_a_port(scenario: Scenario) -> None:
    pidx = geo.port_index()
    for r in negatives_named(scenario, "passing_port"):
        p = track_of(scenario.positions, r["mmsi"], r["start"] - timedelta(hours=1),
                     r["end"] + timedelta(hours=1))
        d, _ = pidx.nearest(p["lat"].to_numpy(), p["lon"].to_numpy())
        t = p["ts"].dt.epoch("s").to_numpy()
        within = t[d <= 3.0]
        assert within.size and within.max() - within.min() < 30 * 60
