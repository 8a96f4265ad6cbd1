"""Fixed installations at sea: a user's platforms, buoys and fish farms, and candidates found
in the data (where several vessels stand by, far from shore, for long).

A vessel standing by an oil platform, tending a fish farm or a data buoy moves slowly in one
place for hours or days: loitering by the definition, and two of them side by side an
encounter. Neither is what the detectors look for, so the detectors' events at an
installation are lowered or dropped (:mod:`seawatch.detect.installations`, docs/detectors.md).
This module reads and finds the installations.

**A user's file** (:func:`load_installations`): GeoJSON features, each a Point, MultiPoint
(one installation per point), Polygon or MultiPolygon (a fish farm's pens: one installation
per polygon, at the mean of its outer ring's corners, whose farthest corner is its
``extent_km``). Properties, all optional: ``name`` (default ``"installation <n>"``), ``kind``
(``platform``, ``buoy``, ``fish_farm``, ...; default ``installation``), ``radius_km`` (this
installation's own radius, instead of ``[installations] radius_km``).

**Candidates in the data** (:func:`installations_from_periods`): periods of vessels standing
by (in seawatch, the loitering and encounter events: slow, for hours, away from port) lying
more than ``infer_min_shore_km`` from shore, grouped in ``infer_cell_km`` cells; a cell is a
candidate where at least ``infer_min_vessels`` distinct vessels stood by for at least
``infer_min_hours`` in all, over at least ``infer_min_span`` from the first start to the
last end. The span is what tells an installation from a meeting: two vessels meeting at sea
stand by together, at one time; an installation is visited, stood by and relieved over
days.

Examples
--------
>>> import json, tempfile
>>> from pathlib import Path
>>> doc = {"type": "FeatureCollection", "features": [
...     {"type": "Feature", "properties": {"name": "Amistad", "kind": "platform"},
...      "geometry": {"type": "Point", "coordinates": [-80.85, -3.05]}},
...     {"type": "Feature", "properties": {"kind": "fish_farm", "radius_km": 0.5},
...      "geometry": {"type": "Polygon", "coordinates": [[[-80.0, -2.0], [-79.99, -2.0],
...                   [-79.99, -1.99], [-80.0, -1.99], [-80.0, -2.0]]]}}]}
>>> with tempfile.TemporaryDirectory() as d:
...     path = Path(d, "installations.geojson")
...     _ = path.write_text(json.dumps(doc))
...     table = load_installations(path)
>>> table.select("name", "kind", "radius_km").rows()
[('Amistad', 'platform', None), ('installation 2', 'fish_farm', 0.5)]
>>> round(table["extent_km"][1], 2)
0.79
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from seawatch.errors import InvalidValue
from seawatch.geo.anchorages import PERIOD_COLUMNS, cell_of
from seawatch.geo.geodesy import unit_vectors, vector_lat_lon
from seawatch.geo.geojson import read_features
from seawatch.params import Count, Duration, Number, Params, param, resolve
from seawatch.units import parse_duration

__all__ = [
    "INSTALLATION_COLUMNS",
    "InstallationSearch",
    "installations_from_periods",
    "load_installations",
]

INSTALLATION_COLUMNS: dict[str, pl.DataType] = {
    "name": pl.String(),
    "kind": pl.String(),
    "lat": pl.Float64(),
    "lon": pl.Float64(),
    "extent_km": pl.Float64(),
    "radius_km": pl.Float64(),
    "source": pl.String(),
}
"""Columns of an installations table: ``extent_km`` is 0 for a point, the farthest corner of
a polygon from its centre otherwise; ``radius_km`` is the installation's own radius (null:
the ``[installations]`` one); ``source`` the file name, or ``inferred``."""


def load_installations(path: str | Path) -> pl.DataFrame:
    """A user's installations: GeoJSON points and polygons (see the module docstring).

    Returns
    -------
    polars.DataFrame
        One row per installation, columns :data:`INSTALLATION_COLUMNS`.

    Raises
    ------
    seawatch.errors.InputError
        The file cannot be read as JSON text.
    seawatch.errors.InvalidValue
        Not a GeoJSON Feature or FeatureCollection, a geometry that is not a point or a
        polygon, coordinates that are not numbers or out of range, or a ``radius_km`` that
        is not a number of at least 0 (the message names the feature).
    """
    path = Path(path)
    where = str(path)
    _, features = read_features(path)
    rows: dict[str, list[Any]] = {k: [] for k in INSTALLATION_COLUMNS}
    for i, feature in enumerate(features, start=1):
        props = feature.get("properties") or {}
        geometry = feature.get("geometry") or {}
        kind = geometry.get("type")
        coords: Any = geometry.get("coordinates")
        what = f"{where}: feature {i}"
        if kind not in ("Point", "MultiPoint", "Polygon", "MultiPolygon"):
            raise InvalidValue(
                f"{what} is a {kind}; installations are Points or Polygons (with "
                "optional name, kind and radius_km properties)"
            )
        try:
            if kind == "Point":
                places = [np.array([coords], dtype=np.float64)]
            elif kind == "MultiPoint":
                places = [np.array([c], dtype=np.float64) for c in coords]
            elif kind == "Polygon":
                places = [np.array(coords[0], dtype=np.float64)]
            else:
                places = [np.array(poly[0], dtype=np.float64) for poly in coords]
        except (TypeError, ValueError, IndexError) as exc:
            raise InvalidValue(f"{what} has coordinates that are not numbers") from exc
        radius = props.get("radius_km")
        if radius is not None and (
            isinstance(radius, bool) or not isinstance(radius, int | float) or radius < 0
        ):
            raise InvalidValue(f"{what}: radius_km must be a number of at least 0, not {radius!r}")
        for corners in places:
            if corners.ndim != 2 or corners.shape[1] < 2 or not np.isfinite(corners).all():
                raise InvalidValue(f"{what} has coordinates that are not numbers")
            if len(corners) > 1 and (corners[0, :2] == corners[-1, :2]).all():
                corners = corners[:-1]  # a closed ring: its first corner once
            lon, lat = corners[:, 0], corners[:, 1]
            if (np.abs(lat) > 90).any() or (np.abs(lon) > 180).any():
                raise InvalidValue(f"{what} has a latitude or longitude out of range")
            c_lat, c_lon, extent = _centre(lat, lon)
            n = len(rows["name"]) + 1
            rows["name"].append(str(props.get("name") or f"installation {n}"))
            rows["kind"].append(str(props.get("kind") or "installation"))
            rows["lat"].append(c_lat)
            rows["lon"].append(c_lon)
            rows["extent_km"].append(extent)
            rows["radius_km"].append(None if radius is None else float(radius))
            rows["source"].append(path.name)
    return pl.DataFrame(rows, schema=INSTALLATION_COLUMNS)


def _centre(lat: np.ndarray, lon: np.ndarray) -> tuple[float, float, float]:
    """The mean of points (antimeridian-safe) and the distance (km) of the farthest."""
    from seawatch.geo.geodesy import haversine_km

    if len(lat) == 1:
        return float(lat[0]), float(lon[0]), 0.0
    x, y, z = unit_vectors(lat, lon)
    mean_lat, mean_lon = vector_lat_lon(x.sum(), y.sum(), z.sum())
    c_lat, c_lon = float(mean_lat), float(mean_lon)
    far = haversine_km(np.full(len(lat), c_lat), np.full(len(lat), c_lon), lat, lon)
    return c_lat, c_lon, float(np.max(far))


class InstallationSearch(Params):
    """Parameters of the search for installation candidates in the data (``[installations]``
    ``infer_*``, docs/geo.md)."""

    infer_min_shore_km: Number = param(
        5.0,
        "Only stand-bys more than this far from shore (km) count; nearer, vessels still "
        "together are anchorages ([ports] max_shore_km) or moored ([encounter] "
        "moored_shore_km).",
        "[ports] max_shore_km (5 km): the two searches share the sea between them",
    )
    infer_cell_km: Number = param(
        2.0,
        "Side of the equal-area grid cells the stand-bys are grouped in (km).",
        "seawatch: vessels standing by one platform on its different sides (1 km each way)",
    )
    infer_min_vessels: Count = param(
        2,
        "Distinct vessels standing by in a cell for it to be a candidate.",
        "seawatch: one vessel still for long is loitering, the behaviour to report; an "
        "installation is served by several (supply vessel, crew boat, relief)",
    )
    infer_min_hours: Number = param(
        24.0,
        "Hours of stand-by summed over the cell's vessels for it to be a candidate.",
        "seawatch: a day of stand-by, twelve times the shortest loitering",
    )
    infer_min_span: Duration = param(
        "2d",
        "From the first start to the last end of the cell's stand-bys, at least this long: "
        "a place visited over days, not one meeting.",
        "seawatch: a meeting at sea is simultaneous, both vessels there at one time for "
        "hours (an encounter lasts at least 2 h, DESIGN.md); visits over two days are a "
        "fixed place",
    )


def installations_from_periods(
    periods: pl.DataFrame, *, params: InstallationSearch | None = None, **overrides: Any
) -> pl.DataFrame:
    """Installation candidates among stand-by periods (see the module docstring).

    Parameters
    ----------
    periods
        Periods of vessels standing by, one row per vessel and period: ``mmsi``, ``lat``,
        ``lon``, ``hours``, ``start``, ``end``
        (:func:`seawatch.detect.installations.standbys_of` the loitering and encounter
        events).
    params, **overrides
        The parameters (:class:`InstallationSearch`).

    Returns
    -------
    polars.DataFrame
        The candidates, most stand-by hours first: :data:`INSTALLATION_COLUMNS` (``name``
        ``"inferred installation <lat>,<lon>"``, ``kind`` ``candidate``, ``source``
        ``inferred``) plus ``n_vessels``, ``standby_hours`` and ``first`` / ``last`` (the
        first start and last end of the stand-bys).

    Examples
    --------
    >>> from datetime import datetime, timedelta, UTC
    >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
    >>> periods = pl.DataFrame({"mmsi": [1, 2, 1], "lat": -3.05, "lon": -80.85, "n": 50,
    ...     "hours": [20.0, 10.0, 8.0],
    ...     "start": [t0, t0 + timedelta(days=1), t0 + timedelta(days=2)],
    ...     "end": [t0 + timedelta(hours=20), t0 + timedelta(days=1, hours=10),
    ...             t0 + timedelta(days=2, hours=8)]})
    >>> installations_from_periods(periods).select("n_vessels", "standby_hours").row(0)
    (2, 38.0)
    >>> installations_from_periods(periods.head(2)).height   # 34 h, but within 2 days
    0
    """
    p = resolve(InstallationSearch, params, overrides, "installations_from_periods()")
    out_schema = {
        **INSTALLATION_COLUMNS,
        "n_vessels": pl.Int64(),
        "standby_hours": pl.Float64(),
        "first": PERIOD_COLUMNS["start"],
        "last": PERIOD_COLUMNS["end"],
    }
    # a position "not available" (lat 91, lon 181) is nowhere
    periods = periods.filter(pl.col("lat").abs() <= 90, pl.col("lon").abs() <= 180)
    if periods.height:
        from seawatch.geo.shore import distance_to_shore_km

        far = distance_to_shore_km(
            periods["lat"].cast(pl.Float64).to_numpy(), periods["lon"].cast(pl.Float64).to_numpy()
        ) > float(p.infer_min_shore_km)
        periods = periods.filter(pl.Series(far))
    if periods.height == 0:
        return pl.DataFrame(schema=out_schema)
    row, col = cell_of(pl.col("lat"), pl.col("lon"), p.infer_cell_km)
    x, y, z = unit_vectors(
        periods["lat"].cast(pl.Float64).to_numpy(), periods["lon"].cast(pl.Float64).to_numpy()
    )
    cells = (
        periods.with_columns(
            row.alias("_row"), col.alias("_col"), _x=x, _y=y, _z=z
        )
        .group_by("_row", "_col")
        .agg(
            pl.col("mmsi").n_unique().alias("n_vessels"),
            pl.col("hours").sum().alias("standby_hours"),
            pl.col("start").min().alias("first"),
            pl.col("end").max().alias("last"),
            pl.col("_x").sum(),
            pl.col("_y").sum(),
            pl.col("_z").sum(),
        )
        .filter(
            (pl.col("n_vessels") >= p.infer_min_vessels)
            & (pl.col("standby_hours") >= p.infer_min_hours)
            & (
                (pl.col("last") - pl.col("first"))
                >= pl.lit(parse_duration(p.infer_min_span))
            )
        )
        .sort(["standby_hours", "_row", "_col"], descending=[True, False, False])
    )
    lat, lon = vector_lat_lon(
        cells["_x"].to_numpy(), cells["_y"].to_numpy(), cells["_z"].to_numpy()
    )
    return cells.select(
        pl.format(
            "inferred installation {},{}",
            pl.Series(np.round(lat, 4)),
            pl.Series(np.round(lon, 4)),
        ).alias("name"),
        pl.lit("candidate").alias("kind"),
        pl.Series("lat", np.asarray(lat, dtype=np.float64)),
        pl.Series("lon", np.asarray(lon, dtype=np.float64)),
        pl.lit(0.0).alias("extent_km"),
        pl.lit(None, dtype=pl.Float64).alias("radius_km"),
        pl.lit("inferred").alias("source"),
        pl.col("n_vessels").cast(pl.Int64),
        pl.col("standby_hours").round(3),
        pl.col("first"),
        pl.col("last"),
    ).cast(out_schema)  # type: ignore[arg-type]
