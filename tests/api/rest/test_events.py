"""``GET /api/v1/events`` and ``/events/{event_id}``: content checked against the store."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from tests.api.rest.conftest import parse


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


def test_events_by_risk_put_plain_crossings_last(client, events):
    from seawatch.risk import RiskParams

    weights = RiskParams().weights()
    body = client.get("/api/v1/events", params={"limit": 10000, "order": "risk"}).json()
    assert body["total"] == events.height == len(body["items"])
    risks = [weights[e["type"]] * (1.0 if e["score"] is None else e["score"])
             for e in body["items"]]
    assert risks == sorted(risks, reverse=True)
    assert risks[0] > 0
    # plain zone crossings and port visits weigh 0: after every event that weighs
    first_plain = next(i for i, e in enumerate(body["items"])
                       if e["type"] in ("zone_entry", "zone_exit", "port_visit"))
    assert all(r == 0 for r in risks[first_plain:])
    page = client.get("/api/v1/events", params={"limit": 3, "offset": 2, "order": "risk"})
    assert [e["event_id"] for e in page.json()["items"]] == [
        e["event_id"] for e in body["items"][2:5]]
    assert client.get("/api/v1/events", params={"order": "score"}).status_code in (400, 422)
