"""Helpers that ingest test chunks, compare whole store states and check a store holds no stray
files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import polars as pl

from seawatch.store import IngestReport, Store, layout

MANIFEST_KEYS = (
    "name",
    "sha256",
    "size",
    "snapshot",
    "rows",
    "added",
    "duplicates",
    "quarantine",
    "stats",
)
"""Manifest fields that must match between two runs (ingested_at differs, by design)."""


def ingest(store: Store, name: str, chunks: Any, sha: str | None = None) -> IngestReport:
    """Ingest test chunks as one input called ``name`` (its SHA-256: the name, padded)."""
    return store.ingest_results(chunks, name=name, sha256=sha or name.ljust(64, "0"), size=100)


def sorted_frame(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(frame.columns, nulls_last=True)


def state(store: Store) -> dict[str, Any]:
    """Everything a user can read from the store, in a comparable form."""
    snap = store.snapshot()
    return {
        "snapshot": snap.id,
        "positions": sorted_frame(store.positions().collect()),
        "vessels": sorted_frame(store.vessels().collect()),
        "stations": sorted_frame(store.stations().collect()),
        "other_messages": sorted_frame(store.other_messages().collect()),
        "quarantine": sorted_frame(store.quarantine().collect()),
        "manifest": [{k: e.get(k) for k in MANIFEST_KEYS} for e in snap.inputs],
    }


def same_state(a: dict[str, Any], b: dict[str, Any]) -> bool:
    for key, value in a.items():
        if isinstance(value, pl.DataFrame):
            if not value.equals(b[key]):
                return False
        elif value != b[key]:
            return False
    return True


def stray_files(path: Path) -> list[str]:
    """Files under the table folders, snapshots and staging that the store does not use."""
    current = (path / layout.CURRENT).read_text().strip()
    snap = layout.Snapshot.from_json(layout.read_json(path / layout.SNAPSHOTS / current))
    live = snap.live_paths()
    stray = []
    for table in layout.FILE_TABLES:
        for dirpath, _dirs, files in os.walk(path / table):
            for name in files:
                rel = (Path(dirpath) / name).relative_to(path).as_posix()
                if rel not in live:
                    stray.append(rel)
    stray += [f"staging/{p.name}" for p in (path / layout.STAGING).iterdir()]
    stray += [
        f"snapshots/{p.name}" for p in (path / layout.SNAPSHOTS).iterdir() if p.name != current
    ]
    return stray
