"""The reference geography a scenario is judged against: zones, ports, shore, land.

One :class:`World` per process (built on first use, a second or two) wraps
``seawatch.geo``: the default zones and their index, the shipped ports and their index,
distance from shore and the land mask. It adds what the simulator needs at scale:

- :meth:`World.zone_mask`: every zone a point is in, as bits of one integer;
- :meth:`World.port_km`: distance to the nearest port point, computed exactly (the same
  k-d tree as ``seawatch.geo.port_index``) but only for points that can be within
  ``NEAR_PORT_KM``; a raster of 0.05 degree cells marks where that is possible, so points
  far out at sea (most of them) cost one array lookup.

>>> w = world()
>>> [z.name for z in w.zones]
['Galápagos Marine Reserve', 'Ecuador territorial sea', 'Ecuador EEZ']
>>> int(w.zone_mask([-0.75], [-90.31])[0])  # Puerto Ayora: reserve, territorial sea, EEZ
7
>>> d = w.port_km([-0.917, -3.0], [-80.697, -85.0])
>>> bool(d[0] < 1.0), bool(np.isinf(d[1]))
(True, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import polars as pl

NEAR_PORT_KM = 12.0
""":meth:`World.port_km` is exact up to this distance (inf beyond)."""
RASTER_DEG = 0.05
"""Cell size of the near-port raster."""

ZONE_STATE = {"eez": "ECU", "territorial_sea": "ECU"}
"""State whose zones the default EEZ and territorial sea are (fishing there is forbidden to
vessels of other flags); a zone of kind ``mpa`` is closed to every fishing vessel."""


@dataclass
class World:
    """Zones, ports and their indexes (see the module docstring)."""

    zones: list[Any]
    zone_index: Any
    ports: pl.DataFrame
    port_index: Any
    _near: np.ndarray  # raster: True where a point may be within NEAR_PORT_KM of a port
    _box: tuple[float, float, float, float]

    def zone_mask(self, lat: Any, lon: Any) -> np.ndarray:
        """Bit ``k`` set when a point lies in zone ``k`` (int64 array)."""
        la = np.asarray(lat, np.float64)
        lo = np.asarray(lon, np.float64)
        mask = np.zeros(la.size, np.int64)
        for k in range(len(self.zones)):
            mask |= self.zone_index.contains(la, lo, k).astype(np.int64) << k
        return mask

    def port_km(self, lat: Any, lon: Any) -> np.ndarray:
        """Distance (km) to the nearest port point, exact below NEAR_PORT_KM, else inf."""
        la = np.asarray(lat, np.float64).ravel()
        lo = np.asarray(lon, np.float64).ravel()
        out = np.full(la.size, np.inf)
        x0, y0, _, _ = self._box
        ny, nx = self._near.shape
        ix = np.floor((lo - x0) / RASTER_DEG).astype(np.int64)
        iy = np.floor((la - y0) / RASTER_DEG).astype(np.int64)
        inside = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
        cand = np.zeros(la.size, bool)
        cand[inside] = self._near[iy[inside], ix[inside]]
        cand |= ~inside
        i = np.flatnonzero(cand)
        if i.size:
            d, _ = self.port_index.nearest(la[i], lo[i])
            out[i] = np.where(d <= NEAR_PORT_KM, d, np.inf)
        return out

    def nearest_port(self, lat: Any, lon: Any) -> tuple[np.ndarray, np.ndarray]:
        """(distance km, port name) of the nearest port point, exactly, at any distance."""
        d, i = self.port_index.nearest(lat, lon)
        names = self.ports["name"].to_numpy()
        return np.asarray(d), np.asarray(np.where(i >= 0, names[np.maximum(i, 0)], None))

    def shore_km(self, lat: Any, lon: Any) -> np.ndarray:
        from seawatch.geo import distance_to_shore_km

        return distance_to_shore_km(np.asarray(lat, np.float64), np.asarray(lon, np.float64))

    def on_land(self, lat: Any, lon: Any) -> np.ndarray:
        from seawatch.geo import on_land

        return on_land(np.asarray(lat, np.float64), np.asarray(lon, np.float64))

    def forbidden_zones(self, flag: str) -> int:
        """Mask of the zones where a fishing vessel of ``flag`` may not fish."""
        mask = 0
        for k, z in enumerate(self.zones):
            state = ZONE_STATE.get(z.kind)
            if z.kind == "mpa" or (state is not None and state != flag):
                mask |= 1 << k
        return mask


@cache
def world() -> World:
    """The default world: ``seawatch.geo`` default zones and shipped ports (cached)."""
    from seawatch.geo import coverage_box, default_zones, port_index, ports, zone_index
    from seawatch.geo.geodesy import cell_half_diagonal_km

    zones = default_zones()
    table = ports()
    pidx = port_index(table)
    x0, y0, x1, y1 = coverage_box()
    nx = int(np.ceil((x1 - x0) / RASTER_DEG))
    ny = int(np.ceil((y1 - y0) / RASTER_DEG))
    cx = x0 + (np.arange(nx) + 0.5) * RASTER_DEG
    cy = y0 + (np.arange(ny) + 0.5) * RASTER_DEG
    gx, gy = np.meshgrid(cx, cy)
    d, _ = pidx.nearest(gy.ravel(), gx.ravel())
    half_diag = cell_half_diagonal_km(RASTER_DEG)
    near = (d <= NEAR_PORT_KM + half_diag + 0.1).reshape(ny, nx)
    return World(zones, zone_index(zones), table, pidx, near, (x0, y0, x1, y1))
