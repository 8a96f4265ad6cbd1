"""Simulated maritime traffic with ground truth, for demos, tests and benchmarks.

``simulate`` builds a scenario in memory; ``write_scenario`` streams it to the files a
receiver network and an analyst would have (NMEA with tag blocks, MarineCadastre CSV, zones,
ports, truth and hard negatives). See ``docs/sim.md`` for what is simulated.

>>> from seawatch.sim import simulate
>>> s = simulate(seed=3, hours=0.5, vessels=8)
>>> s.positions.height > 0 and s.vessels.height > 0
True
"""

from __future__ import annotations

from seawatch.sim.plan import SOURCE
from seawatch.sim.scenario import DEFAULT_START, Scenario, simulate, write_scenario

__all__ = ["DEFAULT_START", "SOURCE", "Scenario", "simulate", "write_scenario"]
