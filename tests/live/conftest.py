"""Fixtures of the live tests: a tiny simulated scenario, its ingest as a reference, and a
live service run in a thread of the test."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from seawatch.live.feeds import Endpoint, parse_endpoint
from seawatch.live.params import LiveParams
from seawatch.live.service import LiveService
from seawatch.store import Store

FAST = {"status_every_s": 0.1, "fsync_max_ms": 5, "compact_every_s": 0.5,
        "reconnect_min_s": 0.05, "reconnect_max_s": 0.2, "group_hold_s": 0.3}
"""Parameters that make a test's service quick (the defaults suit a feed of hours)."""


@pytest.fixture(scope="session")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """traffic.nmea of a tiny scenario: 20 vessels, 2 h, with the reception model."""
    from seawatch.sim import write_scenario

    out = tmp_path_factory.mktemp("live-scenario")
    write_scenario(out, 3, 2.0, 20, csv=False)
    return out / "traffic.nmea"


@pytest.fixture(scope="session")
def ingested(scenario: Path, tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    """The positions ``seawatch ingest`` stores for the scenario."""
    store = Store(tmp_path_factory.mktemp("live-reference") / "store")
    store.ingest(scenario)
    return positions(store)


def xor(data: bytes) -> int:
    """The NMEA checksum of ``data`` (its bytes XORed)."""
    x = 0
    for c in data:
        x ^= c
    return x


def checked(text: str) -> str:
    """``text`` with its NMEA checksum (``*hh``)."""
    return f"{text}*{xor(text.encode()):02X}"


def sentence(body: str, tag: str | None = None) -> bytes:
    """A line: ``!<body>*hh``, after a tag block ``\\<tag>*hh\\`` when given."""
    block = "\\" + checked(tag) + "\\" if tag is not None else ""
    return (block + "!" + checked(body) + "\n").encode()


def positions(store: Store) -> pl.DataFrame:
    return store.positions().collect().sort("mmsi", "ts", "source", "lat", "lon")


def wait_for(check: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.02)


def bound(service: LiveService, name: str) -> Endpoint:
    """The address a feed of ``service`` listens on (it was given port 0)."""
    feed = next(f for f in service.feeds if f.endpoint.name == name)
    return parse_endpoint(feed.stats.address, "listen")


@contextmanager
def running(store: Path, urls: list[str], detection: Any = None,
            **params: Any) -> Iterator[LiveService]:
    """A live service on ``store`` with feeds ``urls`` (``listen ...``/``connect ...``), run
    in a thread until the block ends (then stopped: last batch and compaction), with
    ``detection`` (a ``LiveDetection``) when given."""
    endpoints = [parse_endpoint(u.split(" ", 1)[1], u.split(" ", 1)[0]) for u in urls]
    service = LiveService(store, endpoints, params=LiveParams(**{**FAST, **params}),
                          handle_signals=False, detection=detection)
    failed: list[BaseException] = []

    def main() -> None:
        try:
            asyncio.run(service.run())
        except BaseException as exc:  # reported in the test's thread
            failed.append(exc)

    thread = threading.Thread(target=main, name="live service", daemon=True)
    thread.start()
    wait_for(lambda: service.ready.is_set() or failed, what="the service to start")
    if failed:
        raise failed[0]
    try:
        yield service
    finally:
        service.stop()
        thread.join(120)
        assert not thread.is_alive(), "the service did not stop"
        if failed:
            raise failed[0]
