"""The write-ahead log of ``seawatch live``: what a feed delivered, durable before it is
acknowledged, until it is in the store.

A log is a folder of append-only **segment files** ``<sequence>.wal`` (16 digits), each
started when the one before passed ``segment_bytes``. A segment opens with a 16-byte header
(:data:`MAGIC`, then its sequence number as a little-endian u64) followed by records::

    u32 length  |  u32 crc32(length field + body)  |  body (length bytes)
    body = i64 receive time (µs since the epoch) | u8 kind | u16 n | feed name (n bytes, UTF-8)
           | data

``kind`` :data:`LINES`: ``data`` is whole lines as the feed sent them, each ending in
``\\n``. ``kind`` :data:`QUARANTINED`: the feed itself refused something (a line longer than
any NMEA line, a line cut by a broken connection); ``data`` is ``u8 reason`` (a
:class:`seawatch.io.quarantine.Reason`) ``| u32 count | sample``. ``kind``
:data:`SEQUENCED`: one message of a broker (a NATS JetStream message): ``data`` is ``u64
stream sequence | u64 stream epoch | lines`` (the epoch tells a stream made anew, whose
sequences restart); the lines are read as those of a :data:`LINES` record
(:attr:`Record.text`), the sequence lets the feed skip the message when the broker delivers
it again (:mod:`seawatch.live.nats`). The CRC covers the length too, so a zero-filled tail
(a file extended but never written) is no record.

A **position** is a segment and a byte offset in it: the end of a record. Opening a log
recovers it: the records of each segment are checked in order, and the first one that is cut
short or fails its CRC ends the segment -- the torn tail of a write that a crash interrupted
is truncated there (in an older segment, which no crash can tear, the cut bytes are kept
beside it as ``<segment>.corrupt`` for a person to look at). See docs/live.md.

Examples
--------
>>> import tempfile
>>> wal = Wal(Path(tempfile.mkdtemp()))
>>> end = wal.append([Record("rx1", 1_700_000_000_000_000, LINES, b"!AIVDM,...\\n")])
>>> wal.sync()
>>> [(r.feed, r.data) for _, r in wal.read(Position(0, 0), end)]
[('rx1', b'!AIVDM,...\\n')]
"""

from __future__ import annotations

import hashlib
import logging
import os
import struct
import uuid
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from seawatch.store import layout

log = logging.getLogger(__name__)

MAGIC = b"SWWAL\x00\x01\n"
"""First 8 bytes of every segment: the format (seawatch WAL, version 1)."""
HEADER = struct.Struct("<8sQ")
FRAME = struct.Struct("<II")
BODY = struct.Struct("<qBH")
QUARANTINE_DATA = struct.Struct("<BI")

LINES = 0
"""Record kind: whole lines of a feed."""
QUARANTINED = 1
"""Record kind: something the feed refused before logging (reason, count, sample)."""
SEQUENCED = 2
"""Record kind: a broker's message (its stream sequence and epoch, then whole lines)."""
SEQUENCE = struct.Struct("<QQ")

MAX_BODY = 64 * 2**20
"""Largest record body: a length above it is no record (a corrupt length field)."""

SUFFIX = ".wal"
ID_FILE = "WAL-ID"


@dataclass(frozen=True, order=True)
class Position:
    """A place in a log: the byte ``offset`` in segment ``segment`` (the end of a record).

    >>> str(Position(3, 1024)), Position.parse("3.1024") == Position(3, 1024)
    ('3.1024', True)
    """

    segment: int
    offset: int

    def __str__(self) -> str:
        return f"{self.segment}.{self.offset}"

    @classmethod
    def parse(cls, text: str) -> Position:
        segment, offset = text.split(".")
        return cls(int(segment), int(offset))


START = Position(0, 0)
"""Before every record of every log."""


@dataclass(frozen=True)
class Record:
    """What one read of a feed delivered: its ``feed``, when (``recv_us``), ``kind``, ``data``."""

    feed: str
    recv_us: int
    kind: int
    data: bytes

    def encode(self) -> bytes:
        name = self.feed.encode("utf-8")
        body = BODY.pack(self.recv_us, self.kind, len(name)) + name + self.data
        length = struct.pack("<I", len(body))
        return length + struct.pack("<I", zlib.crc32(body, zlib.crc32(length))) + body

    @property
    def text(self) -> bytes:
        """The lines of a :data:`LINES` or :data:`SEQUENCED` record (else empty)."""
        if self.kind == LINES:
            return self.data
        if self.kind == SEQUENCED:
            return self.data[SEQUENCE.size:]
        return b""

    @property
    def lines(self) -> int:
        return self.text.count(b"\n")

    @property
    def sequence(self) -> tuple[int, int] | None:
        """``(stream sequence, stream epoch)`` of a :data:`SEQUENCED` record (else None)."""
        if self.kind != SEQUENCED:
            return None
        seq, epoch = SEQUENCE.unpack_from(self.data)
        return int(seq), int(epoch)


def sequenced(feed: str, recv_us: int, sequence: int, epoch: int, lines: bytes) -> Record:
    """A :data:`SEQUENCED` record: message ``sequence`` of a broker's stream (``epoch``: the
    stream's creation, e.g. in µs since the epoch), its ``lines``.

    >>> r = sequenced("ais", 1, 42, 7, b"!AIVDM,...\\n")
    >>> r.sequence, r.text, r.lines
    ((42, 7), b'!AIVDM,...\\n', 1)
    """
    return Record(feed, recv_us, SEQUENCED, SEQUENCE.pack(sequence, epoch) + lines)


def quarantined(feed: str, recv_us: int, reason: int, count: int, sample: bytes) -> Record:
    """A :data:`QUARANTINED` record: ``count`` items refused for ``reason``, one ``sample``."""
    return Record(feed, recv_us, QUARANTINED, QUARANTINE_DATA.pack(reason, count) + sample)


def unpack_quarantined(data: bytes) -> tuple[int, int, bytes]:
    """``(reason, count, sample)`` of a :data:`QUARANTINED` record's data."""
    reason, count = QUARANTINE_DATA.unpack_from(data)
    return reason, count, data[QUARANTINE_DATA.size:]


def scan(buf: bytes | memoryview, offset: int, end: int) -> Iterator[tuple[int, Record]]:
    """The records of ``buf[offset:end]`` as ``(end offset, record)``, up to the first that is
    cut short or fails its check (the caller compares the last end with ``end``)."""
    view = memoryview(buf)
    while offset + FRAME.size <= end:
        length, crc = FRAME.unpack_from(view, offset)
        stop = offset + FRAME.size + length
        if length < BODY.size or length > MAX_BODY or stop > end:
            return
        body = view[offset + FRAME.size : stop]
        if zlib.crc32(body, zlib.crc32(view[offset : offset + 4])) != crc:
            return
        recv_us, kind, n = BODY.unpack_from(body)
        if BODY.size + n > length:
            return
        name = bytes(body[BODY.size : BODY.size + n]).decode("utf-8", "replace")
        yield stop, Record(name, recv_us, kind, bytes(body[BODY.size + n :]))
        offset = stop


def segment_numbers(folder: Path) -> list[int]:
    """Sequence numbers of the segments of the log in ``folder``, oldest first."""
    out = []
    for path in folder.glob(f"*{SUFFIX}"):
        stem = path.name[: -len(SUFFIX)]
        if stem.isdigit():
            out.append(int(stem))
    return sorted(out)


def read_log(folder: Path, start: Position, end: Position,
             digest: hashlib._Hash | None = None) -> Iterator[tuple[Position, Record]]:
    """The records of the log in ``folder`` after ``start`` up to ``end``, as ``(end
    position, record)``, without opening it as a :class:`Wal` (which recovers, so writes): what
    another process reads of a log being written (up to a position already written). A segment
    deleted meanwhile (:meth:`Wal.drop_before`) is skipped."""
    for seq in segment_numbers(folder):
        if seq < start.segment or seq > end.segment:
            continue
        base = max(HEADER.size, start.offset if seq == start.segment else 0)
        try:
            with open(folder / f"{seq:016d}{SUFFIX}", "rb") as fh:  # only the bytes of the range
                fh.seek(base)
                data = fh.read() if seq < end.segment else fh.read(max(end.offset - base, 0))
        except FileNotFoundError:
            continue
        done = 0
        for stop, record in scan(data, 0, len(data)):
            if digest is not None:
                digest.update(memoryview(data)[done:stop])
            done = stop
            yield Position(seq, base + stop), record


@dataclass
class Recovery:
    """What opening a log found: segments, records, and bytes cut (torn tails)."""

    segments: int = 0
    records: int = 0
    torn_bytes: int = 0
    corrupt: list[str] = field(default_factory=list)


class Wal:
    """A write-ahead log in ``folder`` (created if absent), recovered on opening.

    Parameters
    ----------
    folder
        The log's folder; it holds nothing else but its id (``WAL-ID``).
    segment_bytes
        Size past which the next append starts a new segment.
    fsync
        Whether :meth:`sync` flushes to stable storage (else it does nothing: the bytes are
        with the operating system once :meth:`append` returns).

    ``id`` is a random name made with the log: a position means something only with it (a
    log deleted and made again starts at segment 1 again).
    """

    def __init__(self, folder: Path, segment_bytes: int = 64 * 2**20, fsync: bool = True):
        self.folder = folder
        self.segment_bytes = max(int(segment_bytes), HEADER.size + 1)
        self.fsync = fsync
        folder.mkdir(parents=True, exist_ok=True)
        id_path = folder / ID_FILE
        if not id_path.is_file():
            layout.atomic_write(id_path, uuid.uuid4().hex.encode() + b"\n", folder)
        self.id = id_path.read_text(encoding="ascii").strip()
        self.recovery = self._recover()
        seqs = self.segments()
        self._fd = -1
        self._dir_dirty = False
        if seqs:
            self._open(seqs[-1])
        else:
            self._new_segment(1)

    # -- segments --------------------------------------------------------------------------
    def segments(self) -> list[int]:
        """Sequence numbers of the segments, oldest first."""
        return segment_numbers(self.folder)

    def path(self, seq: int) -> Path:
        return self.folder / f"{seq:016d}{SUFFIX}"

    def _open(self, seq: int) -> None:
        self.seq = seq
        self._fd = os.open(self.path(seq), os.O_WRONLY | os.O_APPEND)
        self.size = os.fstat(self._fd).st_size

    def _new_segment(self, seq: int) -> None:
        if self._fd >= 0:
            self._sync_fd()
            os.close(self._fd)
        fd = os.open(self.path(seq), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        os.write(fd, HEADER.pack(MAGIC, seq))
        self._fd = fd
        self.seq = seq
        self.size = HEADER.size
        self._dir_dirty = True

    def _recover(self) -> Recovery:
        found = Recovery()
        seqs = self.segments()
        for i, seq in enumerate(seqs):
            path = self.path(seq)
            last = i == len(seqs) - 1
            data = path.read_bytes()
            found.segments += 1
            if len(data) < HEADER.size or HEADER.unpack_from(data)[0] != MAGIC:
                if last and len(data) < HEADER.size and MAGIC.startswith(data[:8]):
                    path.write_bytes(HEADER.pack(MAGIC, seq))  # torn as it was made
                    layout.fsync_file(path)
                    found.torn_bytes += len(data)
                    continue
                path.rename(path.with_suffix(".corrupt"))
                found.corrupt.append(path.name)
                log.warning("write-ahead log %s: %s is not a segment; kept as .corrupt",
                            self.folder, path.name)
                continue
            good = HEADER.size
            for good, _ in scan(data, HEADER.size, len(data)):  # noqa: B007 - the last end
                found.records += 1
            if good < len(data):
                if not last:
                    path.with_name(f"{path.name}.{good}.corrupt").write_bytes(data[good:])
                    found.corrupt.append(path.name)
                    log.warning("write-ahead log %s: %s is damaged after byte %d; the rest "
                                "is kept as .corrupt", self.folder, path.name, good)
                found.torn_bytes += len(data) - good
                with open(path, "r+b") as fh:
                    fh.truncate(good)
                    fh.flush()
                    os.fsync(fh.fileno())
        if found.corrupt or found.torn_bytes:
            layout.fsync_dir(self.folder)
        return found

    # -- writing ---------------------------------------------------------------------------
    @property
    def end(self) -> Position:
        """The position after the last record written."""
        return Position(self.seq, self.size)

    def append(self, records: Sequence[Record]) -> Position:
        """Write ``records`` (one system call) and return the position after them; they are
        durable after :meth:`sync`."""
        if self.size >= self.segment_bytes:
            self._new_segment(self.seq + 1)
        data = b"".join(r.encode() for r in records)
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        self.size += len(data)
        return self.end

    def sync(self) -> None:
        """Make what :meth:`append` wrote durable (see ``fsync``)."""
        self._sync_fd()
        if self._dir_dirty:
            if self.fsync:
                layout.fsync_dir(self.folder)
            self._dir_dirty = False

    def _sync_fd(self) -> None:
        if self.fsync:
            os.fsync(self._fd)

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def close(self) -> None:
        if self._fd >= 0:
            self.sync()
            os.close(self._fd)
            self._fd = -1

    # -- reading and dropping --------------------------------------------------------------
    def read(self, start: Position, end: Position,
             digest: hashlib._Hash | None = None) -> Iterator[tuple[Position, Record]]:
        """The records after ``start`` up to ``end``, as ``(end position, record)``.

        ``digest`` (a hashlib object) is updated with the bytes of the records read, so a
        range of the log has a fingerprint.
        """
        yield from read_log(self.folder, start, end, digest)

    def drop_before(self, position: Position) -> int:
        """Delete the segments every record of which is before ``position`` (never the one
        being written); the number deleted."""
        dropped = 0
        for seq in self.segments():
            if seq >= self.seq:
                break
            if Position(seq + 1, 0) <= position or self._ends_before(seq, position):
                self.path(seq).unlink(missing_ok=True)
                dropped += 1
        if dropped and self.fsync:
            layout.fsync_dir(self.folder)
        return dropped

    def _ends_before(self, seq: int, position: Position) -> bool:
        return seq == position.segment and self.path(seq).stat().st_size <= position.offset

    def bytes_on_disk(self) -> int:
        return sum(self.path(s).stat().st_size for s in self.segments())
