"""Port-visit truth: within 3 km of a port point until beyond 4 km, for 30 minutes or more."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from seawatch.sim.truth.events import Track, empty_raw, raw_events

PORT_ENTRY_KM = 3.0
PORT_EXIT_KM = 4.0
PORT_MIN_S = 1800


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
    return raw_events({"type": "port_visit", "track": p.track[starts], "start_s": p.t[starts],
                       "end_s": p.t[ends], "lat": plat, "lon": plon, "details": details},
                      starts.size)
