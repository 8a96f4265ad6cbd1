"""Zones in use: the server's, the run's, or the defaults with a note."""

from __future__ import annotations

from tests.api.query.conftest import NO_EVENTS


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
