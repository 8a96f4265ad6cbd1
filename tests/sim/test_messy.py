"""The messy profile (:mod:`seawatch.sim.artefacts`): each artefact is in the files the way
a real feed carries it, the truth says what must not be alerted, and the same seed gives the
same files."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from seawatch.cli import app
from seawatch.errors import InvalidValue
from seawatch.sim import simulate, write_scenario
from seawatch.sim.artefacts import ARTEFACTS, parse_artefacts
from seawatch.sim.scenario import nmea_files

MESSY = {"seed": 12, "hours": 26.0, "vessels": 90}
"""Long enough for two 8 h file holes (and the 14 h outage), small enough for seconds."""

TAG = re.compile(rb"^\\s:([^,]+),c:(\d+)\*[0-9A-F]{2}\\!AIVDM,(\d),(\d),[^,]*,[AB]?,([^,]*),")


@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_scenario(tmp_path_factory.mktemp("messy"), **MESSY,
                          artefacts=parse_artefacts(None, profile="messy"))


@pytest.fixture(scope="module")
def doc(messy: dict[str, Path]) -> dict:
    return json.loads(messy["scenario"].read_text())


def _lines(paths: list[Path]) -> list[tuple[str, int, bytes]]:
    """(station, tag-block time, payload) of every single-sentence line."""
    out = []
    for path in paths:
        for line in path.read_bytes().splitlines():
            m = TAG.match(line)
            if m and m.group(3) == b"1":
                out.append((m.group(1).decode(), int(m.group(2)), m.group(5)))
    return out


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def test_parse_artefacts_profiles_and_strengths() -> None:
    assert parse_artefacts(None) == {}
    assert parse_artefacts("none", profile="clean") == {}
    messy = parse_artefacts(None, profile="messy")
    # every artefact but identity (a profile of its own, tests/sim/test_identity_profile.py)
    assert messy == {name: a.default for name, a in ARTEFACTS.items() if name != "identity"}
    assert parse_artefacts("outage=2", profile="messy")["outage"] == 2.0
    with pytest.raises(InvalidValue, match="unknown profile"):
        parse_artefacts(None, profile="foggy")
    with pytest.raises(InvalidValue, match="must be a positive number"):
        parse_artefacts("clock=-5")


def test_every_artefact_is_written(messy: dict[str, Path], doc: dict) -> None:
    assert [p.name for p in nmea_files(messy)] == [f"traffic-{k}.nmea" for k in (1, 2, 3)]
    assert {"export", "installations"} <= set(messy)
    # 26 h less two 8 h holes leave no file long enough for a watched dark run (13 h of
    # the capture silent, watched before and after): it is skipped, and said so
    assert doc["artefacts"]["skipped"] == ["watched_dark_run: no window the capture records"]
    assert set(doc["parameters"]["artefacts"]) == set(ARTEFACTS) - {"identity"}
    reasons = (pl.read_parquet(messy["negatives"])
               .select(pl.col("details").str.json_path_match("$.reason")).to_series())
    # (file_hole and outage negatives need a silence the capture explains: a bigger fleet)
    assert {"outlier", "clock", "duplicate", "shared_identity", "sparse_export", "moored",
            "platform"} <= set(reasons.drop_nulls())


def test_nothing_is_recorded_in_the_file_holes(messy: dict[str, Path], doc: dict) -> None:
    clocked = set(doc["artefacts"]["clock_offsets_s"])
    holes = [(_epoch(h["start"]), _epoch(h["end"])) for h in doc["artefacts"]["file_holes"]]
    assert len(holes) == 2 and all(b - a == pytest.approx(8 * 3600) for a, b in holes)
    files = nmea_files(messy)
    for k, path in enumerate(files):
        times = np.array([t for s, t, _ in _lines([path]) if s not in clocked])
        assert times.size
        if k:  # every file starts after the hole before it ...
            assert times.min() >= holes[k - 1][1] - 1
        if k < len(holes):  # ... and ends before the hole after it
            assert times.max() <= holes[k][0] + 1


def test_station_clocks_are_off_in_the_tag_blocks(messy: dict[str, Path], doc: dict) -> None:
    offsets = doc["artefacts"]["clock_offsets_s"]
    assert sorted(offsets.values()) == [-5 * 3600, 3600]
    copies: dict[bytes, list[tuple[str, int]]] = defaultdict(list)
    for station, t, payload in _lines(nmea_files(messy)):
        copies[payload].append((station, t))
    max_delay = doc["artefacts"]["max_duplicate_delay_s"]
    seen = {s: 0 for s in offsets}
    for heard in copies.values():
        if len(heard) != 2 or heard[0][0] == heard[1][0]:
            continue
        (s1, t1), (s2, t2) = heard
        want = offsets.get(s1, 0) - offsets.get(s2, 0)
        assert abs((t1 - t2) - want) <= max_delay + 1, heard
        for s in (s1, s2):
            if s in offsets:
                seen[s] += 1
    assert all(n > 0 for n in seen.values()), seen


def test_late_duplicates_come_from_another_station(messy: dict[str, Path], doc: dict) -> None:
    offsets = doc["artefacts"]["clock_offsets_s"]
    delays = []
    copies: dict[bytes, list[tuple[str, int]]] = defaultdict(list)
    for station, t, payload in _lines(nmea_files(messy)):
        copies[payload].append((station, t - offsets.get(station, 0)))
    for heard in copies.values():
        # one payload twice from one station is a vessel repeating itself (moored, say)
        if len(heard) == 2 and heard[0][0] != heard[1][0]:
            delays.append(abs(heard[0][1] - heard[1][1]))
    delays = np.array(delays)
    late = delays[delays < 600]  # copies (a repeat minutes later is another report)
    assert late.max() > 30  # past the store's 30 s duplicate window
    assert late.max() <= doc["artefacts"]["max_duplicate_delay_s"] + 1


def test_sparse_export_has_one_row_per_vessel_per_day(messy: dict[str, Path], doc: dict) -> None:
    export = pl.read_csv(messy["export"], try_parse_dates=True)
    days = export.select("MMSI", pl.col("BaseDateTime").dt.date())
    assert days.height == days.unique().height
    only = set(doc["artefacts"]["export_only_mmsi"])
    assert len(only) >= 3 and only <= set(export["MMSI"])
    heard = set(pl.read_csv(messy["csv"])["MMSI"])
    assert not only & heard  # no station hears them


def test_platforms_and_moored_clusters(messy: dict[str, Path], doc: dict) -> None:
    features = json.loads(messy["installations"].read_text())["features"]
    assert [f["properties"]["name"] for f in features] == \
        [p["name"] for p in doc["artefacts"]["platforms"]]
    negatives = pl.read_parquet(messy["negatives"]).with_columns(
        reason=pl.col("details").str.json_path_match("$.reason"))
    moored = negatives.filter(pl.col("reason") == "moored")
    assert set(moored["type"]) == {"encounter"}
    n_pairs = sum(len(c["mmsi"]) * (len(c["mmsi"]) - 1) // 2 for c in doc["artefacts"]["moored"])
    assert moored.height == n_pairs
    standby = negatives.filter((pl.col("reason") == "platform") & (pl.col("type") == "loitering"))
    assert set(standby["mmsi"]) == {m for p in doc["artefacts"]["platforms"] for m in p["mmsi"]}
    truth = pl.read_parquet(messy["truth"])
    assert not set(truth["mmsi"]) & set(moored["mmsi"])  # moored is not meeting


def test_shared_identity_is_one_truth_event_per_pair(messy: dict[str, Path], doc: dict) -> None:
    truth = pl.read_parquet(messy["truth"]).filter(pl.col("type") == "spoofing")
    for mmsi in doc["artefacts"]["shared_identity_mmsi"]:
        mine = truth.filter(pl.col("mmsi") == mmsi)
        assert mine.height == 1
        assert json.loads(mine["details"][0])["kind"] == "shared_identity"


def test_outliers_are_garbled_then_back_on_track() -> None:
    s = simulate(seed=4, hours=6.0, vessels=60, artefacts={"outliers": 0.01})
    neg = s.negatives.filter(pl.col("type") == "spoofing")
    assert neg.height > 0
    obs = s.observed
    hit = 0
    for row in neg.iter_rows(named=True):
        d = json.loads(row["details"])
        assert d["reason"] == "outlier"
        mine = obs.filter(pl.col("mmsi") == row["mmsi"]).sort("ts")
        at = mine.filter(pl.col("ts") == row["start"])
        if at.height:
            hit += 1
            assert at["lat"][0] == pytest.approx(row["lat"], abs=1e-3)  # GNSS jitter
            assert at["lon"][0] == pytest.approx(row["lon"], abs=1e-3)
            # far from where the vessel truly was
            assert abs(at["lat"][0] - d["true_lat"]) + abs(at["lon"][0] - d["true_lon"]) > 0.05
    assert hit == neg.height


def test_same_seed_same_files(tmp_path: Path) -> None:
    args = {"seed": 21, "hours": 24.0, "vessels": 40,
            "artefacts": parse_artefacts(None, profile="messy")}
    a = write_scenario(tmp_path / "a", **args)
    b = write_scenario(tmp_path / "b", **args)
    assert set(a) == set(b)
    for key in a:
        if key in ("scenario", "truth", "negatives"):
            continue
        assert a[key].read_bytes() == b[key].read_bytes(), key
    for key in ("truth", "negatives"):
        assert pl.read_parquet(a[key]).equals(pl.read_parquet(b[key])), key


def test_cli_sim_profile_and_artefacts(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    result = CliRunner().invoke(app, ["sim", "--seed", "2", "--hours", "8", "--vessels", "30",
                                      "--out", str(out), "--artefacts", "platform,outliers"])
    assert result.exit_code == 0, result.output
    assert (out / "installations.geojson").exists() and (out / "traffic.nmea").exists()
    doc = json.loads((out / "scenario.json").read_text())
    assert set(doc["parameters"]["artefacts"]) == {"platform", "outliers"}
    assert doc["counts"]["negatives_by_reason"]["platform"] >= 1
    assert "must not alert: platform" in result.output.replace("\n", " ")
    for args, message in ((["--artefacts", "fog"], "unknown artefact 'fog'"),
                          (["--profile", "messy", "--no-noise"], "leave --noise on")):
        result = CliRunner().invoke(app, ["sim", "--out", str(tmp_path / "x"), *args])
        assert result.exit_code == 2, result.output
        assert message in result.output.replace("\n", " ")


def test_outages_silence_a_receiver_and_the_satellite(messy: dict[str, Path], doc: dict) -> None:
    outages = doc["artefacts"]["outages"]
    assert [o["station"].startswith("ecu-") for o in outages] == [True, False]
    assert outages[1]["station"] == "sat-leo"
    offsets = doc["artefacts"]["clock_offsets_s"]
    station = outages[0]["station"]
    t0, t1 = _epoch(outages[0]["start"]), _epoch(outages[0]["end"])
    times = np.array([t - offsets.get(s, 0) for s, t, _ in _lines(nmea_files(messy))
                      if s == station])
    assert times.size  # the station is heard outside its outage ...
    assert not ((times > t0 + 1) & (times < t1 - 1)).any()  # ... and never in it
    # the satellite feed out hears no vessel, not even a watched one (a planted window)
    s0, s1 = _epoch(outages[1]["start"]), _epoch(outages[1]["end"])
    sat = np.array([t for s, t, _ in _lines(nmea_files(messy)) if s == "sat-leo"])
    assert sat.size and not ((sat > s0 + 1) & (sat < s1 - 1)).any()


def test_silences_the_capture_explains_are_no_gaps() -> None:
    from seawatch.sim.artefacts import ArtefactPlan
    from seawatch.sim.emit import Positions
    from seawatch.sim.truth.artefacts import coverage_gaps

    h = 3600
    # (track, time, station): track 0 silent 0-20 h across a 10 h file hole (10 h left: no
    # gap); track 1 silent 0-30 h across it (20 h left: a gap, 10 h uncovered); track 2
    # silent 18-38 h, heard before by station 5, out 20-34 h (6 h left: no gap)
    reports = [(0, 0, 2), (0, 20 * h, 2), (1, 0, 2), (1, 30 * h, 2), (2, 18 * h, 5),
               (2, 38 * h, 2)]
    n = len(reports)
    z = np.zeros(n)
    p = Positions(
        track=np.array([r[0] for r in reports]), t=np.array([r[1] for r in reports]),
        leg=np.zeros(n, np.int64), lat=z, lon=z, sog=z, cog=z, heading=z, nav=z,
        jump=np.zeros(n, bool), station=np.array([r[2] for r in reports]),
        station2=np.full(n, -1), delay2=np.zeros(n, np.int64), forced=np.zeros(n, bool),
        garbled=np.zeros(n, bool), mask=np.zeros(n, np.int64), port_km=np.full(n, np.inf))
    gaps = pl.DataFrame({"track": [0, 1, 2], "start_s": [0, 0, 18 * h],
                         "end_s": [20 * h, 30 * h, 38 * h], "lat": [0.0] * 3,
                         "lon": [0.0] * 3, "details": ["{}"] * 3})
    art = ArtefactPlan({"file_holes": 10.0, "outage": 14.0},
                       holes=np.array([[5.0 * h, 15.0 * h]]),
                       outages=np.array([[5.0, 20.0 * h, 34.0 * h]]))
    kept, negatives = coverage_gaps(gaps, p, art)
    assert kept["track"].to_list() == [1]
    assert json.loads(kept["details"][0]) == {"uncovered_hours": 10.0}
    assert [(x["tracks"], x["params"]["reason"]) for x in negatives] == \
        [([0], "file_hole"), ([2], "outage")]


def test_watched_dark_runs_survive_the_holes_and_outages() -> None:
    """The clean trafficking runs of a short period fall into the holes and the outages; the
    messy profile plants runs the capture records, and they are gaps of the truth."""
    s = simulate(seed=5, hours=40.0, vessels=60, artefacts={"file_holes": 8.0, "outage": 14.0})
    truth = s.truth.filter(pl.col("type") == "gap")
    details = [json.loads(d) for d in truth["details"]]
    watched = [d for d in details if d.get("scenario") == "watched_dark_run"]
    assert watched, details
    for d in watched:
        assert d["intentional"] and d["gap_hours"] - d.get("uncovered_hours", 0.0) > 12.0


def test_a_hole_inside_an_outage_counts_once() -> None:
    from seawatch.sim.artefacts import ArtefactPlan
    from seawatch.sim.emit import Positions
    from seawatch.sim.truth.artefacts import coverage_gaps

    h = 3600
    # silent 0-27 h, heard by station 5 before and after; station 5 out 2-16 h, a file hole
    # 4-12 h inside the outage: 14 h uncovered (not 22), 13 h left, a gap
    n = 2
    z = np.zeros(n)
    p = Positions(
        track=np.zeros(n, np.int64), t=np.array([0, 27 * h]), leg=np.zeros(n, np.int64),
        lat=z, lon=z, sog=z, cog=z, heading=z, nav=z, jump=np.zeros(n, bool),
        station=np.array([5, 5]), station2=np.full(n, -1), delay2=np.zeros(n, np.int64),
        forced=np.zeros(n, bool), garbled=np.zeros(n, bool), mask=np.zeros(n, np.int64),
        port_km=np.full(n, np.inf))
    gaps = pl.DataFrame({"track": [0], "start_s": [0], "end_s": [27 * h], "lat": [0.0],
                         "lon": [0.0], "details": ["{}"]})
    art = ArtefactPlan({"file_holes": 8.0, "outage": 14.0},
                       holes=np.array([[4.0 * h, 12.0 * h]]),
                       outages=np.array([[5.0, 2.0 * h, 16.0 * h]]))
    kept, negatives = coverage_gaps(gaps, p, art)
    assert negatives == [] and kept.height == 1
    assert json.loads(kept["details"][0]) == {"uncovered_hours": 14.0}
