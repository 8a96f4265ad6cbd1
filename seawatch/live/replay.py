"""``seawatch replay``: play a capture or a simulated scenario as a live feed.

The lines of the file go out as they are, to ``udp://HOST:PORT`` (one datagram per line) or
``tcp://HOST:PORT`` (one connection) or ``nats://HOST:PORT/SUBJECT`` (one JetStream message
per line, the fragments of a multi-sentence message together: :mod:`seawatch.live.nats`),
each at the moment its time says, scaled by ``speed``: a line stamped ten minutes after the
first is sent ten seconds after it at speed 60. A line's time is the time the reader gives
its message (tag block ``c:``, a leading timestamp, a receiver's trailing field, ``$PGHP``;
the lines of a multi-sentence message and lines without a message take the time of the line
before); a capture with no time at all is played at ``rate`` lines per second. A line
earlier than the one before it is sent right after it (the order of the file is kept). A CSV
export (MarineCadastre, DMA, ...) is encoded as NMEA first (:mod:`seawatch.io.nmea.encode`:
a tag block with the station and the time), in time order.

``retime`` shifts the time of every tag block ``c:`` by one offset, so that the file's first
line is stamped with the moment it is sent; the traffic keeps its own spacing (speeds and
intervals stay true). At speed 1 each line is stamped when it is sent; faster, the stamps
run ahead of the clock (a decoder refuses times more than a day ahead,
:data:`seawatch.io.plausible.FUTURE_TOLERANCE`). A tag block whose checksum is wrong is
left as it is. Nothing else is rewritten.

The file is held in memory while it plays (its bytes and two 8-byte numbers per line).
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from seawatch.errors import InvalidValue, Unavailable
from seawatch.live.feeds import Endpoint

UNTIMED_START = datetime(2000, 1, 1, tzinfo=UTC)
"""Time given to the first line of a capture with no time (only the spacing matters)."""

CONNECT_TRIES_S = 10.0
"""How long a TCP replay keeps trying to connect (the receiver may still be starting)."""

NO_TIME = np.iinfo(np.int64).min


@dataclass
class Timed:
    """A file's lines (``data``, each ending in a line break; line ``i`` is
    ``data[starts[i]:starts[i + 1]]``) and their times (µs since the epoch)."""

    data: bytes
    starts: np.ndarray
    times_us: np.ndarray

    def __len__(self) -> int:
        return int(self.times_us.size)

    def line(self, i: int) -> bytes:
        return self.data[int(self.starts[i]) : int(self.starts[i + 1])]


def timed_lines(path: Path, format: str | None = None, rate: float = 10.0) -> Timed:
    """The lines of ``path`` to play and the time of each (see the module docstring)."""
    import seawatch.io
    from seawatch.io import sources
    from seawatch.io.nmea.reader import decode_lines, iter_nmea

    fmt = (format or seawatch.io.sniff_format(path)).lower()
    if fmt == "nmea":
        data = b"".join(c.data for c in sources.iter_chunks(path))
        spacing = f"{1e6 / rate:.0f}us"
        results = list(iter_nmea(path, default_time=UNTIMED_START, line_spacing=spacing,
                                 line_numbers=True))
    else:
        from seawatch.io.nmea.encode import encode_lines

        read = seawatch.io.read_input(path, format=fmt)
        data = encode_lines(read.positions, read.vessels, source_column="source")
        results = [decode_lines(data, line_numbers=True)]
    if data and not data.endswith(b"\n"):
        data += b"\n"
    buf = np.frombuffer(data, np.uint8)
    ends = np.flatnonzero(buf == 10)
    starts = np.concatenate([[0], ends + 1]).astype(np.int64)
    n = ends.size
    times = np.full(n, NO_TIME, np.int64)
    for result in results:
        for frame in result.tables().values():
            if frame.height and "line_no" in frame.columns:
                rows = frame.select("line_no", frame["ts"].dt.epoch("us").alias("t"))
                rows = rows.drop_nulls()
                lines = rows["line_no"].to_numpy() - 1
                ok = (lines >= 0) & (lines < n)
                times[lines[ok]] = rows["t"].to_numpy()[ok]
    have = times != NO_TIME
    if not have.any():
        times[:] = 0
    else:
        idx = np.where(have, np.arange(n), -1)
        np.maximum.accumulate(idx, out=idx)
        first = int(np.argmax(have))
        idx[idx < 0] = first
        times = times[idx]
    return Timed(data, starts, times)


_TAG = re.compile(rb"\\([^\\*]*)\*([0-9A-Fa-f]{2})\\")
_CTIME = re.compile(rb"(^|,)c:(\d{9,13})(?=,|$)")


def retime(lines: bytes, offset_s: int) -> bytes:
    """``lines`` with the ``c:`` time of every tag block (whose checksum is right) moved by
    ``offset_s`` seconds, its checksum written anew.

    >>> retime(b"\\\\s:rx,c:1700000000*30\\\\!AIVDM...\\n", 100)
    b'\\\\s:rx,c:1700000100*31\\\\!AIVDM...\\n'
    """

    def shift(m: re.Match[bytes]) -> bytes:
        body, given = m.group(1), int(m.group(2), 16)
        if _xor(body) != given or b"c:" not in body:
            return m.group(0)

        def move(c: re.Match[bytes]) -> bytes:
            digits = c.group(2)
            scale = 1000 if len(digits) >= 12 else 1
            return c.group(1) + b"c:%d" % (int(digits) + offset_s * scale)

        new = _CTIME.sub(move, body)
        return b"\\" + new + b"*%02X\\" % _xor(new)

    return _TAG.sub(shift, lines)


def _xor(data: bytes) -> int:
    x = 0
    for b in data:
        x ^= b
    return x


@dataclass
class ReplayReport:
    lines: int = 0
    bytes: int = 0
    seconds: float = 0.0
    file_seconds: float = 0.0


class _Sender:
    def __init__(self, to: Endpoint) -> None:
        self.udp = to.scheme == "udp"
        if self.udp:
            family = socket.AF_INET6 if ":" in to.host else socket.AF_INET
            self.sock = socket.socket(family, socket.SOCK_DGRAM)
            # not connected: a receiver that is not (yet) listening is no error, as on the air
            self.address = socket.getaddrinfo(to.host, to.port, family, socket.SOCK_DGRAM)[0][4]
            return
        deadline = time.monotonic() + CONNECT_TRIES_S
        while True:
            try:
                self.sock = socket.create_connection((to.host, to.port), timeout=5)
                break
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise Unavailable(f"cannot connect to {to.url}: {exc}; is `seawatch live "
                                      f"--listen {to.url}` running?") from exc
                time.sleep(0.2)

    def send(self, timed: Timed, i: int, j: int, offset_s: int | None) -> int:
        if self.udp:
            sent = 0
            for k in range(i, j):
                line = timed.line(k)
                if offset_s is not None:
                    line = retime(line, offset_s)
                self.sock.sendto(line, self.address)
                sent += len(line)
            return sent
        block = timed.data[int(timed.starts[i]) : int(timed.starts[j])]
        if offset_s is not None:
            block = retime(block, offset_s)
        self.sock.sendall(block)
        return len(block)

    def close(self) -> None:
        self.sock.close()


def replay(
    timed: Timed,
    to: Endpoint,
    speed: float = 60.0,
    retime_to_now: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
    sender: Any = None,
) -> ReplayReport:
    """Send ``timed``'s lines to ``to`` at ``speed`` times their pace (0: as fast as the
    connection takes them); see the module docstring."""
    if speed < 0:
        raise InvalidValue(f"--speed must be 0 (as fast as possible) or more, got {speed}")
    n = len(timed)
    report = ReplayReport()
    if n == 0:
        return report
    t = np.maximum.accumulate(timed.times_us)
    report.file_seconds = float(t[-1] - t[0]) / 1e6
    due = (t - t[0]) / 1e6 / speed if speed > 0 else np.zeros(n)
    if sender is None and to.scheme == "nats":
        from seawatch.live.nats import NatsPublisher

        sender = NatsPublisher(to)
    elif sender is None:
        sender = _Sender(to)
    offset_s = int(time.time() - t[0] / 1e6) if retime_to_now else None
    started = time.monotonic()
    i = 0
    try:
        while i < n:
            now = time.monotonic() - started
            j = int(np.searchsorted(due, now, side="right"))
            if j <= i:
                time.sleep(min(float(due[i]) - now, 0.25))
                continue
            report.bytes += sender.send(timed, i, j, offset_s)
            report.lines += j - i
            i = j
            if on_progress is not None:
                on_progress(i, n)
    finally:
        sender.close()
    report.seconds = time.monotonic() - started
    return report
