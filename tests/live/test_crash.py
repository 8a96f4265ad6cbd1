"""Crash safety: ``seawatch live`` killed with SIGKILL at a random moment of a replay; after
a restart every acknowledged line is in the store exactly once."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from seawatch.live.compact import compacted_ranges
from seawatch.live.feeds import parse_endpoint
from seawatch.live.replay import replay, timed_lines
from seawatch.live.wal import START, Wal
from seawatch.store import Store
from tests.live.conftest import positions, wait_for

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from seawatch.cli import main; main()"]


def status(live: Path) -> dict[str, Any]:
    """The service's last status; empty before it wrote one."""
    try:
        return dict(json.loads((live / "status.json").read_text()))
    except (OSError, ValueError):
        return {}


def live_command(store: Path, *args: str) -> list[str]:
    return [*CLI, "live", "--store", str(store), *args,
            "--set", "status_every_s=0.02", "--set", "fsync_max_ms=5",
            "--set", "compact_every_s=0.3"]


@pytest.mark.parametrize("seed", [1, 12, 17])
def test_every_acknowledged_line_is_in_the_store_once_after_kill_9(tmp_path, scenario, seed):
    rng = random.Random(seed)
    timed = timed_lines(scenario)
    store = tmp_path / "store"
    live = store / "live"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = open(tmp_path / "live.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(live_command(store, "--listen", "tcp://127.0.0.1:0"), env=env,
                            stdout=log, stderr=log, cwd=tmp_path)
    try:
        first = wait_for(lambda: (s := status(live)).get("feeds") and s["feeds"][0]["address"]
                         and s, 60, "the service to listen")
        to = parse_endpoint(first["feeds"][0]["address"], "listen")
        sent = threading.Thread(target=lambda: _play(timed, to), daemon=True)
        sent.start()
        target = rng.randrange(1, len(timed))
        wait_for(lambda: status(live).get("acknowledged_lines", 0) >= target, 60,
                 f"{target} acknowledged lines")
        time.sleep(rng.uniform(0, 0.3))  # any moment: a batch, a compaction, a commit
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        sent.join(30)
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    acknowledged = status(live)["acknowledged_lines"]  # the last the killed service wrote
    assert acknowledged >= target

    # restart without feeds: the log is replayed into the store, then the service stops
    done = subprocess.run(live_command(store), env=env, capture_output=True, cwd=tmp_path,
                          timeout=120)
    assert done.returncode == 0, done.stderr.decode()

    st = Store(store)
    wal_id = (live / "wal" / "WAL-ID").read_text().strip()
    ranges = compacted_ranges(st, wal_id)
    assert ranges and ranges[0][0] == START
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges)), ranges
    committed = sum(e["stats"]["lines"] for e in st.snapshot().inputs)
    # TCP keeps order, so the store holds the file's first `committed` lines, each once:
    # exactly what `seawatch ingest` of those lines stores
    assert acknowledged <= committed <= len(timed)
    prefix = tmp_path / "prefix.nmea"
    prefix.write_bytes(timed.data[: int(timed.starts[committed])])
    reference = Store(tmp_path / "reference")
    reference.ingest(prefix)
    assert positions(st).equals(positions(reference))
    # and nothing of the log is left out: what it holds after the store's position is empty
    assert status(live)["stopped"]
    wal = Wal(live / "wal")
    assert list(wal.read(ranges[-1][1], wal.end)) == []


def _play(timed, to) -> None:
    with contextlib.suppress(OSError):  # the service is killed under it
        replay(timed, to, speed=3600)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_it_after_the_last_batch_and_compaction(tmp_path, scenario, sig):
    timed = timed_lines(scenario)
    store = tmp_path / "store"
    live = store / "live"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [*live_command(store, "--listen", "tcp://127.0.0.1:0"), "--set", "compact_every_s=600",
         "--set", "fsync_max_ms=1000"],  # nothing compacted, the last batch pending, at the signal
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    try:
        first = wait_for(lambda: (s := status(live)).get("feeds") and s["feeds"][0]["address"]
                         and s, 60, "the service to listen")
        to = parse_endpoint(first["feeds"][0]["address"], "listen")
        replay(timed, to, speed=0)
        wait_for(lambda: status(live).get("feeds", [{}])[0].get("lines") == len(timed), 30,
                 "every line received")
        proc.send_signal(sig)
        out, errors = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, errors.decode()
    assert b"live: " in errors  # the status lines
    assert f"stopped: {len(timed)} lines acknowledged".encode() in out.replace(b",", b"")
    final = status(live)
    assert final["stopped"] and final["compacted_lines"] == len(timed)
    assert final["acknowledged_lines"] == len(timed)
    assert Store(store).info()["rows"]["positions"] > 0
