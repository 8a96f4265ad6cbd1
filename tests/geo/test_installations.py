"""Fixed installations: a user's GeoJSON file, and candidates found where vessels stand by."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from seawatch.errors import InputError, InvalidValue
from seawatch.geo.installations import (
    INSTALLATION_COLUMNS,
    installations_from_periods,
    load_installations,
)

T0 = datetime(2026, 1, 15, tzinfo=UTC)
SEA = (-2.0, -86.0)  # open sea, 210 nm from shore
NEAR_SHORE = (-1.03, -80.92)  # 2 km from shore


def write(tmp_path, features):
    path = tmp_path / "installations.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def feature(geometry, **props):
    return {"type": "Feature", "properties": props, "geometry": geometry}


def test_points_multipoints_and_polygons(tmp_path):
    ring = [[-80.0, -2.0], [-79.98, -2.0], [-79.98, -1.98], [-80.0, -1.98], [-80.0, -2.0]]
    path = write(tmp_path, [
        feature({"type": "Point", "coordinates": [-80.85, -3.05]}, name="Amistad",
                kind="platform", radius_km=3),
        feature({"type": "MultiPoint", "coordinates": [[-81.0, -1.0], [-81.1, -1.1]]},
                kind="buoy"),
        feature({"type": "Polygon", "coordinates": [ring]}, name="Farm", kind="fish_farm"),
        feature({"type": "MultiPolygon", "coordinates": [[ring], [[[c[0] + 1, c[1]]
                                                                    for c in ring]]]}),
    ])
    t = load_installations(path)
    assert t.schema == pl.Schema(INSTALLATION_COLUMNS)
    assert t["name"].to_list() == [
        "Amistad", "installation 2", "installation 3", "Farm", "installation 5",
        "installation 6",
    ]
    assert t["kind"].to_list()[:4] == ["platform", "buoy", "buoy", "fish_farm"]
    assert t["radius_km"].to_list()[:2] == [3.0, None]
    assert t["extent_km"].to_list()[:3] == [0.0, 0.0, 0.0]
    farm = t.row(3, named=True)
    assert (farm["lat"], farm["lon"]) == pytest.approx((-1.99, -79.99), abs=1e-6)
    # the closed ring's repeated corner does not move the centre: half the 2.2 km diagonal
    assert farm["extent_km"] == pytest.approx(1.57, abs=0.01)
    assert t["lon"][5] == pytest.approx(-78.99, abs=1e-6)
    assert set(t["source"]) == {"installations.geojson"}


@pytest.mark.parametrize(
    ("geometry", "props", "message"),
    [
        ({"type": "LineString", "coordinates": [[0, 0], [1, 1]]}, {},
         "feature 1 is a LineString; installations are Points or Polygons"),
        ({"type": "Point", "coordinates": ["a", 0]}, {}, "not numbers"),
        ({"type": "Point", "coordinates": [0, 95]}, {}, "out of range"),
        ({"type": "Point", "coordinates": [0, 0]}, {"radius_km": -1}, "radius_km must be"),
        ({"type": "Point", "coordinates": [0, 0]}, {"radius_km": "2 km"}, "radius_km must be"),
    ],
)
def test_bad_features_are_refused_by_number(tmp_path, geometry, props, message):
    path = write(tmp_path, [feature(geometry, **props)])
    with pytest.raises(InvalidValue, match=message):
        load_installations(path)


def test_a_file_that_is_not_json(tmp_path):
    path = tmp_path / "x.geojson"
    path.write_text("not json")
    with pytest.raises(InputError):
        load_installations(path)


def period(mmsi, day, hours, where=SEA, start_h=0.0):
    start = T0 + timedelta(days=day, hours=start_h)
    return {"mmsi": mmsi, "lat": where[0], "lon": where[1], "n": 50, "hours": hours,
            "start": start, "end": start + timedelta(hours=hours)}


def periods(*rows):
    return pl.DataFrame(list(rows)).with_columns(pl.col("start", "end").dt.cast_time_unit("us"))


def test_vessels_standing_by_over_days_far_from_shore_are_a_candidate():
    # a supply vessel three days running, relieved by another on the third
    found = installations_from_periods(periods(
        period(1, 0, 10), period(1, 1, 10), period(1, 2, 4), period(2, 2, 6, start_h=4)
    ))
    assert found.height == 1
    row = found.row(0, named=True)
    assert (row["n_vessels"], row["standby_hours"], row["kind"]) == (2, 30.0, "candidate")
    assert (row["lat"], row["lon"]) == pytest.approx(SEA)
    assert row["name"] == "inferred installation -2.0,-86.0"


@pytest.mark.parametrize(
    ("rows", "why"),
    [
        # two vessels meeting at sea for 30 h: simultaneous, within one day, not a place
        ([period(1, 0, 30), period(2, 0, 30)], "span"),
        # one vessel for days: loitering, the behaviour to report
        ([period(1, 0, 20), period(1, 1, 20), period(1, 2, 20)], "vessels"),
        # two vessels over days, but 10 h in all
        ([period(1, 0, 5), period(2, 3, 5)], "hours"),
        # over days, near shore: an anchorage, not an installation
        ([period(1, 0, 20, NEAR_SHORE), period(2, 3, 20, NEAR_SHORE)], "shore"),
        # a position "not available" (91, 181) is nowhere
        ([period(1, 0, 20, (91.0, 181.0)), period(2, 3, 20, (91.0, 181.0))], "nowhere"),
    ],
)
def test_what_is_not_a_candidate(rows, why):
    assert installations_from_periods(periods(*rows)).height == 0, why


def test_the_thresholds_are_parameters():
    one = periods(period(1, 0, 20), period(1, 1, 20), period(1, 2, 20))
    assert installations_from_periods(one, infer_min_vessels=1).height == 1
    meeting = periods(period(1, 0, 30), period(2, 0, 30))
    assert installations_from_periods(meeting, infer_min_span="1d").height == 1
