"""Gap truth: where segments break, and positions of one segment more than 12 h apart."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from seawatch.geo.geodesy import NM_KM, haversine_km, speed_kn
from seawatch.sim.truth.events import Track, empty_raw, raw_events

GAP_MIN_S = 12 * 3600
SEGMENT_MAX_GAP_S = 24 * 3600
SEGMENT_MAX_SPEED_KN = 25.0
SEGMENT_NOISE_KM = 1.0
INTENTIONAL_SHORE_NM = 50.0
INTENTIONAL_MIN_POSITIONS = 6


def _jumps(p: Track) -> np.ndarray:
    """True at rows reached from the previous one faster than a vessel moves (a jump)."""
    out = np.zeros(p.n, bool)
    dt = (p.t[1:] - p.t[:-1]).astype(np.float64)
    km = haversine_km(p.lat[:-1], p.lon[:-1], p.lat[1:], p.lon[1:])
    kn = speed_kn(km, np.maximum(dt, 1.0))
    out[1:] = (kn > SEGMENT_MAX_SPEED_KN) & (km > SEGMENT_NOISE_KM)
    return out


def segment_breaks(p: Track) -> np.ndarray:
    """True at rows that start a new segment (first of a track, > 24 h, or a jump)."""
    if not p.n:
        return np.zeros(0, bool)
    brk = np.ones(p.n, bool)
    same = p.track[1:] == p.track[:-1]
    dt = (p.t[1:] - p.t[:-1]).astype(np.float64)
    brk[1:] = ~same | (dt > SEGMENT_MAX_GAP_S) | _jumps(p)[1:]
    return brk


def gaps(p: Track, world: Any) -> pl.DataFrame:
    """Consecutive positions of one track more than 12 h apart, unless a jump separates
    them: within a segment, or across the break a silence of more than 24 h makes (the
    detector joins the end of one segment to the start of the next when the MMSI sent
    nothing in between)."""
    if p.n < 2:
        return empty_raw()
    brk = segment_breaks(p)
    dt = np.r_[0, p.t[1:] - p.t[:-1]]
    same = np.r_[False, p.track[1:] == p.track[:-1]]
    quiet = ~brk | (same & (dt > SEGMENT_MAX_GAP_S) & ~_jumps(p))
    on = np.flatnonzero(quiet & (dt > GAP_MIN_S))
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
    return raw_events({"type": "gap", "track": p.track[off], "start_s": p.t[off],
                       "end_s": p.t[on], "lat": p.lat[off], "lon": p.lon[off],
                       "details": details}, on.size)
