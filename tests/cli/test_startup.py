"""What ``seawatch ingest`` and ``seawatch ingest --detect`` load: a process pays for every
import, so the commands must not load what they do not use (docs/benchmarks.md, start-up).

Each command runs in a child process, whose loaded modules are then listed: an in-process
run would see whatever the other tests imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import shared_data_path

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import json, sys
from seawatch.cli import main
wanted = sys.argv[1].split(",")
sys.argv = ["seawatch", *sys.argv[2:]]
try:
    main()
except SystemExit as exit:
    assert not exit.code, exit.code
print(json.dumps(sorted(m for m in wanted if m in sys.modules)))
"""

NEVER = ["sqlalchemy", "fastapi", "uvicorn", "pandas", "seawatch.share.db",
         "seawatch.share.alerts", "seawatch.api"]
"""Modules neither command needs on a store without a sharing state."""
DETECTION = ["pyproj", "scipy.spatial", "seawatch.detect.config", "seawatch.detect.run",
             "seawatch.geo.shore", "shapely"]
"""Modules only the detection needs (pyproj: for some zones and geodesy)."""


def loaded(modules: list[str], *args: object) -> list[str]:
    """Which of ``modules`` a child running ``seawatch ARGS`` had loaded at its end."""
    env = {k: v for k, v in os.environ.items() if k != "SEAWATCH_DB"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run([sys.executable, "-c", CHILD, ",".join(modules), *map(str, args)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    names: list[str] = json.loads(done.stdout.splitlines()[-1])
    return names


@pytest.fixture
def capture() -> Path:
    """243 NMEA sentences without times (dma-aislib's ais250.txt)."""
    return shared_data_path("ais-nmea", "dma-aislib", "ais250.txt")


TIME = ["--time", "2024-05-01T00:00:00Z", "--duration", "1h"]


def test_ingest_loads_neither_the_detection_nor_the_sharing_layer(capture, tmp_path):
    assert loaded(NEVER + DETECTION, "ingest", capture, "--store", tmp_path / "s", *TIME) == []


def test_ingest_then_detect_without_a_state_loads_no_database_layer(capture, tmp_path):
    names = loaded([*NEVER, "seawatch.detect.run"], "ingest", capture, "--store",
                   tmp_path / "s", *TIME, "--detect")
    assert names == ["seawatch.detect.run"]  # the detection ran, the sharing layer stayed out


def test_detect_alone_loads_neither_pyarrow_nor_duckdb(capture, tmp_path):
    # polars reads and writes the store's Parquet; pyarrow (with its TLS for remote file
    # systems) and DuckDB are the ingest's
    store = tmp_path / "s"
    loaded([], "ingest", capture, "--store", store, *TIME)
    assert loaded([*NEVER, "pyarrow", "duckdb", "ssl"], "detect", "--store", store) == []
