"""The offline web map in a real headless Chromium, against the real API app.

Each test loads the page afresh (``page`` fixture) and drives it as a user would (clicks,
typing), reading the map's state through the ``window.seawatch`` debug handle.
"""

from __future__ import annotations

import json
import time
from urllib.parse import urlsplit

from tests.web.cdp import Browser
from tests.web.conftest import Server

ROWS = "#event-list li.event-row"


def rendered(page: Browser, layer: str) -> int:
    """Features of a layer drawn in the viewport now."""
    return page.evaluate(
        f"seawatch.map.queryRenderedFeatures({{layers: [{json.dumps(layer)}]}}).length"
    )


def wait_idle(page: Browser) -> None:
    """Wait until the map has finished moving and drawing."""
    page.evaluate(
        "new Promise(r => { const m = seawatch.map;"
        " if (!m.isMoving() && m.loaded()) r(true); else m.once('idle', () => r(true)); })"
    )


def cursor(page: Browser) -> list[list[float]]:
    """Coordinates of the replay markers."""
    return page.evaluate(
        "(seawatch.state.sources.cursor?.features ?? []).map(f => f.geometry.coordinates)"
    )


def test_page_loads_without_errors(page: Browser, server: Server) -> None:
    stats = server.get("api/v1/stats")
    assert page.evaluate("document.title") == "seawatch map"
    header = page.evaluate("document.querySelector('#stats').textContent")
    assert f"{stats['positions']:,} positions" in header
    assert f"{stats['vessels']:,} vessels" in header
    assert page.evaluate("getComputedStyle(document.querySelector('#panel')).display") == "none"
    page.drain(0.3)
    assert page.errors() == []


def test_vessels_are_drawn(page: Browser, server: Server, screenshots) -> None:
    vessels = server.get("api/v1/vessels?format=geojson")
    total = len(vessels["features"])
    assert total > 0
    assert page.evaluate("seawatch.state.sources.vessels.features.length") == total
    drawn = rendered(page, "vessels")
    assert 0 < drawn <= total
    # the land, the zones and the circles make the canvas far from one flat colour
    stats = page.evaluate("seawatch.canvasStats()")
    assert stats["width"] > 800 and stats["height"] > 600
    assert stats["distinct"] > 20, stats
    assert rendered(page, "land") > 0
    # every ship-type class in the data has its colour, and the legend names it
    legend = page.evaluate("document.querySelector('#legend').textContent")
    for label in ("Fishing", "Cargo", "Tanker", "Passenger / pleasure", "Other / unknown"):
        assert label in legend
    page.screenshot(screenshots / "map.png")


def test_events_are_listed(page: Browser, server: Server) -> None:
    api = server.get("api/v1/events?limit=200")
    rows = page.evaluate(f"document.querySelectorAll('{ROWS}').length")
    assert api["total"] > 0
    assert rows == min(api["total"], 200)
    ids = page.evaluate(f"[...document.querySelectorAll('{ROWS}')].map(r => r.dataset.eventId)")
    assert ids == [e["event_id"] for e in api["items"]]
    count = page.evaluate("document.querySelector('#events-count').textContent")
    assert f"of {api['total']:,}" in count
    # all of them (up to 5,000) drawn on the map and on the timeline
    every = server.get("api/v1/events?limit=5000")["items"]
    assert page.evaluate("seawatch.state.sources.events.features.length") == sum(
        1 for e in every if e["lat"] is not None
    )
    assert page.evaluate("document.querySelectorAll('#timeline .tl-bar').length") == api["total"]


def test_clicking_an_event_opens_its_evidence(page: Browser, server: Server) -> None:
    first = server.get("api/v1/events?limit=1")["items"][0]
    page.click(f"{ROWS} button")
    page.wait_for("document.querySelector('#panel-body table.figures')")
    assert page.evaluate("document.querySelector('#panel').hidden") is False
    title = page.evaluate("document.querySelector('#panel-title').textContent")
    assert title.lower().replace(" ", "_") in (first["type"], "ais_gap")
    # one table row per measured quantity in details
    figures = page.evaluate(
        "[...document.querySelectorAll('#panel-body table.figures tr')]"
        ".map(r => [r.querySelector('th')?.textContent, r.querySelector('td')?.textContent])"
    )
    assert len(figures) == len(first["details"]) > 0
    assert all(label and value and value != "–" for label, value in figures)
    explain = page.evaluate("document.querySelector('#panel-body .explain').textContent")
    assert len(explain) > 10
    # the evidence is on the map
    assert page.evaluate("seawatch.state.sources.evidence.features.length") > 0
    wait_idle(page)
    assert rendered(page, "evidence-points") > 0
    assert page.errors() == []


def test_encounter_evidence_shows_both_tracks(page: Browser, server: Server, screenshots) -> None:
    encounters = server.get("api/v1/events?type=encounter")
    assert encounters["total"] >= 1, "the test scenario should hold an encounter"
    # keep only encounters with the type checkboxes
    for box in page.evaluate(
        "[...document.querySelectorAll('#type-boxes input')].filter(i => i.value !== 'encounter')"
        ".map(i => i.value)"
    ):
        page.click(f'#type-boxes input[value="{box}"]')
    page.wait_for(f"document.querySelectorAll('{ROWS}').length === {encounters['total']}")
    event = encounters["items"][0]
    page.click(f'{ROWS}[data-event-id="{event["event_id"]}"] button')
    page.wait_for("document.querySelector('#panel-body table.figures')")
    wait_idle(page)
    text = page.evaluate("document.querySelector('#panel-body').textContent")
    assert "Two vessels within" in text
    distance = event["details"]["median_distance_m"]
    assert f"within {distance:.0f} m" in text or f"within {distance:.1f} m" in text
    assert str(event["mmsi"]) in text and str(event["other_mmsi"]) in text
    # one line per vessel, in two colours, both drawn
    lines = page.evaluate(
        "seawatch.state.sources.evidence.features.filter(f => f.geometry.type === 'LineString')"
        ".map(f => [f.properties.mmsi, f.properties.color])"
    )
    assert {m for m, _ in lines} == {event["mmsi"], event["other_mmsi"]}
    assert len({c for _, c in lines}) == 2
    assert rendered(page, "evidence-line") >= 2
    # the replay starts at the event's start with one marker per vessel
    assert len(cursor(page)) == 2
    page.screenshot(screenshots / "event-evidence.png")
    assert page.errors() == []


def test_vessel_panel_time_slider_moves_the_marker(page: Browser, server: Server) -> None:
    # click a vessel drawn on the map
    hit = page.evaluate(
        """(() => {
          const m = seawatch.map;
          // a vessel well inside the canvas with no event marker drawn over it
          const near = (p) => m.queryRenderedFeatures(
            [[p.x - 6, p.y - 6], [p.x + 6, p.y + 6]], {layers: ['events', 'vessels']});
          const f = m.queryRenderedFeatures({layers: ['vessels']})
            .find(f => { const p = m.project(f.geometry.coordinates);
                         return p.x > 60 && p.y > 60 && p.x < m.getCanvas().clientWidth - 60
                           && near(p).every(g => g.layer.id === 'vessels'); });
          const p = m.project(f.geometry.coordinates);
          const r = m.getCanvas().getBoundingClientRect();
          return {mmsi: f.properties.mmsi, x: r.left + p.x, y: r.top + p.y};
        })()"""
    )
    page.click_at(hit["x"], hit["y"])
    page.wait_for("document.querySelector('#panel').dataset.kind === 'vessel'")
    mmsi = page.evaluate("seawatch.state.panel.id")
    vessel = next(
        f["properties"]
        for f in server.get("api/v1/vessels?format=geojson")["features"]
        if f["properties"]["mmsi"] == mmsi
    )
    page.wait_for("document.querySelector('#panel-body .track-player .slider')")
    body = page.evaluate("document.querySelector('#panel-body').textContent")
    assert str(mmsi) in body
    if vessel.get("name"):
        assert page.evaluate("document.querySelector('#panel-title').textContent") == vessel["name"]
    assert page.evaluate("seawatch.state.sources.track.features.length") == 1
    # the slider starts at the latest fix; moving it moves the marker back along the track
    end = cursor(page)
    assert end and abs(end[0][0] - vessel["lon"]) < 1e-6 and abs(end[0][1] - vessel["lat"]) < 1e-6
    page.evaluate(
        "(() => { const s = document.querySelector('#panel-body .slider'); s.value = 0;"
        " s.dispatchEvent(new Event('input', {bubbles: true})); })()"
    )
    start = cursor(page)
    track = page.evaluate("seawatch.state.sources.track.features[0].geometry.coordinates")
    first = track[0] if isinstance(track[0], list) else track  # a LineString, or a Point
    assert start[0] == first
    # play moves it forward
    page.click("#panel-body .player .play")
    page.wait_for(
        "document.querySelector('#panel-body .play').getAttribute('aria-pressed') === 'true'"
    )
    time.sleep(0.6)
    assert cursor(page) != start
    page.click("#panel-body .player .play")  # pause
    assert page.errors() == []


def test_search_finds_a_vessel(page: Browser, server: Server) -> None:
    named = next(
        f["properties"]
        for f in server.get("api/v1/vessels?format=geojson")["features"]
        if f["properties"].get("name")
    )
    page.type_text("#search-input", named["name"][:6])
    page.wait_for("document.querySelectorAll('#search-results li[data-mmsi]').length > 0")
    found = page.evaluate(
        "[...document.querySelectorAll('#search-results li[data-mmsi]')]"
        ".map(li => +li.dataset.mmsi)"
    )
    assert named["mmsi"] in found
    page.click(f'#search-results li[data-mmsi="{named["mmsi"]}"]')
    page.wait_for(f"seawatch.state.panel && seawatch.state.panel.id === {named['mmsi']}")
    assert page.evaluate("document.querySelector('#search-results').hidden") is True
    assert page.errors() == []


def test_nothing_is_requested_from_another_host(page: Browser, server: Server) -> None:
    # the style references no remote resource: no glyphs, sprite, tiles or source URLs
    style = page.evaluate("seawatch.map.getStyle()")
    assert "glyphs" not in style and "sprite" not in style
    assert all(
        set(src) <= {"type", "data", "buffer", "tolerance"} for src in style["sources"].values()
    )
    # use the page: an event, a vessel, the search, zoom and pan
    page.click(f"{ROWS} button")
    page.wait_for("document.querySelector('#panel-body table.figures')")
    mmsi = page.evaluate("seawatch.state.vessels.features[0].properties.mmsi")
    page.evaluate(f"seawatch.openVessel({mmsi})")
    page.wait_for("document.querySelector('#panel-body .track-player .slider')")
    page.type_text("#search-input", "an")
    page.wait_for("!document.querySelector('#search-results').hidden")
    page.evaluate(
        "seawatch.map.zoomTo(9, {duration: 0}); seawatch.map.panBy([300, 200], {duration: 0}); 1"
    )
    wait_idle(page)
    page.drain(0.3)
    assert page.requests, "no request was recorded"
    elsewhere = []
    for url in page.requests:
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob"):
            continue  # inline images of the stylesheet, MapLibre's worker
        if parts.scheme != "http" or parts.netloc != server.host:
            elsewhere.append(url)
    assert elsewhere == []
    assert any("/api/v1/vessels" in u for u in page.requests)
    assert page.errors() == []
