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

Multi-sentence messages across compactions: each feed's lines are decoded as one chunk of a
file that goes on, so the groups still open at the end of a compaction (a message whose
fragments came interleaved with other lines, the rest not yet received) are not
quarantined but **carried** (:class:`Carry`) to the next compaction's decoder of the feed,
which assembles them with their rest as ``seawatch ingest`` of the feed's lines would (a
group is quarantined as ``incomplete_group`` once the decoder's window of sentences of its
feed passes without its rest, as in a file). The carry of each compaction is written to
``<live>/carry/<log id>-<end>.npz`` (atomically) *before* its commit: after a crash the carry of the
position the store has is read back (:func:`load_carry`), and the one of a range that was
not committed is never used.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seawatch.live.wal import QUARANTINED, START, Position, Record, Wal, unpack_quarantined

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.io.nmea.reader import OpenGroups
    from seawatch.io.result import ReadResult
    from seawatch.store import Store
    from seawatch.store.parts import PartsPolicy

CARRY_FOLDER = "carry"
"""Folder of the live folder holding the open groups carried between compactions."""

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
    carry: Carry | None = None
    """The groups left open at ``end``, carried to the next compaction (when carried)."""

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


@dataclass
class FeedCarry:
    """The open groups of one feed at the end of a compaction, and the number its next
    line takes (a feed's lines are numbered on across compactions while it has groups
    open, as a file's)."""

    groups: OpenGroups
    next_line: int


Carry = dict[str, FeedCarry]
"""Per feed, the groups still open at the end of a compaction (feeds without: absent)."""


def carry_path(folder: Path, wal_id: str, position: Position) -> Path:
    """The file of the carry at ``position`` of log ``wal_id`` (the end of the compaction
    that left it)."""
    return folder / f"{wal_id}-{position}.npz"


def save_carry(folder: Path, wal_id: str, position: Position, carry: Carry) -> None:
    """Write the carry at ``position`` (atomically, fsynced); none: remove its file."""
    import numpy as np

    from seawatch.io.nmea.assembly import AssemblyState
    from seawatch.store import layout

    path = carry_path(folder, wal_id, position)
    if not carry:
        path.unlink(missing_ok=True)
        return
    arrays: dict[str, Any] = {}
    feeds = []
    for i, (feed, c) in enumerate(sorted(carry.items())):
        for name, array in zip(AssemblyState.NAMES, c.groups.state.arrays(), strict=True):
            arrays[f"{i}.{name}"] = array
        feeds.append({"feed": feed, "next_line": c.next_line,
                      "sources": {str(k): v for k, v in c.groups.sources.items()},
                      "raw": {str(k): v for k, v in c.groups.raw.items()}})
    arrays["meta"] = np.frombuffer(json.dumps({"feeds": feeds}).encode(), np.uint8)
    out = io.BytesIO()
    np.savez_compressed(out, **arrays)
    layout.atomic_write(path, out.getvalue(), folder)


def load_carry(folder: Path, wal_id: str, position: Position) -> Carry:
    """The carry at ``position`` of log ``wal_id`` (empty when none was left there)."""
    import numpy as np

    from seawatch.io.nmea.assembly import AssemblyState
    from seawatch.io.nmea.reader import OpenGroups

    path = carry_path(folder, wal_id, position)
    if not path.is_file():
        return {}
    with np.load(path) as data:
        meta = json.loads(bytes(data["meta"]).decode())
        out: Carry = {}
        for i, f in enumerate(meta["feeds"]):
            state = AssemblyState()
            for name in AssemblyState.NAMES:
                setattr(state, name, data[f"{i}.{name}"].copy())
            groups = OpenGroups(state, {int(k): v for k, v in f["sources"].items()},
                                {int(k): v for k, v in f["raw"].items()})
            out[f["feed"]] = FeedCarry(groups, int(f["next_line"]))
    return out


def prune_carry(folder: Path, wal_id: str, keep: Position) -> None:
    """Remove the carries other than the one at ``keep`` of log ``wal_id`` (older
    compactions, ranges a crash left uncommitted, another log's)."""
    if not folder.is_dir():
        return
    for path in folder.glob("*.npz"):
        if path.name != carry_path(folder, wal_id, keep).name:
            path.unlink(missing_ok=True)


def decode_records(records: list[Record], quarantine_sample: int = 1000,
                   carry: Carry | None = None) -> list[ReadResult]:
    """The chunks of some records, one per feed, decoded as ``seawatch ingest`` decodes a
    file (the feed's name is the ``source`` of lines without a tag-block station).

    With ``carry`` (updated in place), each feed's lines are a chunk of a file that goes
    on: the decoder starts from the groups the feed left open before, and those open at
    the end are carried on instead of quarantined (module docstring). Without it, the
    records end the input, as a file ends.
    """
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
        before = None if carry is None else carry.get(feed)
        line = 1
        if before is not None:
            decoder.resume(before.groups)
            line = before.next_line
        if not data:
            result = ReadResult()
        elif carry is None:
            result = decoder.decode(data, line, final=True)
        else:
            result = decoder.decode(data, line, final=False)
            line += int(result.stats["lines"])
            if decoder.holding:  # no time in these lines at all: they end here (and the
                # groups open with them), each sentence at the default time, as in a file
                result = ReadResult.concat([result, decoder.decode(b"", line, final=True)])
            groups = decoder.open_groups()
            if groups is None:
                carry.pop(feed, None)
            else:
                carry[feed] = FeedCarry(groups, line)
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
            carry: Carry | None = None, carry_dir: Path | None = None,
            parts: PartsPolicy | None = None) -> Compaction | None:
    """Commit the records of ``wal`` after ``start`` up to ``end`` to ``store`` (one
    snapshot); None when there are none. With ``max_lines``, the range stops at the first
    record that reaches it (the compaction's ``end`` says where; memory stays bounded after
    a long time without compaction). The rows are added to each day as a part
    (:mod:`seawatch.store.parts`, ``parts``: the policy of the day's parts, default
    :class:`~seawatch.store.PartsPolicy`), so a compaction's cost follows its own rows, not
    the day. The caller then drops the log's segments before the compaction's ``end``
    (:meth:`Wal.drop_before`).

    With ``carry`` (the groups left open at ``start``; not changed) and ``carry_dir``, the
    groups open at the end are carried (module docstring): written to ``carry_dir`` before
    the commit and returned as the compaction's ``carry``. Without, the range ends every
    group (quarantined when incomplete)."""
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
    after = None if carry is None else dict(carry)
    results = decode_records(records, quarantine_sample, after)
    if after is not None and carry_dir is not None:
        save_carry(carry_dir, wal.id, last, after)  # before the commit: its position's carry
        out.carry = after
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
