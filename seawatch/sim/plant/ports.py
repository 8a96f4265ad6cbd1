"""Ports: the hard negative of a ship passing close to an isolated port point without
stopping (port visits themselves happen in the background traffic)."""

from __future__ import annotations

from seawatch.geo.geodesy import NM_KM, flat_destination
from seawatch.sim.legs import UNDERWAY, densify
from seawatch.sim.plant.base import H, Planter, PlantError


def port_pass(p: Planter) -> None:
    """A ship passing 1.5-2.5 km from an isolated port point without stopping."""
    w = p.world
    table = w.ports
    plat = table["lat"].to_numpy()
    plon = table["lon"].to_numpy()
    isolated = w.port_index.isolated(10.0)
    t_c = p.window_start(0.0, margin=1.0 * H)
    v = p.uniform(10.0, 14.0)
    track = p.new_track("cargo" if p.rng.random() < 0.5 else "tanker", "neg_port_pass")
    for _ in range(200):
        i = int(isolated[int(p.rng.integers(isolated.size))])
        if not p.in_box(plat[i], plon[i]):
            continue
        dmin = p.uniform(1.5, 2.5)
        theta = p.uniform(0, 360)
        x = flat_destination(plat[i], plon[i], dmin, theta)
        a = flat_destination(*x, 15.0, theta + 90)
        b = flat_destination(*x, 15.0, theta - 90)
        la, lo = densify([a, x, b], 0.1)
        if w.on_land(la, lo).any() or w.shore_km(la, lo).min() < 0.5:
            continue
        d = w.port_km(la, lo)
        step_s = 0.1 / (v * NM_KM) * H
        within3 = float((d <= 3.0).sum() * step_s)
        if within3 > 20 * 60 or within3 == 0 or d[0] <= 6.0 or d[-1] <= 6.0:
            continue
        t_a = t_c - 15.0 / (v * NM_KM) * H
        t_b = t_c + 15.0 / (v * NM_KM) * H
        try:
            before = p.arrive_path(a, t_a, v, first_bearing=theta + 90, spread=60.0)
            after = p.depart_path(b, t_b, v, first_bearing=theta - 90, spread=60.0)
        except PlantError:
            continue
        break
    else:
        raise PlantError("no port to pass")
    cur = p.legs.cursor(track, -H, *before[0])
    p.follow(cur, before[1:], t_a)
    cur.go_for(t_c - t_a, *x, UNDERWAY)
    cur.go_for(t_b - t_c, *b, UNDERWAY)
    p.follow(cur, after[1:], p.duration + H)
    p.force(track, t_c - 2 * H, t_c + 2 * H)
    p.negative("port_visit", "passing_port", [track], t_c - within3 / 2,
               t_c + within3 / 2, float(plat[i]), float(plon[i]),
               port=str(table["name"][i]), min_distance_km=dmin,
               minutes_within_3km=within3 / 60.0, speed_kn=v)
