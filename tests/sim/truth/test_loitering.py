"""Tests of seawatch.sim.truth.loitering."""

from __future__ import annotations

from datetime import timedelta

from seawatch import geo
from seawatch.sim import Scenario
from tests.sim.sim_checks import NM_KM, planted_events, track_of


def test_loitering_is_slow_far_offshore_and_alone(scenario: Scenario) -> None:
    rows = planted_events(scenario, "loitering")
    assert rows
    fleet = scenario.plan.fleet
    for r in rows:
        p = track_of(scenario.positions, r["mmsi"], r["start"], r["end"])
        assert (r["end"] - r["start"]) >= timedelta(hours=2)
        assert p["sog"].mean() < 2.0
        lat, lon = p["lat"].to_numpy(), p["lon"].to_numpy()
        assert geo.distance_to_shore_km(lat, lon).min() >= 20 * NM_KM
        assert geo.port_index().nearest(lat, lon)[0].min() >= 10.0
        assert int(fleet.ship_type[fleet.mmsi.tolist().index(r["mmsi"])]) != 30
