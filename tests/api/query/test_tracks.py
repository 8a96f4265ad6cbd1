"""Tracks: one position is a Point, none a null geometry, long tracks thinned to the cap."""

from __future__ import annotations

from datetime import timedelta

from tests.api.api_store import positions_chunk
from tests.api.query.conftest import T0


def test_track_of_one_position_is_a_point_and_of_none_null(small):
    _, query = small
    one = query.track(735057000, T0 - timedelta(hours=1), T0 + timedelta(hours=1), zoom=10)
    assert one["geometry"] == {"type": "Point", "coordinates": [-81.0, -1.0]}
    assert one["properties"]["times"] == ["2026-01-15T12:00:00Z"]
    none = query.track(735057000, T0 + timedelta(hours=1), T0 + timedelta(hours=2))
    assert none["geometry"] is None and none["properties"]["points_total"] == 0


def test_track_is_thinned_to_the_cap(small, monkeypatch):
    import seawatch.api.query.tracks as q

    store, query = small
    rows = [(735057000, (T0 + timedelta(minutes=k)).isoformat(), -1.0 + k * 1e-3, -81.0)
            for k in range(1, 200)]
    store.ingest_results([positions_chunk(rows)], name="d", sha256="d" * 64, size=1)
    monkeypatch.setattr(q, "TRACK_MAX_POINTS", 50)
    track = query.track(735057000, T0, T0 + timedelta(hours=5))
    assert track["properties"]["points_total"] == 200
    assert track["properties"]["points_returned"] == 50
    assert track["properties"]["times"][-1] == (T0 + timedelta(minutes=199)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
