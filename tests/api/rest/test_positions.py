"""``GET /api/v1/positions``: filters and paging checked against the store."""

from __future__ import annotations

import polars as pl

from tests.api.rest.conftest import ISO_Z, parse


def test_positions_bbox_and_time_filter(client, positions):
    box = (-82.0, -3.0, -80.0, -1.0)
    start, end = "2026-01-15T13:00:00Z", "2026-01-15T15:00:00Z"
    body = client.get("/api/v1/positions", params={
        "bbox": ",".join(map(str, box)), "start": start, "end": end, "limit": 10000}).json()
    lo, hi = parse(start), parse(end)
    expected = positions.filter(
        pl.col("lon").is_between(box[0], box[2]) & pl.col("lat").is_between(box[1], box[3])
        & (pl.col("ts") >= lo) & (pl.col("ts") < hi)
    )
    assert body["total"] == len(body["items"]) == expected.height > 0
    for p in body["items"]:
        assert box[0] <= p["lon"] <= box[2] and box[1] <= p["lat"] <= box[3]
        assert lo <= parse(p["ts"]) < hi


def test_positions_paging_walks_every_row_once(client, positions):
    mmsis = positions["mmsi"].unique().sort().head(3).to_list()
    wanted = positions.filter(pl.col("mmsi").is_in(mmsis)).height
    seen: list[tuple[int, str]] = []
    params = {"mmsi": ",".join(map(str, mmsis)), "limit": 100, "offset": 0}
    while True:
        body = client.get("/api/v1/positions", params=params).json()
        assert body["total"] == wanted
        seen += [(p["mmsi"], p["ts"]) for p in body["items"]]
        if body["next"] is None:
            assert body["links"] == []
            break
        assert body["next"] == params["offset"] + 100
        assert any(link["rel"] == "next" and "offset=" in link["href"] for link in body["links"])
        params["offset"] = body["next"]
    assert len(seen) == wanted == len(set(seen))
    assert {m for m, _ in seen} == set(mmsis)


def test_positions_geojson(client):
    doc = client.get("/api/v1/positions", params={"limit": 7, "format": "geojson"}).json()
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 7
    assert doc["next"] == 7 and doc["total"] > 7
    f = doc["features"][0]
    assert f["geometry"]["coordinates"] == [f["properties"]["lon"], f["properties"]["lat"]]
    assert ISO_Z.match(f["properties"]["ts"])


def test_positions_default_limit(client):
    body = client.get("/api/v1/positions").json()
    assert body["limit"] == 1000 and len(body["items"]) == 1000 and body["next"] == 1000
