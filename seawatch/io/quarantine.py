"""Bad input is quarantined, never lost without trace: each bad line gets a reason.

Readers count every bad line per :class:`Reason` and keep a bounded sample of the lines
themselves (``QuarantineLog``), so an ingest summary can say what went wrong and the store can
keep examples for a person to look at, whatever the size of the input.
"""

from __future__ import annotations

from collections import Counter
from enum import IntEnum

import polars as pl

from seawatch import schema

RAW_MAX_CHARS = 512
"""Quarantined lines are cut to this many characters."""


OK = 0
"""Status code of a good sentence or message in the decoding kernels (no :class:`Reason` is 0)."""


class Reason(IntEnum):
    """Why a line or message was quarantined.

    The decoding kernels (:mod:`seawatch.io.nmea.framing`, ``assembly``, ``payload``) write
    these members as their status codes (numba compiles them in as constants), and the reader
    turns each code back into its reason with ``Reason(code)``: a code has its name here and
    nowhere else. Codes are fixed once released: add new reasons at the end, never renumber
    (numba's cache of a kernel is not invalidated by a change in this file).
    """

    NOT_AIS = 1  # a line with no AIS sentence in it (GPS sentences, junk, bare tag blocks)
    BAD_CHECKSUM = 2  # the NMEA checksum does not match the sentence
    MALFORMED = 3  # the sentence's fields are not what NMEA 0183 AIS sentences hold
    BAD_PAYLOAD_CHAR = 4  # a character outside AIS 6-bit armouring in the payload
    EMPTY_PAYLOAD = 5  # no payload at all
    BAD_FILL_BITS = 6  # fill bits outside 0-5
    WRONG_LENGTH = 7  # payload too short for its message type
    ORPHAN_FRAGMENT = 8  # a fragment of a multi-sentence message with no group to join
    INCOMPLETE_GROUP = 9  # a multi-sentence group that never completed in its window
    IMPOSSIBLE_VALUE = 10  # a value no real report can carry (latitude 95, year 2300, ...)
    LINE_TOO_LONG = 11  # a line longer than the reader's limit (no NMEA line is that long)
    BAD_ROW = 12  # a CSV row whose required fields cannot be read
    NO_TIME = 13  # no time for the message and none could be inferred
    TRUNCATED = 14  # the file breaks off here (truncated or corrupt): the lines before are kept
    CLOCK_UNSTABLE = 15  # from a station whose clock disagrees with the others' unsteadily

    @property
    def label(self) -> str:
        return self.name.lower()


class QuarantineLog:
    """Counts bad lines per reason and keeps up to ``sample_per_reason`` of each."""

    def __init__(self, sample_per_reason: int = 1000) -> None:
        self.sample_per_reason = sample_per_reason
        self.counts: Counter[str] = Counter()
        self._rows: dict[str, list[tuple[str, int, str]]] = {}

    def add(self, reason: Reason | str, file: str, line_no: int, raw: str) -> None:
        label = reason.label if isinstance(reason, Reason) else reason
        self.counts[label] += 1
        rows = self._rows.setdefault(label, [])
        if len(rows) < self.sample_per_reason:
            rows.append((file, line_no, raw[:RAW_MAX_CHARS]))

    def add_count(self, reason: Reason | str, n: int) -> None:
        """Count ``n`` more of a reason without keeping samples (already-sampled bulk)."""
        label = reason.label if isinstance(reason, Reason) else reason
        if n:
            self.counts[label] += n

    def wants_sample(self, reason: Reason | str) -> int:
        """How many more samples of this reason the log would keep."""
        label = reason.label if isinstance(reason, Reason) else reason
        return self.sample_per_reason - len(self._rows.get(label, ()))

    def merge(self, other: QuarantineLog) -> None:
        self.counts.update(other.counts)
        for label, rows in other._rows.items():
            mine = self._rows.setdefault(label, [])
            mine.extend(rows[: max(0, self.sample_per_reason - len(mine))])

    def frame(self) -> pl.DataFrame:
        rows = [(f, n, label, raw) for label, rs in self._rows.items() for f, n, raw in rs]
        if not rows:
            return schema.empty(schema.QUARANTINE)
        files, lines, reasons, raws = zip(*rows, strict=True)
        return pl.DataFrame(
            {"file": files, "line_no": lines, "reason": reasons, "raw": raws},
            schema=schema.QUARANTINE,
        ).sort("file", "line_no", "reason", maintain_order=True)

    @property
    def total(self) -> int:
        return sum(self.counts.values())
