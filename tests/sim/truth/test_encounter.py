"""Tests of seawatch.sim.truth.encounter: encounters in the truth are within 500 m for 2 h,
slow and far from ports."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl

from seawatch import geo
from seawatch.sim import Scenario
from tests.sim.sim_checks import details, km, longest_run, on_grid, planted_events, track_of


def test_encounters_are_within_500_m_for_2_h_slow_and_far_from_ports(scenario: Scenario
                                                                      ) -> None:
    rows = planted_events(scenario, "encounter")
    assert rows
    pidx = geo.port_index()
    for r in rows:
        a = track_of(scenario.positions, r["mmsi"], r["start"] - timedelta(hours=1),
                     r["end"] + timedelta(hours=1))
        b = track_of(scenario.positions, r["other_mmsi"], r["start"] - timedelta(hours=1),
                     r["end"] + timedelta(hours=1))
        _, la, oa = on_grid(a, r["start"], r["end"])
        _, lb, ob = on_grid(b, r["start"], r["end"])
        close = km(la, oa, lb, ob) < 0.5
        assert (longest_run(close) - 1) * 10 >= 120, r  # >= 2 h of consecutive steps
        for p in (a, b):
            inside = p.filter(pl.col("ts").is_between(r["start"], r["end"]))
            assert inside["sog"].median() < 2.0
        d, _ = pidx.nearest([np.nanmean(la)], [np.nanmean(oa)])
        assert d[0] >= 10.0
        planted = details(r)["planted_params"]
        assert 50 <= planted["separation_m"] <= 300 and 2.5 <= planted["planted_hours"] <= 6
