"""Spoofed identities and positions: an impostor transmitting another vessel's MMSI far away,
and a cargo ship whose reports jump far away and back."""

from __future__ import annotations

from seawatch.geo.geodesy import NM_KM, flat_destination, flat_distance_nm
from seawatch.sim.legs import UNDERWAY
from seawatch.sim.plant.base import SITE_BOXES, H, Planter, PlantError, all_zones


def shared_mmsi(p: Planter) -> None:
    """An impostor transmits a foreign longliner's MMSI far away for 4-10 h."""
    w = p.world
    length = p.draw_length(4.0, 10.0, 2.5 * H)
    t_a = p.window_start(length, margin=1.0 * H)
    lat, lon = p.site(("high_seas_south", "high_seas_west"), t0=-H,
                      t1=p.duration + H, mask=0, clear_km=25.0)
    own = p.new_track("longliner", "shared_mmsi", mid=int(p.rng.choice([416, 412])))
    cur = p.legs.cursor(own, -H, *flat_destination(lat, lon, 5.0, p.uniform(0, 360)))
    p.wander(cur, (lat, lon), 20.0, p.duration + H, (1.5, 3.0))
    mmsi = p.fleet.mmsi_of(own)
    imp = p.new_track("longliner", "shared_mmsi_impostor", mmsi=mmsi, like=own)
    for _ in range(100):
        ilat, ilon = p.site(tuple(SITE_BOXES), t0=t_a, t1=t_a + length, mask=0,
                            clear_km=5.0, sep_km=30.0)
        if flat_distance_nm(lat, lon, ilat, ilon) * NM_KM < 300.0:
            p.sites.pop()
            continue
        v = p.uniform(8.0, 11.0)
        try:
            pts = p.path((ilat, ilon), v * NM_KM * length / H, outside=all_zones(w))
        except PlantError:
            p.sites.pop()
            continue
        break
    else:
        raise PlantError("no place for an impostor")
    icur = p.legs.cursor(imp, t_a, *pts[0])
    p.follow(icur, pts[1:], t_a + length)
    p.force(own, t_a - 0.5 * H, t_a + length + 0.5 * H)
    p.force(imp, t_a, t_a + length)
    p.intent("spoofing", "shared_mmsi", [own, imp], t_a, t_a + length,
             kind="shared_mmsi", hours=length / H)
    p.intents[-1]["kind"] = "shared_mmsi"


def position_jump(p: Planter) -> None:
    """A cargo ship whose reports jump 50-150 km away and back."""
    w = p.world
    track = p.new_track("cargo", "position_jump")
    v = p.cruise_speed(track)
    t_j = p.window_start(600.0, margin=1.0 * H)
    # two or three reports: a single report off the track is an outlier (a garbled report),
    # which the detectors set aside, not spoofing (docs/detectors.md)
    n_jump = int(p.rng.integers(2, 4))
    for _ in range(100):
        lat, lon = p.site(tuple(SITE_BOXES), t0=t_j, t1=t_j + 600.0, clear_km=5.0,
                          sep_km=20.0)
        mask = int(w.zone_mask([lat], [lon])[0])
        q = flat_destination(lat, lon, p.uniform(50.0, 150.0), p.uniform(0, 360))
        la, lo = p.disc(*q, 3.0)
        if w.on_land(la, lo).any() or (w.zone_mask(la, lo) != mask).any() or \
                w.nearest_port(la, lo)[0].min() < 20.0:
            p.sites.pop()
            continue
        try:
            cur = p.arrive(track, (lat, lon), t_j, v, same_mask=mask)
        except PlantError:
            p.sites.pop()
            continue
        break
    else:
        raise PlantError("no place for a position jump")
    dt = n_jump * 60.0
    cur.builder.add(track, cur.t, cur.t + dt, *q, *q, v, UNDERWAY, 0, p.uniform(0, 360),
                    -1, True, 1)
    cur.t += dt
    p.depart(cur, v, same_mask=mask)
    p.force(track, t_j - 0.5 * H, t_j + dt + 0.5 * H)
    p.intent("spoofing", "position_jump", [track], t_j, t_j + dt, kind="position_jump",
             reports=n_jump)
    p.intents[-1]["kind"] = "position_jump"
