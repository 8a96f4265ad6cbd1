from __future__ import annotations

import json

import numpy as np
import pytest
import shapely

from seawatch.geo import coastline, coverage_box, land, on_land
from tests.geo.geo_places import MANTA, OFF_MANTA, OPEN_OCEAN, SANTA_CRUZ


def test_known_points() -> None:
    lat, lon = np.array([MANTA, OFF_MANTA, SANTA_CRUZ, OPEN_OCEAN]).T
    assert on_land(lat, lon).tolist() == [True, False, True, False]


def test_outside_box_uses_world_layer() -> None:
    # Brasília, Madrid, mid-Atlantic, Gulf of Mexico, Mexico City
    lat = [-15.8, 40.4, 30.0, 25.0, 19.4]
    lon = [-47.9, -3.7, -40.0, -90.0, -99.1]
    assert on_land(lat, lon).tolist() == [True, True, False, False, True]


def test_nan_and_shapes() -> None:
    assert on_land([np.nan], [-80.0]).tolist() == [False]
    assert on_land(np.zeros((2, 3)) - 0.95, -80.68).shape == (2, 3)
    assert on_land([], []).shape == (0,)


def test_matches_contains_xy_exactly() -> None:
    rng = np.random.default_rng(7)
    x0, y0, x1, y1 = coverage_box()
    lat = rng.uniform(y0, y1, 300_000)
    lon = rng.uniform(x0, x1, 300_000)
    ref = shapely.contains_xy(land(), lon, lat)
    assert (on_land(lat, lon) == ref).all()


def test_points_near_the_coast_match_contains_xy() -> None:
    rng = np.random.default_rng(8)
    xy = shapely.get_coordinates(coastline())
    xy = xy[rng.integers(0, len(xy), 50_000)] + rng.normal(0, 0.01, (50_000, 2))
    x0, y0, x1, y1 = coverage_box()
    xy = xy[(xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)]
    ref = shapely.contains_xy(land(), xy[:, 0], xy[:, 1])
    assert 0.2 < ref.mean() < 0.8
    assert (on_land(xy[:, 1], xy[:, 0]) == ref).all()


def test_shipped_land_equals_shared_source(shared_geo) -> None:
    doc = json.loads((shared_geo / "land-eastern-pacific.geojson").read_text())
    src = shapely.union_all([shapely.geometry.shape(f["geometry"]) for f in doc["features"]])
    assert shapely.equals_exact(shapely.normalize(src), shapely.normalize(land()), 1e-9) or (
        shapely.symmetric_difference(src, land()).area < 1e-9
    )


@pytest.mark.parametrize("fn", [land, coastline])
def test_cached(fn) -> None:
    assert fn() is fn()
