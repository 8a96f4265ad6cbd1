"""Tests of seawatch.sim.plant.meetings: a meeting straddles midnight; the hard negatives
that look like an encounter stay what they are meant to be."""

from __future__ import annotations

from datetime import timedelta

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
