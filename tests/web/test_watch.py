"""The map's watch list: vessels by risk with why (a real Chromium, against the real API app)."""

from __future__ import annotations

from tests.web.cdp import Browser
from tests.web.conftest import Server

ROWS = "#watch-list li.watch-row"


def test_watch_tab_lists_vessels_by_risk_with_their_breakdown(page: Browser,
                                                              server: Server) -> None:
    api = server.get("api/v1/watch?top=50")
    assert api["items"], "the web test scenario has events that weigh in the risk"
    assert page.evaluate("document.querySelector('#watch-pane').hidden") is True
    page.click("#tab-watch")
    page.wait_for(f"document.querySelectorAll('{ROWS}').length > 0")
    assert page.evaluate("document.querySelector('#events-pane').hidden") is True
    mmsis = page.evaluate(f"[...document.querySelectorAll('{ROWS}')].map(r => +r.dataset.mmsi)")
    assert mmsis == [v["mmsi"] for v in api["items"]]  # the API's order: highest risk first
    risks = page.evaluate(
        f"[...document.querySelectorAll('{ROWS} .watch-risk')].map(r => r.textContent)")
    assert risks == [f"{v['risk']:.2f}" for v in api["items"]]
    # every score shows its breakdown: one line per signal, with its evidence events
    first = api["items"][0]
    parts = page.evaluate(
        f"[...document.querySelector('{ROWS}').querySelectorAll('.watch-part')]"
        ".map(r => r.textContent)")
    assert parts == [f"+{b['contribution']:.2f}" for b in first["breakdown"]]
    evidence = page.evaluate(
        f"[...document.querySelector('{ROWS}').querySelectorAll('.watch-event')]"
        ".map(b => b.dataset.eventId)")
    assert evidence == [e for b in first["breakdown"] for e in b["events"]]
    assert api["day"] in page.evaluate("document.querySelector('#watch-count').textContent")
    # a reason's evidence opens its event
    page.click(f"{ROWS} .watch-event")
    page.wait_for("document.querySelector('#panel-body table.figures')")
    assert page.evaluate("seawatch.state.panel.id") == evidence[0]
    assert page.errors() == []
