"""Crash safety of the alerts: ``seawatch live`` with alert rules in its state, killed with
SIGKILL at random moments of a replay (during a compaction, a detection run, the raise of
its alerts), restarted; at the end the alerts are, exactly once each, those the rules give
on the events ``seawatch detect`` finds in the final store, each with the event's final copy.

An alert whose event vanished from the final events (an event whose start moved, two
episodes merged) keeps its last copy (docs/alerts.md): it is no duplicate of a final event's
alert, and it is allowed; every final event's alert must be there, once, and current."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import polars as pl
import pytest

from seawatch.detect.config import load_config
from seawatch.detect.run import detect_store
from seawatch.live.detect import IncrementalDetector
from seawatch.share import alerts
from seawatch.share.accounts import init_state
from seawatch.share.db import open_state
from seawatch.store import Store
from tests.live.conftest import wait_for
from tests.live.test_crash import CLI, ROOT, status
from tests.live.test_detect import SHORT

T0 = datetime(2026, 1, 15, 20, tzinfo=UTC)


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """traffic.nmea of 40 vessels over 10 h with planted encounters, loitering, gaps."""
    from seawatch.sim import write_scenario

    out = tmp_path_factory.mktemp("crash-alerts-scenario")
    write_scenario(out, 11, 10.0, 40, csv=False, start=T0)
    return out / "traffic.nmea"


def with_rules(store: Path) -> None:
    """A state with a host agency and two rules: every event, and the meetings."""
    state = open_state(store)
    try:
        init_state(state, "ECU-NAVY")
        alerts.add_rule(state, "everything")
        alerts.add_rule(state, "meetings", event_types=["encounter", "loitering"])
    finally:
        state.close()


def command(store: Path, config: Path, *args: str) -> list[str]:
    return [*CLI, "live", "--store", str(store), "--config", str(config), *args,
            "--set", "status_every_s=0.02", "--set", "fsync_max_ms=5",
            "--set", "compact_every_s=0.3"]


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "SEAWATCH_DB": ""}


def check_alerts(store: Path, config: Path) -> tuple[int, int]:
    """The final alerts against the rules on ``seawatch detect``'s events of the store:
    (alerts of final events, alerts of vanished events)."""
    st = Store(store)
    live = st.events().collect()
    batch = detect_store(st, config=load_config(config))
    assert live.sort("event_id").equals(batch.sort("event_id"))
    state = open_state(store)
    try:
        rules = alerts.list_rules(state, enabled=True)
        have = alerts.list_alerts(state)
    finally:
        state.close()
    wanted = alerts.match_events(batch, rules)
    assert wanted.height
    pairs = [(a.rule_id, a.event_id) for a in have]
    assert len(pairs) == len(set(pairs)), "an alert raised twice"
    final = set(batch["event_id"])
    current = sorted(p for p in pairs if p[1] in final)
    assert current == sorted(wanted.iter_rows()), "alerts lost or extra"
    copy = pl.DataFrame(
        [(a.event_id, a.event_type, a.mmsi, a.other_mmsi, a.event_start, a.event_end, a.lat,
          a.lon, a.zone, a.score) for a in have if a.event_id in final],
        schema={k: batch.schema[k] for k in alerts.EVENT_COLUMNS}, orient="row",
    ).unique().sort("event_id")
    events = batch.select(alerts.EVENT_COLUMNS).filter(
        pl.col("event_id").is_in(copy["event_id"].implode())).sort("event_id")
    assert copy.equals(events), "an alert's copy of its event is not the final one"
    return len(current), len(pairs) - len(current)


def kill_while(store: Path, config: Path, chunk: bytes, moment: str, delay: float,
               log: IO[bytes]) -> None:
    """Start the service with a TCP feed, send ``chunk``, and SIGKILL it ``delay`` seconds
    after: lines were acknowledged (``received``: a batch, a compaction, its commit), or
    (scaled to 0.3 s at most) a second detection run (``detected``) or its raise of alerts
    (``raised``) finished."""
    live = store / "live"
    proc = subprocess.Popen(command(store, config, "--listen", "tcp://127.0.0.1:0"), env=env(),
                            stdout=log, stderr=log, cwd=store.parent)

    def listening() -> dict[str, Any] | None:
        s = status(live)
        ok = s.get("pid") == proc.pid and s.get("feeds") and s["feeds"][0]["address"]
        return s if ok else None

    def ran() -> bool:
        det = status(live).get("detection") or {}
        return bool(det.get("runs", 0) >= 2 and (
            moment == "detected" or det.get("alerts") is not None))

    try:
        first = wait_for(listening, 60, "the service to listen")
        host, port = first["feeds"][0]["address"].rsplit("/", 1)[-1].rsplit(":", 1)
        with socket.create_connection((host, int(port))) as conn:
            conn.sendall(chunk)
        if moment == "received":
            wait_for(lambda: status(live).get("acknowledged_lines", 0) > 0, 60, "lines")
            time.sleep(delay)
        else:
            wait_for(ran, 120, f"a detection run ({moment})")
            time.sleep(delay * 0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize("seed", [3, 8])
def test_alerts_are_raised_once_each_after_kill_9_at_random_moments(tmp_path, planted, seed):
    rng = random.Random(seed)
    store = tmp_path / "store"
    config = tmp_path / "short.toml"
    config.write_text(SHORT, encoding="utf-8")
    Store(store)
    with_rules(store)
    lines = planted.read_bytes().splitlines(keepends=True)
    parts = 4
    kills = []
    with open(tmp_path / "live.log", "ab") as log:
        for k in range(parts):
            chunk = b"".join(lines[k * len(lines) // parts:(k + 1) * len(lines) // parts])
            moment = rng.choice(["received", "detected", "raised"])
            kill_while(store, config, chunk, moment, rng.uniform(0, 1.0), log)
            kills.append(moment)
    # a last start without feeds: compacts what the log holds, detects, raises, stops
    done = subprocess.run(command(store, config), env=env(), capture_output=True,
                          cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    current, _ = check_alerts(store, config)
    assert current > 0, kills


def test_a_crash_between_writing_events_and_raising_loses_no_alert(tmp_path, planted):
    """The events of a detection run written, the service killed before it raised their
    alerts: the next start raises them (a full reconciliation), once each."""
    store = tmp_path / "store"
    config = tmp_path / "short.toml"
    config.write_text(SHORT, encoding="utf-8")
    lines = planted.read_bytes().splitlines(keepends=True)
    half = tmp_path / "half.nmea"
    half.write_bytes(b"".join(lines[: len(lines) // 2]))
    st = Store(store)
    st.ingest(half)
    with_rules(store)
    # a service that ran to the end: the first half's events and alerts
    done = subprocess.run(command(store, config), env=env(), capture_output=True,
                          cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    before, _ = check_alerts(store, config)
    # the rest compacted and detected on, the events written: the "crash" before the raise
    rest = tmp_path / "rest.nmea"
    rest.write_bytes(b"".join(lines[len(lines) // 2:]))
    st = Store(store)
    st.ingest(rest)
    assert IncrementalDetector(st, config=load_config(config)).run() is not None
    with contextlib.suppress(AssertionError):
        check_alerts(store, config)
        pytest.fail("the alerts of the new events were raised already: nothing to test")
    done = subprocess.run(command(store, config), env=env(), capture_output=True,
                          cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    after, _ = check_alerts(store, config)
    assert after > before
