"""``GET /api/v1/vessels/{mmsi}/identity`` (seawatch.api.rest.identity)."""

from __future__ import annotations

import polars as pl

from seawatch.detect.identity import identity_history
from tests.api.conftest import make_client


def test_identity_history_of_a_vessel(client, store):
    items = client.get("/api/v1/vessels").json()["items"]
    named = next(i for i in items if i["name"] and i["callsign"])
    body = client.get(f"/api/v1/vessels/{named['mmsi']}/identity").json()
    assert body["mmsi"] == named["mmsi"] and body["mmsi_problem"] is None
    fields = {h["field"]: h for h in body["history"]}
    assert fields["name"]["value"] == named["name"]
    assert fields["flag"]["value"] == named["flag"]
    expected = identity_history(store.vessels(mmsi=named["mmsi"]).collect())
    assert len(body["history"]) == expected.height
    assert [h["reports"] for h in body["history"]] == expected["reports"].to_list()
    assert body["history"][0]["first_seen"].endswith("Z")
    assert set(expected["field"].to_list()) >= {"name", "callsign", "flag"}


def test_identity_of_an_unknown_or_hidden_vessel_is_404(client, app, sharing):
    assert client.get("/api/v1/vessels/1/identity").status_code == 404
    mmsi = client.get("/api/v1/vessels").json()["items"][0]["mmsi"]
    partner = make_client(app, headers=sharing.headers("partner_viewer"))
    assert partner.get(f"/api/v1/vessels/{mmsi}/identity").status_code == 404
    assert partner.get(f"/api/v1/vessels/{mmsi}").status_code == 404


def test_history_rows_are_per_value(store):
    reports = store.vessels().collect()
    h = identity_history(reports)
    assert h.select("mmsi", "field", "value").is_duplicated().sum() == 0
    assert h.filter(pl.col("first_seen") > pl.col("last_seen")).height == 0
