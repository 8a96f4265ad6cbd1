"""Ground truth: the event definitions of ``docs/detectors.md`` applied to the emitted data.

The truth of a scenario is not a list of what was meant to happen but what the definitions
say happened in the positions a decoder will read (noise-free coordinates; the noise is
then kept from changing any of it, see :mod:`.emit`). Every definition is applied to every
track, so the truth also holds whatever happens by chance: each zone crossing of every
vessel, each port visit, and any encounter or loitering episode nobody planted. Planted
behaviours are then matched to the events found and marked ``planted`` in ``details``
with their parameters; a planted behaviour the definitions do not find is reported by
:func:`match_intents` (it would be a bug of the planter).

The functions take :class:`Track` tables: positions of whole tracks sorted by track and
time. Choices where the definitions leave room (documented in ``docs/sim.md``):

- positions of a spoofed jump are left out of every per-track definition (a segmenter puts
  them in a segment of their own); a shared MMSI's two tracks are treated separately;
- port visits: the 30-minute minimum applies to visits open at the start or end too;
- fishing_in_zone: an episode is a run of positions at fishing speed inside the zones
  closed to the vessel's flag, split by a position outside them or faster than 5 kn, or by
  1 h or more between two positions at fishing speed (a pause, or a reception gap); one
  event per episode, named after the most protective zone fished in;
- encounters: grid times are multiples of 10 minutes (UTC); the mean position is the mean
  of the pair's midpoints, and each vessel's median speed the median of its interpolated
  ``sog``, over the grid steps within 500 m (as ``seawatch.detect.encounter`` does).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numba as nb
import numpy as np
import polars as pl

from seawatch import schema
from seawatch.geo.geodesy import NM_KM, haversine_km, speed_kn

GAP_MIN_S = 12 * 3600
SEGMENT_MAX_GAP_S = 24 * 3600
SEGMENT_MAX_SPEED_KN = 25.0
SEGMENT_NOISE_KM = 1.0
INTENTIONAL_SHORE_NM = 50.0
INTENTIONAL_MIN_POSITIONS = 6
ENCOUNTER_DISTANCE_M = 500.0
ENCOUNTER_MIN_S = 2 * 3600
ENCOUNTER_MAX_SPEED_KN = 2.0
ENCOUNTER_PORT_KM = 10.0
GRID_S = 600
MAX_INTERP_S = 3600
MERGE_S = 4 * 3600
LOITER_SPEED_KN = 2.0
LOITER_MIN_S = 2 * 3600
LOITER_SHORE_NM = 20.0
LOITER_PORT_KM = 10.0
LOITER_MAX_GAP_S = 3600
FISHING_SPEED_KN = (0.5, 5.0)
FISHING_MIN_S = 3600
FISHING_PAUSE_S = 3600
FISHING_ZONE_PRIORITY = {"mpa": 0, "internal_waters": 1, "territorial_sea": 2,
                         "archipelagic_waters": 2}
"""Which zone names an episode across nested closed zones (lowest first, then zone order;
other kinds after): the rule of docs/detectors.md."""
PORT_ENTRY_KM = 3.0
PORT_EXIT_KM = 4.0
PORT_MIN_S = 1800
_CELL_DEG = 0.0047  # >= 500 m in latitude and (|lat| < 15) longitude


@dataclass
class Track:
    """Positions of whole tracks, sorted by track then time (seconds from the start)."""

    track: np.ndarray
    t: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    sog: np.ndarray
    mask: np.ndarray
    port_km: np.ndarray

    @property
    def n(self) -> int:
        return int(self.t.size)

    def take(self, sel: np.ndarray) -> Track:
        return Track(**{k: v[sel] for k, v in self.__dict__.items()})

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(first row, last row) of each run of one track (same order as the tracks)."""
        if not self.n:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        new = np.r_[True, self.track[1:] != self.track[:-1]]
        first = np.flatnonzero(new)
        last = np.r_[first[1:] - 1, self.n - 1]
        return first, last


def _events(rows: dict[str, Any], n: int) -> pl.DataFrame:
    """Frame of n raw events: track(s), start/end seconds, lat, lon, zone, details dicts."""
    base = {
        "type": pl.Series(rows["type"] if isinstance(rows["type"], list)
                          else [rows["type"]] * n, dtype=pl.String),
        "track": pl.Series(np.asarray(rows["track"], np.int64)),
        "other_track": pl.Series(rows.get("other_track", [None] * n), dtype=pl.Int64),
        "start_s": pl.Series(np.asarray(rows["start_s"], np.int64)),
        "end_s": pl.Series(np.asarray(rows["end_s"], np.int64)),
        "lat": pl.Series(np.asarray(rows["lat"], np.float64)),
        "lon": pl.Series(np.asarray(rows["lon"], np.float64)),
        "zone": pl.Series(rows.get("zone", [None] * n), dtype=pl.String),
        "details": pl.Series([json.dumps(d, sort_keys=True) for d in rows["details"]],
                             dtype=pl.String),
    }
    return pl.DataFrame(base)


RAW_SCHEMA = {"type": pl.String, "track": pl.Int64, "other_track": pl.Int64,
              "start_s": pl.Int64, "end_s": pl.Int64, "lat": pl.Float64, "lon": pl.Float64,
              "zone": pl.String, "details": pl.String}


def empty_raw() -> pl.DataFrame:
    return pl.DataFrame(schema=RAW_SCHEMA)


# -- zone crossings ------------------------------------------------------------------------------
def zone_events(p: Track, zones: list[Any]) -> pl.DataFrame:
    """zone_entry / zone_exit at every crossing of consecutive positions of a track."""
    if p.n < 2:
        return empty_raw()
    same = p.track[1:] == p.track[:-1]
    q = np.flatnonzero(same) + 1
    frames = []
    for k, z in enumerate(zones):
        inside = ((p.mask >> k) & 1).astype(bool)
        for typ, hit in (("zone_entry", ~inside[q - 1] & inside[q]),
                         ("zone_exit", inside[q - 1] & ~inside[q])):
            i = q[hit]
            if not i.size:
                continue
            minutes = (p.t[i] - p.t[i - 1]) / 60.0
            frames.append(_events({
                "type": typ, "track": p.track[i], "start_s": p.t[i], "end_s": p.t[i],
                "lat": p.lat[i], "lon": p.lon[i], "zone": [z.name] * i.size,
                "details": [{"zone_kind": z.kind, "minutes_since_previous": round(float(m), 2)}
                            for m in minutes],
            }, i.size))
    return pl.concat(frames) if frames else empty_raw()


# -- port visits ---------------------------------------------------------------------------------
def port_visits(p: Track, world: Any) -> pl.DataFrame:
    """Visits: within 3 km of a port point, until beyond 4 km; at least 30 minutes."""
    if not p.n:
        return empty_raw()
    first, last = p.bounds()
    d = p.port_km
    val = np.where(d <= PORT_ENTRY_KM, 1, np.where(d > PORT_EXIT_KM, 0, -1)).astype(np.int64)
    val[first] = np.where(d[first] <= PORT_EXIT_KM, 1, 0)  # in progress at the start
    idx = np.where(val >= 0, np.arange(p.n), -1)
    idx = np.maximum.accumulate(idx)
    state = val[idx] == 1
    new_track = np.zeros(p.n, bool)
    new_track[first] = True
    end_track = np.zeros(p.n, bool)
    end_track[last] = True
    prev_in = np.r_[False, state[:-1]] & ~new_track
    next_in = np.r_[state[1:], False] & ~end_track
    starts = np.flatnonzero(state & ~prev_in)
    ends = np.flatnonzero(state & ~next_in)
    long = (p.t[ends] - p.t[starts]) >= PORT_MIN_S
    starts, ends = starts[long], ends[long]
    if not starts.size:
        return empty_raw()
    dist, port_row = world.port_index.nearest(p.lat[starts], p.lon[starts])
    names = world.ports["name"].to_numpy()[port_row]
    plat = world.ports["lat"].to_numpy()[port_row]
    plon = world.ports["lon"].to_numpy()[port_row]
    is_open = new_track[starts] | end_track[ends]
    details = [{"port": str(nm), "open": bool(o), "hours": round(float(h), 3),
                "distance_at_start_km": round(float(dd), 3)}
               for nm, o, h, dd in zip(names, is_open, (p.t[ends] - p.t[starts]) / 3600.0,
                                       dist, strict=True)]
    return _events({"type": "port_visit", "track": p.track[starts], "start_s": p.t[starts],
                    "end_s": p.t[ends], "lat": plat, "lon": plon, "details": details},
                   starts.size)


# -- gaps and segments ---------------------------------------------------------------------------
def segment_breaks(p: Track) -> np.ndarray:
    """True at rows that start a new segment (first of a track, > 24 h, or a jump)."""
    if not p.n:
        return np.zeros(0, bool)
    brk = np.ones(p.n, bool)
    same = p.track[1:] == p.track[:-1]
    dt = (p.t[1:] - p.t[:-1]).astype(np.float64)
    km = haversine_km(p.lat[:-1], p.lon[:-1], p.lat[1:], p.lon[1:])
    kn = speed_kn(km, np.maximum(dt, 1.0))
    jump = (kn > SEGMENT_MAX_SPEED_KN) & (km > SEGMENT_NOISE_KM)
    brk[1:] = ~same | (dt > SEGMENT_MAX_GAP_S) | jump
    return brk


def gaps(p: Track, world: Any) -> pl.DataFrame:
    """Consecutive positions of one segment more than 12 h apart."""
    if p.n < 2:
        return empty_raw()
    brk = segment_breaks(p)
    dt = np.r_[0, p.t[1:] - p.t[:-1]]
    on = np.flatnonzero(~brk & (dt > GAP_MIN_S))
    if not on.size:
        return empty_raw()
    off = on - 1
    km = haversine_km(p.lat[off], p.lon[off], p.lat[on], p.lon[on])
    hours = (p.t[on] - p.t[off]) / 3600.0
    shore = world.shore_km(p.lat[off], p.lon[off])
    key = p.track.astype(np.int64) * (1 << 32) + p.t
    lo = np.searchsorted(key, key[off] - GAP_MIN_S, side="left")
    before = off - lo + 1
    details = []
    for h, k, s, b in zip(hours, km, shore, before, strict=True):
        details.append({
            "gap_hours": round(float(h), 3), "distance_km": round(float(k), 3),
            "implied_speed_kn": round(float(k / NM_KM / h), 3),
            "off_distance_from_shore_km": round(float(s), 3),
            "positions_12h_before": int(b),
            "likely_intentional": bool(s > INTENTIONAL_SHORE_NM * NM_KM
                                       and b >= INTENTIONAL_MIN_POSITIONS),
        })
    return _events({"type": "gap", "track": p.track[off], "start_s": p.t[off],
                    "end_s": p.t[on], "lat": p.lat[off], "lon": p.lon[off],
                    "details": details}, on.size)


# -- fishing in a forbidden zone -----------------------------------------------------------------
def fishing_in_zone(p: Track, fleet: Any, world: Any) -> pl.DataFrame:
    """Fishing vessels at 0.5-5 kn for at least 1 h inside zones closed to their flag.

    One event per episode (DESIGN.md: one episode of a behaviour is one event): where closed
    zones nest (the reserve inside the EEZ, for a foreign vessel) the episode runs over their
    union and is named after the most protective zone fished in (an MPA before a territorial
    sea before an EEZ, then the zones' order), as ``seawatch.detect.zone`` names it.
    """
    if not p.n:
        return empty_raw()
    fishing = fleet.is_fishing[p.track]
    flags = np.array(fleet.flag, dtype=object)
    forbid_by_flag = {f: world.forbidden_zones(f) for f in set(fleet.flag)}
    forbidden = np.array([forbid_by_flag[f] for f in flags], np.int64)[p.track]
    f_speed = (p.sog >= FISHING_SPEED_KN[0]) & (p.sog <= FISHING_SPEED_KN[1])
    slow = p.sog < FISHING_SPEED_KN[0]
    closed_here = np.where(fishing, forbidden & p.mask, 0)  # closed zones each position is in
    inside = closed_here != 0
    state = np.where(inside & f_speed, 1, np.where(inside & slow, 2, 0))  # F, pause, other
    keep = np.flatnonzero(state != 2)
    st = state[keep]
    tr = p.track[keep]
    tt = p.t[keep]
    is_f = st == 1
    prev_f = np.r_[False, is_f[:-1]] & np.r_[False, tr[1:] == tr[:-1]]
    gap_ok = np.r_[False, (tt[1:] - tt[:-1]) < FISHING_PAUSE_S]
    start = is_f & ~(prev_f & gap_ok)
    ep = np.cumsum(start) - 1
    rows = keep[is_f]
    ep_f = ep[is_f]
    if not rows.size:
        return empty_raw()
    bounds = np.flatnonzero(np.r_[True, ep_f[1:] != ep_f[:-1]])
    ends = np.r_[bounds[1:] - 1, rows.size - 1]
    s_row, e_row = rows[bounds], rows[ends]
    dur = p.t[e_row] - p.t[s_row]
    ok = np.flatnonzero(dur >= FISHING_MIN_S)
    if not ok.size:
        return empty_raw()
    rank = [(FISHING_ZONE_PRIORITY.get(z.kind, len(FISHING_ZONE_PRIORITY)), k)
            for k, z in enumerate(world.zones)]
    details, names = [], []
    for b, e, d in zip(bounds[ok], ends[ok], dur[ok], strict=True):
        seg = rows[b:e + 1]
        fished = int(np.bitwise_or.reduce(closed_here[seg]))
        k = min(r for r in rank if (fished >> r[1]) & 1)[1]
        names.append(world.zones[k].name)
        details.append({"zone_kind": world.zones[k].kind, "flag": str(flags[p.track[seg[0]]]),
                        "zones": [z.name for j, z in enumerate(world.zones) if (fished >> j) & 1],
                        "hours": round(float(d) / 3600.0, 3),
                        "median_speed_kn": round(float(np.median(p.sog[seg])), 2)})
    return _events({
        "type": "fishing_in_zone", "track": p.track[s_row[ok]], "start_s": p.t[s_row[ok]],
        "end_s": p.t[e_row[ok]], "lat": p.lat[s_row[ok]], "lon": p.lon[s_row[ok]],
        "zone": names, "details": details}, ok.size)


# -- loitering -----------------------------------------------------------------------------------
def loitering_candidates(p: Track, fleet: Any, world: Any) -> pl.DataFrame:
    """Slow runs (< 2 kn, gaps < 1 h) of 2 h or more of non-fishing vessels, every position
    at least 20 nm from shore and 10 km from any port (encounters are removed later)."""
    if not p.n:
        return empty_raw()
    slow = (p.sog < LOITER_SPEED_KN) & ~fleet.is_fishing[p.track]
    same = np.r_[False, p.track[1:] == p.track[:-1]]
    dt = np.r_[np.inf, p.t[1:] - p.t[:-1]]
    cont = slow & np.r_[False, slow[:-1]] & same & (dt < LOITER_MAX_GAP_S)
    start = slow & ~cont
    run = np.cumsum(start) - 1
    rows = np.flatnonzero(slow)
    if not rows.size:
        return empty_raw()
    r = run[rows]
    b = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])
    e = np.r_[b[1:] - 1, rows.size - 1]
    dur = p.t[rows[e]] - p.t[rows[b]]
    long = np.flatnonzero(dur >= LOITER_MIN_S)
    out = []
    for j in long:
        seg = rows[b[j]:e[j] + 1]
        if np.isfinite(p.port_km[seg]).any() and p.port_km[seg].min() < LOITER_PORT_KM:
            continue
        shore = world.shore_km(p.lat[seg], p.lon[seg])
        if shore.min() < LOITER_SHORE_NM * NM_KM:
            continue
        pd_km, _ = world.nearest_port(p.lat[seg], p.lon[seg])
        if pd_km.min() < LOITER_PORT_KM:
            continue
        out.append({
            "track": int(p.track[seg[0]]), "start_s": int(p.t[seg[0]]),
            "end_s": int(p.t[seg[-1]]), "lat": float(p.lat[seg].mean()),
            "lon": float(p.lon[seg].mean()),
            "details": {"hours": round(float(dur[j]) / 3600.0, 3),
                        "mean_speed_kn": round(float(p.sog[seg].mean()), 3),
                        "min_distance_from_shore_nm": round(float(shore.min() / NM_KM), 2),
                        "min_distance_from_port_km": round(float(pd_km.min()), 2),
                        "positions": int(seg.size)},
        })
    if not out:
        return empty_raw()
    return _events({"type": "loitering", "track": [o["track"] for o in out],
                    "start_s": [o["start_s"] for o in out], "end_s": [o["end_s"] for o in out],
                    "lat": [o["lat"] for o in out], "lon": [o["lon"] for o in out],
                    "details": [o["details"] for o in out]}, len(out))


# -- encounters ----------------------------------------------------------------------------------
_SAMPLES = {"k": pl.Int64, "track": pl.Int64, "lat": pl.Float64, "lon": pl.Float64,
            "sog": pl.Float64}


def grid_samples(p: Track, start_s: int) -> pl.DataFrame:
    """Tracks resampled to the 10-minute UTC grid (k = seconds since 1970 / 600): positions
    and ``sog`` interpolated between consecutive positions less than 1 h apart, and taken
    as they are at a position exactly on the grid."""
    if not p.n:
        return pl.DataFrame(schema=_SAMPLES)
    T = p.t + start_s
    same = p.track[1:] == p.track[:-1]
    dt = T[1:] - T[:-1]
    pair = np.flatnonzero(same & (dt < MAX_INTERP_S) & (dt > 0))
    k0 = -(-T[pair] // GRID_S)
    k1 = T[pair + 1] // GRID_S
    n = np.maximum(k1 - k0 + 1, 0)
    rep = np.repeat(pair, n)
    j = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    k = np.repeat(k0, n) + j
    f = (k * GRID_S - T[rep]) / (T[rep + 1] - T[rep])

    def lerp(v: np.ndarray) -> np.ndarray:
        return v[rep] + f * (v[rep + 1] - v[rep])

    on_grid = np.flatnonzero(T % GRID_S == 0)
    frame = pl.DataFrame({
        "k": np.r_[k, T[on_grid] // GRID_S].astype(np.int64),
        "track": np.r_[p.track[rep], p.track[on_grid]].astype(np.int64),
        "lat": np.r_[lerp(p.lat), p.lat[on_grid]], "lon": np.r_[lerp(p.lon), p.lon[on_grid]],
        "sog": np.r_[lerp(p.sog), p.sog[on_grid]],
    })
    return frame.unique(["track", "k"], keep="first", maintain_order=True)


_PIECES = {"track": pl.Int64, "other_track": pl.Int64, "k_start": pl.Int64, "k_end": pl.Int64,
           "steps": pl.UInt32, "median_distance_m": pl.Float64, "lat": pl.Float64,
           "lon": pl.Float64, "median_sog": pl.Float64, "median_sog_other": pl.Float64}
_HARMLESS_BOX_KM = 6.0
_HARMLESS_PORT_KM = 3.0


@nb.njit(cache=True)
def _cell_start(k: np.ndarray, cx: np.ndarray, cy: np.ndarray, lo: int, hi: int, kk: int,
                xx: int, yy: int) -> int:
    """First row in [lo, hi) whose (k, cx, cy) is not below (kk, xx, yy) (rows sorted)."""
    while lo < hi:
        m = (lo + hi) >> 1
        if k[m] < kk or (k[m] == kk and (cx[m] < xx or (cx[m] == xx and cy[m] < yy))):
            lo = m + 1
        else:
            hi = m
    return lo


@nb.njit(cache=True)
def _pair_candidates(k: np.ndarray, cx: np.ndarray, cy: np.ndarray, track: np.ndarray,
                     mmsi: np.ndarray, a: int, b: int, t0: int, t1: int, out_i: np.ndarray,
                     out_j: np.ndarray, count: np.ndarray) -> int:
    """Samples j of the same grid step in the 3 x 3 cells around each sample i in [a, b)
    whose track is in [t0, t1) (rows sorted by k, cx, cy), with ``track[i] < track[j]`` and
    other MMSIs. Counts them per i into ``count`` when ``out_i`` is empty, else writes the
    pairs (i, j) to ``out_i``, ``out_j``; returns how many."""
    fill = out_i.size > 0
    n_all = k.size
    w = 0
    for i in range(a, b):
        if track[i] < t0 or track[i] >= t1:
            continue
        n = 0
        for dx in range(-1, 2):
            r0 = _cell_start(k, cx, cy, 0, n_all, k[i], cx[i] + dx, cy[i] - 1)
            r1 = _cell_start(k, cx, cy, r0, n_all, k[i], cx[i] + dx, cy[i] + 2)
            for j in range(r0, r1):
                if track[i] < track[j] and mmsi[i] != mmsi[j]:
                    if fill:
                        out_i[w] = i
                        out_j[w] = j
                    w += 1
                    n += 1
        if not fill:
            count[i] = n
    return w


class _GridIndex:
    """Grid samples sorted by (grid step, 500 m cell), for listing the pairs of samples of
    one step within 500 m in batches of bounded size: the pairs of a crowded anchorage grow
    with the square of its ships."""

    def __init__(self, samples: pl.DataFrame, mmsi: np.ndarray) -> None:
        k = samples["k"].to_numpy()
        cx = np.floor(samples["lon"].to_numpy() / _CELL_DEG).astype(np.int32)
        cy = np.floor(samples["lat"].to_numpy() / _CELL_DEG).astype(np.int32)
        order = np.lexsort((cy, cx, k))
        self.k = np.ascontiguousarray(k[order], np.int64)
        self.cx, self.cy = cx[order], cy[order]
        del k, cx, cy
        self.track = np.ascontiguousarray(samples["track"].to_numpy()[order], np.int64)
        self.mmsi = np.ascontiguousarray(mmsi[self.track], np.int64)
        self.lat = samples["lat"].to_numpy()[order]
        self.lon = samples["lon"].to_numpy()[order]
        self.sog = samples["sog"].to_numpy()[order]
        del order
        self.span = int(self.track.max()) + 1 if self.track.size else 1
        self.count = np.zeros(self.k.size, np.int64)  # candidate pairs of each sample
        none = np.empty(0, np.int64)
        _pair_candidates(self.k, self.cx, self.cy, self.track, self.mmsi, 0, self.k.size,
                         0, self.span, none, none, self.count)

    def partitions(self, max_candidates: int) -> list[tuple[int, int]]:
        """Ranges of (lower) tracks with about ``max_candidates`` candidate pairs each."""
        per_track = np.cumsum(np.bincount(self.track, weights=self.count, minlength=self.span))
        n = max(1, int(np.ceil(per_track[-1] / max(max_candidates, 1))))
        edges = np.searchsorted(per_track, per_track[-1] * np.arange(1, n) / n, side="right")
        edges = np.unique(np.r_[0, edges, self.span])
        return list(zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True))

    def close_pairs(self, max_rows: int, tracks: tuple[int, int]
                    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(i, j, distance m) of the pairs of samples of one grid step within 500 m
        (``track[i] < track[j]``, other MMSIs, ``track[i]`` in the range ``tracks``), about
        ``max_rows`` candidates at a time."""
        t0, t1 = tracks
        mine = (self.track >= t0) & (self.track < t1)
        cum = np.cumsum(np.where(mine, self.count, 0))
        del mine
        n = self.k.size
        a = 0
        while a < n:
            base = int(cum[a - 1]) if a else 0
            b = max(int(np.searchsorted(cum, base + max_rows, side="right")), a + 1)
            total = int(cum[b - 1]) - base
            if total:
                i = np.empty(total, np.int64)
                j = np.empty(total, np.int64)
                _pair_candidates(self.k, self.cx, self.cy, self.track, self.mmsi, a, b, t0,
                                 t1, i, j, self.count)
                d = haversine_km(self.lat[i], self.lon[i], self.lat[j], self.lon[j]) * 1000.0
                near = d < ENCOUNTER_DISTANCE_M
                yield i[near], j[near], d[near]
            a = b


_BOX_REDUCE = (np.minimum, np.maximum, np.minimum, np.maximum, np.minimum, np.maximum,
               np.logical_or, np.logical_or)


def _merge_boxes(parts: list[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
    """Per pair key, the extent of its close steps and whether each vessel is ever slow at
    one: (key, lat0, lat1, lon0, lon1, k0, k1, slow, slow_other), keys sorted and unique,
    from ``parts`` of such arrays (keys repeated)."""
    cols: list[np.ndarray | None] = [np.concatenate(c) for c in zip(*parts, strict=True)] \
        if len(parts) > 1 else list(parts[0])
    order = np.argsort(cols[0])
    key = cols[0][order]
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if key.size else \
        np.empty(0, np.int64)
    out = [key[first]]
    for c, reduce in enumerate(_BOX_REDUCE, start=1):
        out.append(reduce.reduceat(cols[c][order], first) if first.size else cols[c][:0])
        cols[c] = None  # free as it goes
    return tuple(out)


class _Boxes:
    """The extent of each pair's close steps (:func:`_merge_boxes` columns), updated in
    place; pairs not seen before wait in small batches before they are inserted."""

    def __init__(self, batch: int) -> None:
        self.cols: list[np.ndarray] = []
        self.new: list[tuple[np.ndarray, ...]] = []
        self.waiting = 0
        self.batch = batch

    def add(self, part: tuple[np.ndarray, ...]) -> None:
        """Merge ``part`` (keys unique)."""
        if self.cols and self.cols[0].size:
            key = self.cols[0]
            at = np.minimum(np.searchsorted(key, part[0]), key.size - 1)
            found = key[at] == part[0]
            row = at[found]
            for c, reduce in enumerate(_BOX_REDUCE, start=1):
                self.cols[c][row] = reduce(self.cols[c][row], part[c][found])
            part = tuple(v[~found] for v in part)
        if part[0].size:
            self.new.append(part)
            self.waiting += part[0].size
        if self.waiting > max(self.batch, self.cols[0].size // 4 if self.cols else 0):
            self.flush()

    def flush(self) -> None:
        """Insert the pairs waiting."""
        if not self.new:
            return
        new = _merge_boxes(self.new)
        self.new, self.waiting = [], 0
        if not self.cols:
            self.cols = list(new)
            return
        at = np.searchsorted(self.cols[0], new[0])
        for c in range(len(self.cols)):
            self.cols[c] = np.insert(self.cols[c], at, new[c])


def _pairs_that_may_matter(g: _GridIndex, tracks: tuple[int, int], world: Any,
                           max_rows: int) -> np.ndarray:
    """Sorted keys (``track * g.span + other_track``) of the pairs of lower track in
    ``tracks`` that may make an encounter (see :func:`encounter_pieces`)."""
    boxes = _Boxes(max_rows)
    for i, j, _ in g.close_pairs(max_rows, tracks):
        lat = (g.lat[i] + g.lat[j]) / 2
        lon = (g.lon[i] + g.lon[j]) / 2
        boxes.add(_merge_boxes([(g.track[i] * g.span + g.track[j], lat, lat, lon, lon,
                                 g.k[i], g.k[i], g.sog[i] < ENCOUNTER_MAX_SPEED_KN,
                                 g.sog[j] < ENCOUNTER_MAX_SPEED_KN)]))
    boxes.flush()
    if not boxes.cols:
        return np.empty(0, np.int64)
    key, lat0, lat1, lon0, lon1, k0, k1, slow, slow_other = boxes.cols
    row = np.flatnonzero(((k1 - k0) * GRID_S >= ENCOUNTER_MIN_S) & slow & slow_other)
    harmless = np.zeros(row.size, bool)
    for a in range(0, row.size, max_rows):
        r = row[a:a + max_rows]
        diag = haversine_km(lat0[r], lon0[r], lat1[r], lon1[r])
        centre_port, _ = world.port_index.nearest((lat0[r] + lat1[r]) / 2,
                                                  (lon0[r] + lon1[r]) / 2)
        harmless[a:a + max_rows] = (diag <= _HARMLESS_BOX_KM) \
            & (centre_port <= _HARMLESS_PORT_KM)
    return key[row[~harmless]]


def encounter_pieces(samples: pl.DataFrame, mmsi: np.ndarray, world: Any,
                     max_rows: int = 500_000) -> pl.DataFrame:
    """Candidate encounters: per pair of tracks, grid steps within 500 m merged when less
    than 4 h apart, lasting at least 2 h, with the pair's mean midpoint and each vessel's
    median speed over those steps (what :func:`encounters` then tests).

    Pairs of samples in neighbouring 500 m cells are listed about ``max_rows`` at a time
    (:class:`_GridIndex`), for a range of tracks at a time (about ``16 * max_rows``
    candidates), twice. The first pass keeps only each pair's extent: the box of its close
    steps' midpoints, its first and last close step, and whether each vessel is under 2 kn
    at any of them. Pairs that can never make an encounter are then dropped: close for less
    than 2 h from first to last; one vessel never under 2 kn (no median of its speeds can
    be); or all close steps inside a 6 km box centred within 3 km of a port, so that any
    mean of them is under 10 km from it (ships at anchor together). The second pass gathers
    the close steps of the other pairs. So memory is bounded by the batch sizes and the
    pairs that may matter, not the square of the ships in a crowded anchorage.
    """
    if samples.height == 0:
        return pl.DataFrame(schema=_PIECES)
    g = _GridIndex(samples, mmsi)
    del samples  # the caller may hand it over
    cols: dict[str, list[np.ndarray]] = {c: [] for c in (
        "track", "other_track", "k", "d", "lat", "lon", "sog", "sog_other")}
    for tracks in g.partitions(16 * max_rows):
        keep = _pairs_that_may_matter(g, tracks, world, max_rows)
        if not keep.size:
            continue
        for i, j, d in g.close_pairs(max_rows, tracks):
            key = g.track[i] * g.span + g.track[j]
            at = np.minimum(np.searchsorted(keep, key), keep.size - 1)
            hit = keep[at] == key
            i, j = i[hit], j[hit]
            for c, v in (("track", g.track[i]), ("other_track", g.track[j]), ("k", g.k[i]),
                         ("d", d[hit]), ("lat", (g.lat[i] + g.lat[j]) / 2),
                         ("lon", (g.lon[i] + g.lon[j]) / 2), ("sog", g.sog[i]),
                         ("sog_other", g.sog[j])):
                cols[c].append(v)
    del g
    if not sum(v.size for v in cols["k"]):
        return pl.DataFrame(schema=_PIECES)
    arrays = {c: np.concatenate(v) for c, v in cols.items()}
    del cols
    # one row per pair and step, sorted (numpy: far less memory than polars' unique, sort)
    order = np.lexsort((arrays["k"], arrays["other_track"], arrays["track"]))
    tr, ot, kk = arrays["track"][order], arrays["other_track"][order], arrays["k"][order]
    order = order[np.r_[True, (tr[1:] != tr[:-1]) | (ot[1:] != ot[:-1]) | (kk[1:] != kk[:-1])]]
    del tr, ot, kk
    close = pl.DataFrame({c: v[order] for c, v in arrays.items()})
    del arrays, order
    merge_steps = MERGE_S // GRID_S
    close = close.with_columns(
        new=(pl.col("k").diff().over("track", "other_track").fill_null(10**9) >= merge_steps)
    ).with_columns(run=pl.col("new").cum_sum().over("track", "other_track"))
    runs = close.group_by("track", "other_track", "run").agg(
        k_start=pl.col("k").min(), k_end=pl.col("k").max(), steps=pl.len(),
        median_distance_m=pl.col("d").median(), lat=pl.col("lat").mean(),
        lon=pl.col("lon").mean(), median_sog=pl.col("sog").median(),
        median_sog_other=pl.col("sog_other").median(),
    ).filter((pl.col("k_end") - pl.col("k_start")) * GRID_S >= ENCOUNTER_MIN_S)
    return runs.drop("run").sort("track", "other_track", "k_start").cast(_PIECES)


def encounters(pieces: pl.DataFrame, start_s: int, world: Any) -> pl.DataFrame:
    """Encounters among candidate pieces: both median speeds (over the close grid steps)
    under 2 kn and the mean position at least 10 km from any port."""
    if pieces.height == 0:
        return empty_raw()
    port, _ = world.nearest_port(pieces["lat"].to_numpy(), pieces["lon"].to_numpy())
    ok = (port >= ENCOUNTER_PORT_KM) & (pieces["median_sog"].to_numpy() < ENCOUNTER_MAX_SPEED_KN) \
        & (pieces["median_sog_other"].to_numpy() < ENCOUNTER_MAX_SPEED_KN)
    sel = pieces.filter(pl.Series(ok))
    if sel.height == 0:
        return empty_raw()
    shore = world.shore_km(sel["lat"].to_numpy(), sel["lon"].to_numpy())
    s = sel["k_start"].to_numpy() * GRID_S - start_s
    e = sel["k_end"].to_numpy() * GRID_S - start_s
    details = [{"median_distance_m": round(r["median_distance_m"], 1),
                "hours": round((r["k_end"] - r["k_start"]) * GRID_S / 3600.0, 3),
                "median_speed_kn": [round(r["median_sog"], 2), round(r["median_sog_other"], 2)],
                "grid_steps_within": int(r["steps"]),
                "distance_from_shore_km": round(float(sh), 2),
                "distance_from_port_km": round(float(pt), 2)}
               for r, sh, pt in zip(sel.iter_rows(named=True), shore, port[ok], strict=True)]
    return _events({"type": "encounter", "track": sel["track"].to_numpy(),
                    "other_track": sel["other_track"].to_list(), "start_s": s, "end_s": e,
                    "lat": sel["lat"].to_numpy(), "lon": sel["lon"].to_numpy(),
                    "details": details}, sel.height)


def drop_overlapping(loiter: pl.DataFrame, enc: pl.DataFrame, mmsi: np.ndarray
                     ) -> pl.DataFrame:
    """Loitering episodes that do not overlap an encounter of the same vessel (MMSI)."""
    if loiter.height == 0 or enc.height == 0:
        return loiter
    busy = pl.concat([
        enc.select(m=pl.col("track"), s="start_s", e="end_s"),
        enc.select(m=pl.col("other_track"), s="start_s", e="end_s"),
    ])
    busy = busy.with_columns(m=pl.Series(mmsi[busy["m"].to_numpy()]))
    lo = loiter.with_row_index("_i").with_columns(m=pl.Series(mmsi[loiter["track"].to_numpy()]))
    hit = lo.join(busy, on="m").filter((pl.col("start_s") <= pl.col("e"))
                                       & (pl.col("end_s") >= pl.col("s")))["_i"]
    return lo.filter(~pl.col("_i").is_in(hit.to_list())).drop("_i", "m")


# -- the events table ----------------------------------------------------------------------------
def to_events(raw: pl.DataFrame, mmsi: np.ndarray, start_s: int) -> pl.DataFrame:
    """Raw events (tracks, seconds) as ``schema.EVENTS`` rows, sorted, with event ids."""
    from seawatch.detect.events import to_events as conform

    if raw.height == 0:
        return schema.empty(schema.EVENTS)
    other = raw["other_track"].to_numpy()
    has_other = ~raw["other_track"].is_null().to_numpy()
    other_mmsi = np.where(has_other, mmsi[np.where(has_other, other, 0).astype(np.int64)], 0)
    frame = raw.with_columns(
        mmsi=pl.Series(mmsi[raw["track"].to_numpy()]),
        other_mmsi=pl.Series(other_mmsi).set(pl.Series(~has_other), None),
        start=((pl.col("start_s") + start_s) * 1_000_000).cast(schema.TS),
        end=((pl.col("end_s") + start_s) * 1_000_000).cast(schema.TS),
        score=pl.lit(1.0),
    )
    parts = [conform(frame.filter(pl.col("type") == typ), typ)
             for typ in sorted(set(frame["type"].to_list()))]
    return pl.concat(parts).sort("start", "type", "mmsi", "other_mmsi", nulls_last=True)
