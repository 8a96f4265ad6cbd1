"""Tests of seawatch.sim.truth.encounter: encounters in the truth are within 500 m for 2 h,
slow and far from ports."""

from __future__ import annotations

import json
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


K0 = 1768478400 // 600  # 2026-01-15 12:00 UTC on the 10-minute grid


def _side_by_side(kn: list[float], apart_deg: float = 0.0018) -> pl.DataFrame:
    """Grid samples of two tracks 200 m apart (north-south) at ``kn`` each step, eastwards
    from 2 S 86 W (400 km from shore)."""
    lon = -86.0 + np.cumsum(np.r_[0.0, np.asarray(kn[:-1]) * 0.00278])
    n = len(kn)
    return pl.DataFrame({
        "k": np.r_[K0 + np.arange(n), K0 + np.arange(n)].astype(np.int64),
        "track": np.repeat([0, 1], n).astype(np.int64),
        "lat": np.r_[np.full(n, -2.0), np.full(n, -2.0 + apart_deg)],
        "lon": np.r_[lon, lon], "sog": np.r_[kn, kn].astype(np.float64)})


def _truth(kn: list[float]) -> list[tuple[float, float, float, float]]:
    """(start h, end h, hours in company before, after) of the truth's encounters."""
    from seawatch.sim import truth as T
    from seawatch.sim.world import world

    w = world()
    enc = T.encounters(T.encounter_pieces(_side_by_side(kn), np.array([1, 2]), w),
                       K0 * 600, w)
    out = []
    for r in enc.iter_rows(named=True):
        d = json.loads(r["details"])
        out.append((round(r["start_s"] / 3600, 3), round(r["end_s"] / 3600, 3),
                    d["sailed_in_company_before_h"],
                    d["sailed_in_company_after_h"]))
    return out


def test_truth_takes_the_slow_part_of_a_run_in_company() -> None:
    # 2 h at 10 kn, 2 h 40 min adrift, 2 h 10 min at 10 kn: the drift (02:00-04:30)
    assert _truth([10.0] * 12 + [0.1] * 16 + [10.0] * 13) == [(2.0, 4.5, 2.0, 2.167)]
    # never slowing: nothing
    assert _truth([10.0] * 40) == []
    assert _truth([10.0] * 12 + [2.0] * 16 + [10.0] * 13) == []
    # 1 h 50 min adrift is too short, 2 h is enough
    assert _truth([10.0] * 12 + [0.5] * 12 + [10.0] * 12) == []
    assert _truth([10.0] * 12 + [0.5] * 13 + [10.0] * 12) == [(2.0, 4.0, 2.0, 2.0)]
    # 50 min under way together inside the drift: one; an hour: two
    assert len(_truth([10.0] * 6 + [0.3] * 15 + [10.0] * 5 + [0.3] * 15 + [10.0] * 6)) == 1
    assert len(_truth([10.0] * 6 + [0.3] * 15 + [10.0] * 6 + [0.3] * 15 + [10.0] * 6)) == 2


def test_truth_keeps_a_whole_run_that_meets_the_definition_when_no_slow_part_does() -> None:
    # 1 h 30 min adrift, an hour under way, 1 h 40 min adrift: the run, 00:00-04:10
    assert _truth([0.3] * 9 + [10.0] * 6 + [0.3] * 11) == [(0.0, 4.167, 0.0, 0.0)]
