"""Bad requests get a clear 4xx JSON answer; faults a logged JSON 500; headers are safe."""

from __future__ import annotations

import logging

import pytest

BAD_REQUESTS = [
    ("/api/v1/positions?bbox=1,2,3", "bbox needs 4 numbers"),
    ("/api/v1/positions?bbox=a,b,c,d", "bbox must be numbers"),
    ("/api/v1/positions?bbox=0,5,1,2", "min_lat 5 is above max_lat 2"),
    ("/api/v1/positions?bbox=0,0,1,95", "max_lat 95 is outside"),
    ("/api/v1/positions?bbox=-200,0,1,5", "min_lon -200 is outside"),
    ("/api/v1/vessels?bbox=nan,0,1,1", "finite"),
    ("/api/v1/events?bbox=1,2", "bbox needs 4 numbers"),
    ("/api/v1/positions?start=2026-02-01&end=2026-01-01", "start 2026-02-01T00:00:00Z is after"),
    ("/api/v1/events?start=2026-02-01&end=2026-01-01", "is after end"),
    ("/api/v1/positions?start=yesterday", "start 'yesterday' is not an ISO 8601 time"),
    ("/api/v1/positions?end=2026-02-30", "end '2026-02-30' is not an ISO 8601 time"),
    ("/api/v1/positions?limit=20000", "'limit': Input should be less than or equal to 10000"),
    ("/api/v1/positions?limit=0", "'limit'"),
    ("/api/v1/positions?limit=abc", "'limit': Input should be a valid integer"),
    ("/api/v1/positions?limit=99999999999999999999999", "'limit'"),
    ("/api/v1/events?limit=10001", "'limit'"),
    ("/api/v1/vessels?limit=100001", "'limit'"),
    ("/api/v1/positions?offset=-1", "'offset': Input should be greater than or equal to 0"),
    ("/api/v1/vessels?offset=-5", "'offset'"),
    ("/api/v1/positions?mmsi=12,abc", "mmsi 'abc' is not a number"),
    ("/api/v1/events?type=gapp", "unknown type 'gapp'; valid: gap, encounter"),
    ("/api/v1/events?min_score=2", "'min_score'"),
    ("/api/v1/events?min_score=nan", "'min_score'"),
    ("/api/v1/vessels?format=xml", "'format': Input should be 'json' or 'geojson'"),
    ("/api/v1/export/events?format=xlsx", "'format'"),
    ("/api/v1/vessels/abc", "path parameter 'mmsi'"),
    ("/api/v1/vessels/-1", "path parameter 'mmsi'"),
    ("/api/v1/vessels/1234567890", "path parameter 'mmsi'"),
    ("/api/v1/vessels/{mmsi}/track?zoom=99", "'zoom'"),
    ("/api/v1/vessels/{mmsi}/track?start=2026-01-01&end=2026-03-01", "longer than 31 days"),
    ("/api/v1/events/x?margin_hours=-1", "'margin_hours'"),
    ("/api/v1/vessels?q=" + "x" * 101, "'q'"),
    ("/ogc/collections/vessels/items?bbox=1,2,3", "bbox needs 4 numbers"),
    ("/ogc/collections/vessels/items?datetime=2026-01-16/2026-01-15", "after end"),
    ("/ogc/collections/vessels/items?datetime=noon", "not an ISO 8601 time"),
    ("/ogc/collections/vessels/items?limit=0", "'limit'"),
    ("/ogc/collections/vessels/items?foo=1", "unknown query parameter(s) 'foo'"),
    ("/ogc/collections/vessels/items?f=html", "f='html' is not offered"),
    ("/ogc/collections/vessels/items?crs=EPSG:3857", "only http://www.opengis.net"),
]


@pytest.fixture(scope="module")
def a_vessel(client) -> int:
    """An MMSI in the test store (whichever vessels the scenario holds)."""
    return int(client.get("/api/v1/vessels", params={"limit": 1}).json()["items"][0]["mmsi"])


@pytest.mark.parametrize(("url", "words"), BAD_REQUESTS)
def test_bad_request_is_a_clear_400(client, a_vessel, url, words):
    response = client.get(url.replace("{mmsi}", str(a_vessel)))
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    detail = response.json()["detail"]
    assert isinstance(detail, str) and words in detail


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/vessels/123456789",
        "/api/v1/vessels/123456789/track",
        "/api/v1/events/no-such-event",
        "/api/v1/events/%FF%FE",
        "/api/v1/export/ships",
        "/ogc/collections/ships",
        "/ogc/collections/ships/items",
        "/ogc/collections/vessels/items/123456789",
        "/ogc/collections/vessels/items/not-a-number",
        "/ogc/collections/positions/items/1-2",
        "/ogc/collections/positions/items/junk",
        "/ogc/collections/positions/items/352835000-99999999999999999",
        "/ogc/collections/events/items/nope",
        "/ogc/collections/zones/items/atlantis",
        "/no/such/path",
    ],
)
def test_unknown_ids_are_404_json(client, url):
    response = client.get(url)
    assert response.status_code == 404, response.text
    assert isinstance(response.json()["detail"], str)


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/vessels?q=%FF%FE%00",
        "/api/v1/vessels?q=%C3%28",
        "/api/v1/vessels?q=%25%2A%5B(",
        "/api/v1/vessels?q=.*%5B",
        "/api/v1/events?zone=%00%FF",
        "/api/v1/positions?mmsi=%EF%BC%91",
        "/api/v1/positions?bbox=%FF",
        "/api/v1/events?type=%E2%80%8Bgap",
        "/api/v1/positions?start=2026-01-15T12:00:00%2B05:00",
        "/api/v1/vessels?unknown=1&also=2",
        "/api/v1/positions?limit=1&limit=2",
    ],
)
def test_odd_encodings_never_5xx(client, url):
    response = client.get(url)
    assert response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/")
    response.json()


def test_method_not_allowed_is_json(client):
    response = client.post("/api/v1/stats")
    assert response.status_code == 405
    assert "detail" in response.json()


def test_internal_error_is_a_logged_json_500(client, app, monkeypatch, caplog):
    def broken() -> dict:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(app.state.query, "stats", broken)
    with caplog.at_level(logging.ERROR, logger="seawatch.api"):
        response = client.get("/api/v1/stats")
    assert response.status_code == 500
    assert response.json() == {"detail": "internal server error; the server log has the details"}
    assert "disk on fire" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert any("disk on fire" in (r.exc_text or "") or (r.exc_info and "disk on fire" in
               str(r.exc_info[1])) for r in caplog.records)
    monkeypatch.undo()
    assert client.get("/api/v1/stats").status_code == 200  # the server carries on


@pytest.mark.parametrize("url", ["/api/v1/stats", "/api/v1/vessels?format=geojson", "/",
                                 "/ogc", "/api/v1/nope", "/api/v1/positions?bbox=1"])
def test_security_headers_and_no_cors_by_default(client, url):
    response = client.get(url, headers={"Origin": "http://evil.example"})
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    assert "access-control-allow-origin" not in response.headers


def test_cors_only_for_named_origins(store_dir, admin_headers):
    from fastapi.testclient import TestClient

    from seawatch.api import create_app

    client = TestClient(create_app(store_dir, cors_origins=["http://ops.example"]),
                        headers=admin_headers)
    ok = client.get("/api/v1/stats", headers={"Origin": "http://ops.example"})
    assert ok.headers["access-control-allow-origin"] == "http://ops.example"
    other = client.get("/api/v1/stats", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_large_responses_are_gzipped(client):
    response = client.get("/api/v1/vessels?format=geojson", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
