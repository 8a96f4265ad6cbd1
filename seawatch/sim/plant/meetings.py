"""Meetings at sea: transshipment encounters, and the hard negatives that look like one
(a brief meeting, ships at anchor together near a port, a fast crossing)."""

from __future__ import annotations

from typing import Any

import numpy as np

from seawatch.geo.geodesy import NM_KM, flat_destination, flat_distance_nm
from seawatch.sim import places
from seawatch.sim.legs import ANCHOR, DRIFT, NAV_FISHING, UNDERWAY
from seawatch.sim.plant.base import SITE_BOXES, H, Planter, PlantError


def encounter(p: Planter, straddle: bool = False, *, brief: bool = False,
              in_reserve: bool = False) -> None:
    """A carrier alongside a fishing vessel, drifting (or a brief meeting: a negative);
    ``in_reserve``: inside the Galápagos Marine Reserve."""
    lo_h, hi_h = (40 / 60, 75 / 60) if brief else (2.5, 6.0)
    length = p.draw_length(lo_h, hi_h, 3 * H)
    t_s = p.window_start(length)
    midnight = None
    if straddle and not brief:
        days = [d * 86400.0 - (p.start_s % 86400) for d in range(1, 8)]
        ok = [m for m in days if 2.5 * H <= m <= p.duration - 2.5 * H]
        if ok:
            midnight = ok[int(p.rng.integers(len(ok)))]
            lo = max(1.5 * H, midnight - length + 1.0 * H)
            hi = min(midnight - 1.0 * H, p.duration - length - 1.5 * H)
            if hi >= lo:
                t_s = p.uniform(lo, hi)
            else:
                midnight = None
    if in_reserve and not brief:
        names = [z.name for z in p.world.zones]
        lat, lon = p.reserve_site(names.index("Galápagos Marine Reserve"),
                                  names.index("Ecuador EEZ"), t_s, length)
    else:
        lat, lon = p.site(tuple(SITE_BOXES), t0=t_s, t1=t_s + length)
    mask = int(p.world.zone_mask([lat], [lon])[0])
    cat, mid = p.fishing_partner(mask)
    role = "neg_brief_meeting" if brief else "encounter"
    fv = p.new_track(cat, role, mid=mid)
    carrier = p.new_track("carrier", role)
    drift_kn = p.uniform(0.2, 0.8)
    course = p.uniform(0, 360)
    sep_m = p.uniform(100, 300) if brief else p.uniform(50, 300)
    side = course + (90.0 if p.rng.random() < 0.5 else -90.0)
    # the fishing vessel fishes nearby, reaches the meeting point 10 min early, drifts
    cur = p.legs.cursor(fv, -H, *flat_destination(lat, lon, p.uniform(5, 12),
                                                  p.uniform(0, 360)))
    early = 600.0
    start_pt = flat_destination(lat, lon, drift_kn * NM_KM * early / H, course + 180.0)
    go_kn = 6.0
    t_go = t_s - early - flat_distance_nm(cur.lat, cur.lon, *start_pt) / go_kn * H - 1800.0
    p.wander(cur, (lat, lon), 12.0, max(t_go, -H + 60.0), (1.5, 3.5))
    cur.go_for(max(t_s - early - cur.t, 60.0), *start_pt, UNDERWAY)
    end_pt = flat_destination(lat, lon, drift_kn * NM_KM * length / H, course)
    cur.go_for(t_s + length - cur.t, *end_pt, DRIFT, nav=NAV_FISHING, heading=course + 40)
    p.wander(cur, end_pt, 12.0, p.duration + H, (1.5, 3.5))
    # the carrier comes alongside at t_s, drifts with it, leaves
    c_start = flat_destination(lat, lon, sep_m / 1000.0, side)
    wobble = 0.0 if brief else float(np.clip(p.uniform(-40, 40), 50 - sep_m, 300 - sep_m))
    c_end = flat_destination(*end_pt, (sep_m + wobble) / 1000.0, side)
    ccur = p.arrive(carrier, c_start, t_s, p.cruise_speed(carrier))
    ccur.go_for(length, *c_end, DRIFT, heading=course + 40)
    p.depart(ccur, p.cruise_speed(carrier))
    p.force(fv, t_s - 1.5 * H, t_s + length + 1.5 * H)
    p.force(carrier, t_s - 1.5 * H, t_s + length + 1.5 * H)
    params: dict[str, Any] = {"drift_kn": drift_kn, "separation_m": sep_m,
              "planted_start_s": t_s, "planted_hours": length / H,
              "straddles_midnight": midnight is not None, "fishing_category": cat,
              "in_reserve": in_reserve and not brief}
    if brief:
        p.negative("encounter", "brief_meeting", [fv, carrier], t_s, t_s + length,
                   lat, lon, minutes=length / 60.0, separation_m=sep_m,
                   drift_kn=drift_kn)
    else:
        p.intent("encounter", "transshipment", [fv, carrier], t_s, t_s + length,
                 **params)
        if in_reserve:  # it fishes in the reserve around the meeting, before and after
            p.intent("fishing_in_zone", "fishing_around_meeting_in_reserve", [fv],
                     -H, p.duration + H, zone="Galápagos Marine Reserve",
                     incidental=True, meeting_start_s=t_s)


def brief_meeting(p: Planter) -> None:
    """A carrier and a fishing vessel drifting together for under an hour and a quarter."""
    encounter(p, brief=True)


def ships_at_anchor(p: Planter) -> None:
    """Two ships anchored 100-400 m apart near a port for the whole period."""
    w = p.world
    name = str(p.rng.choice(["manta", "libertad", "esmeraldas", "gye_gulf"]))
    lat, lon, radius = places.ANCHORAGES[name]
    a = flat_destination(lat, lon, p.uniform(0, radius * 0.5), p.uniform(0, 360))
    sep = p.uniform(100, 400)
    b = flat_destination(*a, sep / 1000.0, p.uniform(0, 360))
    if w.on_land([a[0], b[0]], [a[1], b[1]]).any():
        raise PlantError("anchorage on land")
    tracks = []
    for pt in (a, b):
        tr = p.new_track("anchored", "neg_at_anchor")
        cur = p.legs.cursor(tr, -H, *pt)
        cur.dest = p.legs.dest(places.PORT_NAMES[name])
        cur.hold(p.duration + 2 * H, ANCHOR, heading=p.uniform(0, 360))
        tracks.append(tr)
    d, port = w.nearest_port([a[0]], [a[1]])
    p.negative("encounter", "ships_at_anchor", tracks, 0.0, float(p.duration),
               a[0], a[1], separation_m=sep, port=str(port[0]),
               distance_from_port_km=float(d[0]))


def fast_crossing(p: Planter) -> None:
    """Two ships crossing at speed, passing 100-400 m apart."""
    t_c = p.window_start(0.0, margin=1.0 * H)
    lat, lon = p.site(tuple(SITE_BOXES), t0=t_c - H, t1=t_c + H, clear_km=5.0,
                      min_shore_km=20.0, min_port_km=20.0)
    sep = p.uniform(100, 400)
    b1 = p.uniform(0, 360)
    b2 = b1 + p.uniform(60, 120) * (1 if p.rng.random() < 0.5 else -1)
    tracks = []
    other = flat_destination(lat, lon, sep / 1000.0, b1 + 90)
    for k, (bearing, pt) in enumerate(((b1, (lat, lon)), (b2, other))):
        tr = p.new_track("cargo" if k == 0 else "tanker", "neg_fast_crossing")
        v = p.uniform(10.0, 15.0)
        # straight through the crossing point for 30 min each way
        p_in = flat_destination(*pt, v * NM_KM * 0.5, bearing + 180)
        p_out = flat_destination(*pt, v * NM_KM * 0.5, bearing)
        cur = p.arrive(tr, p_in, t_c - 0.5 * H, v, first_bearing=bearing + 180,
                       spread=90.0)
        cur.go_for(0.5 * H, *pt, UNDERWAY)
        cur.go_for(0.5 * H, *p_out, UNDERWAY)
        path = p.path(p_out, v * NM_KM * max((p.duration + H - cur.t) / H, 0.01),
                      first_bearing=bearing, spread=90.0)
        p.follow(cur, path[1:], p.duration + H)
        p.force(tr, t_c - H, t_c + H)
        tracks.append(tr)
    p.negative("encounter", "fast_crossing", tracks, t_c - 300.0, t_c + 300.0, lat,
               lon, separation_m=sep)
