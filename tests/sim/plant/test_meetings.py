"""Tests of seawatch.sim.plant.meetings: a meeting straddles midnight; the hard negatives
that look like an encounter stay what they are meant to be."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl

from seawatch import geo
from seawatch.sim import Scenario
from tests.sim.sim_checks import details, km, negatives_named, on_grid, planted_events, track_of


def test_an_encounter_straddles_midnight(scenario: Scenario) -> None:
    rows = planted_events(scenario, "encounter")
    assert any(r["start"].date() != r["end"].date() for r in rows)
    assert any(details(r)["planted_params"]["straddles_midnight"] for r in rows)


def test_brief_meetings_are_under_90_minutes(scenario: Scenario) -> None:
    for r in negatives_named(scenario, "brief_meeting"):
        t0, t1 = r["start"] - timedelta(hours=3), r["end"] + timedelta(hours=3)
        a = track_of(scenario.positions, r["mmsi"], t0, t1)
        b = track_of(scenario.positions, r["other_mmsi"], t0, t1)
        _, la, oa = on_grid(a, t0, t1)
        _, lb, ob = on_grid(b, t0, t1)
        close = km(la, oa, lb, ob) < 0.5
        assert close.sum() > 0 and (close.sum() - 1) * 10 < 90


def test_ships_at_anchor_together_are_near_a_port(scenario: Scenario) -> None:
    pidx = geo.port_index()
    for r in negatives_named(scenario, "ships_at_anchor"):
        a = track_of(scenario.positions, r["mmsi"])
        b = track_of(scenario.positions, r["other_mmsi"])
        assert a["sog"].max() < 0.5 and b["sog"].max() < 0.5
        d, _ = pidx.nearest(a["lat"].to_numpy(), a["lon"].to_numpy())
        assert d.max() < 5.0
        assert km(a["lat"][0], a["lon"][0], b["lat"][0], b["lon"][0]) < 0.5


def test_fast_crossings_are_fast(scenario: Scenario) -> None:
    for r in negatives_named(scenario, "fast_crossing"):
        for m in (r["mmsi"], r["other_mmsi"]):
            p = track_of(scenario.positions, m, r["start"] - timedelta(hours=1),
                         r["end"] + timedelta(hours=1))
            assert p["sog"].min() > 8.0


def _close_run(scenario: Scenario, a: int, b: int, t0, t1):
    """Grid seconds, whether the two vessels are within 500 m, and each one's sog at the
    nearest report, every 10 minutes in [t0, t1]."""
    pa = track_of(scenario.positions, a, t0 - timedelta(hours=1), t1 + timedelta(hours=1))
    pb = track_of(scenario.positions, b, t0 - timedelta(hours=1), t1 + timedelta(hours=1))
    grid, la, oa = on_grid(pa, t0, t1)
    _, lb, ob = on_grid(pb, t0, t1)
    return grid, km(la, oa, lb, ob) < 0.5, pa, pb


def test_meetings_in_company_are_close_for_hours_at_speed_around_the_drift(
        scenario: Scenario) -> None:
    """The planted encounter in company: within 500 m at every step from well before the
    drift to well after it, and over that whole run the median speed is the steaming speed
    (so the published definition, which takes the whole run, would miss it); the truth's
    encounter is the drift, with the hours in company in its details."""
    rows = [r for r in planted_events(scenario, "encounter")
            if details(r)["scenario"] == "transshipment_in_company"]
    assert rows
    for r in rows:
        d, planted = details(r), details(r)["planted_params"]
        before, after = planted["in_company_before_h"], planted["in_company_after_h"]
        t0 = r["start"] - timedelta(hours=before - 0.25)
        t1 = r["end"] + timedelta(hours=after - 0.25)
        grid, close, pa, pb = _close_run(scenario, r["mmsi"], r["other_mmsi"], t0, t1)
        assert close.all(), r
        drift = (grid >= r["start"].timestamp()) & (grid <= r["end"].timestamp())
        for p in (pa, pb):
            sog = np.interp(grid, p["ts"].dt.epoch("s").to_numpy(), p["sog"].to_numpy())
            assert np.median(sog) >= 2.0 and np.median(sog[drift]) < 2.0
        assert d["sailed_in_company_before_h"] >= before - 0.25
        assert d["sailed_in_company_after_h"] >= after - 0.25
        assert 2.5 <= planted["planted_hours"] <= 4.0
        assert before + after >= planted["planted_hours"] + 1.0


def test_sailing_in_company_stays_close_and_never_slows(scenario: Scenario) -> None:
    for r in negatives_named(scenario, "sailing_in_company"):
        _, close, pa, pb = _close_run(scenario, r["mmsi"], r["other_mmsi"], r["start"],
                                      r["end"])
        assert close.all() and (close.size - 1) * 10 >= 170, r  # close for >= 3 h
        for p in (pa, pb):
            assert p.filter(pl.col("ts").is_between(r["start"], r["end"]))["sog"].min() > 3.0
