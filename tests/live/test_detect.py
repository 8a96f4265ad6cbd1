"""Incremental detection (seawatch.live.detect): the events after a feed ends equal those of
``seawatch detect`` on the same store; events keep their ids as they grow, close once the
data moves past them; a vessel silent too long shows as a dark (provisional) gap."""

from __future__ import annotations

import hashlib
import json
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from seawatch import schema
from seawatch.detect.config import DetectConfig, load_config
from seawatch.detect.run import detect_store
from seawatch.io.result import ReadResult
from seawatch.live.detect import (
    HORIZONS,
    IncrementalDetector,
    LiveDetection,
    dark_vessels,
    horizon,
    open_events,
)
from seawatch.store import Store
from tests.live.conftest import bound, running, wait_for

# every span short, so that windows of a few hours slide over a scenario of 10 (with the
# defaults the window reaches back two days: the whole scenario)
SHORT = """
[segment]
max_gap_h = 2
buffer_h = 1
[spoofing]
merge_h = 2
[gap]
min_gap_h = 1
before_h = 1
revisit_h = 2
[encounter]
merge_gap = "1h"
episode_gap = "2h"
[loitering]
merge_gap = "2h"
[port_visit]
min_unseen_ends_duration = "2h"
[type_mismatch]
min_duration = "1h"
"""

T0 = datetime(2026, 1, 15, 20, tzinfo=UTC)


@pytest.fixture(scope="module")
def midnight(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scenario of 40 vessels over 10 h across midnight, with planted behaviours."""
    from seawatch.sim import write_scenario

    out = tmp_path_factory.mktemp("detect-scenario")
    write_scenario(out, 11, 10.0, 40, csv=False, start=T0)
    return out


def short_config(tmp_path: Path) -> tuple[Path, DetectConfig]:
    path = tmp_path / "short.toml"
    path.write_text(SHORT, encoding="utf-8")
    return path, load_config(path)


def same_events(store: Store, config: DetectConfig) -> tuple[pl.DataFrame, pl.DataFrame]:
    live = store.events().collect().sort("event_id")
    batch = detect_store(store, config=config).sort("event_id")
    return live, batch


def differences(live: pl.DataFrame, batch: pl.DataFrame) -> list[dict[str, object]]:
    """The first rows that differ, live beside batch, by event id."""
    only = live.join(batch, on=live.columns, how="anti", nulls_equal=True)
    out: list[dict[str, object]] = []
    for row in only.head(3).iter_rows(named=True):
        other = batch.filter(pl.col("event_id") == row["event_id"])
        twin = other.row(0, named=True) if other.height else {}
        out.append({k: (v, twin.get(k)) for k, v in row.items() if v != twin.get(k)})
    only_batch = batch.join(live, on="event_id", how="anti")["event_id"].head(3).to_list()
    return [*out, {"only batch": only_batch, "rows": (live.height, batch.height)}]


def test_the_horizon_comes_from_the_parameters():
    cfg = DetectConfig()
    assert horizon(cfg) == timedelta(hours=cfg.spoofing.merge_h)  # 48 h: the longest
    longer = DetectConfig.from_dict({"loitering": {"merge_gap": "72h"}})
    assert horizon(longer) == timedelta(hours=72)
    assert set(HORIZONS) >= {"segment", "gap", "encounter", "loitering", "spoofing"}


def test_a_scenario_fed_live_ends_with_the_events_of_seawatch_detect(tmp_path, midnight):
    """The scenario through a TCP feed, in eight parts, each compacted and detected on
    (windows that slide: they start hours after the data), then batch detection of the
    same store: the same events, to the last detail."""
    _, cfg = short_config(tmp_path)
    lines = (midnight / "traffic.nmea").read_bytes().splitlines(keepends=True)
    store_path = tmp_path / "store"
    detection = LiveDetection(config=cfg)
    parts = 8
    with running(store_path, ["listen tcp://127.0.0.1:0"], compact_every_s=60,
                 detection=detection) as service:
        feed = bound(service, "tcp:127.0.0.1:0")
        sent = 0

        def acknowledged() -> bool:
            return service.writer.acknowledged_lines >= sent

        def compacted() -> bool:
            return service.compacted_lines >= sent

        def detected() -> bool:
            return detection.detector is not None and detection.detector.runs >= runs

        with socket.create_connection((feed.host, feed.port)) as conn:
            for k in range(parts):
                chunk = lines[k * len(lines) // parts:(k + 1) * len(lines) // parts]
                conn.sendall(b"".join(chunk))
                sent += len(chunk)
                wait_for(acknowledged, what="the part acknowledged")
                service._compact_now.set()  # type: ignore[union-attr]
                wait_for(compacted, what="the compaction")
                runs = k + 1
                wait_for(detected, what="the detection run")
    assert detection.last_error is None
    runs = detection.detector.runs  # type: ignore[union-attr]
    assert runs >= parts
    store = Store(store_path)
    info = store.events_info()
    assert info is not None and info["live"]["run"] == runs
    window = datetime.fromisoformat(str(info["live"]["window_start"]))
    assert window > T0 + timedelta(hours=1)  # the last windows left the first hours out
    live, batch = same_events(store, cfg)
    assert batch.height > 50
    assert {"gap", "zone_entry", "port_visit", "encounter", "loitering"} <= set(batch["type"])
    assert live.equals(batch), differences(live, batch)
    status = json.loads((store_path / "live" / "status.json").read_text())
    assert status["detection"]["runs"] == runs


def test_the_default_horizons_give_the_batch_events_too(tmp_path, midnight):
    """With the default parameters (a window of days: every run reads the whole scenario)
    and ingests in parts, one detection run after each."""
    store = Store(tmp_path / "store")
    inc = IncrementalDetector(store)
    add_file_in_parts(store, inc, midnight / "traffic.nmea", 3, tmp_path)
    live, batch = same_events(store, DetectConfig())
    assert batch.height and live.equals(batch)


def add_file_in_parts(store: Store, inc: IncrementalDetector, path: Path, parts: int,
                      tmp: Path) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    before = None
    for k in range(parts):
        part = tmp / f"part{k}.nmea"
        part.write_bytes(b"".join(lines[k * len(lines) // parts:(k + 1) * len(lines) // parts]))
        store.ingest(part)
        now = store.positions().select("mmsi", "ts", "lat", "lon", "source").collect()
        new = now if before is None else now.join(before, on=now.columns, how="anti")
        before = now
        inc.note(new["ts"].min())  # type: ignore[arg-type]
        assert inc.run() is not None


# -- the window logic on small tables --------------------------------------------------------
def add(store: Store, rows: list[tuple[int, datetime, float, float, float]]) -> None:
    """Positions ``(mmsi, ts, lat, lon, sog)`` into ``store`` (one commit), from feed 'rx'."""
    frame = pl.DataFrame(rows, schema=["mmsi", "ts", "lat", "lon", "sog"], orient="row")
    frame = frame.with_columns(pl.lit("rx").alias("source"), pl.lit(1).alias("msg_type"),
                               pl.lit(0.0).alias("cog"))
    positions = schema.conform(frame, schema.POSITIONS)
    digest = hashlib.sha256(positions.write_csv().encode()).hexdigest()
    store.ingest_results(iter([ReadResult(positions=positions)]), name=f"t:{digest[:12]}",
                         sha256=digest, size=positions.height)


def track(mmsi: int, start: datetime, hours: float, lat: float, lon: float, knots: float,
          every_min: int = 10) -> list[tuple[int, datetime, float, float, float]]:
    """A vessel heading east at ``knots`` from (lat, lon), a report every ``every_min``."""
    n = int(hours * 60 / every_min)
    step = knots * 1.852 / 111.32 * every_min / 60  # degrees of longitude at the equator
    return [(mmsi, start + timedelta(minutes=every_min * k), lat, lon + step * k, knots)
            for k in range(n)]


def run(inc: IncrementalDetector, store: Store,
        rows: list[tuple[int, datetime, float, float, float]]) -> pl.DataFrame:
    add(store, rows)
    inc.note(min(r[1] for r in rows))
    done = inc.run()
    assert done is not None
    return store.events().collect()


STILL = (-1.0, -88.0)  # far from shore and ports (loitering counts there)


def test_a_growing_event_keeps_its_id_and_closes_once_the_data_moves_past(tmp_path):
    cfg = DetectConfig.from_dict({"loitering": {"merge_gap": "1h"}})
    store = Store(tmp_path / "store")
    inc = IncrementalDetector(store, config=cfg)
    ship, other = 735000001, 735000002
    t = datetime(2026, 1, 15, tzinfo=UTC)
    # slow for 3 h: a loitering episode (min_duration 2 h), open
    first = run(inc, store, track(ship, t, 3, STILL[0], STILL[1], knots=0.5)
                + track(other, t, 3, lat=-2.0, lon=-84.0, knots=10))
    loit = first.filter(pl.col("type") == "loitering")
    assert loit.height == 1
    ident, end1 = loit["event_id"][0], loit["end"][0]
    assert ident in inc.last.open  # type: ignore[union-attr]
    assert ident in open_events(store)
    # 3 h more of it: the same event, longer, still open
    t3 = t + timedelta(hours=3)
    second = run(inc, store, track(ship, t3, 3, -1.0, -88.0 + 3 * 0.5 * 1.852 / 111.32, 0.5)
                 + track(other, t3, 3, lat=-2.0, lon=-83.5, knots=10))
    loit = second.filter(pl.col("type") == "loitering")
    assert loit["event_id"].to_list() == [ident]
    assert loit["end"][0] > end1 + timedelta(hours=2)
    assert ident in inc.last.open  # type: ignore[union-attr]
    # the ship sails off fast, the data goes on for hours: the event ends, closed
    t6 = t + timedelta(hours=6)
    third = run(inc, store, track(ship, t6, 4, -1.0, -87.9, 12)
                + track(other, t6, 4, lat=-2.0, lon=-83.0, knots=10))
    loit = third.filter(pl.col("type") == "loitering")
    assert loit["event_id"].to_list() == [ident]
    assert ident not in inc.last.open  # type: ignore[union-attr]
    assert ident not in open_events(store)
    live, batch = same_events(store, cfg)
    assert live.equals(batch)


def test_a_silence_longer_than_the_threshold_shows_dark_then_becomes_the_gap(tmp_path):
    cfg = DetectConfig.from_dict({"gap": {"min_gap_h": 2, "max_blind_h": 1}})
    store = Store(tmp_path / "store")
    inc = IncrementalDetector(store, config=cfg)
    quiet, busy = 735000011, 735000012  # the busy one keeps the feed hearing the area
    t = datetime(2026, 1, 15, tzinfo=UTC)
    run(inc, store, track(quiet, t, 2, -1.0, -86.0, 8) + track(busy, t, 2, -1.1, -86.0, 8))
    assert inc.last.dark == []  # type: ignore[union-attr]
    off = t + timedelta(minutes=110)  # the quiet one's last report
    t2 = t + timedelta(hours=2)
    run(inc, store, track(busy, t2, 1, -1.1, -85.9, 8))  # 1 h 10 min of silence: not yet
    assert inc.last.dark == []  # type: ignore[union-attr]
    t3 = t + timedelta(hours=3)
    run(inc, store, track(busy, t3, 2, -1.1, -85.8, 8))  # now 3 h: more than min_gap_h
    dark = inc.last.dark  # type: ignore[union-attr]
    ident = f"gap:{quiet}:{off:%Y%m%dT%H%M%SZ}"
    assert [d["event_id"] for d in dark] == [ident]
    assert [d["event_id"] for d in dark_vessels(store)] == [ident]  # as the run info says
    assert store.events(type="gap").collect().height == 0  # provisional: not an event yet
    # heard again: the gap, under the id it had while dark
    t5 = t + timedelta(hours=5)
    events = run(inc, store, track(quiet, t5, 1, -1.0, -85.5, 8)
                 + track(busy, t5, 1, -1.1, -85.6, 8))
    assert events.filter(pl.col("type") == "gap")["event_id"].to_list() == [ident]
    assert inc.last.dark == []  # type: ignore[union-attr]
    live, batch = same_events(store, cfg)
    assert live.equals(batch)


def test_a_new_anchorage_redetects_the_whole_store(tmp_path):
    """Port visits, and encounters and loitering near ports, of any time depend on the
    inferred anchorages: once a third vessel makes a cell an anchorage, the run reads the
    whole store, and the events stay those of batch detection."""
    cfg = DetectConfig.from_dict({"ports": {"max_shore_km": float("inf")}})
    store = Store(tmp_path / "store")
    inc = IncrementalDetector(store, config=cfg)
    a, b, c = 735000021, 735000022, 735000023
    t = datetime(2026, 1, 15, tzinfo=UTC)
    run(inc, store, track(a, t, 3, *STILL, knots=0.0) + track(b, t, 3, -1.001, -88.0, 0.0))
    assert inc.anchorages is not None and inc.anchorages.height == 0  # two vessels: none
    t3 = t + timedelta(hours=3)
    run(inc, store, track(a, t3, 1, *STILL, knots=0.0) + track(b, t3, 1, -1.001, -88.0, 0.0))
    assert inc.last is not None and not inc.last.whole
    run(inc, store, track(c, t3 + timedelta(hours=1), 3, -1.002, -88.0, 0.0))
    assert inc.anchorages.height == 1 and inc.last.whole
    live, batch = same_events(store, cfg)
    assert live.equals(batch), differences(live, batch)


def test_seawatch_live_detects_unless_told_not_to(tmp_path, midnight):
    """``seawatch live --store S`` without feeds compacts what its log holds, then runs
    detection (the first run reads the whole store) with the options of seawatch detect;
    ``--no-detect`` leaves the events alone."""
    from typer.testing import CliRunner

    from seawatch.cli import app

    path, cfg = short_config(tmp_path)
    for flag, store_path in (("--no-detect", tmp_path / "quiet"), ("--detect", tmp_path / "s")):
        Store(store_path).ingest(midnight / "traffic.nmea")
        result = CliRunner().invoke(app, ["live", "--store", str(store_path), flag,
                                          "--config", str(path)])
        assert result.exit_code == 0, result.output
    assert Store(tmp_path / "quiet").events_info() is None
    store = Store(tmp_path / "s")
    assert (store.events_info() or {}).get("live", {}).get("whole") is True
    live, batch = same_events(store, cfg)
    assert batch.height and live.equals(batch)
    bad = CliRunner().invoke(app, ["live", "--store", str(tmp_path / "s"), "--config",
                                   str(tmp_path / "none.toml")])
    assert bad.exit_code != 0


def test_the_live_runs_raise_the_alerts_of_the_rules_once_per_event(tmp_path, midnight):
    """A store with a state and a rule: each incremental run raises the alerts of the events
    the rule matches, as ``seawatch detect`` does (one per event, however many runs saw it),
    each raise in the audit log as the live service's."""
    from typer.testing import CliRunner

    from seawatch.cli import app
    from seawatch.share.alerts import RAISE_ACTION, list_alerts
    from seawatch.share.audit import show
    from seawatch.share.db import open_state

    store_path = tmp_path / "store"
    Store(store_path)
    for args in (("init-state", "--host-agency", "ECU-NAVY"),
                 ("alerts", "rule", "add", "meetings", "--types", "encounter,loitering")):
        done = CliRunner().invoke(app, [*args, "--store", str(store_path)],
                                  env={"SEAWATCH_DB": ""})
        assert done.exit_code == 0, done.output
    _, cfg = short_config(tmp_path)
    lines = (midnight / "traffic.nmea").read_bytes().splitlines(keepends=True)
    detection = LiveDetection(config=cfg)
    with running(store_path, ["listen tcp://127.0.0.1:0"], compact_every_s=60,
                 detection=detection) as service:
        feed = bound(service, "tcp:127.0.0.1:0")
        sent = 0

        def raised(runs: int) -> bool:
            return (detection.detector is not None and detection.detector.runs >= runs
                    and detection.alerts is not None)

        with socket.create_connection((feed.host, feed.port)) as conn:
            for k, half in enumerate((lines[:len(lines) // 2], lines[len(lines) // 2:])):
                conn.sendall(b"".join(half))
                sent += len(half)
                wait_for(lambda n=sent: service.writer.acknowledged_lines >= n, what="the part")
                service._compact_now.set()  # type: ignore[union-attr]
                wait_for(lambda n=sent: service.compacted_lines >= n, what="the compaction")
                wait_for(lambda r=k + 1: raised(r), what="the detection run and its alerts")
    assert detection.last_error is None
    events = Store(store_path).events().collect()
    wanted = set(events.filter(pl.col("type").is_in(["encounter", "loitering"]))["event_id"])
    assert wanted
    state = open_state(store_path)
    try:
        alerts = list_alerts(state)
        assert sorted(a.event_id for a in alerts) == sorted(wanted)  # one each, no repeat
        raises = show(state, action=RAISE_ACTION, limit=None)
        assert len(raises) >= 2 and {e.client for e in raises} == {"live"}
    finally:
        state.close()


def test_identity_events_live_equal_batch(tmp_path):
    """The identity profile (identity changes, a watchlist in the store's state, invalid
    MMSIs, type liars) fed in four parts to windows that slide (short spans): the identity
    and watchlist events equal those of seawatch detect, to the last detail."""
    from seawatch.share.accounts import init_state
    from seawatch.share.db import open_state
    from seawatch.share.watchlists import (
        import_watchlists,
        read_watchlist_file,
        stored_entries,
    )
    from seawatch.sim import write_scenario
    from seawatch.sim.artefacts import parse_artefacts

    paths = write_scenario(tmp_path / "scenario", seed=11, hours=30.0, vessels=200, csv=False,
                           artefacts=parse_artefacts(None, profile="identity"))
    store = Store(tmp_path / "store")
    state = open_state(store.path)
    init_state(state, "ECU-NAVY")
    rows, _ = read_watchlist_file(paths["watchlist"])
    import_watchlists(state, rows)
    state.close()
    _, cfg = short_config(tmp_path)
    inc = IncrementalDetector(store, config=cfg)
    add_file_in_parts(store, inc, paths["nmea"], 4, tmp_path)
    live = store.events().collect().sort("event_id")
    batch = detect_store(store, config=cfg, watchlists=stored_entries(store.path)).sort(
        "event_id")
    kinds = ["identity_change", "invalid_identity", "type_mismatch", "watchlist_hit"]
    mine = [f.filter(pl.col("type").is_in(kinds)) for f in (live, batch)]
    assert set(mine[1]["type"]) == set(kinds)
    assert mine[0].equals(mine[1]), differences(*mine)
