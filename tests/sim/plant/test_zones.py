"""Tests of seawatch.sim.plant.zones: ships skirting a zone stay outside it."""

from __future__ import annotations

import numpy as np
import shapely

from seawatch import geo
from seawatch.geo.geodesy import aeqd, project
from seawatch.sim import Scenario
from tests.sim.sim_checks import negatives_named, track_of


def test_skirting_ships_stay_a_km_outside(scenario: Scenario) -> None:
    zones = {z.name: z for z in geo.default_zones()}
    for r in negatives_named(scenario, "skirting_zone_edge"):
        p = track_of(scenario.positions, r["mmsi"])
        fwd, _ = aeqd(r["lat"], r["lon"])
        x, y = fwd.transform(p["lon"].to_numpy(), p["lat"].to_numpy())
        zone = project(zones[r["zone"]].geometry, fwd)
        d = shapely.distance(zone, shapely.points(np.column_stack([x, y])))
        near = (np.hypot(x, y) < 300_000)
        assert d[near].min() >= 1000.0
