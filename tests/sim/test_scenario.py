"""Tests of seawatch.sim.scenario: truth visible in the positions, negatives safe, noise
harmless, determinism, no vessel on land."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest
import shapely

from seawatch import evaluate, geo, schema
from seawatch.sim import Scenario, output_pass, simulate, truth_pass
from seawatch.sim.world import world
from tests.sim.sim_checks import (
    NM_KM,
    dedup,
    details,
    event_keys,
    km,
    longest_run,
    on_grid,
    rederive,
    spoofed_mmsis,
    track_of,
)

PLANTED_TYPES = {"encounter", "loitering", "gap", "fishing_in_zone", "spoofing"}


def _planted(s: Scenario, typ: str) -> list[dict]:
    rows = s.truth.filter(pl.col("type") == typ).to_dicts()
    return [r for r in rows if details(r)["planted"]]


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
    with pytest.raises(ValueError, match="vessels"):
        simulate(seed=1, hours=1, vessels=-1)


# -- geography ---------------------------------------------------------------------------------
def test_no_position_on_land(scenario: Scenario) -> None:
    for frame in (scenario.positions, scenario.observed):
        lat, lon = frame["lat"].to_numpy(), frame["lon"].to_numpy()
        assert not geo.on_land(lat, lon).any()
        x0, y0, x1, y1 = geo.coverage_box()
        assert ((lat > y0) & (lat < y1) & (lon > x0) & (lon < x1)).all()


# -- planted behaviours are visible in the noise-free positions ------------------------------
def test_encounters_are_within_500_m_for_2_h_slow_and_far_from_ports(scenario: Scenario
                                                                      ) -> None:
    rows = _planted(scenario, "encounter")
    assert rows
    pidx = geo.port_index()
    for r in rows:
        a = track_of(scenario.positions, r["mmsi"], r["start"] - timedelta(hours=1),
                     r["end"] + timedelta(hours=1))
        b = track_of(scenario.positions, r["other_mmsi"], r["start"] - timedelta(hours=1),
                     r["end"] + timedelta(hours=1))
        _, la, oa = on_grid(a, r["start"], r["end"])
        _, lb, ob = on_grid(b, r["start"], r["end"])
        close = km(la, oa, lb, ob) < 0.5
        assert (longest_run(close) - 1) * 10 >= 120, r  # >= 2 h of consecutive steps
        for p in (a, b):
            inside = p.filter(pl.col("ts").is_between(r["start"], r["end"]))
            assert inside["sog"].median() < 2.0
        d, _ = pidx.nearest([np.nanmean(la)], [np.nanmean(oa)])
        assert d[0] >= 10.0
        planted = details(r)["planted_params"]
        assert 50 <= planted["separation_m"] <= 300 and 2.5 <= planted["planted_hours"] <= 6


def test_an_encounter_straddles_midnight(scenario: Scenario) -> None:
    rows = _planted(scenario, "encounter")
    assert any(r["start"].date() != r["end"].date() for r in rows)
    assert any(details(r)["planted_params"]["straddles_midnight"] for r in rows)


def test_gaps_are_12_to_24_h_without_positions(scenario: Scenario) -> None:
    rows = _planted(scenario, "gap")
    assert rows
    for r in rows:
        p = track_of(scenario.positions, r["mmsi"])
        ts = p["ts"]
        i = ts.search_sorted(r["start"])
        assert ts[i] == r["start"] and ts[i + 1] == r["end"]  # consecutive positions
        hours = (r["end"] - r["start"]).total_seconds() / 3600
        assert 12.0 < hours < 24.0
        d = details(r)
        assert d["likely_intentional"] and d["off_distance_from_shore_km"] > 50 * NM_KM
        assert d["intentional"] and d["planted_params"]["dark_hours"] > 12
        assert d["implied_speed_kn"] < 25.0


def test_every_gap_over_12_h_is_in_the_truth(scenario: Scenario) -> None:
    skip = spoofed_mmsis(scenario)
    gaps = scenario.positions.filter(~pl.col("mmsi").is_in(list(skip))).sort("mmsi", "ts") \
        .with_columns(prev=pl.col("ts").shift(1).over("mmsi")) \
        .filter((pl.col("ts") - pl.col("prev")) > timedelta(hours=12))
    found = {(r["mmsi"], r["prev"], r["ts"]) for r in gaps.to_dicts()}
    truth = {(r["mmsi"], r["start"], r["end"]) for r in
             scenario.truth.filter(pl.col("type") == "gap").to_dicts()}
    assert found == truth and truth


def test_loitering_is_slow_far_offshore_and_alone(scenario: Scenario) -> None:
    rows = _planted(scenario, "loitering")
    assert rows
    fleet = scenario.plan.fleet
    for r in rows:
        p = track_of(scenario.positions, r["mmsi"], r["start"], r["end"])
        assert (r["end"] - r["start"]) >= timedelta(hours=2)
        assert p["sog"].mean() < 2.0
        lat, lon = p["lat"].to_numpy(), p["lon"].to_numpy()
        assert geo.distance_to_shore_km(lat, lon).min() >= 20 * NM_KM
        assert geo.port_index().nearest(lat, lon)[0].min() >= 10.0
        assert int(fleet.ship_type[fleet.mmsi.tolist().index(r["mmsi"])]) != 30


def test_fishing_in_zone_is_inside_at_fishing_speed(scenario: Scenario) -> None:
    rows = _planted(scenario, "fishing_in_zone")
    zones = {z.name: z for z in geo.default_zones()}
    assert {r["zone"] for r in rows} == {"Galápagos Marine Reserve", "Ecuador EEZ"}
    for r in rows:
        p = track_of(scenario.positions, r["mmsi"], r["start"], r["end"])
        z = zones[r["zone"]]
        assert shapely.contains_xy(z.geometry, p["lon"].to_numpy(), p["lat"].to_numpy()).all()
        fishing = p.filter(pl.col("sog").is_between(0.5, 5.0))
        assert fishing.height >= 0.8 * p.height
        assert (r["end"] - r["start"]) >= timedelta(hours=1)
        d = details(r)
        assert d["flag"] != "ECU" or z.kind == "mpa"


def test_port_visits_stay_within_3_km_for_30_min(scenario: Scenario) -> None:
    rows = scenario.truth.filter(pl.col("type") == "port_visit").to_dicts()
    assert len(rows) > 10
    pidx = geo.port_index()
    for r in rows[:: max(1, len(rows) // 40)]:
        p = track_of(scenario.positions, r["mmsi"], r["start"], r["end"])
        d, _ = pidx.nearest(p["lat"].to_numpy(), p["lon"].to_numpy())
        assert d[0] <= 3.0 or details(r)["open"]
        assert d.max() <= 4.0
        assert (r["end"] - r["start"]) >= timedelta(minutes=30)


def test_spoofing_is_two_tracks_or_a_jump(scenario: Scenario) -> None:
    rows = _planted(scenario, "spoofing")
    kinds = {details(r)["kind"] for r in rows}
    assert kinds == {"shared_mmsi", "position_jump"}
    for r in rows:
        p = track_of(scenario.positions, r["mmsi"], r["start"] - timedelta(minutes=30),
                     r["end"] + timedelta(minutes=30))
        lat, lon = p["lat"].to_numpy(), p["lon"].to_numpy()
        dt = np.diff(p["ts"].dt.epoch("s").to_numpy())
        step = km(lat[:-1], lon[:-1], lat[1:], lon[1:])
        speed = step / NM_KM / np.maximum(dt, 1) * 3600
        assert ((speed > 25) & (step > 10)).any()  # jumps (or hops between the two tracks)


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


def _negatives(s: Scenario, name: str) -> list[dict]:
    rows = [r for r in s.negatives.to_dicts() if details(r)["negative"] == name]
    assert rows, name
    return rows


def test_brief_meetings_are_under_90_minutes(scenario: Scenario) -> None:
    for r in _negatives(scenario, "brief_meeting"):
        t0, t1 = r["start"] - timedelta(hours=3), r["end"] + timedelta(hours=3)
        a = track_of(scenario.positions, r["mmsi"], t0, t1)
        b = track_of(scenario.positions, r["other_mmsi"], t0, t1)
        _, la, oa = on_grid(a, t0, t1)
        _, lb, ob = on_grid(b, t0, t1)
        close = km(la, oa, lb, ob) < 0.5
        assert close.sum() > 0 and (close.sum() - 1) * 10 < 90


def test_ships_at_anchor_together_are_near_a_port(scenario: Scenario) -> None:
    pidx = geo.port_index()
    for r in _negatives(scenario, "ships_at_anchor"):
        a = track_of(scenario.positions, r["mmsi"])
        b = track_of(scenario.positions, r["other_mmsi"])
        assert a["sog"].max() < 0.5 and b["sog"].max() < 0.5
        d, _ = pidx.nearest(a["lat"].to_numpy(), a["lon"].to_numpy())
        assert d.max() < 5.0
        assert km(a["lat"][0], a["lon"][0], b["lat"][0], b["lon"][0]) < 0.5


def test_fast_crossings_are_fast(scenario: Scenario) -> None:
    for r in _negatives(scenario, "fast_crossing"):
        for m in (r["mmsi"], r["other_mmsi"]):
            p = track_of(scenario.positions, m, r["start"] - timedelta(hours=1),
                         r["end"] + timedelta(hours=1))
            assert p["sog"].min() > 8.0


def test_short_reception_gaps_are_2_to_8_h(scenario: Scenario) -> None:
    for r in _negatives(scenario, "short_reception_gap"):
        p = track_of(scenario.positions, r["mmsi"])
        gap = p.with_columns(d=pl.col("ts").diff()).filter(
            pl.col("ts").is_between(r["start"], r["end"] + timedelta(hours=1)))["d"].max()
        assert timedelta(hours=2) <= gap <= timedelta(hours=8, minutes=20)


def test_skirting_ships_stay_a_km_outside(scenario: Scenario) -> None:
    from seawatch.geo.geodesy import aeqd, project

    zones = {z.name: z for z in geo.default_zones()}
    for r in _negatives(scenario, "skirting_zone_edge"):
        p = track_of(scenario.positions, r["mmsi"])
        fwd, _ = aeqd(r["lat"], r["lon"])
        x, y = fwd.transform(p["lon"].to_numpy(), p["lat"].to_numpy())
        zone = project(zones[r["zone"]].geometry, fwd)
        d = shapely.distance(zone, shapely.points(np.column_stack([x, y])))
        near = (np.hypot(x, y) < 300_000)
        assert d[near].min() >= 1000.0


def test_slow_fishing_offshore_is_a_fishing_vessel(scenario: Scenario) -> None:
    fleet = scenario.plan.fleet
    for r in _negatives(scenario, "slow_fishing_offshore"):
        p = track_of(scenario.positions, r["mmsi"], r["start"], r["end"])
        assert p["sog"].mean() < 2.0 and (r["end"] - r["start"]) >= timedelta(hours=2)
        assert int(fleet.ship_type[fleet.mmsi.tolist().index(r["mmsi"])]) == 30


def test_passing_ships_stay_under_30_minutes_near_a_port(scenario: Scenario) -> None:
    pidx = geo.port_index()
    for r in _negatives(scenario, "passing_port"):
        p = track_of(scenario.positions, r["mmsi"], r["start"] - timedelta(hours=1),
                     r["end"] + timedelta(hours=1))
        d, _ = pidx.nearest(p["lat"].to_numpy(), p["lon"].to_numpy())
        t = p["ts"].dt.epoch("s").to_numpy()
        within = t[d <= 3.0]
        assert within.size and within.max() - within.min() < 30 * 60


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
    # fishing_in_zone: 2 seiners in the reserve, 2 jiggers in the EEZ, and the 3 episodes
    # of the fishing vessels of the 2 meetings in the reserve (one splits around its meeting)
    assert planted == {"encounter": 6, "fishing_in_zone": 7, "gap": 3, "loitering": 3,
                       "spoofing": 3}
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
