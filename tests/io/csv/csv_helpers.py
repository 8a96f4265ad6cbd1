"""Helpers of the CSV reader tests (a uniquely named module, so test files can import it)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from seawatch import schema
from seawatch.io.result import ReadResult

REPO = Path(__file__).resolve().parents[3]
AIS_CSV = (REPO / ".." / "shared" / "data" / "ais-csv").resolve()
"""Real AIS CSV samples: ``shared/data`` beside the repository (see its SOURCES.md)."""


def assert_canonical(result: ReadResult) -> None:
    """Every table of ``result`` has exactly the columns and types of ``seawatch.schema``."""
    assert result.positions.schema == pl.Schema(schema.POSITIONS)
    assert result.vessels.schema == pl.Schema(schema.VESSELS)
    assert result.stations.schema == pl.Schema(schema.STATIONS)
    assert result.quarantine.schema == pl.Schema(schema.QUARANTINE)


def write(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` as UTF-8 bytes (no newline translation) and return the path."""
    path.write_bytes(text.encode("utf-8"))
    return path
