"""Exports of positions, events and vessels parse back to what the store holds."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

import polars as pl
import pytest

from seawatch import export, schema
from tests.api.rest.conftest import ISO_Z

KML = "{http://www.opengis.net/kml/2.2}"
FILTERS = {"bbox": "-82,-3,-80,-1", "start": "2026-01-15T13:00:00Z",
           "end": "2026-01-15T15:00:00Z"}


@pytest.fixture(scope="module")
def selected(store) -> pl.DataFrame:
    return store.positions(start="2026-01-15T13:00:00Z", end="2026-01-15T15:00:00Z",
                           bbox=(-82, -3, -80, -1)).collect()


def get(client, kind: str, fmt: str, **params):
    response = client.get(f"/api/v1/export/{kind}", params={**params, "format": fmt})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(export.MEDIA_TYPES[fmt].split(";")[0])
    assert response.headers["x-tlp"] in ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=\"seawatch-" + kind)
    assert disposition.endswith(f'.{export.SUFFIXES[fmt]}"')
    return response


def test_positions_csv(client, selected):
    body = get(client, "positions", "csv", **FILTERS).content
    frame = pl.read_csv(io.BytesIO(body))
    assert frame.columns == [*schema.POSITIONS, "marking"]
    assert frame.height == selected.height > 0
    assert set(frame["marking"]) == {"AMBER"}  # the store's default marking
    assert all(ISO_Z.match(t) for t in frame["ts"])
    back = frame.with_columns(pl.col("ts").str.to_datetime(time_zone="UTC", time_unit="us"))
    assert back["ts"].to_list() == selected["ts"].to_list()
    assert back["lat"].to_list() == selected["lat"].to_list()


def test_positions_parquet_equals_the_store(client, selected):
    body = get(client, "positions", "parquet", **FILTERS).content
    frame = pl.read_parquet(io.BytesIO(body))
    assert frame.equals(selected)
    meta = pl.read_parquet_metadata(io.BytesIO(body))
    assert meta["tlp"] == "AMBER"
    marking = json.loads(meta["seawatch:marking"])
    assert marking["tlp"] == "AMBER" and marking["owner"] == "ECU-NAVY"
    assert marking["banner"].startswith("TLP:AMBER // owner ECU-NAVY")


def test_positions_geojson_and_kml(client, selected):
    doc = json.loads(get(client, "positions", "geojson", **FILTERS).content)
    assert len(doc["features"]) == selected.height
    assert doc["marking"]["tlp"] == "AMBER" and doc["marking"]["tlp_version"] == "2.0"
    root = ET.fromstring(get(client, "positions", "kml", **FILTERS).content)
    banner = root.find(f"{KML}Document/{KML}description").text
    assert banner.startswith("TLP:AMBER // owner ECU-NAVY")
    marks = root.findall(f".//{KML}Placemark")
    assert len(marks) == selected.height
    first = marks[0]
    lon, lat = map(float, first.find(f"{KML}Point/{KML}coordinates").text.split(","))
    assert (lon, lat) == (selected["lon"][0], selected["lat"][0])
    assert ISO_Z.match(first.find(f"{KML}TimeStamp/{KML}when").text)
    data = {d.get("name"): d.find(f"{KML}value").text
            for d in first.findall(f"{KML}ExtendedData/{KML}Data")}
    assert int(data["mmsi"]) == selected["mmsi"][0]


def test_events_every_format(client, store):
    events = store.events().collect().sort("start", "event_id", descending=[True, False])
    response = get(client, "events", "csv")
    assert response.headers["x-tlp"] == "AMBER"  # the highest marking of the rows
    frame = pl.read_csv(io.BytesIO(response.content))
    marks = ["marking", "releasable_to", "owner_agency"]
    assert frame.height == events.height and frame.columns == [*schema.EVENTS, *marks]
    assert set(frame["marking"]) == {"AMBER"} and set(frame["owner_agency"]) == {"ECU-NAVY"}
    assert all(ISO_Z.match(t) for t in frame["start"]) and all(ISO_Z.match(t) for t in frame["end"])
    assert all(isinstance(json.loads(d), dict) for d in frame["details"])
    with io.StringIO(get(client, "events", "csv").text) as fh:
        assert sum(1 for _ in csv.DictReader(fh)) == events.height
    parquet = pl.read_parquet(io.BytesIO(get(client, "events", "parquet").content))
    assert parquet.drop(marks).sort("event_id").equals(events.sort("event_id"))
    doc = json.loads(get(client, "events", "geojson").content)
    assert {f["id"] for f in doc["features"]} == set(events["event_id"])
    assert doc["marking"]["tlp"] == "AMBER"
    assert {f["properties"]["marking"] for f in doc["features"]} == {"AMBER"}
    assert all(isinstance(f["properties"]["details"], dict) for f in doc["features"])
    root = ET.fromstring(get(client, "events", "kml").content)
    marks = root.findall(f".//{KML}Placemark")
    assert len(marks) == events.height
    spans = [m.find(f"{KML}TimeSpan") for m in marks]
    assert all(s.find(f"{KML}begin") is not None and s.find(f"{KML}end") is not None
               for s in spans)


def test_events_export_filters(client, store):
    encounters = store.events(type="encounter").collect()
    frame = pl.read_csv(io.BytesIO(get(client, "events", "csv", type="encounter").content))
    assert frame.height == encounters.height and set(frame["type"]) == {"encounter"}


def test_vessels_every_format(client):
    listed = client.get("/api/v1/vessels").json()["items"]
    frame = pl.read_csv(io.BytesIO(get(client, "vessels", "csv").content))
    assert frame["mmsi"].to_list() == [v["mmsi"] for v in listed]
    assert frame["ts"].to_list() == [v["ts"] for v in listed]
    parquet = pl.read_parquet(io.BytesIO(get(client, "vessels", "parquet").content))
    assert parquet["mmsi"].to_list() == [v["mmsi"] for v in listed]
    doc = json.loads(get(client, "vessels", "geojson").content)
    assert [f["id"] for f in doc["features"]] == [v["mmsi"] for v in listed]
    root = ET.fromstring(get(client, "vessels", "kml").content)
    names = [m.find(f"{KML}name").text for m in root.findall(f".//{KML}Placemark")]
    assert names == [v["name"] or str(v["mmsi"]) for v in listed]
    some = client.get("/api/v1/export/vessels", params={"q": listed[0]["name"] or "x"})
    assert pl.read_csv(io.BytesIO(some.content)).height >= 1


def test_positions_export_cap(client, monkeypatch):
    import seawatch.api.rest.export as rest

    monkeypatch.setattr(rest, "EXPORT_MAX_POSITIONS", 10)
    response = client.get("/api/v1/export/positions", params={"format": "csv"})
    assert response.status_code == 400
    assert "at most 10" in response.json()["detail"] and "narrow" in response.json()["detail"]
