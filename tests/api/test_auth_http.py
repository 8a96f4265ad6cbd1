"""Authentication over HTTP: tokens, sessions and CSRF, throttling, grants that end at the
next request, the audit of every request, and no secret in any log.

Each test gets a state of its own (SQLite, and PostgreSQL when ``SEAWATCH_TEST_PG`` is set)
over the session's store, and a client address of its own (failures lock an address).
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from typer.testing import CliRunner

from seawatch.share import auth as share_auth
from tests.api.conftest import HOST, PARTNER, PASSWORD, USERS, setup_sharing

_ADDRESSES = itertools.count(10)


@dataclass
class Env:
    app: Any
    state: Any
    url: str
    tokens: dict[str, str]

    def client(self, **kwargs: Any):
        """A TestClient from an address of its own."""
        from fastapi.testclient import TestClient

        n = next(_ADDRESSES)
        address = f"10.9.{n // 250}.{n % 250 + 1}"
        client = TestClient(self.app, client=(address, 40000), raise_server_exceptions=False,
                            **kwargs)
        client.address = address  # type: ignore[attr-defined]
        return client

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request, store_dir, tmp_path) -> Env:
    from seawatch.api import create_app
    from seawatch.share.db import open_state

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'state.db'}"
    else:
        url = request.getfixturevalue("pg_schemas")()
    sharing = setup_sharing(open_state(url))
    return Env(create_app(store_dir, state=sharing.state), sharing.state, url, sharing.tokens)


def login(client, who: str = "admin", password: str = PASSWORD):
    return client.post("/api/v1/auth/login",
                       json={"username": USERS[who][0], "password": password})


# --- sessions and CSRF ---------------------------------------------------------------------


def test_login_session_and_csrf(env):
    client = env.client(base_url="https://testserver")
    response = login(client)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["user"], body["agency"], body["role"]) == ("navy-admin", HOST, "admin")
    cookies = response.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("seawatch_session="))
    csrf_cookie = next(c for c in cookies if c.startswith("seawatch_csrf="))
    for flag in ("HttpOnly", "Secure", "Path=/"):
        assert flag in session
    assert "samesite=strict" in session.lower() and "samesite=strict" in csrf_cookie.lower()
    assert "HttpOnly" not in csrf_cookie and body["csrf_token"] in csrf_cookie
    assert response.headers["cache-control"] == "no-store"
    # the cookie authenticates reads
    me = client.get("/api/v1/auth/me").json()
    assert (me["user"], me["auth"], me["host"]) == ("navy-admin", "session", True)
    assert client.get("/api/v1/events?limit=1").status_code == 200
    # a write without the CSRF header is refused, with it accepted
    grant = {"grantee": PARTNER, "until": "2h", "zone": "galapagos marine reserve",
             "event_types": ["encounter"]}
    refused = client.post("/api/v1/grants", json=grant)
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["detail"]
    wrong = client.post("/api/v1/grants", json=grant, headers={"X-CSRF-Token": "nope"})
    assert wrong.status_code == 403
    created = client.post("/api/v1/grants", json=grant,
                          headers={"X-CSRF-Token": body["csrf_token"]})
    assert created.status_code == 201, created.text
    assert created.json()["zone"] == "Galápagos Marine Reserve"
    # logout needs the CSRF header too, then the cookie is dead
    assert client.post("/api/v1/auth/logout").status_code == 403
    out = client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": body["csrf_token"]})
    assert out.status_code == 200 and out.json() == {"ended": True}
    client.cookies.set("seawatch_session", session.split(";")[0].split("=", 1)[1])
    assert client.get("/api/v1/auth/me").status_code == 401


def test_plain_http_cookie_is_not_secure(env):
    response = login(env.client())
    session = next(c for c in response.headers.get_list("set-cookie")
                   if c.startswith("seawatch_session="))
    assert "Secure" not in session and "HttpOnly" in session


def test_bearer_writes_need_no_csrf(env):
    client = env.client()
    response = client.post("/api/v1/grants", headers=env.headers("admin"),
                           json={"grantee": PARTNER, "until": "1h", "bbox": "-92,-2,-88,1"})
    assert response.status_code == 201, response.text
    assert response.json()["bbox"] == [-92.0, -2.0, -88.0, 1.0]


def test_bad_credentials(env):
    client = env.client()
    for headers in ({"Authorization": "Bearer sw_" + "x" * 43}, {"Authorization": "Basic eDp5"},
                    {"Cookie": "seawatch_session=forged"}, {}):
        response = client.get("/api/v1/events", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"] == "Bearer"
        assert set(response.json()) == {"detail"}
    wrong = login(env.client(), password="not the password at all")
    unknown = env.client().post("/api/v1/auth/login",
                                json={"username": "nobody", "password": "whatever-long"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "invalid credentials"}


def test_revoked_and_expired_tokens(env):
    from seawatch.share.auth import create_token, list_tokens, revoke_token
    from seawatch.share.db import utcnow

    client = env.client()
    assert client.get("/api/v1/stats", headers=env.headers("analyst")).status_code == 200
    token_id = next(t.id for t in list_tokens(env.state, "navy-analyst"))
    revoke_token(env.state, token_id)
    assert client.get("/api/v1/stats", headers=env.headers("analyst")).status_code == 401
    short = create_token(env.state, "navy-watch", expires_at=utcnow() + timedelta(seconds=1))
    headers = {"Authorization": f"Bearer {short.token}"}
    assert client.get("/api/v1/stats", headers=headers).status_code == 200
    time.sleep(1.1)
    assert client.get("/api/v1/stats", headers=headers).status_code == 401


def test_login_is_throttled(env):
    client = env.client()
    for _ in range(share_auth.MAX_FAILURES):
        assert login(client, password="wrong password 123").status_code == 401
    locked = login(client)  # the right password, but locked
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    assert "too many failed" in locked.json()["detail"]
    # the address is locked for tokens too, another address is not
    assert client.get("/api/v1/stats", headers=env.headers("admin")).status_code == 429
    assert env.client().get("/api/v1/stats", headers=env.headers("admin")).status_code == 200


def test_no_credentials_in_urls(env):
    client = env.client()
    for query in (f"?token={env.tokens['admin']}", "?access_token=abc", "?password=x",
                  f"?q={env.tokens['admin']}"):
        response = client.get("/api/v1/vessels" + query, headers=env.headers("admin"))
        assert response.status_code == 400, query
        assert "Authorization: Bearer" in response.json()["detail"]
    assert env.tokens["admin"] not in _audit_text(env)


# --- grants end at the next request --------------------------------------------------------


def _partner_events(client, env) -> set[str]:
    body = client.get("/api/v1/events", params={"limit": 10000},
                      headers=env.headers("partner_viewer")).json()
    return {e["event_id"] for e in body["items"]}


def test_expiry_and_revocation_take_effect_at_the_next_request(env):
    from seawatch.share.db import utcnow
    from seawatch.share.grants import create_grant

    client = env.client()
    assert _partner_events(client, env) == set()
    # a box around the store's one encounter (wherever the scenario put it)
    (enc,) = client.get("/api/v1/events", params={"type": "encounter"},
                        headers=env.headers("admin")).json()["items"]
    box = [enc["lon"] - 0.5, enc["lat"] - 0.5, enc["lon"] + 0.5, enc["lat"] + 0.5]
    create_grant(env.state, grantor=HOST, grantee=PARTNER,
                 expires_at=utcnow() + timedelta(seconds=1.5), bbox=box,
                 event_types=["encounter"])
    seen = _partner_events(client, env)
    assert len(seen) == 1 and next(iter(seen)).startswith("encounter:")
    time.sleep(1.6)
    assert _partner_events(client, env) == set()
    event_id = next(iter(seen))
    assert client.get(f"/api/v1/events/{quote(event_id, safe='')}",
                      headers=env.headers("partner_viewer")).status_code == 404
    # revoked through the API between two requests
    grant = client.post("/api/v1/grants", headers=env.headers("admin"),
                        json={"grantee": PARTNER, "until": "1h", "bbox": box,
                              "event_types": ["encounter"]}).json()
    assert _partner_events(client, env) == seen
    listed = client.get("/api/v1/grants", headers=env.headers("partner_viewer")).json()
    assert [g["status"] for g in listed["items"] if g["id"] == grant["id"]] == ["active"]
    revoked = client.post(f"/api/v1/grants/{grant['id']}/revoke", headers=env.headers("admin"))
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert _partner_events(client, env) == set()
    again = client.post(f"/api/v1/grants/{grant['id']}/revoke", headers=env.headers("admin"))
    assert again.status_code == 409


def test_grant_create_errors(env):
    client = env.client()
    h = env.headers("admin")
    cases = [
        ({"grantee": "NOPE", "until": "1h"}, 404, "unknown agency"),
        ({"grantee": PARTNER, "until": "1h", "zone": "Atlantis"}, 404, "unknown zone"),
        ({"grantee": PARTNER, "until": "yesterday"}, 400, "ISO 8601"),
        ({"grantee": PARTNER, "until": "2020-01-01"}, 400, "not in the future"),
        ({"grantee": HOST, "until": "1h"}, 400, "own data"),
        ({"grantee": PARTNER, "until": "1h", "event_types": ["parking"]}, 400, "unknown event"),
        ({"grantee": PARTNER, "until": "1h", "max_marking": "WHITE"}, 400, "CLEAR"),
        ({"grantee": PARTNER, "until": "1h", "bbox": [1, 2, 3]}, 400, "bbox"),
    ]
    for body, status, words in cases:
        response = client.post("/api/v1/grants", json=body, headers=h)
        assert response.status_code == status, (body, response.text)
        assert words in response.json()["detail"], (body, response.json())


def test_markings_through_the_api(env, store):
    event_id = store.events().collect().sort("event_id")["event_id"][0]
    path = f"/api/v1/markings/events/{quote(event_id, safe='')}"
    client = env.client()
    response = client.put(path, headers=env.headers("analyst"),
                          json={"level": "amber+strict", "releasable_to": [PARTNER]})
    assert response.status_code == 200, response.text
    assert response.json()["marking"] == "AMBER+STRICT"
    event = client.get(f"/api/v1/events/{quote(event_id, safe='')}",
                       headers=env.headers("admin")).json()["event"]
    assert (event["marking"], event["releasable_to"]) == ("AMBER+STRICT", [PARTNER])
    export = client.get("/api/v1/export/events", headers=env.headers("admin"))
    assert export.headers["x-tlp"] == "AMBER+STRICT"
    assert client.put(path, headers=env.headers("watch_officer"),
                      json={"level": "RED"}).status_code == 403
    bad = client.put(path, headers=env.headers("admin"), json={"level": "WHITE"})
    assert bad.status_code == 400 and "CLEAR" in bad.json()["detail"]
    unknown = client.put("/api/v1/markings/events/nope", headers=env.headers("admin"),
                         json={"level": "RED"})
    assert unknown.status_code == 404


# --- audit ---------------------------------------------------------------------------------


def _audit_text(env) -> str:
    from tests.share.data import all_text

    return all_text(env.state)


def test_every_request_is_audited_and_the_chain_verifies(env):
    from seawatch.cli import app as seawatch_cli
    from seawatch.share.audit import show

    client = env.client()
    before = len(show(env.state, limit=None))
    calls = [
        ("GET", "/api/v1/events?type=encounter&limit=5", env.headers("admin"), 200),
        ("GET", "/api/v1/events", {}, 401),
        ("GET", "/api/v1/audit", env.headers("partner_viewer"), 403),
        ("GET", "/ogc/collections/events/items?limit=2", env.headers("partner_viewer"), 200),
        ("GET", "/api/v1/nothing-here", env.headers("admin"), 404),
        ("POST", "/api/v1/grants", env.headers("admin"), 201),
        ("GET", "/ogc/conformance", {}, 200),
    ]
    for method, url, headers, status in calls:
        body = {"grantee": PARTNER, "until": "1h"} if method == "POST" else None
        assert client.request(method, url, headers=headers, json=body).status_code == status
    assert login(client).status_code == 200
    assert login(client, password="wrong password here").status_code == 401
    entries = list(reversed(show(env.state, limit=None)))[before:]
    assert len(entries) == len(calls) + 2
    got = [(e.actor, e.agency, e.action, e.resource, e.status) for e in entries]
    assert got == [
        ("navy-admin", HOST, "data.read", "/api/v1/events", "200"),
        (None, None, "data.read", "/api/v1/events", "401"),
        ("usaf-viewer", PARTNER, "audit.read", "/api/v1/audit", "403"),
        ("usaf-viewer", PARTNER, "data.read", "/ogc/collections/events/items", "200"),
        (None, None, "unrouted", "/api/v1/nothing-here", "404"),
        ("navy-admin", HOST, "grant.create", "/api/v1/grants", "201"),
        (None, None, "public", "/ogc/conformance", "200"),
        ("navy-admin", HOST, "public", "/api/v1/auth/login", "200"),
        ("navy-admin", None, "public", "/api/v1/auth/login", "401"),
    ]
    assert entries[0].params == {"type": "encounter", "limit": "5"}
    assert entries[5].params["request"]["to"] == PARTNER
    assert {e.client for e in entries} == {client.address}
    # the admin reads them through the API; another agency's admin only its own
    listed = client.get("/api/v1/audit", params={"limit": 5},
                        headers=env.headers("admin")).json()["items"]
    assert [e["seq"] for e in listed] == sorted((e["seq"] for e in listed), reverse=True)
    own = client.get("/api/v1/audit", headers=env.headers("partner_admin")).json()["items"]
    assert own and {e["agency"] for e in own} == {PARTNER}
    result = CliRunner().invoke(seawatch_cli, ["audit", "verify", "--db", env.url])
    assert result.exit_code == 0, result.output
    assert "audit log intact" in result.output


def test_an_unwritable_audit_log_stops_the_response(env, monkeypatch, caplog):
    import seawatch.share.audit as audit

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit, "record", broken)
    with caplog.at_level(logging.ERROR, logger="seawatch.api"):
        response = env.client().get("/api/v1/events", headers=env.headers("admin"))
    assert response.status_code == 503
    assert response.json() == {"detail": "the audit log cannot be written; try again later"}
    assert "cannot write the audit entry" in caplog.text


def test_secrets_never_reach_the_logs_or_the_audit(env, caplog):
    client = env.client()
    with caplog.at_level(logging.DEBUG):
        response = login(client)
        csrf = response.json()["csrf_token"]
        session = client.cookies.get("seawatch_session")
        login(client, password="another wrong password")
        client.get("/api/v1/events", headers=env.headers("partner_viewer"))
        client.get("/api/v1/events", headers={"Authorization": "Bearer sw_" + "y" * 43})
        client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
        client.get(f"/api/v1/stats?q={env.tokens['admin']}")
    secrets = [PASSWORD, "another wrong password", csrf, session, "sw_" + "y" * 43,
               *env.tokens.values()]
    server = [r for r in caplog.records  # (httpx logs what the test client itself sent)
              if not r.name.startswith(("httpx", "httpcore"))]
    assert any(r.name.startswith(("seawatch", "asyncio")) for r in server)
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in server)
    audit_text = _audit_text(env)
    for secret in secrets:
        assert secret and secret not in text and secret not in audit_text


def test_token_filter_redacts_access_log_lines():
    from seawatch.api.security import RedactTokens

    token = "sw_" + "z" * 43
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1,
                               '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5", "GET", f"/api/v1/stats?x={token}", "1.1", 400),
                               None)
    assert RedactTokens().filter(record)
    assert token not in record.getMessage() and "sw_[redacted]" in record.getMessage()
