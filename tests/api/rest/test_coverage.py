"""``GET /api/v1/coverage``: the store's feeds and its coverage outages, each once."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tests.api.rest.conftest import ISO_Z, parse
from tests.conftest import shared_data_path


def test_feeds_are_the_sources_of_the_positions(client, store, positions):
    body = client.get("/api/v1/coverage").json()
    assert body["cell_deg"] == 1.0 and body["min_outage_h"] == 6
    counts = dict(positions.group_by("source").len().iter_rows())
    assert {f["source"]: f["positions"] for f in body["feeds"]} == counts
    for feed in body["feeds"]:
        assert ISO_Z.match(feed["first_ts"]) and ISO_Z.match(feed["last_ts"])
        mine = positions.filter(pl.col("source") == feed["source"])["ts"]
        assert (parse(feed["first_ts"]), parse(feed["last_ts"])) == (mine.min(), mine.max())
        assert feed["vessels_per_hour"] > 0


def test_a_window_and_a_bad_parameter(client):
    body = client.get("/api/v1/coverage?end=2000-01-01").json()
    assert body["feeds"] == [] and body["outages"] == []
    low = client.get("/api/v1/coverage?min_hours=0")
    assert low.status_code == 400 and "min_hours" in low.json()["detail"]
    bad = client.get("/api/v1/coverage?start=2026-01-16&end=2026-01-15")
    assert bad.status_code == 400 and "start" in bad.json()["detail"]


@pytest.fixture
def two_captures(tmp_path: Path) -> Path:
    """The same 243 lines (without times) as two captures two days apart."""
    from typer.testing import CliRunner

    from seawatch.cli import app

    lines = shared_data_path("ais-nmea", "dma-aislib", "ais250.txt").read_text().splitlines()
    store = tmp_path / "store"
    for name, day, kept in (("a.nmea", "2024-05-01", lines), ("b.nmea", "2024-05-03", lines[2:])):
        path = tmp_path / name
        path.write_text("\n".join(kept) + "\n")
        args = ["ingest", str(path), "--store", str(store), "--time", f"{day}T00:00:00Z",
                "--duration", "1h"]
        assert CliRunner().invoke(app, args).exit_code == 0
    return store


def test_the_hole_between_two_captures_is_one_outage(two_captures):
    from seawatch.api import create_app
    from tests.api.conftest import local_client

    with local_client(create_app(two_captures, auth="local")) as client:
        body = client.get("/api/v1/coverage").json()
        assert [f["source"] for f in body["feeds"]] == ["a.nmea", "b.nmea"]
        (outage,) = body["outages"]  # once, whatever the number of vessels it silenced
        assert outage["kind"] == "store" and outage["source"] is None
        assert outage["start"].startswith("2024-05-01T00:59") and outage["hours"] == 47
        assert outage["end"] == "2024-05-03T00:00:00Z"
        assert client.get("/api/v1/coverage?min_hours=48").json()["outages"] == []
