"""From a CSV file on disk to batches of lines, and from lines to fields, whatever the size.

A file is read in blocks of bytes (through :func:`seawatch.io.sources.open_binary`, which
decompresses ``.gz``, ``.bz2``, ``.zst`` and single-file ``.zip`` files on the fly, recognised
by their first bytes), cut at line ends and turned into a Polars frame of ``line_no`` (1-based,
in the decompressed file) and ``raw`` (the line without its end). Memory stays bounded by one
block plus one batch of lines.

Lines are split into fields by :func:`split_fields`, with Polars string kernels: a plain split on
commas for lines without quotes and a regular expression that honours RFC 4180 quoting
(``"a, b"`` and doubled ``""``) for lines with quotes. A quoted field cannot span lines here:
a line with an unclosed quote simply has the wrong number of fields and is quarantined.

Examples
--------
>>> import polars as pl
>>> split_fields(pl.Series(['1,"Doe, J",x', "2,,y"])).to_list()
[['1', 'Doe, J', 'x'], ['2', '', 'y']]
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

import numpy as np
import polars as pl
import pyarrow as pa

from seawatch.io.sources import InputError, open_binary, read_salvaging

BLOCK_BYTES_MIN = 1 << 20
"""Smallest block read from the (decompressed) file at once: 1 MiB."""

BLOCK_BYTES_MAX = 64 << 20
"""Largest block read at once: 64 MiB, so memory stays bounded whatever ``batch_rows``."""

BYTES_PER_LINE_GUESS = 128
"""Rough size of one AIS CSV line, to size blocks from ``batch_rows`` (MarineCadastre: ~115)."""

MAX_LINE_BYTES = 1 << 20
"""A 'line' longer than this (1 MiB, no CSV row of AIS is) is cut here; it is then quarantined
as a malformed row, and reading goes on at the next line end."""

# One field with its leading comma: a quoted field (quotes doubled inside) or anything up to the
# next comma. Applied to "," + line, every match is one field, so there are no empty matches.
_FIELD_PATTERN = r',(?:"(?:[^"]|"")*"|[^,]*)'


@dataclass
class LineBatch:
    """Consecutive physical lines of a file.

    ``lines`` has ``line_no`` (Int64, 1-based) and ``raw`` (String, without ``\\n`` or a
    trailing ``\\r``); ``input_bytes`` is the share of the file on disk (compressed bytes for a
    compressed file) that these lines came from, approximately; over all batches of a file the
    shares add up to its size.
    """

    lines: pl.DataFrame
    input_bytes: int
    error: str | None = None
    """(Last batch) why the file could not be read to its end: the lines are what came
    before the break."""
    cut_bytes: int = 0
    """(Last batch, with ``error``) bytes of the unfinished line after the break, dropped."""


def _iter_blocks(stream: BinaryIO, block_bytes: int, broke: list[tuple[str, int]]
                 ) -> Iterator[bytes]:
    """Yield blocks of whole lines (each ending in "\\n") of the decompressed stream.

    When reading breaks off (a truncated or corrupt file), the whole lines read before the
    break are yielded, the unfinished one after them is dropped, and ``(error, dropped
    bytes)`` is appended to ``broke``; when nothing at all could be read it raises
    :class:`~seawatch.io.sources.InputError`.
    """
    leftover = b""
    first = True
    seen = False
    while True:
        chunk, error = read_salvaging(stream, block_bytes)
        if error is not None:
            if not chunk and not seen:
                raise InputError(f"cannot read ({error})")
            buf = leftover + chunk
            if first and buf.startswith(b"\xef\xbb\xbf"):
                buf = buf[3:]
            cut = buf.rfind(b"\n")
            if cut >= 0:
                yield buf[: cut + 1]
            broke.append((error, len(buf) - cut - 1))
            return
        seen = seen or bool(chunk)
        if not chunk:
            break
        buf = leftover + chunk if leftover else chunk
        if first:
            first = False
            if buf.startswith(b"\xef\xbb\xbf"):  # UTF-8 byte-order mark
                buf = buf[3:]
        cut = buf.rfind(b"\n")
        if cut < 0:
            if len(buf) <= MAX_LINE_BYTES:
                leftover = buf
                continue
            # No line end in sight: keep the head of this 'line' and drop the rest of it.
            leftover = b""
            while True:
                chunk, error = read_salvaging(stream, block_bytes)
                if error is not None:
                    yield buf[:MAX_LINE_BYTES] + b"\n"
                    broke.append((error, 0))
                    return
                if not chunk:
                    break
                end = chunk.find(b"\n")
                if end >= 0:
                    leftover = chunk[end + 1 :]
                    break
            yield buf[:MAX_LINE_BYTES] + b"\n"
            continue
        leftover = buf[cut + 1 :]
        yield buf[: cut + 1]
    if leftover:
        yield leftover + b"\n"


def _block_to_lines(block: bytes, first_line_no: int) -> pl.DataFrame:
    """Frame of ``line_no`` and ``raw`` for a block of whole lines (ending in "\\n").

    The lines become one Arrow string array over the block's bytes (offsets from the positions
    of its line ends), so no Python object is made per line. Bytes that are not UTF-8 are
    replaced by U+FFFD.
    """
    try:
        block.decode("utf-8")
    except UnicodeDecodeError:
        block = block.decode("utf-8", errors="replace").encode("utf-8")
    ends = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == ord("\n"))
    offsets = np.empty(len(ends) + 1, dtype=np.int64)
    offsets[0] = 0
    offsets[1:] = ends + 1
    array = pa.LargeStringArray.from_buffers(len(ends), pa.py_buffer(offsets), pa.py_buffer(block))
    raw = cast(pl.Series, pl.from_arrow(array)).str.strip_chars_end("\r\n")
    return pl.DataFrame(
        {
            "line_no": pl.int_range(
                first_line_no, first_line_no + raw.len(), dtype=pl.Int64, eager=True
            ),
            "raw": raw,
        }
    )


def iter_line_batches(path: Path, batch_rows: int) -> Iterator[LineBatch]:
    """Yield the physical lines of ``path`` in batches of at most ``batch_rows`` lines.

    An empty file yields nothing.
    """
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be at least 1; got {batch_rows}")
    block_bytes = min(max(batch_rows * BYTES_PER_LINE_GUESS, BLOCK_BYTES_MIN), BLOCK_BYTES_MAX)
    file_size = path.stat().st_size
    with open_binary(path) as (stream, raw):
        pending: list[pl.DataFrame] = []
        n_pending = 0
        next_line_no = 1
        decompressed = 0
        emitted_bytes = 0
        previous: pl.DataFrame | None = None

        def emit(lines: pl.DataFrame, last: bool) -> LineBatch:
            # The batch's decompressed bytes scaled by the compression ratio seen so far; the
            # last batch gets what is left, so the shares add up to the file's size.
            nonlocal emitted_bytes
            left = max(file_size - emitted_bytes, 0)
            if last:
                nbytes = left
            else:
                ratio = raw.tell() / decompressed if decompressed else 1.0
                text_bytes = int(lines["raw"].str.len_bytes().sum()) + lines.height
                nbytes = min(round(text_bytes * ratio), left)
            emitted_bytes += nbytes
            return LineBatch(lines, nbytes)

        broke: list[tuple[str, int]] = []
        for block in _iter_blocks(stream, block_bytes, broke):
            decompressed += len(block)
            frame = _block_to_lines(block, next_line_no)
            next_line_no += frame.height
            pending.append(frame)
            n_pending += frame.height
            while n_pending >= batch_rows:
                joined = pl.concat(pending) if len(pending) > 1 else pending[0]
                batch, rest = joined.head(batch_rows), joined.slice(batch_rows)
                pending, n_pending = ([rest], rest.height) if rest.height else ([], 0)
                if previous is not None:  # one batch behind, so the last one is known
                    yield emit(previous, last=False)
                previous = batch
        if pending:
            if previous is not None:
                yield emit(previous, last=False)
            previous = pl.concat(pending) if len(pending) > 1 else pending[0]
        if previous is None and broke:  # no whole line before the break
            previous = _block_to_lines(b"", next_line_no)
        if previous is not None:
            last = emit(previous, last=True)
            if broke:
                last.error, last.cut_bytes = broke[0]
            yield last


def _unquote(field: pl.Expr) -> pl.Expr:
    """Remove the enclosing quotes of a quoted field and undouble the quotes inside."""
    n = field.str.len_chars()
    quoted = field.str.starts_with('"') & field.str.ends_with('"') & (n >= 2)
    inner = field.str.slice(1, n - 2).str.replace_all('""', '"', literal=True)
    return pl.when(quoted).then(inner).otherwise(field)


def split_fields(raw: pl.Series) -> pl.Series:
    """Split each CSV line into its fields (a list of strings per line), honouring quotes.

    Lines without a quote character are split on every comma; lines with quotes are split
    outside quoted fields, and quoted fields lose their quotes. A quote that does not open a
    field (``5" GUN``) is kept as text.
    """
    plain = raw.str.split(",")
    has_quote = raw.str.contains('"', literal=True)
    if not has_quote.any():
        return plain
    quoted = (
        pl.select((pl.lit(",") + raw).str.extract_all(_FIELD_PATTERN))
        .to_series()
        .list.eval(_unquote(pl.element().str.slice(1)))
    )
    return pl.select(pl.when(has_quote).then(quoted).otherwise(plain)).to_series().alias("raw")
