"""What a partner sees of vessels (seawatch.api.view): identity as of its grants' windows
only, and every vessel whose positions it may read answering on ``/vessels/{mmsi}``,
``/track`` and the OGC item, over a store built for the purpose:

- A (735000001) stays in the grant's box all day; its identity changes after the grant's
  window (destination GUAYAQUIL, draught 7.5 at T0+4h);
- B (735000002) is in the box for the first two hours, then leaves it: its latest
  position in the store is outside, its earlier ones are released;
- C (735000003) is never in the box: hidden;
- D (735000004) is never in the box but is named by a loitering event that a second,
  events-only grant releases (window T0+4h .. T0+6h): its identity is the latest inside
  that grant's window, not the positions grant's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from seawatch import schema
from seawatch.io.result import ReadResult
from seawatch.store import Store
from tests.api.conftest import HOST, PARTNER, setup_sharing

T0 = datetime(2026, 1, 15, tzinfo=UTC)
BOX = [-82.0, -2.0, -80.0, 0.0]
WINDOW = (T0, T0 + timedelta(hours=3))
EVENT_BOX = [-86.0, 2.0, -84.0, 4.0]
EVENT_WINDOW = (T0 + timedelta(hours=4), T0 + timedelta(hours=6))
A, B, C, D = 735000001, 735000002, 735000003, 735000004


def _positions() -> pl.DataFrame:
    rows = []
    for k in range(37):  # every 10 minutes, T0 .. T0+6h
        t = T0 + timedelta(minutes=10 * k)
        rows.append((A, t, -1.0, -81.0 + 0.001 * k))
        rows.append((B, t, -1.5 if k <= 12 else 1.0, -80.5))
        rows.append((C, t, 3.0, -79.0))
        rows.append((D, t, 3.0, -85.0 + 0.001 * k))
    frame = pl.DataFrame(rows, schema=["mmsi", "ts", "lat", "lon"], orient="row")
    return schema.conform(frame.with_columns(
        pl.lit(5.0).alias("sog"), pl.lit(1).alias("msg_type"),
        (pl.col("ts").dt.second()).alias("second")), schema.POSITIONS)


def _identity() -> pl.DataFrame:
    def report(mmsi, hours, **fields):
        return {"mmsi": mmsi, "ts": T0 + timedelta(hours=hours), "msg_type": 5, **fields}

    rows = [
        report(A, 0.1, name="ALBA", destination="MANTA", draught=5.0),
        report(A, 4.0, name="ALBA", destination="GUAYAQUIL", draught=7.5),
        report(B, 0.2, name="BRAVO", destination="SALINAS"),
        report(C, 0.2, name="CHARLIE"),
        report(D, 1.0, name="DELTA", destination="X"),
        report(D, 5.0, name="DELTA", destination="Y"),
    ]
    return schema.conform(pl.DataFrame(rows), schema.VESSELS)


def _events() -> pl.DataFrame:
    frame = pl.DataFrame({
        "event_id": ["loiter-d"], "type": ["loitering"], "mmsi": [D], "other_mmsi": [None],
        "start": [T0 + timedelta(hours=4, minutes=30)], "end": [T0 + timedelta(hours=5)],
        "lat": [3.0], "lon": [-85.0], "zone": [None], "score": [0.9], "details": ["{}"],
    })
    return schema.conform(frame, schema.EVENTS)


@pytest.fixture(scope="module")
def partner(tmp_path_factory: pytest.TempPathFactory):
    """An app over the store, the host's and the partner's headers."""
    from fastapi.testclient import TestClient

    from seawatch.api import create_app
    from seawatch.share.db import open_state, utcnow
    from seawatch.share.grants import create_grant

    root: Path = tmp_path_factory.mktemp("view")
    store = Store(root / "store")
    store.ingest_results([ReadResult(positions=_positions(), vessels=_identity())],
                         name="built", sha256="b" * 64, size=1)
    store.write_events(_events())
    state = open_state(f"sqlite:///{root / 'state.db'}")
    sharing = setup_sharing(state)
    now = utcnow()
    create_grant(state, grantor=HOST, grantee=PARTNER, expires_at=now + timedelta(hours=1),
                 bbox=BOX, include_positions=True, data_start=WINDOW[0], data_end=WINDOW[1])
    create_grant(state, grantor=HOST, grantee=PARTNER, expires_at=now + timedelta(hours=1),
                 bbox=EVENT_BOX, event_types=["loitering"], data_start=EVENT_WINDOW[0],
                 data_end=EVENT_WINDOW[1])
    app = create_app(root / "store", state=state)
    client = TestClient(app, raise_server_exceptions=False)
    return client, sharing.headers("admin"), sharing.headers("partner_viewer")


def test_a_partner_sees_the_identity_of_its_window_only(partner):
    client, host, viewer = partner
    mine = client.get(f"/api/v1/vessels/{A}", headers=viewer)
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert (body["destination"], body["draught"]) == ("MANTA", 5.0)
    assert body["identity_ts"] == "2026-01-15T00:06:00Z"
    assert body["name"] == "ALBA" and body["cls"] == "A"
    # its latest released position, counts within the window
    assert body["ts"] == body["last_ts"] == "2026-01-15T03:00:00Z"
    assert body["positions"] == 19 and body["first_ts"] == "2026-01-15T00:00:00Z"
    host_body = client.get(f"/api/v1/vessels/{A}", headers=host).json()
    assert (host_body["destination"], host_body["draught"]) == ("GUAYAQUIL", 7.5)
    assert host_body["identity_ts"] == "2026-01-15T04:00:00Z"
    assert host_body["positions"] == 37
    # the list and the OGC item show the same identity; nothing after the window anywhere
    listed = client.get("/api/v1/vessels", headers=viewer).json()["items"]
    assert [v["name"] for v in listed if v["mmsi"] == A] == ["ALBA"]
    for url in (f"/api/v1/vessels/{A}", "/api/v1/vessels?format=geojson",
                f"/ogc/collections/vessels/items/{A}", "/api/v1/export/vessels?format=csv"):
        text = client.get(url, headers=viewer).text
        assert "GUAYAQUIL" not in text and "7.5" not in text, url


def test_identity_comes_from_the_windows_of_the_grants_that_release_the_vessel(partner):
    """D is released only through its event (the events grant, window T0+4h .. T0+6h): its
    identity is the one reported at T0+5h; A's identity ignores that grant's window."""
    client, _, viewer = partner
    body = client.get(f"/api/v1/vessels/{D}", headers=viewer).json()
    assert body["destination"] == "Y" and body["identity_ts"] == "2026-01-15T05:00:00Z"
    assert body["lat"] is None and body["positions"] == 0  # no position released
    assert body["events"] == 1
    assert client.get(f"/api/v1/vessels/{A}", headers=viewer).json()["destination"] == "MANTA"
    event = client.get("/api/v1/events/loiter-d", headers=viewer).json()
    assert [(v["mmsi"], v["name"], v["lat"]) for v in event["vessels"]] == [(D, "DELTA", None)]


def test_every_vessel_with_released_positions_answers(partner):
    """B's latest position in the store is outside the grant's box; its earlier ones are
    released, so it answers everywhere with its latest released position."""
    client, _, viewer = partner
    vessel = client.get(f"/api/v1/vessels/{B}", headers=viewer)
    assert vessel.status_code == 200, vessel.text
    body = vessel.json()
    assert body["ts"] == "2026-01-15T02:00:00Z" and (body["lat"], body["lon"]) == (-1.5, -80.5)
    assert body["destination"] == "SALINAS" and body["positions"] == 13
    track = client.get(f"/api/v1/vessels/{B}/track", headers=viewer)
    assert track.status_code == 200 and track.json()["properties"]["points_total"] == 13
    assert {tuple(c) for c in track.json()["geometry"]["coordinates"]} == {(-80.5, -1.5)}
    item = client.get(f"/ogc/collections/vessels/items/{B}", headers=viewer)
    assert item.status_code == 200 and item.json()["properties"]["lat"] == -1.5
    listed = {v["mmsi"]: v for v in client.get("/api/v1/vessels", headers=viewer)
              .json()["items"]}
    assert set(listed) == {A, B, D}
    assert listed[B]["lat"] == -1.5 and listed[D]["lat"] is None


def test_a_vessel_without_released_data_is_hidden(partner):
    client, host, viewer = partner
    for url in (f"/api/v1/vessels/{C}", f"/api/v1/vessels/{C}/track",
                f"/ogc/collections/vessels/items/{C}"):
        assert client.get(url, headers=viewer).status_code == 404, url
        assert client.get(url, headers=host).status_code == 200, url
    stats = client.get("/api/v1/stats", headers=viewer).json()
    assert stats["vessels"] == 3 and stats["positions"] == 19 + 13
