"""``seawatch identity MMSI``: a vessel's identity history from the command line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
from typer.testing import CliRunner

from seawatch import schema
from seawatch.cli import app
from seawatch.io.result import ReadResult
from seawatch.store import Store

T0 = datetime(2026, 1, 15, tzinfo=UTC)


def invoke(*args: object, code: int = 0):
    result = CliRunner().invoke(app, [str(a) for a in args], env={"SEAWATCH_DB": ""})
    assert result.exit_code == code, (args, result.output, result.exception)
    assert "Traceback" not in result.output
    return result


def test_identity_history_command(tmp_path):
    reports = schema.conform(pl.DataFrame({
        "mmsi": [735000001] * 3 + [123456789],
        "ts": [T0, T0 + timedelta(hours=20), T0 + timedelta(hours=30), T0],
        "name": ["OCEAN STAR", "SEA WOLF", "SEA WOLF", "NOBODY"],
        "ship_type": [70, 30, 30, 0]}), schema.VESSELS)
    Store(tmp_path / "s").ingest_results([ReadResult(vessels=reports)], name="v",
                                         sha256="b" * 64, size=1)
    shown = invoke("identity", 735000001, "--store", tmp_path / "s").output
    assert "OCEAN STAR" in shown and "SEA WOLF" in shown and "Fishing" in shown
    assert "ECU" in shown
    assert "cannot be a ship" in invoke("identity", 123456789, "--store", tmp_path / "s").output
    assert "no identity report" in invoke("identity", 1, "--store", tmp_path / "s",
                                          code=2).output
