"""``Store``: the embedded default storage, a directory of day-partitioned Parquet files.

This module is the front door; each concern has its own module beside it:

- :mod:`~seawatch.store.layout`: the files of a store, snapshots, durable writes, the lock;
- :mod:`~seawatch.store.opening`: creating, checking and recovering a store, reading
  ``CURRENT``;
- :mod:`~seawatch.store.commit`: the one crash-safe commit (new files, snapshot, swap);
- :mod:`~seawatch.store.ingest` and :mod:`~seawatch.store.dedup`: staging inputs, merging
  days without duplicates;
- :mod:`~seawatch.store.read`: scans of the live files with pruning and filters;
- :mod:`~seawatch.store.summary`: the manifest, ``info()``, the latest identities;
- :mod:`~seawatch.store.events`: the events table written by detection;
- :mod:`~seawatch.store.coverage`: what each feed heard per hour and grid cell, its outages;
- :mod:`~seawatch.store.posindex`: the positions query index readers build beside the data.

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
import os
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from seawatch.errors import InvalidValue
from seawatch.store import layout, read, summary
from seawatch.store.clocks import ClockSettings
from seawatch.store.dedup import DEFAULT_DEDUP_WINDOW, LATE_COPIES, LateCopies
from seawatch.store.ingest import (
    DEFAULT_BATCH_ROWS,
    QUARANTINE_SAMPLE_PER_REASON,
    ErrorCallback,
    IngestReport,
    Input,
    MergeProgress,
    MergeSettings,
    ProgressCallback,
    file_sha256,
    ingest_inputs,
    merge_settings,
)
from seawatch.store.layout import DataFile, Snapshot, StoreBusyError
from seawatch.store.opening import CurrentSnapshot, open_store
from seawatch.store.parts import PartsPolicy
from seawatch.store.read import TimeLike
from seawatch.units import BBox


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
        DuckDB memory limit for the merge at commit (``"4GB"``, ``"512MiB"`` or bytes);
        default: a quarter of the machine's memory, at most 4 GB. A merge that needs more
        spills to disk under ``staging/``.
    dedup_window
        Copies of one report received at most this long after the previous copy are
        duplicates (``timedelta`` or seconds; default 30 s, see :mod:`seawatch.store.dedup`).
    late_copies
        How a moving vessel's copies received later than ``dedup_window`` are recognised
        (:class:`~seawatch.store.dedup.LateCopies`: default up to 10 min late, the vessel
        having moved 100 m by its reported speed); ``LateCopies(window=timedelta(0))`` turns
        the rule off.
    clock_settings
        The thresholds of the receiving stations' clock check
        (:class:`~seawatch.store.clocks.ClockSettings`; default its module constants). Its
        ``window`` is replaced by ``dedup_window``.
    threads
        DuckDB threads for the merge (default: all cores).
    quarantine_sample
        Bad lines kept as examples per reason per input (all are counted).
    batch_rows
        An ingest of several inputs stages them all and commits once (each day file is
        rewritten once, not once per input); it commits early when this many rows are
        staged, which bounds the staging disk and the work a crash can lose.
    merge_rows
        The most rows of one day merged at once: a bigger day (its live rows and the staged
        ones) is merged in MMSI ranges of at most this many rows, one after another, into the
        same day file, so the merge's memory depends neither on the day's size nor on the
        number of inputs. Default: the memory limit over 500 bytes a row (8 M rows at 4 GB).

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
        memory_limit: str | int | None = None,
        dedup_window: timedelta | float = DEFAULT_DEDUP_WINDOW,
        threads: int | None = None,
        quarantine_sample: int = QUARANTINE_SAMPLE_PER_REASON,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        merge_rows: int | None = None,
        late_copies: LateCopies = LATE_COPIES,
        clock_settings: ClockSettings | None = None,
    ) -> None:
        self.path = Path(path).expanduser().absolute()
        if batch_rows < 1:
            raise InvalidValue(f"batch_rows must be at least 1, got {batch_rows}")
        self.batch_rows = batch_rows
        if not isinstance(dedup_window, timedelta):
            dedup_window = timedelta(seconds=float(dedup_window))
        self.settings: MergeSettings = merge_settings(
            dedup_window, memory_limit, threads, merge_rows, late_copies, clock_settings
        )
        self.quarantine_sample = quarantine_sample
        self._current = CurrentSnapshot(self.path)
        self.recovered: list[str] = open_store(self.path, create, self._current)
        """Paths (relative) that opening deleted as leftovers of an interrupted ingest."""

    @property
    def dedup_window(self) -> timedelta:
        return self.settings.dedup_window

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    # ------------------------------------------------------------------ snapshot

    def snapshot(self) -> Snapshot:
        """The current snapshot: every live file of every table and the manifest (read
        again only when another commit has moved ``CURRENT`` on)."""
        return self._current.get()

    @property
    def snapshot_id(self) -> int:
        """Id of the current snapshot (0 for an empty store; one more per ingested input)."""
        return self.snapshot().id

    def files(
        self, table: str, start: TimeLike | None = None, end: TimeLike | None = None
    ) -> list[DataFile]:
        """The live files of ``table`` that may hold rows with ``start <= ts < end`` (from
        the time ranges the snapshot lists), in the order a scan reads them."""
        return read.prune(self.snapshot().table_files(table), *read.bounds(start, end))

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Hold the write lock for the block (the snapshot is read afresh under it)."""
        with layout.write_lock(self.path) as held:
            if not held:
                raise StoreBusyError(
                    f"{self.path} is being written by another process; retry when it is done"
                )
            self._current.forget()
            yield

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

        files = [Path(paths)] if isinstance(paths, str | os.PathLike) else [Path(p) for p in paths]
        for path in files:
            if not path.is_file():
                raise FileNotFoundError(f"input {path} does not exist or is not a file")

        def chunks(path: Path) -> Callable[[], Iterable[Any]]:
            return lambda: seawatch.io.iter_input(
                path, format=format, default_time=default_time, **reader_options
            )

        inputs = (
            Input(path, file_sha256(path), path.stat().st_size, chunks(path)) for path in files
        )
        return self._ingest(inputs, on_progress, on_error, on_merge)

    def ingest_results(
        self,
        results: Iterable[Any],
        name: str,
        sha256: str,
        size: int,
        on_progress: ProgressCallback | None = None,
        parts: PartsPolicy | None = None,
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
        parts
            Add the rows to each day as a new part file instead of merging the day into one
            (:mod:`seawatch.store.parts`: a live compaction's cost then follows the rows it
            adds, not the day), the day's parts kept by this policy.

        Raises
        ------
        StoreBusyError
            Another process is writing the store.
        """
        try:
            (report,) = self._ingest(
                [Input(Path(name), sha256, size, lambda: results)], on_progress, None, None,
                parts,
            )
        finally:
            close = getattr(results, "close", None)
            if callable(close):
                close()
        return report

    def _ingest(
        self,
        inputs: Iterable[Input],
        on_progress: ProgressCallback | None,
        on_error: ErrorCallback | None,
        on_merge: MergeProgress | None,
        parts: PartsPolicy | None = None,
    ) -> list[IngestReport]:
        with self._writing():
            return ingest_inputs(
                self.path, self._current, inputs, self.settings,
                sample_per_reason=self.quarantine_sample, batch_rows=self.batch_rows,
                on_progress=on_progress, on_error=on_error, on_merge=on_merge, parts=parts,
            )

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
        files = self.snapshot().table_files(layout.QUARANTINE)
        return read.scan(self.path, layout.QUARANTINE, files)

    def _read(
        self,
        table: str,
        mmsi: int | Iterable[int] | None,
        start: TimeLike | None,
        end: TimeLike | None,
        bbox: BBox | None,
    ) -> pl.LazyFrame:
        lo, hi = read.bounds(start, end)
        files = read.prune(self.snapshot().table_files(table), lo, hi)
        return read.scan(self.path, table, files, read.row_filters(mmsi, lo, hi, bbox))

    # ------------------------------------------------------------------ summary

    def inputs(self) -> pl.DataFrame:
        """The manifest: one row per ingested input, in ingest order.

        Columns: ``name``, ``sha256``, ``size``, ``ingested_at``, ``snapshot``, rows read
        per table (``positions``, ``vessels``, ``stations``, ``other_messages``),
        ``rows_added``, ``duplicates``, ``quarantined`` (total) and ``quarantine`` (list of
        ``{reason, count}``).
        """
        return summary.inputs_frame(self.snapshot())

    def info(self) -> dict[str, Any]:
        """A summary of the store.

        Keys: ``path``, ``format_version``, ``snapshot``, ``size_bytes`` (on disk),
        ``days`` (UTC days holding data), ``first_day``, ``last_day``, ``rows`` per table,
        ``vessels`` (distinct MMSIs in positions and vessels), ``first_ts``, ``last_ts``
        (datetimes, None when empty), ``inputs`` (ingested), ``quarantine`` (bad lines per
        reason over all inputs), ``quarantine_sample_rows`` and ``events`` (rows of the
        events table).
        """
        return summary.info(self)

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
        return summary.latest_identity(self.vessels(mmsi=mmsi))

    def coverage(
        self, start: TimeLike | None = None, end: TimeLike | None = None
    ) -> pl.DataFrame:
        """What each feed (receiving station, or input without one) heard per UTC hour and
        grid cell, for hours in ``[start, end)`` (:data:`seawatch.schema.COVERAGE`; see
        :mod:`seawatch.store.coverage`). Recorded at ingest; days ingested before the store
        recorded it are computed from their positions."""
        from seawatch.store.coverage import read_coverage

        return read_coverage(self.path, self.snapshot(), *read.bounds(start, end))

    def outages(self, min_hours: int | None = None) -> pl.DataFrame:
        """The coverage outages of the store, once each: a feed silent between two of its
        deliveries, or no feed at all between two captures (see
        :func:`seawatch.store.coverage.outages`; ``min_hours`` default
        :data:`~seawatch.store.coverage.MIN_OUTAGE_H`)."""
        from seawatch.store.coverage import MIN_OUTAGE_H, outages

        return outages(self.coverage(), MIN_OUTAGE_H if min_hours is None else min_hours)

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

        with self._writing():
            snapshot = commit_events(self.path, self.snapshot(), events, run_info)
            self._current.set(snapshot)
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

        predicates = event_filters(type, *read.bounds(start, end), mmsi)
        if bbox is not None:
            predicates.append(read.bbox_filter(bbox))
        files = self.snapshot().table_files(layout.EVENTS)
        return read.scan(self.path, layout.EVENTS, files, predicates)

    def events_info(self) -> dict[str, Any] | None:
        """The description of the run that wrote the events, or None before any run.

        Keys: what the run passed to :meth:`write_events`, plus ``rows``, ``counts`` (events
        per type), ``positions_snapshot`` (the snapshot whose positions were read; a later
        ingest makes the events stale) and ``written_at``.
        """
        from seawatch.store.events import read_run_info

        files = self.snapshot().table_files(layout.EVENTS)
        if not files:
            return None
        return read_run_info(self.path / files[0].path)
