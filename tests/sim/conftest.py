"""Scenarios shared by the simulator tests (simulated once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from seawatch.sim import Scenario, simulate, write_scenario

SEED, HOURS, VESSELS = 7, 20.0, 240
"""The main test scenario: long enough for AIS gaps (>= 18 h) and a midnight to straddle
(the default start is noon UTC), big enough for one of every planted behaviour."""


@pytest.fixture(scope="session")
def scenario() -> Scenario:
    return simulate(SEED, HOURS, VESSELS)


@pytest.fixture(scope="session")
def quiet() -> Scenario:
    """Noise off: every report heard once, exactly."""
    return simulate(seed=5, hours=6.0, vessels=120, noise=False)


WRITTEN = {"seed": 3, "hours": 8.0, "vessels": 150}


@pytest.fixture(scope="session")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_scenario(tmp_path_factory.mktemp("scenario"), **WRITTEN)
