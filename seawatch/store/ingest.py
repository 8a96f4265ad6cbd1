"""One ingest: stage the chunks of one or more inputs on disk, then commit them in one step.

Staging keeps memory bounded whatever the inputs' size: each ``ReadResult`` chunk is written
to ``staging/<run>/<input>/<table>/<day>/<chunk>.parquet`` as it arrives and then dropped. The
commit merges, for each table and each UTC day the inputs touch, the day's live file with the
staged rows of every input in DuckDB (deduplicated and sorted, see
:mod:`seawatch.store.dedup`) into ONE new file, then writes a new snapshot and swaps ``CURRENT``
to it (:mod:`seawatch.store.commit`). Until the swap nothing live has changed; after it, the
old files are merely unreferenced. See ``docs/store.md`` for the protocol.

Why a batch: a day file is rewritten whole at each commit, so committing 50 inputs of one
day one by one rewrites that day 50 times (the cost grows with inputs x day size). Staging
them all and merging each day once costs one rewrite; the manifest still has one entry per
input (its SHA-256 keeps re-ingests idempotent) with its own counts.
"""

from __future__ import annotations

import hashlib
import shutil
import time
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
from seawatch.store.commit import Transaction, describe
from seawatch.store.dedup import MERGED, RULES, merge_day_sql, merge_groups_sql
from seawatch.store.layout import DATA_TABLES, Snapshot

if TYPE_CHECKING:
    import duckdb

    from seawatch.io.result import ReadResult
    from seawatch.store.opening import CurrentSnapshot

DEFAULT_BATCH_ROWS = 100_000_000
"""An ingest of several inputs commits once this many rows are staged (and at the end)."""

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
        Wall time of reading and staging this input.
    commit_seconds
        Wall time of the commit that made it live (shared by the ``batch_inputs`` inputs
        committed together).
    batch_inputs
        How many inputs that commit held.
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
    commit_seconds: float = 0.0
    batch_inputs: int = 0
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
    groups: Sequence[Sequence[Path]],
    target: Path,
    window: timedelta,
    live_rows: int = 0,
) -> tuple[int, list[int]]:
    """Merge one table-day's files into ``target`` (deduplicated, sorted).

    ``groups``: the day's live files (``live_rows`` rows in all), then the staged files of
    each input of the batch. Returns the rows written and, per input, the rows it added
    net: its rows kept less the live rows its earlier copies replaced (the nets sum to the
    rows written less ``live_rows``). With one input this is a single ``COPY``; with several
    the merge fills a temporary table that records each row's input, which costs a little
    more (still one pass over the day, against one per input when committed one by one).
    """
    inputs = len(groups) - 1
    if inputs <= 1:
        sources = [str(f) for g in groups for f in g]
        row = con.execute(merge_day_sql(RULES[table], sources, str(target), window)).fetchone()
        rows = int(row[0]) if row else 0
        return rows, [rows - live_rows] * inputs
    fill, copy, count = merge_groups_sql(
        RULES[table], [[str(f) for f in g] for g in groups], str(target), window
    )
    try:
        con.execute(fill)
        row = con.execute(copy).fetchone()
        rows = int(row[0]) if row else 0
        net = [0] * inputs
        for group, kept, replaced in con.execute(count).fetchall():
            if group:  # group 0 (live rows) and None (first of its key) belong to no input
                net[int(group) - 1] += int(kept) - int(replaced)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {MERGED}")
    net[0] += rows - live_rows - sum(net)  # only if live rows replaced each other: none
    return rows, net


def quarantine_sample(log_: QuarantineLog, per_reason: int) -> pl.DataFrame:
    """The bounded sample of bad lines to keep: at most ``per_reason`` lines per reason."""
    frame = log_.frame()
    return frame.filter(pl.int_range(pl.len()).over("reason") < per_reason)


MergeProgress = Callable[[int, int], None]
"""``on_merge(done, total)``: table-days merged so far, of all the commit merges."""

ProgressCallback = Callable[[str, int, int], None]
"""``on_progress(name, done_bytes, total_bytes)``."""

ErrorCallback = Callable[[Path, Exception], None]
"""``on_error(path, error)``: an input that could not be read; raise to stop the ingest."""


def commit(
    root: Path,
    base: Snapshot,
    staged: Sequence[tuple[Staging, dict[str, Any]]],
    settings: MergeSettings,
    sample_per_reason: int = QUARANTINE_SAMPLE_PER_REASON,
    on_merge: MergeProgress | None = None,
) -> Snapshot:
    """Make the staged rows of one or more inputs live in one atomic step; return the snapshot.

    ``staged``: each input's staging and manifest entry (``added``/``duplicates``/
    ``snapshot`` are filled in here), in the order the inputs were read. Steps: (1) merge
    each touched table-day, live rows and every input's staged rows, into a new file, fsync
    it; (2) write each input's quarantine sample; (3) fsync the new folders; (4)-(6) publish
    the new snapshot through a :class:`~seawatch.store.commit.Transaction` (snapshot file,
    swap of ``CURRENT`` -- the commit point --, deletion of the superseded files, older
    snapshots and the staging run).

    A failure before the swap deletes what it wrote and re-raises; the store is as before.
    """
    if not staged:
        raise ValueError("commit needs at least one staged input")
    run_dir = staged[0][0].run_dir.parent
    with Transaction(root, base, run_dir) as tx:
        superseded: list[str] = []
        files = {t: list(base.table_files(t)) for t in layout.FILE_TABLES}
        added = [_zeros() for _ in staged]
        touched_dirs: set[Path] = {root}  # a table folder may be new
        work = [
            (table, day)
            for table in DATA_TABLES
            for day in sorted(set().union(*(st.days[table] for st, _ in staged)))
        ]
        con = connect(run_dir / "duckdb_tmp", settings)
        try:
            for done, (table, day) in enumerate(work):
                if on_merge is not None:
                    on_merge(done, len(work))
                old = base.day_files(table, day)
                inputs = [i for i, (st, _) in enumerate(staged) if day in st.days[table]]
                rel, target = tx.new_file(table, day)
                groups = [[root / f.path for f in old]]
                groups += [staged[i][0].files(table, day) for i in inputs]
                rows, net = merge_day(
                    con, table, groups, target, settings.dedup_window,
                    live_rows=sum(f.rows for f in old),
                )
                layout.fsync_file(target)
                touched_dirs.update((target.parent, target.parent.parent))
                keep = [f for f in files[table] if f.day != day]
                files[table] = [*keep, describe(root, rel, rows, day)]
                superseded.extend(f.path for f in old)
                for i, n in zip(inputs, net, strict=True):
                    added[i][table] += n
            if on_merge is not None:
                on_merge(len(work), len(work))
        finally:
            con.close()
        for st, _ in staged:
            sample = quarantine_sample(st.quarantine, sample_per_reason)
            if not sample.height:
                continue
            rel, target = tx.new_file(layout.QUARANTINE)
            sample.write_parquet(target, compression="zstd")
            layout.fsync_file(target)
            touched_dirs.add(target.parent)
            files[layout.QUARANTINE].append(describe(root, rel, sample.height, None))
        for folder in sorted(touched_dirs, key=lambda p: len(p.parts), reverse=True):
            layout.fsync_dir(folder)

        entries = []
        for (st, entry), add in zip(staged, added, strict=True):
            kept = {t: st.rows_read[t] - st.no_time[t] for t in DATA_TABLES}
            entries.append({
                **entry,
                "snapshot": tx.id,
                "added": add,
                "duplicates": {t: kept[t] - add[t] for t in DATA_TABLES},
            })
        return tx.publish(files, [*base.inputs, *entries], superseded)


class Batch:
    """Inputs staged for one commit: ``staging/<run>/<nnnnn>/`` per input.

    The caller holds the write lock. :meth:`stage` reads one input into its own folder (a
    failure discards that input alone); :meth:`commit` makes them all live at once and
    removes the run folder; :meth:`discard` removes it without committing.
    """

    def __init__(self, root: Path, sample_per_reason: int = QUARANTINE_SAMPLE_PER_REASON):
        self.root = root
        self.run_dir = root / layout.STAGING / uuid.uuid4().hex
        self.sample_per_reason = sample_per_reason
        self.staged: list[tuple[Staging, dict[str, Any]]] = []

    def __len__(self) -> int:
        return len(self.staged)

    @property
    def rows(self) -> int:
        """Rows staged so far, over all inputs and tables."""
        return sum(sum(st.rows_read.values()) for st, _ in self.staged)

    def has(self, sha256: str) -> bool:
        """Whether an input with these bytes is already staged in this batch."""
        return any(entry["sha256"] == sha256 for _, entry in self.staged)

    def stage(
        self,
        results: Iterable[ReadResult],
        entry: dict[str, Any],
        on_progress: ProgressCallback | None = None,
    ) -> Staging:
        """Write every chunk of ``results`` to this input's staging folder.

        ``entry``: the input's manifest entry (``name``, ``sha256``, ``size``, ...); its
        ``rows``, ``quarantine`` and ``stats`` are filled in. On any failure this input's
        folder is removed and the error re-raised; inputs staged before it stay.
        """
        staging = Staging(self.run_dir / f"{len(self.staged):05d}", self.sample_per_reason)
        try:
            done = 0
            for result in results:
                staging.add(result)
                done += int(result.stats.get("input_bytes", 0))
                if on_progress is not None:
                    on_progress(entry["name"], done, entry["size"])
        except BaseException:
            shutil.rmtree(staging.run_dir, ignore_errors=True)
            raise
        entry = {
            **entry,
            "rows": dict(staging.rows_read),
            "quarantine": {k: int(v) for k, v in sorted(staging.quarantine.counts.items())},
            "stats": {k: int(v) for k, v in sorted(staging.stats.items())},
        }
        self.staged.append((staging, entry))
        return staging

    def commit(
        self, base: Snapshot, settings: MergeSettings, on_merge: MergeProgress | None = None
    ) -> Snapshot:
        """Commit every staged input in one snapshot (see :func:`commit`)."""
        try:
            return commit(
                self.root, base, self.staged, settings, self.sample_per_reason, on_merge
            )
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        shutil.rmtree(self.run_dir, ignore_errors=True)


@dataclass(frozen=True)
class Input:
    """One input of an ingest: its path (whose name the manifest keeps), the SHA-256 of its
    bytes (hex), its size in bytes, and how to read it (a call returning its chunks)."""

    path: Path
    sha256: str
    size: int
    chunks: Callable[[], Iterable[ReadResult]]


def ingest_inputs(
    root: Path,
    current: CurrentSnapshot,
    inputs: Iterable[Input],
    settings: MergeSettings,
    *,
    sample_per_reason: int = QUARANTINE_SAMPLE_PER_REASON,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    on_progress: ProgressCallback | None = None,
    on_error: ErrorCallback | None = None,
    on_merge: MergeProgress | None = None,
) -> list[IngestReport]:
    """Stage ``inputs`` in batches of about ``batch_rows`` rows and commit each batch; return
    one report per input read or skipped, in order.

    The caller holds the write lock. See :meth:`seawatch.store.Store.ingest` for the
    callbacks and the skipping of inputs already ingested. ``current`` is kept up to date
    with each commit.
    """
    clear_staging(root)
    reports: list[IngestReport | None] = []
    pending: list[tuple[int, float]] = []  # (report slot, staging seconds)
    batch = Batch(root, sample_per_reason)

    def flush() -> None:
        nonlocal batch
        if not len(batch):
            return
        started = time.perf_counter()
        snapshot = batch.commit(current.get(), settings, on_merge)
        commit_s = time.perf_counter() - started
        current.set(snapshot)
        entries = snapshot.inputs[-len(batch):]
        for (slot, seconds), (staging, _), entry in zip(
            pending, batch.staged, entries, strict=True
        ):
            reports[slot] = IngestReport(
                name=entry["name"],
                sha256=entry["sha256"],
                size=int(entry["size"]),
                rows_read=dict(entry["rows"]),
                rows_added=dict(entry["added"]),
                duplicates=dict(entry["duplicates"]),
                quarantine=dict(entry["quarantine"]),
                stats=dict(staging.stats),
                seconds=seconds,
                commit_seconds=commit_s,
                batch_inputs=len(batch),
                snapshot=snapshot.id,
            )
        pending.clear()
        batch = Batch(root, sample_per_reason)

    try:
        for item in inputs:
            name = item.path.name
            if current.get().input_by_sha256(item.sha256) is not None or batch.has(item.sha256):
                reports.append(IngestReport(name, item.sha256, item.size, skipped=True))
                if on_progress is not None:
                    on_progress(name, item.size, item.size)
                continue
            entry: dict[str, Any] = {
                "name": name,
                "sha256": item.sha256,
                "size": int(item.size),
                "ingested_at": layout.utc_now_iso(),
            }
            started = time.perf_counter()
            try:
                batch.stage(item.chunks(), entry, on_progress)
            except Exception as exc:
                if on_error is None:
                    flush()
                    raise
                try:
                    on_error(item.path, exc)
                except BaseException:
                    flush()
                    raise
                continue
            pending.append((len(reports), time.perf_counter() - started))
            reports.append(None)
            if batch.rows >= batch_rows:
                flush()
        flush()
    except BaseException:
        batch.discard()
        raise
    return [r for r in reports if r is not None]


def clear_staging(root: Path) -> None:
    """Empty ``staging/`` (the caller holds the write lock: nothing there is in use)."""
    staging = root / layout.STAGING
    staging.mkdir(exist_ok=True)
    for child in staging.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of a file's bytes, read in blocks."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
