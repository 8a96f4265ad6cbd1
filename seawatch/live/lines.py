"""Cut what a connection delivers into whole lines for the write-ahead log.

A TCP stream arrives in reads that end anywhere, a UDP datagram usually holds whole lines.
:class:`LineFramer` keeps, per connection (or UDP sender), the unfinished last line until its
line break comes, and gives back blocks of whole lines. The work is done on the block as a
whole (``bytes.rfind``, ``re.sub``); there is no loop over the lines of a block:

- a line that grows past :data:`MAX_LINE` bytes without a line break is no NMEA line: its
  head is kept as a sample, the rest skipped up to the next line break, and it is reported
  as ``line_too_long`` (the decoder's reason for such a line);
- blank lines (spaces, CR, NUL only) are dropped and counted;
- the fragments that end a block and whose multi-sentence message is not complete yet
  (``!AIVDM,2,1,...`` without its ``2,2``) are held back until the rest arrives or
  ``hold_s`` passes, so that a message is not cut between two log records: each record
  then decodes on its own, as the file would (see docs/live.md).

Examples
--------
>>> f = LineFramer()
>>> f.feed(b"!AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*23\\n!AIVDM,2,1,3,A,5")
b'!AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*23\\n'
>>> f.feed(b"3m9,0*5F\\n")  # fragment 1 of 2: held for its second
b''
>>> f.feed(b"!AIVDM,2,2,3,A,88888888880,2*24\\n")
b'!AIVDM,2,1,3,A,53m9,0*5F\\n!AIVDM,2,2,3,A,88888888880,2*24\\n'
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

MAX_LINE = 4096
"""Longest line kept (bytes, the NMEA decoder's own limit, ``framing.MAX_LINE``): no NMEA line
with its tag block and receiver fields comes close."""

MAX_HELD_LINES = 9
"""Most lines held back for one message (AIS messages have at most 9 sentences)."""

_BLANK = re.compile(rb"(?m)^[ \t\r\x00]*\n")
_FRAGMENT = re.compile(rb"!\w\wVD[MO],([1-9]),([1-9]),(\d?),")


@dataclass
class Cut:
    """A line refused before logging: why (a ``Reason`` label), and its head."""

    reason: str
    sample: bytes


class LineFramer:
    """Whole lines of one connection's bytes; see the module docstring.

    ``hold_s``: the longest the first fragments of a message wait for the rest
    (:meth:`expired` then releases them). ``cuts`` collects the lines refused
    (:class:`Cut`), ``blank`` counts the blank lines dropped.
    """

    def __init__(self, hold_s: float = 2.0, max_line: int = MAX_LINE) -> None:
        self.hold_s = hold_s
        self.max_line = max_line
        self.rest = b""  # the unfinished last line
        self.skipping = False  # inside a line too long, whose head was already reported
        self.held = b""  # trailing fragments of a message not yet complete
        self.held_since: float | None = None
        self.cuts: list[Cut] = []
        self.blank = 0

    def feed(self, data: bytes, now: float | None = None) -> bytes:
        """Take one read; return the block of whole lines it completes (maybe empty)."""
        if self.skipping:
            nl = data.find(b"\n")
            if nl < 0:
                return self.expired(now)
            data = data[nl + 1 :]
            self.skipping = False
        buf = self.rest + data
        cut = buf.rfind(b"\n")
        lines, self.rest = buf[: cut + 1], buf[cut + 1 :]
        if len(self.rest) > self.max_line:
            self.cuts.append(Cut("line_too_long", self.rest[: self.max_line]))
            self.rest, self.skipping = b"", True
        if not lines:
            return self.expired(now)
        lines = self._drop_blank(lines)
        return self._hold_tail(self.held + lines, now)

    def end_of_datagram(self, now: float | None = None) -> bytes:
        """A datagram ends its last line, with or without a line break."""
        if not self.rest:
            return self.expired(now)
        rest, self.rest = self.rest, b""
        return self.feed(rest + b"\n", now)

    def close(self, broken: bool = False) -> bytes:
        """The end of the stream: everything held, and the unfinished line (a clean end of a
        stream ends its last line; a broken connection cut it: it is reported as
        ``truncated`` instead)."""
        out = self.held
        self.held, self.held_since = b"", None
        rest, self.rest = self.rest, b""
        if rest and broken:
            self.cuts.append(Cut("truncated", rest[: self.max_line]))
        elif rest.strip(b" \t\r\x00"):
            out += rest + b"\n"
        self.skipping = False
        return out

    def expired(self, now: float | None = None) -> bytes:
        """The held fragments, once they have waited ``hold_s`` (else nothing)."""
        if not self.held or self.held_since is None:
            return b""
        now = time.monotonic() if now is None else now
        if now - self.held_since < self.hold_s:
            return b""
        out, self.held, self.held_since = self.held, b"", None
        return out

    def _drop_blank(self, lines: bytes) -> bytes:
        kept, n = _BLANK.subn(b"", lines)
        self.blank += n
        return kept

    def _hold_tail(self, lines: bytes, now: float | None) -> bytes:
        """``lines`` less the trailing fragments of an incomplete message (held back)."""
        keep = len(lines)
        expect = None  # the fragment number the line before should carry
        count = seq = b""
        for _ in range(MAX_HELD_LINES):
            if keep == 0:
                break
            start = lines.rfind(b"\n", 0, keep - 1) + 1
            m = _FRAGMENT.search(lines, start, keep)
            if m is None:
                break
            n_count, n_num, n_seq = m.group(1), int(m.group(2)), m.group(3)
            if expect is None:
                if int(n_count) <= n_num:  # the last line completes its message
                    break
                count, seq = n_count, n_seq
            elif n_num != expect or n_count != count or n_seq != seq:
                break
            keep = start
            if n_num == 1:
                break
            expect = n_num - 1
        if keep == len(lines):
            self.held, self.held_since = b"", None
            return lines
        still_waiting = bool(self.held) and keep == 0  # the fragments held before are held
        self.held = lines[keep:]
        if not still_waiting or self.held_since is None:
            self.held_since = time.monotonic() if now is None else now
        return lines[:keep]
