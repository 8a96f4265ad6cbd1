"""The offline web map in a real headless Chromium, against the real API app.

Each test loads the page afresh (``page`` fixture) and drives it as a user would (clicks,
typing), reading the map's state through the ``window.seawatch`` debug handle.
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timedelta
from urllib.parse import quote, urlsplit

from seawatch import schema
from tests.web.cdp import Browser
from tests.web.conftest import Server

ROWS = "#event-list li.event-row"
ROUTINE = ("zone_entry", "zone_exit", "port_visit")
"""Event types the list leaves out until asked for (format.js ROUTINE_TYPES)."""
SHOWN = ",".join(t for t in schema.EVENT_TYPES if t not in ROUTINE)
"""The ``type`` parameter of the events the map shows by default (``order=risk``: its list
puts the highest risk first, docs/risk.md)."""
LAND = (0xF1, 0xED, 0xE3)
"""The land's fill colour (mapstyle.js)."""


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
    api = server.get(f"api/v1/events?limit=200&type={SHOWN}&order=risk")
    rows = page.evaluate(f"document.querySelectorAll('{ROWS}').length")
    assert api["total"] > 0
    assert rows == min(api["total"], 200)
    ids = page.evaluate(f"[...document.querySelectorAll('{ROWS}')].map(r => r.dataset.eventId)")
    assert ids == [e["event_id"] for e in api["items"]]
    count = page.evaluate("document.querySelector('#events-count').textContent")
    assert f"of {api['total']:,}" in count
    # all of them (up to 5,000) drawn on the map and on the timeline
    every = server.get(f"api/v1/events?limit=5000&type={SHOWN}")["items"]
    assert page.evaluate("seawatch.state.sources.events.features.length") == sum(
        1 for e in every if e["lat"] is not None
    )
    assert page.evaluate("document.querySelectorAll('#timeline .tl-bar').length") == api["total"]


def test_clicking_an_event_opens_its_evidence(page: Browser, server: Server) -> None:
    first = server.get(f"api/v1/events?limit=1&type={SHOWN}&order=risk")["items"][0]
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
        "[...document.querySelectorAll('#type-boxes input')]"
        ".filter(i => i.checked && i.value !== 'encounter').map(i => i.value)"
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
    # one unit system in the sentence: nautical miles at sea (metres for the separation)
    explain = page.evaluate("document.querySelector('#panel-body .explain').textContent")
    assert "nm from shore" in explain and "nm from port" in explain, explain
    assert not re.search(r"\d km\b", explain), explain
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


def row_ids(page: Browser) -> list[str]:
    return page.evaluate(f"[...document.querySelectorAll('{ROWS}')].map(r => r.dataset.eventId)")


def wait_listed(page: Browser, total: int) -> None:
    """Wait until the list's count line says ``of {total}`` and the list is drawn."""
    page.wait_for(
        f"document.querySelector('#events-count').textContent.includes('of {total:,}')"
        f" && document.querySelectorAll('{ROWS}').length === {min(total, 200)}"
    )


def test_routine_events_are_hidden_until_asked(page: Browser, server: Server) -> None:
    routine = server.get(f"api/v1/events?limit=1&type={','.join(ROUTINE)}")["total"]
    every = server.get("api/v1/events?limit=200&order=risk")
    assert 0 < routine < every["total"], "the test store should hold routine and other events"
    boxes = page.evaluate(
        "Object.fromEntries([...document.querySelectorAll('#type-boxes input')]"
        ".map(i => [i.value, i.checked]))"
    )
    assert {t for t, ticked in boxes.items() if not ticked} == set(ROUTINE)
    listed = page.evaluate("seawatch.state.events.map(e => e.type)")
    assert listed and not set(listed) & set(ROUTINE)
    assert page.evaluate("document.querySelector('#routine-note').hidden") is False
    note = page.evaluate("document.querySelector('#routine-note').textContent")
    assert f"{routine:,} routine events hidden: zone entries, zone exits, port visits" in note
    # shown on request: every event, in the API's order, and the note goes
    page.click("#routine-show")
    wait_listed(page, every["total"])
    assert row_ids(page) == [e["event_id"] for e in every["items"]]
    assert page.evaluate("document.querySelector('#routine-note').hidden") is True
    assert page.errors() == []


def test_time_window_takes_iso_8601_utc(page: Browser, server: Server) -> None:
    for field in ("#win-start", "#win-end"):
        assert page.evaluate(f"document.querySelector('{field}').type") == "text"
        assert page.evaluate(f"document.querySelector('{field}').placeholder") == (
            "YYYY-MM-DD HH:MM"
        )
    shown = server.get(f"api/v1/events?limit=200&type={SHOWN}")
    # a start that leaves out the event that ends first (events ending before it)
    first_end = min(datetime.fromisoformat(e["end"]) for e in shown["items"])
    start = (first_end + timedelta(minutes=1)).replace(second=0, microsecond=0)
    typed = start.strftime("%Y-%m-%d %H:%M")  # 24 h, no AM/PM, whatever the locale
    expected = server.get(
        f"api/v1/events?limit=200&type={SHOWN}&order=risk&start={quote(start.isoformat())}")
    assert expected["total"] < shown["total"]
    page.type_text("#win-start", typed)
    page.press("Enter")
    wait_listed(page, expected["total"])
    assert row_ids(page) == [e["event_id"] for e in expected["items"]]
    assert any(f"start={start.strftime('%Y-%m-%dT%H')}%3A" in u for u in page.requests)
    assert page.evaluate("document.querySelector('#win-start').hasAttribute('aria-invalid')") is (
        False
    )
    # a locale's format is refused, said why, and not applied
    page.evaluate("document.querySelector('#win-start').value = ''; 1")
    page.type_text("#win-start", start.strftime("%m/%d/%Y %I:%M %p"))
    page.press("Enter")
    page.wait_for("document.querySelector('#win-start').getAttribute('aria-invalid') === 'true'")
    error = page.evaluate("document.querySelector('#win-error').textContent")
    assert "YYYY-MM-DD HH:MM" in error and "Not applied" in error
    assert page.evaluate("document.querySelector('#win-error').hidden") is False
    wait_listed(page, shown["total"])
    # a window dragged on the timeline is written back in the same form
    box = page.evaluate(
        "(() => { const r = document.querySelector('#timeline').getBoundingClientRect();"
        " return [r.left, r.top, r.width, r.height]; })()"
    )
    left, top, width, height = box
    page.drag((left + width * 0.45, top + height / 2), (left + width * 0.8, top + height / 2))
    page.wait_for("document.querySelector('#win-end').value !== ''")
    for field in ("#win-start", "#win-end"):
        value = page.evaluate(f"document.querySelector('{field}').value")
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", value), value
    assert page.evaluate("document.querySelector('#win-error').hidden") is True
    assert page.errors() == []


EVIDENCE_ON_SCREEN = """(() => {
  const m = seawatch.map;
  const c = m.getCanvas().getBoundingClientRect();
  const p = document.querySelector('#panel').getBoundingClientRect();
  const pts = [];
  for (const f of seawatch.state.sources.evidence.features) {
    const cs = f.geometry.type === 'Point' ? [f.geometry.coordinates] : f.geometry.coordinates;
    for (const q of cs) { const s = m.project(q); pts.push([c.left + s.x, c.top + s.y]); }
  }
  return {canvas: [c.left, c.top, c.right, c.bottom], panel: [p.left, p.top, p.right, p.bottom],
          pts};
})()"""


def test_evidence_is_not_under_the_panel(page: Browser, server: Server) -> None:
    events = server.get(f"api/v1/events?type={SHOWN}")["items"]
    assert len(events) >= 2
    for event in events:
        page.evaluate(f"seawatch.openEvent({json.dumps(event['event_id'])}); 1")
        page.wait_for(
            f"seawatch.state.panel?.id === {json.dumps(event['event_id'])}"
            " && document.querySelector('#panel-body table.figures')"
        )
        wait_idle(page)
        seen = page.evaluate(EVIDENCE_ON_SCREEN)
        x0, y0, x1, y1 = seen["canvas"]
        px0, py0, px1, py1 = seen["panel"]
        assert seen["pts"], event["event_id"]
        for x, y in seen["pts"]:
            assert x0 <= x <= x1 and y0 <= y <= y1, (event["event_id"], x, y, "off the map")
            assert not (px0 <= x <= px1 and py0 <= y <= py1), (event["event_id"], x, y)
    assert page.errors() == []


def test_land_has_no_seam_at_the_fine_box(page: Browser, screenshots) -> None:
    """Zoomed out, the fine (1:10m) land of the Eastern Pacific box and the world's (1:50m)
    are one surface: no line along the box's edges across Colombia and Peru, land on both
    sides of them, and land beyond the data."""
    page.evaluate(
        "document.querySelector('#legend details').open = false;"
        " seawatch.map.jumpTo({center: [-74, -2], zoom: 4.5}); 1"
    )
    wait_idle(page)
    # the box's edges where they cross land: lon -70 (Colombia, Brazil), lat -10 (Peru)
    places = [(-70.0, lat) for lat in range(0, 7)] + [(lon, -10.0) for lon in range(-77, -70)]
    points = []
    for lon, lat in places:
        x, y = page.evaluate(f"(p => [p.x, p.y])(seawatch.map.project([{lon}, {lat}]))")
        across = [(dx, 0) for dx in (-1, 0, 1)] if lon == -70.0 else [(0, dy) for dy in (-1, 0, 1)]
        points += [[x + dx, y + dy] for dx, dy in across]
    # and land far beyond the data: Brazil at 60 W
    x, y = page.evaluate("(p => [p.x, p.y])(seawatch.map.project([-60, -10]))")
    points.append([x, y])
    colours = page.evaluate(f"seawatch.canvasPixels({json.dumps(points)})")
    off = [
        (p, c) for p, c in zip(points, colours, strict=True)
        if max(abs(a - b) for a, b in zip(c, LAND, strict=True)) > 8
    ]
    if off:
        page.screenshot(screenshots / "land-seam-failure.png")
    assert off == []
    assert page.errors() == []


def test_gap_is_drawn_apart_from_the_track(
    browser: Browser, gap_server: Server, screenshots
) -> None:
    browser.reset()
    browser.navigate(gap_server.url)
    browser.wait_for("window.seawatch && window.seawatch.ready === true", timeout=60)
    page = browser
    gaps = gap_server.get("api/v1/events?type=gap")["items"]
    assert gaps, "the gap scenario should hold an AIS gap"
    gap = gaps[0]
    d = gap["details"]
    page.click(f'{ROWS}[data-event-id="{gap["event_id"]}"] button')
    page.wait_for("document.querySelector('#panel-body table.figures')")
    wait_idle(page)
    lines = page.evaluate(
        "seawatch.state.sources.evidence.features.filter(f => f.geometry.type === 'LineString')"
        ".map(f => f.properties.gap ? {gap: true, coords: f.geometry.coordinates}"
        " : {mmsi: f.properties.mmsi, times: f.properties.times})"
    )
    # one dashed line from the last position before the gap to the first after it
    dashed = [x for x in lines if x.get("gap")]
    assert len(dashed) == 1
    assert dashed[0]["coords"] == [[d["off_lon"], d["off_lat"]], [d["on_lon"], d["on_lat"]]]
    assert page.evaluate("seawatch.map.getPaintProperty('evidence-gap', 'line-dasharray')")
    assert rendered(page, "evidence-gap") >= 1
    # the vessel's track is solid on either side and never across the gap
    start, end = datetime.fromisoformat(gap["start"]), datetime.fromisoformat(gap["end"])
    solid = [x for x in lines if not x.get("gap") and x["mmsi"] == gap["mmsi"]]
    assert solid
    for line in solid:
        times = [datetime.fromisoformat(t) for t in line["times"]]
        assert all(t <= start for t in times) or all(t >= end for t in times)
    assert rendered(page, "evidence-line") >= 1
    # readable figures: tracks by number, not raw segment ids; one unit system in the sentence
    body = page.evaluate("document.querySelector('#panel-body').textContent")
    for key in ("off_segment_id", "on_segment_id"):
        assert str(d[key]) not in body
    figures = dict(
        page.evaluate(
            "[...document.querySelectorAll('#panel-body table.figures tr')]"
            ".map(r => [r.querySelector('th').textContent, r.querySelector('td').textContent])"
        )
    )
    assert re.fullmatch(r"track \d+", figures["Track before the gap"])
    assert re.fullmatch(r"track \d+ \((the same|a new) track\)", figures["Track after the gap"])
    explain = page.evaluate("document.querySelector('#panel-body .explain').textContent")
    assert "nm from shore" in explain and "nm away" in explain and " km" not in explain
    # and the whole of it in view, clear of the panel
    seen = page.evaluate(EVIDENCE_ON_SCREEN)
    px0, py0, px1, py1 = seen["panel"]
    assert all(not (px0 <= x <= px1 and py0 <= y <= py1) for x, y in seen["pts"])
    page.screenshot(screenshots / "gap-evidence.png")
    assert page.errors() == []
