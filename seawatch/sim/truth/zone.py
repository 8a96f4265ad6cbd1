"""Zone truth: every crossing of a zone boundary, and fishing in zones closed to the flag."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from seawatch.sim.truth.events import Track, empty_raw, raw_events

FISHING_SPEED_KN = (0.5, 5.0)
FISHING_MIN_S = 3600
FISHING_PAUSE_S = 3600
FISHING_ZONE_PRIORITY = {"mpa": 0, "internal_waters": 1, "territorial_sea": 2,
                         "archipelagic_waters": 2}
"""Which zone names an episode across nested closed zones (lowest first, then zone order;
other kinds after): the rule of docs/detectors.md."""


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
            frames.append(raw_events({
                "type": typ, "track": p.track[i], "start_s": p.t[i], "end_s": p.t[i],
                "lat": p.lat[i], "lon": p.lon[i], "zone": [z.name] * i.size,
                "details": [{"zone_kind": z.kind, "minutes_since_previous": round(float(m), 2)}
                            for m in minutes],
            }, i.size))
    return pl.concat(frames) if frames else empty_raw()


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
    return raw_events({
        "type": "fishing_in_zone", "track": p.track[s_row[ok]], "start_s": p.t[s_row[ok]],
        "end_s": p.t[e_row[ok]], "lat": p.lat[s_row[ok]], "lon": p.lon[s_row[ok]],
        "zone": names, "details": details}, ok.size)
