"""Statistics and extents of a store: what ``GET /api/v1/stats`` and the OGC collections'
extents answer.

The counts per day come from the store's snapshot (each file's day and rows), so no data file
is opened for them; the extent of the positions is one scan, cached per snapshot by
:class:`~seawatch.api.query.StoreQuery`.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import polars as pl

from seawatch.units import BBox, format_time

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.api.query import StoreQuery
    from seawatch.store import Store


def build_stats(query: StoreQuery) -> dict[str, Any]:
    """Store statistics (see ``GET /api/v1/stats``): counts, time span, days, events per
    type and whether the events predate the latest ingest (``detection.stale``)."""
    store = query.store
    info = store.info()
    by_day: Counter[str] = Counter()
    # the snapshot lists each file's day and rows: no data file is opened
    for f in store.snapshot().table_files("positions"):
        if f.day:
            by_day[f.day] += f.rows
    events = query.events_table()
    counts = events.group_by("type").len().sort("type")
    run = store.events_info()
    detection = None
    if run is not None:
        detected_on = int(run.get("positions_snapshot", 0))
        inputs = store.snapshot().inputs
        later = [e for e in inputs if int(e.get("snapshot") or 0) > detected_on]
        detection = {
            "written_at": run.get("written_at"),
            "positions_snapshot": detected_on,
            "stale": bool(later),
        }
    return {
        "positions": int(info["rows"]["positions"]),
        "vessels": int(info["vessels"]),
        "events": events.height,
        "first_ts": format_time(info["first_ts"]),
        "last_ts": format_time(info["last_ts"]),
        "events_by_type": dict(zip(counts["type"].to_list(), counts["len"].to_list(),
                                   strict=True)),
        "days": sorted(by_day),
        "positions_by_day": dict(sorted(by_day.items())),
        "snapshot": int(info["snapshot"]),
        "inputs": int(info["inputs"]),
        "size_bytes": int(info["size_bytes"]),
        "detection": detection,
    }


def build_extent(store: Store) -> BBox | None:
    """``(min_lon, min_lat, max_lon, max_lat)`` of all positions, or None when empty."""
    row = (
        store.positions()
        .select(
            pl.col("lon").min().alias("x0"),
            pl.col("lat").min().alias("y0"),
            pl.col("lon").max().alias("x1"),
            pl.col("lat").max().alias("y1"),
        )
        .collect()
        .row(0)
    )
    if any(v is None for v in row):
        return None
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


def frame_extent(frame: pl.DataFrame, start: str, end: str) -> tuple[BBox | None,
                                                                     list[str | None]]:
    """``(min_lon, min_lat, max_lon, max_lat)`` (None without coordinates) and
    ``[first start, last end]`` of a frame.

    >>> from datetime import datetime, UTC
    >>> frame_extent(pl.DataFrame({"lon": [1.0, 2.0], "lat": [3.0, 4.0],
    ...              "ts": [datetime(2026, 1, 15, tzinfo=UTC)] * 2}), "ts", "ts")
    ((1.0, 3.0, 2.0, 4.0), ['2026-01-15T00:00:00Z', '2026-01-15T00:00:00Z'])
    """
    if frame.height == 0:
        return None, [None, None]
    row = frame.select(
        pl.col("lon").min().alias("x0"), pl.col("lat").min().alias("y0"),
        pl.col("lon").max().alias("x1"), pl.col("lat").max().alias("y1"),
        pl.col(start).min().alias("t0"), pl.col(end).max().alias("t1"),
    ).row(0)
    box = None if None in row[:4] else (float(row[0]), float(row[1]), float(row[2]),
                                        float(row[3]))
    return box, [format_time(row[4]), format_time(row[5])]
