"""Compaction: a range of the write-ahead log into the store, through the store's own ingest.

One compaction reads the records between the position last compacted and the end of what
is durable, decodes each feed's lines with the NMEA decoder ``seawatch ingest`` uses
(:class:`seawatch.io.nmea.NmeaDecoder`), and hands the chunks to
:meth:`seawatch.store.Store.ingest_results`: the same staging, duplicate removal, station
clock check, coverage and atomic commit as a file (:mod:`seawatch.store.commit`), each day's
new rows written as a part of the day (:mod:`seawatch.store.parts`) rather than the day
rewritten. The
manifest entry of the commit is named after the range (:func:`entry_name`:
``live:<log id>:<start>-<end>``), so the position compacted is recorded by the commit itself:
after a crash at any point, :func:`compacted_position` reads it back from the store and the
log is replayed from there, and every record reaches the store exactly once. The entry's
SHA-256 is that of the range's bytes, so a range committed twice would be skipped as well.

Receive times: a line's own time (tag block ``c:``, a leading timestamp, a receiver's
trailing epoch field, the ``$PGHP`` line before it) is used as ``seawatch ingest`` uses it;
a line without one takes the time its record was received (a file's would take the time of
the line before), which is appended to each line as a trailing field
(``...*5C,1768478448.123456``), the way receivers log it, before decoding. The decoder reads
a line's first trailing time, so the receiver's own field still wins; a quarantined line's
sample shows the time it arrived.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from seawatch.live.wal import QUARANTINED, START, Position, Record, Wal, unpack_quarantined

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.io.result import ReadResult
    from seawatch.store import Store
    from seawatch.store.parts import PartsPolicy

ENTRY_PREFIX = "live:"
_ENTRY = re.compile(r"live:(?P<wal>[0-9a-f]+):(?P<start>\d+\.\d+)-(?P<end>\d+\.\d+)$")


def entry_name(wal_id: str, start: Position, end: Position) -> str:
    """The manifest name of a compaction of log ``wal_id`` from ``start`` to ``end``.

    >>> entry_name("ab12", Position(1, 16), Position(2, 900))
    'live:ab12:1.16-2.900'
    """
    return f"{ENTRY_PREFIX}{wal_id}:{start}-{end}"


def compacted_ranges(store: Store, wal_id: str) -> list[tuple[Position, Position]]:
    """The ranges of log ``wal_id`` committed to ``store``, in commit order."""
    out = []
    for entry in store.snapshot().inputs:
        m = _ENTRY.match(str(entry.get("name", "")))
        if m is not None and m["wal"] == wal_id:
            out.append((Position.parse(m["start"]), Position.parse(m["end"])))
    return out


def compacted_position(store: Store, wal_id: str) -> Position:
    """Where the records of log ``wal_id`` not yet in ``store`` begin."""
    return max((end for _, end in compacted_ranges(store, wal_id)), default=START)


@dataclass
class Compaction:
    """One compaction: the range, what it held and what the store made of it."""

    start: Position
    end: Position
    records: int = 0
    lines: int = 0
    bytes: int = 0
    feeds: Counter[str] = field(default_factory=Counter)
    """Lines per feed."""
    positions_added: int = 0
    quarantined: dict[str, int] = field(default_factory=dict)
    snapshot: int | None = None
    seconds: float = 0.0
    finished_at: float = 0.0
    first_ts: datetime | None = None
    """The earliest time of the positions decoded (where incremental detection starts over,
    :mod:`seawatch.live.detect`); None when none were."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": str(self.start), "end": str(self.end), "records": self.records,
            "lines": self.lines, "bytes": self.bytes, "feeds": dict(self.feeds),
            "positions_added": self.positions_added, "quarantined": self.quarantined,
            "snapshot": self.snapshot, "seconds": round(self.seconds, 3),
            "finished_at": self.finished_at,
        }


def stamp(record: Record) -> bytes:
    """A record's lines, each ending with its receive time as a trailing field
    (``,<epoch seconds>.<µs>``), CR LF made LF.

    >>> stamp(Record("rx", 1_768_478_448_123_456, 0, b"!AIVDM,1,1,,A,1,0*00\\r\\n"))
    b'!AIVDM,1,1,,A,1,0*00,1768478448.123456\\n'

    The sentence after a ``$PGHP`` line keeps that line's time (as ``seawatch ingest`` reads
    it) and takes no receive time.
    """
    seconds, micros = divmod(record.recv_us, 1_000_000)
    suffix = b",%d.%06d\n" % (seconds, micros)
    data = record.text.replace(b"\r\n", b"\n")
    if b"$PGHP" not in data:
        return data.replace(b"\n", suffix)
    # a Gatehouse $PGHP line stamps the sentence after it, after trailing fields in the
    # decoder's order: that sentence keeps it (a rare format: line by line)
    out = []
    after_pghp = False
    for line in data.split(b"\n")[:-1]:
        out.append(line + (b"\n" if after_pghp else suffix))
        after_pghp = line.lstrip(b" \t\x00").startswith(b"$PGHP")
    return b"".join(out)


def decode_records(records: list[Record], quarantine_sample: int = 1000) -> list[ReadResult]:
    """The chunks of some records, one per feed, decoded as ``seawatch ingest`` decodes a
    file (the feed's name is the ``source`` of lines without a tag-block station)."""
    from seawatch.io.nmea.reader import NmeaDecoder
    from seawatch.io.quarantine import Reason
    from seawatch.io.result import ReadResult

    by_feed: dict[str, list[Record]] = {}
    for record in records:
        by_feed.setdefault(record.feed, []).append(record)
    results = []
    for feed, recs in by_feed.items():
        data = b"".join(stamp(r) for r in recs if r.kind != QUARANTINED)
        # a sentence whose trailing field is out of reach (junk after it on its line, with
        # a '!' or a backslash) takes its neighbours' time; with none, the first receive time
        first = datetime.fromtimestamp(recs[0].recv_us / 1e6, UTC)
        decoder = NmeaDecoder(feed, default_time=first, quarantine_sample=quarantine_sample)
        result = decoder.decode(data, 1, final=True) if data else ReadResult()
        for r in recs:
            if r.kind == QUARANTINED:
                reason, count, sample = unpack_quarantined(r.data)
                label = Reason(reason)
                result.quarantine_log.add(label, feed, 0, sample.decode("utf-8", "replace"))
                result.quarantine_log.add_count(label, count - 1)
        result.stats["input_bytes"] = sum(len(r.data) for r in recs)
        results.append(result)
    return results


def release_memory() -> None:
    """Give the memory the C allocator keeps free back to the system (``malloc_trim``; glibc
    only, elsewhere nothing). A compaction or a detection run allocates and frees hundreds
    of MiB (decoded lines, DuckDB's and Polars' buffers, in threads each with its own heap);
    without this the resident size keeps the highest of those peaks, and more of them as
    threads come and go, so it stays above what the service holds."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name is None:  # pragma: no cover - not a C library that can be loaded
        return
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return
    trim(0)


def compact(store: Store, wal: Wal, start: Position, end: Position,
            quarantine_sample: int = 1000, max_lines: int | None = None,
            parts: PartsPolicy | None = None) -> Compaction | None:
    """Commit the records of ``wal`` after ``start`` up to ``end`` to ``store`` (one
    snapshot); None when there are none. With ``max_lines``, the range stops at the first
    record that reaches it (the compaction's ``end`` says where; memory stays bounded after
    a long time without compaction). The rows are added to each day as a part
    (:mod:`seawatch.store.parts`, ``parts``: the policy of the day's parts, default
    :class:`~seawatch.store.PartsPolicy`), so a compaction's cost follows its own rows, not
    the day. The caller then drops the log's segments before the compaction's ``end``
    (:meth:`Wal.drop_before`)."""
    from seawatch.store.parts import PartsPolicy as Policy

    started = time.perf_counter()
    digest = hashlib.sha256()
    records = []
    out = Compaction(start, start)
    for out.end, record in wal.read(start, end, digest):
        records.append(record)
        out.lines += record.lines
        out.bytes += len(record.data)
        out.feeds[record.feed] += record.lines
        if max_lines is not None and out.lines >= max_lines:
            break
    if not records:
        return None
    out.records = len(records)
    last = out.end
    results = decode_records(records, quarantine_sample)
    firsts = [r.positions["ts"].min() for r in results if r.positions.height]
    out.first_ts = min((t for t in firsts if isinstance(t, datetime)), default=None)
    report = store.ingest_results(iter(results), name=entry_name(wal.id, start, last),
                                  sha256=digest.hexdigest(), size=out.bytes,
                                  parts=parts or Policy())
    out.positions_added = report.rows_added.get("positions", 0)
    out.quarantined = dict(report.quarantine)
    out.snapshot = report.snapshot
    out.seconds = time.perf_counter() - started
    out.finished_at = time.time()
    return out
