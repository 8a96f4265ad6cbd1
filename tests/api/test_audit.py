"""The audit of every API request: entries for allowed and denied calls, a chain that
verifies, and no data when the log cannot be written."""

from __future__ import annotations

import logging

from typer.testing import CliRunner

from tests.api.conftest import HOST, PARTNER, login


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
