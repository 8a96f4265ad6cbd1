"""Tests of seawatch.sim.truth.zone: fishing in a closed zone."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import shapely

from seawatch import geo
from seawatch.sim import Scenario
from tests.sim.sim_checks import details, planted_events, track_of


def test_fishing_in_zone_is_inside_at_fishing_speed(scenario: Scenario) -> None:
    rows = planted_events(scenario, "fishing_in_zone")
    zones = {z.name: z for z in geo.default_zones()}
    assert {r["zone"] for r in rows} == {"Galápagos Marine Reserve", "Ecuador EEZ"}
    for r in rows:
        p = track_of(scenario.positions, r["mmsi"], r["start"], r["end"])
        z = zones[r["zone"]]
        assert shapely.contains_xy(z.geometry, p["lon"].to_numpy(), p["lat"].to_numpy()).all()
        fishing = p.filter(pl.col("sog").is_between(0.5, 5.0))
        assert fishing.height >= 0.8 * p.height
        assert (r["end"] - r["start"]) >= timedelta(hours=1)
        d = details(r)
        assert d["flag"] != "ECU" or z.kind == "mpa"
