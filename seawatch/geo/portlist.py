"""Ports and anchorages: the shipped named list, user lists, and nearest-port lookups.

The shipped list has two parts. ``ports()`` (``seawatch/geo/data/ports.csv``, 1,657 rows) is
the detailed Eastern Pacific: inside the coverage box the 1,610 named anchorage points of
Global Fishing Watch's ``anchorage_overrides.csv`` (kind ``'anchorage'``, source
``'gfw_anchorages'``; several points per port, e.g. 30-odd for MANTA), the World Port Index
ports that have no GFW anchorage within 2 km and a few curated harbours. ``ports(world=True)``
adds ``world_ports.csv``: the 3,614 World Port Index ports of the rest of the world (kind
``'port'``, source ``'wpi'``; one point per port, at its charted position, so a large
harbour's berths may lie several km from it), which the detectors use (``port_index()``), so
that distances from port mean something wherever a store's positions lie. The Eastern
Pacific part stays its own list: it is the simulator's world.

Examples
--------
>>> from seawatch.geo import ports, port_index
>>> p = ports(world=True)
>>> p.columns
['name', 'lat', 'lon', 'iso3', 'kind', 'source']
>>> d, i = port_index(p).nearest([-0.93], [-80.72])
>>> p["name"][int(i[0])], bool(d[0] < 1)
('MANTA', True)
>>> d, i = port_index().nearest([22.61], [120.27])   # Kaohsiung, from the World Port Index
>>> p["name"][int(i[0])], p["source"][int(i[0])]
('KAO-HSIUNG', 'wpi')
>>> ports().height, p.height
(1657, 5271)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, overload

import numpy as np
import polars as pl

from seawatch.errors import InputError, InvalidValue
from seawatch.geo.geodesy import arc_to_chord_km, chord_to_arc_km, ecef_km
from seawatch.geo.geojson import read_features

PORT_COLUMNS = ["name", "lat", "lon", "iso3", "kind", "source"]
_ALIASES = {
    "name": ("name", "label", "port", "port_name"),
    "lat": ("lat", "latitude"),
    "lon": ("lon", "longitude", "lng", "long"),
    "iso3": ("iso3", "iso_a3", "country"),
    "kind": ("kind", "type"),
}


@cache
def _shipped(name: str) -> pl.DataFrame:
    from seawatch.geo._data import DATA

    with (DATA / name).open("rb") as f:
        return pl.read_csv(
            f.read(),
            schema={
                "name": pl.String,
                "lat": pl.Float64,
                "lon": pl.Float64,
                "iso3": pl.String,
                "kind": pl.String,
                "source": pl.String,
            },
        )


def ports(*, world: bool = False) -> pl.DataFrame:
    """The shipped ports and anchorages of the Eastern Pacific, and with ``world`` those of
    the World Port Index everywhere else (see the module docstring).

    Returns
    -------
    polars.DataFrame with columns name, lat, lon (float64 degrees), iso3, kind
    (``'anchorage'`` or ``'port'``) and source (``'gfw_anchorages'``, ``'wpi'`` or
    ``'seawatch_curated'``); the Eastern Pacific rows first.
    """
    if not world:
        return _shipped("ports.csv").clone()
    return _everywhere().clone()


@cache
def _everywhere() -> pl.DataFrame:
    return pl.concat([_shipped("ports.csv"), _shipped("world_ports.csv")])


@overload
def _pick(columns: list[str], want: str, where: str) -> str: ...
@overload
def _pick(columns: list[str], want: str, where: str, required: bool) -> str | None: ...
def _pick(columns: list[str], want: str, where: str, required: bool = True) -> str | None:
    lower = {c.lower().strip(): c for c in columns}
    for alias in _ALIASES[want]:
        if alias in lower:
            return lower[alias]
    if required:
        raise InvalidValue(
            f"{where}: no {want!r} column (accepted: {', '.join(_ALIASES[want])}, any case); "
            f"found: {columns}"
        )
    return None


def load_ports(path: str | Path, *, source: str | None = None) -> pl.DataFrame:
    """Read a user's port list: CSV or GeoJSON points.

    CSV needs columns for name, latitude and longitude, matched case-insensitively:
    ``name``/``label``, ``lat``/``latitude``, ``lon``/``longitude``; ``iso3`` and ``kind``
    are used when present, other columns are ignored, and numbers may be space-padded.
    GeoJSON needs Point (or MultiPoint: one row per point) features with a ``name``
    property.

    Returns
    -------
    polars.DataFrame with the columns of :func:`ports`; ``source`` defaults to the file
    name, ``kind`` to ``'port'``.

    Raises
    ------
    seawatch.errors.InputError
        The file cannot be read as CSV or as JSON.
    seawatch.errors.InvalidValue
        Not a GeoJSON Feature or FeatureCollection, a missing column or property (the message
        lists those found), a coordinate that is not a number, or a latitude/longitude out of
        range.
    """
    path = Path(path)
    where = str(path)
    src = source or path.name
    if path.suffix.lower() in (".geojson", ".json"):
        frame = _ports_from_geojson(path, where)
    else:
        try:
            raw = pl.read_csv(path, infer_schema=False)
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise InputError(f"{where}: cannot read as CSV ({exc})") from exc
        cols = raw.columns
        sel = {
            "name": pl.col(_pick(cols, "name", where)).str.strip_chars(),
            "lat": pl.col(_pick(cols, "lat", where)).str.strip_chars(),
            "lon": pl.col(_pick(cols, "lon", where)).str.strip_chars(),
        }
        for opt in ("iso3", "kind"):
            c = _pick(cols, opt, where, required=False)
            sel[opt] = pl.col(c).str.strip_chars() if c else pl.lit(None, dtype=pl.String)
        frame = raw.select(**sel)
        for c in ("lat", "lon"):
            bad = frame.filter(
                pl.col(c).is_not_null() & pl.col(c).cast(pl.Float64, strict=False).is_null()
            )
            if bad.height:
                raise InvalidValue(
                    f"{where}: {c} is not a number in {bad.height} row(s), "
                    f"e.g. {bad[c][0]!r} for {bad['name'][0]!r}"
                )
        frame = frame.with_columns(pl.col("lat", "lon").cast(pl.Float64))
    return _finish(frame, src, where)


def _ports_from_geojson(path: Path, where: str) -> pl.DataFrame:
    _, feats = read_features(path)
    rows: dict[str, list[Any]] = {k: [] for k in ("name", "lat", "lon", "iso3", "kind")}
    for i, f in enumerate(feats):
        props = f.get("properties") or {}
        key = _pick(list(props), "name", f"{where} (feature {i})")
        g = f.get("geometry") or {}
        if g.get("type") == "Point":
            coords = [g["coordinates"]]
        elif g.get("type") == "MultiPoint":
            coords = g["coordinates"]
        else:
            raise InvalidValue(f"{where}: feature {i} is a {g.get('type')}, ports must be Points")
        ik = _pick(list(props), "iso3", where, required=False)
        kk = _pick(list(props), "kind", where, required=False)
        try:
            points = [(float(c[0]), float(c[1])) for c in coords]
        except (ValueError, TypeError, IndexError, KeyError) as exc:
            raise InvalidValue(
                f"{where}: feature {i} ({props[key]!r}) has coordinates that are not numbers"
            ) from exc
        for lon, lat in points:
            rows["name"].append(str(props[key]))
            rows["lon"].append(lon)
            rows["lat"].append(lat)
            rows["iso3"].append(props.get(ik) if ik else None)
            rows["kind"].append(props.get(kk) if kk else None)
    return pl.DataFrame(
        rows,
        schema={
            "name": pl.String,
            "lat": pl.Float64,
            "lon": pl.Float64,
            "iso3": pl.String,
            "kind": pl.String,
        },
    )


def _finish(frame: pl.DataFrame, source: str, where: str) -> pl.DataFrame:
    out = frame.select(
        pl.col("name"),
        pl.col("lat"),
        pl.col("lon"),
        pl.col("iso3"),
        pl.col("kind").fill_null("port"),
        pl.lit(source).alias("source"),
    )
    bad = out.filter(
        pl.col("lat").is_null()
        | pl.col("lon").is_null()
        | (pl.col("lat").abs() > 90)
        | (pl.col("lon").abs() > 180)
    )
    if bad.height:
        r = bad.row(0, named=True)
        raise InvalidValue(
            f"{where}: {bad.height} port(s) with a missing or out-of-range position, "
            f"e.g. {r['name']!r} at lat={r['lat']}, lon={r['lon']}"
        )
    return out


@dataclass(frozen=True)
class PortIndex:
    """Nearest-port lookups over a port table (k-d tree on WGS84 earth-centred vectors)."""

    ports: pl.DataFrame
    _tree: Any

    def nearest(self, lat: Any, lon: Any) -> tuple[np.ndarray, np.ndarray]:
        """Distance (km) to, and row index of, the nearest port for each point.

        Distances are chord lengths turned into arc lengths: within 0.01 km of the WGS84
        geodesic up to 100 km, 0.1 % beyond. NaN points give (inf, -1).

        >>> import polars as pl
        >>> t = pl.DataFrame({"name": ["A", "B"], "lat": [0.0, 1.0], "lon": [0.0, 1.0]})
        >>> d, i = port_index(t).nearest([0.9], [1.0])
        >>> i.tolist(), round(float(d[0]), 1)
        ([1], 11.1)
        """
        la = np.ravel(np.asarray(lat, dtype=np.float64))
        lo = np.ravel(np.asarray(lon, dtype=np.float64))
        dist = np.full(la.shape, np.inf)
        idx = np.full(la.shape, -1, dtype=np.int64)
        ok = np.isfinite(la) & np.isfinite(lo)
        if ok.any() and self.ports.height:
            chord, i = self._tree.query(ecef_km(la[ok], lo[ok]))
            dist[ok] = chord_to_arc_km(chord)
            idx[ok] = i
        return dist, idx

    def isolated(self, km: float) -> np.ndarray:
        """Rows of the ports with no other port closer than ``km`` (the chord between the
        earth-centred points: a few millimetres shorter than the surface distance at 10 km).

        >>> t = pl.DataFrame({"name": ["A", "B", "C"], "lat": [0.0, 0.05, 1.0],
        ...                   "lon": [0.0, 0.0, 0.0]})
        >>> port_index(t).isolated(10.0).tolist()
        [2]
        """
        lat = self.ports["lat"].cast(pl.Float64).to_numpy()
        lon = self.ports["lon"].cast(pl.Float64).to_numpy()
        chord, _ = self._tree.query(ecef_km(lat, lon), k=2)
        return np.flatnonzero(chord[:, 1] > km)

    def within(self, lat: Any, lon: Any, km: float) -> tuple[np.ndarray, np.ndarray]:
        """All (point_index, port_index) pairs closer than ``km``, sorted by point."""
        la = np.ravel(np.asarray(lat, dtype=np.float64))
        lo = np.ravel(np.asarray(lon, dtype=np.float64))
        ok = np.flatnonzero(np.isfinite(la) & np.isfinite(lo))
        hits = self._tree.query_ball_point(ecef_km(la[ok], lo[ok]), float(arc_to_chord_km(km)))
        counts = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
        p = np.repeat(ok, counts)
        q = np.fromiter((j for h in hits for j in sorted(h)), dtype=np.int64, count=counts.sum())
        return p, q


def port_index(table: pl.DataFrame | None = None) -> PortIndex:
    """Build a :class:`PortIndex` over ``table`` (default: every shipped port,
    ``ports(world=True)``).

    ``table`` needs ``lat`` and ``lon`` columns (any other columns are kept as they are).
    """
    from scipy.spatial import cKDTree

    t = ports(world=True) if table is None else table
    missing = [c for c in ("lat", "lon") if c not in t.columns]
    if missing:
        raise InvalidValue(f"port table lacks column(s) {missing}; found: {t.columns}")
    lat = t["lat"].cast(pl.Float64).to_numpy()
    lon = t["lon"].cast(pl.Float64).to_numpy()
    return PortIndex(t, cKDTree(ecef_km(lat, lon)))
