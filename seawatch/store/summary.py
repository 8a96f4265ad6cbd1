"""What a store holds, in summary: the manifest of inputs, ``info()``, the latest identities.

The manifest and most figures come from the current snapshot alone (each live file's day,
rows and time range are listed there), so a summary opens no data file except to count
distinct vessels.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from seawatch import schema
from seawatch.store import layout
from seawatch.store.layout import DATA_TABLES, Snapshot

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.store.store import Store

IDENTITY_FIELDS = schema.IDENTITY_REPORTED + schema.IDENTITY_DERIVED
"""Columns of :func:`latest_identity` after ``mmsi`` and ``ts``."""


def inputs_frame(snapshot: Snapshot) -> pl.DataFrame:
    """The manifest of ``snapshot`` as a frame (see :meth:`seawatch.store.Store.inputs`).

    >>> inputs_frame(Snapshot.empty()).columns[:5]
    ['name', 'sha256', 'size', 'ingested_at', 'snapshot']
    """
    entries = snapshot.inputs
    data: dict[str, list[Any]] = {
        "name": [e["name"] for e in entries],
        "sha256": [e["sha256"] for e in entries],
        "size": [e["size"] for e in entries],
        "ingested_at": [layout.parse_ts(e["ingested_at"]) for e in entries],
        "snapshot": [e.get("snapshot") for e in entries],
    }
    for table in DATA_TABLES:
        data[table] = [e["rows"].get(table, 0) for e in entries]
    data["rows_added"] = [sum(e["added"].values()) for e in entries]
    data["duplicates"] = [sum(e["duplicates"].values()) for e in entries]
    data["quarantined"] = [sum(e["quarantine"].values()) for e in entries]
    data["quarantine"] = [
        [{"reason": r, "count": n} for r, n in e["quarantine"].items()] for e in entries
    ]
    counts = pl.List(pl.Struct({"reason": pl.String(), "count": pl.Int64()}))
    return pl.DataFrame(
        data,
        schema={
            "name": pl.String(),
            "sha256": pl.String(),
            "size": pl.Int64(),
            "ingested_at": schema.TS,
            "snapshot": pl.Int64(),
            **{t: pl.Int64() for t in DATA_TABLES},
            "rows_added": pl.Int64(),
            "duplicates": pl.Int64(),
            "quarantined": pl.Int64(),
            "quarantine": counts,
        },
    )


def info(store: Store) -> dict[str, Any]:
    """The summary of a store (see :meth:`seawatch.store.Store.info` for its keys)."""
    snapshot = store.snapshot()
    data_files = [f for t in DATA_TABLES for f in snapshot.table_files(t)]
    days = sorted({f.day for f in data_files if f.day})
    ts_min = [f.ts_min for f in data_files if f.ts_min]
    ts_max = [f.ts_max for f in data_files if f.ts_max]
    quarantine: Counter[str] = Counter()
    for entry in snapshot.inputs:
        quarantine.update(entry.get("quarantine", {}))
    mmsis = pl.concat([store.positions().select("mmsi"), store.vessels().select("mmsi")]).select(
        pl.col("mmsi").drop_nulls().n_unique()
    )
    return {
        "path": str(store.path),
        "format_version": layout.FORMAT_VERSION,
        "snapshot": snapshot.id,
        "size_bytes": size_on_disk(store.path),
        "days": len(days),
        "first_day": days[0] if days else None,
        "last_day": days[-1] if days else None,
        "rows": {t: sum(f.rows for f in snapshot.table_files(t)) for t in DATA_TABLES},
        "vessels": int(mmsis.collect().item()),
        "first_ts": layout.parse_ts(min(ts_min)) if ts_min else None,
        "last_ts": layout.parse_ts(max(ts_max)) if ts_max else None,
        "inputs": len(snapshot.inputs),
        "quarantine": dict(sorted(quarantine.items())),
        "quarantine_sample_rows": sum(f.rows for f in snapshot.table_files(layout.QUARANTINE)),
        "events": sum(f.rows for f in snapshot.table_files(layout.EVENTS)),
    }


def size_on_disk(root: Path) -> int:
    """Bytes of every file of the store, leaving out readers' caches (``api-index/``)."""
    size = 0
    for dirpath, dirs, filenames in os.walk(root):
        if dirpath == str(root) and layout.API_INDEX in dirs:
            dirs.remove(layout.API_INDEX)  # a reader's cache, not the store's data
        for filename in filenames:
            with contextlib.suppress(OSError):
                size += os.path.getsize(os.path.join(dirpath, filename))
    return size


def latest_identity(vessels: pl.LazyFrame) -> pl.DataFrame:
    """One row per MMSI of ``vessels`` with the latest non-null value of each identity field
    (see :meth:`seawatch.store.Store.latest_identity`), sorted by ``mmsi``.

    >>> from datetime import datetime, UTC
    >>> reports = schema.conform(pl.DataFrame({
    ...     "mmsi": [1, 1], "ts": [datetime(2024, 1, 1, h, tzinfo=UTC) for h in (1, 2)],
    ...     "name": ["ALBA", None], "callsign": [None, "HC1"]}), schema.VESSELS)
    >>> latest_identity(reports.lazy()).select("mmsi", "name", "callsign").rows()
    [(1, 'ALBA', 'HC1')]
    """
    latest = [pl.col(c).sort_by("ts").drop_nulls().last().alias(c) for c in IDENTITY_FIELDS]
    return (
        vessels.group_by("mmsi")
        .agg(pl.col("ts").max(), *latest)
        .sort("mmsi")
        .select(["mmsi", "ts", *IDENTITY_FIELDS])
        .collect()
    )
