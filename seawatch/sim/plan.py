"""A scenario's plan: every track's identity and legs, reception windows, planted intents.

:func:`build_plan` is the only place that draws from a sequential random generator (seeded
by the scenario seed): it decides the fleet, the background movements
(:mod:`.traffic`), the planted behaviours and hard negatives (:mod:`.plant`) and the
satellite passes. Everything after it is a pure function of the plan (see
:mod:`.rand`), so a plan is all a process needs to produce any part of the scenario.

>>> p = build_plan(seed=1, hours=2.0, vessels=30, start_s=1768478400)
>>> p.fleet.n >= 30, p.legs.n > 30, p.duration
(True, True, 7200)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from seawatch.errors import InvalidValue
from seawatch.sim import plant as planting
from seawatch.sim import reception
from seawatch.sim.artefacts import ArtefactPlan, strengths_of
from seawatch.sim.fleet import Fleet, FleetBuilder, category_counts
from seawatch.sim.legs import DEFAULT_THINNING, LegBuilder, Legs
from seawatch.sim.reception import Overrides
from seawatch.sim.reports import previous_reports
from seawatch.sim.traffic import plan_background

SOURCE = "seawatch-sim"
"""Station name of every line when noise is off."""


@dataclass
class Plan:
    """Everything decided before any report is generated."""

    seed: int
    start_s: int  # unix seconds of the scenario start
    duration: int  # seconds
    thinning: int
    noise: bool
    fleet: Fleet
    legs: Legs
    overrides: Overrides
    passes: np.ndarray
    stations: list[str]
    prev_report: np.ndarray = field(default_factory=lambda: np.empty(0))  # per leg
    intents: list[dict[str, Any]] = field(default_factory=list)
    negatives: list[dict[str, Any]] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    artefacts: ArtefactPlan | None = None  # the messy profile's (None: clean)

    @property
    def n_tracks(self) -> int:
        return self.fleet.n


def build_plan(seed: int, hours: float, vessels: int, start_s: int, *, noise: bool = True,
               thinning: int = DEFAULT_THINNING, plant: bool = True,
               artefacts: Mapping[str, float] | None = None) -> Plan:
    """Decide the scenario: fleet, legs, planted behaviours, reception windows.

    ``vessels`` counts every track but the impostors of spoofed identities; planted
    behaviours take their vessels out of it (fewer when the fleet is small or the period
    short, see :func:`seawatch.sim.plant.planted_counts`). ``artefacts`` (name: strength,
    :mod:`seawatch.sim.artefacts`) are decided after everything else, with a generator of
    their own; the vessels they add come on top of ``vessels``.
    """
    if not hours > 0:
        raise InvalidValue(f"hours must be positive, got {hours}")
    if vessels < 0:
        raise InvalidValue(f"vessels must be zero or more, got {vessels}")
    if thinning < 1:
        raise InvalidValue(f"thinning must be 1 or more, got {thinning}")
    wanted = strengths_of(artefacts)
    if wanted and not noise:
        raise InvalidValue("artefacts need the noise model (its receivers and satellite): "
                           "leave noise on")
    duration = round(hours * 3600)
    rng = np.random.default_rng([seed & 0xFFFFFFFF, 0x5EA])
    fleet = FleetBuilder(rng)
    legs = LegBuilder()
    overrides: list[tuple[int, float, float, int]] = []
    planted = planting.Planter(rng, fleet, legs, overrides, duration, start_s, seed)
    if plant:
        planting.plant_all(planted, vessels)
    n_background = max(vessels - planted.vessels_used, 0)
    plan_background(rng, fleet, legs, category_counts(n_background), duration)
    extra, more = None, {}
    if wanted:
        from seawatch.sim.plant.messy import plan_artefacts

        used = fleet.n
        extra = plan_artefacts(planted, wanted, vessels)
        more["artefact_vessels"] = fleet.n - used
    passes = reception.satellite_passes(seed, -7200.0, duration + 7200.0)
    built_fleet, built_legs = fleet.build(), legs.build()
    return Plan(
        seed=seed, start_s=start_s, duration=duration, thinning=thinning, noise=noise,
        fleet=built_fleet, legs=built_legs, overrides=Overrides.from_rows(overrides),
        prev_report=previous_reports(seed, built_legs, built_fleet, thinning),
        passes=passes,
        stations=reception.station_names(
            noise, SOURCE, tasked=extra is not None and bool(extra.outages.size)),
        intents=planted.intents, negatives=planted.negatives,
        parameters={"background_vessels": n_background,
                    "planted_vessels": planted.vessels_used,
                    "planted_skipped": planted.skipped,
                    **more},
        artefacts=extra,
    )
