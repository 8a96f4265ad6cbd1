"""Land: the shipped land polygons and a fast vectorised on-land test.

Two layers ship with the package (see ``seawatch/geo/data/README.md``):

- inside the coverage box (lon -100..-70, lat -10..12: Ecuador, the Galápagos, Colombia,
  Panama, Costa Rica, northern Peru) Natural Earth 1:10m land, whose coastline is accurate
  to a few hundred metres (world-atlas quantises it to about 400 m x 190 m);
- everywhere else Natural Earth 1:50m land, good to a few kilometres.

Examples
--------
>>> from seawatch.geo import on_land
>>> on_land([-0.95, -1.2], [-80.70, -81.2]).tolist()  # Manta; 50 km off Manta
[True, False]
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import shapely

from seawatch.geo import _data
from seawatch.geo._grid import PolygonGrid

LAND_CELL_DEG = 1 / 64
"""Cell size of the on-land raster accelerator (about 1.7 km); only cells the coast crosses
need an exact polygon test."""


def coverage_box() -> tuple[float, float, float, float]:
    """(lon_min, lat_min, lon_max, lat_max) of the fine (1:10m) layer."""
    return _data.box()


def land() -> Any:
    """Land inside the coverage box as one shapely MultiPolygon (lon/lat WGS84, cached).

    >>> land().geom_type
    'MultiPolygon'
    """
    return _data.eastern_pacific("land")


def coastline() -> Any:
    """Coastline inside the coverage box as a MultiLineString (box edges are not coast)."""
    return _data.eastern_pacific("coast")


def world_land() -> Any:
    """Coarse global land (Natural Earth 1:50m), used outside the coverage box."""
    return _data.world_land()


@cache
def _fine_grid() -> PolygonGrid:
    return PolygonGrid(land(), cell_deg=LAND_CELL_DEG, bounds=coverage_box())


@cache
def _world() -> Any:
    g = world_land()
    shapely.prepare(g)
    return g


def in_box(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Which points lie inside the coverage box (edges included)."""
    x0, y0, x1, y1 = coverage_box()
    return (lat >= y0) & (lat <= y1) & (lon >= x0) & (lon <= x1)


def on_land(lat: Any, lon: Any) -> np.ndarray:
    """Whether each point lies on land.

    Inside the coverage box the 1:10m land decides (exactly: a raster of 1/64 degree cells
    answers for cells wholly on land or at sea, ``shapely.contains_xy`` for cells the coast
    crosses); outside it the 1:50m world land. NaN coordinates, and longitudes outside
    -180..180, give False.

    Parameters
    ----------
    lat, lon
        Degrees (WGS84), array-likes of the same shape.

    Returns
    -------
    numpy.ndarray of bool, same shape as ``lat``.

    Examples
    --------
    >>> on_land([-0.74, 0.0], [-90.33, -95.0]).tolist()  # Santa Cruz (Galápagos); open sea
    [True, False]
    """
    la = np.asarray(lat, dtype=np.float64)
    lo = np.asarray(lon, dtype=np.float64)
    shape = np.broadcast_shapes(la.shape, lo.shape)
    la = np.broadcast_to(la, shape).ravel()
    lo = np.broadcast_to(lo, shape).ravel()
    inside = in_box(la, lo)
    out = np.zeros(la.shape, dtype=bool)
    if inside.all():
        out = _fine_grid().contains(lo, la)
    else:
        i = np.flatnonzero(inside)
        if i.size:
            out[i] = _fine_grid().contains(lo[i], la[i])
        o = np.flatnonzero(~inside & np.isfinite(la) & np.isfinite(lo))
        if o.size:
            out[o] = shapely.contains_xy(_world(), lo[o], la[o])
    return out.reshape(shape)
