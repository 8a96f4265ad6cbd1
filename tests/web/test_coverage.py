"""The map's coverage: the legend lists the coverage outages of the time window, once each,
and the coverage layer draws the cells the feeds heard, shading an outage's cells (a real
Chromium)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.web.cdp import Browser
from tests.web.conftest import Server, serve
from tests.web.test_map import rendered, wait_idle

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


def test_the_coverage_layer_draws_the_cells_and_shades_the_outage(
    browser: Browser, hole_server: Server, screenshots: Path
) -> None:
    cells = hole_server.get("api/v1/coverage/cells")
    (outage,) = hole_server.get("api/v1/coverage")["outages"]
    assert cells["features"]
    browser.reset()
    browser.navigate(hole_server.url)
    browser.wait_for("window.seawatch && window.seawatch.ready === true", timeout=60)
    page = browser
    # hidden until asked: nothing fetched, nothing drawn
    assert page.evaluate("seawatch.state.sources.coverage") is None
    assert page.evaluate("seawatch.map.getLayoutProperty('coverage-fill', 'visibility')") == "none"
    page.click("#layer-coverage")
    page.wait_for("seawatch.state.sources.coverage?.features?.length > 0")
    wait_idle(page)
    drawn = page.evaluate(
        "seawatch.state.sources.coverage.features.map(f => [f.properties.cell_lat,"
        " f.properties.cell_lon, f.properties.positions, f.properties.outage_h])"
    )
    assert sorted(d[:3] for d in drawn) == sorted(
        [f["properties"]["cell_lat"], f["properties"]["cell_lon"], f["properties"]["positions"]]
        for f in cells["features"]
    )
    # the store's outage silenced every cell: each is outlined with its hours
    assert all(d[3] == outage["hours"] for d in drawn)
    assert rendered(page, "coverage-fill") > 0 and rendered(page, "coverage-outage-line") > 0
    assert rendered(page, "coverage-outage-fill") == 0
    # picking the outage in the legend shades its cells (all of them: no feed heard anything)
    page.click("#outages .outage-pick")
    page.wait_for("seawatch.state.pickedOutage === 0")
    wait_idle(page)
    assert rendered(page, "coverage-outage-fill") > 0
    assert page.evaluate("document.querySelector('#outages .outage-pick')"
                         ".getAttribute('aria-pressed')") == "true"
    # hovering a cell says what was heard there and the outage
    hover = page.evaluate(
        "(() => { const m = seawatch.map; const f = m.queryRenderedFeatures("
        "{layers: ['coverage-fill']})[0]; const c = m.getCanvas().getBoundingClientRect();"
        " const b = f.geometry.coordinates[0]; const p = m.project([(b[0][0] + b[2][0]) / 2,"
        " (b[0][1] + b[2][1]) / 2]); return [c.left + p.x, c.top + p.y]; })()"
    )
    page.send("Input.dispatchMouseEvent", type="mouseMoved", x=hover[0], y=hover[1])
    page.wait_for("document.querySelector('.hover-popup')")
    popup = page.evaluate("document.querySelector('.hover-popup').textContent")
    assert "Coverage cell" in popup and "outage all feeds" in popup, popup
    page.screenshot(screenshots / "coverage.png")
    # off again: nothing drawn
    page.click("#layer-coverage")
    wait_idle(page)
    assert rendered(page, "coverage-fill") == 0
    page.drain(0.3)
    assert page.errors() == []


def test_the_coverage_follows_the_time_window(browser: Browser, hole_server: Server) -> None:
    (outage,) = hole_server.get("api/v1/coverage")["outages"]
    browser.reset()
    browser.navigate(hole_server.url)
    browser.wait_for("window.seawatch && window.seawatch.ready === true", timeout=60)
    page = browser
    page.click("#layer-coverage")
    page.wait_for("seawatch.state.sources.coverage?.features?.length > 0")
    # a window that starts after the hole: no outage in it, and only the cells heard then
    after = datetime.fromisoformat(outage["end"].replace("Z", "+00:00"))
    start = after.strftime("%Y-%m-%d %H:%M")
    page.type_text("#win-start", start)
    page.press("Enter")
    page.wait_for("document.querySelector('#outages').textContent === 'none of 6 h or more'")
    hour = after.strftime("%Y-%m-%dT%H:00:00Z")
    want = hole_server.get(f"api/v1/coverage/cells?start={hour}")
    page.wait_for(f"seawatch.state.sources.coverage.hours === {want['hours']}")
    got = page.evaluate("seawatch.state.sources.coverage.features"
                        ".map(f => f.properties.positions).reduce((a, b) => a + b, 0)")
    assert got == sum(f["properties"]["positions"] for f in want["features"])
    assert "in the window" in page.evaluate("document.querySelector('#outages-window').textContent")
    assert page.errors() == []
