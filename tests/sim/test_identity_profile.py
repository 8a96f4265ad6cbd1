"""The ``identity`` artefact (:mod:`seawatch.sim.plant.identities`): what it plants is in the
files the way the truth says, the generated watchlist lists it, and the detectors find the
planted cases and none of the look-alikes."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from seawatch import evaluate
from seawatch.detect.run import detect_store
from seawatch.geo import load_ports, load_zones
from seawatch.io.nmea.reader import read_nmea
from seawatch.share.watchlists import file_entries
from seawatch.sim import write_scenario
from seawatch.sim.artefacts import PROFILES, parse_artefacts
from seawatch.store import Store

TYPES = ("identity_change", "invalid_identity", "type_mismatch", "watchlist_hit")
SCENARIO = {"seed": 11, "hours": 30.0, "vessels": 200}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_scenario(tmp_path_factory.mktemp("identity"), **SCENARIO, csv=False,
                          artefacts=parse_artefacts(None, profile="identity"))


@pytest.fixture(scope="module")
def doc(scenario: dict[str, Path]) -> dict:
    return json.loads(scenario["scenario"].read_text())


def test_the_profile_is_the_identity_artefact_alone() -> None:
    assert PROFILES["identity"] == ("identity",)
    assert "identity" not in PROFILES["messy"]
    assert parse_artefacts(None, profile="identity") == {"identity": 3.0}


def test_every_case_is_planted_and_in_the_truth(scenario: dict[str, Path], doc: dict) -> None:
    ident = doc["artefacts"]["identity"]
    assert len(ident["changed_mmsi"]) == len(ident["invalid_mmsi"]) == 3
    assert len(ident["type_liar_mmsi"]) == 3 and len(ident["garbled_mmsi"]) == 6
    assert 123456789 in ident["invalid_mmsi"]
    truth = evaluate.read_events(scenario["truth"])
    counts = dict(truth.filter(pl.col("type").is_in(TYPES)).group_by("type").len().rows())
    assert counts.get("invalid_identity") == 3 and counts.get("type_mismatch") == 3
    assert counts.get("identity_change", 0) >= 2 and counts.get("watchlist_hit", 0) >= 6
    planted = truth.filter(pl.col("type").is_in(TYPES))
    assert planted["details"].str.contains('"planted": true').all()
    negatives = pl.read_parquet(scenario["negatives"])
    reasons = negatives.select(pl.col("details").str.json_path_match("$.reason"))
    assert set(reasons.to_series().drop_nulls()) >= {"garbled_static", "lookalike",
                                                      "slow_steamer"}


def test_the_watchlist_file(scenario: dict[str, Path], doc: dict) -> None:
    listed = pl.read_csv(scenario["watchlist"])
    assert listed.columns == ["name", "imo", "callsign", "mmsi", "flag", "list", "source",
                              "reason"]
    assert listed.height == doc["artefacts"]["identity"]["watchlist_entries"]
    assert set(listed["list"]) == {"sim-watchlist"}
    by = listed["reason"].str.extract(r"listed by (\w+)").drop_nulls()
    assert set(by) <= {"mmsi", "imo", "name"} and by.len() >= 6
    assert file_entries(scenario["watchlist"]).height == listed.height


def test_statics_change_and_are_garbled_as_planned(scenario: dict[str, Path],
                                                   doc: dict) -> None:
    vessels = read_nmea(scenario["nmea"]).vessels
    truth = evaluate.read_events(scenario["truth"]).filter(pl.col("type") == "identity_change")
    for row in truth.iter_rows(named=True):
        new = json.loads(row["details"])["new_name"]
        names = vessels.filter(pl.col("mmsi") == row["mmsi"]).sort("ts").filter(
            pl.col("name").is_not_null())
        before = names.filter(pl.col("ts") < row["start"])["name"]
        after = names.filter(pl.col("ts") >= row["start"])["name"]
        assert new not in before.to_list() and set(after) == {new}
    for mmsi in doc["artefacts"]["identity"]["garbled_mmsi"]:
        rows = vessels.filter((pl.col("mmsi") == mmsi) & pl.col("name").is_not_null())
        counts = rows.group_by("name").agg(pl.col("ts").min().alias("t0"),
                                           pl.col("ts").max().alias("t1")).sort("t0")
        assert counts.height <= 2  # its name, and at most one report garbled
        if counts.height == 2:  # one transmission (a second station's copy seconds later)
            spans = counts.select((pl.col("t1") - pl.col("t0")).dt.total_seconds())
            assert spans.to_series().min() < 60


def test_the_detectors_find_the_planted_cases_and_no_look_alike(
        scenario: dict[str, Path], tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    store.ingest([scenario["nmea"]])
    events = detect_store(store, zones=load_zones(scenario["zones"]),
                          ports=load_ports(scenario["ports"]),
                          watchlists=file_entries(scenario["watchlist"]))
    truth = evaluate.read_events(scenario["truth"])
    scores = evaluate.score(truth, events, timedelta(hours=1))
    for row in scores.filter(pl.col("type").is_in(TYPES)).iter_rows(named=True):
        assert row["n_truth"] > 0 and row["fp"] == 0 and row["fn"] == 0, row
    negatives = pl.read_parquet(scenario["negatives"]).filter(pl.col("type").is_in(TYPES))
    hit = negatives.join(events, on=["type", "mmsi"], how="inner")
    assert hit.height == 0, hit.select("type", "mmsi", "details")
