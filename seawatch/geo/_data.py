"""Read the reference geography shipped in ``seawatch/geo/data`` (see its README.md).

Geometries are stored as shapely ragged arrays of int32 micro-degrees inside ``.npz`` files
written by ``scripts/build_geo_data.py``; reading one takes a few milliseconds.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import shapely

DATA = resources.files("seawatch.geo") / "data"
SCALE = 1e-6  # int32 micro-degrees -> degrees


@cache
def _npz(name: str) -> dict[str, np.ndarray]:
    with (DATA / name).open("rb") as f, np.load(f) as z:
        return {k: z[k] for k in z.files}


def _unpack(arrays: dict[str, np.ndarray], prefix: str) -> np.ndarray:
    offsets = []
    i = 0
    while f"{prefix}_offsets{i}" in arrays:
        offsets.append(arrays[f"{prefix}_offsets{i}"].astype(np.int64))
        i += 1
    coords = arrays[f"{prefix}_coords"].astype(np.float64) * SCALE
    geom_type = shapely.GeometryType(int(arrays[f"{prefix}_type"]))
    return shapely.from_ragged_array(geom_type, coords, tuple(offsets))


@cache
def eastern_pacific(layer: str) -> Any:
    """One shapely geometry of the 10m Eastern Pacific data: 'land' or 'coast'."""
    return _unpack(_npz("eastern_pacific_10m.npz"), layer)[0]


@cache
def countries() -> dict[str, Any]:
    """Admin-0 land polygons of the box by ISO 3166 alpha-3 code."""
    arrays = _npz("eastern_pacific_10m.npz")
    geoms = _unpack(arrays, "countries")
    return {str(iso3): g for iso3, g in zip(arrays["countries_iso3"], geoms, strict=True)}


@cache
def box() -> tuple[float, float, float, float]:
    """The coverage box of the fine layer: (lon_min, lat_min, lon_max, lat_max)."""
    b = _npz("eastern_pacific_10m.npz")["box"]
    return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))


@cache
def world_land() -> Any:
    """Global 1:50m land (one MultiPolygon)."""
    return _unpack(_npz("world_50m.npz"), "land")[0]
