"""OGC API - Features under /ogc, read with OWSLib from a real uvicorn server."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest

from seawatch.api.ogc import CONFORMANCE, LIMIT_MAX
from seawatch.api.ogc.collections import CRS84

COLLECTIONS = ["vessels", "positions", "events", "zones"]


@pytest.fixture(scope="module")
def features(live_server, admin_headers):
    from owslib.ogcapi.features import Features

    return Features(live_server + "/ogc", headers=admin_headers)


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_landing_page_and_conformance(features, live_server):
    rels = {link["rel"]: link for link in features.links}
    for rel in ("self", "service-desc", "service-doc", "conformance", "data"):
        assert rel in rels
    assert rels["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert rels["data"]["href"] == live_server + "/ogc/collections"
    assert set(features.conformance()["conformsTo"]) == set(CONFORMANCE)
    api = features.api()  # OWSLib follows service-desc
    assert api["openapi"].startswith("3.0")
    assert "/ogc/collections/{collectionId}/items" in api["paths"]


def test_collections(features, store):
    listed = features.collections()
    assert [c["id"] for c in listed["collections"]] == COLLECTIONS
    assert features.feature_collections() == COLLECTIONS
    info = store.info()
    vessels = features.collection("vessels")
    assert vessels["itemType"] == "feature" and vessels["crs"] == [CRS84]
    x0, y0, x1, y1 = vessels["extent"]["spatial"]["bbox"][0]
    positions = store.positions().collect()
    assert (x0, y0, x1, y1) == (positions["lon"].min(), positions["lat"].min(),
                                positions["lon"].max(), positions["lat"].max())
    first, last = vessels["extent"]["temporal"]["interval"][0]
    assert parse(first) == info["first_ts"] and parse(last) == info["last_ts"]
    assert any(link["rel"] == "items" for link in vessels["links"])
    assert "temporal" not in features.collection("zones")["extent"]


def test_items_paging_with_next_links(features, store):
    total = store.info()["rows"]["positions"]
    page = features.collection_items("positions", limit=1000)
    assert page["type"] == "FeatureCollection"
    assert page["numberMatched"] == total and page["numberReturned"] == 1000
    assert len(page["features"]) == 1000 and parse(page["timeStamp"])
    rels = {link["rel"]: link["href"] for link in page["links"]}
    assert "offset=1000" in rels["next"] and "collection" in rels
    ids = {f["id"] for f in page["features"]}
    offset = 1000
    while offset < total:
        more = features.collection_items("positions", limit=1000, offset=offset)
        ids |= {f["id"] for f in more["features"]}
        offset += more["numberReturned"]
        assert more["numberReturned"] > 0
    last_links = {link["rel"] for link in more["links"]}
    assert "next" not in last_links and "prev" in last_links
    assert len(ids) == total


def test_items_bbox_and_datetime(features, store):
    box = [-82.0, -3.0, -80.0, -1.0]
    page = features.collection_items("positions", bbox=box, limit=LIMIT_MAX)
    expected = store.positions(bbox=tuple(box)).collect()
    assert page["numberMatched"] == expected.height == page["numberReturned"]
    for f in page["features"]:
        lon, lat = f["geometry"]["coordinates"]
        assert box[0] <= lon <= box[2] and box[1] <= lat <= box[3]
    t = "2026-01-15T13:00:00Z"
    after = features.collection_items("positions", datetime_=f"{t}/..", limit=1)
    before = features.collection_items("positions", datetime_=f"../{t}", limit=1)
    at = store.positions().filter(pl.col("ts") == parse(t)).collect().height
    assert after["numberMatched"] + before["numberMatched"] == store.info()["rows"][
        "positions"] + at
    one = store.positions().collect().row(0, named=True)
    instant = one["ts"].isoformat().replace("+00:00", "Z")
    exact = features.collection_items("positions", datetime_=instant, limit=100)
    assert any(f["properties"]["mmsi"] == one["mmsi"] for f in exact["features"])
    assert all(f["properties"]["ts"] == instant.replace(".000000", "")
               for f in exact["features"])


def test_events_datetime_overlap(features, store):
    events = store.events().collect()
    pair = events.filter(pl.col("type") == "encounter").row(0, named=True)
    middle = pair["start"] + (pair["end"] - pair["start"]) / 2
    window = f"{middle.isoformat()}/{(middle + timedelta(minutes=1)).isoformat()}"
    page = features.collection_items("events", datetime_=window, limit=LIMIT_MAX)
    assert pair["event_id"] in {f["id"] for f in page["features"]}
    expected = events.filter((pl.col("end") >= middle)
                             & (pl.col("start") <= middle + timedelta(minutes=1)))
    assert page["numberMatched"] == expected.height


def test_single_features(features, store):
    vessels = features.collection_items("vessels", limit=3)
    first = vessels["features"][0]
    again = features.collection_item("vessels", str(first["id"]))
    assert again["id"] == first["id"] and again["geometry"] == first["geometry"]
    assert {link["rel"] for link in again["links"]} == {"self", "collection"}
    position = features.collection_items("positions", limit=1)["features"][0]
    assert features.collection_item("positions", position["id"])["properties"] == position[
        "properties"]
    event_id = store.events(type="zone_entry").collect()["event_id"][0]
    event = features.collection_item("events", event_id)  # spaces and accents in the id
    assert event["id"] == event_id and isinstance(event["properties"]["details"], dict)
    zones = features.collection_items("zones")
    assert zones["numberMatched"] == 3
    zone = features.collection_item("zones", zones["features"][0]["id"])
    assert zone["properties"]["name"] == "Galápagos Marine Reserve"


def test_zones_bbox(features):
    galapagos = features.collection_items("zones", bbox=[-91.0, -1.0, -90.0, 0.0])
    assert galapagos["numberMatched"] == 3  # the reserve, territorial sea and EEZ all reach
    far = features.collection_items("zones", bbox=[10.0, 10.0, 11.0, 11.0])
    assert far["numberMatched"] == 0 and far["features"] == []


def test_limit_above_maximum_is_lowered_not_refused(features, store, monkeypatch):
    import seawatch.api.ogc as ogc

    monkeypatch.setattr(ogc, "LIMIT_MAX", 100)
    page = features.collection_items("positions", limit=10**6)
    assert page["numberReturned"] == 100 < store.info()["rows"]["positions"]
    assert "limit=100" in {link["rel"]: link["href"] for link in page["links"]}["next"]


def test_unknown_collection_and_feature_raise(features):
    with pytest.raises(RuntimeError, match="no collection"):
        features.collection("ships")
    with pytest.raises(RuntimeError, match="no feature"):
        features.collection_item("vessels", "1")
    with pytest.raises(RuntimeError, match="unknown query parameter"):
        features.collection_items("vessels", sortby=("mmsi", "asc"))
