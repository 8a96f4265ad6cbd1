"""The truth under the messy profile (:mod:`seawatch.sim.artefacts`): what the artefacts
explain, and the negatives they leave.

- **Gaps and coverage.** A silence is a gap only where the vessel's feed was recording: the
  hours of a silence that fall in a hole between capture files, or in an outage of a
  station that heard the vessel's report before or after the silence, do not count. A
  silence whose remaining hours are :data:`~seawatch.sim.truth.gap.GAP_MIN_S` or less is no
  gap; it goes to the negatives (reason ``file_hole`` or ``outage``, whichever explains
  more of it). One that stays a gap says how many hours were not covered.
- **Outliers.** Each report garbled in the air with a wrong position is a negative of type
  ``spoofing`` (reason ``outlier``) at its time, and of types ``zone_entry`` and
  ``zone_exit`` for every zone the wrong position is in or out of when the true one is not.
- **Station clocks and late copies.** A vessel heard by a station whose clock is off is a
  negative (reason ``clock``) of each of :data:`STATION_TYPES` over the time it was heard,
  widened by the clocks' offsets (a line stamped an hour fast, or five hours slow, lies
  there); one with a copy that arrived more than the clean 5 s late, likewise (reason
  ``duplicate``, widened by the longest delay). Vessels with a planted spoofing event get
  no ``spoofing`` negative (their alert is the truth). The window covers the vessel's true
  events too: an alert there is blamed on the artefact only when it matches no truth event
  (``bench/quality.py``).

The negatives of the vessels the profile adds (moored clusters, supply vessels, shared
identities, vessels only in the daily export) are planted with them
(:mod:`seawatch.sim.plant.messy`); their events are taken out of the truth by
:func:`exclude_events`.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import polars as pl

from seawatch.sim import places
from seawatch.sim.artefacts import ArtefactPlan
from seawatch.sim.emit import Positions, outlier_values, report_keys
from seawatch.sim.reception import MAX_DUPLICATE_DELAY_S
from seawatch.sim.truth.gap import GAP_MIN_S

STATION_TYPES = ("spoofing", "gap", "zone_entry", "zone_exit", "port_visit")
"""Types a wrong clock or a late copy makes up: a report placed at another time is a jump
(spoofing), and the track it splits off has silences (gap) and crossings (zone, port) of
its own."""

Negative = dict[str, Any]
"""A negative as the planter records them: type, name, tracks, t0, t1, lat, lon, zone,
params (with ``reason``)."""


def _overlap(a: np.ndarray, b: np.ndarray, windows: np.ndarray) -> np.ndarray:
    """Seconds of each interval [a, b] inside the union-free ``windows`` (k, 2)."""
    out = np.zeros(a.size)
    for w0, w1 in windows:
        out += np.clip(np.minimum(b, w1) - np.maximum(a, w0), 0.0, None)
    return out


def _union_overlap(a: float, b: float, windows: list[tuple[float, float]]) -> float:
    """Seconds of [a, b] inside the union of ``windows`` (each (t0, t1), may overlap)."""
    total, reach = 0.0, a
    for w0, w1 in sorted(windows):
        lo, hi = max(w0, reach), min(w1, b)
        if hi > lo:
            total += hi - lo
            reach = hi
    return total


def _to_passes(windows: list[tuple[float, float]], passes: np.ndarray
               ) -> list[tuple[float, float]]:
    """``windows`` widened to the satellite's passes: from the end of its last pass before
    each (or its start, in a pass) to the start of its first pass after (or its end, in a
    pass): the satellite feed delivers nothing in between."""
    out = []
    for w0, w1 in windows:
        a, b = w0, w1
        if not ((passes[:, 0] < w0) & (passes[:, 1] > w0)).any():
            ended = passes[:, 1][passes[:, 1] <= w0]
            a = float(ended.max()) if ended.size else w0
        if not ((passes[:, 0] < w1) & (passes[:, 1] > w1)).any():
            later = passes[:, 0][passes[:, 0] >= w1]
            b = float(later.min()) if later.size else w1
        out.append((a, b))
    return out


def coverage_gaps(gaps: pl.DataFrame, d: Positions, art: ArtefactPlan,
                  passes: np.ndarray | None = None) -> tuple[pl.DataFrame, list[Negative]]:
    """Split raw gap events into those the capture does not explain (kept, with
    ``uncovered_hours`` in details) and negatives (see the module docstring).

    ``d`` holds the decodable reports the gaps were found in (sorted by track, time);
    ``passes`` the satellite's passes (n, 2): for a vessel the satellite feed heard just
    before or after the silence, a hole or the feed's outage lasts from its last pass
    before to its first pass after.
    """
    if gaps.height == 0 or not (art.holes.size or art.outages.size):
        return gaps, []
    tr = gaps["track"].to_numpy()
    t_off = gaps["start_s"].to_numpy()
    t_on = gaps["end_s"].to_numpy()
    keys = report_keys(d.track, d.t)
    st_off = d.station[np.searchsorted(keys, report_keys(tr, t_off))]
    st_on = d.station[np.searchsorted(keys, report_keys(tr, t_on))]
    a, b = t_off.astype(np.float64), t_on.astype(np.float64)
    hole = _overlap(a, b, art.holes)
    # the hours a hole or an outage of the vessel's station took, each counted once (the
    # satellite feed's outage may hold a hole)
    uncovered = hole.copy()
    sat = len(places.RECEIVERS)  # (the tasked satellite after it has no outage or passes:
    # it hears the watched windows the satellite feed cannot, and nothing else)
    holes = [(float(w0), float(w1)) for w0, w1 in art.holes]
    for i in range(a.size):
        mine = (int(st_off[i]), int(st_on[i]))
        windows = [(float(w0), float(w1)) for s, w0, w1 in art.outages if int(s) in mine]
        if sat in mine and passes is not None:
            windows = _to_passes([*holes, *windows], passes)
        if windows:
            uncovered[i] = _union_overlap(a[i], b[i], [*holes, *windows])
    out = uncovered - hole
    covered = (b - a) - uncovered
    explained = covered <= GAP_MIN_S
    details = [json.loads(x) for x in gaps["details"].to_list()]
    glat, glon = gaps["lat"].to_numpy(), gaps["lon"].to_numpy()
    negatives = [
        {"type": "gap", "name": "silence_the_capture_explains", "tracks": [int(tr[i])],
         "t0": float(a[i]), "t1": float(b[i]), "lat": float(glat[i]),
         "lon": float(glon[i]), "zone": None,
         "params": {"reason": "file_hole" if hole[i] >= out[i] else "outage",
                    "silence_hours": round(float(b[i] - a[i]) / 3600.0, 3),
                    "uncovered_hours": round(float(hole[i] + out[i]) / 3600.0, 3)}}
        for i in np.flatnonzero(explained)]
    for i in range(len(details)):
        if hole[i] + out[i] > 0:
            details[i]["uncovered_hours"] = round(float(hole[i] + out[i]) / 3600.0, 3)
    kept = gaps.with_columns(details=pl.Series([json.dumps(x, sort_keys=True)
                                                for x in details], dtype=pl.String))
    return kept.filter(pl.Series(~explained)), negatives


def outlier_negatives(p: Positions, seed: int, world: Any) -> list[Negative]:
    """Negatives of the reports of ``p`` flagged as outliers (see the module docstring)."""
    i = np.flatnonzero(p.outlier)
    if not i.size:
        return []
    lat, lon, _, kind = outlier_values(seed, p.track[i], p.t[i], p.lat[i], p.lon[i], p.sog[i])
    moved = kind != 3
    i, lat, lon = i[moved], lat[moved], lon[moved]
    mask = world.zone_mask(lat, lon)
    out: list[Negative] = []
    for j, row in enumerate(i):
        base = {"tracks": [int(p.track[row])], "t0": float(p.t[row]), "t1": float(p.t[row]),
                "lat": float(lat[j]), "lon": float(lon[j])}
        params = {"reason": "outlier", "true_lat": float(p.lat[row]),
                  "true_lon": float(p.lon[row])}
        out.append({"type": "spoofing", "name": "report_garbled_in_the_air", "zone": None,
                    **base, "params": params})
        changed = int(mask[j]) ^ int(p.mask[row])
        for k, zone in enumerate(world.zones):
            if changed >> k & 1:
                for typ in ("zone_entry", "zone_exit"):
                    out.append({"type": typ, "name": "report_garbled_in_the_air",
                                "zone": zone.name, **base, "params": params})
    return out


def station_negatives(p: Positions, art: ArtefactPlan, skip: set[int]) -> list[Negative]:
    """Negatives of the vessels heard by a station whose clock is off (reason ``clock``) and
    of those with a copy later than the clean 5 s (``duplicate``), one per type of
    :data:`STATION_TYPES`; tracks in ``skip`` (with a planted spoofing event) get no
    ``spoofing`` one."""
    if not p.t.size:
        return []
    out: list[Negative] = []
    clocked = np.array(sorted(art.clock), np.int64)
    flags = []  # (reason, name, flag per report, seconds the logged times can be off)
    if clocked.size:
        before = -min(0, *art.clock.values())
        after = max(0, *art.clock.values())
        flags.append(("clock", "heard_by_a_station_with_a_wrong_clock",
                      np.isin(p.station, clocked) | np.isin(p.station2, clocked),
                      (before, after)))
    if art.max_delay_s > MAX_DUPLICATE_DELAY_S:
        flags.append(("duplicate", "copy_arriving_late",
                      (p.station2 >= 0) & (p.delay2 > MAX_DUPLICATE_DELAY_S),
                      (0, art.max_delay_s)))
    new = np.r_[True, p.track[1:] != p.track[:-1]]
    first = np.flatnonzero(new)
    last = np.r_[first[1:] - 1, p.t.size - 1]
    for reason, name, flag, (before, after) in flags:
        hit = np.logical_or.reduceat(flag, first)
        for f, la, h in zip(first, last, hit, strict=True):
            track = int(p.track[f])
            if not h:
                continue
            for typ in STATION_TYPES:
                if typ == "spoofing" and track in skip:
                    continue
                out.append({"type": typ, "name": name, "tracks": [track],
                            "t0": float(p.t[f] - before), "t1": float(p.t[la] + after),
                            "lat": float(p.lat[f]),
                            "lon": float(p.lon[f]), "zone": None,
                            "params": {"reason": reason}})
    return out


def exclude_events(raw: pl.DataFrame, art: ArtefactPlan) -> pl.DataFrame:
    """Raw events without those the artefacts explain: encounters of two vessels moored at
    one harbour or standing by one platform, and loitering of supply vessels by their
    platform (their negatives were planted with them)."""
    if raw.height == 0:
        return raw
    pairs = art.excluded_pairs
    standby = art.standby_tracks
    if not pairs and not standby:
        return raw
    typ = raw["type"].to_list()
    a = raw["track"].to_list()
    b = raw["other_track"].to_list()
    keep = [not ((t == "encounter" and x is not None and frozenset((u, x)) in pairs)
                 or (t == "loitering" and u in standby))
            for t, u, x in zip(typ, a, b, strict=True)]
    return raw.filter(pl.Series(keep, dtype=pl.Boolean))
