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

from seawatch.units import BBox

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.geo.zones import Zone
    from seawatch.store import Store

LAND_MARGIN_DEG = 5.0
"""Margin around the data's extent within which the coarse world land is served."""
LAND_COARSE_TOLERANCE_DEG = 0.01
"""Simplification of the coarse (1:50m) world land outside the fine coverage box."""
LAND_PRECISION_DEG = 1e-5
"""Coordinates of the land basemap are rounded to this (about a metre)."""
FINE_LAND_SOURCE = "Natural Earth 1:10m land (world-atlas)"
COARSE_LAND_SOURCE = "Natural Earth 1:50m land (world-atlas)"


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


def land_geojson(extent: BBox | None) -> str:
    """Land polygons for the basemap as GeoJSON (text).

    Natural Earth 1:10m land in the fine coverage box (the Eastern Pacific off Ecuador);
    where the data's ``extent`` (plus :data:`LAND_MARGIN_DEG`) reaches beyond it, the coarse
    1:50m world land there, simplified. Coordinates rounded to :data:`LAND_PRECISION_DEG`.
    """
    import shapely

    from seawatch.geo import coverage_box, world_land

    features = [fine_land_feature()]
    if extent is not None:
        x0, y0, x1, y1 = extent
        m = LAND_MARGIN_DEG
        if x0 <= x1:
            region = shapely.box(max(x0 - m, -180), max(y0 - m, -90), min(x1 + m, 180),
                                 min(y1 + m, 90))
        else:  # across the antimeridian
            region = shapely.union(
                shapely.box(max(x0 - m, -180), max(y0 - m, -90), 180, min(y1 + m, 90)),
                shapely.box(-180, max(y0 - m, -90), min(x1 + m, 180), min(y1 + m, 90)),
            )
        outside = shapely.difference(region, shapely.box(*coverage_box()))
        if not outside.is_empty:
            coarse = shapely.intersection(world_land(), outside)
            coarse = shapely.simplify(coarse, LAND_COARSE_TOLERANCE_DEG)
            if not coarse.is_empty:
                features.append(land_feature("coarse", COARSE_LAND_SOURCE, coarse))
    return land_collection(features)


def fine_land_geojson() -> str:
    """Natural Earth 1:10m land in the fixed coverage box only: the basemap of another
    agency (the coarse land around the data would outline the extent of the host's data)."""
    return land_collection([fine_land_feature()])


@functools.cache
def fine_land_feature() -> str:
    """The Feature (text) of Natural Earth 1:10m land in the coverage box (built once)."""
    from seawatch.geo import land

    return land_feature("fine", FINE_LAND_SOURCE, land())


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
