"""Statistics: events older than the latest ingest are flagged stale."""

from __future__ import annotations

from tests.api.api_store import positions_chunk
from tests.api.query.conftest import NO_EVENTS


def test_stats_flag_events_older_than_the_positions(small):
    store, query = small
    store.write_events(NO_EVENTS)
    assert query.stats()["detection"]["stale"] is False
    store.ingest_results(
        [positions_chunk([(735057000, "2026-01-15T14:00:00Z", -1.0, -81.0)])],
        name="e", sha256="e" * 64, size=1,
    )
    assert query.stats()["detection"]["stale"] is True
