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

import contextlib
import hashlib
import os
import re
import shutil
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from seawatch import schema
from seawatch.errors import InvalidValue
from seawatch.io.quarantine import QuarantineLog, Reason
from seawatch.store import clocks, coverage, layout
from seawatch.store.commit import Transaction, describe
from seawatch.store.dedup import (
    CHAIN_SOURCE,
    KEEP,
    LATE_COPIES,
    ROW_GROUP_SIZE,
    RULES,
    SOURCE,
    LateCopies,
    MmsiRange,
    chain_credits_sql,
    merge_sql,
    rows_per_mmsi_sql,
    split_mmsi,
)
from seawatch.store.layout import DATA_TABLES, Snapshot
from seawatch.store.parts import PartsPolicy, append_day, horizon

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from seawatch.io.result import ReadResult
    from seawatch.store.opening import CurrentSnapshot

DEFAULT_BATCH_ROWS = 100_000_000
"""An ingest of several inputs commits once this many rows are staged (and at the end)."""

DEFAULT_MEMORY_LIMIT = "4GB"
"""The most DuckDB may take for a merge when ``memory_limit`` is not given: the automatic limit
is the smaller of this and :data:`MEMORY_FRACTION` of the machine's memory."""

MEMORY_FRACTION = 0.25
"""Share of the machine's memory (or of its container's limit) the automatic merge limit
takes, leaving the rest to the reader, detection and other processes."""

MIN_MEMORY_LIMIT = 256 * 2**20
"""Floor of the automatic merge limit (bytes): DuckDB needs about this much to merge at all."""

MERGE_BYTES_PER_ROW = 500
"""Memory (bytes) a merge needs per row of one batch: DuckDB's window over the key and sort by
``(mmsi, ts)``, the Arrow batches handed to the writer. Batches of 8 M positions took the
whole process to 1.1-1.8 GB (about 130-200 bytes a row); the rest is room for long
``source`` names and other tables' strings."""

MIN_MERGE_ROWS = 100_000
"""Fewest rows per merge batch when ``merge_rows`` is derived from the memory limit."""

CHAIN_MMSI_LIST = 1000
"""Most MMSIs named in the second pass that credits replaced rows (see
:func:`~seawatch.store.dedup.chain_credits_sql`); with more, it runs over the whole range."""

STAGING_ROW_GROUP_ROWS = 16_384
"""Rows per row group of the staged files, which are sorted by MMSI: a merge batch (one MMSI
range) skips the row groups outside its range by their statistics."""

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
    clocks
        Stations of this input whose clock the commit corrected or quarantined (see
        :mod:`seawatch.store.clocks`): ``station``, ``offset_s``, ``copies``, ``action``,
        ``rows`` (this input's rows shifted or not stored).
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
    clocks: list[dict[str, Any]] = field(default_factory=list)

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
        self.removed = _zeros()
        """Rows per table the clock check kept out (quarantined, see :mod:`.clocks`)."""
        self.days: dict[str, set[str]] = {t: set() for t in DATA_TABLES}
        self.day_rows: Counter[tuple[str, str]] = Counter()
        """Rows staged per ``(table, day)``."""
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
                part.sort("mmsi").write_parquet(
                    folder / f"{chunk:08d}.parquet",
                    compression="lz4",
                    row_group_size=STAGING_ROW_GROUP_ROWS,
                )
                self.days[table].add(day.isoformat())
                self.day_rows[table, day.isoformat()] += part.height
        self.quarantine.merge(result.quarantine_log)
        self.stats.update(result.stats)

    def files(self, table: str, day: str) -> list[Path]:
        return sorted((self.run_dir / table / day).glob("*.parquet"))


_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?)\s*([kmgt]i?b|b)?\s*", re.IGNORECASE)
_SIZE_UNITS = {
    "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
}


def memory_bytes(limit: str | int) -> int:
    """Bytes of a memory limit written as DuckDB takes it.

    ``"4GB"`` is 4 * 10**9 bytes, ``"512MiB"`` 512 * 2**20; a number alone is bytes.

    Raises
    ------
    seawatch.errors.InvalidValue
        Text that is not a size, or a size below one byte.

    Examples
    --------
    >>> memory_bytes("4GB"), memory_bytes("1.5 GiB"), memory_bytes(1000)
    (4000000000, 1610612736, 1000)
    """
    if isinstance(limit, int):
        value = limit
    else:
        match = _SIZE.fullmatch(limit)
        if match is None:
            raise InvalidValue(
                f"memory_limit {limit!r} is not a size; write it as '4GB', '512MiB' or bytes"
            )
        value = int(float(match[1]) * _SIZE_UNITS[(match[2] or "b").lower()])
    if value < 1:
        raise InvalidValue(f"memory_limit must be at least one byte, got {limit!r}")
    return value


def machine_memory() -> int | None:
    """The machine's physical memory in bytes, or its container's limit where lower (cgroup
    v2 or v1); None where neither can be read."""
    total: int | None = None
    with contextlib.suppress(AttributeError, OSError, ValueError):  # not POSIX: unknown
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit():  # "max": no limit
            total = int(text) if total is None else min(total, int(text))
    return total


def default_memory_limit(machine: int | None) -> int:
    """The merge's memory limit (bytes) on a machine with ``machine`` bytes of memory (None:
    unknown): :data:`MEMORY_FRACTION` of it, at most :data:`DEFAULT_MEMORY_LIMIT` and at
    least :data:`MIN_MEMORY_LIMIT`.

    Examples
    --------
    >>> default_memory_limit(64 * 10**9), default_memory_limit(8 * 10**9)
    (4000000000, 2000000000)
    >>> default_memory_limit(None) == memory_bytes(DEFAULT_MEMORY_LIMIT)
    True
    """
    cap = memory_bytes(DEFAULT_MEMORY_LIMIT)
    if machine is None:
        return cap
    return max(MIN_MEMORY_LIMIT, min(cap, int(machine * MEMORY_FRACTION)))


@dataclass(frozen=True)
class MergeSettings:
    """How the commit runs DuckDB and which duplicates it removes.

    ``memory_limit``: DuckDB's limit (its syntax, e.g. ``"4GB"``); ``merge_rows``: the most
    rows merged at once, a bigger day being merged in MMSI ranges of about that many rows
    (see :func:`merge_settings` for the defaults). ``late_copies``: the rule of a moving
    vessel's late copies (:class:`~seawatch.store.dedup.LateCopies`); ``clock_settings``:
    the stations' clock check (:class:`~seawatch.store.clocks.ClockSettings`, its
    ``window`` the ``dedup_window``).
    """

    dedup_window: timedelta
    memory_limit: str = DEFAULT_MEMORY_LIMIT
    threads: int | None = None
    merge_rows: int = memory_bytes(DEFAULT_MEMORY_LIMIT) // MERGE_BYTES_PER_ROW
    late_copies: LateCopies = LATE_COPIES
    clock_settings: clocks.ClockSettings = clocks.DEFAULT_CLOCK_SETTINGS


def merge_settings(
    dedup_window: timedelta,
    memory_limit: str | int | None = None,
    threads: int | None = None,
    merge_rows: int | None = None,
    late_copies: LateCopies = LATE_COPIES,
    clock_settings: clocks.ClockSettings | None = None,
) -> MergeSettings:
    """Checked :class:`MergeSettings`, with the defaults drawn from the machine.

    ``memory_limit`` None: :func:`default_memory_limit` of :func:`machine_memory`.
    ``merge_rows`` None: the limit over :data:`MERGE_BYTES_PER_ROW` (at least
    :data:`MIN_MERGE_ROWS`), so one batch fits in the limit without spilling.
    ``clock_settings`` None: the defaults of :class:`~seawatch.store.clocks.ClockSettings`;
    their ``window`` is set to ``dedup_window`` either way.

    Raises
    ------
    seawatch.errors.InvalidValue
        A memory limit that is not a size, ``threads`` or ``merge_rows`` below 1, a negative
        ``dedup_window``, late copies with a negative window or distance.

    Examples
    --------
    >>> from datetime import timedelta
    >>> s = merge_settings(timedelta(seconds=30), "1GB")
    >>> s.memory_limit, s.merge_rows
    ('1GB', 2000000)
    """
    if dedup_window < timedelta(0):
        raise InvalidValue(f"dedup_window must not be negative, got {dedup_window}")
    if late_copies.window < timedelta(0) or late_copies.moved_m < 0:
        raise InvalidValue(f"late copies: window and moved_m must not be negative, got "
                           f"{late_copies.window} and {late_copies.moved_m}")
    clock = replace(clock_settings or clocks.ClockSettings(), window=dedup_window)
    if threads is not None and threads < 1:
        raise InvalidValue(f"threads must be at least 1, got {threads}")
    if memory_limit is None:
        limit = default_memory_limit(machine_memory())
        text = f"{limit}B"
    else:
        limit = memory_bytes(memory_limit)
        text = memory_limit if isinstance(memory_limit, str) else f"{limit}B"
    if merge_rows is None:
        merge_rows = max(MIN_MERGE_ROWS, limit // MERGE_BYTES_PER_ROW)
    elif merge_rows < 1:
        raise InvalidValue(f"merge_rows must be at least 1, got {merge_rows}")
    return MergeSettings(dedup_window, text, threads, merge_rows, late_copies, clock)


def connect(temp_dir: Path, settings: MergeSettings) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB bounded by ``memory_limit`` that spills to ``temp_dir``, silent
    (no progress bar: DuckDB would draw one on stdout for any merge over two seconds, into
    the output of ``seawatch ingest`` and of whatever reads it)."""
    import duckdb

    temp_dir.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "memory_limit": settings.memory_limit,
        "temp_directory": str(temp_dir),
    }
    if settings.threads:
        config["threads"] = settings.threads
    con = duckdb.connect(":memory:", config=config)
    con.execute("SET enable_progress_bar = false")
    return con


DAY_FILE_ZSTD_LEVEL = 3
"""zstd level of the day files (DuckDB's default, which the day files used to be written by)."""

PLAIN_COLUMNS = frozenset({"ts", "lat", "lon", "station_time", "payload"})
"""Columns of nearly unique values, written without a dictionary: one would cost time and,
once it overflows, size (about 1.6x the file with it)."""


WRITE_AHEAD = 2
"""Row groups a day file may have waiting to be compressed and written (in a thread of its
own) while the merge goes on: the writing overlaps DuckDB's work, in bounded memory."""


class DayFileWriter:
    """Arrow batches, in order, into one Parquet day file: zstd, row groups of exactly
    ``row_group_rows`` rows (the last one shorter), times as UTC, dictionary encoding for
    all but :data:`PLAIN_COLUMNS`.

    One merge batch after another appends to the same file, so a day merged in MMSI ranges
    is still one file, laid out as if written at once. Full row groups are compressed and
    written by a thread of the writer's own, at most :data:`WRITE_AHEAD` behind; an error
    there is raised by the next call.
    """

    def __init__(self, target: Path, row_group_rows: int = ROW_GROUP_SIZE):
        self.target = target
        self.row_group_rows = row_group_rows
        self.rows = 0
        self._writer: Any = None
        self._schema: pa.Schema | None = None
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._pool: ThreadPoolExecutor | None = None
        self._queued: deque[Future[None]] = deque()

    def _submit(self, table: pa.Table) -> None:
        """Queue one write (in order); wait while more than WRITE_AHEAD are queued."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="seawatch-day-file")
        self._queued.append(
            self._pool.submit(self._writer.write_table, table, row_group_size=self.row_group_rows)
        )
        while len(self._queued) > WRITE_AHEAD:
            self._queued.popleft().result()

    def _drain(self) -> None:
        while self._queued:
            self._queued.popleft().result()
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def open(self, schema_: pa.Schema) -> None:
        """Start the file with these columns (the first call only; time zones become UTC)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._writer is not None:
            return
        fields = [
            pa.field(f.name, pa.timestamp(f.type.unit, "UTC"), f.nullable)
            if pa.types.is_timestamp(f.type) and f.type.tz is not None else f
            for f in schema_
        ]
        self._schema = pa.schema(fields)
        self._writer = pq.ParquetWriter(
            self.target,
            self._schema,
            compression="zstd",
            compression_level=DAY_FILE_ZSTD_LEVEL,
            use_dictionary=[f.name for f in fields if f.name not in PLAIN_COLUMNS],
        )

    def write(self, batch: pa.RecordBatch) -> None:
        """Append rows; full row groups are written as soon as they are complete."""
        import pyarrow as pa

        if self._schema is None:
            self.open(batch.schema)
        if not batch.num_rows:
            return
        self._pending.append(pa.Table.from_batches([batch]).cast(self._schema))
        self._pending_rows += batch.num_rows
        self.rows += batch.num_rows
        if self._pending_rows >= self.row_group_rows:
            table = pa.concat_tables(self._pending)
            full = self._pending_rows - self._pending_rows % self.row_group_rows
            self._submit(table.slice(0, full))
            rest = table.slice(full)
            self._pending, self._pending_rows = [rest], rest.num_rows

    def close(self) -> None:
        """Write the last, shorter row group and the footer."""
        import pyarrow as pa

        if self._writer is None:
            return
        if self._pending_rows:
            self._submit(pa.concat_tables(self._pending))
        self._pending, self._pending_rows = [], 0
        self._drain()
        self._writer.close()

    def abort(self) -> None:
        """Close the file after a failure, without its last rows (the caller deletes it)."""
        self._pending, self._pending_rows = [], 0
        for queued in self._queued:
            queued.cancel()
        with contextlib.suppress(Exception):
            self._drain()
        self._queued.clear()
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()


def day_ranges(
    con: duckdb.DuckDBPyConnection, files: Sequence[str], rows: int, merge_rows: int
) -> list[MmsiRange]:
    """The MMSI ranges a day of ``rows`` rows (at most; before duplicates are removed) in
    ``files`` is merged in: one when ``rows <= merge_rows``, else ranges of at most
    ``merge_rows`` rows, cut from the rows per MMSI."""
    if rows <= merge_rows:
        return [MmsiRange()]
    counts = con.execute(rows_per_mmsi_sql(files)).fetchnumpy()
    return split_mmsi(counts["mmsi"], counts["rows"], merge_rows)


def merge_day(
    con: duckdb.DuckDBPyConnection,
    table: str,
    groups: Sequence[Sequence[Path]],
    target: Path,
    window: timedelta,
    live_rows: int,
    rows: int,
    merge_rows: int,
    late: LateCopies = LATE_COPIES,
) -> tuple[int, list[int]]:
    """Merge one table-day's files into ``target`` (deduplicated, sorted by ``(mmsi, ts)``).

    ``groups``: the day's live files (``live_rows`` rows in all), then the staged files of
    each input of the batch. ``rows``: rows in all the files (before duplicates); more than
    ``merge_rows`` and the day is merged in MMSI ranges of at most ``merge_rows`` rows, one
    after another, each appended to ``target``: every duplicate key holds the MMSI, so the
    ranges are independent and DuckDB's memory is bounded by the range, whatever the day's
    size and the number of inputs. Returns the rows written and, per input, the rows it
    added net: its rows kept less the live rows its earlier copies replaced (the nets sum to
    the rows written less ``live_rows``). ``late``: how late copies of a moving vessel's
    report are recognised (:class:`~seawatch.store.dedup.LateCopies`).
    """
    import numpy as np
    import pyarrow as pa

    rule = RULES[table]
    paths = [[str(f) for f in g] for g in groups]
    files = [f for g in paths for f in g]
    kept = np.zeros(len(groups), dtype=np.int64)
    replaced = np.zeros(len(groups), dtype=np.int64)
    writer = DayFileWriter(target)
    try:
        for mmsi in day_ranges(con, files, rows, merge_rows):
            sql = merge_sql(rule, paths, window, mmsi, late)
            reader = con.sql(sql).to_arrow_reader(ROW_GROUP_SIZE)
            writer.open(pa.schema([reader.schema.field(c) for c in rule.columns]))
            unsure: set[int] = set()  # MMSIs of replaced live rows the pass could not credit
            for batch in reader:
                # the counts go through Polars: pyarrow's own NumPy and Python conversions
                # import pandas, a third of a second on every ingest
                part = pl.from_arrow(batch)
                assert isinstance(part, pl.DataFrame)
                mask = part[KEEP].to_numpy()  # never null (merge_sql)
                kept += np.bincount(part[SOURCE].to_numpy()[mask], minlength=len(groups))
                if not mask.all():  # live rows an input's earlier copy replaced
                    gone = part.filter(~pl.col(KEEP))
                    chain = gone[CHAIN_SOURCE]
                    known = chain.drop_nulls().to_numpy()
                    replaced += np.bincount(known, minlength=len(groups))
                    if len(known) < len(chain):
                        lost = gone.filter(pl.col(CHAIN_SOURCE).is_null())["mmsi"]
                        unsure.update(lost.drop_nulls().unique().to_list())
                        if lost.null_count():
                            unsure.add(-1)  # rows without an MMSI: the range's condition
                writer.write(batch.filter(batch.column(KEEP)).select(list(rule.columns)))
            if unsure:
                only = () if -1 in unsure or len(unsure) > CHAIN_MMSI_LIST else sorted(unsure)
                sql = chain_credits_sql(rule, paths, window, mmsi, only, late)
                for group, n in con.execute(sql).fetchall():
                    replaced[int(group)] += int(n)
    except BaseException:
        writer.abort()
        raise
    writer.close()
    written = int(kept.sum())
    if writer.rows != written:  # pragma: no cover - the counts and the file must agree
        raise RuntimeError(f"merge of {target}: wrote {writer.rows} rows, counted {written}")
    net = [int(k - r) for k, r in zip(kept[1:], replaced[1:], strict=True)]
    if net:  # only if live rows replaced each other (a wider window than at their ingest)
        net[0] += written - live_rows - sum(net)
    return written, net


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
    parts: PartsPolicy | None = None,
) -> Snapshot:
    """Make the staged rows of one or more inputs live in one atomic step; return the snapshot.

    ``staged``: each input's staging and manifest entry (``added``/``duplicates``/
    ``snapshot`` are filled in here), in the order the inputs were read. Steps: (1) merge
    each touched table-day, live rows and every input's staged rows, into a new file, fsync
    it; (2) write each input's quarantine sample; (3) fsync the new folders; (4)-(6) publish
    the new snapshot through a :class:`~seawatch.store.commit.Transaction` (snapshot file,
    swap of ``CURRENT`` -- the commit point --, deletion of the superseded files, older
    snapshots and the staging run).

    With ``parts`` (one input only: a live compaction), step (1) adds the input's rows to
    each table-day as a new part instead of merging the day into one file
    (:func:`seawatch.store.parts.append_day`), and the stations' clocks are matched against
    the stored rows near the input's times only.

    A failure before the swap deletes what it wrote and re-raises; the store is as before.
    """
    if not staged:
        raise ValueError("commit needs at least one staged input")
    if parts is not None and len(staged) != 1:
        raise ValueError("a commit in parts mode takes one input")
    run_dir = staged[0][0].run_dir.parent
    with Transaction(root, base, run_dir) as tx:
        superseded: list[str] = []
        files = {t: list(base.table_files(t)) for t in layout.FILE_TABLES}
        added = [_zeros() for _ in staged]
        touched_dirs: set[Path] = {root}  # a table folder may be new
        con = connect(run_dir / "duckdb_tmp", settings)
        try:
            near = None if parts is None else horizon(settings.dedup_window,
                                                      settings.late_copies.window)
            clock = clocks.check_commit(con, root, base, [st for st, _ in staged],
                                        settings.clock_settings, near)
        except BaseException:
            con.close()
            raise
        work = [
            (table, day)
            for table in DATA_TABLES
            for day in sorted(set().union(*(st.days[table] for st, _ in staged)))
        ]
        try:
            for done, (table, day) in enumerate(work):
                if on_merge is not None:
                    on_merge(done, len(work))
                old = base.day_files(table, day)
                inputs = [i for i, (st, _) in enumerate(staged) if day in st.days[table]]
                if parts is not None:
                    done_day = append_day(
                        con, tx, table, day, old, staged[0][0].files(table, day),
                        settings.dedup_window, settings.late_copies, parts)
                    gone = set(done_day.superseded)
                    files[table] = [*(f for f in files[table] if f.path not in gone),
                                    *done_day.new]
                    superseded.extend(done_day.superseded)
                    touched_dirs.update(p for f in done_day.new
                                        for p in ((root / f.path).parent, root / table))
                    added[0][table] += done_day.kept - done_day.replaced
                    if table == "positions":
                        touched_dirs.update(coverage.update_day(
                            tx, base, files, superseded, day, done_day.new_rows,
                            done_day.replaced_mmsi))
                    continue
                rel, target = tx.new_file(table, day)
                groups = [[root / f.path for f in old]]
                groups += [staged[i][0].files(table, day) for i in inputs]
                live_rows = sum(f.rows for f in old)
                rows, net = merge_day(
                    con, table, groups, target, settings.dedup_window,
                    late=settings.late_copies,
                    live_rows=live_rows,
                    rows=live_rows + sum(staged[i][0].day_rows[table, day] for i in inputs),
                    merge_rows=settings.merge_rows,
                )
                layout.fsync_file(target)
                touched_dirs.update((target.parent, target.parent.parent))
                keep = [f for f in files[table] if f.day != day]
                files[table] = [*keep, describe(root, rel, rows, day)]
                superseded.extend(f.path for f in old)
                for i, n in zip(inputs, net, strict=True):
                    added[i][table] += n
                if table == "positions":  # what each feed heard that day, deduplicated
                    touched_dirs.update(coverage.add_day(tx, base, files, superseded, day, target))
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
        if clock.stations.height:
            rel, target = tx.new_file(layout.CLOCKS)
            clocks.clocks_frame(clock).write_parquet(target, compression="zstd")
            layout.fsync_file(target)
            touched_dirs.add(target.parent)
            files[layout.CLOCKS].append(describe(root, rel, clock.stations.height, None))
        for folder in sorted(touched_dirs, key=lambda p: len(p.parts), reverse=True):
            layout.fsync_dir(folder)

        entries = []
        for i, ((st, entry), add) in enumerate(zip(staged, added, strict=True)):
            kept = {t: st.rows_read[t] - st.no_time[t] - st.removed[t] for t in DATA_TABLES}
            entries.append({
                **entry,
                "quarantine": {k: int(v) for k, v in sorted(st.quarantine.counts.items())},
                "clocks": clocks.summary(clock, i),
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
        self, base: Snapshot, settings: MergeSettings, on_merge: MergeProgress | None = None,
        parts: PartsPolicy | None = None,
    ) -> Snapshot:
        """Commit every staged input in one snapshot (see :func:`commit`)."""
        try:
            return commit(
                self.root, base, self.staged, settings, self.sample_per_reason, on_merge, parts
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
    parts: PartsPolicy | None = None,
) -> list[IngestReport]:
    """Stage ``inputs`` in batches of about ``batch_rows`` rows and commit each batch; return
    one report per input read or skipped, in order. With ``parts``, each input is committed
    on its own, in parts mode (:func:`commit`).

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
        snapshot = batch.commit(current.get(), settings, on_merge, parts)
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
                clocks=list(entry.get("clocks", [])),
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
            if batch.rows >= batch_rows or parts is not None:
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
