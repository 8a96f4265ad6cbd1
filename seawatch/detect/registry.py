"""The detectors seawatch runs, in the order it runs them.

Each entry is the ``DETECTOR`` its module declares (:class:`seawatch.detect.detector.Detector`);
the pipeline (:mod:`seawatch.detect.pipeline`) runs them in this order, the config
(:mod:`seawatch.detect.config`) has one section per entry, and a new detector is added here.
Order matters where one detector reads another's events: ``encounter`` runs before
``loitering`` (a vessel in an encounter is not loitering), and the dark-vessel detectors
(``dark_rendezvous``, ``loiter_gap_loiter``, ``dark_near_encounter``) read the gaps,
encounters and loitering, so they run last.

Examples
--------
>>> [d.name for d in DETECTORS]  # doctest: +NORMALIZE_WHITESPACE
['spoofing', 'gap', 'encounter', 'loitering', 'zone', 'fishing_in_zone', 'port_visit',
 'route_anomaly', 'identity', 'type_mismatch', 'watchlist', 'dark_rendezvous', 'loiter_gap_loiter',
 'dark_near_encounter']
>>> DETECTED_TYPES[5:8]
('zone_exit', 'fishing_in_zone', 'port_visit')
>>> [d.name for d in detectors_for(["dark_rendezvous"])]
['gap', 'dark_rendezvous']
>>> [d.name for d in detectors_for(["loitering"])]
['encounter', 'loitering']
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from seawatch.detect import (
    dark_near_encounter,
    dark_rendezvous,
    encounter,
    fishing_in_zone,
    gap,
    identity,
    loiter_gap_loiter,
    loitering,
    port_visit,
    route_anomaly,
    spoofing,
    type_mismatch,
    watchlist,
    zone_crossing,
)
from seawatch.detect.detector import Detector
from seawatch.errors import InvalidValue

DETECTORS: tuple[Detector[Any], ...] = (
    spoofing.DETECTOR,
    gap.DETECTOR,
    encounter.DETECTOR,
    loitering.DETECTOR,
    zone_crossing.DETECTOR,
    fishing_in_zone.DETECTOR,
    port_visit.DETECTOR,
    route_anomaly.DETECTOR,
    identity.DETECTOR,
    type_mismatch.DETECTOR,
    watchlist.DETECTOR,
    dark_rendezvous.DETECTOR,
    loiter_gap_loiter.DETECTOR,
    dark_near_encounter.DETECTOR,
)
"""Every detector, in the order the pipeline runs them."""

DETECTED_TYPES: tuple[str, ...] = tuple(t for d in DETECTORS for t in d.event_types)
"""Event types the detectors produce (``fishing`` comes later)."""


def detector(name: str) -> Detector[Any]:
    """The detector called ``name``.

    Raises
    ------
    seawatch.errors.InvalidValue
        No detector has that name (the message lists them).
    """
    for entry in DETECTORS:
        if entry.name == name:
            return entry
    raise InvalidValue(f"no detector {name!r}; valid: {', '.join(d.name for d in DETECTORS)}")


def detectors_for(types: Iterable[str] | str | None = None) -> list[Detector[Any]]:
    """The detectors that give ``types`` (default: all), with those they need, in order.

    A detector that needs what another provides (loitering needs the encounters) brings
    that one along, even if its events are not wanted.

    Raises
    ------
    seawatch.errors.InvalidValue
        An event type no detector produces (the message lists the valid ones).
    """
    wanted = wanted_types(types)
    chosen = {d.name for d in DETECTORS if wanted & set(d.event_types)}
    while True:
        needed = {n for d in DETECTORS if d.name in chosen for n in d.needs}
        providers = {d.name for d in DETECTORS if d.provides in needed} - chosen
        if not providers:
            return [d for d in DETECTORS if d.name in chosen]
        chosen |= providers


def wanted_types(types: Iterable[str] | str | None) -> set[str]:
    """The event types asked for (default: all of :data:`DETECTED_TYPES`), checked.

    >>> sorted(wanted_types("gap"))
    ['gap']
    """
    if types is None:
        return set(DETECTED_TYPES)
    wanted = {types} if isinstance(types, str) else set(types)
    unknown = sorted(wanted - set(DETECTED_TYPES))
    if unknown:
        raise InvalidValue(
            f"cannot detect event type(s) {unknown}; valid: {', '.join(DETECTED_TYPES)}"
        )
    return wanted
