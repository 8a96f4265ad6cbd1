"""Zones: named areas (marine reserve, territorial sea, EEZ, user-drawn) and fast membership.

A :class:`Zone` is a name, a kind and a shapely (multi)polygon in lon/lat WGS84. It carries
no marking: who may see a zone is decided by ``seawatch.share``, not here.

:func:`default_zones` derives approximations of Ecuador's zones from the shipped land; load
the official boundary files with :func:`load_zones` wherever a boundary has legal weight.

Approximations in :func:`default_zones`
---------------------------------------
- *Baselines*: Ecuador's straight baselines are not shipped. The Galápagos baselines are
  approximated by the convex hull of the archipelago's land polygons (lon -92.5..-89,
  lat -1.6..1.8, Darwin and Wolf included); the mainland is measured from its coast (the
  admin-0 ECU polygon east of 85 W), which puts the mainland limits a little landward of
  the official ones across bays such as the Gulf of Guayaquil.
- *Buffers*: each limit is a buffer in a WGS84 azimuthal-equidistant projection centred on
  the geometry (scale error under 0.2 % at 700 km from the centre, so the 200 nm line is
  within about 1 km of the true one), densified every 2 km.
- *Neighbours*: limits are clipped at the equidistance (median) line with the coasts of
  Peru, Colombia, Panama and Costa Rica (Cocos Island), computed as the Voronoi cells of
  coast points every 2 km in an azimuthal-equidistant plane centred at 1 S 85 W. The
  real boundaries with Colombia (1975) and Peru (2011) follow parallels and the one with
  Costa Rica (1985) is a treaty line, so near those boundaries the default zones can be off
  by tens of kilometres. Neighbours' land is removed.
- *Contents*: each zone includes the land and internal waters it encloses (ports, the
  Guayas estuary), so a vessel at a quay is inside; membership on land means nothing else.

Examples
--------
>>> from seawatch.geo import default_zones, zone_index
>>> zones = default_zones()
>>> [z.name for z in zones]
['Galápagos Marine Reserve', 'Ecuador territorial sea', 'Ecuador EEZ']
>>> point, zone = zone_index(zones).locate([-0.75], [-90.31])  # Puerto Ayora
>>> [zones[z].kind for z in zone]
['mpa', 'territorial_sea', 'eez']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from seawatch.errors import InvalidValue
from seawatch.geo import _data, derived
from seawatch.geo._grid import PolygonGrid
from seawatch.geo.geodesy import NM_KM, aeqd, buffer_km, project
from seawatch.geo.geojson import read_features

GALAPAGOS_BOX = (-92.5, -1.6, -89.0, 1.8)
"""lon/lat box holding every Galápagos island and nothing else."""
MAINLAND_WEST_LON = -85.0
"""ECU polygons east of this longitude are mainland Ecuador (and its coastal islands)."""
RESERVE_NM = 40.0
"""Galápagos Marine Reserve: 40 nm from the baselines (Ley Orgánica de Régimen Especial de
Galápagos, 1998)."""
TERRITORIAL_SEA_NM = 12.0
"""Territorial sea: 12 nm (UNCLOS art. 3; Ecuador acceded in 2012)."""
EEZ_NM = 200.0
"""Exclusive economic zone: 200 nm (UNCLOS art. 57)."""
NEIGHBOURS = ("PER", "COL", "PAN", "CRI")
"""Countries whose coasts the default zones are clipped against (median line)."""
MEDIAN_SPACING_KM = 2.0
"""Spacing of the coast points that define the median lines."""


@dataclass(frozen=True)
class Zone:
    """A named area.

    Parameters
    ----------
    name
        Unique, human-readable name; events refer to a zone by it.
    kind
        What sort of area: ``'mpa'``, ``'territorial_sea'``, ``'eez'``, ``'user'``, ...
    geometry
        shapely Polygon or MultiPolygon, lon/lat WGS84 degrees.
    properties
        Anything else (source, legal basis, ...); kept through GeoJSON round trips.

    Examples
    --------
    >>> z = Zone("box", "user", shapely.box(-81, -1, -80, 0))
    >>> z.name, z.geometry.geom_type
    ('box', 'Polygon')
    """

    name: str
    kind: str
    geometry: Any
    properties: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.geometry is None or self.geometry.geom_type not in ("Polygon", "MultiPolygon"):
            got = None if self.geometry is None else self.geometry.geom_type
            raise InvalidValue(f"zone {self.name!r}: geometry must be a (Multi)Polygon, got {got}")


# --- default zones ------------------------------------------------------------------------


def _ecuador_parts() -> tuple[Any, Any]:
    ecu = _data.countries()["ECU"]
    parts = shapely.get_parts(ecu)
    x0, y0, x1, y1 = GALAPAGOS_BOX
    gal = shapely.intersects(parts, shapely.box(x0, y0, x1, y1))
    mainland = shapely.bounds(parts)[:, 0] > MAINLAND_WEST_LON
    return shapely.union_all(parts[gal]), shapely.union_all(parts[mainland & ~gal])


def galapagos_baselines() -> Any:
    """Approximate Galápagos baselines: convex hull of the archipelago's land polygons."""
    x0, y0, x1, y1 = GALAPAGOS_BOX
    land = shapely.get_parts(_data.eastern_pacific("land"))
    islands = land[shapely.within(land, shapely.box(x0, y0, x1, y1))]
    return shapely.convex_hull(shapely.union_all(islands))


@cache
def _median_region() -> tuple[Any, Any]:
    """(region closer to Ecuador's coasts than to its neighbours' - AEQD Voronoi cells of
    coast points - and the union of the other countries' land)."""
    countries = _data.countries()
    fwd, inv = aeqd(-1.0, -85.0)
    others = shapely.union_all([countries[c] for c in countries if c != "ECU"])
    box = shapely.box(*_data.box())
    pts, owner = [], []
    for k, iso3 in enumerate(["ECU", *NEIGHBOURS]):
        g = countries[iso3]
        coast = shapely.boundary(g)
        if iso3 == "ECU":
            coast = shapely.difference(coast, shapely.buffer(others, 1e-4))
        else:
            coast = shapely.difference(coast, shapely.buffer(countries["ECU"], 1e-4))
            rest = shapely.union_all([countries[c] for c in countries if c not in ("ECU", iso3)])
            coast = shapely.difference(coast, shapely.buffer(rest, 1e-4))
        coast = shapely.difference(coast, shapely.buffer(shapely.boundary(box), 1e-4))
        xy = shapely.get_coordinates(
            shapely.segmentize(project(coast, fwd), MEDIAN_SPACING_KM * 1000)
        )
        pts.append(xy)
        owner.append(np.full(len(xy), k))
    xy = np.concatenate(pts)
    who = np.concatenate(owner)
    xy, first = np.unique(np.round(xy, 1), axis=0, return_index=True)
    who = who[first]
    cells = shapely.voronoi_polygons(shapely.multipoints(xy), ordered=True)
    cells = np.asarray(shapely.get_parts(cells))
    region = shapely.union_all(cells[who == 0])
    region = shapely.segmentize(region, MEDIAN_SPACING_KM * 1000)
    return shapely.make_valid(project(region, inv)), others


def _zone_shape(base: Any, nm: float) -> Any:
    region, others = _median_region()
    z = buffer_km(base, nm * NM_KM)
    z = shapely.difference(shapely.intersection(z, region), others)
    polys = [p for p in shapely.get_parts(shapely.make_valid(z)) if p.geom_type == "Polygon"]
    polys = [p for p in polys if p.area > 1e-6]
    return shapely.MultiPolygon(polys) if len(polys) > 1 else polys[0]


def _build_default_shapes() -> dict[str, np.ndarray]:
    _, mainland = _ecuador_parts()
    hull = galapagos_baselines()
    reserve = buffer_km(hull, RESERVE_NM * NM_KM)
    ts = shapely.union_all(
        [_zone_shape(mainland, TERRITORIAL_SEA_NM), _zone_shape(hull, TERRITORIAL_SEA_NM)]
    )
    eez = shapely.union_all([_zone_shape(mainland, EEZ_NM), _zone_shape(hull, EEZ_NM)])
    data, offsets = derived.pack_bytes(shapely.to_wkb([reserve, ts, eez]))
    return {"wkb": data, "offsets": offsets}


def _default_shapes() -> list[Any]:
    """Reserve, territorial sea and EEZ geometries, kept on disk between processes."""
    key = derived.fingerprint(
        "geo/zones.py", "geo/geodesy.py", "geo/data/eastern_pacific_10m.npz",
        params=(RESERVE_NM, TERRITORIAL_SEA_NM, EEZ_NM, MEDIAN_SPACING_KM, NM_KM),
    )  # fmt: skip
    a = derived.load_or_build("default-zones", key, _build_default_shapes)
    return list(shapely.from_wkb(derived.unpack_bytes(a["wkb"], a["offsets"])))


@cache
def _default_zones() -> tuple[Zone, ...]:
    note = "approximation derived from Natural Earth 1:10m land; see seawatch.geo.zones"
    reserve, ts, eez = _default_shapes()
    return (
        Zone(
            "Galápagos Marine Reserve",
            "mpa",
            reserve,
            {"source": note, "rule": "40 nm from the Galápagos baselines (convex hull)",
             "state": "ECU"},
        ),
        Zone(
            "Ecuador territorial sea",
            "territorial_sea",
            ts,
            {"source": note, "rule": "12 nm from the mainland coast and the Galápagos hull",
             "state": "ECU"},
        ),
        Zone(
            "Ecuador EEZ",
            "eez",
            eez,
            {"source": note, "rule": "200 nm from the mainland coast and the Galápagos hull",
             "state": "ECU"},
        ),
    )


def default_zones() -> list[Zone]:
    """Approximate Galápagos Marine Reserve, Ecuador territorial sea and Ecuador EEZ.

    Built from the shipped land (about a second) once, then read from the on-disk cache
    (:mod:`seawatch.geo.derived`) by later processes; see the
    module docstring for every approximation. Replace them with official boundaries via
    :func:`load_zones` where the line matters.

    Returns
    -------
    list of Zone: reserve (kind ``'mpa'``), territorial sea (``'territorial_sea'``) and
    EEZ (``'eez'``, two parts: mainland and Galápagos).
    """
    return list(_default_zones())


# --- reading and writing ------------------------------------------------------------------


def _name_key(properties: Mapping[str, Any], name_field: str, where: str) -> str:
    for key in properties:
        if key.lower() == name_field.lower():
            return key
    raise InvalidValue(
        f"{where}: zone features need a {name_field!r} property; "
        f"found: {sorted(properties)}. Add one, or pass name_field=..."
    )


def _zones_from_records(
    records: Sequence[tuple[Mapping[str, Any], Any]], name_field: str, where: str
) -> list[Zone]:
    zones = []
    for i, (props, geom) in enumerate(records):
        key = _name_key(props, name_field, f"{where} (feature {i})")
        if geom is None or geom.is_empty:
            raise InvalidValue(f"{where}: feature {i} ({props[key]!r}) has no geometry")
        if not geom.is_valid:
            geom = shapely.make_valid(geom)
            polys = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon"]
            geom = shapely.MultiPolygon(polys) if len(polys) != 1 else polys[0]
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise InvalidValue(
                f"{where}: feature {i} ({props[key]!r}) is a {geom.geom_type}; zones must be "
                "Polygon or MultiPolygon"
            )
        rest = {k: v for k, v in props.items() if k != key}
        kind = str(rest.pop("kind", "user") or "user")
        zones.append(Zone(str(props[key]), kind, geom, rest))
    return zones


def _geojson_crs_transformer(doc: Mapping[str, Any]) -> Any:
    crs = (doc.get("crs") or {}).get("properties", {}).get("name")
    if not crs or "CRS84" in crs or crs.endswith(":4326"):
        return None
    from pyproj import Transformer

    return Transformer.from_crs(crs, "OGC:CRS84", always_xy=True)


def load_zones(path: str | Path, *, name_field: str = "name") -> list[Zone]:
    """Read zones from a GeoJSON, Shapefile or GeoPackage file.

    Every feature needs a name property (``name_field``, matched case-insensitively, so
    ``NAME`` in a Shapefile works); an optional ``kind`` property becomes :attr:`Zone.kind`
    (default ``'user'``) and the other properties are kept. Geometries are reprojected to
    lon/lat WGS84 when the file says it uses another CRS; invalid polygons are repaired.

    GeoJSON needs nothing extra; Shapefile (``.shp``, ``.zip``) and GeoPackage (``.gpkg``)
    need the ``pyogrio`` package.

    Raises
    ------
    seawatch.errors.InputError
        A GeoJSON file that cannot be read as JSON.
    seawatch.errors.InvalidValue
        Not a GeoJSON Feature or FeatureCollection, a feature without the name property (the
        message lists the properties found), or a geometry that is invalid or not a polygon.
    ImportError
        A Shapefile or GeoPackage without ``pyogrio`` installed.

    Examples
    --------
    >>> import json, tempfile, os
    >>> doc = {"type": "FeatureCollection", "features": [{"type": "Feature",
    ...     "properties": {"name": "Box"}, "geometry": shapely.geometry.mapping(
    ...     shapely.box(-81, -1, -80, 0))}]}
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = os.path.join(d, "z.geojson")
    ...     _ = open(p, "w").write(json.dumps(doc))
    ...     [z.name for z in load_zones(p)]
    ['Box']
    """
    path = Path(path)
    where = str(path)
    if path.suffix.lower() in (".geojson", ".json"):
        doc, feats = read_features(path)
        tr = _geojson_crs_transformer(doc)
        records = []
        for i, f in enumerate(feats):
            try:
                g = shapely.geometry.shape(f["geometry"]) if f.get("geometry") else None
            except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
                raise InvalidValue(f"{where}: feature {i} has an invalid geometry ({exc})") from exc
            if g is not None and tr is not None:
                g = project(g, tr)
            records.append((f.get("properties") or {}, g))
        return _zones_from_records(records, name_field, where)
    return _load_with_ogr(path, name_field)


def _load_with_ogr(path: Path, name_field: str) -> list[Zone]:
    try:
        from pyogrio.raw import read
    except ImportError as e:
        raise ImportError(
            f"reading {path.suffix or 'this'} files needs the 'pyogrio' package "
            "(pip install pyogrio); or convert the file to GeoJSON"
        ) from e
    meta, _, geoms, fields = read(path)
    names = list(meta["fields"])
    geoms = shapely.from_wkb(geoms)
    crs = meta.get("crs")
    if crs and crs not in ("EPSG:4326", "OGC:CRS84"):
        from pyproj import CRS, Transformer

        if not CRS.from_user_input(crs).equals(CRS.from_epsg(4326), ignore_axis_order=True):
            tr = Transformer.from_crs(crs, "OGC:CRS84", always_xy=True)
            geoms = np.array([project(g, tr) for g in geoms], dtype=object)
    records = []
    for i, g in enumerate(geoms):
        props = {n: _plain(fields[j][i]) for j, n in enumerate(names)}
        records.append((props, g))
    return _zones_from_records(records, name_field, str(path))


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def zones_to_geojson(zones: Sequence[Zone]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (dict) of the zones: properties name, kind and the rest.

    >>> doc = zones_to_geojson([Zone("b", "user", shapely.box(0, 0, 1, 1))])
    >>> doc["features"][0]["properties"]
    {'name': 'b', 'kind': 'user'}
    """
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": z.name, "kind": z.kind, **dict(z.properties)},
                "geometry": shapely.geometry.mapping(z.geometry),
            }
            for z in zones
        ],
    }


# --- membership ---------------------------------------------------------------------------


class ZoneIndex:
    """Vectorised point-in-zone lookup over a fixed list of zones.

    Each zone gets a raster accelerator (see ``seawatch.geo._grid``): points in cells wholly
    inside or outside a zone are answered by an array lookup, only points in cells its
    boundary crosses go through ``shapely.contains_xy``. Results equal ``contains_xy`` per
    zone. Build with :func:`zone_index`.
    """

    def __init__(self, zones: Sequence[Zone]) -> None:
        self.zones = list(zones)
        self._grids = [PolygonGrid(z.geometry) for z in self.zones]

    def __len__(self) -> int:
        return len(self.zones)

    def contains(self, lat: Any, lon: Any, zone: int) -> np.ndarray:
        """Boolean array: which points lie in zone number ``zone``."""
        la = np.ravel(np.asarray(lat, dtype=np.float64))
        lo = np.ravel(np.asarray(lon, dtype=np.float64))
        return self._grids[zone].contains(lo, la)

    def locate(self, lat: Any, lon: Any) -> tuple[np.ndarray, np.ndarray]:
        """All (point, zone) containments.

        Parameters
        ----------
        lat, lon
            Degrees, 1-D array-likes of equal length.

        Returns
        -------
        (point_index, zone_index): int64 arrays of equal length, sorted by point then zone.
        A point in several zones (territorial sea inside the EEZ) appears once per zone; a
        point in none does not appear.
        """
        la = np.ravel(np.asarray(lat, dtype=np.float64))
        lo = np.ravel(np.asarray(lon, dtype=np.float64))
        pts, zs = [], []
        for k, grid in enumerate(self._grids):
            i = np.flatnonzero(grid.contains(lo, la))
            pts.append(i)
            zs.append(np.full(i.size, k, dtype=np.int64))
        if not pts:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        p = np.concatenate(pts)
        z = np.concatenate(zs)
        order = np.argsort(p, kind="stable")
        return p[order], z[order]


def zone_index(zones: Sequence[Zone]) -> ZoneIndex:
    """Build a :class:`ZoneIndex` over ``zones`` (a few hundred ms per large zone)."""
    return ZoneIndex(zones)
