"""Why an alert was raised and what lowered its score, in the event panel and on the map,
and the installations layer (a real Chromium, against the real API app)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from tests.web.cdp import Browser
from tests.web.conftest import Server, serve
from tests.web.test_map import rendered, wait_idle

WHY = "#panel-body .why"


@pytest.fixture(scope="module")
def platform_server(web_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The web store detected again with a platform declared where its first loitering event
    lies, events there kept at a quarter of their score: the map shows the platform and why
    that event's score is low."""
    from seawatch.detect.config import DetectConfig
    from seawatch.detect.run import detect_store
    from seawatch.store import Store

    root = tmp_path_factory.mktemp("web-platform") / "store"
    shutil.copytree(web_store, root, ignore=shutil.ignore_patterns("state.db*"))
    store = Store(root, create=False)
    loitering = store.events(type="loitering").collect()
    if loitering.height == 0:
        pytest.fail("the web test scenario plants loitering")
    where = loitering.row(0, named=True)
    platform = pl.DataFrame(
        {"name": ["Amistad"], "kind": ["platform"], "lat": [where["lat"]],
         "lon": [where["lon"]], "extent_km": [0.0], "radius_km": [None],
         "source": ["platforms.geojson"]},
        schema_overrides={"radius_km": pl.Float64},
    )
    detect_store(store, config=DetectConfig.from_dict({"installations": {"score_factor": 0.25}}),
                 installations=platform)
    with serve(root) as running:
        yield running


def why(page: Browser) -> dict[str, list[str]]:
    """The panel's "Why this alert": its raised and lowered sentences."""
    return page.evaluate(
        "({raised: [...document.querySelectorAll('#panel-body .why-raised li')]"
        ".map(li => li.textContent), lowered: [...document.querySelectorAll("
        "'#panel-body .why-lowered li')].map(li => li.textContent)})"
    )


def clean(sentences: list[str]) -> None:
    for text in sentences:
        assert text.endswith("."), text
        for bad in ("undefined", "NaN", "null", "[object"):
            assert bad not in text, text


def test_every_type_says_why_it_was_raised(page: Browser, server: Server) -> None:
    events = server.get("api/v1/events?limit=1000")["items"]
    one_per_type = {e["type"]: e for e in reversed(events)}
    assert {"encounter", "loitering", "zone_entry", "port_visit"} <= one_per_type.keys()
    for event in one_per_type.values():
        page.evaluate(f"seawatch.openEvent({event['event_id']!r})")
        page.wait_for(f"document.querySelector('{WHY}') && seawatch.state.panel.id === "
                      f"{event['event_id']!r}")
        said = why(page)
        assert said["raised"], event["type"]
        clean(said["raised"] + said["lowered"])
        score = page.evaluate(f"document.querySelector('{WHY} .muted').textContent")
        assert f"Score {event['score']:.2f}" in score
        # the details' figures are still all in the table (keys no sentence reads too)
        rows = page.evaluate("document.querySelectorAll('#panel-body table.figures tr').length")
        assert rows == max(len(event["details"] or {}), 1)
    encounter = one_per_type["encounter"]["details"]
    page.evaluate(f"seawatch.openEvent({one_per_type['encounter']['event_id']!r})")
    page.wait_for(f"document.querySelector('{WHY}') && seawatch.state.panel.id === "
                  f"{one_per_type['encounter']['event_id']!r}")
    raised = " ".join(why(page)["raised"])
    assert f"median speeds {encounter['mmsi_median_speed_kn']:.2f}" in raised
    assert "nm from shore" in raised and not re.search(r"\d km\b", raised)
    assert page.errors() == []


def test_a_gap_says_what_the_feeds_heard(browser: Browser, gap_server: Server) -> None:
    (gap, *_) = gap_server.get("api/v1/events?type=gap")["items"]
    d = gap["details"]
    browser.reset()
    browser.navigate(gap_server.url)
    browser.wait_for("window.seawatch && window.seawatch.ready === true", timeout=60)
    browser.evaluate(f"seawatch.openEvent({gap['event_id']!r})")
    browser.wait_for(f"document.querySelector('{WHY}')")
    said = why(browser)
    clean(said["raised"] + said["lowered"])
    first = said["raised"][0]
    assert first.startswith(f"AIS silent {d['gap_hours']:.1f} h")
    if d.get("coverage") == "heard":
        feeds = d["feeds"]
        assert f"while {len(feeds)} feed" in first and all(f in first for f in feeds)
        assert f"in {d['watched_h']} of the silent hours" in first
    else:
        assert any(s.startswith("Coverage unknown") for s in said["lowered"])
    if d.get("likely_intentional"):
        assert any("Likely switched off on purpose" in s for s in said["raised"])
    assert browser.errors() == []


def test_an_installation_is_drawn_and_lowers_the_event_there(
    browser: Browser, platform_server: Server, screenshots: Path
) -> None:
    fc = platform_server.get("api/v1/installations")
    (platform,) = [f for f in fc["features"] if not f["properties"]["candidate"]]
    lowered = [e for e in platform_server.get("api/v1/events?type=loitering&limit=1000")["items"]
               if "installation" in (e["details"] or {})]
    assert lowered, "the platform stands where a loitering event lies"
    event = lowered[0]
    browser.reset()
    browser.navigate(platform_server.url)
    browser.wait_for("window.seawatch && window.seawatch.ready === true", timeout=60)
    page = browser
    note = page.evaluate("document.querySelector('#installations-note').textContent")
    assert note.startswith("1 installation, ") and "loitering" in note and "score × 0.25" in note
    page.evaluate(f"seawatch.openEvent({event['event_id']!r})")
    page.wait_for(f"document.querySelector('{WHY}')")
    wait_idle(page)
    said = why(page)
    clean(said["raised"] + said["lowered"])
    (at,) = [s for s in said["lowered"] if "Amistad" in s]
    before = event["details"]["installation"]["score_before"]
    assert "At platform Amistad" in at and f"from {before:.2f} to {event['score']:.2f}" in at
    # the platform and its reach are on the map, by the event
    lon_lat = platform["geometry"]["coordinates"]
    at_platform = f"seawatch.map.jumpTo({{center: {lon_lat}, zoom: %d}})"
    page.evaluate(f"{at_platform % 11}, true")
    wait_idle(page)
    assert rendered(page, "installations") == 1
    assert rendered(page, "installation-reach-line") >= 1
    page.evaluate(f"{at_platform % 10}, true")
    wait_idle(page)
    page.screenshot(screenshots / "why-alert.png")
    # the legend's box hides it (the legend folds away while a panel is open)
    page.click("#legend summary")
    page.click("#layer-installations")
    wait_idle(page)
    assert rendered(page, "installations") == 0
    assert page.errors() == []
