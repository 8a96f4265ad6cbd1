"""Fixtures of the data-access tests: a store of one position and its StoreQuery."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from seawatch import schema
from seawatch.api.query import StoreQuery
from seawatch.store import Store
from tests.api.api_store import positions_chunk

T0 = datetime(2026, 1, 15, 12, tzinfo=UTC)
"""Time of the one position of :func:`small`."""
NO_EVENTS = schema.empty(schema.EVENTS)


@pytest.fixture
def small(tmp_path):
    store = Store(tmp_path / "s")
    store.ingest_results(
        [positions_chunk([(735057000, "2026-01-15T12:00:00Z", -1.0, -81.0)])],
        name="a", sha256="a" * 64, size=1,
    )
    return store, StoreQuery(tmp_path / "s")
