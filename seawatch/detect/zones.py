"""Zones as the zone detectors read them: one index, and the zones each position lies in.

Both zone detectors (:mod:`seawatch.detect.zone_crossing`, :mod:`seawatch.detect.fishing_in_zone`)
locate every position in every zone at once (:meth:`seawatch.geo.ZoneIndex.locate`) and work
on the (position, zone) containments with Polars joins: no per-position Python. The pipeline
builds one index (:func:`as_zone_index`) for both.

Examples
--------
>>> import polars as pl, shapely
>>> from seawatch.geo import Zone
>>> from seawatch.detect.positions import ordered_tracks
>>> from datetime import datetime, UTC
>>> zones, index = as_zone_index([Zone("Box", "user", shapely.box(-81, -1, -80, 0))])
>>> tracks = ordered_tracks(pl.DataFrame({"mmsi": [1, 1], "lat": [-0.5, -0.5],
...     "lon": [-81.5, -80.5], "ts": [datetime(2026, 1, 15, h, tzinfo=UTC) for h in (0, 1)]}))
>>> zone_membership(tracks, index).rows()
[(1, 0)]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from seawatch.errors import InvalidValue

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.geo.zones import Zone, ZoneIndex


def as_zone_index(zones: Sequence[Zone] | ZoneIndex | None) -> tuple[list[Zone], ZoneIndex]:
    """The zones and an index over them (default zones when None; names must be unique)."""
    from seawatch.geo import default_zones, zone_index
    from seawatch.geo.zones import ZoneIndex

    if isinstance(zones, ZoneIndex):
        return list(zones.zones), zones
    chosen = default_zones() if zones is None else list(zones)
    names = [z.name for z in chosen]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InvalidValue(f"zone names must be unique (events refer to zones by name): {dupes}")
    return chosen, zone_index(chosen)


def zone_membership(tracks: pl.DataFrame, index: ZoneIndex) -> pl.DataFrame:
    """(i, zone) for every position ``i`` of ``tracks`` inside zone number ``zone``."""
    point, zone = index.locate(tracks["lat"].to_numpy(), tracks["lon"].to_numpy())
    return pl.DataFrame(
        {"i": tracks["i"].to_numpy()[point], "zone": zone.astype(np.int32)},
        schema={"i": pl.UInt32, "zone": pl.Int32},
    )
