"""``Store``: the embedded default storage, a directory of day-partitioned Parquet files.

Examples
--------
>>> import tempfile, polars as pl
>>> from seawatch import schema
>>> from seawatch.io.result import ReadResult
>>> store = Store(tempfile.mkdtemp())
>>> frame = pl.DataFrame({"mmsi": [735057000, 735057000], "ts": [0, 5_000_000],
...                       "lat": [-0.95, -0.95], "lon": [-80.7, -80.7], "msg_type": [1, 1],
...                       "second": [0, 0]})
>>> chunk = ReadResult(positions=schema.conform(frame, schema.POSITIONS))
>>> report = store.ingest_results([chunk], name="demo.nmea", sha256="00" * 32, size=0)
>>> report.rows_read["positions"], report.rows_added["positions"], report.duplicates_removed
(2, 1, 1)
>>> store.positions(mmsi=735057000).collect().height
1
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from seawatch import schema
from seawatch.store import layout
from seawatch.store.dedup import DEFAULT_DEDUP_WINDOW
from seawatch.store.ingest import (
    DEFAULT_MEMORY_LIMIT,
    QUARANTINE_SAMPLE_PER_REASON,
    Batch,
    IngestReport,
    MergeProgress,
    MergeSettings,
)
from seawatch.store.layout import (
    DATA_TABLES,
    FILE_TABLES,
    DataFile,
    Snapshot,
    StoreBusyError,
    StoreError,
)

ProgressCallback = Callable[[str, int, int], None]
"""``on_progress(name, done_bytes, total_bytes)``."""

ErrorCallback = Callable[[Path, Exception], None]
"""``on_error(path, error)``: an input that could not be read; raise to stop the ingest."""

DEFAULT_BATCH_ROWS = 100_000_000
"""An ingest of several inputs commits once this many rows are staged (and at the end)."""

TimeLike = datetime | date | str
"""A time bound: an aware or naive (taken as UTC) datetime, a date (its UTC midnight) or
ISO 8601 text."""

BBox = tuple[float, float, float, float]
"""``(min_lon, min_lat, max_lon, max_lat)`` in degrees, GeoJSON order; ``min_lon > max_lon``
is a box across the antimeridian."""

_IDENTITY_FIELDS = schema.IDENTITY_REPORTED + schema.IDENTITY_DERIVED


class Store:
    """A seawatch store: AIS tables as day-partitioned Parquet in one directory.

    Parameters
    ----------
    path
        The store's directory. A new or empty directory becomes a store when ``create`` is
        True; a non-empty directory that is not a store is refused.
    create
        Create the store when ``path`` holds none (else raise :class:`StoreError`).
    memory_limit
        DuckDB memory limit for the merge at commit (``"4GB"``); larger days spill to disk
        under ``staging/``.
    dedup_window
        Copies of one report received at most this long after the previous copy are
        duplicates (``timedelta`` or seconds; default 30 s, see :mod:`seawatch.store.dedup`).
    threads
        DuckDB threads for the merge (default: all cores).
    quarantine_sample
        Bad lines kept as examples per reason per input (all are counted).
    batch_rows
        An ingest of several inputs stages them all and commits once (each day file is
        rewritten once, not once per input); it commits early when this many rows are
        staged, which bounds the staging disk and the work a crash can lose.

    Notes
    -----
    Opening a store finishes what a killed ingest left: it empties ``staging/`` and deletes
    data files the current snapshot does not list (unless another process is writing). One
    process writes at a time (``StoreBusyError`` otherwise); any number may read. A frame
    returned by a reader scans the files live when it was made: collect it before a later
    ingest in another process replaces them.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        create: bool = True,
        *,
        memory_limit: str = DEFAULT_MEMORY_LIMIT,
        dedup_window: timedelta | float = DEFAULT_DEDUP_WINDOW,
        threads: int | None = None,
        quarantine_sample: int = QUARANTINE_SAMPLE_PER_REASON,
        batch_rows: int = DEFAULT_BATCH_ROWS,
    ) -> None:
        self.path = Path(path).expanduser().absolute()
        if batch_rows < 1:
            raise ValueError(f"batch_rows must be at least 1, got {batch_rows}")
        self.batch_rows = batch_rows
        if not isinstance(dedup_window, timedelta):
            dedup_window = timedelta(seconds=float(dedup_window))
        if dedup_window < timedelta(0):
            raise ValueError(f"dedup_window must not be negative, got {dedup_window}")
        self.settings = MergeSettings(
            dedup_window=dedup_window, memory_limit=memory_limit, threads=threads
        )
        self.quarantine_sample = quarantine_sample
        self.recovered: list[str] = []
        """Paths (relative) that opening deleted as leftovers of an interrupted ingest."""
        self._cache: tuple[str, Snapshot] | None = None
        self._open(create)

    @property
    def dedup_window(self) -> timedelta:
        return self.settings.dedup_window

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    # ------------------------------------------------------------------ open, recover

    def _open(self, create: bool) -> None:
        root = self.path
        if root.exists() and not root.is_dir():
            raise StoreError(f"{root} is a file, not a seawatch store directory")
        marker = root / layout.MARKER
        if marker.is_file():
            self._check_marker(marker)
        elif not create:
            raise StoreError(
                f"no seawatch store at {root} ({layout.MARKER} missing); "
                "open it with create=True to make one"
            )
        elif root.exists() and not _is_blank(root):
            raise StoreError(
                f"{root} is not a seawatch store ({layout.MARKER} missing) and is not empty; "
                "give a new or empty directory"
            )
        else:
            root.mkdir(parents=True, exist_ok=True)
            marker_obj = {"format": layout.FORMAT_NAME, "version": layout.FORMAT_VERSION}
            layout.write_json(marker, marker_obj, root)
        self._recover()

    def _check_marker(self, marker: Path) -> None:
        try:
            obj = layout.read_json(marker)
            fmt, version = obj["format"], int(obj["version"])
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"{marker} is not a valid seawatch store marker: {exc}") from exc
        if fmt != layout.FORMAT_NAME:
            raise StoreError(f"{marker}: format {fmt!r}, expected {layout.FORMAT_NAME!r}")
        if version > layout.FORMAT_VERSION:
            raise StoreError(
                f"{self.path} has store format version {version}; this seawatch reads "
                f"versions up to {layout.FORMAT_VERSION}: upgrade seawatch"
            )

    def _recover(self) -> None:
        """Finish creation, and delete the leftovers of an interrupted ingest."""
        root = self.path
        if not os.access(root, os.W_OK):  # a read-only copy: read it as it is
            return
        with layout.write_lock(root) as held:
            if not held:  # another process is writing: its files are not leftovers
                return
            for sub in (layout.SNAPSHOTS, layout.STAGING):
                (root / sub).mkdir(exist_ok=True)
            if not (root / layout.CURRENT).exists():
                self._initialise()
            snapshot = self._snapshot()
            live = snapshot.live_paths()
            removed: list[str] = []
            for child in (root / layout.STAGING).iterdir():
                removed.append(child.relative_to(root).as_posix())
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
            for table in FILE_TABLES:
                folder = root / table
                if not folder.is_dir():
                    continue
                for dirpath, _dirnames, filenames in os.walk(folder, topdown=False):
                    for filename in filenames:
                        rel = (Path(dirpath) / filename).relative_to(root).as_posix()
                        if rel not in live:
                            (root / rel).unlink()
                            removed.append(rel)
                    if Path(dirpath) != folder:
                        with contextlib.suppress(OSError):
                            os.rmdir(dirpath)  # only succeeds when empty
            for path in root.glob(f".{layout.MARKER}.*.tmp"):
                path.unlink()
                removed.append(path.name)
            current = layout.snapshot_name(snapshot.id)
            for path in (root / layout.SNAPSHOTS).iterdir():
                if path.name != current and (
                    layout.snapshot_id_of(path.name) is not None or path.name.endswith(".tmp")
                ):
                    path.unlink()
                    removed.append(path.relative_to(root).as_posix())
            self.recovered = sorted(removed)

    def _initialise(self) -> None:
        """Write the empty snapshot 0 and point CURRENT at it (creation, or its resumption)."""
        root = self.path
        later = [
            p.name
            for p in (root / layout.SNAPSHOTS).iterdir()
            if (layout.snapshot_id_of(p.name) or 0) > 0
        ]
        if later:
            raise StoreError(
                f"{root} is damaged: {layout.CURRENT} is missing but snapshots {sorted(later)} "
                f"exist; restore {layout.CURRENT} (it holds the name of the newest snapshot)"
            )
        empty = Snapshot.empty()
        empty.created_at = layout.utc_now_iso()
        staging = root / layout.STAGING
        name = layout.snapshot_name(0)
        layout.write_json(root / layout.SNAPSHOTS / name, empty.to_json(), staging)
        layout.atomic_write(root / layout.CURRENT, name.encode() + b"\n", staging)

    def _snapshot(self) -> Snapshot:
        """The current snapshot (re-read when CURRENT has moved on)."""
        root = self.path
        for attempt in range(5):
            try:
                name = (root / layout.CURRENT).read_text(encoding="utf-8").strip()
            except FileNotFoundError as exc:
                raise StoreError(f"{root} is damaged: {layout.CURRENT} is missing") from exc
            if self._cache is not None and self._cache[0] == name:
                return self._cache[1]
            try:
                obj = layout.read_json(root / layout.SNAPSHOTS / name)
            except FileNotFoundError:
                if attempt < 4:  # a writer replaced it between our two reads
                    time.sleep(0.01)
                    continue
                raise StoreError(
                    f"{root} is damaged: {layout.CURRENT} names {name}, which does not exist"
                ) from None
            except ValueError as exc:
                raise StoreError(f"{root}: snapshot {name} is not valid JSON: {exc}") from exc
            snapshot = Snapshot.from_json(obj)
            self._cache = (name, snapshot)
            return snapshot
        raise AssertionError("unreachable")  # pragma: no cover

    @property
    def snapshot_id(self) -> int:
        """Id of the current snapshot (0 for an empty store; one more per ingested input)."""
        return self._snapshot().id

    # ------------------------------------------------------------------ ingest

    def ingest(
        self,
        paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
        *,
        format: str | None = None,
        default_time: datetime | str | None = None,
        on_progress: ProgressCallback | None = None,
        on_error: ErrorCallback | None = None,
        on_merge: MergeProgress | None = None,
        **reader_options: Any,
    ) -> list[IngestReport]:
        """Read input files and add them to the store in one commit.

        Every input is staged (read, split by day, written to ``staging/``), then each day
        they touch is merged once with its live file and one snapshot is swapped in. Inputs
        past ``batch_rows`` staged rows go into a further commit. Each input keeps its own
        manifest entry and counts. An input whose SHA-256 is already in the manifest, or
        earlier in ``paths``, is skipped (its report has ``skipped=True``): ingesting a file
        twice adds nothing.

        Parameters
        ----------
        paths
            One path or several. Each is read with :func:`seawatch.io.iter_input`. All must
            exist (checked before anything is read).
        format, default_time
            Passed to :func:`seawatch.io.iter_input` (``None``: detect the format).
        on_progress
            Called as ``on_progress(name, done_bytes, total_bytes)`` as chunks arrive.
        on_error
            Called as ``on_error(path, error)`` when an input cannot be read; that input is
            left out and the others go on. If it is None, or it raises, the inputs staged
            before the failing one are committed and the error propagates.
        on_merge
            Called as ``on_merge(done, total)`` over the table-days each commit merges.
        **reader_options
            Passed on to the reader (e.g. ``mapping=`` for generic CSV).

        Returns
        -------
        list of IngestReport
            One per input read or skipped, in order (none for an input given to
            ``on_error``).
        """
        import seawatch.io

        if isinstance(paths, str | os.PathLike):
            paths = [paths]
        paths = [Path(raw) for raw in paths]
        for path in paths:
            if not path.is_file():
                raise FileNotFoundError(f"input {path} does not exist or is not a file")

        def inputs() -> Iterable[tuple[Path, str, int, Callable[[], Iterable[Any]]]]:
            for path in paths:
                size = path.stat().st_size
                sha256 = file_sha256(path)
                yield path, sha256, size, (lambda path=path: seawatch.io.iter_input(
                    path, format=format, default_time=default_time, **reader_options
                ))

        return self._ingest_batches(inputs(), on_progress, on_error, on_merge)

    def ingest_results(
        self,
        results: Iterable[Any],
        name: str,
        sha256: str,
        size: int,
        on_progress: ProgressCallback | None = None,
    ) -> IngestReport:
        """Add the ``ReadResult`` chunks of one input to the store in one atomic commit.

        Chunks are written to ``staging/`` as they arrive (memory stays bounded), then each
        touched table-day is merged with its live file in DuckDB (duplicates removed, sorted)
        and a new snapshot is swapped in. A failure, or the process being killed, at any
        point leaves the store as it was before or as it is after the ingest.

        Parameters
        ----------
        results
            ``ReadResult`` chunks of the input (any iterable; consumed once).
        name, sha256, size
            The input's name, the SHA-256 of its bytes (hex), its size in bytes. An input
            whose ``sha256`` is already in the manifest is skipped without reading.
        on_progress
            Called as ``on_progress(name, done_bytes, size)`` after each chunk, ``done_bytes``
            summing the chunks' ``stats["input_bytes"]``.

        Raises
        ------
        StoreBusyError
            Another process is writing the store.
        """
        try:
            (report,) = self._ingest_batches(
                [(Path(name), sha256, size, lambda: results)], on_progress, None, None
            )
        finally:
            close = getattr(results, "close", None)
            if callable(close):
                close()
        return report

    def _ingest_batches(
        self,
        inputs: Iterable[tuple[Path, str, int, Callable[[], Iterable[Any]]]],
        on_progress: ProgressCallback | None,
        on_error: ErrorCallback | None,
        on_merge: MergeProgress | None,
    ) -> list[IngestReport]:
        """Stage ``(path, sha256, size, open_chunks)`` inputs in batches and commit each."""
        with layout.write_lock(self.path) as held:
            if not held:
                raise StoreBusyError(
                    f"{self.path} is being written by another process; retry when it is done"
                )
            self._cache = None
            self._clear_staging()
            reports: list[IngestReport | None] = []
            pending: list[tuple[int, float]] = []  # (report slot, staging seconds)
            batch = Batch(self.path, self.quarantine_sample)

            def flush() -> None:
                nonlocal batch
                if not len(batch):
                    return
                started = time.perf_counter()
                snapshot = batch.commit(self._snapshot(), self.settings, on_merge)
                commit_s = time.perf_counter() - started
                self._cache = (layout.snapshot_name(snapshot.id), snapshot)
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
                batch = Batch(self.path, self.quarantine_sample)

            try:
                for path, sha256, size, open_chunks in inputs:
                    name = path.name
                    if self._snapshot().input_by_sha256(sha256) is not None or batch.has(sha256):
                        reports.append(IngestReport(name, sha256, size, skipped=True))
                        if on_progress is not None:
                            on_progress(name, size, size)
                        continue
                    entry: dict[str, Any] = {
                        "name": name,
                        "sha256": sha256,
                        "size": int(size),
                        "ingested_at": layout.utc_now_iso(),
                    }
                    started = time.perf_counter()
                    try:
                        batch.stage(open_chunks(), entry, on_progress)
                    except Exception as exc:
                        if on_error is None:
                            flush()
                            raise
                        try:
                            on_error(path, exc)
                        except BaseException:
                            flush()
                            raise
                        continue
                    pending.append((len(reports), time.perf_counter() - started))
                    reports.append(None)
                    if batch.rows >= self.batch_rows:
                        flush()
                flush()
            except BaseException:
                batch.discard()
                raise
        return [r for r in reports if r is not None]

    def _clear_staging(self) -> None:
        """Empty ``staging/`` (the caller holds the lock: nothing there is in use)."""
        staging = self.path / layout.STAGING
        staging.mkdir(exist_ok=True)
        for child in staging.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)

    # ------------------------------------------------------------------ read

    def positions(
        self,
        mmsi: int | Iterable[int] | None = None,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        bbox: BBox | None = None,
    ) -> pl.LazyFrame:
        """Positions as a lazy scan of the live files, filters pushed down to the scan.

        Parameters
        ----------
        mmsi
            One MMSI or several.
        start, end
            Keep ``start <= ts < end`` (UTC; naive datetimes are taken as UTC).
        bbox
            ``(min_lon, min_lat, max_lon, max_lat)``; ``min_lon > max_lon`` crosses the
            antimeridian.

        Returns
        -------
        polars.LazyFrame
            Columns and types of :data:`seawatch.schema.POSITIONS`, sorted by
            ``(mmsi, ts)`` within each day.
        """
        return self._read("positions", mmsi, start, end, bbox)

    def vessels(
        self,
        mmsi: int | Iterable[int] | None = None,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
    ) -> pl.LazyFrame:
        """Identity reports (:data:`seawatch.schema.VESSELS`); filters as :meth:`positions`."""
        return self._read("vessels", mmsi, start, end, None)

    def stations(
        self,
        mmsi: int | Iterable[int] | None = None,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        bbox: BBox | None = None,
    ) -> pl.LazyFrame:
        """Base stations and aids to navigation (:data:`seawatch.schema.STATIONS`)."""
        return self._read("stations", mmsi, start, end, bbox)

    def other_messages(
        self,
        mmsi: int | Iterable[int] | None = None,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
    ) -> pl.LazyFrame:
        """Messages kept undecoded (:data:`seawatch.schema.OTHER_MESSAGES`)."""
        return self._read("other_messages", mmsi, start, end, None)

    def quarantine(self) -> pl.LazyFrame:
        """The kept sample of bad lines (:data:`seawatch.schema.QUARANTINE`), all inputs.

        At most ``quarantine_sample`` lines per reason per input; the exact counts are in
        :meth:`inputs` and :meth:`info`.
        """
        files = self._snapshot().table_files(layout.QUARANTINE)
        return self._scan(layout.QUARANTINE, files)

    def inputs(self) -> pl.DataFrame:
        """The manifest: one row per ingested input, in ingest order.

        Columns: ``name``, ``sha256``, ``size``, ``ingested_at``, ``snapshot``, rows read
        per table (``positions``, ``vessels``, ``stations``, ``other_messages``),
        ``rows_added``, ``duplicates``, ``quarantined`` (total) and ``quarantine`` (list of
        ``{reason, count}``).
        """
        entries = self._snapshot().inputs
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

    def info(self) -> dict[str, Any]:
        """A summary of the store.

        Keys: ``path``, ``format_version``, ``snapshot``, ``size_bytes`` (on disk),
        ``days`` (UTC days holding data), ``first_day``, ``last_day``, ``rows`` per table,
        ``vessels`` (distinct MMSIs in positions and vessels), ``first_ts``, ``last_ts``
        (datetimes, None when empty), ``inputs`` (ingested), ``quarantine`` (bad lines per
        reason over all inputs), ``quarantine_sample_rows`` and ``events`` (rows of the
        events table).
        """
        snapshot = self._snapshot()
        data_files = [f for t in DATA_TABLES for f in snapshot.table_files(t)]
        days = sorted({f.day for f in data_files if f.day})
        ts_min = [f.ts_min for f in data_files if f.ts_min]
        ts_max = [f.ts_max for f in data_files if f.ts_max]
        quarantine: Counter[str] = Counter()
        for entry in snapshot.inputs:
            quarantine.update(entry.get("quarantine", {}))
        mmsis = pl.concat([self.positions().select("mmsi"), self.vessels().select("mmsi")]).select(
            pl.col("mmsi").drop_nulls().n_unique()
        )
        size = 0
        for dirpath, dirs, filenames in os.walk(self.path):
            if dirpath == str(self.path) and layout.API_INDEX in dirs:
                dirs.remove(layout.API_INDEX)  # a reader's cache, not the store's data
            for filename in filenames:
                with contextlib.suppress(OSError):
                    size += os.path.getsize(os.path.join(dirpath, filename))
        return {
            "path": str(self.path),
            "format_version": layout.FORMAT_VERSION,
            "snapshot": snapshot.id,
            "size_bytes": size,
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

    def latest_identity(self, mmsi: int | Iterable[int] | None = None) -> pl.DataFrame:
        """One row per MMSI with the latest non-null value of each identity field.

        A class B vessel sends its name (message 24 A) and its call sign, type and size
        (24 B) separately, and a class A vessel may leave fields empty; each field is taken
        from the most recent report that carried it. ``ts`` is the time of the latest
        identity report of the MMSI.

        Returns
        -------
        polars.DataFrame
            ``mmsi``, ``ts``, ``imo``, ``callsign``, ``name``, ``ship_type``, ``length``,
            ``width``, ``draught``, ``destination``, ``flag``, ``ship_type_label``,
            ``mmsi_valid``; sorted by ``mmsi``.
        """
        latest = [pl.col(c).sort_by("ts").drop_nulls().last().alias(c) for c in _IDENTITY_FIELDS]
        return (
            self.vessels(mmsi=mmsi)
            .group_by("mmsi")
            .agg(pl.col("ts").max(), *latest)
            .sort("mmsi")
            .select(["mmsi", "ts", *_IDENTITY_FIELDS])
            .collect()
        )

    # ------------------------------------------------------------------ events

    def write_events(self, events: pl.DataFrame, run_info: dict[str, Any] | None = None) -> int:
        """Replace the whole events table with ``events``, atomically.

        The new table is written beside the old one and made live by swapping ``CURRENT``
        (the ingest protocol, see :mod:`seawatch.store.events`): a reader sees the old
        events or the new ones, never a mix, and writing the same events again gives the
        same table, never duplicates.

        Parameters
        ----------
        events
            Events with the columns of :data:`seawatch.schema.EVENTS` (as the detectors
            return them); conformed, repeated rows dropped, sorted by start.
        run_info
            A JSON-able description of the run (parameters, inputs, timings), kept with the
            table; :meth:`events_info` returns it with ``rows``, ``counts`` per type,
            ``positions_snapshot`` and ``written_at`` added.

        Returns
        -------
        int
            Id of the snapshot that made the events live.

        Raises
        ------
        StoreBusyError
            Another process is writing the store.
        ValueError
            An event type not in :data:`seawatch.schema.EVENT_TYPES`.
        """
        from seawatch.store.events import commit_events

        with layout.write_lock(self.path) as held:
            if not held:
                raise StoreBusyError(
                    f"{self.path} is being written by another process; retry when it is done"
                )
            self._cache = None
            snapshot = commit_events(self.path, self._snapshot(), events, run_info)
            self._cache = (layout.snapshot_name(snapshot.id), snapshot)
        return snapshot.id

    def events(
        self,
        type: str | Iterable[str] | None = None,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        bbox: BBox | None = None,
        mmsi: int | Iterable[int] | None = None,
    ) -> pl.LazyFrame:
        """The events table (:data:`seawatch.schema.EVENTS`), filtered.

        Parameters
        ----------
        type
            One event type or several (``ValueError`` naming the valid ones otherwise).
        start, end
            Keep events overlapping ``[start, end)``: ``event.end >= start`` and
            ``event.start < end`` (UTC; naive times are UTC).
        bbox
            ``(min_lon, min_lat, max_lon, max_lat)`` on the event's ``lat``/``lon``;
            ``min_lon > max_lon`` crosses the antimeridian.
        mmsi
            One MMSI or several; matches ``mmsi`` or ``other_mmsi``.

        Returns
        -------
        polars.LazyFrame
            Empty (with the columns) when detection has not run.
        """
        from seawatch.store.events import event_filters

        predicates = event_filters(
            type,
            _as_utc(start) if start is not None else None,
            _as_utc(end) if end is not None else None,
            mmsi,
        )
        if bbox is not None:
            predicates.append(bbox_filter(bbox))
        return self._scan(layout.EVENTS, self._snapshot().table_files(layout.EVENTS), predicates)

    def events_info(self) -> dict[str, Any] | None:
        """The description of the run that wrote the events, or None before any run.

        Keys: what the run passed to :meth:`write_events`, plus ``rows``, ``counts`` (events
        per type), ``positions_snapshot`` (the snapshot whose positions were read; a later
        ingest makes the events stale) and ``written_at``.
        """
        from seawatch.store.events import read_run_info

        files = self._snapshot().table_files(layout.EVENTS)
        if not files:
            return None
        return read_run_info(self.path / files[0].path)

    def _read(
        self,
        table: str,
        mmsi: int | Iterable[int] | None,
        start: TimeLike | None,
        end: TimeLike | None,
        bbox: BBox | None,
    ) -> pl.LazyFrame:
        lo = _as_utc(start) if start is not None else None
        hi = _as_utc(end) if end is not None else None
        files = self._files(table, lo, hi)
        predicates: list[pl.Expr] = []
        if mmsi is not None:
            if isinstance(mmsi, int):
                predicates.append(pl.col("mmsi") == mmsi)
            else:
                wanted = [int(m) for m in mmsi]
                predicates.append(pl.col("mmsi").is_in(wanted))
        if lo is not None:
            predicates.append(pl.col("ts") >= pl.lit(lo, dtype=schema.TS))
        if hi is not None:
            predicates.append(pl.col("ts") < pl.lit(hi, dtype=schema.TS))
        if bbox is not None:
            predicates.append(bbox_filter(bbox))
        return self._scan(table, files, predicates)

    def _files(
        self, table: str, lo: datetime | None = None, hi: datetime | None = None
    ) -> list[DataFile]:
        """The live files of a table that may hold rows with ``lo <= ts < hi``, in the order
        a scan reads them (the snapshot's)."""
        files = self._snapshot().table_files(table)
        if lo is not None:
            files = [f for f in files if f.ts_max is None or layout.parse_ts(f.ts_max) >= lo]
        if hi is not None:
            files = [f for f in files if f.ts_min is None or layout.parse_ts(f.ts_min) < hi]
        return files

    def _scan(
        self, table: str, files: list[DataFile], predicates: list[pl.Expr] | None = None
    ) -> pl.LazyFrame:
        columns = schema.TABLES[table]
        if not files:
            return schema.empty(columns).lazy()
        frame = pl.scan_parquet(
            [str(self.path / f.path) for f in files], hive_partitioning=False, glob=False
        )
        if predicates:
            frame = frame.filter(*predicates)
        return frame.select([pl.col(c).cast(t) for c, t in columns.items()])


def _is_blank(root: Path) -> bool:
    """True for an empty directory, or one holding only what an interrupted creation left."""
    for child in root.iterdir():
        leftover_temp = child.name.startswith(f".{layout.MARKER}.") and child.name.endswith(".tmp")
        empty_staging = child.name == layout.STAGING and child.is_dir() and not any(child.iterdir())
        if not (leftover_temp or empty_staging):
            return False
    return True


def bbox_filter(bbox: BBox) -> pl.Expr:
    """Rows whose ``lat``/``lon`` lie in the box, edges included (``min_lon > max_lon``: a box
    across the antimeridian). Raises ``ValueError`` when ``min_lat > max_lat``.

    >>> frame = pl.DataFrame({"lat": [0.0, 0.0], "lon": [179.5, 0.0]})
    >>> frame.filter(bbox_filter((179.0, -1.0, -179.0, 1.0)))["lon"].to_list()
    [179.5]
    """
    min_lon, min_lat, max_lon, max_lat = (float(v) for v in bbox)
    if min_lat > max_lat:
        raise ValueError(f"bbox {bbox}: min_lat {min_lat} > max_lat {max_lat}")
    lat = pl.col("lat").is_between(min_lat, max_lat)
    if min_lon <= max_lon:
        lon = pl.col("lon").is_between(min_lon, max_lon)
    else:  # across the antimeridian
        lon = (pl.col("lon") >= min_lon) | (pl.col("lon") <= max_lon)
    return lat & lon


def _as_utc(value: TimeLike) -> datetime:
    """A time bound as an aware UTC datetime."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"time {value!r} is not ISO 8601 (e.g. 2024-01-31T12:00Z)") from exc
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise TypeError(f"expected a datetime, date or ISO 8601 text, got {type(value).__name__}")


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of a file's bytes, read in blocks."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
