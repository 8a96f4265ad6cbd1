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


def _abreast(pts: list[tuple[float, float]], courses: list[float], apart_km: list[float],
             side: float) -> list[tuple[float, float]]:
    """A consort's waypoints beside ``pts``: ``apart_km[i]`` abeam of ``pts[i]`` on the
    ``side`` (+90 starboard, -90 port) of ``courses[i]``."""
    return [flat_destination(*pt, km, c + side)
            for pt, c, km in zip(pts, courses, apart_km, strict=True)]


def in_company(p: Planter) -> None:
    """A carrier escorts a fishing vessel and they meet at sea: they steam together 150-400 m
    apart at 7-11 kn, stop and drift side by side for 2.5-4 h (0.2-0.8 kn, 50-300 m apart),
    steam on together, then part. They steam together for 1.75-3.5 h before and after the
    drift, an hour longer than the drift in all, so the median speed of the whole run within
    500 m is the steaming speed; the drift alone is the encounter (the sailing in company
    before and after is in its details)."""
    length = p.draw_length(2.5, 4.0, 10.0 * H)
    half = (length + H) / 2
    before, after = p.uniform(half, half + H), p.uniform(half, half + H)
    t_s = p.window_start(before + length + after) + before
    t0, t1 = t_s - before, t_s + length + after
    lat, lon = p.site(tuple(SITE_BOXES), t0=t0, t1=t1, sep_km=80.0)
    mask = int(p.world.zone_mask([lat], [lon])[0])
    v_in, v_out = p.uniform(7.0, 11.0), p.uniform(7.0, 11.0)
    drift_kn = p.uniform(0.2, 0.8)
    sep_m = p.uniform(50, 300)
    side = 90.0 if p.rng.random() < 0.5 else -90.0
    for _ in range(40):  # courses whose passages stay at sea, in the site's zones
        course = p.uniform(0, 360)
        out_course = course + p.uniform(-60, 60)
        start_pt = (lat, lon)
        end_pt = flat_destination(lat, lon, drift_kn * NM_KM * length / H, course)
        meet = flat_destination(lat, lon, v_in * NM_KM * before / H, course + 180.0)
        part = flat_destination(*end_pt, v_out * NM_KM * after / H, out_course)
        if p.path_ok([meet, start_pt, end_pt, part], min_shore_km=20.0, min_port_km=20.0,
                     same_mask=mask):
            break
    else:
        raise PlantError("no passage in company at sea")
    apart_in, apart_out = p.uniform(150, 400) / 1000.0, p.uniform(150, 400) / 1000.0
    cat, mid = p.fishing_partner(mask)
    fv = p.new_track(cat, "encounter_in_company", mid=mid)
    carrier = p.new_track("carrier", "encounter_in_company")
    # the fishing vessel: to the meeting point, in company to the stop, drift, in company on
    cur = p.arrive(fv, meet, t0, v_in)
    cur.go_for(before, *start_pt, UNDERWAY)
    cur.go_for(length, *end_pt, DRIFT, nav=NAV_FISHING, heading=course + 40)
    cur.go_for(after, *part, UNDERWAY)
    p.depart(cur, v_out)
    # the carrier abreast of it
    c_meet, c_start, c_end, c_part = _abreast(
        [meet, start_pt, end_pt, part], [course, course, course, out_course],
        [apart_in, sep_m / 1000.0, sep_m / 1000.0, apart_out], side)
    ccur = p.arrive(carrier, c_meet, t0, v_in)
    ccur.go_for(before, *c_start, UNDERWAY)
    ccur.go_for(length, *c_end, DRIFT, heading=course + 40)
    ccur.go_for(after, *c_part, UNDERWAY)
    p.depart(ccur, p.cruise_speed(carrier))
    for tr in (fv, carrier):
        p.force(tr, t0 - 1.5 * H, t1 + 1.5 * H)
    p.intent("encounter", "transshipment_in_company", [fv, carrier], t_s, t_s + length,
             drift_kn=drift_kn, separation_m=sep_m, planted_start_s=t_s,
             planted_hours=length / H, in_company_before_h=before / H,
             in_company_after_h=after / H, steaming_kn=[v_in, v_out],
             apart_steaming_m=[apart_in * 1000.0, apart_out * 1000.0],
             fishing_category=cat)


def sailing_in_company(p: Planter) -> None:
    """A carrier and a fishing vessel steam together 150-400 m apart for 3-6 h, on two or
    three legs at 4-11 kn each, never slowing, then part: close for hours, never slow."""
    length = p.draw_length(3.0, 6.0, 3 * H)
    t0 = p.window_start(length)
    lat, lon = p.site(tuple(SITE_BOXES), t0=t0, t1=t0 + length, sep_km=80.0)
    mask = int(p.world.zone_mask([lat], [lon])[0])
    n_legs = int(p.rng.integers(2, 4))
    cuts = np.sort(p.rng.uniform(0.2, 0.8, n_legs - 1)) if n_legs > 1 else np.zeros(0)
    durations = np.diff(np.r_[0.0, cuts, 1.0]) * length
    speeds = [p.uniform(4.0, 11.0) for _ in range(n_legs)]
    for _ in range(40):
        courses = [p.uniform(0, 360)]
        for _leg in range(n_legs - 1):
            courses.append(courses[-1] + p.uniform(-40, 40))
        pts = [(lat, lon)]
        for dt, kn, c in zip(durations, speeds, courses, strict=True):
            pts.append(flat_destination(*pts[-1], kn * NM_KM * dt / H, c))
        if p.path_ok(pts, min_shore_km=20.0, min_port_km=20.0, same_mask=mask):
            break
    else:
        raise PlantError("no passage in company at sea")
    apart = [p.uniform(150, 400) / 1000.0 for _ in pts]
    side = 90.0 if p.rng.random() < 0.5 else -90.0
    cat, mid = p.fishing_partner(mask)
    tracks = [p.new_track(cat, "neg_in_company", mid=mid),
              p.new_track("carrier", "neg_in_company")]
    abreast = _abreast(pts, [*courses, courses[-1]], apart, side)
    for tr, way in zip(tracks, (pts, abreast), strict=True):
        cur = p.arrive(tr, way[0], t0, speeds[0])
        for (la, lo), dt in zip(way[1:], durations, strict=True):
            cur.go_for(float(dt), la, lo, UNDERWAY)
        p.depart(cur, p.cruise_speed(tr))
        p.force(tr, t0 - 1.5 * H, t0 + length + 1.5 * H)
    p.negative("encounter", "sailing_in_company", tracks, t0, t0 + length, lat, lon,
               hours=length / H, speeds_kn=speeds, separation_m=[a * 1000.0 for a in apart])
