"""``/api/v1/auth/...``: login opens a session (cookies and CSRF), logout ends it, failures
are throttled."""

from __future__ import annotations

from seawatch.share import auth as share_auth
from tests.api.conftest import HOST, PARTNER, login


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
