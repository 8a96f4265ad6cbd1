"""Hand-made tracks for the zone detectors' tests (default zones, a box, four flags)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import polars as pl
import shapely

from seawatch.geo import Zone, default_zones, zone_index

T0 = datetime(2026, 1, 15, tzinfo=UTC)
BOX = Zone("Box", "user", shapely.box(-81.0, -1.0, -80.0, 0.0))

CHN = 412000001  # MID 412: China (the distant-water squid fleet)
ECU = 735000001  # MID 735: Ecuador
ECU2 = 735000002
PER = 760000001  # MID 760: Peru

# points checked below against the default zones
EEZ_ONLY = (-1.0, -83.5)  # Ecuador EEZ between the mainland and the Galápagos
RESERVE = (-0.5, -90.8)  # inside the Galápagos Marine Reserve (and the EEZ)
HIGH_SEAS = (-1.0, -100.0)


def t(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def track(
    mmsi: int,
    points: Sequence[tuple[float, float, float]],
    sog: float | Sequence[float | None] | None = 3.0,
    segment_id: int | None = None,
) -> pl.DataFrame:
    """Positions of one vessel from (minutes, lat, lon) triples."""
    n = len(points)
    speeds = [sog] * n if sog is None or isinstance(sog, int | float) else list(sog)
    data = {
        "mmsi": [mmsi] * n,
        "ts": [t(m) for m, _, _ in points],
        "lat": [la for _, la, _ in points],
        "lon": [lo for _, _, lo in points],
        "sog": pl.Series(speeds, dtype=pl.Float32),
    }
    frame = pl.DataFrame(data)
    if segment_id is not None:
        frame = frame.with_columns(pl.lit(segment_id, dtype=pl.Int64).alias("segment_id"))
    return frame


def drift(
    mmsi: int,
    at: tuple[float, float],
    minutes: Sequence[float],
    sog: float | Sequence[float | None] | None = 3.0,
) -> pl.DataFrame:
    """A vessel creeping east from ``at`` (about 10 m per minute), reporting at ``minutes``."""
    lat, lon = at
    return track(mmsi, [(m, lat, lon + 1e-4 * m) for m in minutes], sog)


def kinds_at(lat: float, lon: float) -> list[str]:
    zones = default_zones()
    _, z = zone_index(zones).locate([lat], [lon])
    return sorted(zones[k].kind for k in z)
