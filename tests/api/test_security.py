"""Authentication over HTTP: bearer tokens, bad and revoked credentials, no credentials
in URLs, grants that end at the next request, no secret in any log; and local mode, which
answers this machine only and reads only.

Each test gets a state of its own (SQLite, and PostgreSQL when ``SEAWATCH_TEST_PG`` is set)
over the session's store, and a client address of its own (failures lock an address).
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from urllib.parse import quote

import pytest

from seawatch.api import create_app
from tests.api.conftest import HOST, PARTNER, PASSWORD, local_client, login, make_client


def _partner_events(client, env) -> set[str]:
    body = client.get("/api/v1/events", params={"limit": 10000},
                      headers=env.headers("partner_viewer")).json()
    return {e["event_id"] for e in body["items"]}


def _audit_text(env) -> str:
    from tests.share.data import all_text

    return all_text(env.state)


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


def test_no_credentials_in_urls(env):
    client = env.client()
    for query in (f"?token={env.tokens['admin']}", "?access_token=abc", "?password=x",
                  f"?q={env.tokens['admin']}"):
        response = client.get("/api/v1/vessels" + query, headers=env.headers("admin"))
        assert response.status_code == 400, query
        assert "Authorization: Bearer" in response.json()["detail"]
    assert env.tokens["admin"] not in _audit_text(env)


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


def test_local_mode_answers_this_machine_only(store_dir):
    app = create_app(store_dir, auth="local")
    here = local_client(app)
    assert here.get("/api/v1/stats").status_code == 200
    me = here.get("/api/v1/auth/me").json()
    assert (me["user"], me["role"], me["mode"], me["host"]) == ("local", "analyst", "local",
                                                                True)
    for client in (make_client(app),  # another client address and Host
                   make_client(app, base_url="http://127.0.0.1", client=("10.1.2.3", 1)),
                   local_client(app, headers={"Host": "evil.example"})):  # DNS rebinding
        for url in ("/api/v1/stats", "/", "/static/app.js", "/ogc"):
            response = client.get(url)
            assert response.status_code == 403, (url, response.text)
            assert "local mode" in response.json()["detail"]
    assert here.get("/api/v1/stats", headers={"Host": "localhost:8000"}).status_code == 200
    assert local_client(app, base_url="http://[::1]:8000", client=("::1", 1)).get(
        "/api/v1/events").status_code == 200


def test_local_mode_is_read_only(store_dir):
    client = local_client(create_app(store_dir, auth="local"))
    for method, url, body in [
        ("POST", "/api/v1/grants", {"grantee": "X", "until": "1h"}),
        ("POST", "/api/v1/grants/1/revoke", None),
        ("PUT", "/api/v1/markings/events/x", {"level": "RED"}),
        ("GET", "/api/v1/audit", None),
    ]:
        response = client.request(method, url, json=body)
        assert response.status_code == 403, (url, response.text)
        assert "local mode" in response.json()["detail"]
    login = client.post("/api/v1/auth/login", json={"username": "a", "password": "b"})
    assert login.status_code == 400 and "local mode" in login.json()["detail"]


def test_auth_modes_are_checked():
    from seawatch.api.security import AuthConfigError, check_auth_mode

    for host in ("127.0.0.1", "::1", "localhost", "127.0.0.2"):
        assert check_auth_mode("local", host) == "local"
    for host in ("0.0.0.0", "::", "192.168.1.10", "seawatch.example"):
        with pytest.raises(AuthConfigError, match="only on this machine"):
            check_auth_mode("local", host)
    with pytest.raises(AuthConfigError, match="unknown auth mode"):
        check_auth_mode("none")
