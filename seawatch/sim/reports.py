"""What the transponders send: report times, and the positions and identities in them.

Everything here is vectorised over all the legs of a window and is a pure function of the
plan, the seed and the window, so any block of tracks or of time can be computed on its own
and gives the same reports as a whole-scenario run (see :mod:`seawatch.sim.rand`).

- **Times.** A track reports on its own grid ``offset + k * interval`` (whole seconds), with
  the interval of the leg it is on (:func:`seawatch.sim.legs.report_interval_s`) and a fixed
  per-track offset; silent legs send nothing. Static messages follow the same rule with
  the 6-minute interval (class B sends part A, then part B 5-60 s later).
- **Positions** are interpolated along the leg; ships at anchor swing (~25 m) about their
  anchor. Speed over ground is the leg speed plus noise (0.15 kn; at anchor 0.05 kn), course
  the leg's bearing plus 1 degree of noise (random at anchor), heading the bearing plus 1.5
  degrees (at anchor or drifting, the ship's own heading plus 5). Values are rounded to
  what AIS carries (1/600000 degree, 0.1 kn, 0.1 degree, whole degrees and seconds).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seawatch.geo.geodesy import flat_bearing, metres_to_degrees
from seawatch.sim import rand
from seawatch.sim.fleet import Fleet
from seawatch.sim.legs import ANCHOR, DRIFT, FLAG_JUMP, STATIC_INTERVAL_S, Legs, report_interval_s

# random streams (see seawatch.sim.rand)
S_PHASE = 1
S_SWING_LAT = 2
S_SWING_LON = 3
S_SOG = 4
S_COG = 5
S_HEADING = 6
S_ANCHOR_COG = 7
S_STATIC_PHASE = 8
S_PART_B = 9

SWING_M = 25.0
"""Standard deviation (m, per axis) of a ship's position about its anchor."""
AIS_UNITS_PER_DEG = 600_000.0
"""AIS positions are whole 1/10000 minutes."""


def ais_degrees(x: np.ndarray) -> np.ndarray:
    """Degrees rounded to AIS resolution, as the decoder will read them back."""
    return np.round(np.asarray(x) * AIS_UNITS_PER_DEG) / AIS_UNITS_PER_DEG


@dataclass
class Transmissions:
    """Reports of a window, sorted by track then time (arrays of one length)."""

    track: np.ndarray  # int64
    t: np.ndarray  # int64 seconds from the scenario start
    leg: np.ndarray  # int64 index into the plan's legs

    @property
    def n(self) -> int:
        return int(self.t.size)


def _schedule(legs: Legs, idx: np.ndarray, interval: np.ndarray, offset_s: np.ndarray,
              lo: np.ndarray, hi: np.ndarray) -> Transmissions:
    """Grid times ``offset + k * interval`` of legs ``idx`` inside [lo, hi) (one window per
    entry; the caller keeps windows inside their leg)."""
    k0 = np.ceil((lo - offset_s) / interval).astype(np.int64)
    k1 = np.ceil((hi - offset_s) / interval).astype(np.int64)
    n = np.maximum(k1 - k0, 0)
    total = int(n.sum())
    rep = np.repeat(np.arange(idx.size), n)
    starts = np.cumsum(n) - n
    j = np.arange(total, dtype=np.int64) - np.repeat(starts, n)
    t = offset_s[rep] + (k0[rep] + j) * interval[rep]
    leg = idx[rep]
    return Transmissions(track=legs.track[leg].astype(np.int64), t=t.astype(np.int64),
                         leg=leg.astype(np.int64))


def count_reports(legs: Legs, idx: np.ndarray, interval: np.ndarray, offset_s: np.ndarray,
                  w0: float, w1: float) -> int:
    """How many reports legs ``idx`` send in [w0, w1) (without listing them)."""
    lo = np.maximum(legs.t0[idx], w0)
    hi = np.minimum(legs.t1[idx], w1)
    k0 = np.ceil((lo - offset_s) / interval).astype(np.int64)
    k1 = np.ceil((hi - offset_s) / interval).astype(np.int64)
    return int(np.maximum(k1 - k0, 0).sum())


def _windowed(legs: Legs, idx: np.ndarray, interval: np.ndarray, offset_s: np.ndarray,
              w0: float, w1: float, windows: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
              | None) -> Transmissions:
    """Reports of legs ``idx`` in [w0, w1), or only inside ``windows`` when given: a list of
    (position in idx, lo, hi) arrays of sub-intervals (they may overlap; duplicates go)."""
    if windows is None:
        lo = np.maximum(legs.t0[idx], w0)
        hi = np.minimum(legs.t1[idx], w1)
        return _schedule(legs, idx, interval, offset_s, lo, hi)
    pos = np.concatenate([w[0] for w in windows]).astype(np.int64)
    lo = np.maximum(np.maximum(np.concatenate([w[1] for w in windows]), legs.t0[idx][pos]), w0)
    hi = np.minimum(np.minimum(np.concatenate([w[2] for w in windows]), legs.t1[idx][pos]), w1)
    ok = hi > lo
    pos, lo, hi = pos[ok], lo[ok], hi[ok]
    # union of each leg's windows, in time order, so that reports come out sorted and once
    order = np.lexsort((lo, pos))
    pos, lo, hi = pos[order], lo[order], hi[order]
    if pos.size:
        span = float(w1 - w0) + 2.0  # running max of hi within each leg, legs kept apart
        base = pos.astype(np.float64) * span - w0
        reach = np.maximum.accumulate(base + hi) - base
        new = np.r_[True, (pos[1:] != pos[:-1]) | (lo[1:] > reach[:-1])]
        first = np.flatnonzero(new)
        pos, lo = pos[first], lo[first]
        hi = np.maximum.reduceat(hi, first)
    return _schedule(legs, idx[pos], interval[pos], offset_s[pos], lo, hi)


def position_plan(seed: int, legs: Legs, fleet: Fleet, idx: np.ndarray, thinning: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(transmitting legs of ``idx``, their report interval, their grid offset)."""
    idx = idx[legs.tx[idx]]
    track = legs.track[idx]
    interval = report_interval_s(fleet.cls[track] == "A", legs.state[idx], legs.speed[idx],
                                 thinning)
    phase = rand.uniform(seed, S_PHASE, track)
    return idx, interval, np.floor(phase * interval).astype(np.int64)


def previous_reports(seed: int, legs: Legs, fleet: Fleet, thinning: int) -> np.ndarray:
    """For every leg, the time of its track's last position report before the leg starts
    (-inf for none): with it, any report's previous report is known without listing it."""
    all_idx = np.arange(legs.n)
    idx, interval, offset_s = position_plan(seed, legs, fleet, all_idx, thinning)
    last = np.full(legs.n, -np.inf)
    k = np.ceil((legs.t1[idx] - offset_s) / interval).astype(np.int64) - 1
    t_last = offset_s + k * interval
    last[idx] = np.where(t_last >= legs.t0[idx], t_last, -np.inf)
    # latest report of any earlier leg of the same track: running max, reset per track
    out = np.full(legs.n, -np.inf)
    if legs.n > 1:
        same = legs.track[1:] == legs.track[:-1]
        lift, span = 2e6, 1e8  # times shifted positive; tracks kept apart by ``span``
        value = np.where(same & np.isfinite(last[:-1]), last[:-1] + lift, 0.0)
        group = np.cumsum(np.r_[True, ~same])[1:].astype(np.float64)
        run = np.maximum.accumulate(value + group * span) - group * span
        out[1:] = np.where(run > 0, run - lift, -np.inf)
    return out


def previous_times(legs: Legs, tx: Transmissions, interval: np.ndarray, prev_leg: np.ndarray
                   ) -> np.ndarray:
    """Time of each report's previous report of the same track (-inf for the first)."""
    t = tx.t.astype(np.float64)
    back = t - interval
    return np.where(back >= legs.t0[tx.leg], back, prev_leg[tx.leg])


def position_times(seed: int, legs: Legs, fleet: Fleet, idx: np.ndarray, w0: float,
                   w1: float, thinning: int, windows=None) -> Transmissions:
    """Position report times of legs ``idx`` (sorted by track, time) within [w0, w1).

    ``windows`` (see :func:`_windowed`, positions relative to the transmitting legs of
    ``idx``, in order) limits them to sub-intervals: a caller that knows no report outside
    them can be heard saves listing those.
    """
    idx, interval, offset_s = position_plan(seed, legs, fleet, idx, thinning)
    win = windows(idx) if callable(windows) else windows
    return _windowed(legs, idx, interval, offset_s, w0, w1, win)


def static_plan(seed: int, legs: Legs, fleet: Fleet, idx: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(legs, interval, offset, part) of the static message schedules of legs ``idx``:
    every transmitting leg once with part 0, class B legs again with part 1."""
    idx = idx[legs.tx[idx]]
    track = legs.track[idx]
    base = rand.integers(seed, S_STATIC_PHASE, 0, STATIC_INTERVAL_S, track)
    is_b = fleet.cls[track] == "B"
    delay = rand.integers(seed, S_PART_B, 5, 61, track[is_b])
    all_idx = np.concatenate([idx, idx[is_b]])
    offset_s = np.concatenate([base, (base[is_b] + delay) % STATIC_INTERVAL_S])
    part = np.concatenate([np.zeros(idx.size, np.int8), np.ones(int(is_b.sum()), np.int8)])
    return all_idx, np.full(all_idx.size, STATIC_INTERVAL_S, np.int64), offset_s, part


def static_times(seed: int, legs: Legs, fleet: Fleet, idx: np.ndarray, w0: float, w1: float,
                 windows=None) -> tuple[Transmissions, np.ndarray]:
    """Times of static messages within [w0, w1): (transmissions, part) with part 0 for a
    message 5 or a part A, 1 for a class B part B."""
    all_idx, interval, offset_s, part = static_plan(seed, legs, fleet, idx)
    out_t, out_p = [], []
    for k in (0, 1):
        sel = np.flatnonzero(part == k)
        win = windows(all_idx[sel]) if callable(windows) else None
        tx = _windowed(legs, all_idx[sel], interval[sel], offset_s[sel], w0, w1, win)
        out_t.append(tx)
        out_p.append(np.full(tx.n, k, np.int8))
    track = np.concatenate([x.track for x in out_t])
    t = np.concatenate([x.t for x in out_t])
    leg = np.concatenate([x.leg for x in out_t])
    part_all = np.concatenate(out_p)
    order = np.lexsort((part_all, t, track))
    return Transmissions(track[order], t[order], leg[order]), part_all[order]


@dataclass
class Kinematics:
    """Noise-free report contents, rounded to AIS resolution."""

    lat: np.ndarray
    lon: np.ndarray
    sog: np.ndarray
    cog: np.ndarray
    heading: np.ndarray  # int64 degrees
    nav: np.ndarray  # int8
    jump: np.ndarray  # bool: a spoofed jump position


def locate(seed: int, legs: Legs, tx: Transmissions, on_land=None
           ) -> tuple[np.ndarray, np.ndarray]:
    """Positions (lat, lon, rounded to AIS resolution) of the reports ``tx``.

    ``on_land`` (a vectorised ``(lat, lon) -> bool`` test) drops the anchor swing where it
    would put a ship ashore; it is never needed elsewhere, since legs are at sea.
    """
    leg = tx.leg
    t = tx.t.astype(np.float64)
    t0, t1 = legs.t0[leg], legs.t1[leg]
    frac = np.clip((t - t0) / np.maximum(t1 - t0, 1e-9), 0.0, 1.0)
    lat = legs.lat0[leg] + frac * (legs.lat1[leg] - legs.lat0[leg])
    lon = legs.lon0[leg] + frac * (legs.lon1[leg] - legs.lon0[leg])
    a = np.flatnonzero(legs.state[leg] == ANCHOR)
    if a.size:
        ka, kb = tx.track[a], tx.t[a]
        dlat, dlon = metres_to_degrees(rand.normal(seed, S_SWING_LAT, ka, kb) * SWING_M,
                                       rand.normal(seed, S_SWING_LON, ka, kb) * SWING_M, lat[a])
        sw_lat = lat[a] + dlat
        sw_lon = lon[a] + dlon
        if on_land is not None:
            ashore = on_land(sw_lat, sw_lon)
            sw_lat[ashore] = lat[a][ashore]
            sw_lon[ashore] = lon[a][ashore]
        lat[a] = sw_lat
        lon[a] = sw_lon
    return ais_degrees(lat), ais_degrees(lon)


def motion(seed: int, legs: Legs, tx: Transmissions
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(sog, cog, heading, nav, jump) of the reports ``tx`` (see the module docstring)."""
    leg = tx.leg
    dlat = legs.lat1[leg] - legs.lat0[leg]
    dlon = legs.lon1[leg] - legs.lon0[leg]
    state = legs.state[leg]
    anchored = state == ANCHOR
    course = flat_bearing(dlat, dlon, legs.lat0[leg])
    moving = (np.abs(dlat) + np.abs(dlon)) > 0
    course = np.where(moving, course, legs.heading[leg])
    key_a, key_b = tx.track, tx.t
    speed = legs.speed[leg]
    noise = rand.normal(seed, S_SOG, key_a, key_b)
    sog = np.where(anchored, np.abs(noise) * 0.05, np.maximum(speed + noise * 0.15, 0.0))
    cog = np.where(anchored, rand.uniform(seed, S_ANCHOR_COG, key_a, key_b) * 360.0,
                   course + rand.normal(seed, S_COG, key_a, key_b)
                   * np.where(state == DRIFT, 8.0, 1.0))
    stopped = anchored | (state == DRIFT)
    heading = np.where(stopped, legs.heading[leg], course) + rand.normal(
        seed, S_HEADING, key_a, key_b) * np.where(stopped, 5.0, 1.5)
    cog = np.round(cog % 360.0, 1)
    cog = np.where(cog >= 360.0, 0.0, cog)
    return (np.round(np.minimum(sog, 102.2), 1), cog,
            np.round(heading).astype(np.int64) % 360, legs.nav[leg].astype(np.int8),
            (legs.flags[leg] & FLAG_JUMP) != 0)


def kinematics(seed: int, legs: Legs, tx: Transmissions, on_land=None) -> Kinematics:
    """Everything a position report says: :func:`locate` and :func:`motion` together."""
    lat, lon = locate(seed, legs, tx, on_land)
    sog, cog, heading, nav, jump = motion(seed, legs, tx)
    return Kinematics(lat, lon, sog, cog, heading, nav, jump)
