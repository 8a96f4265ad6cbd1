"""``PUT /api/v1/markings/events/{event_id}``: who may mark, and the marking carried on."""

from __future__ import annotations

from urllib.parse import quote

from tests.api.conftest import PARTNER


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
