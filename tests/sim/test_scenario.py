"""Tests of seawatch.sim.scenario: canonical frames, determinism, blocks, the definitions
find exactly the truth in the noisy data, negatives safe, noise harmless, no vessel on land
(the properties of each planted behaviour are in tests/sim/plant, of each truth definition
in tests/sim/truth)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from seawatch import evaluate, geo, schema
from seawatch.sim import Scenario, output_pass, simulate, truth_pass, write_scenario
from seawatch.sim.world import world
from tests.sim.sim_checks import dedup, details, event_keys, km, rederive, spoofed_mmsis

PLANTED_TYPES = {"encounter", "loitering", "gap", "fishing_in_zone", "spoofing"}


# -- shape, determinism ----------------------------------------------------------------------
def test_frames_have_the_canonical_schemas(scenario: Scenario) -> None:
    assert scenario.positions.schema == pl.Schema(schema.POSITIONS)
    assert scenario.observed.schema == pl.Schema(schema.POSITIONS)
    assert scenario.vessels.schema == pl.Schema(schema.VESSELS)
    assert scenario.truth.schema == pl.Schema(schema.EVENTS)
    assert scenario.negatives.schema == pl.Schema(schema.EVENTS)
    assert scenario.positions["ts"].is_sorted()
    assert scenario.truth["event_id"].n_unique() == scenario.truth.height
    pair = scenario.truth.filter(pl.col("other_mmsi").is_not_null())
    assert (pair["mmsi"] < pair["other_mmsi"]).all()


def test_every_kind_of_planted_behaviour_is_in_the_truth(scenario: Scenario) -> None:
    planted = {r["type"] for r in scenario.truth.to_dicts() if details(r)["planted"]}
    assert planted == PLANTED_TYPES
    assert scenario.counts["planted_missing"] == []
    assert set(scenario.negatives["type"]) == {"encounter", "gap", "loitering", "zone_entry",
                                               "port_visit"}
    assert {"zone_entry", "zone_exit", "port_visit"} <= set(scenario.truth["type"])


def test_same_seed_same_scenario_other_seed_other() -> None:
    a = simulate(seed=11, hours=7.0, vessels=60)
    b = simulate(seed=11, hours=7.0, vessels=60)
    c = simulate(seed=12, hours=7.0, vessels=60)
    for name in ("positions", "observed", "vessels", "truth", "negatives"):
        assert getattr(a, name).equals(getattr(b, name)), name
    assert not a.positions.equals(c.positions)


def test_blocks_do_not_change_the_output(monkeypatch: pytest.MonkeyPatch) -> None:
    a = simulate(seed=13, hours=7.0, vessels=60)
    monkeypatch.setattr(truth_pass, "BLOCK_REPORTS", 2_000)
    monkeypatch.setattr(output_pass, "OUTPUT_BLOCK_S", 1_800)
    b = simulate(seed=13, hours=7.0, vessels=60)
    assert a.positions.equals(b.positions)
    assert a.truth.equals(b.truth)
    key = ["ts", "mmsi", "source", "lat"]
    assert a.observed.sort(key).equals(b.observed.sort(key))


def test_small_and_empty_fleets() -> None:
    s = simulate(seed=1, hours=0.5, vessels=0)
    assert s.positions.height == 0 and s.truth.height == 0 and s.observed.height == 0
    s = simulate(seed=1, hours=1.0, vessels=5, noise=False)  # offshore: no satellite pass
    assert s.positions["mmsi"].n_unique() == 5
    with pytest.raises(ValueError, match="hours"):
        simulate(seed=1, hours=0, vessels=3)


def test_a_scenario_whose_vessels_no_station_hears_is_written(tmp_path: Path) -> None:
    # seed 3: the 5 vessels of an hour are all out of reach of every station (a block of no
    # reports once had Null columns that the NMEA writer refused)
    paths = write_scenario(tmp_path, seed=3, hours=1.0, vessels=5)
    assert paths["nmea"].exists() and paths["truth"].exists()
    assert pl.read_csv(paths["csv"]).height == 0
    with pytest.raises(ValueError, match="vessels"):
        simulate(seed=1, hours=1, vessels=-1)


# -- geography ---------------------------------------------------------------------------------
def test_no_position_on_land(scenario: Scenario) -> None:
    for frame in (scenario.positions, scenario.observed):
        lat, lon = frame["lat"].to_numpy(), frame["lon"].to_numpy()
        assert not geo.on_land(lat, lon).any()
        x0, y0, x1, y1 = geo.coverage_box()
        assert ((lat > y0) & (lat < y1) & (lon > x0) & (lon < x1)).all()


# -- everything the definitions find in the positions is the truth ----------------------------
def test_the_definitions_find_exactly_the_truth_in_the_noisy_data(scenario: Scenario) -> None:
    """What a decoder reads (jitter, duplicate copies, garbled reports missing), once the
    copies are dropped, holds exactly the truth: the noise destroyed and invented nothing."""
    observed = dedup(scenario.observed)
    skip = spoofed_mmsis(scenario)
    truth = scenario.truth.filter((pl.col("type") != "spoofing")
                                  & ~pl.col("mmsi").is_in(list(skip)))
    assert event_keys(rederive(scenario, observed)) == event_keys(truth)


def test_score_of_the_truth_against_itself_is_perfect(scenario: Scenario) -> None:
    scores = evaluate.score(scenario.truth, scenario.truth)
    assert scores["f1"].to_list() == [1.0] * scores.height
    assert set(scores["type"]) == set(scenario.truth["type"])


# -- hard negatives --------------------------------------------------------------------------
def negatives_in_truth(s: Scenario) -> pl.DataFrame:
    """Truth events a hard negative matches (eval's rule), a zone event only when of the
    negative's own zone: the ship skirting the territorial sea may well cross the EEZ edge
    on its way there, which is no detection of the skirt."""
    hits = evaluate.match(s.truth, s.negatives)
    zone_t = s.truth["zone"].gather(hits["truth_idx"])
    zone_n = s.negatives["zone"].gather(hits["pred_idx"])
    other_zone = hits["type"].is_in(["zone_entry", "zone_exit"]) & (zone_t != zone_n)
    return hits.filter(~other_zone.fill_null(False))


def test_negatives_match_no_truth_event(scenario: Scenario) -> None:
    assert negatives_in_truth(scenario).height == 0
    assert (scenario.negatives["score"] == 0.0).all()


# -- noise ------------------------------------------------------------------------------------
def test_noise_jitters_duplicates_and_loses_a_few_reports(scenario: Scenario) -> None:
    obs, pos = scenario.observed, scenario.positions
    copies = obs.sort("mmsi", "ts").with_columns(
        dt=pl.col("ts").diff().over("mmsi"),
        same=(pl.struct("lat", "lon", "second") == pl.struct("lat", "lon", "second").shift(1)
              ).over("mmsi"),
        other=(pl.col("source") != pl.col("source").shift(1)).over("mmsi"),
    ).filter(pl.col("same").fill_null(False) & (pl.col("dt") <= timedelta(seconds=5)))
    assert copies.height > 0.01 * obs.height and copies["other"].all()
    first = dedup(obs)
    assert first.height == pos.height  # every report that reaches the data, once
    j = first.join(pos, on=["mmsi", "ts"], suffix="_true")
    moved = km(j["lat"], j["lon"], j["lat_true"], j["lon_true"]) * 1000
    assert 8.0 < float(np.median(moved)) < 30.0 and np.percentile(moved, 99) < 60.0
    counts = scenario.counts
    garbled = counts["reports_garbled"] / counts["reports_received"]
    assert 0.001 < garbled < 0.005


def test_offshore_reception_is_sparse_but_never_12_h(scenario: Scenario) -> None:
    skip = spoofed_mmsis(scenario)
    gaps = {(r["mmsi"], r["start"]) for r in
            scenario.truth.filter(pl.col("type") == "gap").to_dicts()}
    steps = scenario.positions.filter(~pl.col("mmsi").is_in(list(skip))).sort("mmsi", "ts") \
        .with_columns(prev=pl.col("ts").shift(1).over("mmsi"),
                      d=pl.col("ts").diff().over("mmsi")).drop_nulls("d")
    long = steps.filter(pl.col("d") > timedelta(hours=12))
    assert {(r["mmsi"], r["prev"]) for r in long.to_dicts()} == gaps
    satellite = steps.filter(pl.col("d").is_between(timedelta(hours=1), timedelta(hours=7)))
    assert satellite.height > 100  # satellite passes leave gaps of hours far offshore
    blocked = scenario.negatives.filter(pl.col("type") == "gap")["mmsi"].to_list()
    assert steps.filter(pl.col("d").is_between(timedelta(hours=7), timedelta(hours=12))
                        & ~pl.col("mmsi").is_in(blocked)).height == 0


def test_world_zone_mask_matches_geo() -> None:
    w = world()
    rng = np.random.default_rng(0)
    lat, lon = rng.uniform(-6, 6, 2000), rng.uniform(-95, -78, 2000)
    mask = w.zone_mask(lat, lon)
    point, zone = geo.zone_index(w.zones).locate(lat, lon)
    expect = np.zeros(lat.size, np.int64)
    np.bitwise_or.at(expect, point, 1 << zone)
    assert (mask == expect).all()


def test_a_day_of_500_vessels_holds_exactly_its_truth() -> None:
    """The reference day (seed 1, 24 h, 500 vessels): everything planted is found, nothing
    else but zone crossings and port visits, and the noisy data holds exactly the truth."""
    s = simulate(seed=1, hours=24.0, vessels=500)
    planted = s.counts["truth_planted"]
    # encounter: 6 transshipments and 2 meetings after sailing in company; fishing_in_zone:
    # 2 seiners in the reserve, 2 jiggers in the EEZ, and the 3 episodes of the fishing
    # vessels of the 2 meetings in the reserve (one splits around its meeting)
    assert planted == {"encounter": 8, "fishing_in_zone": 7, "gap": 3, "loitering": 3,
                       "spoofing": 3}
    company = s.truth.filter(pl.col("details").str.contains('"transshipment_in_company"'))
    assert company.height == 2
    reserve = s.truth.filter(pl.col("details").str.contains('"in_reserve": true'))
    assert reserve["type"].to_list() == ["encounter"] * 2
    assert s.counts["planted_missing"] == [] and s.plan.parameters["planted_skipped"] == []
    others = s.truth.filter(~pl.col("type").is_in(["zone_entry", "zone_exit", "port_visit"])
                            & pl.col("details").str.contains('"planted": false'))
    assert others.height == 0
    skip = spoofed_mmsis(s)
    truth = s.truth.filter((pl.col("type") != "spoofing") & ~pl.col("mmsi").is_in(list(skip)))
    assert event_keys(rederive(s, dedup(s.observed))) == event_keys(truth)
    assert negatives_in_truth(s).height == 0
