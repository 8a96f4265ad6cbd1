"""Tests of seawatch.sim.plant.base: planted sites are far offshore, counts scale and fit."""

from __future__ import annotations

import numpy as np

from seawatch import geo
from seawatch.sim.plant import SITE_BOXES, planted_counts


def test_site_boxes_are_far_offshore() -> None:
    for name, (x0, y0, x1, y1) in SITE_BOXES.items():
        lat, lon = np.meshgrid(np.linspace(y0, y1, 20), np.linspace(x0, x1, 20))
        assert geo.distance_to_shore_km(lat.ravel(), lon.ravel()).min() > 30.0, name


def test_planted_counts_scale_and_fit() -> None:
    day = planted_counts(500, 24.0)
    assert day["encounter"] == 6 and day["gap"] == 3
    assert planted_counts(1000, 24.0)["encounter"] == 12
    assert planted_counts(100_000, 24.0)["encounter"] == 48  # capped
    assert planted_counts(500, 12.0)["gap"] == 0  # a 13.5 h gap needs 18 h
    assert sum(planted_counts(30, 24.0).values()) == 0
