"""Tests of the written scenario: files, NMEA and CSV that read back to the same positions,
the ``seawatch sim`` command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from seawatch import schema
from seawatch.cli import app
from seawatch.evaluate import read_events
from seawatch.io.csv import read_csv
from seawatch.io.nmea import read_nmea
from seawatch.sim import simulate, write_scenario
from seawatch.sim.output import CSV_COLUMNS
from seawatch.store import Store
from tests.sim.conftest import WRITTEN

FILES = {"nmea": "traffic.nmea", "csv": "traffic.csv", "zones": "zones.geojson",
         "ports": "ports.csv", "truth": "truth.parquet", "truth_json": "truth.json",
         "negatives": "negatives.parquet", "scenario": "scenario.json"}
POSITION_COLUMNS = ["mmsi", "ts", "lat", "lon", "sog", "cog", "heading"]


def test_write_scenario_writes_every_file(written: dict[str, Path]) -> None:
    assert {k: p.name for k, p in written.items()} == FILES
    assert all(p.is_file() and p.stat().st_size > 0 for p in written.values())
    doc = json.loads(written["scenario"].read_text())
    assert doc["parameters"]["seed"] == WRITTEN["seed"]
    assert doc["parameters"]["start"] == "2026-01-15T12:00:00Z"
    assert doc["counts"]["lines"] > doc["counts"]["positions_written"] > 0
    zones = json.loads(written["zones"].read_text())
    assert [f["properties"]["name"] for f in zones["features"]] == [
        "Galápagos Marine Reserve", "Ecuador territorial sea", "Ecuador EEZ"]
    ports = pl.read_csv(written["ports"])
    assert ports.columns[:3] == ["name", "lat", "lon"] and ports.height > 1000
    truth = pl.read_parquet(written["truth"])
    assert truth.schema == pl.Schema(schema.EVENTS)
    from_json = read_events(written["truth_json"])
    assert from_json.select("type", "mmsi", "start", "end").equals(
        truth.select("type", "mmsi", "start", "end"))
    assert pl.read_parquet(written["negatives"]).schema == pl.Schema(schema.EVENTS)
    header = written["csv"].read_text().splitlines()[0]
    assert header == ",".join(CSV_COLUMNS)


def test_nmea_reads_back_to_the_observed_positions(written: dict[str, Path]) -> None:
    result = read_nmea(written["nmea"])
    s = simulate(**WRITTEN)
    key = ["ts", "mmsi", "source", "lat", "lon"]
    assert result.positions.sort(key).equals(s.observed.sort(key))
    doc = json.loads(written["scenario"].read_text())
    # every garbled line, and nothing else, is quarantined
    assert result.quarantine.height == doc["counts"]["lines_garbled"] > 0
    assert set(result.quarantine["reason"]) <= {"bad_checksum", "malformed", "truncated",
                                                "bad_payload"}
    lines = written["nmea"].read_text().splitlines()
    assert 0.001 < result.quarantine.height / len(lines) < 0.005
    stations = {line.split(",")[0].removeprefix("\\s:") for line in lines}
    assert "sat-leo" in stations and len(stations) >= 4
    times = np.array([int(line.split("c:")[1].split("*")[0]) for line in lines])
    back = np.diff(times) < 0
    assert 0 < back.sum() < 0.05 * times.size  # a few lines out of order, not many
    assert result.vessels.height > 0 and set(result.vessels["msg_type"]) == {5, 24}


def test_nmea_and_csv_ingest_to_the_same_positions(written: dict[str, Path],
                                                    tmp_path: Path) -> None:
    from_nmea = Store(tmp_path / "a")
    from_nmea.ingest([written["nmea"]])
    from_csv = Store(tmp_path / "b")
    from_csv.ingest([written["csv"]])
    a = from_nmea.positions().collect().select(POSITION_COLUMNS).sort("mmsi", "ts")
    b = from_csv.positions().collect().select(POSITION_COLUMNS).sort("mmsi", "ts")
    assert a.height > 1000
    assert a.equals(b)


def test_csv_reads_as_marinecadastre(written: dict[str, Path]) -> None:
    result = read_csv(written["csv"])
    assert result.quarantine.height == 0
    s = simulate(**WRITTEN)
    got = result.positions.select(POSITION_COLUMNS)
    # one row per report that reached the data, with the values a decoder reads
    assert got.select("mmsi", "ts").sort("mmsi", "ts").equals(
        s.positions.select("mmsi", "ts").sort("mmsi", "ts"))
    observed = s.observed.select(POSITION_COLUMNS)
    assert got.join(observed, on=POSITION_COLUMNS, how="anti", nulls_equal=True).height == 0
    b = result.positions.filter(pl.col("mmsi").is_in(
        s.observed.filter(pl.col("msg_type") == 18)["mmsi"].unique().to_list()))
    assert b["nav_status"].is_null().all()
    assert set(result.vessels["ship_type"].drop_nulls()) >= {30, 70}


def test_without_noise_the_nmea_is_the_positions_exactly(tmp_path: Path) -> None:
    paths = write_scenario(tmp_path / "quiet", seed=4, hours=2.0, vessels=40, noise=False,
                           csv=False)
    assert "csv" not in paths and not (tmp_path / "quiet" / "traffic.csv").exists()
    s = simulate(seed=4, hours=2.0, vessels=40, noise=False)
    result = read_nmea(paths["nmea"])
    assert result.quarantine.height == 0
    assert result.positions.sort("ts", "mmsi").equals(s.positions.sort("ts", "mmsi"))
    assert result.vessels.sort("ts", "mmsi", "msg_type", "name").equals(
        s.vessels.sort("ts", "mmsi", "msg_type", "name"))
    assert set(result.positions["source"]) == {"seawatch-sim"}
    first = paths["nmea"].read_text().splitlines()[0]
    assert first.startswith("\\s:seawatch-sim,c:17684784")


def test_cli_sim_writes_every_file(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    result = CliRunner().invoke(app, ["sim", "--seed", "2", "--hours", "2", "--vessels", "30",
                                      "--out", str(out), "--start", "2026-02-01T00:00:00Z"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES.values())
    doc = json.loads((out / "scenario.json").read_text())
    assert doc["parameters"]["start"] == "2026-02-01T00:00:00Z"
    assert "truth" in result.output


@pytest.mark.parametrize("args, message", [
    (["--hours", "0"], "--hours must be positive"),
    (["--vessels", "-3"], "--vessels must be zero or more"),
    (["--start", "yesterday"], "ISO 8601"),
])
def test_cli_sim_rejects_bad_options(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["sim", "--out", str(tmp_path / "x"), *args])
    assert result.exit_code == 2
    assert message in result.output.replace("\n", " ")


def test_files_are_identical_across_processes(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    args = {"seed": 9, "hours": 7.0, "vessels": 60}
    here = write_scenario(tmp_path / "a", **args)
    code = ("import sys; from seawatch.sim import write_scenario; "
            f"write_scenario(sys.argv[1], **{args!r})")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "b")], check=True, env=env)
    for key in ("nmea", "csv", "truth_json", "zones", "ports"):
        assert here[key].read_bytes() == (tmp_path / "b" / here[key].name).read_bytes(), key
    assert pl.read_parquet(here["truth"]).equals(pl.read_parquet(tmp_path / "b" / "truth.parquet"))
