"""``/api/v1/watchlists``: import, list, show, delete; who sees and who changes a list."""

from __future__ import annotations

from tests.api.conftest import make_client


def test_watchlists_round_trip_and_visibility(client, app, sharing):
    body = {"name": "rest-iuu", "source": "SPRFMO", "marking": "AMBER",
            "entries": [{"name": "F/V HAI FENG 8", "imo": 9074729, "flag": "PAN",
                         "reason": "IUU 2024"}, {"mmsi": 735000003}]}
    made = client.post("/api/v1/watchlists", json=body)
    assert made.status_code == 201, made.text
    wl = made.json()
    assert wl["entries"] == 2 and wl["owner_agency"] == "ECU-NAVY" and wl["marking"] == "AMBER"
    assert client.post("/api/v1/watchlists", json=body).status_code == 409
    assert client.post("/api/v1/watchlists",
                       json={**body, "name": "bad", "entries": [{"flag": "PAN"}]}
                       ).status_code == 400
    listed = client.get("/api/v1/watchlists").json()["items"]
    assert "rest-iuu" in [w["name"] for w in listed]
    one = client.get(f"/api/v1/watchlists/{wl['id']}").json()
    assert [e["imo"] for e in one["items"]] == [9074729, None]
    partner = make_client(app, headers=sharing.headers("partner_viewer"))
    assert "rest-iuu" not in [w["name"] for w in partner.get("/api/v1/watchlists").json()
                              ["items"]]
    assert partner.get(f"/api/v1/watchlists/{wl['id']}").status_code == 404
    assert partner.delete(f"/api/v1/watchlists/{wl['id']}").status_code == 403  # role
    partner_admin = make_client(app, headers=sharing.headers("partner_admin"))
    assert partner_admin.delete(f"/api/v1/watchlists/{wl['id']}").status_code == 404
    viewer = make_client(app, headers=sharing.headers("watch_officer"))
    assert viewer.post("/api/v1/watchlists", json={**body, "name": "x"}).status_code == 403
    assert client.delete(f"/api/v1/watchlists/{wl['id']}").json() == {"removed": wl["id"]}
    assert client.get(f"/api/v1/watchlists/{wl['id']}").status_code == 404
