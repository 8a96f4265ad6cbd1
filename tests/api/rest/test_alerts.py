"""``/api/v1/alerts`` and ``/api/v1/alert-rules``: the life cycle over HTTP with its 400,
403, 404 and 409 answers, filters and paging, the audit entries, and what a partner sees."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from seawatch.share.alerts import list_alerts, raise_alerts
from seawatch.share.audit import show
from seawatch.share.db import utcnow
from seawatch.share.grants import create_grant
from tests.api.conftest import HOST, PARTNER
from tests.api.rest.conftest import ISO_Z


def _raise(env, store) -> pl.DataFrame:
    events = store.events().collect()
    raise_alerts(env.state, events)
    return events


def test_rules_crud_and_roles(env, store) -> None:
    client = env.client()
    body = {"name": "encounters", "event_types": ["encounter"], "min_score": 0.2,
            "vessel_types": [30, "Fishing"], "mmsis": [735000001]}
    assert client.post("/api/v1/alert-rules", json=body,
                       headers=env.headers("watch_officer")).status_code == 403
    created = client.post("/api/v1/alert-rules", json=body, headers=env.headers("analyst"))
    assert created.status_code == 201, created.text
    rule = created.json()
    assert (rule["agency"], rule["created_by"], rule["vessel_types"]) == (
        HOST, "navy-analyst", [30, "Fishing"])
    assert ISO_Z.match(rule["created_at"])
    again = client.post("/api/v1/alert-rules", json=body, headers=env.headers("admin"))
    assert again.status_code == 409 and "exists" in again.json()["detail"]
    bad = client.post("/api/v1/alert-rules", json={"name": "x", "event_types": ["piracy"]},
                      headers=env.headers("admin"))
    assert bad.status_code == 400 and "unknown event type" in bad.json()["detail"]
    rid = rule["id"]
    patched = client.patch(f"/api/v1/alert-rules/{rid}", json={"enabled": False},
                           headers=env.headers("admin"))
    assert patched.status_code == 200 and patched.json()["enabled"] is False
    assert patched.json()["event_types"] == ["encounter"] and \
        patched.json()["updated_by"] == "navy-admin"
    # the partner's admin: no access to the host's rules, a rule of its own
    partner = env.headers("partner_admin")
    assert client.get(f"/api/v1/alert-rules/{rid}", headers=partner).status_code == 404
    assert client.delete(f"/api/v1/alert-rules/{rid}", headers=partner).status_code == 404
    own = client.post("/api/v1/alert-rules", json={"name": "af"}, headers=partner).json()
    assert own["agency"] == PARTNER
    assert [r["name"] for r in client.get("/api/v1/alert-rules", headers=partner)
            .json()["items"]] == ["af"]
    assert {r["name"] for r in client.get("/api/v1/alert-rules",
                                          headers=env.headers("watch_officer"))
            .json()["items"]} == {"af", "encounters"}
    gone = client.delete(f"/api/v1/alert-rules/{rid}", headers=env.headers("admin"))
    assert gone.json() == {"removed": rid, "alerts_removed": 0}
    assert client.get(f"/api/v1/alert-rules/{rid}",
                      headers=env.headers("admin")).status_code == 404


def test_life_cycle_over_http(env, store) -> None:
    from seawatch.share.alerts import add_rule

    add_rule(env.state, "all")
    _raise(env, store)
    client = env.client()
    h = env.headers("watch_officer")
    page = client.get("/api/v1/alerts?limit=2", headers=h).json()
    total = len(list_alerts(env.state))
    assert page["total"] == total > 2 and len(page["items"]) == 2 and page["next"] == 2
    starts = [a["event_start"] for a in client.get(
        "/api/v1/alerts?limit=10000", headers=h).json()["items"]]
    assert starts == sorted(starts, reverse=True)
    aid = page["items"][0]["id"]
    url = f"/api/v1/alerts/{aid}"
    assert client.get(url, headers=h).json()["state"] == "new"
    assert client.post(f"{url}/reopen", headers=h).status_code == 409
    ack = client.post(f"{url}/acknowledge", headers=h)
    assert ack.status_code == 200 and ack.json()["acknowledged_by"] == "navy-watch"
    twice = client.post(f"{url}/acknowledge", headers=h)
    assert twice.status_code == 409 and "is acknowledged" in twice.json()["detail"]
    bad_user = client.post(f"{url}/assign", json={"user": "usaf-viewer"}, headers=h)
    assert bad_user.status_code == 400 and "not of ECU-NAVY" in bad_user.json()["detail"]
    assigned = client.post(f"{url}/assign", json={"user": "navy-analyst", "watch": "night"},
                           headers=h)
    assert assigned.json()["state"] == "assigned" and assigned.json()["watch"] == "night"
    bad_reason = client.post(f"{url}/close", json={"reason": "meh"}, headers=h)
    assert bad_reason.status_code == 400 and "close reason" in bad_reason.json()["detail"]
    closed = client.post(f"{url}/close", json={"reason": "duplicate", "note": "see 1"},
                         headers=h)
    assert (closed.json()["state"], closed.json()["close_reason"]) == ("closed", "duplicate")
    assert client.post(f"{url}/assign", json={"user": "navy-analyst"},
                       headers=h).status_code == 409
    assert client.get("/api/v1/alerts?state=closed", headers=h).json()["total"] == 1
    assert client.get("/api/v1/alerts?state=open", headers=h).json()["total"] == total - 1
    assert client.get("/api/v1/alerts?state=nope", headers=h).status_code == 400
    assert client.post(f"{url}/reopen", headers=h).json()["state"] == "assigned"
    mine = client.get("/api/v1/alerts?assigned=navy-analyst", headers=h).json()
    assert [a["id"] for a in mine["items"]] == [aid]
    handed = client.post("/api/v1/alerts/handover",
                         json={"from_watch": "night", "to_watch": "day", "note": "calm"},
                         headers=h)
    assert handed.json()["alerts"] == [aid]
    assert client.get("/api/v1/alerts?watch=day", headers=h).json()["total"] == 1
    assert client.post("/api/v1/alerts/999999/acknowledge", headers=h).status_code == 404
    viewer = client.post(f"{url}/close", json={"reason": "resolved"},
                         headers=env.headers("partner_viewer"))
    assert viewer.status_code == 403
    entries = [(e.action, e.params.get("request", {}), e.status, e.resource)
               for e in show(env.state, action="alert.*", newest_first=False, limit=None)]
    steps = [(a, p.get("verb"), p.get("from"), p.get("to"), s) for a, p, s, _ in entries
             if s == "200"]
    assert steps == [
        ("alert.acknowledge", "acknowledge", "new", "acknowledged", "200"),
        ("alert.assign", "assign", "acknowledged", "assigned", "200"),
        ("alert.close", "close", "assigned", "closed", "200"),
        ("alert.close", "reopen", "closed", "assigned", "200"),
        ("alert.assign", "handover", None, None, "200"),
    ]
    first = next(e for e in entries if e[2] == "200")
    assert first[3] == url + "/acknowledge" and first[1]["alert"] == aid
    assert entries[0][3] == url + "/reopen" and entries[0][2] == "409"  # refused: recorded
    close = next(p for a, p, s, _ in entries if p.get("verb") == "close")
    assert (close["reason"], close["note"]) == ("duplicate", "see 1")
    refused = [s for a, _, s, _ in entries if a == "alert.acknowledge"]
    assert "409" in refused and "404" in refused


def test_partner_sees_alerts_of_the_events_its_grant_releases(env, store) -> None:
    from seawatch.share.alerts import add_rule

    add_rule(env.state, "all")
    events = _raise(env, store)
    client = env.client()
    partner = env.headers("partner_viewer")
    assert client.get("/api/v1/alerts", headers=partner).json()["total"] == 0
    create_grant(env.state, grantor=HOST, grantee=PARTNER,
                 expires_at=utcnow() + timedelta(hours=1), event_types=["encounter"])
    seen = client.get("/api/v1/alerts?limit=10000", headers=partner).json()
    want = set(events.filter(pl.col("type") == "encounter")["event_id"])
    assert want and {a["event_id"] for a in seen["items"]} == want
    assert seen["total"] == len(want)
    hidden = next(a for a in list_alerts(env.state) if a.event_type != "encounter")
    assert client.get(f"/api/v1/alerts/{hidden.id}", headers=partner).status_code == 404
    shown = seen["items"][0]["id"]
    assert client.get(f"/api/v1/alerts/{shown}", headers=partner).status_code == 200
    # the partner's admin sees it, but it is the host's to act on
    refused = client.post(f"/api/v1/alerts/{shown}/acknowledge",
                          headers=env.headers("partner_admin"))
    assert refused.status_code == 403 and "only its agency" in refused.json()["detail"]
    assert client.post(f"/api/v1/alerts/{hidden.id}/acknowledge",
                       headers=env.headers("partner_admin")).status_code == 404
