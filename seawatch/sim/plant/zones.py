"""Zones: fishing inside the Galápagos Marine Reserve, a Chinese squid jigger fishing inside
Ecuador's EEZ, and the hard negative of a ship skirting a zone's edge without crossing it."""

from __future__ import annotations

import math

from seawatch.geo.geodesy import NM_KM, aeqd, flat_destination, flat_distance_nm, project
from seawatch.sim import places
from seawatch.sim.legs import DRIFT, NAV_FISHING, UNDERWAY
from seawatch.sim.plant.base import H, Planter, PlantError


def fishing_reserve(p: Planter) -> None:
    """A purse seiner fishing inside the Galápagos Marine Reserve: Ecuadorian the first
    time, then alternately foreign (Chinese) and Ecuadorian. A foreign vessel there is
    also fishing in Ecuador's EEZ, which is closed to it too: one episode, one event."""
    w = p.world
    p.reserve_count += 1
    mid = 412 if p.reserve_count % 2 == 0 else 735
    names = [z.name for z in w.zones]
    reserve = names.index("Galápagos Marine Reserve")
    eez = names.index("Ecuador EEZ")
    length = p.draw_length(2.5, 5.0, 7 * H)
    t_s = p.window_start(length, margin=3.5 * H)
    lat, lon = p.reserve_site(reserve, eez, t_s, length)
    track = p.new_track("purse_seiner", "fishing_reserve", mid=mid)
    cur = p.arrive(track, (lat, lon), t_s, p.cruise_speed(track), min_port_km=10.0)
    t_pause = None
    if p.rng.random() < 0.5:  # one short pause (< 1 h), which does not split it
        t_pause = t_s + p.uniform(0.3, 0.6) * length
        p.wander(cur, (lat, lon), 6.0, t_pause, (1.5, 3.5))
        cur.drift(p.uniform(20, 40) * 60.0, p.uniform(0.05, 0.2), p.uniform(0, 360), DRIFT,
                  nav=NAV_FISHING)
    p.wander(cur, (lat, lon), 6.0, t_s + length, (1.5, 3.5))
    p.depart(cur, p.cruise_speed(track), min_port_km=10.0)
    p.force(track, t_s - H, t_s + length + H)
    p.intent("fishing_in_zone", "fishing_in_reserve", [track], t_s, t_s + length,
             zone=names[reserve], hours=length / H, paused=t_pause is not None)


def squid_eez(p: Planter) -> None:
    """A Chinese squid jigger crossing into Ecuador's EEZ to fish, then back out."""
    w = p.world
    names = [z.name for z in w.zones]
    eez = names.index("Ecuador EEZ")
    length = p.draw_length(2.5, 6.0, 9 * H)
    track = p.new_track("squid_jigger", "squid_eez")
    v = p.cruise_speed(track)
    ground = places.GROUNDS[places.SQUID_GROUNDS[int(p.rng.integers(
        len(places.SQUID_GROUNDS)))]]
    gpt = (ground.lat, ground.lon)
    for _ in range(200):
        # a point 25-50 km inside the EEZ, towards the islands from the ground
        b = math.degrees(math.atan2(-90.5 - ground.lon, -0.5 - ground.lat))
        km_in = p.uniform(85.0, 110.0)  # ground centres are 60 km outside
        lat, lon = flat_destination(*gpt, km_in, b + p.uniform(-35, 35))
        la, lo = p.disc(lat, lon, 10.0)
        m = w.zone_mask(la, lo)
        if (m == (1 << eez)).all() and not p.crowded(lat, lon, 0, p.duration, 15.0):
            break
    else:
        raise PlantError("no site inside the EEZ")
    transit = flat_distance_nm(*gpt, lat, lon) / v * H
    t_s = p.window_start(length, margin=transit + 1.5 * H)
    p.sites.append((lat, lon, t_s, t_s + length))
    cur = p.legs.cursor(track, -H, *gpt)
    p.wander(cur, gpt, 20.0, t_s - transit - 600.0, (0.8, 2.5))
    cur.go_for(t_s - cur.t, lat, lon, UNDERWAY)
    p.wander(cur, (lat, lon), 8.0, t_s + length, (0.8, 2.5))
    cur.go(*gpt, v, UNDERWAY)
    p.wander(cur, gpt, 20.0, p.duration + H, (0.8, 2.5))
    p.force(track, t_s - H, t_s + length + H)
    p.intent("fishing_in_zone", "squid_jigger_in_eez", [track], t_s, t_s + length,
             zone=names[eez], hours=length / H)


def skirt_zone(p: Planter) -> None:
    """A ship following a zone's edge 1.8-3 km outside it for 2-5 h."""
    import shapely
    import shapely.ops

    w = p.world
    k = int(p.rng.integers(len(w.zones)))
    zone = w.zones[k]
    parts = sorted(shapely.get_parts(zone.geometry), key=lambda g: -g.area)
    ring = parts[0].exterior
    length = p.draw_length(2.0, 5.0, 4 * H)
    t_s = p.window_start(length, margin=2.0 * H)
    v = p.uniform(8.0, 11.0)
    km = v * NM_KM * length / H
    track = p.new_track("reefer" if p.rng.random() < 0.5 else "cargo", "neg_skirt_zone")
    for _ in range(60):
        b = ring.interpolate(p.uniform(0, 1), normalized=True)
        if not p.in_box(b.y, b.x) or w.shore_km([b.y], [b.x])[0] < 15.0:
            continue
        fwd, inv = aeqd(b.y, b.x)
        local = shapely.intersection(zone.geometry, shapely.box(b.x - 2.5, b.y - 2.5,
                                                                b.x + 2.5, b.y + 2.5))
        zp = project(local, fwd)
        dist_m = p.uniform(1.8, 3.0) * 1000.0
        outer = shapely.buffer(zp, dist_m, quad_segs=16)
        rings = [g.exterior for g in shapely.get_parts(outer)]
        line = min(rings, key=lambda r: r.distance(shapely.Point(0, 0)))
        s0 = line.project(shapely.Point(0, 0))
        s1 = s0 + km * 1000.0
        if s1 > line.length:
            continue
        sub = shapely.ops.substring(line, s0, s1)
        sub = shapely.segmentize(sub, 2000.0)
        xy = shapely.get_coordinates(sub)
        dense = shapely.get_coordinates(shapely.segmentize(sub, 200.0))
        if shapely.distance(zp, shapely.points(dense)).min() < 1500.0:
            continue
        lon_, lat_ = inv.transform(xy[:, 0], xy[:, 1])
        pts = list(zip(lat_, lon_, strict=True))
        outside = 1 << k
        if not p.path_ok(pts, min_port_km=8.0, outside=outside):
            continue
        try:
            before = p.arrive_path(pts[0], t_s, v, outside=outside)
            after = p.depart_path(pts[-1], t_s + length, v, outside=outside)
        except PlantError:
            continue
        break
    else:
        raise PlantError(f"no skirting path along {zone.name}")
    cur = p.legs.cursor(track, -H, *before[0])
    p.follow(cur, before[1:], t_s)
    p.follow(cur, pts[1:], t_s + length)
    p.follow(cur, after[1:], p.duration + H)
    mid = len(pts) // 2
    p.force(track, t_s - 0.5 * H, t_s + length + 0.5 * H)
    p.negative("zone_entry", "skirting_zone_edge", [track], t_s, t_s + length,
               pts[mid][0], pts[mid][1], zone=zone.name,
               min_distance_km=round(dist_m / 1000.0, 2), speed_kn=v)
