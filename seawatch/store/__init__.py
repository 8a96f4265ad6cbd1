"""The embedded default storage: AIS tables as day-partitioned Parquet in one directory.

A :class:`Store` takes inputs (files or ``ReadResult`` chunks), removes duplicate reports,
and commits each input atomically; readers return Polars lazy frames over the live files.
See ``docs/store.md`` for the layout, the duplicate rule, the commit protocol and the module
of each concern (``seawatch/store/store.py`` lists them too).
"""

from __future__ import annotations

from seawatch.store.clocks import ClockSettings
from seawatch.store.dedup import DEFAULT_DEDUP_WINDOW, LateCopies
from seawatch.store.ingest import DEFAULT_MEMORY_LIMIT, IngestReport
from seawatch.store.layout import DataFile, Snapshot, StoreBusyError, StoreError
from seawatch.store.parts import PartsPolicy
from seawatch.store.read import bbox_filter
from seawatch.store.store import Store

__all__ = [
    "DEFAULT_DEDUP_WINDOW",
    "DEFAULT_MEMORY_LIMIT",
    "ClockSettings",
    "DataFile",
    "IngestReport",
    "LateCopies",
    "PartsPolicy",
    "Snapshot",
    "Store",
    "StoreBusyError",
    "StoreError",
    "bbox_filter",
]
