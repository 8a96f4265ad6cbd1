"""The export writers: every format parses back, markings attach to each, and the command
line's files keep their shape."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import polars as pl
import pytest

from seawatch import export, schema
from seawatch.errors import InvalidValue

KML = "{http://www.opengis.net/kml/2.2}"
MARKING = {"tlp": "AMBER", "tlp_version": "2.0", "owner": "ECU-NAVY",
           "banner": "TLP:AMBER // owner ECU-NAVY // limited disclosure"}


@pytest.fixture
def events() -> pl.DataFrame:
    frame = pl.DataFrame({
        "event_id": ["gap:1:20260115T000000Z", "loitering:2:20260115T010000Z"],
        "type": ["gap", "loitering"],
        "mmsi": [1, 2],
        "start": [datetime(2026, 1, 15, tzinfo=UTC), datetime(2026, 1, 15, 1, tzinfo=UTC)],
        "end": [datetime(2026, 1, 15, 2, tzinfo=UTC),
                datetime(2026, 1, 15, 3, 0, 0, 500, tzinfo=UTC)],
        "lat": [None, -0.5],
        "lon": [None, -90.25],
        "score": [float("nan"), 0.75],
        "details": ['{"gap_hours": 2.0}', None],
    })
    return schema.conform(frame, schema.EVENTS)


def test_kml_escapes_text_and_drops_control_characters():
    frame = pl.DataFrame({"lat": [1.0, None], "lon": [2.0, None],
                          "name": ['A&B <"C">', "bad\x01char"]})
    root = ET.fromstring(export.kml_text(frame, title="t & u", name=pl.col("name")))
    marks = root.findall(f".//{KML}Placemark")
    assert [m.find(f"{KML}name").text for m in marks] == ['A&B <"C">', "badchar"]
    assert marks[1].find(f"{KML}Point") is None


def test_geojson_writer_handles_nan_null_and_raw_json():
    frame = pl.DataFrame({"lat": [float("nan"), 1.0], "lon": [1.0, 2.0],
                          "sog": [float("nan"), 3.5], "details": [None, '{"a":[1,2]}']})
    doc = json.loads(export.geojson_points(frame, raw_json=["details"], members={"n": 2}))
    assert doc["n"] == 2
    assert doc["features"][0]["geometry"] is None
    assert doc["features"][0]["properties"]["sog"] is None
    assert doc["features"][0]["properties"]["details"] is None
    assert doc["features"][1]["properties"]["details"] == {"a": [1, 2]}


def test_records_json_times_are_iso_utc():
    from datetime import timedelta, timezone

    t = datetime(2026, 1, 15, 7, 0, tzinfo=timezone(timedelta(hours=-5)))
    frame = pl.DataFrame({"ts": [t, t.replace(microsecond=5)]})
    assert json.loads(export.records_json(frame)) == [
        {"ts": "2026-01-15T12:00:00Z"}, {"ts": "2026-01-15T12:00:00.000005Z"}]


def test_layout_records_and_features_agree(events):
    records = json.loads(export.EVENTS.records(events))
    doc = json.loads(export.EVENTS.collection(events, {"total": 2}))
    assert doc["total"] == 2
    assert [f["properties"] for f in doc["features"]] == records
    assert [f["id"] for f in doc["features"]] == events["event_id"].to_list()
    assert records[0]["details"] == {"gap_hours": 2.0} and records[1]["details"] is None
    assert doc["features"][0]["geometry"] is None
    assert doc["features"][1]["geometry"] == {"type": "Point", "coordinates": [-90.25, -0.5]}
    assert records[1]["end"] == "2026-01-15T03:00:00.000500Z"
    ids = pl.col("mmsi").cast(pl.String)
    assert json.loads("[" + export.EVENTS.features(events, id_expr=ids) + "]")[1]["id"] == "2"


def test_render_attaches_the_marking_to_every_format(events):
    csv = pl.read_csv(io.BytesIO(export.render(events, "csv", export.EVENTS, marking=MARKING)))
    assert csv.columns == [*schema.EVENTS, "marking"] and set(csv["marking"]) == {"AMBER"}
    marked = events.with_columns(pl.lit("RED").alias("marking"))  # rows with their own
    own = pl.read_csv(io.BytesIO(export.render(marked, "csv", export.EVENTS, marking=MARKING)))
    assert set(own["marking"]) == {"RED"}
    doc = json.loads(export.render(events, "geojson", export.EVENTS, marking=MARKING))
    assert doc["marking"] == MARKING and len(doc["features"]) == 2
    body = export.render(events, "parquet", export.EVENTS, marking=MARKING)
    assert pl.read_parquet(io.BytesIO(body)).equals(events, null_equal=True)
    meta = pl.read_parquet_metadata(io.BytesIO(body))
    assert meta["tlp"] == "AMBER" and json.loads(meta["seawatch:marking"]) == MARKING
    root = ET.fromstring(export.render(events, "kml", export.EVENTS, marking=MARKING))
    assert root.find(f"{KML}Document/{KML}description").text == MARKING["banner"]
    assert root.find(f"{KML}Document/{KML}name").text == "seawatch events"
    names = [m.find(f"{KML}name").text for m in root.findall(f".//{KML}Placemark")]
    assert names == ["gap 1", "loitering 2"]


def test_render_without_marking_adds_nothing(events):
    assert pl.read_csv(io.BytesIO(export.render(events, "csv", export.EVENTS))).columns == \
        list(schema.EVENTS)
    assert "marking" not in json.loads(export.render(events, "geojson", export.EVENTS))
    body = export.render(events, "parquet", export.EVENTS)
    assert "tlp" not in (pl.read_parquet_metadata(io.BytesIO(body)) or {})
    with pytest.raises(InvalidValue, match="unknown format 'xml'"):
        export.render(events, "xml", export.EVENTS)


def test_file_format_from_suffix_or_name(tmp_path):
    assert export.file_format(tmp_path / "a.GEOJSON", None) == "geojson"
    assert export.file_format(tmp_path / "a.json", None) == "geojson"
    assert export.file_format(tmp_path / "a.parquet", None) == "parquet"
    assert export.file_format(tmp_path / "a.kml", None) == "kml"  # every format of the API
    assert export.file_format(tmp_path / "a.txt", "KML") == "kml"
    assert export.file_format(tmp_path / "a.json", "geojson") == "geojson"
    with pytest.raises(InvalidValue, match=r"cannot tell the format of a.txt .* \.kml"):
        export.file_format(tmp_path / "a.txt", None)  # never CSV under another name
    with pytest.raises(InvalidValue, match=r"format kml does not match the file name a\.csv"):
        export.file_format(tmp_path / "a.csv", "kml")
    with pytest.raises(InvalidValue, match="valid: geojson, csv, parquet, kml"):
        export.file_format(tmp_path / "a.csv", "xml")


def test_command_line_files(events, tmp_path):
    """The files of ``seawatch events --out``: CSV with NaN as written, GeoJSON features
    without ids and a final newline, Parquet the table as it is."""
    assert export.write_file(events, tmp_path / "x" / "e.csv", None, export.EVENTS) == "csv"
    text = (tmp_path / "x" / "e.csv").read_text()
    assert text.splitlines()[0] == ",".join(schema.EVENTS)
    assert ",NaN," in text and "2026-01-15T03:00:00.000500Z" in text
    export.write_file(events, tmp_path / "e.json", "geojson", export.EVENTS)
    body = (tmp_path / "e.json").read_text()
    assert body.endswith("\n]}\n")
    doc = json.loads(body)
    assert all("id" not in f for f in doc["features"])
    assert doc["features"][0]["properties"]["score"] is None
    export.write_file(events.head(0), tmp_path / "none.geojson", None, export.EVENTS)
    assert (tmp_path / "none.geojson").read_text() == \
        '{"type":"FeatureCollection","features":[]}\n'
    export.write_file(events, tmp_path / "e.parquet", None, export.EVENTS)
    assert pl.read_parquet(tmp_path / "e.parquet").equals(events, null_equal=True)
    assert export.write_file(events, tmp_path / "e.kml", None, export.EVENTS) == "kml"
    assert (tmp_path / "e.kml").read_text().count("<Placemark>") == events.height


def test_point_coordinates_are_written_as_polars_encodes_floats():
    """The geometry's text (string concatenation) equals Polars' JSON encoding of the
    coordinates, extreme and negative-zero values included."""
    values = [-0.0, 0.0, 1e-07, 5e-324, 1e16, 1e20, -180.0, 179.99999999999997, 0.1 + 0.2,
              123456789.12345679, -80.70000000000002]
    frame = pl.DataFrame({"lon": values, "lat": values[::-1]})
    written = frame.select(export.point_json()).to_series().to_list()
    encoded = frame.select(pl.struct(type=pl.lit("Point"), coordinates=pl.concat_list(
        pl.col("lon"), pl.col("lat"))).struct.json_encode()).to_series().to_list()
    assert written == encoded
    assert [json.loads(w)["coordinates"] for w in written] == \
        [[x, y] for x, y in zip(values, values[::-1], strict=True)]

