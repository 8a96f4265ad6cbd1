"""Writing a scenario: NMEA lines with per-receiver tag blocks, shuffles and garbled lines,
and the MarineCadastre-style CSV.

The NMEA lines come from :func:`seawatch.io.nmea.encode.iter_encoded` (each row's station in
its tag block's ``s:``); this module then corrupts the lines of the messages chosen for
garbling (a flipped bit in the sentence, or the line cut short: the checksum no longer
matches, so a decoder must quarantine them) and moves about 1 % of messages 1-4 messages
later (receivers' feeds merge out of order). Multi-sentence messages move as a unit.

>>> import numpy as np
>>> buf = np.frombuffer(b"ab\\ncd\\nef\\n", np.uint8)
>>> bytes(gather_lines(buf, np.array([0, 3, 6]), np.array([3, 3, 3]), np.array([2, 0, 1])))
b'ef\\nab\\ncd\\n'
"""

from __future__ import annotations

from typing import BinaryIO

import numba as nb
import numpy as np
import polars as pl

from seawatch.sim import rand

S_GARBLE_MODE = 60
S_GARBLE_POS = 61
S_SHUFFLE = 62
S_SHUFFLE_BY = 63

SHUFFLE_RATE = 0.01
"""Share of messages written 1-4 messages later than their time order."""
TRUNCATE_SHARE = 0.3
"""Share of garbled lines that are cut short (the others get one flipped bit)."""

CSV_COLUMNS = ("MMSI", "BaseDateTime", "LAT", "LON", "SOG", "COG", "Heading", "VesselName",
               "IMO", "CallSign", "VesselType", "Status", "Length", "Width", "Draft", "Cargo",
               "TransceiverClass")
"""MarineCadastre's columns, in its order."""


@nb.njit(cache=True)
def _gather(buf: np.ndarray, start: np.ndarray, length: np.ndarray, order: np.ndarray,
            out: np.ndarray) -> int:
    w = 0
    for i in range(order.shape[0]):
        j = order[i]
        s = start[j]
        for b in range(length[j]):
            out[w] = buf[s + b]
            w += 1
    return w


def gather_lines(buf: np.ndarray, start: np.ndarray, length: np.ndarray, order: np.ndarray
                 ) -> np.ndarray:
    """Concatenate the byte ranges ``buf[start[j]:start[j] + length[j]]`` for j in ``order``."""
    out = np.empty(int(length[order].sum()), np.uint8)
    _gather(buf, start.astype(np.int64), length.astype(np.int64), order.astype(np.int64), out)
    return out


SHUFFLE_SPAN = 1 << 19
"""Messages of a block are shuffled within runs of this many (a message moved past the end
of its run stays at the end)."""
ENCODE_MESSAGES = 1 << 16
"""Messages encoded and corrupted at a time (a divisor of :data:`SHUFFLE_SPAN`; any gives
the same bytes, smaller ones less memory)."""


def write_nmea_block(fh: BinaryIO, positions: pl.DataFrame, statics: pl.DataFrame,
                     pos_key: tuple[np.ndarray, np.ndarray], pos_garble: np.ndarray,
                     sta_key: tuple[np.ndarray, np.ndarray], sta_garble: np.ndarray,
                     seed: int, noise: bool) -> tuple[int, int]:
    """Encode one block (both frames sorted by ``ts``, with a ``source`` column, and a
    ``clock_ts`` column for the tag-block time in the messy profile), corrupt and shuffle
    lines when ``noise``, write; returns (lines, garbled lines).

    ``pos_key`` / ``sta_key`` are two integer keys per row (for the random draws) and
    ``*_garble`` flags the rows to write garbled.
    """
    from seawatch.io.nmea.encode import iter_encoded

    pos_ts = positions["ts"].dt.epoch("us").to_numpy()
    sta_ts = statics["ts"].dt.epoch("us").to_numpy()
    all_ts = np.concatenate([pos_ts, sta_ts])
    order = np.argsort(all_ts, kind="stable")  # the encoder's documented order
    del pos_ts, sta_ts, all_ts
    n_pos = positions.height
    is5 = (statics["msg_type"].to_numpy() == 5) if statics.height else np.zeros(0, bool)
    n_lines_msg = np.concatenate([np.ones(n_pos, np.int64), np.where(is5, 2, 1)])[order]
    garble = np.concatenate([pos_garble, sta_garble])[order]
    key_a = np.concatenate([pos_key[0], sta_key[0]])[order]
    key_b = np.concatenate([pos_key[1], sta_key[1]])[order]
    del order
    n_msg = n_lines_msg.size
    done = 0
    lines = 0
    garbled = 0
    shuffle = _Shuffle()
    clock = "clock_ts" if "clock_ts" in positions.columns else None  # messy profile
    for buf, n in iter_encoded(positions, statics, source_column="source",
                               chunk_messages=ENCODE_MESSAGES, clock_column=clock):
        m = slice(done, done + int(_messages_in(n_lines_msg, done, n)))
        done = m.stop
        lines += n
        if not noise:
            fh.write(buf.data)
            continue
        buf = buf.copy()
        span_start = m.start // SHUFFLE_SPAN * SHUFFLE_SPAN
        span_end = min(span_start + SHUFFLE_SPAN, n_msg)
        out, g = _corrupt(buf, n_lines_msg[m], garble[m], key_a[m], key_b[m], seed,
                          m.start - span_start, m.stop - span_start, shuffle,
                          last=m.stop == span_end)
        garbled += g
        fh.write(out.data)
    return lines, garbled


def _messages_in(n_lines_msg: np.ndarray, done: int, n_lines: int) -> int:
    """How many messages from ``done`` on make up ``n_lines`` lines."""
    c = np.cumsum(n_lines_msg[done:done + n_lines])
    return int(np.searchsorted(c, n_lines, side="left")) + 1 if n_lines else 0


class _Shuffle:
    """Messages moved past the end of the part of a shuffle run written so far: their bytes
    and sort keys, kept for the next part."""

    def __init__(self) -> None:
        self.bytes = np.empty(0, np.uint8)
        self.length = np.empty(0, np.int64)
        self.key = np.empty(0, np.float64)


def _corrupt(buf: np.ndarray, n_lines_msg: np.ndarray, garble: np.ndarray, key_a: np.ndarray,
             key_b: np.ndarray, seed: int, first: int, stop: int, held: _Shuffle,
             last: bool) -> tuple[np.ndarray, int]:
    """Garble and shuffle the messages ``first`` .. ``stop - 1`` of a shuffle run (their
    lines in ``buf``); returns the bytes that can be written now and the garbled count.

    A message moves 1-4 places later: its sort key is its place in the run plus the move
    plus 0.5, and the run is written in key order (ties in message order). Messages whose
    key lies beyond ``stop`` wait in ``held`` for the next part, unless this is the
    ``last`` part of the run: so the parts give exactly the bytes of the whole run at once.
    """
    ends = np.flatnonzero(buf == 10)
    starts = np.r_[0, ends[:-1] + 1]
    length = ends - starts + 1
    first_line = np.cumsum(n_lines_msg) - n_lines_msg
    # garble the chosen messages (single-line ones only: see emit.emit_statics)
    g = np.flatnonzero(garble)
    if g.size:
        li = first_line[g]
        bang = _find_bang(buf, starts[li], length[li])
        body = length[li] - (bang - starts[li]) - 1  # sentence without the newline
        mode = rand.uniform(seed, S_GARBLE_MODE, key_a[g], key_b[g]) < TRUNCATE_SHARE
        at = bang + 7 + np.floor(rand.uniform(seed, S_GARBLE_POS, key_a[g], key_b[g])
                                 * np.maximum(body - 12, 1)).astype(np.int64)
        flip = at[~mode]
        buf[flip] = buf[flip] ^ np.uint8(0x04)  # low bits only: no new separators
        cut = li[mode]
        new_len = at[mode] - starts[cut] + 1
        buf[at[mode]] = 10
        length[cut] = new_len
    # shuffle whole messages a little
    n_msg = n_lines_msg.size
    unit_start = starts[first_line]
    unit_end = starts[first_line + n_lines_msg - 1] + length[first_line + n_lines_msg - 1]
    move = rand.uniform(seed, S_SHUFFLE, key_a, key_b) < SHUFFLE_RATE
    by = rand.integers(seed, S_SHUFFLE_BY, 1, 5, key_a, key_b)
    sort_key = np.arange(first, first + n_msg, dtype=np.float64) + np.where(move, by + 0.5,
                                                                           0.0)
    unit_len = np.where(garble, length[first_line], unit_end - unit_start)
    # the messages held from the previous part come first (they are earlier in the run)
    n_held = held.key.size
    all_buf = np.concatenate([held.bytes, buf]) if n_held else buf
    all_start = np.r_[np.cumsum(held.length) - held.length, unit_start + held.bytes.size]
    all_len = np.r_[held.length, unit_len]
    all_key = np.r_[held.key, sort_key]
    perm = np.argsort(all_key, kind="stable")
    now = perm if last else perm[all_key[perm] < stop]
    keep = np.empty(0, np.int64) if last else perm[all_key[perm] >= stop]
    out = gather_lines(all_buf, all_start, all_len, now)
    keep = np.sort(keep)  # message order, for the ties of the next part
    held.bytes = gather_lines(all_buf, all_start, all_len, keep)
    held.length = all_len[keep].astype(np.int64)
    held.key = all_key[keep]
    return out, int(g.size)


def _find_bang(buf: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Offset of the '!' that starts each line's sentence (after its tag block)."""
    out = np.empty(start.size, np.int64)
    for i in range(start.size):
        line = buf[start[i]:start[i] + length[i]]
        out[i] = start[i] + int(np.flatnonzero(line == 33)[0])
    return out


def csv_frame(rows: pl.DataFrame) -> pl.DataFrame:
    """MarineCadastre rows from position rows joined with their track's identity.

    ``rows`` needs mmsi, ts, lat, lon, sog, cog, heading, nav_status, cls, name, imo,
    callsign, ship_type, length, width, draught.
    """
    return rows.select(
        MMSI=pl.col("mmsi"),
        BaseDateTime=pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S"),
        LAT=pl.col("lat"),
        LON=pl.col("lon"),
        SOG=pl.col("sog").cast(pl.Float64).round(1),
        COG=pl.col("cog").cast(pl.Float64).round(1),
        Heading=pl.col("heading").fill_null(511),
        VesselName=pl.col("name"),
        IMO=pl.when(pl.col("imo") > 0).then(pl.format("IMO{}", pl.col("imo"))),
        CallSign=pl.col("callsign"),
        VesselType=pl.col("ship_type"),
        Status=pl.col("nav_status"),
        Length=pl.col("length"),
        Width=pl.col("width"),
        Draft=pl.col("draught"),
        Cargo=pl.lit(None, pl.Int64),
        TransceiverClass=pl.col("cls"),
    )
