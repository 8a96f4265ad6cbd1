"""Planted behaviours and hard negatives: the tracks detectors are judged on.

Each behaviour is one or two dedicated tracks whose legs act it out, with reception forced
on around it (so the truth is visible in the data: a watched vessel, e.g. tasked
satellite coverage). What is planted, with its parameters (drawn uniformly in the ranges
given):

=======================  =================================================================
behaviour                what happens
=======================  =================================================================
transshipment encounter  a carrier (reefer, type 70) comes alongside a fishing vessel far
                         from port (>= 40 km from shore, >= 30 km from any port); both drift
                         together at 0.2-0.8 kn, 50-300 m apart, for 2.5-6 h; one in three
                         straddles midnight UTC, and another one in three (the first, so
                         that even a small scenario has one) takes place inside the
                         Galápagos Marine Reserve (>= 15 km from any port), with the
                         fishing vessel fishing in the reserve around it. Outside any zone
                         the fishing vessel is a Chinese squid jigger or a foreign
                         longliner; inside the EEZ an Ecuadorian one.
loitering                a lone carrier drifts at 0.3-1.2 kn for 3-8 h, >= 40 nm from shore
                         and >= 30 km from any port, then leaves.
AIS gap                  a small Ecuadorian vessel heading out >= 100 km from shore switches
                         its AIS off for 13.5-21.5 h on a trafficking run at 9-13 kn and
                         reappears 200-500 km away (implied speed = its real speed).
fishing in the reserve   an Ecuadorian purse seiner enters the Galápagos Marine Reserve
                         (beyond the territorial sea) and fishes at 1.5-3.5 kn for 2.5-5 h.
squid jigger in the EEZ  a Chinese jigger leaves its ground outside the EEZ, fishes 25-50 km
                         inside Ecuador's EEZ at 0.8-2.5 kn for 2.5-6 h, and goes back.
shared MMSI              an impostor uses a foreign longliner's MMSI (and name) for 4-10 h,
                         >= 300 km away, both transmitting.
position jump            a cargo ship's reports jump 50-150 km away for 1-3 reports and back.
encounter in company     a carrier escorts a fishing vessel (>= 20 km from shore and ports):
                         they steam together 150-400 m apart at 7-11 kn, drift side by side
                         at 0.2-0.8 kn, 50-300 m apart, for 2.5-4 h, steam on together, and
                         part; 1.75-3.5 h in company before and after, an hour more than the
                         drift in all, so the run within 500 m has the steaming speed as its
                         median. The drift alone is the encounter.
=======================  =================================================================

Hard negatives (recorded in ``negatives``, never in the truth; ``type`` is what they must
not be detected as):

=======================  =================================================================
negative (type)          what happens
=======================  =================================================================
brief meeting            a carrier and a fishing vessel drift 100-300 m apart for 40-75 min
(encounter)              at sea, then part (< 1.5 h within 500 m; the definition needs 2 h).
ships at anchor          two ships anchored 100-400 m apart within 3 km of a port point for
(encounter)              the whole period (the definition needs >= 10 km from ports).
fast crossing            two ships on crossing courses at 10-15 kn pass 100-400 m apart.
(encounter)
short reception gap      a ship is not heard for 2-8 h (a blocked receiver), then is again.
(gap)
skirting a zone          a ship follows a zone's edge 1.8-3 km outside it for 2-5 h without
(zone_entry)             crossing it (approach and departure stay outside too).
slow fishing offshore    a longliner hauls its line at 0.8-1.6 kn for 3-6 h far offshore: a
(loitering)              fishing vessel, so not loitering by definition.
passing a port           a ship passes 1.5-2.5 km from an isolated port point at 10-14 kn:
(port_visit)             under 20 minutes within 3 km.
sailing in company       a carrier and a fishing vessel steam together 150-400 m apart for
(encounter)              3-6 h, on 2-3 legs at 4-11 kn each, never slowing, then part.
=======================  =================================================================

Counts scale with the fleet and the period (:func:`planted_counts`); behaviours that do not
fit the period are left out. Each family of behaviours is a module (:mod:`.meetings`,
:mod:`.loitering`, :mod:`.gaps`, :mod:`.zones`, :mod:`.identity`, :mod:`.ports`) of
functions of a :class:`~seawatch.sim.plant.base.Planter`, the toolkit they share
(:mod:`.base`); :data:`BEHAVIOURS` names them and :func:`plant_all` runs them.

>>> import numpy as np
>>> from seawatch.sim.fleet import FleetBuilder
>>> from seawatch.sim.legs import LegBuilder
>>> p = Planter(np.random.default_rng(1), FleetBuilder(np.random.default_rng(1)), LegBuilder(),
...             [], duration=24 * 3600, start_s=1768478400, seed=1)
>>> plant_all(p, vessels=100)
>>> p.vessels_used == p.fleet.n > 0, sorted({i["type"] for i in p.intents})[:2]
(True, ['encounter', 'fishing_in_zone'])
"""

from __future__ import annotations

from collections.abc import Callable

from seawatch.sim.plant import gaps, identity, loitering, meetings, ports, zones
from seawatch.sim.plant.base import (
    BASE_COUNTS,
    MIN_HOURS,
    SITE_BOXES,
    VESSELS_PER,
    H,
    Planter,
    PlantError,
    planted_counts,
)

__all__ = ["BASE_COUNTS", "BEHAVIOURS", "MIN_HOURS", "SITE_BOXES", "VESSELS_PER", "PlantError",
           "Planter", "plant_all", "planted_counts"]

BEHAVIOURS: dict[str, Callable[[Planter, int], None]] = {
    "encounter": lambda p, i: meetings.encounter(p, straddle=i % 3 == 1, in_reserve=i % 3 == 0),
    "loitering": lambda p, i: loitering.lone_carrier(p),
    "gap": lambda p, i: gaps.dark_run(p),
    "fishing_reserve": lambda p, i: zones.fishing_reserve(p),
    "squid_eez": lambda p, i: zones.squid_eez(p),
    "shared_mmsi": lambda p, i: identity.shared_mmsi(p),
    "position_jump": lambda p, i: identity.position_jump(p),
    "neg_brief_meeting": lambda p, i: meetings.brief_meeting(p),
    "neg_at_anchor": lambda p, i: meetings.ships_at_anchor(p),
    "neg_fast_crossing": lambda p, i: meetings.fast_crossing(p),
    "neg_short_gap": lambda p, i: gaps.short_gap(p),
    "neg_skirt_zone": lambda p, i: zones.skirt_zone(p),
    "neg_slow_fishing": lambda p, i: loitering.slow_fishing(p),
    "neg_port_pass": lambda p, i: ports.port_pass(p),
    "encounter_in_company": lambda p, i: meetings.in_company(p),
    "neg_in_company": lambda p, i: meetings.sailing_in_company(p),
}
"""Each behaviour of :data:`BASE_COUNTS` (same names, same order): plants its ``i``-th
instance (one in three encounters straddles midnight, another one in three takes place in
the reserve)."""


def plant_all(p: Planter, vessels: int) -> None:
    """Plant every behaviour :func:`planted_counts` gives a fleet of ``vessels``, in the
    order of :data:`BASE_COUNTS`. A behaviour that finds no place (:class:`PlantError`) is
    undone and listed in ``p.skipped``; ``p.vessels_used`` counts the tracks planted."""
    counts = planted_counts(vessels, p.duration / H)
    for name, n in counts.items():
        for i in range(n):
            before = (p.fleet.n, p.legs.n, len(p.overrides))
            try:
                BEHAVIOURS[name](p, i)
            except PlantError as exc:
                p.rollback(before)
                p.skipped.append(f"{name}: {exc}")
    p.vessels_used = p.fleet.n
