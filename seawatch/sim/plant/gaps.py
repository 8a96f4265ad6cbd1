"""AIS gaps: a trafficking run with the transponder off far offshore, and the hard negative
of a ship not heard for a few hours (a blocked receiver, not a gap)."""

from __future__ import annotations

from seawatch.geo.geodesy import NM_KM, flat_destination
from seawatch.sim.fleet import CATEGORIES
from seawatch.sim.legs import UNDERWAY
from seawatch.sim.plant.base import H, Planter, PlantError
from seawatch.sim.reception import BLOCK
from seawatch.sim.traffic import route_plan


def dark_run(p: Planter) -> None:
    """A trafficking run: AIS off for 13.5-21.5 h far offshore, on again far away."""
    t_off = p.uniform(3.0 * H, max(3.0 * H, p.duration - 15.5 * H))
    dark = p.uniform(13.5, min(21.5, (p.duration - t_off) / H - 1.5)) * H
    if dark < 13.5 * H:
        raise PlantError("period too short")
    v = p.uniform(9.0, 13.0)
    w = p.world
    track = p.new_track("fishing_a", "gap", mid=735)
    for _ in range(80):
        off = p.site(("mainland_eez", "corridor", "galapagos_eez_east"),
                     t0=t_off - 3 * H, t1=t_off, min_shore_km=100.0, min_port_km=60.0,
                     clear_km=5.0, sep_km=20.0)
        bearing = p.uniform(0, 360)
        before = flat_destination(*off, v * NM_KM * (t_off + H) / H, bearing + 180.0)
        on = flat_destination(*off, v * NM_KM * dark / H, bearing)
        after = flat_destination(*on, v * NM_KM * (p.duration + H - t_off - dark) / H,
                                 bearing)
        if p.path_ok([before, off, on, after], min_port_km=20.0) and \
                w.shore_km([off[0]], [off[1]])[0] > 100.0:
            break
        p.sites.pop()
    else:
        raise PlantError("no path for a dark run")
    cur = p.legs.cursor(track, -H, *before)
    cur.go_for(t_off + H, *off, UNDERWAY)
    cur.tx = False
    cur.go_for(dark, *on, UNDERWAY)
    cur.tx = True
    cur.go_for(p.duration + H - cur.t, *after, UNDERWAY)
    p.force(track, t_off - 3 * H, t_off)
    p.force(track, t_off + dark, t_off + dark + H)
    p.intent("gap", "trafficking_run", [track], t_off - 120.0, t_off + dark + 120.0,
             dark_hours=dark / H, speed_kn=v, intentional=True,
             distance_km=v * NM_KM * dark / H)


def short_gap(p: Planter) -> None:
    """A ship on its route not heard for 2-8 h."""
    length = p.draw_length(2.0, 8.0, 2 * H)
    t0 = p.window_start(length, margin=1.0 * H)
    c = CATEGORIES["cargo"]
    route = str(c.places[int(p.rng.integers(len(c.places)))])
    track = p.new_track("cargo", "neg_short_gap", place=route)
    route_plan(p.rng, p.legs, track, route, p.cruise_speed(track), p.duration)
    p.overrides.append((track, t0, t0 + length, BLOCK))
    p.force(track, t0 - 900.0, t0)
    p.force(track, t0 + length, t0 + length + 900.0)
    p.negative("gap", "short_reception_gap", [track], t0, t0 + length, float("nan"),
               float("nan"), hours=length / H)
