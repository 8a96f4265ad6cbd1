"""``GET /api/v1/watch``: the day's vessels by risk with their breakdown, weights from a file.

Partner visibility is checked by the authorisation matrix (tests/api/test_authz.py)."""

from __future__ import annotations

from seawatch.risk import RiskParams, watch_list
from tests.api.conftest import make_client


def test_watch_is_the_risk_of_the_stores_events(client, store):
    body = client.get("/api/v1/watch", params={"top": 5}).json()
    want, day = watch_list(store.events().collect(), top=5)
    assert body["day"] == day.isoformat()
    assert [(i["mmsi"], i["risk"]) for i in body["items"]] == list(
        zip(want["mmsi"], want["risk"], strict=True))
    assert body["items"], "the API store has events that weigh in the risk"
    for item in body["items"]:
        assert set(item) == {"mmsi", "name", "risk", "breakdown"}
        assert item["breakdown"] and all(b["events"] for b in item["breakdown"])
    assert client.get("/api/v1/watch", params={"day": "2026-02-30"}).status_code == 400
    assert client.get("/api/v1/watch", params={"top": 0}).status_code in (400, 422)


def test_served_weights_come_from_the_risk_config(store_dir, store, admin_headers, tmp_path):
    from seawatch.api import create_app

    events = store.events().collect()
    ranked, _ = watch_list(events, top=None)
    signals = sorted({b["signal"] for r in ranked["breakdown"] for b in r})
    config = tmp_path / "risk.toml"
    # every signal but the strongest one off; zone entries on
    config.write_text("[risk]\n" + "".join(f"{s} = 0\n" for s in signals[1:])
                      + "zone_entry = 0.05\n")
    app = create_app(store_dir, risk=config)
    with make_client(app, headers=admin_headers) as c:
        body = c.get("/api/v1/watch", params={"top": 1000}).json()
        by_risk = c.get("/api/v1/events", params={"order": "risk", "limit": 1}).json()
    shown = {b["signal"] for i in body["items"] for b in i["breakdown"]}
    assert shown <= {signals[0], "zone_entry"} and shown
    params = RiskParams(**{s: 0 for s in signals[1:]}, zone_entry=0.05)
    want, _ = watch_list(events, top=1000, params=params)
    assert [i["mmsi"] for i in body["items"]] == want["mmsi"].to_list()
    assert by_risk["items"][0]["type"] in (signals[0], "zone_entry")
