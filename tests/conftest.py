"""Fixtures shared by the whole test suite."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
"""``shared/data`` beside the repository root: real public test data (see its SOURCES.md)."""


def shared_data_path(*parts: str) -> Path:
    """A path under ``shared/data``; skips the calling test when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared test data not found at {SHARED_DATA} (it lives beside the repo)")
    if not path.exists():
        pytest.skip(f"shared test data file missing: {path}")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The ``shared/data`` directory beside the repository; skips the test when absent."""
    return shared_data_path()
