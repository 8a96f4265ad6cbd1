"""Loitering truth: slow runs of non-fishing vessels far from shore and ports, without an
encounter of the same vessel at the same time."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from seawatch.geo.geodesy import NM_KM
from seawatch.sim.truth.events import Track, empty_raw, raw_events

LOITER_SPEED_KN = 2.0
LOITER_MIN_S = 2 * 3600
LOITER_SHORE_NM = 20.0
LOITER_PORT_KM = 10.0
LOITER_MAX_GAP_S = 3600


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
    return raw_events({"type": "loitering", "track": [o["track"] for o in out],
                       "start_s": [o["start_s"] for o in out], "end_s": [o["end_s"] for o in out],
                       "lat": [o["lat"] for o in out], "lon": [o["lon"] for o in out],
                       "details": [o["details"] for o in out]}, len(out))


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
