"""The map's legend lists the store's coverage outages, once each (a real Chromium)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.web.cdp import Browser
from tests.web.conftest import Server, serve

HOLE_H = (2, 9)
"""Hours of the scenario no station delivered (a capture split into two files)."""


@pytest.fixture(scope="module")
def hole_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A 10 h scenario of 40 vessels with every line of hours 2 to 9 left out."""
    from seawatch.detect.run import detect_store
    from seawatch.sim import write_scenario
    from seawatch.store import Store

    root = tmp_path_factory.mktemp("web-hole")
    paths = write_scenario(root / "scenario", seed=2, hours=10, vessels=40, csv=False)
    lines = Path(paths["nmea"]).read_text().splitlines()
    times = [int(m.group(1)) if (m := re.search(r"c:(\d+)", line)) else None for line in lines]
    t0 = min(t for t in times if t is not None)
    lo, hi = t0 + HOLE_H[0] * 3600, t0 + HOLE_H[1] * 3600
    kept = [line for line, t in zip(lines, times, strict=True) if t is None or not lo <= t < hi]
    split = root / "split.nmea"
    split.write_text("\n".join(kept) + "\n")
    store = Store(root / "store")
    store.ingest([split])
    detect_store(store)
    with serve(root / "store") as running:
        yield running


def test_the_legend_lists_each_outage_once(browser: Browser, hole_server: Server) -> None:
    (outage,) = hole_server.get("api/v1/coverage")["outages"]
    assert outage["kind"] == "store" and outage["hours"] >= 6
    browser.reset()
    browser.navigate(hole_server.url)
    browser.wait_for("window.seawatch && window.seawatch.ready === true", timeout=60)
    items = browser.evaluate(
        "[...document.querySelectorAll('#outages li.outage')].map(li => li.textContent)"
    )
    start = datetime.fromisoformat(outage["start"].replace("Z", "+00:00")).astimezone(UTC)
    assert len(items) == 1 and items[0].startswith("all feeds: ")
    assert start.strftime("%Y-%m-%d %H:%M") in items[0]
    assert f"({outage['hours']} h)" in items[0]
    browser.drain(0.3)
    assert browser.errors() == []


def test_a_store_without_outages_says_none(page: Browser) -> None:
    text = page.evaluate("document.querySelector('#outages').textContent")
    assert text == "none of 6 h or more"
