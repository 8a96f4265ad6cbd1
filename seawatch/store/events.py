"""The events table of a store: written whole by each detection run, atomically.

Detection always reads all positions and produces all events, so the events table is not
appended to: each run replaces it. The new table is one Parquet file
``events/<uuid>.parquet`` (the run's description in its key-value metadata under
:data:`RUN_INFO_KEY`); it becomes live through the same protocol as an ingest (see
``docs/store.md``): the file is written and fsync-ed, a new snapshot listing it instead of
the previous events file is written and fsync-ed, and ``CURRENT`` is swapped to it. A run
killed before the swap leaves the previous events; after it, the new ones. Re-running
detection therefore replaces the events and can never duplicate them.

Ingests carry the events file forward unchanged (it is one more table of the snapshot);
:meth:`seawatch.store.Store.events_info` says which positions snapshot they were detected on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from seawatch import schema
from seawatch.store import layout
from seawatch.store.commit import Transaction, describe
from seawatch.store.layout import Snapshot

EVENTS = layout.EVENTS
RUN_INFO_KEY = "seawatch.run_info"
"""Parquet key-value metadata key holding the run's description (JSON)."""


def prepare(events: pl.DataFrame) -> pl.DataFrame:
    """Conform ``events`` to ``schema.EVENTS``, check types, drop repeated rows, sort.

    Raises
    ------
    ValueError
        A ``type`` that is not one of ``schema.EVENT_TYPES`` (the message lists them), or
        events without ``type``, ``start`` or ``end``.
    """
    missing = [c for c in ("type", "mmsi", "start", "end") if c not in events.columns]
    if missing:
        raise schema.SchemaError(
            f"events need column(s) {missing}; found: {events.columns}. "
            "Build them with seawatch.detect.events.to_events"
        )
    frame = schema.conform(events, schema.EVENTS)
    unknown = sorted(set(frame["type"].drop_nulls().unique().to_list()) - set(schema.EVENT_TYPES))
    if unknown or frame["type"].null_count():
        raise ValueError(
            f"unknown event type(s) {unknown or [None]}; valid: {', '.join(schema.EVENT_TYPES)}"
        )
    return frame.unique(maintain_order=True).sort("start", "type", "mmsi", nulls_last=True)


def run_info_json(run_info: Mapping[str, Any] | None, frame: pl.DataFrame, base: Snapshot) -> str:
    """The run description stored with the events: the caller's fields plus counts."""
    counts = frame.group_by("type").len().sort("type")
    info: dict[str, Any] = dict(run_info or {})
    info.setdefault("written_at", layout.utc_now_iso())
    info["rows"] = frame.height
    info["counts"] = dict(zip(counts["type"].to_list(), counts["len"].to_list(), strict=True))
    info["positions_snapshot"] = base.id
    return json.dumps(info, default=_jsonable, sort_keys=True)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return layout.format_ts(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Iterable) and not isinstance(value, str | bytes):
        return list(value)
    return str(value)


def commit_events(
    root: Path, base: Snapshot, events: pl.DataFrame, run_info: Mapping[str, Any] | None
) -> Snapshot:
    """Make ``events`` the store's whole events table in one atomic step; return the snapshot.

    The caller holds the write lock. Steps: (1) write ``events/<uuid>.parquet`` and fsync it
    and its folder; (2)-(4) publish the new snapshot (every other table as in ``base``)
    through a :class:`~seawatch.store.commit.Transaction`: snapshot file, swap of
    ``CURRENT`` -- the commit point --, deletion of the previous events file and older
    snapshots. A failure before the swap deletes what was written and re-raises.
    """
    frame = prepare(events)
    with Transaction(root, base) as tx:
        rel, target = tx.new_file(EVENTS)
        frame.write_parquet(
            target,
            compression="zstd",
            statistics=True,
            metadata={RUN_INFO_KEY: run_info_json(run_info, frame, base)},
        )
        layout.fsync_file(target)
        layout.fsync_dir(target.parent)
        layout.fsync_dir(root)
        files = {t: list(base.table_files(t)) for t in layout.FILE_TABLES}
        files[EVENTS] = [describe(root, rel, frame.height, None)]
        superseded = [f.path for f in base.table_files(EVENTS)]
        return tx.publish(files, list(base.inputs), superseded)


def read_run_info(path: Path) -> dict[str, Any]:
    """The run description stored in an events file (``{}`` when it has none); read by
    Polars (pyarrow's Parquet module would cost ``seawatch detect`` its import, TLS
    included, for this one read)."""
    raw = pl.read_parquet_metadata(path).get(RUN_INFO_KEY)
    return json.loads(raw) if raw else {}


def event_filters(
    type: str | Iterable[str] | None,
    start: datetime | None,
    end: datetime | None,
    mmsi: int | Iterable[int] | None,
) -> list[pl.Expr]:
    """Predicates of :meth:`seawatch.store.Store.events` (time: events overlapping
    ``[start, end)``; mmsi: either vessel of the event)."""
    predicates: list[pl.Expr] = []
    if type is not None:
        wanted = [type] if isinstance(type, str) else list(type)
        unknown = [t for t in wanted if t not in schema.EVENT_TYPES]
        if unknown:
            raise ValueError(
                f"unknown event type(s) {unknown}; valid: {', '.join(schema.EVENT_TYPES)}"
            )
        predicates.append(pl.col("type").is_in(wanted))
    if start is not None:
        predicates.append(pl.col("end") >= pl.lit(start, dtype=schema.TS))
    if end is not None:
        predicates.append(pl.col("start") < pl.lit(end, dtype=schema.TS))
    if mmsi is not None:
        ids = [int(mmsi)] if isinstance(mmsi, int) else [int(m) for m in mmsi]
        predicates.append(pl.col("mmsi").is_in(ids) | pl.col("other_mmsi").is_in(ids))
    return predicates

