"""Tests of the simulated geography: routes, grounds and anchorages at sea and where meant."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from seawatch import geo
from seawatch.sim import places as P
from seawatch.sim.world import world


def _line(a: tuple[float, float], b: tuple[float, float], step_km: float = 0.1
          ) -> tuple[np.ndarray, np.ndarray]:
    n = int(np.hypot((b[0] - a[0]) * 111.2, (b[1] - a[1]) * 111.2) / step_km) + 2
    f = np.linspace(0, 1, n)
    return a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f


def _disc(lat: float, lon: float, km: float) -> tuple[np.ndarray, np.ndarray]:
    a = np.linspace(0, 2 * np.pi, 360)
    r = np.linspace(0, 1, 25)[:, None] * km
    return (lat + (r * np.cos(a)).ravel() / 111.2,
            lon + (r * np.sin(a)).ravel() / (111.2 * np.cos(np.radians(lat))))


@pytest.mark.parametrize("route", sorted(P.ROUTES))
def test_routes_are_at_sea(route: str) -> None:
    for a, b in pairwise([P.WAYPOINTS[w] for w in P.ROUTES[route]]):
        lat, lon = _line(a, b)
        assert not geo.on_land(lat, lon).any(), (route, a, b)


def test_route_ends_are_ports() -> None:
    w = world()
    for route in P.ROUTES.values():
        for end in (route[0], route[-1]):
            assert end in P.PORT_NAMES
            lat, lon = P.WAYPOINTS[end]
            assert w.port_km([lat], [lon])[0] < 3.0, end


def test_anchorages_are_at_sea_near_a_port() -> None:
    w = world()
    for name, (lat, lon, radius) in P.ANCHORAGES.items():
        la, lo = _disc(lat, lon, radius)
        assert not geo.on_land(la, lo).any(), name
        assert w.port_km(la, lo).max() < 3.0, name


def test_grounds_are_at_sea_and_fishing_ones_where_their_fleet_may_fish() -> None:
    w = world()
    eez = 1 << [z.name for z in w.zones].index("Ecuador EEZ")
    reserve = 1 << [z.name for z in w.zones].index("Galápagos Marine Reserve")
    for name, g in P.GROUNDS.items():
        la, lo = _disc(g.lat, g.lon, g.radius_km)
        assert not geo.on_land(la, lo).any(), name
        mask = w.zone_mask(la, lo)
        if not name.startswith("gal_"):  # only pleasure craft wander in the reserve
            assert not (mask & reserve).any(), name
    for name in P.SQUID_GROUNDS:  # the foreign squid fleet stays 30 km out of the EEZ
        g = P.GROUNDS[name]
        la, lo = _disc(g.lat, g.lon, g.radius_km + 25.0)
        assert not (w.zone_mask(la, lo) & eez).any(), name
    for name in ("longline_south", "longline_sw"):  # foreign longliners: high seas
        g = P.GROUNDS[name]
        la, lo = _disc(g.lat, g.lon, g.radius_km)
        assert not w.zone_mask(la, lo).any(), name






@pytest.mark.parametrize("route", sorted(P.ROUTES))
def test_route_lanes_are_at_sea_and_apart(route: str) -> None:
    from seawatch.sim.traffic import route_lanes

    lanes = route_lanes(route)
    assert len(lanes) >= 4
    ends = (P.WAYPOINTS[P.ROUTES[route][0]], P.WAYPOINTS[P.ROUTES[route][-1]])
    for outbound, inbound in lanes:
        for seq in ([ends[0], *outbound, ends[1]], [ends[1], *inbound, ends[0]]):
            for a, b in pairwise(seq):
                lat, lon = _line(a, b, 0.2)
                assert not geo.on_land(lat, lon).any(), (route, a, b)
