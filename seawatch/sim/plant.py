"""Planted behaviours and hard negatives: the tracks detectors are judged on.

Each behaviour is one or two dedicated tracks whose legs act it out, with reception forced
on around it (so the truth is visible in the data: a watched vessel, e.g. tasked
satellite coverage). What is planted, with its parameters (drawn uniformly in the ranges
given):

=======================  =================================================================
behaviour                what happens
=======================  =================================================================
transshipment encounter  a carrier (reefer, type 70) comes alongside a fishing vessel far
                         from port (>= 40 km from shore, >= 30 km from any port); both drift
                         together at 0.2-0.8 kn, 50-300 m apart, for 2.5-6 h; one in three
                         straddles midnight UTC, and another one in three (the first, so
                         that even a small scenario has one) takes place inside the
                         Galápagos Marine Reserve (>= 15 km from any port), with the
                         fishing vessel fishing in the reserve around it. Outside any zone
                         the fishing vessel is a Chinese squid jigger or a foreign
                         longliner; inside the EEZ an Ecuadorian one.
loitering                a lone carrier drifts at 0.3-1.2 kn for 3-8 h, >= 40 nm from shore
                         and >= 30 km from any port, then leaves.
AIS gap                  a small Ecuadorian vessel heading out >= 100 km from shore switches
                         its AIS off for 13.5-21.5 h on a trafficking run at 9-13 kn and
                         reappears 200-500 km away (implied speed = its real speed).
fishing in the reserve   an Ecuadorian purse seiner enters the Galápagos Marine Reserve
                         (beyond the territorial sea) and fishes at 1.5-3.5 kn for 2.5-5 h.
squid jigger in the EEZ  a Chinese jigger leaves its ground outside the EEZ, fishes 25-50 km
                         inside Ecuador's EEZ at 0.8-2.5 kn for 2.5-6 h, and goes back.
shared MMSI              an impostor uses a foreign longliner's MMSI (and name) for 4-10 h,
                         >= 300 km away, both transmitting.
position jump            a cargo ship's reports jump 50-150 km away for 1-3 reports and back.
=======================  =================================================================

Hard negatives (recorded in ``negatives``, never in the truth; ``type`` is what they must
not be detected as):

=======================  =================================================================
negative (type)          what happens
=======================  =================================================================
brief meeting            a carrier and a fishing vessel drift 100-300 m apart for 40-75 min
(encounter)              at sea, then part (< 1.5 h within 500 m; the definition needs 2 h).
ships at anchor          two ships anchored 100-400 m apart within 3 km of a port point for
(encounter)              the whole period (the definition needs >= 10 km from ports).
fast crossing            two ships on crossing courses at 10-15 kn pass 100-400 m apart.
(encounter)
short reception gap      a ship is not heard for 2-8 h (a blocked receiver), then is again.
(gap)
skirting a zone          a ship follows a zone's edge 1.8-3 km outside it for 2-5 h without
(zone_entry)             crossing it (approach and departure stay outside too).
slow fishing offshore    a longliner hauls its line at 0.8-1.6 kn for 3-6 h far offshore: a
(loitering)              fishing vessel, so not loitering by definition.
passing a port           a ship passes 1.5-2.5 km from an isolated port point at 10-14 kn:
(port_visit)             under 20 minutes within 3 km.
=======================  =================================================================

Counts scale with the fleet and the period (:func:`planted_counts`); behaviours that do not
fit the period are left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from seawatch.errors import SeawatchError
from seawatch.geo.geodesy import NM_KM, flat_destination, flat_destinations, flat_distance_nm
from seawatch.sim import places
from seawatch.sim.fleet import CATEGORIES, FleetBuilder
from seawatch.sim.legs import (
    ANCHOR,
    DRIFT,
    FISHING,
    NAV_FISHING,
    UNDERWAY,
    Cursor,
    LegBuilder,
    densify,
)
from seawatch.sim.reception import BLOCK, FORCE

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
}
"""Planted behaviours and negatives per 500 vessels and 24 hours."""

VESSELS_PER: dict[str, int] = {
    "encounter": 2, "loitering": 1, "gap": 1, "fishing_reserve": 1, "squid_eez": 1,
    "shared_mmsi": 2, "position_jump": 1, "neg_brief_meeting": 2, "neg_at_anchor": 2,
    "neg_fast_crossing": 2, "neg_short_gap": 1, "neg_skirt_zone": 1, "neg_slow_fishing": 1,
    "neg_port_pass": 1,
}
"""Vessels each behaviour uses (an impostor counts as a vessel)."""

MIN_HOURS: dict[str, float] = {
    "encounter": 5.5, "loitering": 6.0, "gap": 18.0, "fishing_reserve": 9.5,
    "squid_eez": 12.0, "shared_mmsi": 6.5, "position_jump": 2.5, "neg_brief_meeting": 4.0,
    "neg_at_anchor": 1.0, "neg_fast_crossing": 2.5, "neg_short_gap": 4.0,
    "neg_skirt_zone": 6.0, "neg_slow_fishing": 7.5, "neg_port_pass": 2.5,
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
    _sites: list[tuple[float, float, float, float]] = field(default_factory=list)

    # -- driver ------------------------------------------------------------------------------
    def plan_all(self, vessels: int) -> None:
        counts = planted_counts(vessels, self.duration / H)
        for name, n in counts.items():
            for i in range(n):
                before = (self.fleet.n, self.legs.n, len(self.overrides))
                try:
                    if name == "encounter":
                        self.encounter(straddle=i % 3 == 1, in_reserve=i % 3 == 0)
                    else:
                        getattr(self, name)()
                except PlantError as exc:
                    self._rollback(before)
                    self.skipped.append(f"{name}: {exc}")
        self.vessels_used = self.fleet.n

    def _rollback(self, before: tuple[int, int, int]) -> None:
        n_tracks, n_legs, n_over = before
        for key in self.fleet._rows:
            del self.fleet._rows[key][n_tracks:]
        self.legs.truncate(n_legs)
        del self.overrides[n_over:]
        self.intents = [i for i in self.intents if max(i["tracks"]) < n_tracks]
        self.negatives = [i for i in self.negatives if max(i["tracks"]) < n_tracks]

    # -- geography helpers -------------------------------------------------------------------
    @property
    def world(self):
        from seawatch.sim.world import world

        return world()

    def _u(self, lo: float, hi: float) -> float:
        if hi < lo:
            raise PlantError("period too short")
        return float(self.rng.uniform(lo, hi))

    def _disc(self, lat: float, lon: float, km: float, n: int = 64) -> tuple[np.ndarray,
                                                                            np.ndarray]:
        a = np.linspace(0, 2 * np.pi, n, endpoint=False)
        r = np.r_[0.0, np.repeat([km / 2, km], n)]
        aa = np.r_[0.0, a, a]
        return flat_destinations(lat, lon, r, aa)

    def _site(self, boxes: tuple[str, ...], *, t0: float, t1: float, mask: int | None = None,
              min_shore_km: float = 40.0, min_port_km: float = 30.0, clear_km: float = 15.0,
              sep_km: float = 40.0) -> tuple[float, float]:
        """A random point far offshore whose ``clear_km`` disc is at sea, in one zone set
        (``mask``, or the centre's), away from grounds and from other planted sites."""
        w = self.world
        for _ in range(400):
            box = SITE_BOXES[boxes[int(self.rng.integers(len(boxes)))]]
            lat = self._u(box[1], box[3])
            lon = self._u(box[0], box[2])
            if self._near_ground(lat, lon, clear_km + 10.0) or self._crowded(lat, lon, t0, t1,
                                                                            sep_km):
                continue
            la, lo = self._disc(lat, lon, clear_km)
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
            self._sites.append((lat, lon, t0, t1))
            return lat, lon
        raise PlantError(f"no site in {boxes}")

    def _near_ground(self, lat: float, lon: float, km: float) -> bool:
        for g in places.GROUNDS.values():
            if flat_distance_nm(lat, lon, g.lat, g.lon) * NM_KM < g.radius_km + km:
                return True
        return False

    def _crowded(self, lat: float, lon: float, t0: float, t1: float, km: float) -> bool:
        for la, lo, s0, s1 in self._sites:
            if s0 - 6 * H < t1 and t0 < s1 + 6 * H and \
                    flat_distance_nm(lat, lon, la, lo) * NM_KM < km:
                return True
        return False

    def _path_ok(self, pts: list[tuple[float, float]], *, min_shore_km: float = 3.0,
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

    def _path(self, start: tuple[float, float], km: float, *, tries: int = 120,
              first_bearing: float | None = None, spread: float = 180.0, **ok: Any
              ) -> list[tuple[float, float]]:
        """A polyline of ``km`` from ``start`` in legs of 60-200 km with turns of up to 60
        degrees, meeting :meth:`_path_ok`."""
        for _ in range(tries):
            pts = [start]
            left = km
            b = self._u(0, 360) if first_bearing is None else first_bearing + self._u(
                -spread / 2, spread / 2)
            while left > 1e-6:
                step = min(left, self._u(60.0, 200.0))
                pts.append(flat_destination(*pts[-1], step, b))
                left -= step
                b += self._u(-60, 60)
            if self._path_ok(pts, **ok):
                return pts
        raise PlantError(f"no path of {km:.0f} km from {start}")

    # -- movement helpers -------------------------------------------------------------------
    def _track(self, category: str, role: str, **kw: Any) -> int:
        return self.fleet.add(CATEGORIES[category], role=role, **kw)

    def _speed(self, track: int) -> float:
        return float(self.fleet._rows["speed"][track])

    def _arrive_path(self, dest: tuple[float, float], t_arrive: float, speed: float,
                     **ok: Any) -> list[tuple[float, float]]:
        """A path from somewhere at -1 h to ``dest`` at ``t_arrive``, at about ``speed``
        (slower, down to 5 kn, when it would be longer than 400 km)."""
        dt = t_arrive + H
        v = min(speed, max(5.0, 400.0 / NM_KM / (dt / H)))
        return self._path(dest, v * NM_KM * dt / H, **ok)[::-1]

    def _depart_path(self, start: tuple[float, float], t_start: float, speed: float,
                     **ok: Any) -> list[tuple[float, float]]:
        """A path from ``start`` at ``t_start`` to beyond the end of the period (+1 h)."""
        dt = max(self.duration + H - t_start, 60.0)
        v = min(speed, max(5.0, 400.0 / NM_KM / (dt / H)))
        return self._path(start, v * NM_KM * dt / H, **ok)

    def _arrive(self, track: int, dest: tuple[float, float], t_arrive: float, speed: float,
                **ok: Any) -> Cursor:
        """A cursor that starts at -1 h and reaches ``dest`` at ``t_arrive``."""
        pts = self._arrive_path(dest, t_arrive, speed, **ok)
        cur = self.legs.cursor(track, -H, *pts[0])
        self._follow(cur, pts[1:], t_arrive)
        return cur

    def _depart(self, cur: Cursor, speed: float, **ok: Any) -> None:
        """Leave from the cursor to beyond the end of the period (+1 h)."""
        if cur.t >= self.duration + H:
            return
        pts = self._depart_path((cur.lat, cur.lon), cur.t, speed, **ok)
        self._follow(cur, pts[1:], self.duration + H)

    def _follow(self, cur: Cursor, pts: list[tuple[float, float]], t_end: float,
                state: int = UNDERWAY) -> None:
        """Go through ``pts`` at a constant speed that ends at ``t_end``."""
        seg = [flat_distance_nm(*a, *b) for a, b in zip([(cur.lat, cur.lon), *pts[:-1]], pts,
                                                    strict=True)]
        total = sum(seg)
        span = t_end - cur.t
        for p, nm in zip(pts, seg, strict=True):
            cur.go_for(max(span * nm / total, 1.0), *p, state)

    def _wander(self, cur: Cursor, centre: tuple[float, float], radius_km: float,
                t_end: float, speeds: tuple[float, float], state: int = FISHING) -> None:
        """Fish between random points of a disc until ``t_end`` (the last leg is cut)."""
        while cur.t < t_end - 1.0:
            r = radius_km * math.sqrt(self.rng.random())
            target = flat_destination(*centre, r, self._u(0, 360))
            v = self._u(*speeds)
            dt = max(flat_distance_nm(cur.lat, cur.lon, *target) / v * H, 60.0)
            if cur.t + dt > t_end:
                f = (t_end - cur.t) / dt
                target = (cur.lat + f * (target[0] - cur.lat), cur.lon + f * (target[1]
                                                                             - cur.lon))
                dt = t_end - cur.t
            cur.go_for(dt, *target, state)

    def _force(self, track: int, t0: float, t1: float) -> None:
        self.overrides.append((track, t0, t1, FORCE))

    def _length(self, lo_h: float, hi_h: float, around: float) -> float:
        """A duration (s) uniform in [lo_h, hi_h] hours, cut to what the period leaves
        once ``around`` seconds are set aside."""
        return self._u(lo_h, min(hi_h, (self.duration - around) / H)) * H

    def _window(self, length: float, margin: float = 1.5 * H) -> float:
        lo, hi = margin, self.duration - length - margin
        if hi < lo:
            raise PlantError("period too short")
        return self._u(lo, hi)

    def _intent(self, typ: str, name: str, tracks: list[int], t0: float, t1: float,
                zone: str | None = None, *, incidental: bool = False, **params: Any) -> None:
        """Record a planted event; ``incidental``: every matching truth event is planted,
        and none need exist (see :func:`seawatch.sim.scenario.match_intents`)."""
        intent = {"type": typ, "name": name, "tracks": tracks, "t0": t0, "t1": t1,
                  "zone": zone, "params": _clean(params)}
        if incidental:
            intent["incidental"] = True
        self.intents.append(intent)

    def _negative(self, typ: str, name: str, tracks: list[int], t0: float, t1: float,
                  lat: float, lon: float, zone: str | None = None, **params: Any) -> None:
        self.negatives.append({"type": typ, "name": name, "tracks": tracks, "t0": t0,
                               "t1": t1, "lat": lat, "lon": lon, "zone": zone,
                               "params": _clean(params)})

    def _fishing_partner(self, mask: int) -> tuple[str, int | None]:
        """Category and MID of a fishing vessel that may fish where ``mask`` says."""
        if mask == 0:
            if self.rng.random() < 0.6:
                return "squid_jigger", None
            return "longliner", int(self.rng.choice([416, 412]))
        return "fishing_a", 735

    # -- behaviours ---------------------------------------------------------------------------
    def encounter(self, straddle: bool = False, *, brief: bool = False,
                  in_reserve: bool = False) -> None:
        """A carrier alongside a fishing vessel, drifting (or a brief meeting: a negative);
        ``in_reserve``: inside the Galápagos Marine Reserve."""
        length = self._length(40 / 60, 75 / 60, 3 * H) if brief else self._length(2.5, 6.0,
                                                                                 3 * H)
        t_s = self._window(length)
        midnight = None
        if straddle and not brief:
            days = [d * 86400.0 - (self.start_s % 86400) for d in range(1, 8)]
            ok = [m for m in days if 2.5 * H <= m <= self.duration - 2.5 * H]
            if ok:
                midnight = ok[int(self.rng.integers(len(ok)))]
                lo = max(1.5 * H, midnight - length + 1.0 * H)
                hi = min(midnight - 1.0 * H, self.duration - length - 1.5 * H)
                if hi >= lo:
                    t_s = self._u(lo, hi)
                else:
                    midnight = None
        if in_reserve and not brief:
            names = [z.name for z in self.world.zones]
            lat, lon = self._reserve_site(names.index("Galápagos Marine Reserve"),
                                          names.index("Ecuador EEZ"), t_s, length)
        else:
            lat, lon = self._site(tuple(SITE_BOXES), t0=t_s, t1=t_s + length)
        mask = int(self.world.zone_mask([lat], [lon])[0])
        cat, mid = self._fishing_partner(mask)
        role = "neg_brief_meeting" if brief else "encounter"
        fv = self._track(cat, role, mid=mid)
        carrier = self._track("carrier", role)
        drift_kn = self._u(0.2, 0.8)
        course = self._u(0, 360)
        sep_m = self._u(100, 300) if brief else self._u(50, 300)
        side = course + (90.0 if self.rng.random() < 0.5 else -90.0)
        # the fishing vessel fishes nearby, reaches the meeting point 10 min early, drifts
        cur = self.legs.cursor(fv, -H, *flat_destination(lat, lon, self._u(5, 12), self._u(0, 360)))
        early = 600.0
        start_pt = flat_destination(lat, lon, drift_kn * NM_KM * early / H, course + 180.0)
        go_kn = 6.0
        t_go = t_s - early - flat_distance_nm(cur.lat, cur.lon, *start_pt) / go_kn * H - 1800.0
        self._wander(cur, (lat, lon), 12.0, max(t_go, -H + 60.0), (1.5, 3.5))
        cur.go_for(max(t_s - early - cur.t, 60.0), *start_pt, UNDERWAY)
        end_pt = flat_destination(lat, lon, drift_kn * NM_KM * length / H, course)
        cur.go_for(t_s + length - cur.t, *end_pt, DRIFT, nav=NAV_FISHING, heading=course + 40)
        self._wander(cur, end_pt, 12.0, self.duration + H, (1.5, 3.5))
        # the carrier comes alongside at t_s, drifts with it, leaves
        c_start = flat_destination(lat, lon, sep_m / 1000.0, side)
        wobble = 0.0 if brief else float(np.clip(self._u(-40, 40), 50 - sep_m, 300 - sep_m))
        c_end = flat_destination(*end_pt, (sep_m + wobble) / 1000.0, side)
        ccur = self._arrive(carrier, c_start, t_s, self._speed(carrier))
        ccur.go_for(length, *c_end, DRIFT, heading=course + 40)
        self._depart(ccur, self._speed(carrier))
        self._force(fv, t_s - 1.5 * H, t_s + length + 1.5 * H)
        self._force(carrier, t_s - 1.5 * H, t_s + length + 1.5 * H)
        params = {"drift_kn": drift_kn, "separation_m": sep_m,
                  "planted_start_s": t_s, "planted_hours": length / H,
                  "straddles_midnight": midnight is not None, "fishing_category": cat,
                  "in_reserve": in_reserve and not brief}
        if brief:
            self._negative("encounter", "brief_meeting", [fv, carrier], t_s, t_s + length,
                           lat, lon, minutes=length / 60.0, separation_m=sep_m,
                           drift_kn=drift_kn)
        else:
            self._intent("encounter", "transshipment", [fv, carrier], t_s, t_s + length,
                         **params)
            if in_reserve:  # it fishes in the reserve around the meeting, before and after
                self._intent("fishing_in_zone", "fishing_around_meeting_in_reserve", [fv],
                             -H, self.duration + H, zone="Galápagos Marine Reserve",
                             incidental=True, meeting_start_s=t_s)

    def neg_brief_meeting(self) -> None:
        self.encounter(brief=True)

    def loitering(self) -> None:
        """A lone carrier drifting far offshore."""
        length = self._length(3.0, 8.0, 3 * H)
        t_s = self._window(length)
        lat, lon = self._site(tuple(SITE_BOXES), t0=t_s, t1=t_s + length,
                              min_shore_km=40.0 * NM_KM)
        carrier = self._track("carrier", "loitering")
        cur = self._arrive(carrier, (lat, lon), t_s, self._speed(carrier))
        n = int(self.rng.integers(2, 5))
        cuts = np.sort(self.rng.uniform(0, length, n - 1))
        spans = np.diff(np.r_[0.0, cuts, length])
        speeds = []
        for dt in spans:
            v = self._u(0.3, 1.2)
            speeds.append(v)
            cur.drift(float(dt), v, self._u(0, 360), DRIFT, heading=self._u(0, 360))
        self._depart(cur, self._speed(carrier))
        self._force(carrier, t_s - H, t_s + length + H)
        self._intent("loitering", "lone_carrier", [carrier], t_s, t_s + length,
                     hours=length / H, drift_kn=speeds)

    def gap(self) -> None:
        """A trafficking run: AIS off for 13.5-21.5 h far offshore, on again far away."""
        t_off = self._u(3.0 * H, max(3.0 * H, self.duration - 15.5 * H))
        dark = self._u(13.5, min(21.5, (self.duration - t_off) / H - 1.5)) * H
        if dark < 13.5 * H:
            raise PlantError("period too short")
        v = self._u(9.0, 13.0)
        w = self.world
        track = self._track("fishing_a", "gap", mid=735)
        for _ in range(80):
            off = self._site(("mainland_eez", "corridor", "galapagos_eez_east"),
                             t0=t_off - 3 * H, t1=t_off, min_shore_km=100.0, min_port_km=60.0,
                             clear_km=5.0, sep_km=20.0)
            bearing = self._u(0, 360)
            before = flat_destination(*off, v * NM_KM * (t_off + H) / H, bearing + 180.0)
            on = flat_destination(*off, v * NM_KM * dark / H, bearing)
            after = flat_destination(*on, v * NM_KM * (self.duration + H - t_off - dark) / H,
                                     bearing)
            if self._path_ok([before, off, on, after], min_port_km=20.0) and \
                    w.shore_km([off[0]], [off[1]])[0] > 100.0:
                break
            self._sites.pop()
        else:
            raise PlantError("no path for a dark run")
        cur = self.legs.cursor(track, -H, *before)
        cur.go_for(t_off + H, *off, UNDERWAY)
        cur.tx = False
        cur.go_for(dark, *on, UNDERWAY)
        cur.tx = True
        cur.go_for(self.duration + H - cur.t, *after, UNDERWAY)
        self._force(track, t_off - 3 * H, t_off)
        self._force(track, t_off + dark, t_off + dark + H)
        self._intent("gap", "trafficking_run", [track], t_off - 120.0, t_off + dark + 120.0,
                     dark_hours=dark / H, speed_kn=v, intentional=True,
                     distance_km=v * NM_KM * dark / H)

    def fishing_reserve(self) -> None:
        """A purse seiner fishing inside the Galápagos Marine Reserve: Ecuadorian the first
        time, then alternately foreign (Chinese) and Ecuadorian. A foreign vessel there is
        also fishing in Ecuador's EEZ, which is closed to it too: one episode, one event."""
        w = self.world
        self._reserve_count = getattr(self, "_reserve_count", 0) + 1
        mid = 412 if self._reserve_count % 2 == 0 else 735
        names = [z.name for z in w.zones]
        reserve = names.index("Galápagos Marine Reserve")
        eez = names.index("Ecuador EEZ")
        length = self._length(2.5, 5.0, 7 * H)
        t_s = self._window(length, margin=3.5 * H)
        lat, lon = self._reserve_site(reserve, eez, t_s, length)
        track = self._track("purse_seiner", "fishing_reserve", mid=mid)
        cur = self._arrive(track, (lat, lon), t_s, self._speed(track), min_port_km=10.0)
        t_pause = None
        if self.rng.random() < 0.5:  # one short pause (< 1 h), which does not split it
            t_pause = t_s + self._u(0.3, 0.6) * length
            self._wander(cur, (lat, lon), 6.0, t_pause, (1.5, 3.5))
            cur.drift(self._u(20, 40) * 60.0, self._u(0.05, 0.2), self._u(0, 360), DRIFT,
                      nav=NAV_FISHING)
        self._wander(cur, (lat, lon), 6.0, t_s + length, (1.5, 3.5))
        self._depart(cur, self._speed(track), min_port_km=10.0)
        self._force(track, t_s - H, t_s + length + H)
        self._intent("fishing_in_zone", "fishing_in_reserve", [track], t_s, t_s + length,
                     zone=names[reserve], hours=length / H, paused=t_pause is not None)

    def _reserve_site(self, reserve: int, eez: int, t0: float, length: float
                      ) -> tuple[float, float]:
        w = self.world
        g = w.zones[reserve].geometry
        x0, y0, x1, y1 = g.bounds
        want = (1 << reserve) | (1 << eez)
        for _ in range(500):
            lat, lon = self._u(y0, y1), self._u(x0, x1)
            la, lo = self._disc(lat, lon, 12.0)
            if (w.zone_mask(la, lo) != want).any() or w.on_land(la, lo).any():
                continue
            if w.nearest_port(la, lo)[0].min() < 15.0 or self._crowded(lat, lon, t0,
                                                                         t0 + length, 30.0):
                continue
            self._sites.append((lat, lon, t0, t0 + length))
            return lat, lon
        raise PlantError("no site in the reserve")

    def squid_eez(self) -> None:
        """A Chinese squid jigger crossing into Ecuador's EEZ to fish, then back out."""
        w = self.world
        names = [z.name for z in w.zones]
        eez = names.index("Ecuador EEZ")
        length = self._length(2.5, 6.0, 9 * H)
        track = self._track("squid_jigger", "squid_eez")
        v = self._speed(track)
        ground = places.GROUNDS[places.SQUID_GROUNDS[int(self.rng.integers(
            len(places.SQUID_GROUNDS)))]]
        gpt = (ground.lat, ground.lon)
        for _ in range(200):
            # a point 25-50 km inside the EEZ, towards the islands from the ground
            b = math.degrees(math.atan2(-90.5 - ground.lon, -0.5 - ground.lat))
            km_in = self._u(85.0, 110.0)  # ground centres are 60 km outside
            lat, lon = flat_destination(*gpt, km_in, b + self._u(-35, 35))
            la, lo = self._disc(lat, lon, 10.0)
            m = w.zone_mask(la, lo)
            if (m == (1 << eez)).all() and not self._crowded(lat, lon, 0, self.duration, 15.0):
                break
        else:
            raise PlantError("no site inside the EEZ")
        transit = flat_distance_nm(*gpt, lat, lon) / v * H
        t_s = self._window(length, margin=transit + 1.5 * H)
        self._sites.append((lat, lon, t_s, t_s + length))
        cur = self.legs.cursor(track, -H, *gpt)
        self._wander(cur, gpt, 20.0, t_s - transit - 600.0, (0.8, 2.5))
        cur.go_for(t_s - cur.t, lat, lon, UNDERWAY)
        self._wander(cur, (lat, lon), 8.0, t_s + length, (0.8, 2.5))
        cur.go(*gpt, v, UNDERWAY)
        self._wander(cur, gpt, 20.0, self.duration + H, (0.8, 2.5))
        self._force(track, t_s - H, t_s + length + H)
        self._intent("fishing_in_zone", "squid_jigger_in_eez", [track], t_s, t_s + length,
                     zone=names[eez], hours=length / H)

    def shared_mmsi(self) -> None:
        """An impostor transmits a foreign longliner's MMSI far away for 4-10 h."""
        w = self.world
        length = self._length(4.0, 10.0, 2.5 * H)
        t_a = self._window(length, margin=1.0 * H)
        lat, lon = self._site(("high_seas_south", "high_seas_west"), t0=-H,
                              t1=self.duration + H, mask=0, clear_km=25.0)
        own = self._track("longliner", "shared_mmsi", mid=int(self.rng.choice([416, 412])))
        cur = self.legs.cursor(own, -H, *flat_destination(lat, lon, 5.0, self._u(0, 360)))
        self._wander(cur, (lat, lon), 20.0, self.duration + H, (1.5, 3.0))
        mmsi = int(self.fleet._rows["mmsi"][own])
        imp = self._track("longliner", "shared_mmsi_impostor", mmsi=mmsi, like=own)
        for _ in range(100):
            ilat, ilon = self._site(tuple(SITE_BOXES), t0=t_a, t1=t_a + length, mask=0,
                                    clear_km=5.0, sep_km=30.0)
            if flat_distance_nm(lat, lon, ilat, ilon) * NM_KM < 300.0:
                self._sites.pop()
                continue
            v = self._u(8.0, 11.0)
            try:
                pts = self._path((ilat, ilon), v * NM_KM * length / H, outside=_all_zones(w))
            except PlantError:
                self._sites.pop()
                continue
            break
        else:
            raise PlantError("no place for an impostor")
        icur = self.legs.cursor(imp, t_a, *pts[0])
        self._follow(icur, pts[1:], t_a + length)
        self._force(own, t_a - 0.5 * H, t_a + length + 0.5 * H)
        self._force(imp, t_a, t_a + length)
        self._intent("spoofing", "shared_mmsi", [own, imp], t_a, t_a + length,
                     kind="shared_mmsi", hours=length / H)
        self.intents[-1]["kind"] = "shared_mmsi"

    def position_jump(self) -> None:
        """A cargo ship whose reports jump 50-150 km away and back."""
        w = self.world
        track = self._track("cargo", "position_jump")
        v = self._speed(track)
        t_j = self._window(600.0, margin=1.0 * H)
        n_jump = int(self.rng.integers(1, 4))
        for _ in range(100):
            lat, lon = self._site(tuple(SITE_BOXES), t0=t_j, t1=t_j + 600.0, clear_km=5.0,
                                  sep_km=20.0)
            mask = int(w.zone_mask([lat], [lon])[0])
            q = flat_destination(lat, lon, self._u(50.0, 150.0), self._u(0, 360))
            la, lo = self._disc(*q, 3.0)
            if w.on_land(la, lo).any() or (w.zone_mask(la, lo) != mask).any() or \
                    w.nearest_port(la, lo)[0].min() < 20.0:
                self._sites.pop()
                continue
            try:
                cur = self._arrive(track, (lat, lon), t_j, v, same_mask=mask)
            except PlantError:
                self._sites.pop()
                continue
            break
        else:
            raise PlantError("no place for a position jump")
        dt = n_jump * 60.0
        cur.builder.add(track, cur.t, cur.t + dt, *q, *q, v, UNDERWAY, 0, self._u(0, 360),
                        -1, True, 1)
        cur.t += dt
        self._depart(cur, v, same_mask=mask)
        self._force(track, t_j - 0.5 * H, t_j + dt + 0.5 * H)
        self._intent("spoofing", "position_jump", [track], t_j, t_j + dt, kind="position_jump",
                     reports=n_jump)
        self.intents[-1]["kind"] = "position_jump"

    # -- hard negatives -----------------------------------------------------------------------
    def neg_at_anchor(self) -> None:
        """Two ships anchored 100-400 m apart near a port for the whole period."""
        w = self.world
        name = str(self.rng.choice(["manta", "libertad", "esmeraldas", "gye_gulf"]))
        lat, lon, radius = places.ANCHORAGES[name]
        a = flat_destination(lat, lon, self._u(0, radius * 0.5), self._u(0, 360))
        sep = self._u(100, 400)
        b = flat_destination(*a, sep / 1000.0, self._u(0, 360))
        if w.on_land([a[0], b[0]], [a[1], b[1]]).any():
            raise PlantError("anchorage on land")
        tracks = []
        for p in (a, b):
            tr = self._track("anchored", "neg_at_anchor")
            cur = self.legs.cursor(tr, -H, *p)
            cur.dest = self.legs.dest(places.PORT_NAMES[name])
            cur.hold(self.duration + 2 * H, ANCHOR, heading=self._u(0, 360))
            tracks.append(tr)
        d, port = w.nearest_port([a[0]], [a[1]])
        self._negative("encounter", "ships_at_anchor", tracks, 0.0, float(self.duration),
                       a[0], a[1], separation_m=sep, port=str(port[0]),
                       distance_from_port_km=float(d[0]))

    def neg_fast_crossing(self) -> None:
        """Two ships crossing at speed, passing 100-400 m apart."""
        t_c = self._window(0.0, margin=1.0 * H)
        lat, lon = self._site(tuple(SITE_BOXES), t0=t_c - H, t1=t_c + H, clear_km=5.0,
                              min_shore_km=20.0, min_port_km=20.0)
        sep = self._u(100, 400)
        b1 = self._u(0, 360)
        b2 = b1 + self._u(60, 120) * (1 if self.rng.random() < 0.5 else -1)
        tracks = []
        other = flat_destination(lat, lon, sep / 1000.0, b1 + 90)
        for k, (bearing, pt) in enumerate(((b1, (lat, lon)), (b2, other))):
            tr = self._track("cargo" if k == 0 else "tanker", "neg_fast_crossing")
            v = self._u(10.0, 15.0)
            # straight through the crossing point for 30 min each way
            p_in = flat_destination(*pt, v * NM_KM * 0.5, bearing + 180)
            p_out = flat_destination(*pt, v * NM_KM * 0.5, bearing)
            cur = self._arrive(tr, p_in, t_c - 0.5 * H, v, first_bearing=bearing + 180,
                               spread=90.0)
            cur.go_for(0.5 * H, *pt, UNDERWAY)
            cur.go_for(0.5 * H, *p_out, UNDERWAY)
            path = self._path(p_out, v * NM_KM * max((self.duration + H - cur.t) / H, 0.01),
                              first_bearing=bearing, spread=90.0)
            self._follow(cur, path[1:], self.duration + H)
            self._force(tr, t_c - H, t_c + H)
            tracks.append(tr)
        self._negative("encounter", "fast_crossing", tracks, t_c - 300.0, t_c + 300.0, lat,
                       lon, separation_m=sep)

    def neg_short_gap(self) -> None:
        """A ship on its route not heard for 2-8 h."""
        from seawatch.sim.traffic import _route_plan

        length = self._length(2.0, 8.0, 2 * H)
        t0 = self._window(length, margin=1.0 * H)
        c = CATEGORIES["cargo"]
        route = str(c.places[int(self.rng.integers(len(c.places)))])
        track = self._track("cargo", "neg_short_gap", place=route)
        _route_plan(self.rng, self.legs, track, route, self._speed(track), self.duration)
        self.overrides.append((track, t0, t0 + length, BLOCK))
        self._force(track, t0 - 900.0, t0)
        self._force(track, t0 + length, t0 + length + 900.0)
        self._negative("gap", "short_reception_gap", [track], t0, t0 + length, float("nan"),
                       float("nan"), hours=length / H)

    def neg_skirt_zone(self) -> None:
        """A ship following a zone's edge 1.8-3 km outside it for 2-5 h."""
        import shapely
        import shapely.ops

        from seawatch.geo.geodesy import aeqd, project

        w = self.world
        k = int(self.rng.integers(len(w.zones)))
        zone = w.zones[k]
        parts = sorted(shapely.get_parts(zone.geometry), key=lambda g: -g.area)
        ring = parts[0].exterior
        length = self._length(2.0, 5.0, 4 * H)
        t_s = self._window(length, margin=2.0 * H)
        v = self._u(8.0, 11.0)
        km = v * NM_KM * length / H
        track = self._track("reefer" if self.rng.random() < 0.5 else "cargo", "neg_skirt_zone")
        for _ in range(60):
            b = ring.interpolate(self._u(0, 1), normalized=True)
            if not self._in_box(b.y, b.x) or w.shore_km([b.y], [b.x])[0] < 15.0:
                continue
            fwd, inv = aeqd(b.y, b.x)
            local = shapely.intersection(zone.geometry, shapely.box(b.x - 2.5, b.y - 2.5,
                                                                  b.x + 2.5, b.y + 2.5))
            zp = project(local, fwd)
            dist_m = self._u(1.8, 3.0) * 1000.0
            outer = shapely.buffer(zp, dist_m, quad_segs=16)
            rings = [g.exterior for g in shapely.get_parts(outer)]
            line = min(rings, key=lambda r: r.distance(shapely.Point(0, 0)))
            s0 = line.project(shapely.Point(0, 0))
            s1 = s0 + km * 1000.0
            if s1 > line.length:
                continue
            sub = shapely.ops.substring(line, s0, s1)  # type: ignore[attr-defined]
            sub = shapely.segmentize(sub, 2000.0)
            xy = shapely.get_coordinates(sub)
            dense = shapely.get_coordinates(shapely.segmentize(sub, 200.0))
            if shapely.distance(zp, shapely.points(dense)).min() < 1500.0:
                continue
            lon_, lat_ = inv.transform(xy[:, 0], xy[:, 1])
            pts = list(zip(lat_, lon_, strict=True))
            outside = 1 << k
            if not self._path_ok(pts, min_port_km=8.0, outside=outside):
                continue
            try:
                before = self._arrive_path(pts[0], t_s, v, outside=outside)
                after = self._depart_path(pts[-1], t_s + length, v, outside=outside)
            except PlantError:
                continue
            break
        else:
            raise PlantError(f"no skirting path along {zone.name}")
        cur = self.legs.cursor(track, -H, *before[0])
        self._follow(cur, before[1:], t_s)
        self._follow(cur, pts[1:], t_s + length)
        self._follow(cur, after[1:], self.duration + H)
        mid = len(pts) // 2
        self._force(track, t_s - 0.5 * H, t_s + length + 0.5 * H)
        self._negative("zone_entry", "skirting_zone_edge", [track], t_s, t_s + length,
                       pts[mid][0], pts[mid][1], zone=zone.name,
                       min_distance_km=round(dist_m / 1000.0, 2), speed_kn=v)

    def _in_box(self, lat: float, lon: float) -> bool:
        x0, y0, x1, y1 = PATH_BOX
        return x0 + 2 <= lon <= x1 - 2 and y0 + 2 <= lat <= y1 - 2

    def neg_slow_fishing(self) -> None:
        """A longliner hauling at 0.8-1.6 kn for 3-6 h far offshore."""
        length = self._length(3.0, 6.0, 4.5 * H)
        t_s = self._window(length, margin=2.0 * H)
        lat, lon = self._site(tuple(SITE_BOXES), t0=t_s, t1=t_s + length,
                              min_shore_km=40.0 * NM_KM)
        mask = int(self.world.zone_mask([lat], [lon])[0])
        mid = int(self.rng.choice([416, 412])) if mask == 0 else 735
        track = self._track("longliner", "neg_slow_fishing", mid=mid)
        v = self._u(0.8, 1.6)
        bearing = self._u(0, 360)
        far_end = flat_destination(lat, lon, v * NM_KM * length / H, bearing)
        set_kn = self._u(7.0, 9.0)
        t_set = flat_distance_nm(lat, lon, *far_end) / set_kn * H
        # wander, set the line from (lat, lon) outwards at 7-9 kn, haul it back slowly
        cur = self.legs.cursor(track, -H, *flat_destination(lat, lon, 8.0, self._u(0, 360)))
        self._wander(cur, (lat, lon), 10.0, t_s - t_set - 1800.0, (2.0, 3.0))
        cur.go_for(t_s - t_set - cur.t, lat, lon, UNDERWAY)
        cur.go_for(t_set, *far_end, FISHING)
        cur.go_for(length, lat, lon, FISHING)
        self._wander(cur, (lat, lon), 10.0, self.duration + H, (2.0, 3.0))
        self._force(track, t_s - H, t_s + length + H)
        self._negative("loitering", "slow_fishing_offshore", [track], t_s, t_s + length, lat,
                       lon, speed_kn=v, hours=length / H)

    def neg_port_pass(self) -> None:
        """A ship passing 1.5-2.5 km from an isolated port point without stopping."""
        w = self.world
        table = w.ports
        plat = table["lat"].to_numpy()
        plon = table["lon"].to_numpy()
        isolated = w.port_index.isolated(10.0)
        t_c = self._window(0.0, margin=1.0 * H)
        v = self._u(10.0, 14.0)
        track = self._track("cargo" if self.rng.random() < 0.5 else "tanker", "neg_port_pass")
        for _ in range(200):
            i = int(isolated[int(self.rng.integers(isolated.size))])
            if not self._in_box(plat[i], plon[i]):
                continue
            dmin = self._u(1.5, 2.5)
            theta = self._u(0, 360)
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
                before = self._arrive_path(a, t_a, v, first_bearing=theta + 90, spread=60.0)
                after = self._depart_path(b, t_b, v, first_bearing=theta - 90, spread=60.0)
            except PlantError:
                continue
            break
        else:
            raise PlantError("no port to pass")
        cur = self.legs.cursor(track, -H, *before[0])
        self._follow(cur, before[1:], t_a)
        cur.go_for(t_c - t_a, *x, UNDERWAY)
        cur.go_for(t_b - t_c, *b, UNDERWAY)
        self._follow(cur, after[1:], self.duration + H)
        self._force(track, t_c - 2 * H, t_c + 2 * H)
        self._negative("port_visit", "passing_port", [track], t_c - within3 / 2,
                       t_c + within3 / 2, float(plat[i]), float(plon[i]),
                       port=str(table["name"][i]), min_distance_km=dmin,
                       minutes_within_3km=within3 / 60.0, speed_kn=v)


def _all_zones(w) -> int:
    return (1 << len(w.zones)) - 1


def _clean(params: dict[str, Any]) -> dict[str, Any]:
    """JSON-friendly parameters (floats rounded)."""
    out = {}
    for k, v in params.items():
        if isinstance(v, float | np.floating):
            out[k] = round(float(v), 3)
        elif isinstance(v, list):
            out[k] = [round(float(x), 3) if isinstance(x, float | np.floating) else x
                      for x in v]
        else:
            out[k] = v
    return out
