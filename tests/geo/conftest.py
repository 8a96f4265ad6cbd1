"""Fixtures of the geo tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.geo.geo_places import SHARED


@pytest.fixture(scope="session")
def shared_geo() -> Path:
    """../shared/data/geo, or skip the test when it is absent."""
    geo = SHARED / "geo"
    if not geo.is_dir():
        pytest.skip(f"shared data not found at {geo}")
    return geo
