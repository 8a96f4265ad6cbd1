"""Background traffic off Ecuador: who goes where, and how each kind of vessel moves.

The background is the ordinary traffic planted behaviours hide in (see
:mod:`seawatch.sim.plant` for those). Its mix (:data:`seawatch.sim.fleet.CATEGORIES`):

- **cargo ships, tankers and reefers** (class A) shuttle along shipping routes between the
  Panama Canal approach, Esmeraldas, Manta, La Libertad, Guayaquil, Posorja and Paita
  (:data:`seawatch.sim.places.ROUTES`), anchoring 2-10 h within 3 km of a port point at each
  end; **ships at anchor** wait off those ports for the whole period;
- **coastal fishing boats** (class B, Ecuadorian) fish slowly between random points of
  grounds off the coast, drift for up to 1.5 h, and run faster between them;
- **industrial fishing** (class A): Ecuadorian tuna **purse seiners** between the mainland and
  the Galápagos (search, set a 1-2 km circle at 8-11 kn, purse for 1-1.5 h drifting),
  **longliners** (set a line at 7-9 kn, soak, haul it back at 1.8-3 kn; Ecuadorian on the
  high seas between the two parts of the EEZ, Taiwanese and Chinese farther south), and the
  Chinese **squid fleet** jigging along the outer edge of the Galápagos EEZ (all its grounds
  at least 30 km outside it);
- **Galápagos yachts** (class A) cruising between island anchorages, and **pleasure craft**
  (class B) off Salinas, Manta and in the islands.

By construction the background holds no event a detector should report other than zone
crossings and port visits (which the truth derives from the positions): fishing vessels
fish only where their flag may, stops far from ports are short and solitary, and no
non-fishing vessel slows down offshore. :mod:`seawatch.sim.truth` still applies every
definition to every track, so anything that happens by chance is in the truth too.

>>> from seawatch.sim.legs import LegBuilder
>>> rng = np.random.default_rng(1)
>>> legs = LegBuilder()
>>> track = FleetBuilder(rng).add(CATEGORIES["cargo"], place="manta_posorja")
>>> route_plan(rng, legs, track, "manta_posorja", speed=12.0, duration=7200.0)
>>> built = legs.build()
>>> bool(built.t0.min() < -3600.0 < 7200.0 + 3600.0 <= built.t1.max())
True
"""

from __future__ import annotations

import math
from functools import cache
from itertools import pairwise
from typing import Any

import numpy as np

from seawatch.geo.geodesy import NM_KM, flat_destination, flat_distance_nm
from seawatch.sim import places
from seawatch.sim.fleet import CATEGORIES, Category, FleetBuilder
from seawatch.sim.legs import (
    ANCHOR,
    DRIFT,
    FISHING,
    NAV_FISHING,
    UNDERWAY,
    LegBuilder,
    densify,
)

ANCHOR_STAY_H = (2.0, 10.0)
"""Hours a ship stays at anchor at each end of its route."""
DEFAULT_ANCHOR_RADIUS_KM = 0.25
"""Spread of anchoring points at route ends not listed in ``places.ANCHORAGES``."""
MAX_BACKGROUND_DRIFT_H = 1.5
"""Longest drift of a background industrial fishing vessel (encounters need 2 h)."""
MAX_BACKGROUND_STOP_H = 0.6
"""Longest stop of a fishing vessel wandering a ground (coastal fishing, squid)."""
MAX_PLEASURE_STOP_H = 0.3
"""Longest stop of a pleasure craft (a swim, a look at the sea lions)."""
MIN_MOVE_AFTER_STOP_H = 1.2
"""Moving time a wandering vessel spends between two stops."""


def plan_background(rng: np.random.Generator, fleet: FleetBuilder, legs: LegBuilder,
                    counts: dict[str, int], duration: float) -> None:
    """Add the background tracks and their legs, covering [-1 h, duration + 1 h]."""
    berths: dict[str, int] = {}
    for name, n in counts.items():
        c = CATEGORIES[name]
        for _ in range(n):
            place = str(c.places[int(rng.integers(len(c.places)))])
            track = fleet.add(c, place=place)
            speed = fleet.speed_of(track)
            if c.plan == "route":
                ends = (places.ROUTES[place][0], places.ROUTES[place][-1])
                mine = {}
                for j, end in enumerate(ends):
                    if end in places.ANCHOR_RINGS:
                        k = berths.get(end, 0)
                        berths[end] = k + 1
                        # yachts sharing a berth at one end get different ones at the other
                        n = int(usable_berths(end).size)
                        mine[end] = k if j == 0 else k + k // max(n, 1)
                route_plan(rng, legs, track, place, speed, duration, mine)
            elif c.plan == "anchored":
                _anchored_plan(rng, legs, track, place, duration)
            elif c.plan == "seiner":
                _seiner_plan(rng, legs, track, c, places.GROUNDS[place], speed, duration)
            elif c.plan == "longliner":
                _longliner_plan(rng, legs, track, c, places.GROUNDS[place], speed, duration)
            else:
                _ground_plan(rng, legs, track, c, places.GROUNDS[place], speed, duration)


def anchor_point(rng: np.random.Generator, name: str, berth: int | None = None
                 ) -> tuple[float, float]:
    """A random anchoring point at the anchorage (or route end) ``name``, or berth number
    ``berth`` of an island anchorage (:data:`seawatch.sim.places.ANCHOR_RINGS`)."""
    if berth is not None and name in places.ANCHOR_RINGS:
        lat, lon, radius, n = places.ANCHOR_RINGS[name]
        usable = usable_berths(name)
        k = int(usable[berth % usable.size])
        return flat_destination(lat, lon, radius, 360.0 * k / n)
    lat, lon, radius = places.ANCHORAGES.get(name, (*places.WAYPOINTS[name],
                                                   DEFAULT_ANCHOR_RADIUS_KM))
    r = radius * math.sqrt(rng.random())
    return flat_destination(lat, lon, r, rng.uniform(0, 360))


@cache
def usable_berths(name: str) -> np.ndarray:
    """Berths of an island anchorage at sea, >= 0.3 km from shore, < 2.8 km from a port."""
    from seawatch.sim.world import world

    w = world()
    lat, lon, radius, n = places.ANCHOR_RINGS[name]
    pts = [flat_destination(lat, lon, radius, 360.0 * k / n) for k in range(n)]
    la = np.array([p[0] for p in pts])
    lo = np.array([p[1] for p in pts])
    ok = ~w.on_land(la, lo) & (w.shore_km(la, lo) > 0.3) & (w.port_km(la, lo) < 2.8)
    return np.flatnonzero(ok)


def ground_point(rng: np.random.Generator, g: places.Ground, near: tuple[float, float] | None
                 = None, within_km: float | None = None) -> tuple[float, float]:
    """A uniform random point of ground ``g`` (within ``within_km`` of ``near`` if given)."""
    for _ in range(50):
        if near is not None and within_km is not None:
            r = within_km * math.sqrt(rng.random())
            lat, lon = flat_destination(*near, r, rng.uniform(0, 360))
        else:
            r = g.radius_km * math.sqrt(rng.random())
            lat, lon = flat_destination(g.lat, g.lon, r, rng.uniform(0, 360))
        if flat_distance_nm(lat, lon, g.lat, g.lon) * NM_KM <= g.radius_km:
            return lat, lon
    return g.lat, g.lon


def route_plan(rng: np.random.Generator, legs: LegBuilder, track: int, route: str,
               speed: float, duration: float, berths: dict[str, int] | None = None) -> None:
    """A shuttle along ``route``: out, anchor 2-10 h, back, anchor; starting mid-cycle."""
    names = places.ROUTES[route]
    stays = [rng.uniform(*ANCHOR_STAY_H) * 3600.0 for _ in range(2)]
    lanes = route_lanes(route)
    lane = lanes[int(rng.integers(len(lanes)))]
    # one cycle, as (kind, point or duration, destination)
    cycle: list[tuple[str, Any, str]] = []
    for forward in (True, False):
        seq = names if forward else names[::-1]
        end = seq[-1]
        dest = places.PORT_NAMES[end]
        points = lane[0] if forward else lane[1]
        for p in points:
            cycle.append(("go", p, dest))
        cycle.append(("anchor", end, dest))
        cycle.append(("stay", stays[0 if forward else 1], dest))
    # cycle length, to start at a random phase
    here = places.WAYPOINTS[names[0]]
    period = 0.0
    for kind, what, _ in cycle:
        if kind == "go" or kind == "anchor":
            target = what if kind == "go" else places.WAYPOINTS[what]
            period += flat_distance_nm(*here, *target) / speed * 3600.0
            here = target
        else:
            period += float(what)
    t = -rng.uniform(0.0, period) - 3600.0
    berths = berths or {}
    cur = legs.cursor(track, t, *anchor_point(rng, names[0], berths.get(names[0])))
    while cur.t < duration + 3600.0:
        for kind, what, dest in cycle:
            cur.dest = legs.dest(dest)
            if kind == "go":
                lat, lon = what
                cur.go(lat, lon, speed)
            elif kind == "anchor":
                cur.go(*anchor_point(rng, str(what), berths.get(str(what))), speed)
            else:
                cur.hold(float(what), ANCHOR, heading=rng.uniform(0, 360))
            if cur.t >= duration + 3600.0:
                break


LANE_KM = (-4.0, -3.0, -2.0, -1.0, 1.0, 2.0, 3.0, 4.0)
"""Lateral offsets of a ship's track from a route's centre line (starboard side positive)."""
LANE_SHORE_KM = 10.0
"""Waypoints closer to shore than this get a proportionally smaller offset."""


@cache
def route_lanes(route: str) -> list[tuple[list[tuple[float, float]], list[tuple[float, float]]]]:
    """The lanes of a route: (intermediate waypoints outbound, inbound) per usable offset.

    Ships keep to the starboard side of a route by a few kilometres (as in a traffic
    separation scheme), so that ships of one route do not sail the very same line; an
    offset shrinks near the shore and a lane is used only if all its legs are at sea.
    """
    from seawatch.sim.world import world

    w = world()
    names = places.ROUTES[route]
    pts = [places.WAYPOINTS[n] for n in names]
    shore = w.shore_km(np.array([p[0] for p in pts]), np.array([p[1] for p in pts]))
    out = []
    for lane in LANE_KM:
        ways = []
        for sign, seq, sh in ((1.0, pts, shore), (-1.0, pts[::-1], shore[::-1])):
            moved = []
            for i in range(1, len(seq) - 1):
                (a0, b0), (a1, b1), (a2, b2) = seq[i - 1], seq[i], seq[i + 1]
                heading = math.degrees(math.atan2((b2 - b0) * math.cos(math.radians(a1)),
                                                  a2 - a0))
                km = lane * sign * min(1.0, max(sh[i] - 2.0, 0.0) / LANE_SHORE_KM)
                side = heading + (90.0 if km > 0 else -90.0)
                moved.append(flat_destination(a1, b1, abs(km), side))
            ways.append(moved)
        if all(_at_sea([seq[0], *m, seq[-1]]) for seq, m in ((pts, ways[0]),
                                                              (pts[::-1], ways[1]))):
            out.append((ways[0], ways[1]))
    if not out:
        inner = pts[1:-1]
        out.append((inner, inner[::-1]))
    return out


def _at_sea(pts: list[tuple[float, float]]) -> bool:
    from seawatch.sim.world import world

    return not world().on_land(*densify(pts, 0.2, extra=2)).any()


def _anchored_plan(rng: np.random.Generator, legs: LegBuilder, track: int, anchorage: str,
                   duration: float) -> None:
    cur = legs.cursor(track, -3600.0, *anchor_point(rng, anchorage))
    name = next((n for k, n in places.PORT_NAMES.items() if k == anchorage), None)
    cur.dest = legs.dest(name)
    cur.hold(duration + 7200.0, ANCHOR, heading=rng.uniform(0, 360))


def _ground_plan(rng: np.random.Generator, legs: LegBuilder, track: int, c: Category,
                 g: places.Ground, transit: float, duration: float) -> None:
    """Wander a ground: slow legs (fishing, or cruising for pleasure craft), short stops,
    and faster transits between random points.

    A stop (drifting: hauling, jigging, swimming) lasts at most
    :data:`MAX_BACKGROUND_STOP_H` and is followed by at least :data:`MIN_MOVE_AFTER_STOP_H`
    of moving, so over any two hours a background vessel is slow less than half the time:
    its median speed stays above the encounter definition's 2 kn.
    """
    fishing = 30 in c.ship_types
    slow_state = FISHING if fishing else UNDERWAY
    longest_stop = MAX_BACKGROUND_STOP_H if fishing else MAX_PLEASURE_STOP_H
    reach = min(g.radius_km, 12.0 if fishing else g.radius_km)
    cur = legs.cursor(track, -rng.uniform(0, 3600.0) - 3600.0, *ground_point(rng, g))
    moved = MIN_MOVE_AFTER_STOP_H * 3600.0
    while cur.t < duration + 3600.0:
        u = rng.random()
        if u < 0.15 and moved >= MIN_MOVE_AFTER_STOP_H * 3600.0:
            cur.drift(rng.uniform(0.1, longest_stop) * 3600.0, rng.uniform(0.1, 0.5),
                      rng.uniform(0, 360), DRIFT, nav=NAV_FISHING if fishing else None,
                      heading=rng.uniform(0, 360))
            moved = 0.0
            continue
        fast = u < 0.45
        speed = transit if fast else rng.uniform(*c.fishing_kn)
        target = ground_point(rng, g, (cur.lat, cur.lon), reach)
        t0 = cur.t
        cur.go(*target, speed, UNDERWAY if fast else slow_state)
        moved += cur.t - t0


def _seiner_plan(rng: np.random.Generator, legs: LegBuilder, track: int, c: Category,
                 g: places.Ground, transit: float, duration: float) -> None:
    """Search at transit speed; set a purse seine (a circle of 0.5-0.9 km radius at 8-11 kn);
    purse and brail for 1-1.5 h, drifting."""
    cur = legs.cursor(track, -rng.uniform(0, 4 * 3600.0) - 3600.0, *ground_point(rng, g))
    while cur.t < duration + 3600.0:
        cur.go(*ground_point(rng, g, (cur.lat, cur.lon), 40.0), transit, UNDERWAY)
        radius = rng.uniform(0.5, 0.9)
        start_bearing = rng.uniform(0, 360)
        centre = flat_destination(cur.lat, cur.lon, radius, start_bearing)
        set_speed = rng.uniform(*c.fishing_kn)
        for k in range(1, 9):
            b = (start_bearing + 180.0 + 45.0 * k) % 360.0
            cur.go(*flat_destination(*centre, radius, b), set_speed, FISHING)
        cur.drift(rng.uniform(1.0, MAX_BACKGROUND_DRIFT_H) * 3600.0, rng.uniform(0.1, 0.4),
                  rng.uniform(0, 360), DRIFT, nav=NAV_FISHING, heading=rng.uniform(0, 360))


def _longliner_plan(rng: np.random.Generator, legs: LegBuilder, track: int, c: Category,
                    g: places.Ground, transit: float, duration: float) -> None:
    """Set a line (2-3 h at 7-9 kn), soak it drifting (up to 1.5 h), haul it back at the
    category's fishing speed, move on."""
    cur = legs.cursor(track, -rng.uniform(0, 8 * 3600.0) - 3600.0, *ground_point(rng, g))
    while cur.t < duration + 3600.0:
        start = (cur.lat, cur.lon)
        bearing = math.degrees(math.atan2(g.lon - cur.lon, g.lat - cur.lat)) + rng.uniform(
            -60, 60)
        set_speed = rng.uniform(7.0, 9.0)
        km = set_speed * NM_KM * rng.uniform(2.0, 3.0)
        end = flat_destination(*start, km, bearing)
        cur.go(*end, set_speed, FISHING)
        cur.drift(rng.uniform(0.5, MAX_BACKGROUND_DRIFT_H) * 3600.0, rng.uniform(0.1, 0.4),
                  rng.uniform(0, 360), DRIFT, nav=NAV_FISHING, heading=bearing)
        haul = rng.uniform(*c.fishing_kn) + 0.8
        cur.go(*start, haul, FISHING)
        cur.go(*ground_point(rng, g, (cur.lat, cur.lon), 30.0), transit, UNDERWAY)


def route_polyline(route: str) -> list[tuple[float, float]]:
    """The waypoints of ``route`` as (lat, lon) pairs."""
    return [places.WAYPOINTS[w] for w in places.ROUTES[route]]


def route_legs() -> list[tuple[str, tuple[float, float], tuple[float, float]]]:
    """Every straight leg of every route: (route, start, end), for checks."""
    return [(name, a, b) for name in places.ROUTES for a, b in pairwise(route_polyline(name))]
