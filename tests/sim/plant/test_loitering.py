"""Tests of seawatch.sim.plant.loitering: slow fishing offshore is a fishing vessel."""

from __future__ import annotations

from datetime import timedelta

from seawatch.sim import Scenario
from tests.sim.sim_checks import negatives_named, track_of


def test_slow_fishing_offshore_is_a_fishing_vessel(scenario: Scenario) -> None:
    fleet = scenario.plan.fleet
    for r in negatives_named(scenario, "slow_fishing_offshore"):
        p = track_of(scenario.positions, r["mmsi"], r["start"], r["end"])
        assert p["sog"].mean() < 2.0 and (r["end"] - r["start"]) >= timedelta(hours=2)
        assert int(fleet.ship_type[fleet.mmsi.tolist().index(r["mmsi"])]) == 30
