"""Open input files, plain or compressed, and read them as chunks of whole lines.

Every reader opens its files with :func:`open_binary`. Compression is recognised by the
file's magic bytes (gzip, bzip2, zstandard, single-file zip), not its name, so a mislabelled
file still reads. Chunks end at a line break, so no line is ever split between
two chunks, and memory stays bounded by the chunk size whatever the file size.

A file that breaks off part-way (a truncated download, a log rotated mid-write, a corrupt
block) keeps what was read before the break: reading stops there, the unfinished last line
is dropped, and the final chunk says why (``Chunk.error``), which the readers quarantine as
``truncated``. Only a file of which nothing at all can be read is an :class:`InputError`.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from seawatch import errors

DEFAULT_CHUNK_BYTES = 32 * 1024 * 1024
SALVAGE_PIECE_BYTES = 8 * 1024 * 1024
"""Reads go in pieces of at most this size, each with ``read1`` where the stream has it (one
read of the underlying data), so text decoded before a break is returned, not lost with the
failing call."""

_MAGIC = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bzip2",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"PK\x03\x04": "zip",
}


def compression_of(head: bytes) -> str | None:
    """'gzip', 'bzip2', 'zstd', 'zip' or None (plain), from a file's first (4) bytes.

    >>> compression_of(gzip.compress(b"x")), compression_of(b"!AIVDM,1,1")
    ('gzip', None)
    """
    for magic, name in _MAGIC.items():
        if head.startswith(magic):
            return name
    return None


@contextlib.contextmanager
def open_binary(path: str | Path) -> Iterator[tuple[BinaryIO, BinaryIO]]:
    """Open ``path`` to read its bytes decompressed; yields ``(stream, raw)``.

    The compression is recognised by the file's first bytes, not its name: gzip, bzip2,
    zstandard (frames read one after the other) and zip (an archive of exactly one file,
    which is read). ``raw`` is the file on disk, whose position shows how far reading has
    gone. Both are closed when the ``with`` block ends.

    Raises
    ------
    InputError
        A zip archive that is damaged or does not hold exactly one file.

    Examples
    --------
    >>> import tempfile, zipfile
    >>> path = Path(tempfile.mkdtemp()) / "one.csv.zip"
    >>> with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
    ...     archive.writestr("one.csv", "mmsi,ts,lat,lon\\n")
    >>> with open_binary(path) as (stream, raw):
    ...     stream.read()
    b'mmsi,ts,lat,lon\\n'
    """
    with contextlib.ExitStack() as stack:
        raw = stack.enter_context(open(path, "rb"))
        kind = compression_of(raw.read(4))
        raw.seek(0)
        stream: BinaryIO
        if kind == "gzip":
            stream = cast(BinaryIO, stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb")))
        elif kind == "bzip2":
            stream = cast(BinaryIO, stack.enter_context(bz2.BZ2File(raw, mode="rb")))
        elif kind == "zstd":
            import zstandard

            reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
            stream = cast(BinaryIO, stack.enter_context(reader))
        elif kind == "zip":
            stream = _zip_member(Path(path), raw, stack)
        else:
            stream = raw
        yield stream, raw


def _zip_member(path: Path, raw: BinaryIO, stack: contextlib.ExitStack) -> BinaryIO:
    """The one file of the zip archive ``raw``, opened for reading."""
    try:
        archive = stack.enter_context(zipfile.ZipFile(raw))
        members = [m for m in archive.namelist() if not m.endswith("/")]
        if len(members) != 1:
            raise InputError(
                f"{path}: a zip archive must hold exactly one file; found {members}. "
                "Extract the file to read and pass its path."
            )
        return cast(BinaryIO, stack.enter_context(archive.open(members[0])))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError) as exc:
        raise InputError(f"{path}: cannot read ({type(exc).__name__}: {exc})") from exc


@dataclass
class Chunk:
    """Whole lines of a file: ``data``, with how much of the raw file has been read so far."""

    data: bytes
    first_line_no: int  # 1-based line number of the chunk's first line
    raw_bytes_done: int  # bytes of the (compressed) file consumed up to the end of this chunk
    raw_bytes_total: int
    final: bool
    error: str | None = None  # (final chunk) why the file could not be read to its end
    cut_bytes: int = 0  # (final chunk, with error) bytes of the unfinished line dropped


MAX_LINE_BYTES = 1024 * 1024
"""A line longer than this is cut here (and later quarantined as too long) to bound memory."""


def iter_chunks(path: str | Path, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[Chunk]:
    """Read ``path`` (plain or compressed) as chunks of whole lines of about ``chunk_bytes``."""
    total = os.path.getsize(path)
    with open_binary(path) as (stream, raw):
        try:
            yield from _iter_stream(stream, raw, total, chunk_bytes)
        except InputError as exc:
            raise InputError(f"{path}: {exc}") from exc
        except (OSError, EOFError, ValueError) as exc:
            raise InputError(f"{path}: cannot read ({type(exc).__name__}: {exc})") from exc


def iter_bytes_chunks(data: bytes, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[Chunk]:
    """Chunks of an in-memory byte string (for decoding lines that are not in a file)."""
    with io.BytesIO(data) as f:
        yield from _iter_stream(f, f, len(data), chunk_bytes)


def read_salvaging(stream: BinaryIO, size: int) -> tuple[bytes, str | None]:
    """Up to ``size`` bytes of ``stream`` (fewer at its end) and, when reading broke off,
    why: the bytes read before the break are returned with the error's text.

    >>> import gzip, io
    >>> data = gzip.compress(b"line one\\n" * 1000)
    >>> text, error = read_salvaging(gzip.GzipFile(fileobj=io.BytesIO(data[:40])), 10**6)
    >>> error
    'EOFError: Compressed file ended before the end-of-stream marker was reached'
    """
    parts: list[bytes] = []
    got = 0
    read = getattr(stream, "read1", None) or stream.read
    while got < size:
        try:
            piece = read(min(SALVAGE_PIECE_BYTES, size - got))
        except Exception as exc:  # any decompression or I/O error ends the readable part
            return b"".join(parts), f"{type(exc).__name__}: {exc}"
        if not piece:
            break
        parts.append(piece)
        got += len(piece)
    return b"".join(parts), None


def _iter_stream(
    stream: BinaryIO, raw: BinaryIO, total: int, chunk_bytes: int
) -> Iterator[Chunk]:
    # Lines are held back one chunk, so that the last chunk can be marked final.
    pending = b""
    pending_done = 0
    rest = b""  # an unfinished line
    skipping = False  # inside an over-long line whose head was already kept
    line_no = 1
    error: str | None = None  # reading broke off: what was read is used, then the end
    seen = False
    while True:
        block = b""
        if error is None:
            block, error = read_salvaging(stream, chunk_bytes)
            if error is not None and not block and not seen:
                raise InputError(f"cannot read ({error})")
            seen = seen or bool(block)
        if not block:
            if skipping:
                rest = b""
            cut = 0
            done = total  # read to its end (a zip's index after its file included)
            if error is not None:  # the unfinished last line was cut by the break: drop it
                cut, rest = len(rest), b""
                done = _tell(raw, total)
            yield Chunk(pending + rest, line_no, done, total, True, error, cut)
            return
        if skipping:
            nl = block.find(b"\n")
            if nl < 0:
                continue
            block = block[nl + 1 :]
            skipping = False
        buf = rest + block
        cut = buf.rfind(b"\n")
        if cut < 0:
            rest = buf
            if len(rest) > MAX_LINE_BYTES:
                # keep the head of the line as a line of its own; drop the rest of it
                rest, skipping = b"", True
                buf = buf[:MAX_LINE_BYTES] + b"\n"
                cut = len(buf) - 1
            else:
                continue
        lines, rest = buf[: cut + 1], buf[cut + 1 :]
        if pending:
            yield Chunk(pending, line_no, pending_done, total, False)
            line_no += count_lines(pending)
        pending = lines
        pending_done = _tell(raw, total)


def truncation_note(error: str, cut_bytes: int) -> str:
    """The quarantine text of a file that breaks off (:data:`Reason.TRUNCATED`)."""
    cut = f"; the unfinished line after it ({cut_bytes} bytes) was dropped" if cut_bytes else ""
    return f"the file cannot be read past this line ({error}){cut}"


class InputError(errors.InputError):
    """An input file could not be read (truncated or corrupt compression, I/O error)."""


def count_lines(data: bytes) -> int:
    """Lines in ``data`` (a last line without its line break counts)."""
    n = data.count(b"\n")
    return n + (1 if data and not data.endswith(b"\n") else 0)


def _tell(raw: BinaryIO, total: int) -> int:
    try:
        return min(raw.tell(), total)
    except (OSError, ValueError):
        return total
