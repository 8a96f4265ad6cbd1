"""Building the events table: every detector returns its events through :func:`to_events`.

An event's ``event_id`` is derived from what it is (type, vessel(s), start), so running a
detector twice on the same data gives the same ids, and re-running detection replaces events
rather than duplicating them.

>>> import polars as pl
>>> from datetime import datetime, UTC
>>> raw = pl.DataFrame({"mmsi": [735000002], "other_mmsi": [735000001],
...                     "start": [datetime(2026, 1, 15, tzinfo=UTC)],
...                     "end": [datetime(2026, 1, 15, 3, tzinfo=UTC)],
...                     "lat": [-1.0], "lon": [-85.0], "score": [0.9],
...                     "details": ['{"median_distance_m": 120.0}']})
>>> ev = to_events(raw, "encounter")
>>> ev.select("type", "mmsi", "other_mmsi").row(0)
('encounter', 735000001, 735000002)
>>> ev["event_id"][0]
'encounter:735000001:735000002:20260115T000000Z'
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import polars as pl

from seawatch import schema
from seawatch.errors import InvalidValue

PAIR_TYPES = frozenset({"encounter", "dark_rendezvous"})


def to_events(frame: pl.DataFrame, event_type: str) -> pl.DataFrame:
    """Conform a detector's output to ``schema.EVENTS``: type, ordered pair, ids, sorted.

    ``frame`` needs ``mmsi``, ``start``, ``end``; ``other_mmsi``, ``lat``, ``lon``, ``zone``,
    ``score`` and ``details`` (a JSON string, see :func:`details_json`) are optional.
    """
    if event_type not in schema.EVENT_TYPES:
        raise InvalidValue(f"unknown event type {event_type!r}; one of {schema.EVENT_TYPES}")
    out = schema.conform(frame.with_columns(pl.lit(event_type).alias("type")), schema.EVENTS)
    a, b = pl.col("mmsi"), pl.col("other_mmsi")
    out = out.with_columns(
        pl.when(b.is_not_null() & (b < a)).then(b).otherwise(a).alias("mmsi"),
        pl.when(b.is_not_null() & (b < a)).then(a).otherwise(b).alias("other_mmsi"),
    )
    ident = pl.concat_str(
        [
            pl.col("type"),
            pl.col("mmsi").cast(pl.String),
            pl.col("other_mmsi").cast(pl.String),
            pl.col("zone"),
            pl.col("start").dt.strftime("%Y%m%dT%H%M%SZ"),
        ],
        separator=":",
        ignore_nulls=True,
    )
    out = out.with_columns(ident.alias("event_id"))
    return out.sort("start", "mmsi", "other_mmsi", nulls_last=True).select(list(schema.EVENTS))


def details_json(columns: Mapping[str, pl.Expr]) -> pl.Expr:
    """A JSON-object string expression from named expressions (the ``details`` column)."""
    fields = [expr.alias(name) for name, expr in columns.items()]
    return pl.struct(fields).struct.json_encode().alias("details")


def details_of(event_row: Mapping[str, Any]) -> dict[str, Any]:
    """The ``details`` of one event row as a dict."""
    raw = event_row.get("details")
    return json.loads(raw) if raw else {}


def empty_events() -> pl.DataFrame:
    """An events table without rows."""
    return schema.empty(schema.EVENTS)
