"""The map in live mode over a replayed feed: ``seawatch live`` (incremental detection and an
alert rule) on a fresh store, the API in ``required`` mode, a watch officer logged in on the
map; a small scenario replayed over UDP. The vessels' markers move as ``store`` messages
arrive, an alert appears in the queue with the badge, and acknowledging it from the map
changes its state (seen through the REST API too)."""

from __future__ import annotations

import json
import threading
import urllib.request
from pathlib import Path

import pytest

from tests.web.cdp import Browser

HOST = "ECU-NAVY"
USER = "navy-watch"
PASSWORD = "correct horse battery staple"


def test_live_map_moves_vessels_and_acts_on_alerts(
    browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("uvicorn")
    from seawatch.api.app import create_app
    from seawatch.api.server import ServerThread
    from seawatch.live.detect import LiveDetection
    from seawatch.live.replay import replay, timed_lines
    from seawatch.share import passwords
    from seawatch.share.accounts import add_user, init_state
    from seawatch.share.alerts import add_rule
    from seawatch.share.auth import create_token
    from seawatch.share.db import open_state
    from seawatch.sim import write_scenario
    from seawatch.store import Store
    from tests.live.conftest import bound, running

    monkeypatch.setattr(passwords, "SCRYPT_N", 2**10)
    monkeypatch.delenv("SEAWATCH_DB", raising=False)
    write_scenario(tmp_path / "scenario", 3, 2.0, 20, csv=False)
    store_dir = tmp_path / "store"
    Store(store_dir)
    state = open_state(store_dir)
    init_state(state, HOST)
    add_user(state, USER, agency=HOST, role="watch_officer", password=PASSWORD)
    token = create_token(state, USER, name="test").token
    add_rule(state, "everything")  # every event raises an alert
    app = create_app(store_dir, state=state)
    app.state.streams.poll_s = 0.1

    def api(path: str, method: str = "GET") -> dict:
        request = urllib.request.Request(server.url + path, method=method,
                                         headers={"Authorization": f"Bearer {token}"})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=30) as response:
            return json.load(response)

    with running(store_dir, ["listen udp://127.0.0.1:0"], detection=LiveDetection(),
                 compact_every_s=0.5) as service, ServerThread(app=app) as server:
        browser.reset()
        browser.navigate(server.url + "/")
        browser.wait_for("!document.querySelector('#login').hidden", timeout=30)
        browser.type_text("#login-username", USER)
        browser.type_text("#login-password", PASSWORD)
        browser.click("#login-submit")
        browser.wait_for("window.seawatch.live.on && window.seawatch.live.received.hello > 0"
                         " && document.querySelector('#live-toggle').checked", timeout=30)
        assert browser.evaluate("document.querySelector('#alert-badge').hidden") is True
        assert browser.evaluate("document.querySelector('#alert-sound').checked") is False
        browser.click("#tab-alerts")
        browser.click("#alert-sound")  # the beep on: made by WebAudio, no file fetched
        assert browser.evaluate("document.querySelector('#alert-sound').checked") is True
        browser.click("#tab-events")
        feed = bound(service, service.feeds[0].endpoint.name)
        timed = timed_lines(tmp_path / "scenario" / "traffic.nmea")
        player = threading.Thread(target=replay, args=(timed, feed),
                                  kwargs={"speed": 300.0}, daemon=True)
        player.start()
        # markers: a vessel shown at one place, then at another, as the messages arrive
        coords = ("Object.fromEntries((window.seawatch.state.sources.vessels?.features ?? [])"
                  ".map(f => [f.properties.mmsi, f.geometry.coordinates.join(',')]))")
        browser.wait_for(f"Object.keys({coords}).length > 0", timeout=40)
        first = browser.evaluate(coords)
        browser.wait_for(
            f"(() => {{ const now = {coords}; const was = {json.dumps(first)}; "
            "return Object.keys(was).some(k => now[k] && now[k] !== was[k]); })()",
            timeout=40)
        assert browser.evaluate("window.seawatch.live.received.store") >= 2
        # an alert in the queue, with the badge on its tab
        browser.wait_for("document.querySelectorAll('#alert-list li').length > 0 && "
                         "!document.querySelector('#alert-badge').hidden", timeout=40)
        badge = int(browser.evaluate("document.querySelector('#alert-badge').textContent"))
        assert badge == browser.evaluate(
            "document.querySelectorAll('#alert-list li.state-new').length") > 0
        browser.click("#tab-alerts")
        assert browser.evaluate("document.querySelector('#alert-queue').hidden") is False
        aid = int(browser.evaluate(
            "document.querySelector('#alert-list li.state-new').dataset.alertId"))
        assert api(f"/api/v1/alerts/{aid}")["state"] == "new"
        browser.evaluate(f"document.querySelector('#alert-list li[data-alert-id=\"{aid}\"] "
                         "details').open = true")
        browser.click(f"#alert-list li[data-alert-id=\"{aid}\"] [data-act=acknowledge]")
        browser.wait_for(f"document.querySelector('#alert-list li[data-alert-id=\"{aid}\"]')"
                         "?.classList.contains('state-acknowledged')", timeout=20)
        after = api(f"/api/v1/alerts/{aid}")
        assert (after["state"], after["acknowledged_by"]) == ("acknowledged", USER)
        # the alert's panel: its state and the actions that are left
        browser.click(f"#alert-list li[data-alert-id=\"{aid}\"] .alert-open")
        browser.wait_for("document.querySelector('#panel-title').textContent === "
                         f"'Alert {aid}'", timeout=10)
        assert "acknowledged" in browser.evaluate(
            "document.querySelector('#panel-body').textContent")
        assert browser.evaluate("!!document.querySelector('#panel-body [data-act=close]')")
        # close it from its panel with a reason and a note, then reopen it
        browser.evaluate("document.querySelector('#panel-body .close-reason').value = "
                         "'false_positive'")
        browser.type_text("#panel-body .close-note", "buoy tender")
        browser.click("#panel-body [data-act=close]")
        browser.wait_for("!!document.querySelector('#panel-body [data-act=reopen]')",
                         timeout=20)
        closed = api(f"/api/v1/alerts/{aid}")
        assert (closed["state"], closed["close_reason"], closed["close_note"]) == (
            "closed", "false_positive", "buoy tender")
        assert not browser.evaluate(  # a closed alert leaves the queue
            f"!!document.querySelector('#alert-list li[data-alert-id=\"{aid}\"]')")
        browser.click("#panel-body [data-act=reopen]")
        browser.wait_for(f"!!document.querySelector('#alert-list li[data-alert-id=\"{aid}\"]"
                         ".state-acknowledged')", timeout=20)
        assert api(f"/api/v1/alerts/{aid}")["state"] == "acknowledged"
        assert browser.evaluate("window.seawatch.live.beeps") > 0
        # live mode off closes the stream; on again opens a new one
        browser.click("#live-toggle")
        assert browser.evaluate("window.seawatch.live.on") is False
        hellos = browser.evaluate("window.seawatch.live.received.hello")
        browser.click("#live-toggle")
        browser.wait_for(f"window.seawatch.live.received.hello > {hellos}", timeout=10)
        browser.navigate("about:blank")  # closes the page's stream before the server stops
        browser.wait_for("location.href === 'about:blank'", timeout=10)  # (not the old page)
        player.join(30)
    errors = [e for e in browser.errors() if "401" not in e or "auth/me" not in e]
    assert not errors, errors  # (auth/me answers 401 before the login: expected)
