"""``seawatch detect`` and ``seawatch events``: run, re-run, export, and clear errors."""

from __future__ import annotations

import csv
import json
import re

import polars as pl
import pytest
import shapely
from typer.testing import CliRunner

from seawatch import evaluate, schema
from seawatch.cli import app
from seawatch.share.markings import MARKING_COLUMNS
from seawatch.store import Store
from tests.detect.test_run import CARGO, CHN, chunk, scenario

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$")


def invoke(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def store_dir(tmp_path):
    frame, vessels = scenario()
    path = tmp_path / "store"
    Store(path).ingest_results([chunk(frame, vessels)], name="one", sha256="a" * 64, size=1)
    return path


@pytest.fixture
def detected(store_dir):
    result = invoke("detect", "--store", store_dir)
    assert result.exit_code == 0, result.output
    return store_dir


def test_detect_prints_counts_and_rerunning_replaces(store_dir):
    first = invoke("detect", "--store", store_dir)
    assert first.exit_code == 0, first.output
    assert "fishing_in_zone" in first.output and "port_visit" in first.output
    stored = Store(store_dir).events().collect()
    assert stored.height > 0
    assert f"{stored.height} events written to the store" in first.output.replace(",", "")
    second = invoke("detect", "--store", store_dir)
    assert second.exit_code == 0, second.output
    assert f"replacing the {stored.height} events of the last run" in second.output
    again = Store(store_dir).events().collect()
    assert again.equals(stored)


def test_export_csv(detected, tmp_path):
    out = tmp_path / "out" / "events.csv"
    result = invoke("events", "--store", detected, "--out", out)
    assert result.exit_code == 0, result.output
    with out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == [*schema.EVENTS, *MARKING_COLUMNS]
    assert {r["marking"] for r in rows} == {"AMBER"}  # no state: the default level
    assert all(ISO_UTC.match(r["start"]) and ISO_UTC.match(r["end"]) for r in rows)
    stored = Store(detected).events().collect()
    assert len(rows) == stored.height
    back = evaluate.read_events(out)
    assert back.select("event_id", "start", "end").equals(stored.select("event_id", "start", "end"))
    assert json.loads(rows[0]["details"])  # details stay a JSON object


def test_export_csv_of_one_type(detected, tmp_path):
    out = tmp_path / "visits.csv"
    result = invoke("events", "--store", detected, "--type", "port_visit", "--out", out)
    assert result.exit_code == 0, result.output
    frame = pl.read_csv(out)
    assert frame["type"].unique().to_list() == ["port_visit"]
    assert frame["mmsi"].to_list() == [CARGO]
    assert frame["start"][0].endswith("Z")


def test_export_geojson(detected, tmp_path):
    out = tmp_path / "events.geojson"
    result = invoke("events", "--store", detected, "--out", out, "--format", "geojson")
    assert result.exit_code == 0, result.output
    text = out.read_text()
    doc = json.loads(text)
    stored = Store(detected).events().collect()
    assert doc["type"] == "FeatureCollection"
    assert len(doc["features"]) == stored.height
    for feature, row in zip(doc["features"], stored.iter_rows(named=True), strict=True):
        assert feature["type"] == "Feature"
        assert feature["geometry"]["type"] == "Point"
        assert feature["geometry"]["coordinates"] == [row["lon"], row["lat"]]
        props = feature["properties"]
        assert set(props) == {*schema.EVENTS, *MARKING_COLUMNS}
        assert props["event_id"] == row["event_id"] and props["mmsi"] == row["mmsi"]
        assert ISO_UTC.match(props["start"]) and isinstance(props["details"], dict)
    collection = shapely.from_geojson(text)
    points = shapely.get_parts(collection)
    assert len(points) == stored.height
    assert {p.geom_type for p in points} == {"Point"}


def test_export_geojson_with_a_missing_position_and_no_events(tmp_path):
    store = Store(tmp_path / "s")
    ev = pl.DataFrame(
        {"type": ["gap"], "mmsi": [CHN], "start": [0], "end": [3_600_000_000]},
    )
    store.write_events(ev.with_columns(pl.col("start", "end").cast(schema.TS)))
    out = tmp_path / "e.json"
    assert invoke("events", "--store", tmp_path / "s", "--out", out).exit_code == 0
    doc = json.loads(out.read_text())
    assert doc["features"][0]["geometry"] is None
    assert doc["features"][0]["properties"]["details"] is None
    none = tmp_path / "none.geojson"
    result = invoke("events", "--store", tmp_path / "s", "--type", "encounter", "--out", none)
    assert result.exit_code == 0, result.output
    empty = json.loads(none.read_text())
    assert empty["features"] == [] and empty["marking"]["tlp"] == "CLEAR"  # nothing to hide


def test_export_parquet(detected, tmp_path):
    out = tmp_path / "events.parquet"
    result = invoke("events", "--store", detected, "--out", out)
    assert result.exit_code == 0, result.output
    back = pl.read_parquet(out)
    assert list(back.schema) == [*schema.EVENTS, *MARKING_COLUMNS]
    assert back.select(list(schema.EVENTS)).equals(Store(detected).events().collect())
    assert pl.read_parquet_metadata(out)["tlp"] == "AMBER"


def test_user_zones_and_ports(store_dir, tmp_path):
    zones = tmp_path / "zones.geojson"
    box = shapely.box(-91.0, -1.0, -90.0, 0.0)
    zones.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": "No-take box", "kind": "mpa"},
                        "geometry": shapely.geometry.mapping(box),
                    }
                ],
            }
        )
    )
    ports = tmp_path / "ports.csv"
    ports.write_text("Name,Latitude,Longitude,notes\nReserve berth, -0.482, -90.8,test\n")
    result = invoke("detect", "--store", store_dir, "--zones", zones, "--ports", ports)
    assert result.exit_code == 0, result.output
    store = Store(store_dir)
    fishing = store.events(type="fishing_in_zone").collect()
    assert fishing["zone"].to_list() == ["No-take box"]
    visits = store.events(type="port_visit").collect()
    assert {json.loads(d)["port"] for d in visits["details"]} == {"MANTA", "Reserve berth"}
    assert store.events_info()["zones"] == ["No-take box"]  # type: ignore[index]


def test_config_file(store_dir, tmp_path):
    config = tmp_path / "detect.toml"
    config.write_text("[fishing_in_zone]\nmin_duration = '12h'\n")
    result = invoke("detect", "--store", store_dir, "--config", config)
    assert result.exit_code == 0, result.output
    assert Store(store_dir).events(type="fishing_in_zone").collect().height == 0
    info = Store(store_dir).events_info()
    assert info["config"]["fishing_in_zone"]["min_duration"] == "12h"  # type: ignore[index]


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("zones_without_name", ["--zones", "{zones}"], "need a 'name' property"),
        ("none", ["--zones", "{tmp}/nope.geojson"], "no such zones file"),
        ("ports_without_lat", ["--ports", "{ports}"], "no 'lat' column"),
        ("bad_config", ["--config", "{config}"], "unknown key 'entry' in [port_visit]"),
        ("zone_names_repeat", ["--zones", "{twins}"], "zone names must be unique"),
        ("exit_before_entry", ["--config", "{crossed}"], "exit_km (4) must be at least"),
        ("no_open_segment", ["--config", "{closed}"], "max_open_segments must be at least 1"),
        ("not_json", ["--zones", "{garbled}"], "cannot read as GeoJSON"),
    ],
)
def test_detect_errors(store_dir, tmp_path, setup, args, message):
    (tmp_path / "zones.geojson").write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"title": "x"},
                        "geometry": shapely.geometry.mapping(shapely.box(0, 0, 1, 1)),
                    }
                ],
            }
        )
    )
    box = shapely.geometry.mapping(shapely.box(0, 0, 1, 1))
    twin = {"type": "Feature", "properties": {"name": "Twin"}, "geometry": box}
    (tmp_path / "twins.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": [twin, twin]})
    )
    (tmp_path / "garbled.geojson").write_text("{not json")
    (tmp_path / "ports.csv").write_text("name,lon\nP,1.0\n")
    (tmp_path / "detect.toml").write_text("[port_visit]\nentry = 2\n")
    (tmp_path / "crossed.toml").write_text("[port_visit]\nentry_km = 5\nexit_km = 4\n")
    (tmp_path / "closed.toml").write_text("[segment]\nmax_open_segments = 0\n")
    paths = {
        "zones": tmp_path / "zones.geojson",
        "twins": tmp_path / "twins.geojson",
        "garbled": tmp_path / "garbled.geojson",
        "ports": tmp_path / "ports.csv",
        "config": tmp_path / "detect.toml",
        "crossed": tmp_path / "crossed.toml",
        "closed": tmp_path / "closed.toml",
        "tmp": tmp_path,
    }
    argv = [a.format(**paths) for a in args]
    result = invoke("detect", "--store", store_dir, *argv)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert Store(store_dir).events_info() is None  # nothing written


def test_detect_on_an_empty_or_missing_store(tmp_path):
    Store(tmp_path / "empty")
    result = invoke("detect", "--store", tmp_path / "empty")
    assert result.exit_code == 2
    assert "holds no positions" in result.output and "seawatch ingest" in result.output
    result = invoke("detect", "--store", tmp_path / "missing")
    assert result.exit_code == 2 and "no store at" in result.output
    assert not (tmp_path / "missing").exists()


def test_events_errors(store_dir, tmp_path):
    out = tmp_path / "x.csv"
    before = invoke("events", "--store", store_dir, "--out", out)
    assert before.exit_code == 2 and "seawatch detect --store" in before.output
    invoke("detect", "--store", store_dir)
    bad_type = invoke("events", "--store", store_dir, "--type", "piracy", "--out", out)
    assert bad_type.exit_code == 2
    text = " ".join(bad_type.output.split())
    assert "unknown event type piracy" in text and "gap, encounter, loitering" in text
    bad_format = invoke("events", "--store", store_dir, "--format", "xml", "--out", out)
    assert bad_format.exit_code == 2 and "geojson, csv, parquet, kml" in bad_format.output
    mismatch = invoke("events", "--store", store_dir, "--format", "kml", "--out", out)
    assert mismatch.exit_code == 2 and "does not match the file name x.csv" in mismatch.output
    unknown = invoke("events", "--store", store_dir, "--out", tmp_path / "x.txt")
    assert unknown.exit_code == 2
    assert "cannot tell the format of x.txt" in " ".join(unknown.output.split())
    assert not (tmp_path / "x.txt").exists()
    missing = invoke("events", "--store", tmp_path / "nowhere", "--out", out)
    assert missing.exit_code == 2 and "no store at" in missing.output
    assert not out.exists()


def test_export_kml_from_the_suffix(detected, tmp_path):
    """``--out ev.kml`` writes KML (it once wrote CSV under that name), which eval reads."""
    out = tmp_path / "ev.kml"
    result = invoke("events", "--store", detected, "--out", out)
    assert result.exit_code == 0, result.output
    assert f"written to {out} (kml), marked TLP:AMBER" in " ".join(result.output.split())
    text = out.read_text()
    stored = Store(detected).events().collect()
    assert text.startswith("<?xml") and text.count("<Placemark>") == stored.height
    assert "<description>TLP:AMBER // " in text
    back = evaluate.read_events(out)
    assert back.select("event_id", "type", "mmsi", "start", "end").equals(
        stored.select("event_id", "type", "mmsi", "start", "end"))
    assert not (detected / "state.db").exists()  # exporting makes no state


def test_exports_carry_the_markings_of_the_state(detected, tmp_path, monkeypatch):
    """With a state, each event has its own marking and the file carries the highest, as
    the API's exports do: the host's default level, one event raised to RED."""
    from seawatch.share import passwords
    from seawatch.share.accounts import init_state
    from seawatch.share.db import open_state
    from seawatch.share.markings import set_default_marking, set_marking

    monkeypatch.setattr(passwords, "SCRYPT_N", 2**10)
    monkeypatch.delenv("SEAWATCH_DB", raising=False)
    state = open_state(detected)
    init_state(state, "ECU-NAVY")
    set_default_marking(state, "GREEN")
    stored = Store(detected).events().collect()
    red = stored["event_id"][0]
    set_marking(state, "event", red, "RED")
    state.close()

    csv_out = tmp_path / "ev.csv"
    result = invoke("events", "--store", detected, "--out", csv_out)
    assert result.exit_code == 0, result.output
    assert "marked TLP:RED" in result.output
    rows = pl.read_csv(csv_out)
    levels = dict(zip(rows["event_id"], rows["marking"], strict=True))
    assert levels[red] == "RED" and set(levels.values()) == {"RED", "GREEN"}
    assert set(rows["owner_agency"]) == {"ECU-NAVY"}
    geo = tmp_path / "ev.geojson"
    assert invoke("events", "--store", detected, "--out", geo).exit_code == 0
    assert json.loads(geo.read_text())["marking"]["tlp"] == "RED"
    kml = tmp_path / "ev.kml"
    assert invoke("events", "--store", detected, "--out", kml).exit_code == 0
    assert "<description>TLP:RED // owner ECU-NAVY" in kml.read_text()
    pq = tmp_path / "ev.parquet"
    assert invoke("events", "--store", detected, "--out", pq).exit_code == 0
    assert pl.read_parquet_metadata(pq)["tlp"] == "RED"
    green = tmp_path / "green.csv"
    others = [t for t in stored["type"].unique().to_list()
              if t not in stored.filter(pl.col("event_id") == red)["type"].to_list()]
    if others:  # an export without the RED event is marked with the default level
        result = invoke("events", "--store", detected, "--type", others[0], "--out", green)
        assert "marked TLP:GREEN" in result.output


@pytest.mark.parametrize("columns", [80, 200])
def test_eval_table_is_truthful_at(detected, tmp_path, columns):
    from tests.cli.test_tables import shows_whole

    out = tmp_path / "events.parquet"
    assert invoke("events", "--store", detected, "--out", out).exit_code == 0
    result = CliRunner().invoke(app, ["eval", "--truth", str(out), "--events", str(out)],
                                env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    shows_whole(result.stdout, columns, "type", "n_truth", "n_pred", "precision", "recall",
                "f1", "1.000", "port_visit", "fishing_in_zone")


def test_detect_says_why_it_found_nothing(tmp_path):
    """Ten minutes of two vessels off Norway: too short for any episode, and nowhere near
    the default zones; the run says so instead of printing zeros with no hint."""
    from datetime import UTC, datetime, timedelta

    t0 = datetime(2024, 12, 9, 22, 0, tzinfo=UTC)
    frame = pl.DataFrame({
        "mmsi": [257000001] * 11 + [257000002] * 11,
        "ts": [t0 + timedelta(minutes=m) for m in range(11)] * 2,
        "lat": [60.39] * 22, "lon": [5.30 + 0.001 * k for k in range(11)] * 2, "sog": 4.0,
        "msg_type": 1, "second": 0,
    })
    path = tmp_path / "store"
    Store(path).ingest_results([chunk(frame)], name="bergen", sha256="b" * 64, size=1)
    result = CliRunner().invoke(app, ["detect", "--store", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "no gap: the positions span 10 min; a gap is a silence of more than 12 h" in text
    assert "no encounter: the positions span 10 min; an encounter lasts at least 2h" in text
    assert "no port_visit: the positions span 10 min; a port visit lasts at least 30m" in text
    assert ("no zone_entry, zone_exit: no position lies within the extent of the default "
            "zones (off Ecuador); give the zones of these waters with --zones") in text
    config = tmp_path / "short.toml"
    config.write_text("[gap]\nmin_gap_h = 0.05\n[port_visit]\nmin_duration = '5min'\n")
    result = CliRunner().invoke(app, ["detect", "--store", str(path), "--config", str(config)],
                                env={"COLUMNS": "200"})
    text = " ".join(result.stdout.split())
    assert "no gap:" not in text and "no port_visit:" not in text  # long enough for those


def test_detect_gives_no_reason_for_types_it_found(store_dir):
    result = invoke("detect", "--store", store_dir)
    assert result.exit_code == 0, result.output
    found = Store(store_dir).events().collect()["type"].unique().to_list()
    assert found and not [t for t in found if f"no {t}:" in result.output]


def test_norwegian_sample_says_why_it_has_no_events(tmp_path):
    """The README's real-data example: 5 s of Norwegian traffic."""
    from tests.conftest import shared_data_path

    capture = shared_data_path("ais-nmea", "kystverket", "norwegian.raw")
    store = tmp_path / "store"
    assert invoke("ingest", capture, "--store", store).exit_code == 0
    result = CliRunner().invoke(app, ["detect", "--store", str(store)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "no gap: the positions span 5 s; a gap is a silence of more than 12 h" in result.stdout
    assert "give the zones of these waters with --zones" in " ".join(result.stdout.split())


def test_a_store_of_unrelated_captures_has_no_gaps_of_years(tmp_path):
    """The 2018, 2021 and 2023 sample CSVs in one store once gave 'gaps' of years between
    the captures; a silence longer than max_gap_h is not a gap."""
    from tests.conftest import shared_data_path

    files = [shared_data_path("ais-csv", "dma-aisdk", "aisdk_20180601_head.csv"),
             shared_data_path("ais-csv", "dma-aisdk", "test_aisdk_20180208_sample.csv"),
             shared_data_path("ais-csv", "aisdb", "test_data_20210701.csv"),
             shared_data_path("ais-csv", "aisdb", "test_data_noaa_20230101.csv")]
    store = tmp_path / "store"
    assert invoke("ingest", *files, "--store", store).exit_code == 0
    assert invoke("detect", "--store", store).exit_code == 0
    gaps = Store(store).events(type="gap").collect()
    hours = [json.loads(d)["gap_hours"] for d in gaps["details"]]
    assert max(hours, default=0) <= 336  # none across captures
    # issue 12: the 2021 file is an export of one row per vessel and day, whose 36 'gaps'
    # (12-24 h between a vessel's rows) were its sampling: none remains
    assert hours == []
    holes = Store(store).outages()  # the time between the captures: one outage each, and
    # the 22 h inside the NOAA sample (997 rows at 00:xx, 3 at 23:xx)
    assert holes["kind"].to_list() == ["store"] * 4
    assert holes["hours"].to_list()[-1] == 22


def test_detect_says_how_many_reports_it_flagged_outlier(tmp_path):
    # issue 12: a garbled report is no alert, and the officer is told it was set aside
    frame, vessels = scenario()
    garbled = frame.filter(pl.col("mmsi") == CHN).sort("ts")["ts"][40]
    row = (pl.col("mmsi") == CHN) & (pl.col("ts") == garbled)
    frame = frame.with_columns(pl.when(row).then(pl.col("lon") + 3.0).otherwise("lon"))
    path = tmp_path / "store"
    Store(path).ingest_results([chunk(frame, vessels)], name="one", sha256="b" * 64, size=1)
    result = invoke("detect", "--store", path)
    assert result.exit_code == 0, result.output
    assert "1 report of 1 vessel flagged outlier" in result.output
    assert Store(path).events().filter(pl.col("type") == "spoofing").collect().height == 0


def test_detect_says_nothing_of_outliers_without_any(detected):
    result = invoke("detect", "--store", detected)
    assert result.exit_code == 0, result.output
    assert "outlier" not in result.output


def test_installations_file_drops_loitering_there(tmp_path):
    from tests.detect.test_installations import SUPPLY, standing_by

    frame = schema.conform(standing_by(SUPPLY).with_columns(msg_type=1, second=0),
                           schema.POSITIONS)
    vessels = pl.DataFrame({"mmsi": [SUPPLY], "ship_type": [90], "flag": ["ECU"]})
    store_dir = tmp_path / "store"
    Store(store_dir).ingest_results([chunk(frame, vessels)], name="one", sha256="a" * 64,
                                    size=1)
    first = invoke("detect", "--store", store_dir)
    assert first.exit_code == 0, first.output
    loitering = Store(store_dir).events(type="loitering").collect()
    assert loitering.height >= 1
    where = loitering.row(0, named=True)
    path = tmp_path / "platforms.geojson"
    path.write_text(json.dumps({"type": "Feature", "properties": {"name": "Amistad"},
                                "geometry": {"type": "Point",
                                             "coordinates": [where["lon"], where["lat"]]}}))
    result = invoke("detect", "--store", store_dir, "--installations", path)
    assert result.exit_code == 0, result.output
    assert "at installations (score_factor 0: dropped): 1 loitering" in result.output
    store = Store(store_dir)
    assert store.events(type="loitering").collect().height == loitering.height - 1
    info = store.events_info()["installations"]  # type: ignore[index]
    assert info["given"] == 1 and info["at_installations"] == {"loitering": 1}
    missing = invoke("detect", "--store", store_dir, "--installations", tmp_path / "no.geojson")
    assert missing.exit_code != 0 and "no such installations file" in missing.output
    path.write_text(json.dumps({"type": "Feature", "properties": {},
                                "geometry": {"type": "LineString",
                                             "coordinates": [[0, 0], [1, 1]]}}))
    bad = invoke("detect", "--store", store_dir, "--installations", path)
    assert bad.exit_code != 0 and "installations are Points or Polygons" in bad.output
