"""The detection front doors (a table, a store) and the events table of the store."""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

import seawatch.detect.positions
import seawatch.store.layout
from seawatch import schema
from seawatch.detect import registry
from seawatch.detect.config import ConfigError, DetectConfig
from seawatch.detect.registry import DETECTED_TYPES
from seawatch.detect.run import detect_all, detect_store
from seawatch.errors import Unavailable
from seawatch.io.result import ReadResult
from seawatch.store import Store, StoreBusyError, layout
from tests.store.store_checks import stray_files

T0 = datetime(2026, 1, 15, 20, tzinfo=UTC)  # 20:00 UTC: episodes below cross midnight
CHN = 412000001
ECU = 735000001
CARGO = 735000050
RESERVE = (-0.5, -90.8)
MANTA = (-0.93, -80.72)


def positions(mmsi: int, start: datetime, minutes: range, lat: float, lon: float, sog: float):
    return pl.DataFrame(
        {
            "mmsi": mmsi,
            "ts": [start + timedelta(minutes=m) for m in minutes],
            "lat": lat,
            "lon": [lon + 1e-4 * m for m in minutes],
            "sog": sog,
            "msg_type": 1,
            "second": [(start + timedelta(minutes=m)).second for m in minutes],
        }
    )


def scenario() -> tuple[pl.DataFrame, pl.DataFrame]:
    """A foreign fishing vessel in the reserve across midnight, a cargo ship at Manta."""
    squid = positions(CHN, T0, range(0, 8 * 60, 5), *RESERVE, 3.0)
    # the cargo ship approaches Manta from the west at 10 kn, waits 3 h, leaves
    approach = pl.DataFrame(
        {
            "mmsi": CARGO,
            "ts": [T0 + timedelta(minutes=m) for m in range(0, 60, 5)],
            "lat": MANTA[0],
            "lon": [MANTA[1] - 0.18 + 0.015 * k for k in range(12)],
            "sog": 10.0,
            "msg_type": 1,
            "second": 0,
        }
    )
    wait = positions(CARGO, T0 + timedelta(hours=1), range(0, 180, 5), *MANTA, 0.0)
    leave = approach.with_columns(ts=pl.col("ts") + timedelta(hours=4), lon=pl.col("lon").reverse())
    vessels = pl.DataFrame({"mmsi": [CHN, CARGO], "ship_type": [30, 70], "flag": ["CHN", "ECU"]})
    frame = pl.concat([squid, approach, wait, leave], how="diagonal_relaxed")
    return schema.conform(frame, schema.POSITIONS), vessels


# --------------------------------------------------------------------------- detect_all


def test_detect_all_on_a_tiny_table():
    frame, vessels = scenario()
    calls: list[tuple[str, int, int]] = []
    ev = detect_all(frame, vessels, progress=lambda *a: calls.append(a))
    assert ev.columns == list(schema.EVENTS)
    assert ev.select("start", "type", "mmsi").equals(
        ev.select("start", "type", "mmsi").sort("start", "type", "mmsi")
    )
    fishing = ev.filter(pl.col("type") == "fishing_in_zone")
    assert fishing.select("mmsi", "zone", "start", "end").rows() == [
        (CHN, "Galápagos Marine Reserve", T0, T0 + timedelta(minutes=475))
    ]  # one event across midnight UTC
    visits = ev.filter(pl.col("type") == "port_visit")
    assert visits["mmsi"].to_list() == [CARGO]
    assert json.loads(visits["details"][0])["port"] == "MANTA"
    assert set(ev["type"]) <= set(DETECTED_TYPES)
    assert calls[-1] == ("done", len(calls) - 1, len(calls) - 1)
    steps = [c[0] for c in calls[:-1]]
    assert steps[:3] == ["anchorages", "traffic", "segment"]
    assert steps[-1] == "dark_near_encounter"
    assert [c[1] for c in calls] == list(range(len(calls)))


def test_detect_all_types_and_unknown_types():
    frame, vessels = scenario()
    calls: list[str] = []
    ev = detect_all(
        frame, vessels, types=["port_visit"], progress=lambda step, *_: calls.append(step)
    )
    assert ev["type"].unique().to_list() == ["port_visit"]
    assert calls == ["anchorages", "segment", "port_visit", "done"]
    with pytest.raises(ValueError, match="valid: spoofing, gap"):
        detect_all(frame, vessels, types=["dark_fleet"])


def test_without_vessels_nothing_is_known_to_fish():
    frame, _ = scenario()
    ev = detect_all(frame, None, types=["fishing_in_zone", "zone_entry"])
    assert ev.filter(pl.col("type") == "fishing_in_zone").height == 0


def test_user_ports_are_added_to_the_shipped(tmp_path):
    frame, vessels = scenario()
    # a berth 2 km off the squid vessel's path: every position of it is a port visit
    berth = pl.DataFrame({"name": ["Reserve berth"], "lat": [RESERVE[0] + 0.018], "lon": [-90.8]})
    cfg = DetectConfig.from_dict({"ports": {"infer_anchorages": False}})
    ev = detect_all(frame, vessels, ports=berth, config=cfg, types=["port_visit"])
    ports_seen = {json.loads(d)["port"] for d in ev["details"]}
    assert ports_seen == {"MANTA", "Reserve berth"}


def test_zones_replace_the_defaults():
    import shapely

    from seawatch.geo import Zone

    frame, vessels = scenario()
    box = Zone("Box", "mpa", shapely.box(-91.0, -1.0, -90.0, 0.0))
    ev = detect_all(frame, vessels, zones=[box], types=["fishing_in_zone"])
    assert ev["zone"].to_list() == ["Box"]


def test_config_reaches_the_detectors_of_the_registry(monkeypatch):
    """The pipeline runs the registry's entries with their section of the config."""
    seen: dict[str, object] = {}

    def fake_gaps(segmented, params, context):
        seen.update(min_gap_h=params.min_gap_h, segmented=segmented.columns)
        return schema.empty(schema.EVENTS)

    fake = dataclasses.replace(registry.detector("gap"), detect=fake_gaps)
    entries = tuple(fake if d.name == "gap" else d for d in registry.DETECTORS)
    monkeypatch.setattr(registry, "DETECTORS", entries)
    frame, vessels = scenario()
    cfg = DetectConfig.from_dict({"gap": {"min_gap_h": 6}})
    detect_all(frame, vessels, config=cfg, types=["gap"])
    assert seen["min_gap_h"] == 6 and "segment_id" in seen["segmented"]  # type: ignore[operator]
    # a parameter the model lacks is refused as the config is read, before anything runs
    with pytest.raises(ConfigError, match="unknown key 'min_gap' in \\[gap\\]"):
        DetectConfig.from_dict({"gap": {"min_gap": 3}})


def test_presegmented_positions_are_not_segmented_again(monkeypatch):
    frame, vessels = scenario()

    def segment_again(*args, **kwargs):
        raise AssertionError("positions with a segment_id were segmented again")

    monkeypatch.setattr(seawatch.detect.positions, "segment", segment_again)
    seg = frame.with_columns(pl.col("mmsi").alias("segment_id"))
    ev = detect_all(seg, vessels, types=["port_visit"])
    assert ev.height == 1


# --------------------------------------------------------------------------- store events


def chunk(frame: pl.DataFrame, vessels: pl.DataFrame | None = None) -> ReadResult:
    out = ReadResult(positions=schema.conform(frame, schema.POSITIONS))
    if vessels is not None:
        v = vessels.with_columns(ts=pl.lit(T0), msg_type=pl.lit(5))
        out.vessels = schema.conform(v, schema.VESSELS)
    return out


@pytest.fixture
def filled(tmp_path) -> Store:
    """A store holding the scenario as two inputs split at midnight (two days, two files)."""
    frame, vessels = scenario()
    store = Store(tmp_path / "store")
    midnight = datetime(2026, 1, 16, tzinfo=UTC)
    before = frame.filter(pl.col("ts") < midnight)
    after = frame.filter(pl.col("ts") >= midnight)
    store.ingest_results([chunk(before, vessels)], name="day1", sha256="1" * 64, size=1)
    store.ingest_results([chunk(after)], name="day2", sha256="2" * 64, size=1)
    return store


def test_detect_store_twice_gives_the_same_events_once(filled):
    assert filled.events_info() is None
    assert filled.events().collect().height == 0
    first = detect_store(filled)
    snap = filled.snapshot_id
    stored = filled.events().collect()
    assert stored.equals(first.sort("start", "type", "mmsi"))
    fishing = stored.filter(pl.col("type") == "fishing_in_zone")
    assert fishing.height == 1  # across midnight and across the two input files
    assert fishing["start"][0] < datetime(2026, 1, 16, tzinfo=UTC) < fishing["end"][0]
    info = filled.events_info()
    assert info is not None
    assert info["rows"] == stored.height and info["positions_snapshot"] == snap - 1
    assert info["counts"]["fishing_in_zone"] == 1 and info["positions"] > 0
    assert info["config"]["port_visit"]["entry_km"] == 3.0 and "segment" in info["seconds"]

    second = detect_store(filled)
    again = filled.events().collect()
    assert again.equals(stored) and second.height == first.height
    assert again["event_id"].n_unique() == again.height
    assert filled.snapshot_id == snap + 1
    assert filled.info()["events"] == stored.height
    assert stray_files(filled.path) == []
    assert len(list((filled.path / layout.EVENTS).iterdir())) == 1


def test_detect_store_on_an_empty_store(tmp_path):
    with pytest.raises(Unavailable, match="holds no positions"):
        detect_store(Store(tmp_path / "empty"))


def test_events_filters(filled):
    detect_store(filled)
    every = filled.events().collect()
    assert set(filled.events(type="port_visit").collect()["type"]) == {"port_visit"}
    both = filled.events(type=["port_visit", "fishing_in_zone"]).collect()
    assert set(both["type"]) == {"port_visit", "fishing_in_zone"}
    with pytest.raises(ValueError, match="valid: gap, encounter"):
        filled.events(type="piracy")
    visit = filled.events(type="port_visit").collect().row(0, named=True)
    # time: events overlapping [start, end)
    window = filled.events(start=visit["end"], end=visit["end"] + timedelta(hours=1)).collect()
    assert visit["event_id"] in window["event_id"].to_list()
    after = filled.events(start=visit["end"] + timedelta(seconds=1), type="port_visit").collect()
    assert visit["event_id"] not in after["event_id"].to_list()
    assert filled.events(end=visit["start"], type="port_visit").collect().height == 0
    assert filled.events(start=date(2026, 1, 15), end="2026-01-17").collect().height == (
        every.height
    )
    # bbox on the representative point, and mmsi
    manta = filled.events(bbox=(-81.0, -1.2, -80.5, -0.7)).collect()
    assert set(manta["mmsi"]) == {CARGO} and manta.height >= 1
    assert set(filled.events(mmsi=CHN).collect()["mmsi"]) == {CHN}
    assert filled.events(mmsi=[CHN, CARGO]).collect().height == every.height


def test_pair_events_match_either_mmsi(tmp_path):
    store = Store(tmp_path / "s")
    ev = pl.DataFrame(
        {
            "event_id": ["encounter:1:2:x"],
            "type": ["encounter"],
            "mmsi": [1],
            "other_mmsi": [2],
            "start": [T0],
            "end": [T0 + timedelta(hours=3)],
            "lat": [-2.0],
            "lon": [-86.0],
        }
    )
    store.write_events(ev, {"note": "by hand"})
    assert store.events(mmsi=2).collect().height == 1
    assert store.events_info()["note"] == "by hand"  # type: ignore[index]
    with pytest.raises(ValueError, match="unknown event type"):
        store.write_events(ev.with_columns(type=pl.lit("piracy")))


def test_write_events_is_atomic(filled, monkeypatch):
    detect_store(filled)
    before = filled.events().collect()
    snap = filled.snapshot_id

    class Injected(OSError):
        pass

    real = seawatch.store.layout.atomic_write

    def failing(target: Path, data: bytes, temp_dir: Path) -> None:
        if target.name == layout.CURRENT:
            raise Injected("disk full")
        real(target, data, temp_dir)

    monkeypatch.setattr(seawatch.store.layout, "atomic_write", failing)
    with pytest.raises(Injected):
        filled.write_events(before.head(1), {})
    monkeypatch.setattr(seawatch.store.layout, "atomic_write", real)
    reopened = Store(filled.path)
    assert reopened.snapshot_id == snap
    assert reopened.events().collect().equals(before)
    assert stray_files(filled.path) == []


def test_a_killed_write_leaves_files_that_opening_removes(filled):
    detect_store(filled)
    before = filled.events().collect()
    leftover = filled.path / layout.EVENTS / "0123abcd.parquet"
    before.write_parquet(leftover)  # as if killed before the swap
    reopened = Store(filled.path)
    assert "events/0123abcd.parquet" in reopened.recovered
    assert reopened.events().collect().equals(before)


def test_ingest_keeps_the_events(filled):
    detect_store(filled)
    events = filled.events().collect()
    extra = positions(CHN + 1, T0, range(0, 30, 5), -3.0, -85.0, 8.0)
    filled.ingest_results([chunk(extra)], name="day3", sha256="3" * 64, size=1)
    assert filled.events().collect().equals(events)
    assert filled.events_info()["positions_snapshot"] == filled.snapshot_id - 2  # type: ignore[index]


def test_write_events_refuses_while_another_process_writes(filled):
    with layout.write_lock(filled.path, blocking=True) as held:
        assert held
        import subprocess

        code = (
            "import polars as pl, sys\n"
            "from seawatch.store import Store, StoreBusyError\n"
            "from seawatch import schema\n"
            f"s = Store({str(filled.path)!r})\n"
            "try:\n"
            "    s.write_events(schema.empty(schema.EVENTS))\n"
            "except StoreBusyError:\n"
            "    sys.exit(3)\n"
        )
        done = subprocess.run([sys.executable, "-c", code], check=False)
        assert done.returncode == 3
    assert StoreBusyError  # the class the subprocess caught


def test_a_garbled_report_is_flagged_recorded_and_no_alert(tmp_path):
    # issue 12: 205370590 of the AISHub sample reads longitude 4.357 -> 0.007 for one report
    frame, vessels = scenario()
    squid = frame.filter(pl.col("mmsi") == CHN).sort("ts")
    garbled_ts = squid["ts"][40]
    frame = frame.with_columns(
        pl.when((pl.col("mmsi") == CHN) & (pl.col("ts") == garbled_ts))
        .then(pl.col("lon") + 3.0)
        .otherwise("lon")
        .alias("lon")
    )
    store = Store(tmp_path / "store")
    store.ingest_results([chunk(frame, vessels)], name="day", sha256="3" * 64, size=1)
    events = detect_store(store)
    assert events.filter(pl.col("type") == "spoofing").height == 0
    fishing = events.filter(pl.col("type") == "fishing_in_zone")
    assert fishing.height == 1  # the report did not cut the episode either
    info = store.events_info()
    assert info is not None
    outliers = info["outliers"]
    assert (outliers["positions"], outliers["vessels"]) == (1, 1)
    [[mmsi, ts, _lat, lon]] = outliers["listed"]
    assert (mmsi, ts) == (CHN, garbled_ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    squid_now = frame.filter((pl.col("mmsi") == CHN) & (pl.col("ts") == garbled_ts))
    assert lon == pytest.approx(squid_now["lon"].item())
    # the pipeline gives the report to no detector: even a spoofing detector that takes one
    # report for a track sees nothing, unless the report is marked as no outlier
    one_report = {"min_track_positions": 1, "min_track_duration": 0, "lone_km": 0}
    single = DetectConfig.from_dict({"spoofing": one_report})
    assert detect_all(frame, vessels, config=single, types=["spoofing"]).height == 0
    seg = seawatch.detect.positions.segment_tracks(frame, single.segment)
    kept = seg.with_columns(pl.lit(False).alias("outlier"))
    assert detect_all(kept, vessels, config=single, types=["spoofing"]).height == 1
