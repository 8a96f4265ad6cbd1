"""Offline reference geography: land, distance from shore, zones, ports and anchorages.

Everything works from data shipped in ``seawatch/geo/data`` (Natural Earth land via
world-atlas, Global Fishing Watch anchorages, World Port Index); nothing is downloaded.
Functions take arrays or Polars tables and return arrays or tables; heavy libraries
(shapely, pyproj, scipy, numba) load on first use, so ``import seawatch.geo`` is cheap.

>>> from seawatch import geo
>>> geo.on_land([-0.95], [-80.68]).tolist()  # Manta
[True]

Every distance, earth-centred vector, speed and projection of the package is computed in
:mod:`seawatch.geo.geodesy`. See ``docs/geo.md`` for the methods, error bounds and
approximations.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.geo.anchorages import infer_anchorages
    from seawatch.geo.landmask import coastline, coverage_box, land, on_land, world_land
    from seawatch.geo.portlist import PortIndex, load_ports, port_index, ports
    from seawatch.geo.shore import distance_to_shore_km
    from seawatch.geo.zones import (
        Zone,
        ZoneIndex,
        default_zones,
        load_zones,
        zone_index,
        zones_to_geojson,
    )

_LAZY = {
    "land": "seawatch.geo.landmask",
    "coastline": "seawatch.geo.landmask",
    "world_land": "seawatch.geo.landmask",
    "coverage_box": "seawatch.geo.landmask",
    "on_land": "seawatch.geo.landmask",
    "distance_to_shore_km": "seawatch.geo.shore",
    "Zone": "seawatch.geo.zones",
    "ZoneIndex": "seawatch.geo.zones",
    "default_zones": "seawatch.geo.zones",
    "load_zones": "seawatch.geo.zones",
    "zones_to_geojson": "seawatch.geo.zones",
    "zone_index": "seawatch.geo.zones",
    "ports": "seawatch.geo.portlist",
    "load_ports": "seawatch.geo.portlist",
    "port_index": "seawatch.geo.portlist",
    "PortIndex": "seawatch.geo.portlist",
    "infer_anchorages": "seawatch.geo.anchorages",
}

__all__ = [
    "PortIndex",
    "Zone",
    "ZoneIndex",
    "coastline",
    "coverage_box",
    "default_zones",
    "distance_to_shore_km",
    "infer_anchorages",
    "land",
    "load_ports",
    "load_zones",
    "on_land",
    "port_index",
    "ports",
    "world_land",
    "zone_index",
    "zones_to_geojson",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'seawatch.geo' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
