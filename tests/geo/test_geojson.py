"""seawatch.geo.geojson: the one reading of a user's GeoJSON file for zones and ports."""

from __future__ import annotations

import json

import pytest

from seawatch.errors import InputError, InvalidValue
from seawatch.geo import load_ports, load_zones
from seawatch.geo.geojson import read_features

POINT = {
    "type": "Feature",
    "properties": {"name": "A"},
    "geometry": {"type": "Point", "coordinates": [-80.7, -0.9]},
}


def test_a_collection_or_a_single_feature(tmp_path) -> None:
    path = tmp_path / "f.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [POINT, POINT]}))
    doc, features = read_features(path)
    assert doc["type"] == "FeatureCollection" and features == [POINT, POINT]
    path.write_text(json.dumps(POINT))
    assert read_features(path) == (POINT, [POINT])
    path.write_text(json.dumps({"type": "FeatureCollection"}))
    assert read_features(path)[1] == []


@pytest.mark.parametrize(
    ("content", "error", "message"),
    [
        (b"\xff\xfe\x00", InputError, "cannot read as GeoJSON"),
        (b"{not json", InputError, "cannot read as GeoJSON"),
        (b"[1, 2]", InvalidValue, "Feature or FeatureCollection, found a JSON list"),
        (b'"text"', InvalidValue, "found a JSON string"),
        (b'{"type": "Point", "coordinates": [0, 0]}', InvalidValue, "Feature or Feature"),
        (b'{"type": "FeatureCollection", "features": 3}', InvalidValue, "must be a list"),
        (b'{"type": "FeatureCollection", "features": [1]}', InvalidValue, "feature 0 is not"),
    ],
)
def test_files_that_are_not_geojson_are_refused_naming_the_file(
    tmp_path, content, error, message
) -> None:
    path = tmp_path / "bad.geojson"
    path.write_bytes(content)
    for read in (read_features, load_zones, load_ports):
        with pytest.raises(error, match=message) as info:
            read(path)
        assert str(path) in str(info.value)


def test_a_geometry_that_is_not_one_is_refused(tmp_path) -> None:
    path = tmp_path / "bad.geojson"
    bad = {**POINT, "geometry": {"type": "Polygon", "coordinates": "x"}}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [bad]}))
    with pytest.raises(InvalidValue, match="feature 0 has an invalid geometry"):
        load_zones(path)
    bad = {**POINT, "geometry": {"type": "Point", "coordinates": ["east", 1]}}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [bad]}))
    with pytest.raises(InvalidValue, match=r"feature 0 \('A'\) has coordinates that are not"):
        load_ports(path)
