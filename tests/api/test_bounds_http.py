"""Bounds over HTTP: every duration, time and text of a request that the state would refuse
(or overflow on) is a 400 saying which and why, never a 500 or a 503; on SQLite and
PostgreSQL (which refuses NUL characters with an error of its own)."""

from __future__ import annotations

from tests.api.conftest import PARTNER

GRANT_CASES = [
    ({"until": "9999999999d"}, "until '9999999999d' is too long a duration"),
    ({"until": "99999999d"}, "until '99999999d' is too far from now"),
    ({"until": "9999-12-31T23:59:59.999999Z"}, "grant expiry 9999-12-31T23:59:59Z is after"),
    ({"until": "1h", "data_end": "9999-12-31T23:59:59.999999Z"}, "data_end 9999-12-31"),
    ({"until": "1h", "data_start": "-9999999999d"}, "data_start '9999999999d' is too long"),
    ({"until": "1h", "data_start": "0001-01-01"}, "data_start 1-01-01"),
    ({"until": "1h", "note": "a\x00b"}, "note holds a control character (U+0000)"),
    ({"until": "1h", "note": "n" * 2001}, "at most 2000 characters"),
    ({"until": "1h", "zone": "Gal\x00"}, "zone holds a control character"),
    ({"until": "1h", "grantee": "USAF\x00"}, "unknown agency 'USAF\\\\x00'"),
]
"""Grant bodies (over a valid one to the partner) and what the answer says."""


def test_grant_bounds_are_400s(env):
    client = env.client()
    for body, words in GRANT_CASES:
        response = client.post("/api/v1/grants", headers=env.headers("admin"),
                               json={"grantee": PARTNER, **body})
        assert response.status_code in (400, 404), (body, response.text)
        assert words in response.text, (body, response.text)
    assert client.get("/api/v1/grants", headers=env.headers("admin")).json()["items"] == []


def test_text_no_database_can_hold_is_refused_or_recorded(env):
    from seawatch.share.audit import show

    client = env.client()
    login = client.post("/api/v1/auth/login",
                        json={"username": "navy\x00admin", "password": "x" * 20})
    assert login.status_code == 401 and login.json() == {"detail": "invalid credentials"}
    for query in ("user=%00", "agency=a%00", "action=grant.%00*"):
        response = client.get(f"/api/v1/audit?{query}", headers=env.headers("admin"))
        assert response.status_code == 400 and "control character" in response.text, query
    unknown = client.get("/api/v1/nothing%00here", headers=env.headers("admin"))
    assert unknown.status_code == 404  # audited (NUL shown as U+FFFD), not a 503
    assert show(env.state, limit=1)[0].resource == "/api/v1/nothing\ufffdhere"
