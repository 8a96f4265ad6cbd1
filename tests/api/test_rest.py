"""REST endpoints under /api/v1: content checked against the store."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from seawatch.api.query.vessels import VESSEL_FIELDS

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$")


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def positions(store) -> pl.DataFrame:
    return store.positions().collect()


@pytest.fixture(scope="module")
def events(store) -> pl.DataFrame:
    return store.events().collect()


def test_stats_match_the_store(client, store, events):
    body = client.get("/api/v1/stats").json()
    info = store.info()
    assert body["positions"] == info["rows"]["positions"] > 1000
    assert body["vessels"] == info["vessels"]
    assert body["events"] == events.height
    assert body["events_by_type"] == dict(events.group_by("type").len().iter_rows())
    assert body["days"] == [info["first_day"]]
    assert sum(body["positions_by_day"].values()) == body["positions"]
    assert ISO_Z.match(body["first_ts"]) and ISO_Z.match(body["last_ts"])
    assert parse(body["first_ts"]) == info["first_ts"]
    assert body["detection"]["stale"] is False


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


def test_track_default_is_the_last_day_of_the_vessel(client, positions):
    mmsi = positions.group_by("mmsi").len().sort("len")["mmsi"][-1]
    feature = client.get(f"/api/v1/vessels/{mmsi}/track").json()
    mine = positions.filter((pl.col("mmsi") == mmsi) & pl.col("lat").is_not_null()).sort("ts")
    props = feature["properties"]
    assert feature["geometry"]["type"] == "LineString"
    assert props["points_total"] == props["points_returned"] == mine.height
    coords = feature["geometry"]["coordinates"]
    assert len(coords) == len(props["times"]) == len(props["sog"]) == len(props["cog"])
    assert coords[0] == pytest.approx([mine["lon"][0], mine["lat"][0]])
    assert [parse(t) for t in props["times"]] == mine["ts"].to_list()


def test_track_simplified_for_zoom_keeps_ends_and_times(client, positions):
    mmsi = positions.group_by("mmsi").len().sort("len")["mmsi"][-1]
    full = client.get(f"/api/v1/vessels/{mmsi}/track").json()
    coarse = client.get(f"/api/v1/vessels/{mmsi}/track", params={"zoom": 5}).json()
    fine = client.get(f"/api/v1/vessels/{mmsi}/track", params={"zoom": 16}).json()
    n_coarse = coarse["properties"]["points_returned"]
    assert 2 <= n_coarse < full["properties"]["points_returned"]
    assert n_coarse <= fine["properties"]["points_returned"]
    assert coarse["properties"]["points_total"] == full["properties"]["points_total"]
    c, f = coarse["geometry"]["coordinates"], full["geometry"]["coordinates"]
    assert c[0] == f[0] and c[-1] == f[-1]
    times = coarse["properties"]["times"]
    assert len(times) == len(c) and times == sorted(times)
    full_at = dict(zip(full["properties"]["times"], map(tuple, f), strict=True))
    assert all(full_at[t] == tuple(xy) for t, xy in zip(times, c, strict=True))


def test_track_window(client, positions):
    mmsi = positions["mmsi"][0]
    mine = positions.filter(pl.col("mmsi") == mmsi).sort("ts")
    start = mine["ts"][0] + timedelta(minutes=30)
    end = start + timedelta(hours=1)
    feature = client.get(f"/api/v1/vessels/{mmsi}/track", params={
        "start": start.isoformat(), "end": end.isoformat()}).json()
    times = [parse(t) for t in feature["properties"]["times"]]
    assert times and all(start <= t < end for t in times)
    expected = mine.filter((pl.col("ts") >= start) & (pl.col("ts") < end)
                           & pl.col("lat").is_not_null()).height
    assert feature["properties"]["points_total"] == expected
    empty = client.get(f"/api/v1/vessels/{mmsi}/track",
                       params={"start": "2020-01-01", "end": "2020-01-02"}).json()
    assert empty["geometry"] is None and empty["properties"]["times"] == []


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


def test_events_newest_first_with_details_objects(client, events):
    body = client.get("/api/v1/events", params={"limit": 10000}).json()
    assert body["total"] == events.height == len(body["items"])
    starts = [parse(e["start"]) for e in body["items"]]
    assert starts == sorted(starts, reverse=True)
    assert all(isinstance(e["details"], dict) for e in body["items"])
    assert set(body["items"][0]) == {*events.columns, "marking", "releasable_to",
                                     "owner_agency"}
    first = body["items"][0]
    assert (first["marking"], first["releasable_to"], first["owner_agency"]) == (
        "AMBER", [], "ECU-NAVY")  # the store's default marking, owned by the host


def test_events_filters(client, events):
    types = client.get("/api/v1/events", params={"type": "zone_entry,zone_exit"}).json()
    assert types["total"] == events.filter(pl.col("type").is_in(["zone_entry", "zone_exit"])).height
    assert {e["type"] for e in types["items"]} == {"zone_entry", "zone_exit"}
    pair = events.filter(pl.col("type") == "encounter").row(0, named=True)
    for mmsi in (pair["mmsi"], pair["other_mmsi"]):
        found = client.get("/api/v1/events", params={"mmsi": mmsi}).json()["items"]
        assert pair["event_id"] in [e["event_id"] for e in found]
    zone = events.filter(pl.col("zone").is_not_null())["zone"][0]
    in_zone = client.get("/api/v1/events", params={"zone": zone.upper()}).json()
    assert in_zone["total"] == events.filter(pl.col("zone") == zone).height
    scored = client.get("/api/v1/events", params={"min_score": 0.9}).json()
    assert scored["total"] == events.filter(pl.col("score") >= 0.9).height
    assert scored["total"] < events.height
    t = pair["start"] + timedelta(minutes=10)
    window = client.get("/api/v1/events", params={
        "start": t.isoformat(), "end": (t + timedelta(minutes=1)).isoformat()}).json()
    assert pair["event_id"] in [e["event_id"] for e in window["items"]]
    for e in window["items"]:
        assert parse(e["end"]) >= t and parse(e["start"]) < t + timedelta(minutes=1)


def test_events_geojson(client, events):
    doc = client.get("/api/v1/events", params={"format": "geojson", "limit": 5}).json()
    assert len(doc["features"]) == 5 and doc["total"] == events.height
    f = doc["features"][0]
    assert f["id"] == f["properties"]["event_id"]
    assert isinstance(f["properties"]["details"], dict)


def test_event_detail_with_evidence(client, events):
    pair = events.filter(pl.col("type") == "encounter").row(0, named=True)
    body = client.get(f"/api/v1/events/{pair['event_id']}").json()
    assert body["event"]["event_id"] == pair["event_id"]
    assert isinstance(body["event"]["details"], dict)
    assert [v["mmsi"] for v in body["vessels"]] == [pair["mmsi"], pair["other_mmsi"]]
    evidence = body["evidence"]
    points = [f for f in evidence["features"] if f["geometry"]["type"] == "Point"]
    lines = [f for f in evidence["features"] if f["geometry"]["type"] == "LineString"]
    assert {p["properties"]["mmsi"] for p in points} == {pair["mmsi"], pair["other_mmsi"]}
    lo = pair["start"] - timedelta(hours=2)
    hi = pair["end"] + timedelta(hours=2)
    assert all(lo <= parse(p["properties"]["ts"]) <= hi for p in points)
    assert any(pair["start"] <= parse(p["properties"]["ts"]) <= pair["end"] for p in points)
    assert sorted(line["properties"]["mmsi"] for line in lines) == sorted(
        [pair["mmsi"], pair["other_mmsi"]])
    for line in lines:
        assert len(line["geometry"]["coordinates"]) == len(line["properties"]["times"])
    narrow = client.get(f"/api/v1/events/{pair['event_id']}",
                        params={"margin_hours": 0}).json()["evidence"]
    narrow_points = [f for f in narrow["features"] if f["geometry"]["type"] == "Point"]
    assert 0 < len(narrow_points) <= len(points)
    assert all(pair["start"] <= parse(p["properties"]["ts"]) <= pair["end"]
               for p in narrow_points)


def test_event_ids_with_spaces_and_accents_resolve(client, events):
    zone_event = events.filter(pl.col("zone").is_not_null()).row(0, named=True)
    from urllib.parse import quote

    response = client.get("/api/v1/events/" + quote(zone_event["event_id"], safe=""))
    assert response.status_code == 200
    assert response.json()["vessels"][0]["mmsi"] == zone_event["mmsi"]


def test_zones_default(client):
    doc = client.get("/api/v1/zones").json()
    names = [f["properties"]["name"] for f in doc["features"]]
    assert names == ["Galápagos Marine Reserve", "Ecuador territorial sea", "Ecuador EEZ"]
    assert doc["source"] == "default"
    assert {f["geometry"]["type"] for f in doc["features"]} <= {"Polygon", "MultiPolygon"}
    assert doc["features"][0]["id"] == "galapagos-marine-reserve"


def test_land_basemap_is_small_and_covers_manta(client):
    import shapely

    response = client.get("/api/v1/basemap/land")
    assert len(response.content) < 3_000_000
    doc = response.json()
    land = shapely.union_all([shapely.geometry.shape(f["geometry"]) for f in doc["features"]])
    assert land.contains(shapely.Point(-80.68, -0.97))  # Manta, on land
    assert not land.contains(shapely.Point(-81.5, -1.2))  # at sea off Manta
    assert client.get("/api/v1/basemap/land").content == response.content  # cached


def test_store_with_no_data(empty_client):
    stats = empty_client.get("/api/v1/stats").json()
    assert stats["positions"] == stats["events"] == 0 and stats["days"] == []
    assert stats["first_ts"] is None and stats["detection"] is None
    assert empty_client.get("/api/v1/vessels").json()["items"] == []
    fc = empty_client.get("/api/v1/vessels", params={"format": "geojson"}).json()
    assert fc["features"] == []
    assert empty_client.get("/api/v1/positions").json() == {
        "items": [], "total": 0, "limit": 1000, "offset": 0, "next": None, "links": []}
    assert empty_client.get("/api/v1/events").json()["items"] == []
    assert empty_client.get("/api/v1/vessels/735057000").status_code == 404
    assert len(empty_client.get("/api/v1/zones").json()["features"]) == 3
    assert empty_client.get("/api/v1/basemap/land").json()["features"]
    for kind in ("positions", "events", "vessels"):
        for fmt in ("csv", "geojson", "kml", "parquet"):
            r = empty_client.get(f"/api/v1/export/{kind}", params={"format": fmt})
            assert r.status_code == 200, (kind, fmt, r.text)


def test_new_ingest_is_seen_while_serving(tmp_path):
    from seawatch.api import create_app
    from seawatch.store import Store
    from tests.api.api_store import positions_chunk
    from tests.api.conftest import local_client

    store = Store(tmp_path / "s")
    store.ingest_results([positions_chunk([(735057000, "2026-01-15T12:00:00Z", -1.0, -81.0)])],
                         name="a", sha256="a" * 64, size=1)
    client = local_client(create_app(tmp_path / "s", auth="local"))
    assert client.get("/api/v1/stats").json()["positions"] == 1
    assert client.get("/api/v1/vessels").json()["items"][0]["lat"] == -1.0
    store.ingest_results(
        [positions_chunk([(735057000, "2026-01-16T12:00:00Z", -2.0, -82.0),
                          (224000000, "2026-01-16T12:00:00Z", -3.0, -83.0)])],
        name="b", sha256="b" * 64, size=1,
    )
    stats = client.get("/api/v1/stats").json()
    assert stats["positions"] == 3 and stats["days"] == ["2026-01-15", "2026-01-16"]
    vessels = {v["mmsi"]: v for v in client.get("/api/v1/vessels").json()["items"]}
    assert set(vessels) == {735057000, 224000000}
    assert vessels[735057000]["lat"] == -2.0
    assert vessels[224000000]["flag"] == "ESP"


def test_now_is_not_used_for_defaults(client):
    # the default track window follows the data, not the clock: data from 2026-01-15
    mmsi = client.get("/api/v1/vessels").json()["items"][0]["mmsi"]
    props = client.get(f"/api/v1/vessels/{mmsi}/track").json()["properties"]
    assert parse(props["end"]) < datetime(2026, 1, 16, tzinfo=UTC)
