"""Scoring events against truth: the matching rule, perfect and known-bad files, the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from typer.testing import CliRunner

from seawatch import evaluate, schema
from seawatch.cli import app

T0 = datetime(2026, 1, 15, 22, 0, tzinfo=UTC)
H = timedelta(hours=1)


def events(rows: list[dict]) -> pl.DataFrame:
    return schema.conform(pl.from_dicts(rows), schema.EVENTS)


ENC = {"type": "encounter", "mmsi": 1, "other_mmsi": 2}
ISO = "%Y-%m-%dT%H:%M:%SZ"

TRUTH = events([
    {**ENC, "event_id": "t1", "start": T0, "end": T0 + 3 * H},
    {"event_id": "t2", "type": "gap", "mmsi": 3, "start": T0, "end": T0 + 14 * H},
    {"event_id": "t3", "type": "gap", "mmsi": 4, "start": T0, "end": T0 + 13 * H},
    {"event_id": "t4", "type": "loitering", "mmsi": 5, "start": T0, "end": T0 + 4 * H},
])


def test_perfect_predictions_score_one():
    scores = evaluate.score(TRUTH, TRUTH)
    assert scores["f1"].to_list() == [1.0, 1.0, 1.0]
    assert evaluate.overall(scores)["f1"] == 1.0


def test_pair_order_does_not_matter_and_slack_is_one_hour():
    pred = events([
        # the pair given the other way round, starting 59 minutes after the truth ends
        {**ENC, "mmsi": 2, "other_mmsi": 1, "start": T0 + 3 * H + timedelta(minutes=59),
         "end": T0 + 5 * H},
    ])
    assert evaluate.score(TRUTH.head(1), pred)["tp"].to_list() == [1]
    late = pred.with_columns(pl.col("start") + timedelta(minutes=2))
    assert evaluate.score(TRUTH.head(1), late)["tp"].to_list() == [0]


def test_known_bad_file_scores_the_right_figures():
    pred = events([
        {**ENC, "start": T0, "end": T0 + 2 * H},  # tp
        {**ENC, "start": T0 + H, "end": T0 + 2 * H},  # a duplicate of the same episode: fp
        {"type": "gap", "mmsi": 3, "start": T0, "end": T0 + 14 * H},  # tp
        {"type": "gap", "mmsi": 9, "start": T0, "end": T0 + 14 * H},  # wrong vessel: fp
        {"type": "loitering", "mmsi": 3, "start": T0, "end": T0 + 4 * H},  # wrong vessel: fp
        {"type": "spoofing", "mmsi": 7, "start": T0, "end": T0 + H},  # type not in truth: fp
    ])
    scores = {r["type"]: r for r in evaluate.score(TRUTH, pred).iter_rows(named=True)}
    enc = scores["encounter"]
    assert (enc["tp"], enc["fp"], enc["fn"]) == (1, 1, 0)
    assert enc["precision"] == 0.5 and enc["recall"] == 1.0
    assert enc["f1"] == pytest.approx(2 / 3)
    gap = scores["gap"]
    assert (gap["tp"], gap["fp"], gap["fn"]) == (1, 1, 1)
    assert gap["f1"] == pytest.approx(0.5)
    assert scores["loitering"]["f1"] == 0.0
    assert scores["spoofing"]["precision"] == 0.0 and scores["spoofing"]["f1"] == 0.0


def test_one_prediction_cannot_match_two_truth_events():
    truth = events([
        {"type": "gap", "mmsi": 3, "start": T0, "end": T0 + 13 * H},
        {"type": "gap", "mmsi": 3, "start": T0 + 14 * H, "end": T0 + 27 * H},
    ])
    pred = events([{"type": "gap", "mmsi": 3, "start": T0, "end": T0 + 27 * H}])
    row = evaluate.score(truth, pred).row(0, named=True)
    assert (row["tp"], row["fp"], row["fn"]) == (1, 0, 1)


def test_cli_writes_json_and_fails_below_min_f1(tmp_path):
    truth_path = tmp_path / "truth.parquet"
    TRUTH.write_parquet(truth_path)
    pred_csv = tmp_path / "events.csv"
    TRUTH.head(2).with_columns(
        pl.col("start").dt.strftime(ISO), pl.col("end").dt.strftime(ISO)
    ).write_csv(pred_csv)
    out = tmp_path / "scores.json"
    runner = CliRunner()
    ok = runner.invoke(app, ["eval", "--truth", str(truth_path), "--events", str(pred_csv),
                             "--out", str(out)])
    assert ok.exit_code == 0, ok.output
    doc = json.loads(out.read_text())
    assert doc["types"]["encounter"]["f1"] == 1.0
    assert doc["types"]["gap"]["recall"] == 0.5
    assert doc["slack_seconds"] == 3600
    bad = runner.invoke(app, ["eval", "--truth", str(truth_path), "--events", str(pred_csv),
                              "--min-f1", "0.95"])
    assert bad.exit_code == 1
    good = runner.invoke(app, ["eval", "--truth", str(truth_path), "--events", str(truth_path),
                               "--min-f1", "0.95"])
    assert good.exit_code == 0, good.output


def test_unreadable_files_give_clear_errors(tmp_path):
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("kind,vessel\ngap,1\n")
    with pytest.raises(evaluate.EventsFileError, match="missing"):
        evaluate.read_events(wrong)
    badtime = tmp_path / "badtime.csv"
    badtime.write_text("type,mmsi,start,end\ngap,1,yesterday,today\n")
    with pytest.raises(evaluate.EventsFileError, match="ISO 8601"):
        evaluate.read_events(badtime)
    result = CliRunner().invoke(app, ["eval", "--truth", str(wrong), "--events", str(wrong)])
    assert result.exit_code == 2
    assert "missing" in result.output


def test_every_events_file_seawatch_writes_reads_back(tmp_path):
    """The simulator's truth.json and truth.parquet, and the store's events exported as CSV,
    GeoJSON, Parquet and KML, all read back in eval (truth.json's first rows have no
    other_mmsi, which once made the reader guess the column's type wrongly; GeoJSON was read
    as CSV; KML was not written at all)."""
    from seawatch.detect.run import detect_store
    from seawatch.sim import write_scenario
    from seawatch.store import Store

    paths = write_scenario(tmp_path / "sim", seed=3, hours=6.0, vessels=40, csv=False)
    truth_json = evaluate.read_events(paths["truth_json"])
    truth_parquet = evaluate.read_events(paths["truth"])
    key = ["type", "mmsi", "other_mmsi", "start", "end"]
    assert truth_json.height > 0 and truth_json["other_mmsi"].null_count() < truth_json.height
    assert truth_json.select(key).equals(truth_parquet.select(key))

    store = Store(tmp_path / "store")
    store.ingest([paths["nmea"]])
    detect_store(store)
    detected = store.events().collect()
    for suffix in ("csv", "geojson", "parquet", "kml"):
        out = tmp_path / f"events.{suffix}"
        result = CliRunner().invoke(app, ["events", "--store", str(tmp_path / "store"),
                                          "--out", str(out)])
        assert result.exit_code == 0, result.output
        back = evaluate.read_events(out)
        assert back.select(key).equals(detected.select(key)), suffix
        assert back["details"].null_count() == detected["details"].null_count(), suffix
        assert back.select("lat", "lon", "score").equals(
            detected.select("lat", "lon", "score")), suffix
        scored = CliRunner().invoke(app, ["eval", "--truth", str(paths["truth_json"]),
                                          "--events", str(out)])
        assert scored.exit_code == 0, scored.output


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('{"type": "Feature"}', "neither a list of events nor a GeoJSON FeatureCollection"),
        ("[1, 2]", "every event must be a JSON object"),
        ('[{"type": "gap"', "cannot read events"),
        ('{"type": "FeatureCollection", "features": [{"properties": {"type": "gap"}}]}',
         "missing"),
    ],
)
def test_bad_json_events_say_what_is_wrong(tmp_path, text, words):
    path = tmp_path / "events.geojson"
    path.write_text(text)
    with pytest.raises(evaluate.EventsFileError, match=words):
        evaluate.read_events(path)


def test_kml_events_read_back_and_other_xml_is_refused(tmp_path):
    from seawatch import export

    rows = pl.DataFrame({"type": ["gap"], "mmsi": [735000001], "other_mmsi": [None],
                         "start": ["2026-01-15T00:00:00Z"], "end": ["2026-01-15T14:00:00Z"],
                         "lat": [-1.0], "lon": [-85.0], "details": ['{"gap_hours": 14.0}']})
    events = rows.pipe(evaluate._as_events)
    path = tmp_path / "events.kml"
    assert export.write_file(events, path, None, export.EVENTS) == "kml"
    back = evaluate.read_events(path)
    assert back.equals(events)
    assert back["other_mmsi"].to_list() == [None]  # an empty <value> is a null
    export.write_file(events.head(0), path, None, export.EVENTS)
    assert evaluate.read_events(path).height == 0  # an export of no events: no events
    page = tmp_path / "page.kml"
    page.write_text("<html><body>not events</body></html>")
    with pytest.raises(evaluate.EventsFileError, match="root is <html>, not KML"):
        evaluate.read_events(page)
    cut = tmp_path / "cut.kml"
    cut.write_text(path.read_text()[:60])
    with pytest.raises(evaluate.EventsFileError, match="cannot read events"):
        evaluate.read_events(cut)
