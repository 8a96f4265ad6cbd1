"""The map in ``required`` auth mode (what ``seawatch serve`` runs): the login form, a
partner agency's view through a grant, TLP badges, and logging out.

A module-scoped server runs ``create_app(store, auth="required")`` over the session's web
store with a sharing state of its own: host agency ECU-NAVY, partner USAF-PARTNER with a
``partner_viewer`` user, and a 24 h grant from ECU-NAVY to USAF-PARTNER of ``encounter``
events up to TLP:AMBER inside the Galápagos Marine Reserve (the issue's own example). The web
scenario (seed 2) holds one encounter, planted inside the reserve; the store's other events
(zone entries and exits, port visits, fishing in the reserve, loitering, ...) are outside the
grant and must not show.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.web.cdp import Browser, CDPError

HOST = "ECU-NAVY"
PARTNER = "USAF-PARTNER"
USER = "usaf-viewer"
PASSWORD = "correct horse battery staple"
ROWS = "#event-list li.event-row"
RESERVE = "Galápagos Marine Reserve"
TLP_ORDER = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")


@dataclass(frozen=True)
class PartnerServer:
    url: str  # http://127.0.0.1:PORT/
    host: str  # 127.0.0.1:PORT
    token: str  # the partner user's API token
    expected: list[str]  # event ids the grant releases, computed from the events and grant

    def get(self, path: str) -> Any:
        """JSON of ``GET path`` as the partner user (bearer token; no proxy)."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        request = urllib.request.Request(
            self.url + path, headers={"Authorization": f"Bearer {self.token}"}
        )
        with opener.open(request, timeout=30) as response:
            return json.load(response)


@pytest.fixture(scope="module")
def partner_server(
    web_store: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PartnerServer]:
    """The app in ``required`` mode with the partner, its user and its grant."""
    pytest.importorskip("uvicorn")
    import polars as pl
    import shapely

    from seawatch.api.app import create_app
    from seawatch.api.server import ServerThread
    from seawatch.geo import default_zones
    from seawatch.share import auth as share_auth
    from seawatch.share import passwords
    from seawatch.share.accounts import add_agency, add_user, init_state
    from seawatch.share.db import open_state, utcnow
    from seawatch.share.grants import create_grant
    from seawatch.share.markings import get_marking
    from seawatch.store import Store

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(passwords, "SCRYPT_N", 2**10)  # cheap hashing of the test password
        mp.delenv("SEAWATCH_DB", raising=False)
        state = open_state(f"sqlite:///{tmp_path_factory.mktemp('web-auth') / 'state.db'}")
        init_state(state, HOST, description="Armada del Ecuador")
        add_agency(state, PARTNER, description="partner air force")
        add_user(state, USER, agency=PARTNER, role="partner_viewer", password=PASSWORD)
        token = share_auth.create_token(state, USER, name="web tests").token

    events = Store(web_store, create=False).events().collect()
    create_grant(
        state,
        grantor=HOST,
        grantee=PARTNER,
        expires_at=utcnow() + timedelta(hours=24),
        max_marking="AMBER",
        zone=RESERVE,
        event_types=["encounter"],
        note="web map test",
    )
    # what the grant releases, from the events table: encounters in the reserve, <= AMBER
    (reserve,) = [z.geometry for z in default_zones() if z.name == RESERVE]
    inside = shapely.contains_xy(reserve, events["lon"].to_numpy(), events["lat"].to_numpy())
    expected = [
        e["event_id"]
        for e, ok in zip(events.iter_rows(named=True), inside, strict=True)
        if ok
        and e["type"] == "encounter"
        and TLP_ORDER.index(str(get_marking(state, "event", e["event_id"]).level))
        <= TLP_ORDER.index("AMBER")
    ]
    assert expected, "the grant should release at least one event (an encounter in the reserve)"
    assert events.filter(pl.col("type") == "encounter").height >= 1
    assert events.height > len(expected), "the store should hold events outside the grant"

    app = create_app(web_store, auth="required", state=state)
    with ServerThread(app=app) as server:
        host = urlsplit(server.url).netloc
        yield PartnerServer(url=f"http://{host}/", host=host, token=token, expected=expected)


def wait_for(page: Browser, expression: str, timeout: float = 30) -> Any:
    """``page.wait_for`` that rides over a page being reloaded (context destroyed)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            return page.wait_for(expression, timeout=max(0.5, deadline - time.monotonic()))
        except CDPError:
            if time.monotonic() > deadline:
                raise
            page.drain(0.2)


def visible(selector: str) -> str:
    return (
        f"(() => {{ const el = document.querySelector({json.dumps(selector)});"
        " return !!el && !el.hidden && el.offsetParent !== null; })()"
    )


def unexpected_errors(page: Browser) -> list[str]:
    """The page's errors, less the browser's log lines of the expected 401 answers."""
    return [e for e in page.errors() if not (e.startswith("log:") and "status of 401" in e)]


def test_partner_logs_in_and_sees_only_the_granted_events(
    browser: Browser, partner_server: PartnerServer, screenshots: Path
) -> None:
    page = browser
    page.send("Network.clearBrowserCookies")
    page.reset()
    page.navigate(partner_server.url)

    # not logged in: the form, and no data loaded
    wait_for(page, visible("#login-form"))
    assert page.evaluate("document.activeElement.id") == "login-username"
    assert page.evaluate("document.querySelector('.layout').inert") is True
    assert page.evaluate("window.seawatch.ready") is False
    assert page.evaluate(f"document.querySelectorAll('{ROWS}').length") == 0
    assert not any("/api/v1/events" in u or "/api/v1/vessels" in u for u in page.requests)

    # a wrong password: an error, still the form
    page.type_text("#login-username", USER)
    page.type_text("#login-password", "not the password at all")
    page.click("#login-submit")
    wait_for(page, visible("#login-error"))
    error = page.evaluate("document.querySelector('#login-error').textContent")
    assert "Wrong username or password" in error
    assert page.evaluate("document.querySelector('#login-password').value") == ""
    assert page.evaluate("window.seawatch.ready") is False

    # the right one: the map loads with the partner's events only
    page.type_text("#login-password", PASSWORD)
    page.click("#login-submit")
    wait_for(page, "window.seawatch && window.seawatch.ready === true", timeout=60)
    assert page.evaluate("document.querySelector('#login').hidden") is True
    who = page.evaluate("document.querySelector('#whoami .who').textContent")
    assert " · ".join([USER, PARTNER, "partner_viewer"]) in " ".join(who.split())
    assert page.evaluate(visible("#logout"))

    api = partner_server.get("api/v1/events?limit=200")
    api_ids = [e["event_id"] for e in api["items"]]
    assert sorted(api_ids) == sorted(partner_server.expected)
    ids = page.evaluate(f"[...document.querySelectorAll('{ROWS}')].map(r => r.dataset.eventId)")
    assert ids == api_ids
    assert sorted(ids) == sorted(partner_server.expected)
    types = {e["type"] for e in api["items"]}
    assert types == {"encounter"}
    assert page.evaluate("seawatch.state.overview.every(e => e.type === 'encounter')")
    assert page.evaluate("seawatch.state.sources.events.features.length") == len(ids)
    # each row carries its TLP marking as a badge
    badges = page.evaluate(f"[...document.querySelectorAll('{ROWS} .tlp')].map(b => b.textContent)")
    assert badges == [f"TLP:{e['marking']}" for e in api["items"]]
    assert all(e["marking"] in ("CLEAR", "GREEN", "AMBER") for e in api["items"])

    # the evidence panel shows the marking too
    page.click(f"{ROWS} button")
    wait_for(page, "document.querySelector('#panel-body table.figures')")
    panel_badge = page.evaluate("document.querySelector('#panel-body .marking .tlp').textContent")
    assert panel_badge == f"TLP:{api['items'][0]['marking']}"
    page.evaluate(
        "new Promise(r => { const m = seawatch.map;"
        " if (!m.isMoving() && m.loaded()) r(true); else m.once('idle', () => r(true)); })"
    )
    page.screenshot(screenshots / "partner-view.png")

    # every request went to this server
    page.drain(0.3)
    elsewhere = [
        u
        for u in page.requests
        if urlsplit(u).scheme not in ("data", "blob")
        and (urlsplit(u).scheme != "http" or urlsplit(u).netloc != partner_server.host)
    ]
    assert elsewhere == []
    assert any("/api/v1/auth/login" in u for u in page.requests)
    assert unexpected_errors(page) == []

    # log out: back to the form, and the session is gone
    page.click("#logout")
    wait_for(page, "document.readyState === 'complete' && " + visible("#login-form"))
    assert page.evaluate(f"document.querySelectorAll('{ROWS}').length") == 0
    assert page.evaluate("document.querySelector('#whoami').hidden") is True
    status = page.evaluate("fetch('api/v1/auth/me').then(r => r.status)")
    assert status == 401
    assert unexpected_errors(page) == []


def test_local_mode_shows_the_local_user_without_logout(page: Browser) -> None:
    who = page.evaluate("document.querySelector('#whoami').textContent")
    assert "local (this machine only)" in who
    assert page.evaluate("document.querySelector('#logout')") is None
    assert page.evaluate("document.querySelector('#login').hidden") is True
    # events carry their marking (the store's default) as a badge
    assert page.evaluate(f"document.querySelectorAll('{ROWS} .tlp').length") == page.evaluate(
        f"document.querySelectorAll('{ROWS}').length"
    )


def test_repeated_wrong_passwords_are_throttled_with_a_retry_time(
    browser: Browser, partner_server: PartnerServer
) -> None:
    """After MAX_FAILURES wrong passwords the server answers 429 with Retry-After and the
    form says when to retry, with the button held until then. (Last in this module: the
    lock also holds this client address for the rest of the module's server.)"""
    from seawatch.share.auth import LOCKOUT, MAX_FAILURES

    page = browser
    page.send("Network.clearBrowserCookies")
    page.reset()
    page.navigate(partner_server.url)
    wait_for(page, visible("#login-form"))
    messages: list[str] = []
    for _ in range(MAX_FAILURES + 1):  # (the earlier test's wrong password counts too)
        page.evaluate("document.querySelector('#login-username').value = ''")
        page.type_text("#login-username", "throttle-test")
        page.type_text("#login-password", "wrong")
        page.evaluate("document.querySelector('#login-error').textContent = ''")
        wait_for(page, "!document.querySelector('#login-submit').disabled")
        page.click("#login-submit")
        wait_for(page, "document.querySelector('#login-error').textContent !== ''")
        messages.append(page.evaluate("document.querySelector('#login-error').textContent"))
        if messages[-1].startswith("Too many"):
            break
    assert all("Wrong username or password" in m for m in messages[:-1]), messages
    assert len(messages) >= MAX_FAILURES - 1
    last = messages[-1]
    assert last.startswith("Too many attempts, retry in "), last
    wait = int(last.removeprefix("Too many attempts, retry in ").split()[0])
    assert 0 < wait <= LOCKOUT.total_seconds()
    assert page.evaluate("document.querySelector('#login-submit').disabled") is True
    assert page.evaluate("window.seawatch.ready") is False
    assert unexpected_errors(page) == [] or all("status of 429" in e or "status of 401" in e
                                                for e in unexpected_errors(page))
