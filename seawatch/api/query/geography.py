"""Geography: the zones in use (and where they come from), and the land basemap."""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.geo.zones import Zone
    from seawatch.store import Store

LAND_COARSE_TOLERANCE_DEG = 0.01
"""Simplification of the coarse (1:50m) world land outside the fine coverage box (about a
kilometre, a fifth of a pixel at the zoom that shows the whole coverage box)."""
LAND_PRECISION_DEG = 1e-5
"""Coordinates of the land basemap are rounded to this (about a metre)."""
LAND_SOURCE = ("Natural Earth 1:10m land (world-atlas) in the Eastern Pacific box, 1:50m "
               "elsewhere")


def zones_in_use(store: Store, zones_file: Path | None) -> tuple[list[Zone], dict[str, Any]]:
    """The zones in use and where they come from (``{"source": ..., "note": ...}``).

    In order: ``zones_file`` (the server's); the zones file the detection run recorded
    (``zones_file`` in its run info), when it still exists; the default zones. When the run
    used zones whose boundaries the server cannot find, the defaults are served with a
    ``note`` saying so.
    """
    from seawatch.geo import default_zones, load_zones

    if zones_file is not None:
        return load_zones(zones_file), {"source": f"file {zones_file.name}"}
    run = store.events_info() or {}
    recorded = run.get("zones_file")
    if recorded and Path(recorded).is_file():
        try:
            return load_zones(recorded), {"source": f"file {Path(recorded).name}"}
        except (ValueError, OSError, ImportError, KeyError):
            pass
    zones = default_zones()
    meta: dict[str, Any] = {"source": "default"}
    used = run.get("zones")
    if used and set(used) != {z.name for z in zones}:
        meta["note"] = (
            f"detection used zones {sorted(used)} whose boundaries the server does not "
            "have; showing the default zones. Start the server with --zones FILE."
        )
    return zones, meta


def zones_geojson(zones: Sequence[Zone], meta: dict[str, Any]) -> str:
    """The zones as a GeoJSON FeatureCollection (text) with the members of ``meta``; each
    feature's ``id`` a slug of its name (:func:`zone_ids`)."""
    from seawatch.geo import zones_to_geojson

    doc = zones_to_geojson(list(zones))
    for feature, ident in zip(doc["features"], zone_ids(zones), strict=True):
        feature["id"] = ident
    doc = {"type": "FeatureCollection", **meta, "features": doc["features"]}
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def zone_ids(zones: Sequence[Zone]) -> list[str]:
    """URL-safe ids of zones from their names (``Galápagos Marine Reserve`` ->
    ``galapagos-marine-reserve``), made unique with a suffix.

    >>> from seawatch.geo import Zone
    >>> import shapely
    >>> box = shapely.box(0, 0, 1, 1)
    >>> zone_ids([Zone("Galápagos Reserve", "mpa", box), Zone("galapagos reserve", "x", box)])
    ['galapagos-reserve', 'galapagos-reserve-2']
    """
    out: list[str] = []
    seen: Counter[str] = Counter()
    for zone in zones:
        ascii_name = unicodedata.normalize("NFKD", zone.name).encode("ascii", "ignore").decode()
        slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-") or "zone"
        seen[slug] += 1
        out.append(slug if seen[slug] == 1 else f"{slug}-{seen[slug]}")
    return out


@functools.cache
def land_geojson() -> str:
    """Land polygons for the basemap as GeoJSON (text; built once, about 1 s).

    One Feature: Natural Earth 1:10m land in the fine coverage box (the Eastern Pacific off
    Ecuador) merged with the 1:50m land of the rest of the world (simplified to
    :data:`LAND_COARSE_TOLERANCE_DEG`), so that the polygons' outlines are coast only: no
    edge of the box is drawn across Colombia or Peru, and the land does not stop at a
    rectangle around the data. Where the two scales' coasts meet at the box's edges they
    differ by a few hundred metres. The answer depends on no data, so every agency gets
    the same. Coordinates rounded to :data:`LAND_PRECISION_DEG`.
    """
    import shapely

    from seawatch.geo import coverage_box, land, world_land

    outside = shapely.difference(world_land(), shapely.box(*coverage_box()))
    outside = shapely.simplify(outside, LAND_COARSE_TOLERANCE_DEG)
    merged = shapely.union(outside, land(), grid_size=LAND_PRECISION_DEG)
    return land_collection([land_feature("land", LAND_SOURCE, merged)])


def land_feature(ident: str, source: str, geometry: Any) -> str:
    """One land Feature (text): ``geometry`` rounded to :data:`LAND_PRECISION_DEG`."""
    import shapely

    geom = shapely.set_precision(geometry, LAND_PRECISION_DEG, mode="pointwise")
    text: str = shapely.to_geojson(geom)
    return (
        '{"type":"Feature","id":' + json.dumps(ident) + ',"properties":{"source":'
        + json.dumps(source) + '},"geometry":' + text + "}"
    )


def land_collection(features: Sequence[str]) -> str:
    """A FeatureCollection (text) of land Features.

    >>> land_collection([])
    '{"type":"FeatureCollection","features":[]}'
    """
    return '{"type":"FeatureCollection","features":[' + ",".join(features) + "]}"
