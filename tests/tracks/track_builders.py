"""Hand-made tracks for the tracks and detector tests: exact WGS84 geodesic steps (pyproj)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np
import polars as pl
from pyproj import Geod

from seawatch import schema

GEOD = Geod(ellps="WGS84")
NM_M = 1852.0
T0 = datetime.fromisoformat("2026-01-15T00:00:00+00:00")
OPEN_OCEAN = (-5.0, -95.0)  # more than 500 km from any shore


def step(lat: float, lon: float, bearing: float, km: float) -> tuple[float, float]:
    """The point ``km`` from (lat, lon) along ``bearing`` (degrees), on the WGS84 ellipsoid."""
    lon2, lat2, _ = GEOD.fwd(lon, lat, bearing, km * 1000.0)
    return float(lat2), float(lon2)


def track(
    mmsi: int,
    start: tuple[float, float],
    times: Sequence[datetime],
    *,
    speed_kn: float = 10.0,
    bearing: float = 90.0,
    with_sog: bool = True,
) -> pl.DataFrame:
    """A vessel sailing a straight geodesic at constant speed, one position per time."""
    lat, lon = start
    lats, lons = [lat], [lon]
    for a, b in itertools.pairwise(times):
        km = speed_kn * NM_M / 1000.0 * (b - a).total_seconds() / 3600.0
        lat, lon = step(lat, lon, bearing, km)
        lats.append(lat)
        lons.append(lon)
    n = len(times)
    return positions(
        [mmsi] * n,
        list(times),
        lats,
        lons,
        sog=[speed_kn] * n if with_sog else None,
        cog=[bearing % 360] * n if with_sog else None,
    )


def positions(
    mmsi: Sequence[int],
    ts: Sequence[datetime],
    lat: Sequence[float],
    lon: Sequence[float],
    *,
    sog: Sequence[float] | None = None,
    cog: Sequence[float] | None = None,
) -> pl.DataFrame:
    """A canonical positions table from columns."""
    frame = pl.DataFrame(
        {
            "mmsi": list(mmsi),
            "ts": list(ts),
            "lat": list(lat),
            "lon": list(lon),
            "sog": list(sog) if sog is not None else [None] * len(mmsi),
            "cog": list(cog) if cog is not None else [None] * len(mmsi),
            "msg_type": [1] * len(mmsi),
        }
    )
    return schema.conform(frame, schema.POSITIONS)


def every(minutes: float, n: int, start: datetime = T0) -> list[datetime]:
    """``n`` times ``minutes`` apart."""
    return [start + timedelta(minutes=minutes * k) for k in range(n)]


def hours(*h: float, start: datetime = T0) -> list[datetime]:
    """Times at the given hours after ``start``."""
    return [start + timedelta(hours=x) for x in h]


def segments_of(segmented: pl.DataFrame) -> list[list[int]]:
    """Row positions (in the segmented table's order) grouped by segment, by first row."""
    ids = segmented["segment_id"].to_numpy()
    groups: dict[int, list[int]] = {}
    for k, s in enumerate(ids):
        groups.setdefault(int(s), []).append(k)
    return sorted(groups.values())


def speed_kn(a: tuple[float, float], b: tuple[float, float], dt_h: float) -> float:
    """Geodesic speed between two (lat, lon) points."""
    _, _, m = GEOD.inv(a[1], a[0], b[1], b[0])
    return float(np.float64(m) / NM_M / dt_h)
