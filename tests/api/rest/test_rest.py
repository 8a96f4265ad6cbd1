"""The REST API as a whole: an empty store, and a store ingested into while served."""

from __future__ import annotations


def test_store_with_no_data(empty_client):
    stats = empty_client.get("/api/v1/stats").json()
    assert stats["positions"] == stats["events"] == 0 and stats["days"] == []
    assert stats["first_ts"] is None and stats["detection"] is None
    assert empty_client.get("/api/v1/vessels").json()["items"] == []
    fc = empty_client.get("/api/v1/vessels", params={"format": "geojson"}).json()
    assert fc["features"] == []
    assert empty_client.get("/api/v1/positions").json() == {
        "items": [], "total": 0, "limit": 1000, "offset": 0, "next": None, "links": []}
    assert empty_client.get("/api/v1/events").json()["items"] == []
    assert empty_client.get("/api/v1/vessels/735057000").status_code == 404
    assert len(empty_client.get("/api/v1/zones").json()["features"]) == 3
    assert empty_client.get("/api/v1/basemap/land").json()["features"]
    for kind in ("positions", "events", "vessels"):
        for fmt in ("csv", "geojson", "kml", "parquet"):
            r = empty_client.get(f"/api/v1/export/{kind}", params={"format": fmt})
            assert r.status_code == 200, (kind, fmt, r.text)


def test_new_ingest_is_seen_while_serving(tmp_path):
    from seawatch.api import create_app
    from seawatch.store import Store
    from tests.api.api_store import positions_chunk
    from tests.api.conftest import local_client

    store = Store(tmp_path / "s")
    store.ingest_results([positions_chunk([(735057000, "2026-01-15T12:00:00Z", -1.0, -81.0)])],
                         name="a", sha256="a" * 64, size=1)
    client = local_client(create_app(tmp_path / "s", auth="local"))
    assert client.get("/api/v1/stats").json()["positions"] == 1
    assert client.get("/api/v1/vessels").json()["items"][0]["lat"] == -1.0
    store.ingest_results(
        [positions_chunk([(735057000, "2026-01-16T12:00:00Z", -2.0, -82.0),
                          (224000000, "2026-01-16T12:00:00Z", -3.0, -83.0)])],
        name="b", sha256="b" * 64, size=1,
    )
    stats = client.get("/api/v1/stats").json()
    assert stats["positions"] == 3 and stats["days"] == ["2026-01-15", "2026-01-16"]
    vessels = {v["mmsi"]: v for v in client.get("/api/v1/vessels").json()["items"]}
    assert set(vessels) == {735057000, 224000000}
    assert vessels[735057000]["lat"] == -2.0
    assert vessels[224000000]["flag"] == "ESP"
