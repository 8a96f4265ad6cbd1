"""``GET /api/v1/stats``: the counts match the store."""

from __future__ import annotations

from tests.api.rest.conftest import ISO_Z, parse


def test_stats_match_the_store(client, store, events):
    body = client.get("/api/v1/stats").json()
    info = store.info()
    assert body["positions"] == info["rows"]["positions"] > 1000
    assert body["vessels"] == info["vessels"]
    assert body["events"] == events.height
    assert body["events_by_type"] == dict(events.group_by("type").len().iter_rows())
    assert body["days"] == [info["first_day"]]
    assert sum(body["positions_by_day"].values()) == body["positions"]
    assert ISO_Z.match(body["first_ts"]) and ISO_Z.match(body["last_ts"])
    assert parse(body["first_ts"]) == info["first_ts"]
    assert body["detection"]["stale"] is False
