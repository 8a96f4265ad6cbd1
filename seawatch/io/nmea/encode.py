"""Encode the canonical tables as NMEA 0183 AIS sentences: the inverse of :mod:`.reader`.

Used to write simulated traffic (:mod:`seawatch.sim`) as the files a receiver would log, and to
build test inputs for the decoder. The work is done by numba kernels over whole columns, in
chunks of rows; Python only gathers the chunk's columns and writes the bytes:

1. :func:`_encode_positions` writes the 6-bit armoured payloads of messages 1, 2, 3 (class A),
   18 (class B) and 27 (long range) into one ``uint8`` buffer;
   :func:`_encode_identities` those of messages 5 and 24 A/B;
2. :func:`_frame` cuts each payload into sentences of at most 60 characters and writes whole
   lines: an optional NMEA 4.10 tag block ``\\s:<source>,c:<unix seconds>*hh\\``, then
   ``!AIVDM,<count>,<num>,<seq>,<channel>,<payload>,<fill>*hh``.

Field layouts follow ITU-R M.1371-5 (as tabulated in gpsd's AIVDM document), bit for bit as
pyais encodes them. Values are rounded to the resolution of their field (1/600000 degree,
0.1 knot, 0.1 degree; 1/600 degree and whole knots/degrees in message 27); nulls, NaN and
values outside a field's range become its "not available" code (latitude 91, longitude 181,
speed 102.3, course 360, heading 511; message 27: 91, 181, 63, 511). A speed of 102.2 knots or
more is sent as 102.2, as ITU prescribes. Other conventions:

- ``nav_status`` null -> 15 (not defined); ``second`` null -> the second of the row's ``ts``;
  ``accuracy`` null -> 0; rate of turn "not available", manoeuvre, RAIM and radio status 0.
- ``msg_type`` null or 0 (CSV rows) -> 1; 19 (class B extended) -> 18. Identity rows of type
  5, 0, null or 19 -> message 5 (ETA "not available"); type 24 -> part A when ``name`` is set,
  part B when any of call sign, ship type or dimensions is set (both when both are).
- Dimensions come from ``to_bow``/``to_stern``/``to_port``/``to_starboard`` (or ``bow``,
  ``stern``, ``port``, ``starboard``) where given, else are split from ``length``/``width``
  (a quarter of the length astern of the antenna, half the width to port) so that the decoder's
  ``length`` and ``width`` come back as the rounded input.
- Text is upper-cased and cut to its field (call sign 7, name and destination 20 characters);
  Latin-1 accented letters lose their accent (``Ñ`` -> ``N``), other characters not in the AIS
  6-bit alphabet become ``?``.
- A line's time is its row's ``ts`` floored to whole seconds (tag block ``c:``).

Examples
--------
>>> import polars as pl
>>> from seawatch.io.nmea import decode_lines
>>> frame = pl.DataFrame({"mmsi": [735000001], "ts": [1_768_435_200_000_000],
...                       "lat": [-0.93], "lon": [-80.72], "sog": [12.3], "cog": [201.5],
...                       "heading": [200], "nav_status": [0], "msg_type": [1]})
>>> text = encode_lines(frame)
>>> text.decode()
'\\\\s:seawatch-sim,c:1768435200*70\\\\!AIVDM,1,1,,A,1:ttmh@P1sJ>OT1wMtD7on@00000,0*68\\n'
>>> decode_lines(text).positions.select("mmsi", "lat", "lon", "sog").row(0)
(735000001, -0.93, -80.72, 12.300000190734863)
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numba as nb
import numpy as np
import polars as pl

from seawatch.io.jit import announce_compiles

JIT_LABEL = "the NMEA encoder"
"""How the notice of a first compile names these kernels (:mod:`seawatch.io.jit`)."""
announce_compiles()
nt = nb.types

__all__ = ["encode_lines", "encode_payloads", "iter_encoded", "write_nmea"]

DEFAULT_SOURCE = "seawatch-sim"
"""Station name written in the tag block's ``s:`` field."""

DEFAULT_CHUNK_MESSAGES = 1 << 19
"""Messages encoded per chunk; output memory is about 100 bytes times this."""

MAX_SENTENCE_CHARS = 60
"""Payload characters per sentence: 82-character NMEA limit less the envelope (as pyais)."""

# internal message kinds of identity rows
KIND_5 = 5
KIND_24A = 240
KIND_24B = 241

POSITION_KINDS = (1, 2, 3, 18, 27)

_POSITION_COLUMNS = frozenset(
    ("mmsi", "ts", "lat", "lon", "sog", "cog", "heading", "nav_status", "msg_type", "second",
     "accuracy")
)
_IDENTITY_COLUMNS = frozenset(
    ("mmsi", "ts", "imo", "callsign", "name", "ship_type", "length", "width", "draught",
     "destination", "msg_type", "to_bow", "to_stern", "to_port", "to_starboard", "bow", "stern",
     "port", "starboard")
)

_DIM_NAMES = (("to_bow", "bow"), ("to_stern", "stern"), ("to_port", "port"),
              ("to_starboard", "starboard"))

# Latin-1 supplement (UTF-8 0xC3 0x80-0xBF, i.e. U+00C0-U+00FF) -> ASCII without accents
_LATIN1 = np.frombuffer(b"AAAAAAACEEEEIIIIDNOOOOOXOUUUUYTSAAAAAAACEEEEIIIIDNOOOOO?OUUUUYTY",
                        dtype=np.uint8).copy()


# -- bit writing -------------------------------------------------------------------------------
# The writers have explicit signatures (int64 scalars): the kernels call them with constant bit
# positions, and numba would otherwise compile (or inline) a version per call; with one
# signature each compiles once and LLVM inlines it, folding the constants.
_TEXT = nt.Array(nt.uint8, 1, "C", readonly=True)
"""UTF-8 bytes of a text column (or the Latin-1 table), read only."""


@nb.njit(nt.void(nt.uint8[::1], nt.int64, nt.int64, nt.int64, nt.int64), cache=True, nogil=True)
def _put(p6, off, start, width, value):
    """OR ``width`` bits of ``value`` (two's complement when negative) in at bit ``start``."""
    v = np.int64(value) & ((np.int64(1) << width) - 1)
    pos = start
    end = start + width
    while pos < end:
        ci = pos // 6
        bit_in = pos - ci * 6
        take = 6 - bit_in
        if take > end - pos:
            take = end - pos
        chunk = (v >> (end - pos - take)) & ((1 << take) - 1)
        p6[off + ci] |= np.uint8(chunk << (6 - bit_in - take))
        pos += take


@nb.njit(nt.void(nt.uint8[::1], nt.int64, nt.int64, nt.int64, _TEXT, nt.int64, nt.int64, _TEXT),
         cache=True, nogil=True)
def _put_text(p6, off, start, nchars, data, a, b, latin1):
    """Write UTF-8 text ``data[a:b]`` as ``nchars`` 6-bit characters ('@'-padded) at ``start``."""
    c = 0
    i = a
    while i < b and c < nchars:
        x: int | np.int64 = np.int64(data[i])  # mypy only: numba types it int64
        i += 1
        if x >= 0x80:
            if x == 0xC3 and i < b and 0x80 <= data[i] <= 0xBF:
                x = np.int64(latin1[data[i] - 0x80])
            else:
                x = 63  # '?'
            while i < b and 0x80 <= data[i] <= 0xBF:  # skip continuation bytes
                i += 1
        if 97 <= x <= 122:
            x -= 32
        if x < 32:
            x = 32
        elif x > 95:
            x = 63
        _put(p6, off, start + 6 * c, 6, x - 64 if x >= 64 else x)
        c += 1


@nb.njit(nt.int64(nt.float64), cache=True, nogil=True)
def _round(x):
    return np.int64(np.floor(x + 0.5))


@nb.njit(nt.void(nt.uint8[::1], nt.int64, nt.int64), cache=True, nogil=True)
def _armour(p6, a, b):
    for j in range(a, b):
        c = p6[j] + 48
        if c > 87:
            c += 8
        p6[j] = c


# -- payload kernels ---------------------------------------------------------------------------
@nb.njit(cache=True, nogil=True)
def _encode_positions(kind, mmsi, ts, lat, lon, sog, cog, heading, nav, second, accuracy,
                      off, out):
    """Armoured payloads of position rows (messages 1, 2, 3, 18 and 27) into ``out``.

    Float inputs are NaN where null; a null ``second`` is taken from ``ts`` (µs). ``out``
    must be zeroed; row ``r`` goes to ``out[off[r]:off[r + 1]]``.
    """
    for r in range(kind.shape[0]):
        o = off[r]
        t = kind[r]
        _put(out, o, 0, 6, t)
        _put(out, o, 8, 30, mmsi[r])
        y = lat[r]
        x = lon[r]
        lat_ok = not np.isnan(y) and -90.0 <= y <= 90.0
        lon_ok = not np.isnan(x) and -180.0 <= x <= 180.0
        s = sog[r]
        c = cog[r]
        ns = nav[r]
        nav_v = np.int64(ns) if (not np.isnan(ns) and 0 <= ns <= 15) else 15
        acc = 1 if accuracy[r] > 0 else 0
        if t == 27:
            _put(out, o, 38, 1, acc)
            _put(out, o, 40, 4, nav_v)
            _put(out, o, 44, 18, _round(x * 600.0) if lon_ok else 181 * 600)
            _put(out, o, 62, 17, _round(y * 600.0) if lat_ok else 91 * 600)
            sv = 63
            if not np.isnan(s) and s >= 0:
                sv = min(_round(s), 62)
            _put(out, o, 79, 6, sv)
            cv = 511
            if not np.isnan(c) and 0 <= c < 360:
                cv = _round(c) % 360
            _put(out, o, 85, 9, cv)
        else:
            sv = 1023
            if not np.isnan(s) and s >= 0:
                sv = min(_round(s * 10.0), 1022)
            cv = 3600
            if not np.isnan(c) and 0 <= c < 360:
                cv = _round(c * 10.0) % 3600
            h = heading[r]
            hv = 511
            if not np.isnan(h) and 0 <= h < 360:
                hv = _round(h) % 360
            sec = second[r]
            if np.isnan(sec):
                sec_v = (ts[r] // 1_000_000) % 60
            else:
                sec_v = np.int64(sec) if 0 <= sec <= 63 else 60
            xv = _round(x * 600_000.0) if lon_ok else 181 * 600_000
            yv = _round(y * 600_000.0) if lat_ok else 91 * 600_000
            if t == 18:
                _put(out, o, 46, 10, sv)
                _put(out, o, 56, 1, acc)
                _put(out, o, 57, 28, xv)
                _put(out, o, 85, 27, yv)
                _put(out, o, 112, 12, cv)
                _put(out, o, 124, 9, hv)
                _put(out, o, 133, 6, sec_v)
                _put(out, o, 141, 1, 1)  # CS unit (carrier-sense, the common class B)
            else:
                _put(out, o, 38, 4, nav_v)
                _put(out, o, 42, 8, -128)  # rate of turn: not available
                _put(out, o, 50, 10, sv)
                _put(out, o, 60, 1, acc)
                _put(out, o, 61, 28, xv)
                _put(out, o, 89, 27, yv)
                _put(out, o, 116, 12, cv)
                _put(out, o, 128, 9, hv)
                _put(out, o, 137, 6, sec_v)
        _armour(out, o, off[r + 1])


@nb.njit(cache=True, nogil=True)
def _encode_identities(kind, row, mmsi, imo, ship_type, dims, draught,
                       cs_off, cs_data, cs_valid, nm_off, nm_data, nm_valid,
                       de_off, de_data, de_valid, latin1, off, out):
    """Armoured payloads of identity messages (5, 24 A, 24 B) into ``out``.

    Message ``m`` encodes row ``row[m]`` of the chunk's columns; text columns come as Arrow
    buffers (offsets, data, validity). ``dims`` is rows x 4 (bow, stern, port, starboard).
    """
    for m in range(kind.shape[0]):
        o = off[m]
        k = kind[m]
        r = row[m]
        st = ship_type[r]
        st_v = np.int64(st) if (not np.isnan(st) and 0 <= st <= 255) else 0
        if k == KIND_5:
            _put(out, o, 0, 6, 5)
            _put(out, o, 8, 30, mmsi[r])
            v = imo[r]
            _put(out, o, 40, 30, np.int64(v) if (not np.isnan(v) and 0 < v < 1 << 30) else 0)
            if cs_valid[r]:
                _put_text(out, o, 70, 7, cs_data, cs_off[r], cs_off[r + 1], latin1)
            if nm_valid[r]:
                _put_text(out, o, 112, 20, nm_data, nm_off[r], nm_off[r + 1], latin1)
            _put(out, o, 232, 8, st_v)
            _put(out, o, 240, 9, dims[r, 0])
            _put(out, o, 249, 9, dims[r, 1])
            _put(out, o, 258, 6, dims[r, 2])
            _put(out, o, 264, 6, dims[r, 3])
            _put(out, o, 278, 5, 0)  # ETA day 0, month 0: not available
            _put(out, o, 283, 5, 24)  # hour 24: not available
            _put(out, o, 288, 6, 60)  # minute 60: not available
            d = draught[r]
            _put(out, o, 294, 8, min(_round(d * 10.0), 255) if (not np.isnan(d) and d > 0)
                 else 0)
            if de_valid[r]:
                _put_text(out, o, 302, 20, de_data, de_off[r], de_off[r + 1], latin1)
        elif k == KIND_24A:
            _put(out, o, 0, 6, 24)
            _put(out, o, 8, 30, mmsi[r])
            if nm_valid[r]:
                _put_text(out, o, 40, 20, nm_data, nm_off[r], nm_off[r + 1], latin1)
        else:
            _put(out, o, 0, 6, 24)
            _put(out, o, 8, 30, mmsi[r])
            _put(out, o, 38, 2, 1)
            _put(out, o, 40, 8, st_v)
            if cs_valid[r]:
                _put_text(out, o, 90, 7, cs_data, cs_off[r], cs_off[r + 1], latin1)
            _put(out, o, 132, 9, dims[r, 0])
            _put(out, o, 141, 9, dims[r, 1])
            _put(out, o, 150, 6, dims[r, 2])
            _put(out, o, 156, 6, dims[r, 3])
        _armour(out, o, off[m + 1])


# -- framing -----------------------------------------------------------------------------------
@nb.njit(nt.int64(nt.int64), cache=True, nogil=True)
def _hex(v):
    return v + 48 if v < 10 else v + 55


@nb.njit(cache=True, nogil=True)
def _frame(pay, m_off, m_nchar, m_fill, m_secs, m_chan, m_seq, prefixes, prefix_len, m_src,
           tag, out):
    """Write the NMEA lines of every message into ``out``; returns (bytes, lines) written.

    ``prefixes`` holds one tag block per station up to the time digits (``s:name,c:``), row
    ``k`` of length ``prefix_len[k]``; message ``m`` uses row ``m_src[m]``. ``tag`` 0 writes no
    tag blocks. ``m_chan`` is the channel character (0 for none), ``m_seq`` the sequential
    message id of multi-sentence messages (-1 for single sentences). Checksums are
    accumulated while writing; a tag block is rebuilt only when the second or the station
    changes.
    """
    w = 0
    n_lines = 0
    block = np.empty(prefixes.shape[1] + 26, np.uint8)  # the current tag block
    n_block = 0
    block_secs = np.int64(-1)
    block_src = np.int64(-1)
    digits = np.empty(20, np.uint8)
    prefix_cs = np.zeros(prefixes.shape[0], np.int64)
    for r in range(prefixes.shape[0]):
        for j in range(prefix_len[r]):
            prefix_cs[r] ^= prefixes[r, j]
    # XOR of "AIVDM," and of the four other commas of a sentence body
    head_cs = 65 ^ 73 ^ 86 ^ 68 ^ 77
    for m in range(m_off.shape[0]):
        nchar = m_nchar[m]
        nfrag = (nchar + MAX_SENTENCE_CHARS - 1) // MAX_SENTENCE_CHARS
        if nfrag < 1:
            nfrag = 1
        if tag and (m_secs[m] != block_secs or m_src[m] != block_src):
            block_secs = m_secs[m]
            block_src = m_src[m]
            secs = block_secs
            nd = 0
            while True:
                digits[nd] = 48 + secs % 10
                secs //= 10
                nd += 1
                if secs == 0:
                    break
            block[0] = 92  # '\'
            k = 1
            for j in range(prefix_len[block_src]):
                block[k] = prefixes[block_src, j]
                k += 1
            cs = prefix_cs[block_src]
            for j in range(nd - 1, -1, -1):
                block[k] = digits[j]
                cs ^= digits[j]
                k += 1
            block[k] = 42  # '*'
            block[k + 1] = _hex(cs >> 4)
            block[k + 2] = _hex(cs & 15)
            block[k + 3] = 92
            n_block = k + 4
        seq = m_seq[m]
        chan = m_chan[m]
        for f in range(nfrag):
            if tag:
                for j in range(n_block):
                    out[w + j] = block[j]
                w += n_block
            out[w] = 33  # '!'
            out[w + 1] = 65  # AIVDM,
            out[w + 2] = 73
            out[w + 3] = 86
            out[w + 4] = 68
            out[w + 5] = 77
            out[w + 6] = 44
            c_count = 48 + nfrag
            c_num = 49 + f
            out[w + 7] = c_count
            out[w + 8] = 44
            out[w + 9] = c_num
            out[w + 10] = 44
            w += 11
            cs = head_cs ^ c_count ^ c_num
            if seq >= 0:
                out[w] = 48 + seq
                cs ^= 48 + seq
                w += 1
            out[w] = 44
            w += 1
            if chan != 0:
                out[w] = chan
                cs ^= chan
                w += 1
            out[w] = 44
            w += 1
            a = m_off[m] + f * MAX_SENTENCE_CHARS
            b = min(a + MAX_SENTENCE_CHARS, m_off[m] + nchar)
            for j in range(a, b):
                c = pay[j]
                out[w] = c
                cs ^= c
                w += 1
            c_fill = 48 + (m_fill[m] if f == nfrag - 1 else 0)
            out[w] = 44
            out[w + 1] = c_fill
            cs ^= c_fill
            out[w + 2] = 42
            out[w + 3] = _hex(cs >> 4)
            out[w + 4] = _hex(cs & 15)
            out[w + 5] = 10
            w += 6
            n_lines += 1
    return w, n_lines


# -- preparing columns -------------------------------------------------------------------------
def _ts_us(frame: pl.DataFrame, what: str) -> np.ndarray:
    if "ts" not in frame.columns:
        raise ValueError(f"{what}: column 'ts' missing; found: {frame.columns}")
    dtype = frame.schema["ts"]
    col = frame.get_column("ts")
    if isinstance(dtype, pl.Datetime):
        col = col.dt.cast_time_unit("us").to_physical()
    elif isinstance(dtype, pl.Date):
        col = col.cast(pl.Datetime("us")).to_physical()
    elif not dtype.is_integer():
        raise ValueError(
            f"{what}: column 'ts' is {dtype}; give a Datetime column or integer µs since 1970"
        )
    if col.null_count():
        raise ValueError(f"{what}: {col.null_count()} row(s) have a null ts; drop or fill them")
    ts = col.cast(pl.Int64).to_numpy(writable=True)
    if ts.size and int(ts.min()) < 0:
        raise ValueError(f"{what}: ts before 1970 cannot be written as a tag-block time")
    return ts


def _float_col(frame: pl.DataFrame, name: str) -> pl.Expr:
    if name not in frame.columns:
        return pl.lit(float("nan"), pl.Float64).alias(name)
    return pl.col(name).cast(pl.Float64).fill_null(float("nan")).alias(name)


def _mmsi(chunk: pl.DataFrame, what: str) -> np.ndarray:
    col = chunk.get_column("mmsi")
    bad = col.is_null() | (col < 0) | (col >= 1 << 30)
    if bad.any():
        example = chunk.filter(bad).get_column("mmsi").head(3).to_list()
        raise ValueError(
            f"{what}: {int(bad.sum())} MMSI(s) are null or do not fit AIS's 30 bits "
            f"(e.g. {example}); fix or drop those rows"
        )
    return col.cast(pl.Int64).to_numpy(writable=True)


def _position_kinds(msg_type: pl.Series) -> np.ndarray:
    kinds = (
        msg_type.cast(pl.Int16, strict=False).fill_null(0)
        .replace({0: 1, 19: 18})
        .to_numpy()
        .astype(np.int8)
    )
    bad = ~np.isin(kinds, POSITION_KINDS)
    if bad.any():
        raise ValueError(
            f"positions: msg_type {sorted(set(np.unique(kinds[bad]).tolist()))} cannot be "
            f"encoded; supported: {POSITION_KINDS} (and 0, null -> 1; 19 -> 18)"
        )
    return kinds


def _identity_messages(vessels: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(row, kind) of every identity message the vessel rows make, in row order."""
    cols = vessels.columns

    def present(name: str) -> pl.Expr:
        return pl.col(name).is_not_null() if name in cols else pl.lit(False)

    b_fields = [present(n) for n in ("callsign", "ship_type", "length", "width")]
    b_fields += [present(n) for pair in _DIM_NAMES for n in pair]
    flags = vessels.with_columns(  # with_columns broadcasts literals to the frame's height
        _mt=(pl.col("msg_type").cast(pl.Int16, strict=False).fill_null(0)
             if "msg_type" in cols else pl.lit(0, pl.Int16)),
        _a=present("name"),
        _b=pl.any_horizontal(b_fields),
    ).select(mt="_mt", a="_a", b="_b")
    mt = flags.get_column("mt").to_numpy()
    bad = ~np.isin(mt, (0, 5, 19, 24))
    if bad.any():
        raise ValueError(
            f"vessels: msg_type {sorted(set(np.unique(mt[bad]).tolist()))} cannot be encoded; "
            "supported: 5, 24 (and 0, 19, null -> 5)"
        )
    is24 = mt == 24
    a = flags.get_column("a").to_numpy()
    b = flags.get_column("b").to_numpy()
    part_a = is24 & (a | ~b)
    part_b = is24 & b
    # one slot per possible message (A or 5 first, then B), kept where it is sent
    first = np.where(is24, np.where(part_a, KIND_24A, 0), KIND_5)
    second = np.where(part_b, KIND_24B, 0)
    kinds = np.stack([first, second], axis=1).ravel()
    rows = np.repeat(np.arange(len(mt), dtype=np.int64), 2)
    keep = kinds != 0
    return rows[keep], kinds[keep].astype(np.int16)


def _text_buffers(col: pl.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arrow offsets, data and validity of a string column (for the numba kernels)."""
    arr = col.cast(pl.String).rechunk().to_arrow()
    valid = col.is_not_null().to_numpy().astype(np.uint8)
    # read-only views of the Arrow buffers (the fallbacks are read-only too, so that the
    # kernel is compiled for one signature)
    if len(arr) == 0:
        return np.frombuffer(bytes(8), np.int64), np.frombuffer(b"\0", np.uint8), valid
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    data = (np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None and bufs[2].size
            else np.frombuffer(b"\0", np.uint8))
    return offsets, data, valid


def _dims(chunk: pl.DataFrame) -> np.ndarray:
    """Rows x 4 dimensions (bow, stern, port, starboard) in metres, 0 where unknown."""
    n = chunk.height
    out = np.zeros((n, 4), np.int64)
    cols = chunk.columns
    given = [next((c for c in pair if c in cols), None) for pair in _DIM_NAMES]
    length = _rounded(chunk, "length")
    width = _rounded(chunk, "width")
    stern = np.minimum(length // 4, 511)
    bow = np.minimum(length - stern, 511)
    stern = np.minimum(length - bow, 511)
    port = np.minimum(width // 2, 63)
    starboard = np.minimum(width - port, 63)
    for j, (name, split, limit) in enumerate(
        zip(given, (bow, stern, port, starboard), (511, 511, 63, 63), strict=True)
    ):
        if name is None:
            out[:, j] = split
        else:
            out[:, j] = np.clip(_rounded(chunk, name), 0, limit)
    return out


def _rounded(chunk: pl.DataFrame, name: str) -> np.ndarray:
    if name not in chunk.columns:
        return np.zeros(chunk.height, np.int64)
    v = chunk.get_column(name).cast(pl.Float64).fill_null(0.0).fill_nan(0.0).to_numpy()
    return np.maximum(np.floor(v + 0.5), 0).astype(np.int64)


# -- chunk encoders ----------------------------------------------------------------------------
def _position_payloads(chunk: pl.DataFrame, ts: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(armoured chars, offsets n+1, fill bits) of a chunk of position rows."""
    n = chunk.height
    mmsi = _mmsi(chunk, "positions")
    kinds = _position_kinds(chunk.get_column("msg_type")) if "msg_type" in chunk.columns \
        else np.ones(n, np.int8)
    cols = chunk.select(
        [_float_col(chunk, c) for c in
         ("lat", "lon", "sog", "cog", "heading", "nav_status", "second", "accuracy")]
    )
    nchar = np.where(kinds == 27, 16, 28).astype(np.int64)  # 96 bits (type 27) or 168
    off = np.zeros(n + 1, np.int64)
    np.cumsum(nchar, out=off[1:])
    out = np.zeros(int(off[-1]), np.uint8)
    _encode_positions(
        kinds, mmsi, ts, *(cols.get_column(c).to_numpy(writable=True) for c in
                           ("lat", "lon", "sog", "cog", "heading", "nav_status", "second",
                            "accuracy")),
        off, out,
    )
    return out, off, np.zeros(n, np.int8)


def _identity_payloads(chunk: pl.DataFrame, rows: np.ndarray, kinds: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(armoured chars, offsets, fill bits) of the identity messages ``rows``/``kinds``."""
    n = chunk.height
    mmsi = _mmsi(chunk, "vessels")
    num = chunk.select([_float_col(chunk, c) for c in ("imo", "ship_type", "draught")])
    texts: list[np.ndarray] = []
    for name in ("callsign", "name", "destination"):
        col = chunk.get_column(name) if name in chunk.columns \
            else pl.Series(name, [None] * n, pl.String)
        texts.extend(_text_buffers(col))
    # message 5: 424 bits = 71 characters less 2 fill bits; 24 A and B: 168 bits
    nchar = np.where(kinds == KIND_5, 71, 28).astype(np.int64)
    fill = np.where(kinds == KIND_5, 2, 0).astype(np.int8)
    off = np.zeros(kinds.size + 1, np.int64)
    np.cumsum(nchar, out=off[1:])
    out = np.zeros(int(off[-1]), np.uint8)
    _encode_identities(
        kinds, rows, mmsi, num.get_column("imo").to_numpy(writable=True),
        num.get_column("ship_type").to_numpy(writable=True), _dims(chunk),
        num.get_column("draught").to_numpy(writable=True), *texts, _LATIN1, off, out,
    )
    return out, off, fill


# -- driver ------------------------------------------------------------------------------------
def _check_source(source: str | None) -> bytes:
    if not source:
        return b"c:"
    raw = source.encode("ascii", "replace")
    if any(ch in raw for ch in b",*\\!$\r\n") or not raw.isascii():
        raise ValueError(f"source {source!r} may not contain , * \\ ! $ or line breaks")
    return b"s:" + raw + b",c:"


def _check_channels(channel_cycle: str) -> np.ndarray:
    if any(c not in "AB12" for c in channel_cycle):
        raise ValueError(f"channel_cycle {channel_cycle!r}: use the channels A, B, 1 or 2")
    return np.frombuffer(channel_cycle.encode("ascii"), np.uint8)


def iter_encoded(
    positions: pl.DataFrame | None,
    vessels: pl.DataFrame | None = None,
    *,
    tag_blocks: bool = True,
    source: str | None = DEFAULT_SOURCE,
    channel_cycle: str = "AB",
    chunk_messages: int = DEFAULT_CHUNK_MESSAGES,
    source_column: str | None = None,
) -> Iterator[tuple[np.ndarray, int]]:
    """Encode both tables as NMEA lines, interleaved by ``ts``, chunk by chunk.

    Yields ``(uint8 array of the lines' bytes, number of lines)`` per chunk of
    ``chunk_messages`` messages, so memory beyond the input frames stays bounded (about 100
    bytes per message of a chunk, plus about 24 bytes per row for the time order). Rows with
    equal ``ts`` keep their order, positions first. See :func:`write_nmea` for the parameters.
    """
    if positions is None:
        positions = pl.DataFrame(schema={"mmsi": pl.Int64, "ts": pl.Int64})
    if vessels is None:
        vessels = pl.DataFrame(schema={"mmsi": pl.Int64, "ts": pl.Int64})
    for what, frame in (("positions", positions), ("vessels", vessels)):
        if "mmsi" not in frame.columns:
            raise ValueError(f"{what}: column 'mmsi' missing; found: {frame.columns}")
    prefixes, prefix_len, pos_src, ves_src = _station_prefixes(
        positions, vessels, source, source_column
    )
    channels = _check_channels(channel_cycle)
    if "msg_type" in positions.columns:  # fail before writing anything
        _position_kinds(positions.get_column("msg_type").unique())

    # only the columns encoded travel through the per-chunk gathers
    positions = positions.select([c for c in positions.columns if c in _POSITION_COLUMNS])
    vessels = vessels.select([c for c in vessels.columns if c in _IDENTITY_COLUMNS])
    pos_ts = _ts_us(positions, "positions")
    v_rows, v_kinds = _identity_messages(vessels)
    ves_ts = _ts_us(vessels, "vessels")[v_rows]
    n_pos = pos_ts.size
    all_ts = np.concatenate([pos_ts, ves_ts])
    del ves_ts
    all_src = None
    if pos_src is not None:
        assert ves_src is not None  # _station_prefixes gives both or neither
        all_src = np.concatenate([pos_src, ves_src[v_rows]])
    # time order of all messages; stable, so equal times keep positions first, then row order
    in_order = all_ts.size < 2 or bool((all_ts[1:] >= all_ts[:-1]).all())
    order = None if in_order else np.argsort(all_ts, kind="stable")
    n_msg_done = 0
    n_multi_done = 0
    step = max(int(chunk_messages), 1)
    for start in range(0, all_ts.size, step):
        stop = min(start + step, all_ts.size)
        sel = np.arange(start, stop) if order is None else order[start:stop]
        n = sel.size
        is_pos = sel < n_pos
        pos_idx = sel[is_pos]
        ves_msg = sel[~is_pos] - n_pos
        p_chars, p_off, p_fill = _position_payloads(_take(positions, pos_idx),
                                                    pos_ts[pos_idx])
        rows_needed, local_rows = np.unique(v_rows[ves_msg], return_inverse=True)
        v_chars, v_off, v_fill = _identity_payloads(
            _take(vessels, rows_needed), local_rows.astype(np.int64), v_kinds[ves_msg]
        )
        pay = np.concatenate([p_chars, v_chars])
        m_off = np.empty(n, np.int64)
        m_nchar = np.empty(n, np.int64)
        m_fill = np.empty(n, np.int8)
        m_off[is_pos] = p_off[:-1]
        m_nchar[is_pos] = np.diff(p_off)
        m_fill[is_pos] = p_fill
        m_off[~is_pos] = v_off[:-1] + p_chars.size
        m_nchar[~is_pos] = np.diff(v_off)
        m_fill[~is_pos] = v_fill
        k = np.arange(n_msg_done, n_msg_done + n, dtype=np.int64)
        m_chan = channels[k % channels.size] if channels.size else np.zeros(n, np.uint8)
        multi = m_nchar > MAX_SENTENCE_CHARS
        m_seq = np.where(multi, (n_multi_done + np.cumsum(multi) - 1) % 10, -1).astype(np.int8)
        n_msg_done += n
        n_multi_done += int(multi.sum())
        m_secs = all_ts[sel] // 1_000_000
        n_sent = int(((m_nchar + MAX_SENTENCE_CHARS - 1) // MAX_SENTENCE_CHARS).sum())
        m_src = np.zeros(n, np.int64) if all_src is None else all_src[sel]
        bound = int(m_nchar.sum()) + n_sent * (prefixes.shape[1] + 25 + 30)
        out = np.empty(bound, np.uint8)
        w, lines = _frame(pay, m_off, m_nchar, m_fill, m_secs, m_chan, m_seq, prefixes,
                          prefix_len, m_src, 1 if tag_blocks else 0, out)
        yield out[:w], int(lines)


def _station_prefixes(
    positions: pl.DataFrame, vessels: pl.DataFrame, source: str | None,
    source_column: str | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Tag-block prefixes (rows of a uint8 table, their lengths) and each row's prefix index.

    Without ``source_column`` there is one prefix (``source``) and the indices are None.
    Otherwise row 0 is ``source`` (for nulls and frames without the column), then one row per
    distinct station name in the column, in sorted order.
    """
    raw = [_check_source(source)]
    if source_column is None:
        table = np.frombuffer(raw[0], np.uint8).reshape(1, -1).copy()
        return table, np.array([len(raw[0])], np.int64), None, None
    cols = [f.get_column(source_column).cast(pl.String) if source_column in f.columns
            else pl.Series(source_column, [None] * f.height, pl.String)
            for f in (positions, vessels)]
    names = sorted(set(pl.concat(cols).drop_nulls().unique().to_list()))
    raw += [_check_source(name) for name in names]
    lookup = {name: i + 1 for i, name in enumerate(names)}
    idx = [c.replace_strict(lookup, default=0, return_dtype=pl.Int64).to_numpy()
           .astype(np.int64) for c in cols]
    width = max(len(r) for r in raw)
    table = np.zeros((len(raw), width), np.uint8)
    for i, r in enumerate(raw):
        table[i, : len(r)] = np.frombuffer(r, np.uint8)
    return table, np.array([len(r) for r in raw], np.int64), idx[0], idx[1]


def _take(frame: pl.DataFrame, idx: np.ndarray) -> pl.DataFrame:
    """Rows ``idx`` of ``frame``: a zero-copy slice when they are consecutive."""
    if idx.size and int(idx[-1]) - int(idx[0]) + 1 == idx.size and (
        idx.size == 1 or bool((np.diff(idx) == 1).all())
    ):
        return frame.slice(int(idx[0]), idx.size)
    return frame[idx]


def encode_lines(
    positions: pl.DataFrame | None,
    vessels: pl.DataFrame | None = None,
    *,
    tag_blocks: bool = True,
    source: str | None = DEFAULT_SOURCE,
    channel_cycle: str = "AB",
    source_column: str | None = None,
) -> bytes:
    """NMEA lines of both tables in memory (for small frames; see :func:`write_nmea`).

    >>> import polars as pl
    >>> vessels = pl.DataFrame({"mmsi": [735000001], "ts": [1_768_435_200_000_000],
    ...                         "name": ["DON LUCHO"], "msg_type": [24]})
    >>> print(encode_lines(None, vessels, tag_blocks=False).decode(), end="")
    !AIVDM,1,1,,A,H:ttmh@@tr0iD<Pt000000000000,0*52
    >>> stations = vessels.with_columns(source=pl.lit("ecu-manta"))
    >>> encode_lines(None, stations, source_column="source").decode()[:25]
    '\\\\s:ecu-manta,c:1768435200'
    """
    return b"".join(
        chunk.data for chunk, _ in iter_encoded(positions, vessels, tag_blocks=tag_blocks,
                                           source=source, channel_cycle=channel_cycle,
                                           source_column=source_column)
    )


def _open_output(path: Path, compress: str | None) -> tuple[BinaryIO, BinaryIO]:
    kind = compress
    if kind is None:
        suffix = path.suffix.lower()
        kind = {".gz": "gzip", ".zst": "zstd", ".zstd": "zstd"}.get(suffix, "none")
    raw = open(path, "wb")  # noqa: SIM115 - closed by the caller
    if kind in ("none", ""):
        return raw, raw
    if kind in ("gzip", "gz"):
        return gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6), raw  # type: ignore[return-value]
    if kind in ("zstd", "zst"):
        import zstandard

        writer = zstandard.ZstdCompressor(level=3, threads=-1).stream_writer(raw, closefd=False)
        return writer, raw
    raw.close()
    raise ValueError(f"compress={compress!r}: use None (by extension), 'none', 'gzip' or 'zstd'")


def write_nmea(
    path: str | Path,
    positions: pl.DataFrame | None,
    vessels: pl.DataFrame | None = None,
    *,
    tag_blocks: bool = True,
    source: str | None = DEFAULT_SOURCE,
    channel_cycle: str = "AB",
    compress: str | None = None,
    chunk_messages: int = DEFAULT_CHUNK_MESSAGES,
    source_column: str | None = None,
) -> int:
    """Write positions and identity rows as an NMEA AIS capture; returns the lines written.

    Parameters
    ----------
    path
        Output file; ``.gz`` or ``.zst`` compress it unless ``compress`` says otherwise.
    positions
        Rows with the columns of ``schema.POSITIONS`` (at least ``mmsi`` and ``ts``; missing
        columns are sent as "not available"). Messages 1, 2, 3, 18 and 27 after ``msg_type``.
    vessels
        Identity rows (``schema.VESSELS`` columns; dimensions from ``length``/``width`` or
        ``to_bow``...); messages 5 and 24 A/B after ``msg_type``.
    tag_blocks
        Precede each line with an NMEA 4.10 tag block ``\\s:<source>,c:<unix seconds>*hh\\``
        (without it the file carries no time).
    source
        Station name for the tag block's ``s:`` field (None: only ``c:``).
    channel_cycle
        Radio channels given to successive messages in turn ("" leaves the field empty).
    compress
        None (from the extension), ``"none"``, ``"gzip"`` or ``"zstd"``.
    chunk_messages
        Messages encoded per chunk; bounds the memory used for output.
    source_column
        Name of a column of ``positions`` and ``vessels`` holding each row's station for the
        tag block's ``s:`` field (e.g. ``"source"``, as the decoder fills it), so one file
        can carry lines heard by several receivers; rows where it is null, or frames without
        it, use ``source``. None (default): every line uses ``source``.

    Returns
    -------
    int
        Number of lines written (a message 5 takes two).

    Examples
    --------
    >>> import tempfile, os, polars as pl
    >>> from seawatch.io.nmea import read_nmea
    >>> frame = pl.DataFrame({"mmsi": [735000001, 735000001], "lat": [-1.0, -1.1],
    ...                       "lon": [-81.0, -81.1], "msg_type": [18, 18],
    ...                       "ts": [1_768_435_200_000_000, 1_768_435_260_000_000]})
    >>> path = os.path.join(tempfile.mkdtemp(), "x.nmea.gz")
    >>> write_nmea(path, frame)
    2
    >>> read_nmea(path).positions["lat"].to_list()
    [-1.0, -1.1]
    """
    out, raw = _open_output(Path(path), compress)
    lines = 0
    try:
        for chunk, n in iter_encoded(positions, vessels, tag_blocks=tag_blocks, source=source,
                                     channel_cycle=channel_cycle,
                                     chunk_messages=chunk_messages,
                                     source_column=source_column):
            out.write(chunk.data)
            lines += n
    finally:
        if out is not raw:
            out.close()
        raw.close()
    return lines


def encode_payloads(
    positions: pl.DataFrame | None = None, vessels: pl.DataFrame | None = None
) -> pl.DataFrame:
    """The armoured payload of every message, without NMEA framing (positions, then vessels).

    Columns: ``table`` ("positions"/"vessels"), ``row`` (row of that table), ``msg_type``
    (24 for both parts), ``payload``, ``fill_bits``. For tests and for tools that frame
    payloads themselves.

    >>> import polars as pl
    >>> frame = pl.DataFrame({"mmsi": [735000001], "ts": [0], "lat": [-0.93], "lon": [-80.72]})
    >>> encode_payloads(frame)["payload"].item()
    '1:ttmhOP?wJ>OT1wMtD>4?v00000'
    """
    parts = []
    if positions is not None and positions.height:
        chars, off, fill = _position_payloads(positions, _ts_us(positions, "positions"))
        kinds = (_position_kinds(positions.get_column("msg_type"))
                 if "msg_type" in positions.columns else np.ones(positions.height, np.int8))
        parts.append(_payload_frame("positions", np.arange(positions.height), kinds,
                                    chars, off, fill))
    if vessels is not None and vessels.height:
        rows, kinds = _identity_messages(vessels)
        chars, off, fill = _identity_payloads(vessels, rows, kinds)
        types = np.where(kinds == KIND_5, 5, 24)
        parts.append(_payload_frame("vessels", rows, types, chars, off, fill))
    if not parts:
        return pl.DataFrame(schema={"table": pl.String, "row": pl.Int64, "msg_type": pl.Int8,
                                    "payload": pl.String, "fill_bits": pl.Int8})
    return pl.concat(parts)


def _payload_frame(table: str, rows: np.ndarray, types: np.ndarray, chars: np.ndarray,
                   off: np.ndarray, fill: np.ndarray) -> pl.DataFrame:
    import pyarrow as pa

    n = rows.size
    text = pa.LargeStringArray.from_buffers(n, pa.py_buffer(off), pa.py_buffer(chars))
    return pl.DataFrame({
        "table": pl.repeat(table, n, dtype=pl.String, eager=True),
        "row": rows.astype(np.int64),
        "msg_type": types.astype(np.int8),
        "payload": pl.Series(text, dtype=pl.String),
        "fill_bits": fill.astype(np.int8),
    })
