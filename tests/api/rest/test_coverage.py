"""``GET /api/v1/coverage``: the store's feeds and its coverage outages, each once."""

from __future__ import annotations

from datetime import timedelta
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


def test_cells_count_the_positions_of_each_grid_cell(client, positions):
    response = client.get("/api/v1/coverage/cells")
    assert response.headers["content-type"].startswith("application/geo+json")
    fc = response.json()
    assert fc["type"] == "FeatureCollection" and fc["cell_deg"] == 1.0
    placed = positions.filter(pl.col("lat").is_finite() & pl.col("lon").is_finite())
    want = (
        placed.group_by((pl.col("lat") // 1).cast(pl.Int64).alias("la"),
                        (pl.col("lon") // 1).cast(pl.Int64).alias("lo"))
        .agg(pl.len().alias("n"), pl.col("ts").dt.truncate("1h").n_unique().alias("hours"),
             pl.col("source").unique().sort().alias("feeds"))
    )
    want_rows = {(r["la"], r["lo"]): r for r in want.iter_rows(named=True)}
    got = {(f["properties"]["cell_lat"], f["properties"]["cell_lon"]): f for f in fc["features"]}
    assert got.keys() == want_rows.keys()
    span = placed["ts"].max() - placed["ts"].min()
    assert fc["hours"] >= span.total_seconds() // 3600
    for key, f in got.items():
        p, w = f["properties"], want_rows[key]
        assert p["positions"] == w["n"] and p["hours"] == w["hours"] <= fc["hours"]
        assert p["feeds"] == w["feeds"]
        assert 0 < p["vessels_per_hour"] <= p["peak_vessels"]
        (ring,) = f["geometry"]["coordinates"]  # the cell's square, south-west corner first
        assert ring[0] == [key[1], key[0]] and ring[2] == [key[1] + 1, key[0] + 1]
        assert ISO_Z.match(p["first_ts"]) and ISO_Z.match(p["last_ts"])


def test_cells_in_a_window(client, positions):
    t0 = positions["ts"].min().replace(minute=0, second=0, microsecond=0)  # hours are kept
    # whole: [start, end) holds the hours that begin in it
    window = {"start": t0.isoformat(), "end": (t0 + timedelta(hours=1)).isoformat()}
    one = client.get("/api/v1/coverage/cells", params=window).json()
    assert one["hours"] == 1 and one["features"]
    first_hour = positions.filter(pl.col("ts") < t0 + timedelta(hours=1))
    assert sum(f["properties"]["positions"] for f in one["features"]) == first_hour.filter(
        pl.col("lat").is_finite() & pl.col("lon").is_finite()).height
    empty = client.get("/api/v1/coverage/cells?end=2000-01-01").json()
    assert empty["features"] == [] and empty["hours"] == 0 and empty["start"] is None
    bad = client.get("/api/v1/coverage/cells?start=yesterday")
    assert bad.status_code == 400 and "start" in bad.json()["detail"]


def test_a_partner_without_a_grant_gets_no_cells(app, sharing):
    from tests.api.conftest import make_client

    with make_client(app, headers=sharing.headers("partner_viewer")) as partner:
        assert partner.get("/api/v1/coverage/cells").json()["features"] == []
        assert partner.get("/api/v1/coverage").json()["feeds"] == []


@pytest.mark.parametrize("box", [(-92.0, -3.0, -79.0, 2.0), (-91.5, -2.5, -79.0, 2.0)])
def test_a_partner_gets_the_cells_its_grant_releases_whole(client, store_dir, tmp_path, box):
    """A grant of the positions in a box: the cells wholly inside it, counted as the host
    counts them (the grant's window is the whole store), and none a box edge cuts (their
    counts would hold positions the partner may not read); no feed named."""
    from seawatch.api import create_app
    from seawatch.share.db import open_state, utcnow
    from seawatch.share.grants import create_grant
    from tests.api.conftest import HOST, PARTNER, make_client, setup_sharing

    sharing = setup_sharing(open_state(f"sqlite:///{tmp_path / 'cells.db'}"))
    create_grant(sharing.state, grantor=HOST, grantee=PARTNER,
                 expires_at=utcnow() + timedelta(days=1), include_positions=True,
                 max_marking="AMBER", bbox=box)
    host = {(f["properties"]["cell_lat"], f["properties"]["cell_lon"]): f["properties"]
            for f in client.get("/api/v1/coverage/cells").json()["features"]}
    x0, y0, x1, y1 = box
    inside = {k for k in host if k[0] >= y0 and k[0] + 1 <= y1 and k[1] >= x0 and k[1] + 1 <= x1}
    assert inside and inside != set(host), "the box holds some of the cells, not all"
    app = create_app(store_dir, state=sharing.state)
    with make_client(app, headers=sharing.headers("partner_viewer")) as partner:
        got = partner.get("/api/v1/coverage/cells").json()["features"]
        assert partner.get("/api/v1/coverage").json()["feeds"] == []
    seen = {(f["properties"]["cell_lat"], f["properties"]["cell_lon"]): f["properties"]
            for f in got}
    assert seen.keys() == inside
    for key, p in seen.items():
        assert p["feeds"] == []
        assert p["positions"] == host[key]["positions"] and p["hours"] == host[key]["hours"]


def test_cells_shade_a_feeds_outage(two_captures):
    from seawatch.api import create_app
    from tests.api.conftest import local_client

    with local_client(create_app(two_captures, auth="local")) as client:
        fc = client.get("/api/v1/coverage/cells").json()
        # two captures of one hour each, two days apart: the window spans the hole
        assert fc["hours"] == 49 and fc["start"] == "2024-05-01T00:00:00Z"
        assert all(f["properties"]["hours"] == 2 for f in fc["features"])
        assert {s for f in fc["features"] for s in f["properties"]["feeds"]} == {
            "a.nmea", "b.nmea"}


def test_the_live_services_feed_outages_are_listed_beside_the_coverage(two_captures, tmp_path):
    """``outages.json`` of the store's live folder: each span to the second with its reason
    (an open one without an end), those overlapping the window; none for another agency,
    and an empty list for a store no live service ran on."""
    from seawatch.api import create_app
    from seawatch.live.outages import OutageLog
    from seawatch.share.db import open_state
    from tests.api.conftest import local_client, make_client, setup_sharing

    with local_client(create_app(two_captures, auth="local")) as client:
        assert client.get("/api/v1/coverage").json()["live_outages"] == []
    log = OutageLog(two_captures / "live" / "outages.json")
    t0 = 1_714_521_600.0  # 2024-05-01T00:00:00Z
    log.add("aggregator", t0 + 600, t0 + 600 + 7_300.5, "cannot connect: ConnectionRefused")
    log.begin("manta", t0 + 86_400, "connection broken")
    with local_client(create_app(two_captures, auth="local")) as client:
        body = client.get("/api/v1/coverage").json()
        closed, still = body["live_outages"]
        assert closed == {"kind": "feed", "source": "aggregator",
                          "start": "2024-05-01T00:10:00Z", "end": "2024-05-01T02:11:40.500000Z",
                          "hours": 1, "seconds": 7300.5,
                          "reason": "cannot connect: ConnectionRefused"}
        assert still["source"] == "manta" and still["end"] is None and still["seconds"] is None
        later = client.get("/api/v1/coverage?start=2024-05-01T12:00:00Z").json()
        assert [o["source"] for o in later["live_outages"]] == ["manta"]  # open: reaches now
        before = client.get("/api/v1/coverage?end=2024-05-01T00:10:00Z").json()
        assert before["live_outages"] == []
    sharing = setup_sharing(open_state(f"sqlite:///{tmp_path / 'live.db'}"))
    app = create_app(two_captures, state=sharing.state)
    with make_client(app, headers=sharing.headers("partner_viewer")) as partner:
        assert partner.get("/api/v1/coverage").json()["live_outages"] == []
