"""The one crash-safe commit of a store: new files, a new snapshot, one atomic swap of CURRENT.

Every change to a store goes through a :class:`Transaction`: an ingest
(:mod:`seawatch.store.ingest`) and a detection run replacing the events table
(:mod:`seawatch.store.events`). The caller holds the write lock and:

1. writes every new data file through :meth:`Transaction.new_file` (never touching a live
   file) and flushes it (:func:`seawatch.store.layout.fsync_file`, then the new folders);
2. calls :meth:`Transaction.publish` with the new snapshot's files and manifest, which writes
   ``snapshots/<id+1>.json`` atomically and swaps ``CURRENT`` to it -- **the commit point** --
   and then deletes what the new snapshot no longer lists (best effort, see
   :meth:`Transaction.clean_up`).

Used as a context manager, a failure before the swap (an exception, ``KeyboardInterrupt``)
deletes every file the transaction wrote and re-raises: the store is exactly as before. A
process killed at any instant leaves ``CURRENT`` naming the old snapshot or the new one,
each complete; the next open deletes whatever the live snapshot does not list. See
``docs/store.md``, "Atomic commit protocol".

Examples
--------
>>> import tempfile
>>> from seawatch.store import Store
>>> store = Store(tempfile.mkdtemp())
>>> base = store.snapshot()
>>> with Transaction(store.path, base) as tx:
...     rel, target = tx.new_file("events")
...     _ = target.write_bytes(b"not parquet, but a file")
...     files = {t: list(base.table_files(t)) for t in layout.FILE_TABLES}
...     files["events"] = [layout.DataFile(path=rel, rows=0, bytes=23)]
...     snapshot = tx.publish(files, list(base.inputs))
>>> snapshot.id, store.snapshot_id, store.snapshot().table_files("events")[0].path == rel
(1, 1, True)
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import polars as pl

from seawatch.store import layout
from seawatch.store.layout import DataFile, Snapshot

log = logging.getLogger(__name__)


class Transaction:
    """One atomic change of a store, from ``base`` (the current snapshot) to ``base.id + 1``.

    Parameters
    ----------
    root
        The store's directory (the caller holds its write lock).
    base
        The snapshot the change starts from: ``CURRENT`` must name it.
    run_dir
        A folder under ``staging/`` the change works in (an ingest's staged chunks), removed
        after the commit; None when there is none.
    """

    def __init__(self, root: Path, base: Snapshot, run_dir: Path | None = None) -> None:
        self.root = root
        self.base = base
        self.run_dir = run_dir
        self.id = base.id + 1
        """Id of the snapshot this transaction publishes."""
        self.written: list[Path] = []
        """Every file written so far: deleted if the transaction fails before the swap."""
        self.snapshot: Snapshot | None = None
        """The published snapshot (None until :meth:`publish` has swapped ``CURRENT``)."""

    def __enter__(self) -> Transaction:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.roll_back()

    def new_file(self, table: str, day: str | None = None) -> tuple[str, Path]:
        """A new data file of ``table`` (of a UTC ``day`` for the day-partitioned tables).

        Returns its path relative to the store (as the snapshot lists it) and its absolute
        path; its folder is created and the file is deleted again if the transaction fails.
        """
        name = f"{uuid.uuid4().hex}.parquet"
        rel = f"{table}/day={day}/{name}" if day else f"{table}/{name}"
        target = self.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        self.written.append(target)
        return rel, target

    def publish(
        self,
        files: dict[str, list[DataFile]],
        inputs: list[dict[str, Any]],
        superseded: Sequence[str] = (),
    ) -> Snapshot:
        """Make the new snapshot live; return it.

        Writes ``snapshots/<id>.json`` (``files``: the live files of every table;
        ``inputs``: the manifest) atomically, swaps ``CURRENT`` to it (the commit point),
        then deletes the ``superseded`` files (paths relative to the store), older snapshots
        and ``run_dir`` (:meth:`clean_up`). Every new file must be flushed before.
        """
        root = self.root
        staging = root / layout.STAGING
        name = layout.snapshot_name(self.id)
        files = {t: sorted(fs, key=layout.scan_order) for t, fs in files.items()}
        snapshot = Snapshot(id=self.id, created_at=layout.utc_now_iso(), files=files,
                            inputs=inputs)
        snap_path = root / layout.SNAPSHOTS / name
        self.written.append(snap_path)
        layout.write_json(snap_path, snapshot.to_json(), staging)
        layout.atomic_write(root / layout.CURRENT, name.encode() + b"\n", staging)
        self.snapshot = snapshot
        self.clean_up(superseded)
        return snapshot

    def roll_back(self) -> None:
        """Delete what the transaction wrote, unless ``CURRENT`` has already moved on (or
        cannot be read: then nothing is deleted, and the next open sorts it out)."""
        if self._current_name() != layout.snapshot_name(self.base.id):
            return
        for path in self.written:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)

    def clean_up(self, superseded: Sequence[str]) -> None:
        """Delete what the new snapshot no longer references. Best effort: errors are logged
        (the data is committed; the next open deletes whatever is left)."""
        root = self.root
        try:
            for rel in superseded:
                (root / rel).unlink(missing_ok=True)
            for path in (root / layout.SNAPSHOTS).iterdir():
                sid = layout.snapshot_id_of(path.name)
                if sid is not None and sid < self.id:
                    path.unlink(missing_ok=True)
            if self.run_dir is not None:
                shutil.rmtree(self.run_dir, ignore_errors=True)
        except OSError as exc:
            log.warning("store %s: cleanup after commit failed (%s); done at next open", root, exc)

    def _current_name(self) -> str | None:
        """Name in CURRENT, or None when it cannot be read."""
        try:
            return (self.root / layout.CURRENT).read_text(encoding="utf-8").strip()
        except Exception:
            return None


def describe(root: Path, rel: str, rows: int, day: str | None) -> DataFile:
    """The snapshot entry of a new file: size and time range from the Parquet footer."""
    path = root / rel
    ts_min = ts_max = None
    if day is not None and rows:
        lo, hi = _ts_range(path)
        ts_min, ts_max = layout.format_ts(lo), layout.format_ts(hi)
    return DataFile(
        path=rel, rows=rows, bytes=path.stat().st_size, day=day, ts_min=ts_min, ts_max=ts_max
    )


_UNIT_US = {"milliseconds": 1_000, "microseconds": 1, "nanoseconds": 0.001}
"""Microseconds per unit of a Parquet timestamp."""


def _ts_range(path: Path) -> tuple[Any, Any]:
    """The first and last ``ts`` of a data file, from its footer's statistics.

    The raw integers are read and converted here: pyarrow's own conversion of timestamp
    statistics imports pandas, a third of a second on every ingest.
    """
    import json

    import pyarrow.parquet as pq

    meta = pq.read_metadata(path)
    index = meta.schema.names.index("ts")
    logical = json.loads(meta.schema.column(index).logical_type.to_json())
    stats = [meta.row_group(i).column(index).statistics for i in range(meta.num_row_groups)]
    if (
        stats
        and logical.get("Type") == "Timestamp"
        and all(s is not None and s.has_min_max for s in stats)
    ):
        per_us = _UNIT_US[logical["timeUnit"]]
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        lo = min(int(s.min_raw) for s in stats)
        hi = max(int(s.max_raw) for s in stats)
        return (epoch + timedelta(microseconds=lo * per_us),
                epoch + timedelta(microseconds=hi * per_us))
    frame = pl.scan_parquet(path).select(  # pragma: no cover - the writers always write stats
        pl.col("ts").min().alias("lo"), pl.col("ts").max().alias("hi")
    )
    lo, hi = frame.collect().row(0)  # pragma: no cover
    return lo, hi  # pragma: no cover
