"""On-disk layout of a store: names, snapshots, and the durable-write primitives.

A store is a directory::

    seawatch-store.json          format name and version (written once, at creation)
    CURRENT                      name of the current snapshot, e.g. "00000007.json"
    LOCK                         held (flock) by the one process writing the store
    snapshots/00000007.json      the live data files of every table + the input manifest
    positions/day=YYYY-MM-DD/<uuid>.parquet
    vessels/day=YYYY-MM-DD/<uuid>.parquet
    stations/day=YYYY-MM-DD/<uuid>.parquet
    other_messages/day=YYYY-MM-DD/<uuid>.parquet
    quarantine/<uuid>.parquet    bounded sample of bad lines, one file per ingested input
    coverage/day=YYYY-MM-DD/<uuid>.parquet   what each feed heard per hour and grid cell
    coverage_vessels/day=YYYY-MM-DD/<uuid>.parquet   the same per vessel, for a live day
    events/<uuid>.parquet        detected events: the whole table, replaced by each detection run
    clocks/<uuid>.parquet        receiving stations' clock offsets, one file per ingest batch
    staging/                     temporary files of an ingest in progress
    api-index/                   caches of readers (the API's query index); safe to delete

Only the files the current snapshot lists are live; anything else under the table folders is
left over from an interrupted ingest and is deleted when the store is next opened.

Examples
--------
>>> snap = Snapshot.empty()
>>> snap.id, snapshot_name(snap.id)
(0, '00000000.json')
>>> Snapshot.from_json(snap.to_json()) == snap
True
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from seawatch.errors import SeawatchError, Unavailable

FORMAT_NAME = "seawatch-store"
"""Value of ``format`` in the marker file and in every snapshot."""

FORMAT_VERSION = 1
"""Version of the layout this code writes; it opens stores of this version or older."""

MARKER = "seawatch-store.json"
CURRENT = "CURRENT"
LOCK = "LOCK"
SNAPSHOTS = "snapshots"
STAGING = "staging"
QUARANTINE = "quarantine"
EVENTS = "events"
CLOCKS = "clocks"
"""Folder of the stations' clock estimates (:mod:`seawatch.store.clocks`)."""
COVERAGE = "coverage"
"""Folder of the coverage table (:mod:`seawatch.store.coverage`): one file per day of
positions, rewritten with that day."""
COVERAGE_VESSELS = "coverage_vessels"
"""Folder of the per-vessel counts a live day's coverage is made from
(:func:`seawatch.store.coverage.update_day`): one file per day, rewritten with its coverage by
each compaction into the day (a batch ingest of the day drops it)."""
API_INDEX = "api-index"
"""Folder where readers keep caches derived from the live files (the API's query index, see
:mod:`seawatch.store.posindex`): not part of the store's data, not counted in its size, never
touched by ingests; safe to delete."""

DATA_TABLES: tuple[str, ...] = ("positions", "vessels", "stations", "other_messages")
"""Tables partitioned by UTC day, in the order an ingest commits them."""

FILE_TABLES: tuple[str, ...] = (*DATA_TABLES, QUARANTINE, EVENTS, CLOCKS, COVERAGE,
                                 COVERAGE_VESSELS)
"""Every folder of data files a snapshot lists (``events``: one file, see
:mod:`seawatch.store.events`)."""


class StoreError(SeawatchError, RuntimeError):
    """A path is not a usable store (not a store, damaged, newer format, ...)."""


class StoreBusyError(StoreError, Unavailable):
    """Another process is writing the store."""


def snapshot_name(snapshot_id: int) -> str:
    """File name of a snapshot: its id, zero-padded to 8 digits, plus ``.json``."""
    return f"{snapshot_id:08d}.json"


def snapshot_id_of(name: str) -> int | None:
    """Snapshot id of a file name in ``snapshots/``, or None when it is not a snapshot."""
    stem, dot, ext = name.partition(".")
    if dot and ext == "json" and len(stem) == 8 and stem.isdigit():
        return int(stem)
    return None


def utc_now_iso() -> str:
    return format_ts(datetime.now(UTC))


def format_ts(value: datetime) -> str:
    """Fixed-width ISO 8601 UTC text (sorts as text in time order)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@dataclass(frozen=True)
class DataFile:
    """One live Parquet file: path relative to the store root (``/`` separated) and facts
    about it, so that ``info()`` and time pruning need not open it."""

    path: str
    rows: int
    bytes: int
    day: str | None = None  # YYYY-MM-DD; None for quarantine and events files
    ts_min: str | None = None  # fixed-width ISO UTC, see format_ts
    ts_max: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "day": self.day,
            "rows": self.rows,
            "bytes": self.bytes,
            "ts_min": self.ts_min,
            "ts_max": self.ts_max,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> DataFile:
        return cls(
            path=obj["path"],
            rows=int(obj["rows"]),
            bytes=int(obj["bytes"]),
            day=obj.get("day"),
            ts_min=obj.get("ts_min"),
            ts_max=obj.get("ts_max"),
        )


def scan_order(f: DataFile) -> tuple[str, str, str]:
    """The order of a table's files in a snapshot, and so of a read's rows: by day, then (the
    parts of a live day, :mod:`seawatch.store.parts`) by first time, then by path."""
    return (f.day or "", f.ts_min or "", f.path)


@dataclass
class Snapshot:
    """The whole content of a store at one commit: live files per table and the manifest.

    ``inputs`` is the manifest, one dict per ingested input, in ingest order: ``name``,
    ``sha256``, ``size``, ``ingested_at``, ``snapshot`` (the commit that added it),
    ``rows`` / ``added`` / ``duplicates`` per table, ``quarantine`` counts per reason,
    ``stats`` and ``seconds``.
    """

    id: int
    created_at: str
    files: dict[str, list[DataFile]] = field(default_factory=dict)
    inputs: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def empty(cls) -> Snapshot:
        return cls(id=0, created_at="", files={t: [] for t in FILE_TABLES})

    def table_files(self, table: str) -> list[DataFile]:
        return self.files.get(table, [])

    def day_files(self, table: str, day: str) -> list[DataFile]:
        return [f for f in self.table_files(table) if f.day == day]

    def live_paths(self) -> set[str]:
        return {f.path for files in self.files.values() for f in files}

    def input_by_sha256(self, sha256: str) -> dict[str, Any] | None:
        for entry in self.inputs:
            if entry["sha256"] == sha256:
                return entry
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "snapshot": self.id,
            "created_at": self.created_at,
            "tables": {
                t: [f.to_json() for f in sorted(files, key=scan_order)]
                for t, files in self.files.items()
            },
            "inputs": self.inputs,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Snapshot:
        files: dict[str, list[DataFile]] = {t: [] for t in FILE_TABLES}
        for table, entries in obj.get("tables", {}).items():
            files[table] = [DataFile.from_json(e) for e in entries]
        return cls(
            id=int(obj["snapshot"]),
            created_at=obj.get("created_at", ""),
            files=files,
            inputs=list(obj.get("inputs", [])),
        )


def fsync_file(path: Path) -> None:
    """Flush a file's content to stable storage."""
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def fsync_dir(path: Path) -> None:
    """Flush a directory's entries (new, renamed, removed files) to stable storage.

    A no-op where directories cannot be opened (Windows).
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except (PermissionError, IsADirectoryError):  # pragma: no cover - Windows
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(target: Path, data: bytes, temp_dir: Path) -> None:
    """Replace ``target`` with ``data`` so that a reader sees the old or the new content.

    The bytes go to a temporary file in ``temp_dir`` (same file system), are flushed with
    fsync, then ``os.replace`` renames it over ``target`` (atomic on POSIX and Windows) and
    the target's directory is flushed so the rename itself survives a power cut.
    """
    temp_dir.mkdir(parents=True, exist_ok=True)
    temp = temp_dir / f".{target.name}.{uuid.uuid4().hex}.tmp"
    try:
        with open(temp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    fsync_dir(target.parent)


def write_json(target: Path, obj: Any, temp_dir: Path) -> None:
    atomic_write(target, (json.dumps(obj, indent=1) + "\n").encode("utf-8"), temp_dir)


def read_json(path: Path) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


@contextlib.contextmanager
def write_lock(root: Path, *, blocking: bool = False) -> Iterator[bool]:
    """Hold the store's writer lock (``flock`` on ``LOCK``) for the ``with`` block.

    Yields True when the lock is held. With ``blocking=False`` and the lock held by another
    process, yields False. The operating system releases the lock when the process dies, so
    a killed ingest never leaves the store locked. Where ``fcntl`` does not exist (Windows)
    no lock is taken and True is yielded.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield True
        return
    fd = os.open(root / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        flags = fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB
        try:
            fcntl.flock(fd, flags)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
