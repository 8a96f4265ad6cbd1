from __future__ import annotations

import numpy as np
import shapely

from seawatch.geo._grid import PolygonGrid


def test_grid_equals_contains_xy_on_a_ring_with_a_hole() -> None:
    outer = shapely.Point(0, 0).buffer(10, quad_segs=64)
    geom = shapely.difference(outer, shapely.Point(2, 1).buffer(4))
    geom = shapely.union(geom, shapely.box(20, 20, 21, 21))
    grid = PolygonGrid(geom, cell_deg=0.25)
    assert 0 < grid.mixed_fraction < 0.5
    rng = np.random.default_rng(1)
    x = rng.uniform(-12, 22, 200_000)
    y = rng.uniform(-12, 22, 200_000)
    assert (grid.contains(x, y) == shapely.contains_xy(geom, x, y)).all()


def test_points_outside_the_grid_and_nan() -> None:
    grid = PolygonGrid(shapely.box(0, 0, 1, 1))
    assert grid.contains(np.array([5.0, np.nan, 0.5]), np.array([0.5, 0.5, 0.5])).tolist() == [
        False,
        False,
        True,
    ]
