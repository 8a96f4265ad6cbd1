"""One ingest: stage the chunks of an input on disk, then commit them in one atomic step.

Staging keeps memory bounded whatever the input's size: each ``ReadResult`` chunk is written
to ``staging/<run>/<table>/<day>/<chunk>.parquet`` as it arrives and then dropped. The commit
merges, for each table and each UTC day the input touches, the day's live file with the staged
rows in DuckDB (deduplicated and sorted, see :mod:`seawatch.store.dedup`) into ONE new file,
writes a new snapshot, and swaps ``CURRENT`` to it. Until the swap nothing live has changed;
after it, the old files are merely unreferenced. See ``docs/store.md`` for the protocol.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from seawatch import schema
from seawatch.io.quarantine import QuarantineLog, Reason
from seawatch.store import layout
from seawatch.store.dedup import RULES, merge_day_sql
from seawatch.store.layout import DATA_TABLES, DataFile, Snapshot

if TYPE_CHECKING:
    import duckdb

    from seawatch.io.result import ReadResult

log = logging.getLogger(__name__)

DEFAULT_MEMORY_LIMIT = "4GB"
"""DuckDB memory limit for the merge; bigger days spill to ``staging/`` on disk."""

QUARANTINE_SAMPLE_PER_REASON = 1000
"""Bad lines kept as examples, per reason, per ingested input (all are counted)."""


def _zeros() -> dict[str, int]:
    return dict.fromkeys(DATA_TABLES, 0)


@dataclass
class IngestReport:
    """What one input added to the store.

    Attributes
    ----------
    name, sha256, size
        The input: its name, SHA-256 of its bytes, and size in bytes.
    skipped
        True when an input with the same SHA-256 was already ingested (nothing was read).
    rows_read
        Rows per table the reader produced.
    rows_added
        Rows per table the store gained after removing duplicates.
    duplicates
        Rows per table dropped as duplicates (of rows in this input or already stored).
    quarantine
        Bad lines per reason (``Reason.label``); rows without a time are counted as
        ``no_time`` and not stored.
    stats
        The readers' statistics, summed over the chunks.
    seconds
        Wall time of the ingest.
    snapshot
        Id of the snapshot the ingest committed (None when skipped).
    """

    name: str
    sha256: str
    size: int
    skipped: bool = False
    rows_read: dict[str, int] = field(default_factory=_zeros)
    rows_added: dict[str, int] = field(default_factory=_zeros)
    duplicates: dict[str, int] = field(default_factory=_zeros)
    quarantine: dict[str, int] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    snapshot: int | None = None

    @property
    def duplicates_removed(self) -> int:
        """Duplicates dropped over all tables."""
        return sum(self.duplicates.values())

    @property
    def quarantined(self) -> int:
        """Bad lines over all reasons."""
        return sum(self.quarantine.values())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Staging:
    """The chunks of one ingest, written to Parquet split by table and UTC day.

    Parameters
    ----------
    run_dir
        ``staging/<run id>/`` of the store; created on first use.
    sample_per_reason
        Quarantined lines kept per reason for this input.
    """

    def __init__(self, run_dir: Path, sample_per_reason: int = QUARANTINE_SAMPLE_PER_REASON):
        self.run_dir = run_dir
        self.rows_read = _zeros()
        self.no_time = _zeros()
        self.days: dict[str, set[str]] = {t: set() for t in DATA_TABLES}
        self.quarantine = QuarantineLog(sample_per_reason)
        self.stats: Counter[str] = Counter()
        self.chunks = 0

    def add(self, result: ReadResult) -> None:
        """Write one chunk's tables to staging files and fold in its counts."""
        chunk = self.chunks
        self.chunks += 1
        for table, frame in result.tables().items():
            if frame.height == 0:
                continue
            frame = schema.conform(frame, schema.TABLES[table])
            self.rows_read[table] += frame.height
            missing = frame.get_column("ts").null_count()
            if missing:
                self.no_time[table] += missing
                self.quarantine.add_count(Reason.NO_TIME, missing)
                frame = frame.filter(pl.col("ts").is_not_null())
            parts = frame.with_columns(pl.col("ts").dt.date().alias("__day")).partition_by(
                "__day", as_dict=True, include_key=False
            )
            for (day,), part in parts.items():
                folder = self.run_dir / table / day.isoformat()
                folder.mkdir(parents=True, exist_ok=True)
                part.write_parquet(folder / f"{chunk:08d}.parquet", compression="lz4")
                self.days[table].add(day.isoformat())
        self.quarantine.merge(result.quarantine_log)
        self.stats.update(result.stats)

    def files(self, table: str, day: str) -> list[Path]:
        return sorted((self.run_dir / table / day).glob("*.parquet"))


@dataclass(frozen=True)
class MergeSettings:
    """How the commit runs DuckDB and which duplicate window it applies."""

    dedup_window: timedelta
    memory_limit: str = DEFAULT_MEMORY_LIMIT
    threads: int | None = None


def connect(temp_dir: Path, settings: MergeSettings) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB bounded by ``memory_limit`` that spills to ``temp_dir``."""
    import duckdb

    temp_dir.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "memory_limit": settings.memory_limit,
        "temp_directory": str(temp_dir),
    }
    if settings.threads:
        config["threads"] = settings.threads
    return duckdb.connect(":memory:", config=config)


def merge_day(
    con: duckdb.DuckDBPyConnection,
    table: str,
    sources: Sequence[Path],
    target: Path,
    window: timedelta,
) -> int:
    """Merge one table-day's files into ``target`` (deduplicated, sorted); return its rows."""
    sql = merge_day_sql(RULES[table], [str(s) for s in sources], str(target), window)
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


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


def _ts_range(path: Path) -> tuple[Any, Any]:
    import pyarrow.parquet as pq

    meta = pq.read_metadata(path)
    index = meta.schema.names.index("ts")
    stats = [meta.row_group(i).column(index).statistics for i in range(meta.num_row_groups)]
    if stats and all(s is not None and s.has_min_max for s in stats):
        return min(s.min for s in stats), max(s.max for s in stats)
    frame = pl.scan_parquet(path).select(  # pragma: no cover - DuckDB always writes stats
        pl.col("ts").min().alias("lo"), pl.col("ts").max().alias("hi")
    )
    lo, hi = frame.collect().row(0)  # pragma: no cover
    return lo, hi  # pragma: no cover


def quarantine_sample(log_: QuarantineLog, per_reason: int) -> pl.DataFrame:
    """The bounded sample of bad lines to keep: at most ``per_reason`` lines per reason."""
    frame = log_.frame()
    return frame.filter(pl.int_range(pl.len()).over("reason") < per_reason)


def _new_rel(table: str, day: str | None) -> str:
    name = f"{uuid.uuid4().hex}.parquet"
    return f"{table}/day={day}/{name}" if day else f"{table}/{name}"


def commit(
    root: Path,
    base: Snapshot,
    staging: Staging,
    entry: dict[str, Any],
    settings: MergeSettings,
    sample_per_reason: int = QUARANTINE_SAMPLE_PER_REASON,
) -> Snapshot:
    """Make the staged rows live in one atomic step; return the new snapshot.

    Steps: (1) merge each touched table-day into a new file, fsync it; (2) write the
    quarantine sample; (3) fsync the new folders; (4) write ``snapshots/<id+1>.json``
    atomically; (5) swap ``CURRENT`` atomically -- the commit point; (6) delete the
    superseded files, older snapshots and the staging run (failures here are only logged:
    the next open deletes whatever is left).

    A failure before (5) deletes what it wrote and re-raises; the store is as before.
    ``entry`` is the manifest entry of the input; ``added``/``duplicates``/``snapshot``
    are filled in here.
    """
    staging_root = root / layout.STAGING
    new_id = base.id + 1
    new_name = layout.snapshot_name(new_id)
    written: list[Path] = []
    superseded: list[str] = []
    try:
        files = {t: list(base.table_files(t)) for t in layout.FILE_TABLES}
        added = _zeros()
        touched_dirs: set[Path] = {root}  # a table folder may be new
        con = connect(staging.run_dir / "duckdb_tmp", settings)
        try:
            for table in DATA_TABLES:
                for day in sorted(staging.days[table]):
                    old = base.day_files(table, day)
                    rel = _new_rel(table, day)
                    target = root / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    written.append(target)
                    sources = [root / f.path for f in old] + staging.files(table, day)
                    rows = merge_day(con, table, sources, target, settings.dedup_window)
                    layout.fsync_file(target)
                    touched_dirs.update((target.parent, target.parent.parent))
                    keep = [f for f in files[table] if f.day != day]
                    files[table] = [*keep, describe(root, rel, rows, day)]
                    superseded.extend(f.path for f in old)
                    added[table] += rows - sum(f.rows for f in old)
        finally:
            con.close()
        sample = quarantine_sample(staging.quarantine, sample_per_reason)
        if sample.height:
            rel = _new_rel(layout.QUARANTINE, None)
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            written.append(target)
            sample.write_parquet(target, compression="zstd")
            layout.fsync_file(target)
            touched_dirs.add(target.parent)
            files[layout.QUARANTINE].append(describe(root, rel, sample.height, None))
        for folder in sorted(touched_dirs, key=lambda p: len(p.parts), reverse=True):
            layout.fsync_dir(folder)

        kept = {t: staging.rows_read[t] - staging.no_time[t] for t in DATA_TABLES}
        entry = {
            **entry,
            "snapshot": new_id,
            "added": added,
            "duplicates": {t: kept[t] - added[t] for t in DATA_TABLES},
        }
        snapshot = Snapshot(
            id=new_id,
            created_at=layout.utc_now_iso(),
            files=files,
            inputs=[*base.inputs, entry],
        )
        snap_path = root / layout.SNAPSHOTS / new_name
        written.append(snap_path)
        layout.write_json(snap_path, snapshot.to_json(), staging_root)
        layout.atomic_write(root / layout.CURRENT, new_name.encode() + b"\n", staging_root)
    except BaseException:
        if _current_name(root) == layout.snapshot_name(base.id):
            _discard(written)
        raise
    _after_commit(root, superseded, new_id, staging.run_dir)
    return snapshot


def _current_name(root: Path) -> str | None:
    """Name in CURRENT, or None when it cannot be read (then nothing is rolled back)."""
    try:
        return (root / layout.CURRENT).read_text(encoding="utf-8").strip()
    except Exception:
        return None


def _discard(paths: Sequence[Path]) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


def _after_commit(root: Path, superseded: Sequence[str], new_id: int, run_dir: Path) -> None:
    """Delete what the new snapshot no longer references. Best effort: errors are logged."""
    try:
        for rel in superseded:
            (root / rel).unlink(missing_ok=True)
        for path in (root / layout.SNAPSHOTS).iterdir():
            sid = layout.snapshot_id_of(path.name)
            if sid is not None and sid < new_id:
                path.unlink(missing_ok=True)
        shutil.rmtree(run_dir, ignore_errors=True)
    except OSError as exc:
        log.warning("store %s: cleanup after commit failed (%s); done at next open", root, exc)


def run_ingest(
    root: Path,
    base: Snapshot,
    results: Iterable[ReadResult],
    entry: dict[str, Any],
    settings: MergeSettings,
    on_progress: Callable[[str, int, int], None] | None = None,
    sample_per_reason: int = QUARANTINE_SAMPLE_PER_REASON,
) -> tuple[Snapshot, Staging]:
    """Stage every chunk of ``results`` and commit; on any failure leave the store as it was.

    The caller holds the write lock.
    """
    run_dir = root / layout.STAGING / uuid.uuid4().hex
    staging = Staging(run_dir, sample_per_reason)
    try:
        done = 0
        for result in results:
            staging.add(result)
            done += int(result.stats.get("input_bytes", 0))
            if on_progress is not None:
                on_progress(entry["name"], done, entry["size"])
        entry = {
            **entry,
            "rows": dict(staging.rows_read),
            "quarantine": {k: int(v) for k, v in sorted(staging.quarantine.counts.items())},
            "stats": {k: int(v) for k, v in sorted(staging.stats.items())},
        }
        snapshot = commit(root, base, staging, entry, settings, sample_per_reason)
    except BaseException:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise
    return snapshot, staging
