"""Events: the events table filtered for ``GET /events``, and the evidence behind one event
(its vessels' positions around it, as GeoJSON)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from seawatch import schema
from seawatch.api.query.tracks import thin
from seawatch.export import feature_collection, geojson_features, json_safe
from seawatch.store import bbox_filter
from seawatch.units import BBox, format_time

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.store import Store

EVIDENCE_MAX_POINTS = 20_000
"""An event's evidence keeps at most this many positions per vessel (thinned evenly)."""


def read_events_table(store: Store) -> pl.DataFrame:
    """The whole events table (``schema.EVENTS``), newest first."""
    return (
        store.events()
        .collect()
        .sort(["start", "event_id"], descending=[True, False], nulls_last=True)
    )


def filter_events(
    frame: pl.DataFrame,
    types: Sequence[str] | None = None,
    bbox: BBox | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    mmsi: Sequence[int] | None = None,
    zone: str | None = None,
    min_score: float | None = None,
) -> pl.DataFrame:
    """Events of ``frame`` matching the filters, in its order.

    Time keeps events overlapping ``[start, end)`` (``event.end >= start`` and
    ``event.start < end``); ``mmsi`` matches either vessel; ``zone`` is matched without
    regard to case; ``min_score`` keeps ``score >= min_score``.
    """
    predicates: list[pl.Expr] = []
    if types:
        predicates.append(pl.col("type").is_in(list(types)))
    if bbox is not None:
        predicates.append(bbox_filter(bbox))
    if start is not None:
        predicates.append(pl.col("end") >= pl.lit(start, dtype=schema.TS))
    if end is not None:
        predicates.append(pl.col("start") < pl.lit(end, dtype=schema.TS))
    if mmsi:
        ids = list(mmsi)
        predicates.append(pl.col("mmsi").is_in(ids) | pl.col("other_mmsi").is_in(ids))
    if zone:
        predicates.append(pl.col("zone").str.to_lowercase() == zone.strip().lower())
    if min_score is not None:
        predicates.append(pl.col("score") >= min_score)
    return frame.filter(*predicates) if predicates else frame


def evidence_window(
    event: pl.DataFrame, margin: timedelta
) -> tuple[list[int], datetime, datetime]:
    """The vessels and the window ``[lo, hi)`` of an event's evidence: its vessel (and the
    other vessel of an encounter), from ``start - margin`` to ``end + margin`` inclusive.

    >>> from datetime import datetime
    >>> event = pl.DataFrame({"mmsi": [1], "other_mmsi": [2], "start": [datetime(2024, 1, 1, 1)],
    ...                       "end": [datetime(2024, 1, 1, 2)]})
    >>> ids, lo, hi = evidence_window(event, timedelta(hours=1))
    >>> ids, lo.hour, hi.hour, hi.microsecond
    ([1, 2], 0, 3, 1)
    """
    row = event.row(0, named=True)
    ids = [int(row["mmsi"])]
    if row["other_mmsi"] is not None:
        ids.append(int(row["other_mmsi"]))
    lo: datetime = row["start"] - margin
    hi: datetime = row["end"] + margin + timedelta(microseconds=1)
    return ids, lo, hi


def read_evidence(store: Store, ids: Sequence[int], lo: datetime, hi: datetime) -> pl.DataFrame:
    """The positions of the vessels ``ids`` in ``[lo, hi)`` from the whole store."""
    return (
        store.positions(mmsi=ids, start=lo, end=hi)
        .select("mmsi", "ts", "lat", "lon", "sog", "cog")
        .filter(pl.col("lat").is_not_null() & pl.col("lon").is_not_null())
        .sort("mmsi", "ts")
        .collect()
    )


def evidence_collection(frame: pl.DataFrame, ids: Sequence[int], lo: datetime, hi: datetime,
                        margin: timedelta) -> str:
    """An event's evidence as a GeoJSON FeatureCollection (text), from a frame of the
    positions that may be shown.

    The positions of the event's vessel(s) in the window of :func:`evidence_window`, each a
    Point with ``mmsi``, ``ts``, ``sog``, ``cog``; then one LineString per vessel (properties
    ``mmsi``, ``kind: "track"``, ``times``). At most :data:`EVIDENCE_MAX_POINTS` positions
    per vessel (thinned evenly).
    """
    frame = (
        frame.select("mmsi", "ts", "lat", "lon", "sog", "cog")
        .filter(pl.col("lat").is_not_null() & pl.col("lon").is_not_null())
        .sort("mmsi", "ts")
    )
    parts = [thin(frame.filter(pl.col("mmsi") == m), EVIDENCE_MAX_POINTS) for m in ids]
    frame = pl.concat(parts) if parts else frame
    points = geojson_features(frame, properties=["mmsi", "ts", "sog", "cog"])
    lines = []
    for m, part in zip(ids, parts, strict=True):
        if part.height < 2:
            continue
        times = json_safe(part.select("ts"))["ts"].to_list()
        coords = np.column_stack([part["lon"].to_numpy(), part["lat"].to_numpy()]).tolist()
        lines.append(json.dumps({
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": coords},
            "properties": {"mmsi": m, "kind": "track", "times": times},
        }, separators=(",", ":")))
    features = ",\n".join(p for p in (points, *lines) if p)
    return feature_collection(features, {
        "start": format_time(lo),
        "end": format_time(hi - timedelta(microseconds=1)),
        "margin_hours": margin.total_seconds() / 3600,
    })
