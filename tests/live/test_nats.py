"""A real NATS JetStream server (Debian's ``nats-server -js``) feeding ``seawatch live``.

Each test starts its own unprivileged server on a port it picks (``-p -1``: the server reports
the port it got), with a store folder of its own; it skips without ``nats-server``.

- A scenario replayed to a subject (``seawatch replay --to nats://``) lands in the store as
  ``seawatch ingest`` puts it.
- ``seawatch live`` killed with SIGKILL in the middle, then restarted: every message published
  is in the store exactly once (the messages logged but not acknowledged are delivered again
  and skipped).
- The server restarted under the feed: the feed reconnects, the outage is recorded, nothing is
  lost.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from seawatch.live.feeds import parse_endpoint
from seawatch.live.nats import NatsFeed, NatsPublisher, messages
from seawatch.live.replay import replay, timed_lines
from seawatch.store import Store
from tests.live.conftest import positions, running, wait_for

pytest.importorskip("nats")

NATS_SERVER = os.environ.get("SEAWATCH_NATS_SERVER") or shutil.which("nats-server") or (
    "/usr/sbin/nats-server" if Path("/usr/sbin/nats-server").is_file() else None)
ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from seawatch.cli import main; main()"]

pytestmark = pytest.mark.skipif(
    NATS_SERVER is None,
    reason="nats-server is not installed (Debian: apt-get install nats-server; .ci/run "
    "installs it; SEAWATCH_NATS_SERVER names another binary)",
)

_LISTENING = re.compile(rb"Listening for client connections on [^\s]+:(\d+)")


class NatsServer:
    """``nats-server -js`` on 127.0.0.1 with its store in ``folder``; :meth:`start` again
    after :meth:`kill` restarts it on the same port with the same store."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = -1  # the server picks a free one at its first start
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert NATS_SERVER is not None
        log = self.folder / "server.log"
        log.unlink(missing_ok=True)
        self.proc = subprocess.Popen(
            [NATS_SERVER, "-js", "-a", "127.0.0.1", "-p", str(self.port),
             "-sd", str(self.folder / "js"), "-l", str(log)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        found = wait_for(lambda: self._port(log), 30, "nats-server to listen")
        self.port = int(found)

    def _port(self, log: Path) -> int | None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"nats-server exited: {log.read_bytes()[-2000:]!r}")
        with contextlib.suppress(OSError):
            m = _LISTENING.search(log.read_bytes())
            if m:
                return int(m.group(1))
        return None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)

    def url(self, subject: str = "ais.test") -> str:
        return f"nats://127.0.0.1:{self.port}/{subject}"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[NatsServer]:
    srv = NatsServer(tmp_path / "nats")
    srv.folder.mkdir()
    srv.start()
    try:
        yield srv
    finally:
        srv.kill()


def test_messages_keep_the_fragments_of_a_message_together() -> None:
    block = (b"\\s:rx*00\\!AIVDM,2,1,7,B,a,0*00\n\\g:2-2-7*00\\!AIVDM,2,2,7,B,b,2*00\n"
             b"!AIVDM,1,1,,A,c,0*00\n")
    got = messages(block)
    assert got == [block.split(b"\n!AIVDM,1")[0] + b"\n", b"!AIVDM,1,1,,A,c,0*00\n"]


def test_a_scenario_replayed_through_nats_lands_as_ingest_puts_it(tmp_path, server, scenario,
                                                                   ingested):
    timed = timed_lines(scenario)
    store = tmp_path / "store"
    url = server.url()
    # published before the service starts: JetStream keeps them for the durable consumer
    subprocess.run([*CLI, "replay", str(scenario), "--to", url, "--speed", "0"], check=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, timeout=120)
    with running(store, [f"connect {url}"]) as service:
        feed = service.feeds[0]
        wait_for(lambda: service.writer.acknowledged_lines >= len(timed), 60, "every line")
        wait_for(lambda: feed.stats.acked >= feed.stats.messages, 30, "every ack")
        assert feed.stats.redelivered_skipped == 0
    got = positions(Store(store))
    assert got.equals(ingested)
    # a second run of the service finds nothing left to read: JetStream had every ack
    with running(store, [f"connect {url}"]) as service:
        wait_for(lambda: service.feeds[0].stats.connects >= 1, 30, "a connection")
        time.sleep(1.5)
        assert service.feeds[0].stats.messages == 0
    assert positions(Store(store)).equals(ingested)


def test_messages_logged_but_never_acknowledged_come_again_and_are_skipped(
        tmp_path, server, scenario, ingested, monkeypatch):
    # the first run logs every message and acknowledges none (a crash between the fsync and
    # the acknowledgements, every time); the second gets them all again
    timed = timed_lines(scenario)
    n = len(messages(timed.data))
    store = tmp_path / "store"
    url = server.url()
    sender = NatsPublisher(parse_endpoint(url, "connect"))
    sender.publish(timed.data)
    sender.close()

    async def lost(self: NatsFeed, msgs: list[Any]) -> None:
        return None

    with monkeypatch.context() as patch:
        patch.setattr(NatsFeed, "_send_acks", lost)
        with running(store, [f"connect {url}"], nats_ack_wait_s=1) as service:
            wait_for(lambda: service.writer.acknowledged_lines >= len(timed), 60, "every line")
    with running(store, [f"connect {url}"], nats_ack_wait_s=1) as service:
        feed = service.feeds[0]
        wait_for(lambda: feed.stats.acked >= n, 60, "every message acknowledged")
        assert feed.stats.redelivered_skipped == n
        assert feed.stats.lines == 0 and service.writer.acknowledged_lines == 0
    st = Store(store)
    assert sum(e["stats"]["lines"] for e in st.snapshot().inputs) == len(timed)
    assert positions(st).equals(ingested)


def status(live: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((live / "status.json").read_text()))
    except (OSError, ValueError):
        return {}


def live_command(store: Path, *args: str) -> list[str]:
    return [*CLI, "live", "--store", str(store), *args, "--set", "status_every_s=0.02",
            "--set", "fsync_max_ms=5", "--set", "compact_every_s=0.3",
            "--set", "nats_ack_wait_s=2", "--set", "reconnect_min_s=0.1",
            "--set", "reconnect_max_s=0.5", "--set", "nats_batch=50"]


@pytest.mark.parametrize("seed", [1, 2])
def test_kill_9_mid_stream_then_restart_every_message_is_in_the_store_once(
        tmp_path, server, scenario, ingested, seed):
    timed = timed_lines(scenario)
    store = tmp_path / "store"
    live = store / "live"
    url = server.url()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = open(tmp_path / "live.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(live_command(store, "--connect", url), env=env, stdout=log,
                            stderr=log, cwd=tmp_path)
    try:
        publisher = threading.Thread(
            target=lambda: replay(timed, parse_endpoint(url, "connect"), speed=7200),
            daemon=True)
        publisher.start()
        target = len(timed) // 3 * seed
        wait_for(lambda: status(live).get("acknowledged_lines", 0) >= target, 90,
                 f"{target} acknowledged lines")
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        publisher.join(120)
        assert not publisher.is_alive()
        # restarted: what was logged and not acknowledged comes again and is skipped
        proc = subprocess.Popen(live_command(store, "--connect", url), env=env, stdout=log,
                                stderr=log, cwd=tmp_path)
        wait_for(lambda: _all_in(store, len(timed)), 120, "every line in the store")
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    st = Store(store)
    assert sum(e["stats"]["lines"] for e in st.snapshot().inputs) == len(timed)
    assert positions(st).equals(ingested)


def _all_in(store: Path, lines: int) -> bool:
    with contextlib.suppress(Exception):
        return sum(e["stats"]["lines"] for e in Store(store).snapshot().inputs) >= lines
    return False


def test_the_server_restarted_under_the_feed_reconnects_and_loses_nothing(
        tmp_path, server, scenario, ingested):
    timed = timed_lines(scenario)
    half = len(messages(timed.data)) // 2
    store = tmp_path / "store"
    url = server.url()
    to = parse_endpoint(url, "connect")
    with running(store, [f"connect {url}"], nats_ack_wait_s=2) as service:
        feed = service.feeds[0]
        first = b"".join(messages(timed.data)[:half])
        cut = len(first)
        sender = NatsPublisher(to)
        sender.publish(first)
        sender.close()
        wait_for(lambda: service.writer.acknowledged_lines >= first.count(b"\n"), 60,
                 "the first half")
        server.kill()
        wait_for(lambda: not feed.stats.connected, 30, "the feed to see the server gone")
        time.sleep(0.5)
        server.start()
        sender = NatsPublisher(to)
        sender.publish(timed.data[cut:])
        sender.close()
        wait_for(lambda: service.writer.acknowledged_lines >= len(timed), 60, "every line")
        assert feed.stats.connects >= 2
        outages = [o for o in service.outages.spans if o["source"] == feed.endpoint.name]
        assert outages and outages[0]["reason"].startswith("disconnected")
        assert outages[0]["end"] is not None
    assert positions(Store(store)).equals(ingested)


def test_a_stream_made_anew_restarts_its_sequences_and_nothing_is_skipped(
        tmp_path, server, scenario, ingested):
    import asyncio

    import nats

    timed = timed_lines(scenario)
    parts = messages(timed.data)
    first, second = b"".join(parts[: len(parts) // 2]), b"".join(parts[len(parts) // 2 :])
    store = tmp_path / "store"
    url = server.url()
    to = parse_endpoint(url, "connect")
    for block in (first, second):
        sender = NatsPublisher(to)
        sender.publish(block)
        sender.close()
        with running(store, [f"connect {url}"]) as service:
            wait_for(lambda b=block, s=service: s.writer.acknowledged_lines >= b.count(b"\n"),
                     60, "the block")
            feed = service.feeds[0]
            wait_for(lambda f=feed: f.stats.acked >= f.stats.messages, 30, "every ack")
            assert service.writer.acknowledged_lines == block.count(b"\n")
            assert feed.stats.redelivered_skipped == 0

        async def delete() -> None:
            nc = await nats.connect(f"nats://127.0.0.1:{server.port}")
            await nc.jetstream().delete_stream("AIS")
            await nc.close()

        asyncio.run(delete())  # the next block goes to a new stream, from sequence 1
    assert positions(Store(store)).equals(ingested)
