"""Who hears a transmission: coastal receivers, satellite passes, and the planted overrides.

The reception model (applied only with noise on; without it every transmission is heard
once, by the station ``seawatch-sim``):

- **Terrestrial**: each receiver of :data:`seawatch.sim.places.RECEIVERS` hears a class A
  report with probability 0.97 up to 55 km, falling linearly to 0 at 80 km (class B, at
  2 W: 0.9 up to 25 km, 0 at 40 km).
- **Satellite**: a low-orbit satellite passes every 1-5.5 h (gap between passes, uniform)
  for 8-14 min, and its footprint covers the whole area. During a pass it hears a class A
  report with probability 0.5 (class B 0.25), and always the first report a vessel sends in
  the pass, so a vessel out of terrestrial range is seen at least once a pass: offshore
  gaps are 1-6 h, never near the 12 h of a gap event.
- **Duplicates**: a report heard by two receivers is written twice, by the nearer one first
  and by the other 0-5 s later (satellite counts as the farthest).
- **Overrides** from the plan: in a *forced* window every report is heard (planted
  behaviours are watched closely, so the truth is visible in the data); in a *blocked*
  window none is (a planted short reception gap).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from seawatch.geo.geodesy import flat_distance_km
from seawatch.sim import places, rand

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.sim.artefacts import ArtefactPlan

S_PASS = 20
S_TERRESTRIAL = 21  # + receiver number
S_SATELLITE = 40
S_DELAY = 41

P_MAX = {"A": 0.97, "B": 0.90}
"""Probability a receiver in full range hears a report, by transponder class."""
P_SATELLITE = {"A": 0.5, "B": 0.25}
"""Probability a satellite in view hears a report (besides the first of each pass)."""
PASS_GAP_H = (1.0, 5.5)
"""Hours between the end of one satellite pass and the start of the next (uniform)."""
PASS_MIN = (8.0, 14.0)
"""Length of a satellite pass, minutes (uniform)."""
MAX_DUPLICATE_DELAY_S = 5
"""A second receiver's copy arrives 0 to this many seconds after the first."""

FORCE = 1
BLOCK = 2


@dataclass
class Overrides:
    """Planted reception windows: (track, t0, t1, kind) with kind FORCE or BLOCK."""

    track: np.ndarray
    t0: np.ndarray
    t1: np.ndarray
    kind: np.ndarray

    @classmethod
    def from_rows(cls, rows: list[tuple[int, float, float, int]]) -> Overrides:
        if not rows:
            return cls(np.empty(0, np.int64), np.empty(0), np.empty(0), np.empty(0, np.int8))
        a = list(zip(*sorted(rows), strict=True))
        return cls(np.array(a[0], np.int64), np.array(a[1], float), np.array(a[2], float),
                   np.array(a[3], np.int8))

    def flags(self, track: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(forced, blocked) for reports (track, t), vectorised over the reports."""
        forced = np.zeros(t.size, bool)
        blocked = np.zeros(t.size, bool)
        if not self.track.size or not t.size:
            return forced, blocked
        first = np.searchsorted(self.track, track, side="left")
        stop = np.searchsorted(self.track, track, side="right")
        most = int((stop - first).max())
        for j in range(most):
            k = first + j
            has = k < stop
            kk = np.where(has, k, 0)
            inside = has & (t >= self.t0[kk]) & (t < self.t1[kk])
            forced |= inside & (self.kind[kk] == FORCE)
            blocked |= inside & (self.kind[kk] == BLOCK)
        return forced, blocked


def satellite_passes(seed: int, t_from: float, t_to: float) -> np.ndarray:
    """Pass windows (n, 2) in seconds from the scenario start, covering [t_from, t_to]."""
    rng = np.random.default_rng([seed & 0xFFFFFFFF, S_PASS])
    t = t_from - rng.uniform(0, PASS_GAP_H[1] * 3600.0)
    out = []
    while t < t_to:
        length = rng.uniform(*PASS_MIN) * 60.0
        out.append((t, t + length))
        t += length + rng.uniform(*PASS_GAP_H) * 3600.0
    return np.array(out, np.float64).reshape(-1, 2)


def _receiver_boxes() -> list[tuple[float, float, float, float]]:
    """(lon_min, lat_min, lon_max, lat_max) around each receiver's farthest reach."""
    out = []
    for rx in places.RECEIVERS:
        reach = max(rx.max_km_a, rx.max_km_b) / 111.0 + 0.01
        reach_lon = reach / np.cos(np.radians(rx.lat))
        out.append((rx.lon - reach_lon, rx.lat - reach, rx.lon + reach_lon, rx.lat + reach))
    return out


def _union_boxes() -> list[tuple[float, float, float, float]]:
    """Receiver boxes merged into one box west of 85 W (the islands), one east (mainland)."""
    groups: dict[bool, list[tuple[float, float, float, float]]] = {}
    for box in _receiver_boxes():
        groups.setdefault(box[0] < -85.0, []).append(box)
    return [(min(b[0] for b in g), min(b[1] for b in g), max(b[2] for b in g),
             max(b[3] for b in g)) for g in groups.values()]


TASKED = "sat-tasked"
"""Station of the watched (planted) windows the satellite feed cannot hear while it is out
(the messy profile's outage): as if another satellite were tasked over them. It delivers
only those vessels, so the satellite feed's outage stays an outage for every other one."""


def station_names(noise: bool, source: str, tasked: bool = False) -> list[str]:
    """Names of the stations a scenario's lines come from (index = station number); with
    ``tasked``, the satellite's outage has :data:`TASKED` after the satellite."""
    if not noise:
        return [source]
    return [r.name for r in places.RECEIVERS] + [places.SATELLITE] + ([TASKED] if tasked else [])


@dataclass
class Heard:
    """Reception of each report: heard at all, first and second station, second's delay."""

    received: np.ndarray  # bool
    station: np.ndarray  # int16 index into station_names (-1 when not received)
    station2: np.ndarray  # int16, -1 when heard once
    delay2: np.ndarray  # int64 seconds after the first copy


def receive(seed: int, noise: bool, passes: np.ndarray, track: np.ndarray, t: np.ndarray,
            lat: np.ndarray, lon: np.ndarray, cls_a: np.ndarray, prev_t: np.ndarray,
            forced: np.ndarray, blocked: np.ndarray, stream: int = 0,
            artefacts: ArtefactPlan | None = None) -> Heard:
    """Who hears each report (see the module docstring).

    ``prev_t`` is the time of the track's previous transmission (-inf for none known), to
    tell the first report of a satellite pass. ``stream`` separates message kinds (position
    reports 0, static messages 1) so they draw independent numbers. ``artefacts`` (the
    messy profile) adds outages (a receiver, or the satellite feed, hears nothing), holes between
    capture files (nothing is recorded, even in a planted window) and longer delays of the
    second copy.
    """
    n = t.size
    if not noise:
        return Heard(np.ones(n, bool), np.zeros(n, np.int16), np.full(n, -1, np.int16),
                     np.zeros(n, np.int64))
    sat = len(places.RECEIVERS)
    best_d = np.full(n, np.inf)
    best_s = np.full(n, -1, np.int16)
    second_d = np.full(n, np.inf)
    second_s = np.full(n, -1, np.int16)
    near_d = np.full(n, np.inf)
    near_s = np.full(n, -1, np.int16)
    key_b = t * 4 + stream
    boxes = _receiver_boxes()
    inside = np.zeros(n, bool)
    for x0, y0, x1, y1 in _union_boxes():
        inside |= (lat >= y0) & (lat <= y1) & (lon >= x0) & (lon <= x1)
    cand = np.flatnonzero(inside)
    for r, rx in enumerate(places.RECEIVERS):
        x0, y0, x1, y1 = boxes[r]
        la_c, lo_c = lat[cand], lon[cand]
        near = cand[(la_c >= y0) & (la_c <= y1) & (lo_c >= x0) & (lo_c <= x1)]
        if not near.size:
            continue
        la, lo, ca = lat[near], lon[near], cls_a[near]
        d = flat_distance_km(la, lo, rx.lat, rx.lon)
        full = np.where(ca, rx.full_km_a, rx.full_km_b)
        far = np.where(ca, rx.max_km_a, rx.max_km_b)
        p = np.where(ca, P_MAX["A"], P_MAX["B"]) * np.clip((far - d) / (far - full), 0, 1)
        closer = (d < far) & (d < near_d[near])
        near_d[near] = np.where(closer, d, near_d[near])
        near_s[near] = np.where(closer, r, near_s[near])
        heard = rand.uniform(seed, S_TERRESTRIAL + r, track[near], key_b[near]) < p
        if artefacts is not None and artefacts.outages.size:
            heard &= ~artefacts.station_out(r, t[near])
        bd, bs = best_d[near], best_s[near]
        sd, ss = second_d[near], second_s[near]
        first = heard & (d < bd)
        nxt = heard & ~first & (d < sd)
        second_d[near] = np.where(first, bd, np.where(nxt, d, sd))
        second_s[near] = np.where(first, bs, np.where(nxt, r, ss))
        best_d[near] = np.where(first, d, bd)
        best_s[near] = np.where(first, r, bs)
    # satellite
    sat_heard = np.zeros(n, bool)
    if passes.size:
        k = np.clip(np.searchsorted(passes[:, 0], t, side="right") - 1, 0, None)
        i = np.flatnonzero((t >= passes[k, 0]) & (t < passes[k, 1]))
        first_of_pass = (prev_t[i] < passes[k[i], 0]) & (stream == 0)
        p_sat = np.where(cls_a[i], P_SATELLITE["A"], P_SATELLITE["B"])
        sat_heard[i] = first_of_pass | (rand.uniform(seed, S_SATELLITE, track[i], key_b[i])
                                        < p_sat)
    if artefacts is not None and artefacts.outages.size:
        sat_heard &= ~artefacts.station_out(sat, t)
    no_one = best_s < 0
    second_s[sat_heard & ~no_one & (second_s < 0)] = sat
    best_s[sat_heard & no_one] = sat
    # planted windows
    need = forced & (best_s < 0)
    fallback = near_s[need]
    if artefacts is not None and artefacts.outages.size:  # the nearest one may be out
        fallback = np.where(artefacts.station_out(fallback, t[need]), -1, fallback)
    # a receiver out is replaced by the satellite feed, and the satellite feed out by a
    # tasked one (station TASKED): the satellite feed out hears no one, watched or not (a
    # feed that kept delivering the watched vessels through its outage would look up to
    # the gap detector, and every other vessel it hears would seem to go dark there)
    fallback = np.where(fallback >= 0, fallback, sat)
    if artefacts is not None and artefacts.outages.size:
        fallback = np.where(artefacts.station_out(fallback, t[need]), sat + 1, fallback)
    best_s[need] = fallback
    best_s[blocked] = -1
    max_delay = MAX_DUPLICATE_DELAY_S
    if artefacts is not None:
        if artefacts.holes.size:
            best_s[artefacts.in_hole(t)] = -1
        max_delay = artefacts.max_delay_s
    second_s[best_s < 0] = -1
    delay = np.zeros(n, np.int64)
    two = np.flatnonzero(second_s >= 0)
    delay[two] = rand.integers(seed, S_DELAY, 0, max_delay + 1, track[two], key_b[two])
    return Heard(best_s >= 0, best_s, second_s, delay)
