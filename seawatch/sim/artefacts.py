"""The messy profile: artefacts of real feeds laid over a scenario, and what they decide.

A clean scenario is what a well-run receiver network would log. Real captures are messier
(issue 12 measured what each of these does to the detectors on real files); each artefact
below can be switched on alone (``seawatch sim --artefacts clock,outliers=0.002``) or all at
once (``--profile messy``), each with one *strength* whose default is given:

=================  ==========  =================================================================
artefact           default     what happens
=================  ==========  =================================================================
``clock``          3600 s      one mainland station's clock runs this many seconds fast, and
                               another logs local time (UTC-5) instead of UTC: their lines'
                               tag-block times are off, the lines stay in arrival order
``duplicates``     120 s       a second station's copy of a report arrives up to this many
                               seconds after the first (clean: 5 s), past the store's 30 s
                               duplicate window
``outliers``       0.0005      share of the position reports garbled in the air with a valid
                               checksum: one bit of the latitude or longitude (6 km to 28
                               degrees off) or of the speed (25.6 or 51.2 kn more) is wrong,
                               the next report is back on track
``outage``         14 h        one mainland receiver delivers nothing for this long, and the
                               satellite feed for as long at another time (placed where it
                               hides the fewest planted behaviours; their watched windows
                               are still heard)
``file_holes``     8 h         the capture is written as three files with two holes of this
                               length between them (nothing was recorded in the holes)
``shared_identity`` 2          pairs of fishing vessels, 300 km or more apart, transmitting
                               one MMSI for the whole period
``sparse_export``  0.05        share of the fleet (at least 3 vessels) seen only in a daily
                               export, ``traffic-daily.csv``: one row per vessel per UTC day
                               for every vessel
``moored``         2           clusters of 3-5 fishing vessels moored side by side, 15-40 m
                               apart, all period, at harbours missing from the port list
``platform``       2           offshore platforms (``installations.geojson``), each with 1-2
                               supply vessels standing by within 400 m of it
``identity``       3           (the ``identity`` profile, not ``messy``) identity changers,
                               garbled static reports, watchlisted vessels (``watchlist.csv``)
                               and look-alikes, invalid MMSIs, cargo ships that fish, slow
                               steamers: :mod:`seawatch.sim.plant.identities`
=================  ==========  =================================================================

What must not be alerted goes to the scenario's negatives with ``details.reason`` (the
``reason`` of each :class:`Artefact`); the truth keeps the planted events, and its
definitions know about the artefacts where the issue says they should (a silence the
capture explains is no gap, two vessels moored at a harbour do not meet, standing by a
platform is not loitering).

Everything is drawn from its own random generator and per-report hashes, after the clean
plan, so the clean profile is byte for byte what it was, and the same seed and artefacts
give the same files.

>>> parse_artefacts("clock,outliers=0.002")
{'clock': 3600.0, 'outliers': 0.002}
>>> sorted(parse_artefacts(None, profile="messy")) == sorted(set(ARTEFACTS) - {"identity"})
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from seawatch.errors import InvalidValue

H = 3600.0


@dataclass(frozen=True)
class Artefact:
    """One artefact of the messy profile: its default strength, unit and negatives' reason."""

    name: str
    default: float
    unit: str
    what: str
    reason: str


ARTEFACTS: dict[str, Artefact] = {a.name: a for a in (
    Artefact("clock", 3600.0, "seconds",
             "one mainland station's clock runs this many seconds fast; another logs local "
             "time (UTC-5)", "clock"),
    Artefact("duplicates", 120.0, "seconds",
             "a second station's copy arrives up to this many seconds after the first",
             "duplicate"),
    Artefact("outliers", 0.0005, "share of position reports",
             "reports garbled in the air with a valid checksum (a wrong position or speed, "
             "then back on track)", "outlier"),
    Artefact("outage", 14.0, "hours",
             "one mainland receiver, and at another time the satellite feed, deliver nothing "
             "for this long", "outage"),
    Artefact("file_holes", 8.0, "hours",
             "the capture is three files with two holes of this length between them",
             "file_hole"),
    Artefact("shared_identity", 2.0, "pairs",
             "pairs of fishing vessels transmitting one MMSI for the whole period",
             "shared_identity"),
    Artefact("sparse_export", 0.05, "share of the fleet",
             "vessels seen only in a daily export (traffic-daily.csv, one row per vessel per "
             "UTC day)", "sparse_export"),
    Artefact("moored", 2.0, "clusters",
             "3-5 fishing vessels moored side by side at a harbour missing from the port "
             "list", "moored"),
    Artefact("platform", 2.0, "platforms",
             "offshore platforms (installations.geojson) with 1-2 supply vessels standing "
             "by", "platform"),
    Artefact("identity", 3.0, "vessels of each case",
             "identity changers, garbled static reports, vessels on a generated watchlist "
             "(watchlist.csv) and their look-alikes, invalid MMSIs, cargo ships that fish "
             "and slow steamers (seawatch.sim.plant.identities)", "identity"),
)}
"""Every artefact, by name: those of the messy profile, then ``identity`` (issue 16)."""

PROFILES: dict[str, tuple[str, ...]] = {
    "clean": (),
    "messy": tuple(a for a in ARTEFACTS if a != "identity"),
    "identity": ("identity",),
}
"""Named profiles: the artefacts each switches on at their default strength. ``identity``
is a profile of its own (not part of ``messy``, whose scenarios other measurements were
made on)."""

LOCAL_TIME_OFFSET_S = -5 * 3600
"""Offset of a station that logs local time: Ecuador's mainland is UTC-5."""


def parse_artefacts(text: str | None, profile: str = "clean") -> dict[str, float]:
    """Artefacts and strengths from a profile plus a comma-separated list.

    ``text`` names artefacts, each optionally with ``=strength``
    (``"clock=1800,outliers"``); they are added to the profile's artefacts (at their default
    strength), a strength given overriding the default. ``"none"`` or an empty text adds
    nothing.

    Raises
    ------
    seawatch.errors.InvalidValue
        An unknown profile or artefact, or a strength that is not a positive number.

    Examples
    --------
    >>> parse_artefacts("outage=6", profile="clean")
    {'outage': 6.0}
    >>> parse_artefacts("fog")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    seawatch.errors.InvalidValue: unknown artefact 'fog'; known: clock, duplicates, ...
    """
    if profile not in PROFILES:
        raise InvalidValue(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
    out = {name: ARTEFACTS[name].default for name in PROFILES[profile]}
    for item in (text or "").split(","):
        item = item.strip()
        if not item or item == "none":
            continue
        name, _, value = item.partition("=")
        name = name.strip()
        if name not in ARTEFACTS:
            raise InvalidValue(f"unknown artefact {name!r}; known: {', '.join(ARTEFACTS)}")
        strength = ARTEFACTS[name].default
        if value.strip():
            try:
                strength = float(value)
            except ValueError:
                strength = float("nan")
            if not strength > 0:
                raise InvalidValue(f"artefact {name}: the strength must be a positive number "
                                   f"({ARTEFACTS[name].unit}), got {value!r}")
        out[name] = strength
    return out


@dataclass
class ArtefactPlan:
    """What the artefacts of a scenario decided, before any report is made.

    Times are seconds from the scenario start; stations are indexes into the plan's
    ``stations``.
    """

    strengths: dict[str, float]
    clock: dict[int, int] = field(default_factory=dict)  # station -> seconds added
    max_delay_s: int = 5
    outlier_rate: float = 0.0
    outages: np.ndarray = field(default_factory=lambda: np.empty((0, 3)))  # station, t0, t1
    holes: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))  # t0, t1
    moored: list[list[int]] = field(default_factory=list)  # tracks per cluster
    harbours: list[dict[str, Any]] = field(default_factory=list)
    platforms: list[dict[str, Any]] = field(default_factory=list)  # name, lat, lon, tracks
    shared: list[tuple[int, int]] = field(default_factory=list)
    export_only: list[int] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    identity: Any = None  # seawatch.sim.plant.identities.IdentityPlan (identity artefact)

    def on(self, name: str) -> bool:
        """Whether artefact ``name`` is part of the scenario."""
        return name in self.strengths

    def station_out(self, station: np.ndarray | int, t: np.ndarray) -> np.ndarray:
        """Whether ``station`` (one, or one per report) delivers nothing at times ``t``."""
        t = np.asarray(t, np.float64)
        st = np.broadcast_to(np.asarray(station, np.int64), t.shape)
        out = np.zeros(t.shape, bool)
        for s, t0, t1 in self.outages:
            out |= (st == int(s)) & (t >= t0) & (t < t1)
        return out

    def in_hole(self, t: np.ndarray) -> np.ndarray:
        """Whether times ``t`` fall in a hole between capture files."""
        t = np.asarray(t, np.float64)
        out = np.zeros(t.shape, bool)
        for t0, t1 in self.holes:
            out |= (t >= t0) & (t < t1)
        return out

    def clock_offset(self, station: np.ndarray) -> np.ndarray:
        """Seconds each line's station adds to its receive time (0 for a good clock)."""
        st = np.asarray(station, np.int64)
        out = np.zeros(st.shape, np.int64)
        for s, off in self.clock.items():
            out[st == s] = off
        return out

    @property
    def cuts(self) -> list[float]:
        """Times where the output changes file: the start and the end of each hole."""
        return sorted(float(x) for x in self.holes.ravel())

    @property
    def excluded_pairs(self) -> set[frozenset[int]]:
        """Pairs of tracks that meet by the artefacts, not by an encounter: moored side by
        side, or standing by the same platform."""
        out: set[frozenset[int]] = set()
        for group in [*self.moored, *(p["tracks"] for p in self.platforms)]:
            out |= {frozenset((a, b)) for a in group for b in group if a < b}
        return out

    @property
    def standby_tracks(self) -> set[int]:
        """Supply vessels standing by platforms (slow far offshore: not loitering)."""
        return {t for p in self.platforms for t in p["tracks"]}

    def describe(self, stations: list[str], start_s: int, mmsi: np.ndarray) -> dict[str, Any]:
        """What was decided, for ``scenario.json`` (times ISO 8601 UTC)."""
        from datetime import UTC, datetime

        def iso(t: float) -> str:
            return datetime.fromtimestamp(start_s + t, UTC).isoformat().replace("+00:00", "Z")

        return {
            "strengths": self.strengths,
            "clock_offsets_s": {stations[s]: off for s, off in sorted(self.clock.items())},
            "max_duplicate_delay_s": self.max_delay_s,
            "outlier_rate": self.outlier_rate,
            "outages": [{"station": stations[int(s)], "start": iso(t0), "end": iso(t1)}
                        for s, t0, t1 in self.outages],
            "file_holes": [{"start": iso(t0), "end": iso(t1)} for t0, t1 in self.holes],
            "moored": [{**h, "mmsi": [int(mmsi[t]) for t in tr]}
                       for h, tr in zip(self.harbours, self.moored, strict=True)],
            "platforms": [{"name": p["name"], "lat": p["lat"], "lon": p["lon"],
                           "mmsi": [int(mmsi[t]) for t in p["tracks"]]}
                          for p in self.platforms],
            "shared_identity_mmsi": [int(mmsi[a]) for a, _ in self.shared],
            "export_only_mmsi": [int(mmsi[t]) for t in self.export_only],
            **({"identity": {
                "changed_mmsi": [int(mmsi[c["track"]]) for c in self.identity.changes],
                "garbled_mmsi": [int(mmsi[g["track"]]) for g in self.identity.garbles],
                "listed_mmsi": [int(mmsi[x["track"]]) for x in self.identity.listed],
                "invalid_mmsi": [int(mmsi[x["track"]]) for x in self.identity.invalid],
                "type_liar_mmsi": [int(mmsi[t]) for t in self.identity.liars],
                "watchlist_entries": len(self.identity.entries),
            }} if self.identity is not None else {}),
            "skipped": self.skipped,
        }


def strengths_of(artefacts: Mapping[str, float] | None) -> dict[str, float]:
    """Artefacts checked against :data:`ARTEFACTS` (``None``: none)."""
    out = dict(artefacts or {})
    for name, value in out.items():
        if name not in ARTEFACTS:
            raise InvalidValue(f"unknown artefact {name!r}; known: {', '.join(ARTEFACTS)}")
        if not float(value) > 0:
            raise InvalidValue(f"artefact {name}: the strength must be positive, got {value}")
    return {k: float(v) for k, v in out.items()}
