"""``GET /api/v1/vessels`` and ``/vessels/{mmsi}``: content checked against the store."""

from __future__ import annotations

import polars as pl
import pytest

from seawatch.api.query.vessels import VESSEL_FIELDS
from tests.api.rest.conftest import parse


def test_vessels_are_the_latest_position_of_each_vessel(client, positions):
    body = client.get("/api/v1/vessels").json()
    expected = positions.filter(pl.col("lat").is_not_null())["mmsi"].n_unique()
    assert body["total"] == len(body["items"]) == expected
    assert body["offset"] == 0 and body["next"] is None
    item = body["items"][0]
    assert list(item) == list(VESSEL_FIELDS)
    last = positions.filter(pl.col("mmsi") == item["mmsi"]).sort("ts").tail(1)
    assert parse(item["ts"]) == last["ts"].item()
    assert item["lat"] == pytest.approx(last["lat"].item())
    assert item["cls"] in ("A", "B")
    mmsis = [i["mmsi"] for i in body["items"]]
    assert mmsis == sorted(mmsis)


def test_vessels_paging(client):
    all_items = client.get("/api/v1/vessels").json()["items"]
    page = client.get("/api/v1/vessels", params={"limit": 5, "offset": 5}).json()
    assert [i["mmsi"] for i in page["items"]] == [i["mmsi"] for i in all_items[5:10]]
    assert page["next"] == 10 and page["limit"] == 5


def test_vessels_geojson_has_every_vessel_as_a_point(client):
    listed = client.get("/api/v1/vessels").json()
    response = client.get("/api/v1/vessels", params={"format": "geojson"})
    assert response.headers["content-type"].startswith("application/geo+json")
    doc = response.json()
    assert doc["type"] == "FeatureCollection"
    assert len(doc["features"]) == listed["total"]
    feature = doc["features"][0]
    assert feature["geometry"]["type"] == "Point"
    assert feature["id"] == feature["properties"]["mmsi"]
    assert set(VESSEL_FIELDS) <= set(feature["properties"])
    lon, lat = feature["geometry"]["coordinates"]
    assert (lon, lat) == (feature["properties"]["lon"], feature["properties"]["lat"])


def test_vessels_geojson_same_with_and_without_gzip(client):
    zipped = client.get("/api/v1/vessels", params={"format": "geojson"},
                        headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    plain = client.get("/api/v1/vessels", params={"format": "geojson"},
                       headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.json() == zipped.json() and plain.json()["features"]


def test_vessels_bbox_keeps_only_vessels_inside(client):
    box = (-82.0, -3.0, -80.0, -1.0)
    body = client.get("/api/v1/vessels", params={"bbox": ",".join(map(str, box))}).json()
    assert body["total"] > 0
    for item in body["items"]:
        assert box[0] <= item["lon"] <= box[2] and box[1] <= item["lat"] <= box[3]
    everything = client.get("/api/v1/vessels").json()["items"]
    inside = [i for i in everything
              if box[0] <= i["lon"] <= box[2] and box[1] <= i["lat"] <= box[3]]
    assert body["total"] == len(inside)


def test_vessel_search_by_name_callsign_mmsi_and_imo(client):
    items = client.get("/api/v1/vessels").json()["items"]
    named = next(i for i in items if i["name"] and i["callsign"] and i["imo"])
    word = named["name"].split()[0].lower()
    found = client.get("/api/v1/vessels", params={"q": word}).json()["items"]
    assert named["mmsi"] in [i["mmsi"] for i in found]
    assert all(word in (i["name"] or "").lower() or word in (i["callsign"] or "").lower()
               for i in found)
    by_callsign = client.get("/api/v1/vessels", params={"q": named["callsign"].lower()}).json()
    assert by_callsign["items"][0]["mmsi"] == named["mmsi"]  # exact match ranks first
    prefix = str(named["mmsi"])[:5]
    by_mmsi = client.get("/api/v1/vessels", params={"q": prefix}).json()["items"]
    assert named["mmsi"] in [i["mmsi"] for i in by_mmsi]
    assert all(str(i["mmsi"]).startswith(prefix) or str(i["imo"] or "").startswith(prefix)
               for i in by_mmsi)
    by_imo = client.get("/api/v1/vessels", params={"q": f"IMO {named['imo']}"}).json()
    assert [i["mmsi"] for i in by_imo["items"]] == [named["mmsi"]]
    assert client.get("/api/v1/vessels", params={"q": "no such vessel"}).json()["total"] == 0


def test_vessel_detail(client, positions, events):
    item = client.get("/api/v1/vessels").json()["items"][3]
    body = client.get(f"/api/v1/vessels/{item['mmsi']}").json()
    for key in VESSEL_FIELDS:
        assert body[key] == item[key]
    mine = positions.filter(pl.col("mmsi") == item["mmsi"])
    assert body["positions"] == mine.height
    assert parse(body["first_ts"]) == mine["ts"].min()
    involved = events.filter((pl.col("mmsi") == item["mmsi"])
                             | (pl.col("other_mmsi") == item["mmsi"]))
    assert body["events"] == involved.height
    assert isinstance(body["sog"], float) and len(str(body["sog"])) < 8  # not float32 noise
