"""The planting toolkit: how many behaviours a scenario gets, and the :class:`Planter` that
places them (sites far offshore, paths at sea, movements, forced reception, the record of
what was planted). Each behaviour family is a module of functions of a :class:`Planter`
(:mod:`.meetings`, :mod:`.loitering`, :mod:`.gaps`, :mod:`.zones`, :mod:`.identity`,
:mod:`.ports`); :mod:`seawatch.sim.plant` runs them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from seawatch.errors import SeawatchError
from seawatch.geo.geodesy import NM_KM, flat_destination, flat_destinations, flat_distance_nm
from seawatch.sim import places
from seawatch.sim.fleet import CATEGORIES, FleetBuilder
from seawatch.sim.legs import FISHING, UNDERWAY, Cursor, LegBuilder, densify
from seawatch.sim.reception import FORCE

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.sim.world import World

H = 3600.0

BASE_COUNTS: dict[str, int] = {
    "encounter": 6,
    "loitering": 3,
    "gap": 3,
    "fishing_reserve": 2,
    "squid_eez": 2,
    "shared_mmsi": 1,
    "position_jump": 2,
    "neg_brief_meeting": 3,
    "neg_at_anchor": 2,
    "neg_fast_crossing": 3,
    "neg_short_gap": 3,
    "neg_skirt_zone": 3,
    "neg_slow_fishing": 3,
    "neg_port_pass": 3,
    "encounter_in_company": 2,
    "neg_in_company": 2,
}
"""Planted behaviours and negatives per 500 vessels and 24 hours (the two kinds of sailing in
company come last, so that adding them changed none of the behaviours drawn before them, and
need periods over 6 h: the small 6-hour scenarios other tests are written against are
unchanged)."""

VESSELS_PER: dict[str, int] = {
    "encounter": 2, "loitering": 1, "gap": 1, "fishing_reserve": 1, "squid_eez": 1,
    "shared_mmsi": 2, "position_jump": 1, "neg_brief_meeting": 2, "neg_at_anchor": 2,
    "neg_fast_crossing": 2, "neg_short_gap": 1, "neg_skirt_zone": 1, "neg_slow_fishing": 1,
    "neg_port_pass": 1, "encounter_in_company": 2, "neg_in_company": 2,
}
"""Vessels each behaviour uses (an impostor counts as a vessel)."""

MIN_HOURS: dict[str, float] = {
    "encounter": 5.5, "loitering": 6.0, "gap": 18.0, "fishing_reserve": 9.5,
    "squid_eez": 12.0, "shared_mmsi": 6.5, "position_jump": 2.5, "neg_brief_meeting": 4.0,
    "neg_at_anchor": 1.0, "neg_fast_crossing": 2.5, "neg_short_gap": 4.0,
    "neg_skirt_zone": 6.0, "neg_slow_fishing": 7.5, "neg_port_pass": 2.5,
    "encounter_in_company": 13.0, "neg_in_company": 7.5,
}
"""Shortest period (hours) a behaviour fits in."""

MAX_PLANTED_SHARE = 0.4
"""At most this share of the fleet is planted."""
MAX_SCALE = 8.0
"""Counts stop growing at 8 times ``BASE_COUNTS`` (4,000 vessels for a day): the far
offshore boxes hold only so many well-separated meetings."""

SITE_BOXES: dict[str, tuple[float, float, float, float]] = {
    # (lon_min, lat_min, lon_max, lat_max)
    "high_seas_west": (-98.5, -6.0, -96.6, 3.5),
    "high_seas_south": (-95.0, -8.5, -85.0, -6.2),
    "galapagos_eez_north": (-92.0, 2.6, -87.8, 4.6),
    "galapagos_eez_east": (-88.2, -3.5, -86.3, 1.8),
    "mainland_eez": (-84.2, -4.5, -82.0, 1.5),
    "corridor": (-85.8, -4.0, -84.5, 1.5),
}
"""Boxes far offshore where planted meetings and loitering take place."""

PATH_BOX = (places.COVERAGE[0] + 0.5, places.COVERAGE[1] + 0.5, places.COVERAGE[2] - 0.5,
            places.COVERAGE[3] - 0.5)


def planted_counts(vessels: int, hours: float) -> dict[str, int]:
    """How many of each behaviour a scenario plants.

    ``BASE_COUNTS`` scaled by vessels / 500 x hours / 24 (at most :data:`MAX_SCALE`;
    rounded, at least one each when the fleet has 40 vessels or more), without the
    behaviours the period is too short for, then trimmed so that planted vessels are at
    most 40 % of the fleet.

    >>> c = planted_counts(500, 24.0)
    >>> c["encounter"], c["gap"], c["neg_port_pass"]
    (6, 3, 3)
    >>> planted_counts(500, 6.0)["gap"]
    0
    >>> sum(planted_counts(10, 24.0).values())
    0
    """
    if vessels < 40:
        return {k: 0 for k in BASE_COUNTS}
    f = min(vessels / 500.0 * hours / 24.0, MAX_SCALE)
    counts = {k: max(1, round(b * f)) if hours >= MIN_HOURS[k] else 0
              for k, b in BASE_COUNTS.items()}
    budget = int(MAX_PLANTED_SHARE * vessels)
    while sum(counts[k] * VESSELS_PER[k] for k in counts) > budget:
        k = max(counts, key=lambda name: (counts[name] / max(BASE_COUNTS[name], 1), name))
        counts[k] -= 1
    return counts


class PlantError(SeawatchError, RuntimeError):
    """A behaviour found no place or path that meets its constraints."""


@dataclass
class Planter:
    """Plants behaviours and negatives into a plan's fleet and legs."""

    rng: np.random.Generator
    fleet: FleetBuilder
    legs: LegBuilder
    overrides: list[tuple[int, float, float, int]]
    duration: int
    start_s: int
    seed: int
    intents: list[dict[str, Any]] = field(default_factory=list)
    negatives: list[dict[str, Any]] = field(default_factory=list)
    vessels_used: int = 0
    skipped: list[str] = field(default_factory=list)
    sites: list[tuple[float, float, float, float]] = field(default_factory=list)

    reserve_count: int = 0  # behaviours planted in the reserve so far

    def rollback(self, before: tuple[int, int, int]) -> None:
        """Undo everything added since ``before`` = (tracks, legs, overrides) counts."""
        n_tracks, n_legs, n_over = before
        self.fleet.truncate(n_tracks)
        self.legs.truncate(n_legs)
        del self.overrides[n_over:]
        self.intents = [i for i in self.intents if max(i["tracks"]) < n_tracks]
        self.negatives = [i for i in self.negatives if max(i["tracks"]) < n_tracks]

    # -- geography helpers -------------------------------------------------------------------
    @property
    def world(self) -> World:
        """The default world (zones, ports, land, shore)."""
        from seawatch.sim.world import world

        return world()

    def uniform(self, lo: float, hi: float) -> float:
        """A uniform draw in [lo, hi]; :class:`PlantError` when the range is empty (the
        period is too short for the behaviour)."""
        if hi < lo:
            raise PlantError("period too short")
        return float(self.rng.uniform(lo, hi))

    def disc(self, lat: float, lon: float, km: float, n: int = 64) -> tuple[np.ndarray,
                                                                            np.ndarray]:
        """The centre, ``n`` points at ``km / 2`` and ``n`` at ``km`` around (lat, lon)."""
        a = np.linspace(0, 2 * np.pi, n, endpoint=False)
        r = np.r_[0.0, np.repeat([km / 2, km], n)]
        aa = np.r_[0.0, a, a]
        return flat_destinations(lat, lon, r, aa)

    def site(self, boxes: tuple[str, ...], *, t0: float, t1: float, mask: int | None = None,
             min_shore_km: float = 40.0, min_port_km: float = 30.0, clear_km: float = 15.0,
             sep_km: float = 40.0) -> tuple[float, float]:
        """A random point far offshore whose ``clear_km`` disc is at sea, in one zone set
        (``mask``, or the centre's), away from grounds and from other planted sites."""
        w = self.world
        for _ in range(400):
            box = SITE_BOXES[boxes[int(self.rng.integers(len(boxes)))]]
            lat = self.uniform(box[1], box[3])
            lon = self.uniform(box[0], box[2])
            if self._near_ground(lat, lon, clear_km + 10.0) or self.crowded(lat, lon, t0, t1,
                                                                            sep_km):
                continue
            la, lo = self.disc(lat, lon, clear_km)
            if w.on_land(la, lo).any():
                continue
            m = w.zone_mask(la, lo)
            want = int(m[0]) if mask is None else mask
            if (m != want).any():
                continue
            if w.shore_km(la, lo).min() < min_shore_km:
                continue
            d, _ = w.nearest_port(la, lo)
            if d.min() < min_port_km:
                continue
            self.sites.append((lat, lon, t0, t1))
            return lat, lon
        raise PlantError(f"no site in {boxes}")

    def _near_ground(self, lat: float, lon: float, km: float) -> bool:
        for g in places.GROUNDS.values():
            if flat_distance_nm(lat, lon, g.lat, g.lon) * NM_KM < g.radius_km + km:
                return True
        return False

    def crowded(self, lat: float, lon: float, t0: float, t1: float, km: float) -> bool:
        """Whether a planted site within ``km`` is busy within 6 h of [t0, t1]."""
        for la, lo, s0, s1 in self.sites:
            if s0 - 6 * H < t1 and t0 < s1 + 6 * H and \
                    flat_distance_nm(lat, lon, la, lo) * NM_KM < km:
                return True
        return False

    def path_ok(self, pts: list[tuple[float, float]], *, min_shore_km: float = 3.0,
                min_port_km: float = 8.0, outside: int = 0, same_mask: int | None = None
                 ) -> bool:
        """Whether a polyline stays at sea, in the box, away from ports and out of the zones
        in ``outside`` (and, with ``same_mask``, in exactly those zones)."""
        w = self.world
        la, lo = densify(pts, 1.0)
        x0, y0, x1, y1 = PATH_BOX
        if ((lo < x0) | (lo > x1) | (la < y0) | (la > y1)).any():
            return False
        if w.on_land(la, lo).any():
            return False
        if min_shore_km > 0 and w.shore_km(la, lo).min() < min_shore_km:
            return False
        if min_port_km > 0 and np.isfinite(w.port_km(la, lo)).any():
            d = w.port_km(la, lo)
            if d.min() < min_port_km:
                return False
        if outside or same_mask is not None:
            m = w.zone_mask(la, lo)
            if outside and (m & outside).any():
                return False
            if same_mask is not None and (m != same_mask).any():
                return False
        return True

    def path(self, start: tuple[float, float], km: float, *, tries: int = 120,
             first_bearing: float | None = None, spread: float = 180.0, **ok: Any
              ) -> list[tuple[float, float]]:
        """A polyline of ``km`` from ``start`` in legs of 60-200 km with turns of up to 60
        degrees, meeting :meth:`path_ok`."""
        for _ in range(tries):
            pts = [start]
            left = km
            b = self.uniform(0, 360) if first_bearing is None else first_bearing + self.uniform(
                -spread / 2, spread / 2)
            while left > 1e-6:
                step = min(left, self.uniform(60.0, 200.0))
                pts.append(flat_destination(*pts[-1], step, b))
                left -= step
                b += self.uniform(-60, 60)
            if self.path_ok(pts, **ok):
                return pts
        raise PlantError(f"no path of {km:.0f} km from {start}")

    # -- movement helpers -------------------------------------------------------------------
    def new_track(self, category: str, role: str, **kw: Any) -> int:
        """Add a vessel of ``category`` playing ``role`` (see ``FleetBuilder.add``)."""
        return self.fleet.add(CATEGORIES[category], role=role, **kw)

    def high_seas_crossing(self, kn: tuple[float, float]
                           ) -> tuple[float, tuple[float, float], list[tuple[float, float]]]:
        """A path across the western high seas, north or south outside every zone, from -1 h
        to the end of the period (+1 h) at a speed drawn from ``kn``: ``(speed, start,
        points)``."""
        v = self.uniform(*kn)
        km = v * NM_KM * (self.duration + 2 * H) / H
        bearing = 0.0 if self.rng.random() < 0.5 else 180.0
        x1 = SITE_BOXES["high_seas_west"][2]
        start = (self.uniform(-9.0, -8.0) if bearing == 0.0 else self.uniform(10.0, 11.0),
                 self.uniform(-99.3, x1))
        pts = self.path(start, km, first_bearing=bearing, spread=10.0,
                        outside=all_zones(self.world), min_port_km=0.0)
        return v, start, pts

    def cruise_speed(self, track: int) -> float:
        """The vessel's cruising speed (kn)."""
        return self.fleet.speed_of(track)

    def arrive_path(self, dest: tuple[float, float], t_arrive: float, speed: float,
                    **ok: Any) -> list[tuple[float, float]]:
        """A path from somewhere at -1 h to ``dest`` at ``t_arrive``, at about ``speed``
        (slower, down to 5 kn, when it would be longer than 400 km)."""
        dt = t_arrive + H
        v = min(speed, max(5.0, 400.0 / NM_KM / (dt / H)))
        return self.path(dest, v * NM_KM * dt / H, **ok)[::-1]

    def depart_path(self, start: tuple[float, float], t_start: float, speed: float,
                    **ok: Any) -> list[tuple[float, float]]:
        """A path from ``start`` at ``t_start`` to beyond the end of the period (+1 h)."""
        dt = max(self.duration + H - t_start, 60.0)
        v = min(speed, max(5.0, 400.0 / NM_KM / (dt / H)))
        return self.path(start, v * NM_KM * dt / H, **ok)

    def arrive(self, track: int, dest: tuple[float, float], t_arrive: float, speed: float,
               **ok: Any) -> Cursor:
        """A cursor that starts at -1 h and reaches ``dest`` at ``t_arrive``."""
        pts = self.arrive_path(dest, t_arrive, speed, **ok)
        cur = self.legs.cursor(track, -H, *pts[0])
        self.follow(cur, pts[1:], t_arrive)
        return cur

    def depart(self, cur: Cursor, speed: float, **ok: Any) -> None:
        """Leave from the cursor to beyond the end of the period (+1 h)."""
        if cur.t >= self.duration + H:
            return
        pts = self.depart_path((cur.lat, cur.lon), cur.t, speed, **ok)
        self.follow(cur, pts[1:], self.duration + H)

    def follow(self, cur: Cursor, pts: list[tuple[float, float]], t_end: float,
               state: int = UNDERWAY) -> None:
        """Go through ``pts`` at a constant speed that ends at ``t_end``."""
        seg = [flat_distance_nm(*a, *b) for a, b in zip([(cur.lat, cur.lon), *pts[:-1]], pts,
                                                        strict=True)]
        total = sum(seg)
        span = t_end - cur.t
        for p, nm in zip(pts, seg, strict=True):
            cur.go_for(max(span * nm / total, 1.0), *p, state)

    def wander(self, cur: Cursor, centre: tuple[float, float], radius_km: float,
               t_end: float, speeds: tuple[float, float], state: int = FISHING) -> None:
        """Fish between random points of a disc until ``t_end`` (the last leg is cut)."""
        while cur.t < t_end - 1.0:
            r = radius_km * math.sqrt(self.rng.random())
            target = flat_destination(*centre, r, self.uniform(0, 360))
            v = self.uniform(*speeds)
            dt = max(flat_distance_nm(cur.lat, cur.lon, *target) / v * H, 60.0)
            if cur.t + dt > t_end:
                f = (t_end - cur.t) / dt
                target = (cur.lat + f * (target[0] - cur.lat), cur.lon + f * (target[1]
                                                                              - cur.lon))
                dt = t_end - cur.t
            cur.go_for(dt, *target, state)

    def force(self, track: int, t0: float, t1: float) -> None:
        """Force reception of the vessel's reports in [t0, t1] (a watched vessel)."""
        self.overrides.append((track, t0, t1, FORCE))

    def draw_length(self, lo_h: float, hi_h: float, around: float) -> float:
        """A duration (s) uniform in [lo_h, hi_h] hours, cut to what the period leaves
        once ``around`` seconds are set aside."""
        return self.uniform(lo_h, min(hi_h, (self.duration - around) / H)) * H

    def window_start(self, length: float, margin: float = 1.5 * H) -> float:
        """A uniform start for ``length`` seconds that keeps ``margin`` from both ends of
        the period."""
        lo, hi = margin, self.duration - length - margin
        if hi < lo:
            raise PlantError("period too short")
        return self.uniform(lo, hi)

    def intent(self, typ: str, name: str, tracks: list[int], t0: float, t1: float,
               zone: str | None = None, *, incidental: bool = False, **params: Any) -> None:
        """Record a planted event; ``incidental``: every matching truth event is planted,
        and none need exist (see :func:`seawatch.sim.truth_pass.match_intents`)."""
        intent = {"type": typ, "name": name, "tracks": tracks, "t0": t0, "t1": t1,
                  "zone": zone, "params": _clean(params)}
        if incidental:
            intent["incidental"] = True
        self.intents.append(intent)

    def negative(self, typ: str, name: str, tracks: list[int], t0: float, t1: float,
                 lat: float, lon: float, zone: str | None = None, **params: Any) -> None:
        """Record a hard negative (``typ``: what it must not be detected as)."""
        self.negatives.append({"type": typ, "name": name, "tracks": tracks, "t0": t0,
                               "t1": t1, "lat": lat, "lon": lon, "zone": zone,
                               "params": _clean(params)})

    def fishing_partner(self, mask: int) -> tuple[str, int | None]:
        """Category and MID of a fishing vessel that may fish where ``mask`` says."""
        if mask == 0:
            if self.rng.random() < 0.6:
                return "squid_jigger", None
            return "longliner", int(self.rng.choice([416, 412]))
        return "fishing_a", 735

    def reserve_site(self, reserve: int, eez: int, t0: float, length: float
                      ) -> tuple[float, float]:
        """A site whose 12 km disc lies in the reserve and the EEZ only, at sea, >= 15 km
        from ports and 30 km from other planted sites."""
        w = self.world
        g = w.zones[reserve].geometry
        x0, y0, x1, y1 = g.bounds
        want = (1 << reserve) | (1 << eez)
        for _ in range(500):
            lat, lon = self.uniform(y0, y1), self.uniform(x0, x1)
            la, lo = self.disc(lat, lon, 12.0)
            if (w.zone_mask(la, lo) != want).any() or w.on_land(la, lo).any():
                continue
            if w.nearest_port(la, lo)[0].min() < 15.0 or self.crowded(lat, lon, t0,
                                                                      t0 + length, 30.0):
                continue
            self.sites.append((lat, lon, t0, t0 + length))
            return lat, lon
        raise PlantError("no site in the reserve")

    def in_box(self, lat: float, lon: float) -> bool:
        """Whether a point lies 2 degrees inside :data:`PATH_BOX`."""
        x0, y0, x1, y1 = PATH_BOX
        return x0 + 2 <= lon <= x1 - 2 and y0 + 2 <= lat <= y1 - 2


def all_zones(w: World) -> int:
    """Mask of every zone of the world."""
    return (1 << len(w.zones)) - 1


def _clean(params: dict[str, Any]) -> dict[str, Any]:
    """JSON-friendly parameters (floats rounded)."""
    out: dict[str, Any] = {}
    for k, v in params.items():
        if isinstance(v, float | np.floating):
            out[k] = round(float(v), 3)
        elif isinstance(v, list):
            out[k] = [round(float(x), 3) if isinstance(x, float | np.floating) else x
                      for x in v]
        else:
            out[k] = v
    return out
