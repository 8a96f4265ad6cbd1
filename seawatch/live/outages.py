"""Outages of live feeds: each span a ``--connect`` feed had no connection, recorded once.

The store lists the silences it can see in its data (:func:`seawatch.store.coverage.outages`,
whole hours without a delivery). A live feed knows more: the moment its connection broke and
the moment it came back, and why. :class:`OutageLog` keeps these spans in ``outages.json``
beside the write-ahead log, rewritten atomically at each change (an open span has no
``end``), and :func:`outages_frame` lists them with the columns of the store's outages
(``kind`` ``"feed"``, ``source`` the feed, ``start``, ``end``, ``hours``: whole hours in the
span) plus ``seconds`` and ``reason``.

A span still open when the service stopped is closed at the stop (the feed was down for as
long as it was watched); one left open by a crash is closed at the last moment the crashed
service was known to be alive (its last status), given to :meth:`OutageLog.close_open`. The
time the service itself was not running (from its last status to its next start, stopped or
crashed) is an outage of each of its feeds too: nothing was received.

Examples
--------
>>> import tempfile
>>> log = OutageLog(Path(tempfile.mkdtemp()) / "outages.json")
>>> log.begin("manta", 1_768_478_400.0, "cannot connect: ConnectionRefusedError")
>>> log.end("manta", 1_768_478_400.0 + 7300)
>>> outages_frame(log.spans).select("kind", "source", "hours", "seconds").row(0)
('feed', 'manta', 2, 7300.0)
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from seawatch import schema
from seawatch.store import layout
from seawatch.store.coverage import OUTAGES

COLUMNS: dict[str, pl.DataType] = {**OUTAGES, "seconds": pl.Float64(), "reason": pl.String()}
"""Columns of :func:`outages_frame`: the store's outage columns, ``seconds`` and ``reason``."""

LIVE_FOLDER = "live"
"""The live folder's name in a store (``seawatch live``'s default ``--wal-dir``)."""
OUTAGES_FILE = "outages.json"
"""The file of the spans, in the live folder."""


class OutageLog:
    """The outage spans of live feeds, kept in ``path`` (JSON, rewritten atomically)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.spans: list[dict[str, Any]] = []
        if path.is_file():
            self.spans = json.loads(path.read_text(encoding="utf-8"))

    def _save(self) -> None:
        layout.atomic_write(self.path, json.dumps(self.spans, indent=1).encode() + b"\n",
                            self.path.parent)

    def begin(self, feed: str, start: float, reason: str) -> None:
        """A span of ``feed`` without connection starts at ``start`` (seconds since the
        epoch); nothing when one is already open."""
        if any(s["source"] == feed and s["end"] is None for s in self.spans):
            return
        self.spans.append({"kind": "feed", "source": feed, "start": start, "end": None,
                           "reason": reason})
        self._save()

    def end(self, feed: str, end: float) -> None:
        """The open span of ``feed`` ends at ``end``."""
        changed = False
        for span in self.spans:
            if span["source"] == feed and span["end"] is None:
                span["end"] = max(end, span["start"])
                changed = True
        if changed:
            self._save()

    def add(self, feed: str, start: float, end: float, reason: str) -> None:
        """A whole span of ``feed`` (known once it is over)."""
        self.spans.append({"kind": "feed", "source": feed, "start": start,
                           "end": max(end, start), "reason": reason})
        self._save()

    def close_open(self, end: float, note: str) -> int:
        """Close every open span at ``end`` (a service that stopped without closing them);
        the number closed."""
        n = 0
        for span in self.spans:
            if span["end"] is None:
                span["end"] = max(end, span["start"])
                span["reason"] += f" ({note})"
                n += 1
        if n:
            self._save()
        return n


def outages_frame(spans: list[dict[str, Any]]) -> pl.DataFrame:
    """The spans as a table (:data:`COLUMNS`), open ones ending now-less (null ``end``)."""
    if not spans:
        return schema.empty(COLUMNS)
    frame = pl.DataFrame(
        {
            "kind": [s["kind"] for s in spans],
            "source": [s["source"] for s in spans],
            "start": [int(s["start"] * 1e6) for s in spans],
            "end": [None if s["end"] is None else int(s["end"] * 1e6) for s in spans],
            "reason": [s["reason"] for s in spans],
        },
        schema={"kind": pl.String, "source": pl.String, "start": pl.Int64, "end": pl.Int64,
                "reason": pl.String},
    )
    hour = 3_600_000_000
    frame = frame.with_columns(
        ((pl.col("end") - pl.col("start")) / 1e6).alias("seconds"),
        (pl.col("end") // hour - (pl.col("start") + hour - 1) // hour).clip(0).alias("hours"),
        pl.col("start").cast(schema.TS),
        pl.col("end").cast(schema.TS),
    )
    return schema.conform(frame, COLUMNS).select(list(COLUMNS)).sort("start", "source")


def live_outages(store: Path, live_dir: Path | None = None, start: datetime | None = None,
                 end: datetime | None = None) -> pl.DataFrame | None:
    """The outages ``seawatch live`` recorded for the feeds of ``store`` (its live folder,
    default ``<store>/live``), as :func:`outages_frame`; those overlapping ``[start, end)``
    when given (an open span reaches now). None when the store has no live folder with an
    outages file (no live service ran on it)."""
    path = (Path(live_dir) if live_dir is not None else Path(store) / LIVE_FOLDER) / OUTAGES_FILE
    try:
        spans = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):  # being replaced, or damaged: nothing to show now
        spans = []
    frame = outages_frame(spans if isinstance(spans, list) else [])
    if start is not None:
        frame = frame.filter(pl.col("end").is_null() | (pl.col("end") >= start))
    if end is not None:
        frame = frame.filter(pl.col("start") < end)
    return frame
