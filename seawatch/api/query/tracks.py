"""Tracks: a vessel's positions in a window as one GeoJSON Feature, simplified for a zoom
level and thinned to a cap, with the times, speeds and courses a map plays back."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from seawatch.export import json_safe
from seawatch.units import format_time

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.api.query import StoreQuery

TRACK_DEFAULT_WINDOW = timedelta(hours=24)
"""A track without ``start`` and ``end`` covers the last 24 h of the vessel's data."""
TRACK_MAX_WINDOW = timedelta(days=31)
"""Longest track window one request may ask for."""
TRACK_MAX_POINTS = 50_000
"""A track is thinned evenly to at most this many points (after any simplification)."""
TRACK_PIXELS = 1.0
"""Douglas-Peucker tolerance of a track, in screen pixels at the requested zoom."""


def build_track(query: StoreQuery, mmsi: int, start: datetime, end: datetime,
                zoom: float | None = None) -> dict[str, Any]:
    """A vessel's track in ``[start, end)`` from the whole store (:func:`track_feature`)."""
    frame = query.retry(
        lambda: query.store.positions(mmsi=mmsi, start=start, end=end)
        .select("ts", "lat", "lon", "sog", "cog")
        .filter(pl.col("lat").is_not_null() & pl.col("lon").is_not_null())
        .sort("ts")
        .collect()
    )
    return track_feature(frame, mmsi, start, end, zoom)


def track_feature(frame: pl.DataFrame, mmsi: int, start: datetime, end: datetime,
                  zoom: float | None) -> dict[str, Any]:
    """A vessel's track as a GeoJSON Feature (dict) from a frame of its positions.

    Geometry: a LineString (two points or more), a Point (one) or null (none). With ``zoom``
    the line is simplified by Douglas-Peucker with a tolerance of :data:`TRACK_PIXELS`
    screen pixels at that Web Mercator zoom level (first and last point always kept); then,
    or without ``zoom``, thinned evenly to at most :data:`TRACK_MAX_POINTS`. Properties
    ``times``, ``sog`` and ``cog`` have one entry per coordinate, so a map can play the
    track back.
    """
    frame = (
        frame.select("ts", "lat", "lon", "sog", "cog")
        .filter(pl.col("lat").is_not_null() & pl.col("lon").is_not_null())
        .sort("ts")
    )
    total = frame.height
    if zoom is not None and total > 2:
        keep = simplify_indices(frame["lon"].to_numpy(), frame["lat"].to_numpy(),
                                zoom_tolerance(zoom))
        frame = frame[keep]
    frame = thin(frame, TRACK_MAX_POINTS)
    coords = [[x, y] for x, y in zip(frame["lon"].to_list(), frame["lat"].to_list(),
                                     strict=True)]
    geometry: dict[str, Any] | None
    if len(coords) >= 2:
        geometry = {"type": "LineString", "coordinates": coords}
    elif coords:
        geometry = {"type": "Point", "coordinates": coords[0]}
    else:
        geometry = None
    text = json_safe(frame.select("ts", "sog", "cog"))
    return {
        "type": "Feature", "id": mmsi, "geometry": geometry,
        "properties": {
            "mmsi": mmsi, "start": format_time(start), "end": format_time(end), "zoom": zoom,
            "times": text["ts"].to_list(), "sog": text["sog"].to_list(),
            "cog": text["cog"].to_list(), "points_total": total,
            "points_returned": frame.height,
        },
    }


def zoom_tolerance(zoom: float) -> float:
    """Degrees of longitude per :data:`TRACK_PIXELS` screen pixels at a Web Mercator zoom.

    >>> round(zoom_tolerance(10), 6)
    0.001373
    """
    return TRACK_PIXELS * 360.0 / (256.0 * math.pow(2.0, zoom))


def simplify_indices(lon: np.ndarray, lat: np.ndarray, tolerance: float) -> np.ndarray:
    """Indices of the points Douglas-Peucker keeps (shapely 2 / GEOS), first and last included.

    Each point's index travels through GEOS as its Z coordinate, which the simplifier keeps
    with the vertex, so no coordinate matching is needed.

    >>> x = np.array([0.0, 1.0, 2.0, 3.0]); y = np.array([0.0, 0.0001, 0.0, 1.0])
    >>> simplify_indices(x, y, 0.01).tolist()
    [0, 2, 3]
    """
    import shapely

    n = len(lon)
    if n <= 2:
        return np.arange(n)
    line = shapely.linestrings(lon, lat, np.arange(n, dtype=np.float64))
    simple = shapely.simplify(line, tolerance, preserve_topology=False)
    kept = shapely.get_coordinates(simple, include_z=True)[:, 2].astype(np.int64)
    return np.unique(np.concatenate([[0], kept, [n - 1]]))


def thin(frame: pl.DataFrame, max_rows: int) -> pl.DataFrame:
    """At most ``max_rows`` rows, taken evenly; the first and last rows always kept.

    >>> thin(pl.DataFrame({"a": range(10)}), 4)["a"].to_list()
    [0, 3, 6, 9]
    """
    n = frame.height
    if n <= max_rows:
        return frame
    keep = np.unique(np.round(np.linspace(0, n - 1, max_rows)).astype(np.int64))
    return frame[keep]
