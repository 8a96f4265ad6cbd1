"""Loitering: a lone carrier drifting far offshore, and the hard negative of a fishing vessel
hauling its line slowly far offshore (a fishing vessel is not loitering by definition)."""

from __future__ import annotations

import numpy as np

from seawatch.geo.geodesy import NM_KM, flat_destination, flat_distance_nm
from seawatch.sim.legs import DRIFT, FISHING, UNDERWAY
from seawatch.sim.plant.base import SITE_BOXES, H, Planter


def lone_carrier(p: Planter) -> None:
    """A lone carrier drifting far offshore."""
    length = p.draw_length(3.0, 8.0, 3 * H)
    t_s = p.window_start(length)
    lat, lon = p.site(tuple(SITE_BOXES), t0=t_s, t1=t_s + length,
                      min_shore_km=40.0 * NM_KM)
    carrier = p.new_track("carrier", "loitering")
    cur = p.arrive(carrier, (lat, lon), t_s, p.cruise_speed(carrier))
    n = int(p.rng.integers(2, 5))
    cuts = np.sort(p.rng.uniform(0, length, n - 1))
    spans = np.diff(np.r_[0.0, cuts, length])
    speeds = []
    for dt in spans:
        v = p.uniform(0.3, 1.2)
        speeds.append(v)
        cur.drift(float(dt), v, p.uniform(0, 360), DRIFT, heading=p.uniform(0, 360))
    p.depart(cur, p.cruise_speed(carrier))
    p.force(carrier, t_s - H, t_s + length + H)
    p.intent("loitering", "lone_carrier", [carrier], t_s, t_s + length,
             hours=length / H, drift_kn=speeds)


def slow_fishing(p: Planter) -> None:
    """A longliner hauling at 0.8-1.6 kn for 3-6 h far offshore."""
    length = p.draw_length(3.0, 6.0, 4.5 * H)
    t_s = p.window_start(length, margin=2.0 * H)
    lat, lon = p.site(tuple(SITE_BOXES), t0=t_s, t1=t_s + length,
                      min_shore_km=40.0 * NM_KM)
    mask = int(p.world.zone_mask([lat], [lon])[0])
    mid = int(p.rng.choice([416, 412])) if mask == 0 else 735
    track = p.new_track("longliner", "neg_slow_fishing", mid=mid)
    v = p.uniform(0.8, 1.6)
    bearing = p.uniform(0, 360)
    far_end = flat_destination(lat, lon, v * NM_KM * length / H, bearing)
    set_kn = p.uniform(7.0, 9.0)
    t_set = flat_distance_nm(lat, lon, *far_end) / set_kn * H
    # wander, set the line from (lat, lon) outwards at 7-9 kn, haul it back slowly
    cur = p.legs.cursor(track, -H, *flat_destination(lat, lon, 8.0, p.uniform(0, 360)))
    p.wander(cur, (lat, lon), 10.0, t_s - t_set - 1800.0, (2.0, 3.0))
    cur.go_for(t_s - t_set - cur.t, lat, lon, UNDERWAY)
    cur.go_for(t_set, *far_end, FISHING)
    cur.go_for(length, lat, lon, FISHING)
    p.wander(cur, (lat, lon), 10.0, p.duration + H, (2.0, 3.0))
    p.force(track, t_s - H, t_s + length + H)
    p.negative("loitering", "slow_fishing_offshore", [track], t_s, t_s + length, lat,
               lon, speed_kn=v, hours=length / H)
