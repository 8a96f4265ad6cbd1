"""Tests of seawatch.sim.truth_pass: spoofing events of the planted identity thefts and
jumps."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from seawatch.sim import Scenario
from tests.sim.sim_checks import NM_KM, details, km, planted_events, track_of


def test_spoofing_is_two_tracks_or_a_jump(scenario: Scenario) -> None:
    rows = planted_events(scenario, "spoofing")
    kinds = {details(r)["kind"] for r in rows}
    assert kinds == {"shared_mmsi", "position_jump"}
    for r in rows:
        p = track_of(scenario.positions, r["mmsi"], r["start"] - timedelta(minutes=30),
                     r["end"] + timedelta(minutes=30))
        lat, lon = p["lat"].to_numpy(), p["lon"].to_numpy()
        dt = np.diff(p["ts"].dt.epoch("s").to_numpy())
        step = km(lat[:-1], lon[:-1], lat[1:], lon[1:])
        speed = step / NM_KM / np.maximum(dt, 1) * 3600
        assert ((speed > 25) & (step > 10)).any()  # jumps (or hops between the two tracks)
