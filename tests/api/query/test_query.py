"""StoreQuery: caches per snapshot, retries across ingests."""

from __future__ import annotations

import pytest

from tests.api.api_store import positions_chunk


def test_caches_hold_until_the_snapshot_changes(small):
    store, query = small
    first = query.latest()
    assert query.latest() is first
    store.ingest_results(
        [positions_chunk([(735057000, "2026-01-15T13:00:00Z", -1.5, -81.5)])],
        name="b", sha256="b" * 64, size=1,
    )
    second = query.latest()
    assert second is not first and second["lat"].to_list() == [-1.5]


def test_scan_racing_an_ingest_is_retried(small):
    store, query = small
    calls = []

    def run():
        calls.append(1)
        if len(calls) == 1:
            store.ingest_results(
                [positions_chunk([(224000000, "2026-01-16T00:00:00Z", 0.0, -80.0)])],
                name="c", sha256="c" * 64, size=1,
            )
            raise FileNotFoundError("a day file was replaced")
        return query.collect(query.positions())

    assert query.retry(run).height == 2 and len(calls) == 2
    with pytest.raises(FileNotFoundError):  # same snapshot: a real error, not retried
        query.retry(lambda: (_ for _ in ()).throw(FileNotFoundError("gone")))
