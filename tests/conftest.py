"""Fixtures shared by the whole test suite."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

# derived geography (seawatch.geo.derived) is cached in a directory of this test session, not
# the user's, and shared by the CLI processes the tests start
_OWN_CACHE = None if "SEAWATCH_CACHE_DIR" in os.environ else tempfile.mkdtemp(
    prefix="seawatch-test-cache-"
)
if _OWN_CACHE:
    os.environ["SEAWATCH_CACHE_DIR"] = _OWN_CACHE


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove the session's cache of derived geography (about 30 MB)."""
    if _OWN_CACHE:
        shutil.rmtree(_OWN_CACHE, ignore_errors=True)

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
