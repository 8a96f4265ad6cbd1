"""StoreQuery: caches per snapshot, retries across ingests, tracks, zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from seawatch import schema
from seawatch.api.query import StoreQuery
from seawatch.store import Store
from tests.api.api_store import positions_chunk

T0 = datetime(2026, 1, 15, 12, tzinfo=UTC)
NO_EVENTS = schema.empty(schema.EVENTS)


@pytest.fixture
def small(tmp_path):
    store = Store(tmp_path / "s")
    store.ingest_results(
        [positions_chunk([(735057000, "2026-01-15T12:00:00Z", -1.0, -81.0)])],
        name="a", sha256="a" * 64, size=1,
    )
    return store, StoreQuery(tmp_path / "s")


def test_caches_hold_until_the_snapshot_changes(small):
    store, query = small
    first = query.latest()
    assert query.latest() is first
    store.ingest_results(
        [positions_chunk([(735057000, "2026-01-15T13:00:00Z", -1.5, -81.5)])],
        name="b", sha256="b" * 64, size=1,
    )
    second = query.latest()
    assert second is not first and second["lat"].to_list() == [-1.5]


def test_scan_racing_an_ingest_is_retried(small):
    store, query = small
    calls = []

    def run():
        calls.append(1)
        if len(calls) == 1:
            store.ingest_results(
                [positions_chunk([(224000000, "2026-01-16T00:00:00Z", 0.0, -80.0)])],
                name="c", sha256="c" * 64, size=1,
            )
            raise FileNotFoundError("a day file was replaced")
        return query.collect(query.positions())

    assert query.retry(run).height == 2 and len(calls) == 2
    with pytest.raises(FileNotFoundError):  # same snapshot: a real error, not retried
        query.retry(lambda: (_ for _ in ()).throw(FileNotFoundError("gone")))


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


def test_vessel_with_identity_only(tmp_path):
    from seawatch.io.result import ReadResult

    store = Store(tmp_path / "s")
    vessels = schema.conform(pl.DataFrame({
        "mmsi": [735057000], "ts": [T0], "name": ["MANTA I"], "callsign": ["HC1"],
    }), schema.VESSELS)
    store.ingest_results([ReadResult(vessels=vessels)], name="v", sha256="v" * 64, size=1)
    query = StoreQuery(tmp_path / "s")
    assert query.vessels().height == 0  # the list holds vessels with a position
    record = query.vessel(735057000)
    assert record["name"] == "MANTA I" and record["lat"] is None
    assert record["flag"] == "ECU" and record["positions"] == 0
    assert query.identities([735057000, 224000000])[1]["flag"] == "ESP"


def test_zones_note_when_detection_used_unknown_zones(small):
    store, query = small
    assert query.zones()[1] == {"source": "default"}
    store.write_events(NO_EVENTS, run_info={"zones": ["Private box"]})
    zones, meta = query.zones()
    assert zones[0].name == "Galápagos Marine Reserve"
    assert "Private box" in meta["note"] and "--zones" in meta["note"]


def test_zones_file_recorded_by_the_run_is_used(small, tmp_path):
    import json

    store, query = small
    path = tmp_path / "mine.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "Mine"}, "geometry": {
            "type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}}]}))
    store.write_events(NO_EVENTS, run_info={"zones": ["Mine"], "zones_file": str(path)})
    zones, meta = query.zones()
    assert [z.name for z in zones] == ["Mine"] and meta["source"] == "file mine.geojson"


def test_stats_flag_events_older_than_the_positions(small):
    store, query = small
    store.write_events(NO_EVENTS)
    assert query.stats()["detection"]["stale"] is False
    store.ingest_results(
        [positions_chunk([(735057000, "2026-01-15T14:00:00Z", -1.0, -81.0)])],
        name="e", sha256="e" * 64, size=1,
    )
    assert query.stats()["detection"]["stale"] is True
