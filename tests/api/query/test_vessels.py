"""Vessels: a vessel known only from its identity reports."""

from __future__ import annotations

import polars as pl

from seawatch import schema
from seawatch.api.query import StoreQuery
from seawatch.store import Store
from tests.api.query.conftest import T0


def test_vessel_with_identity_only(tmp_path):
    from seawatch.io.result import ReadResult

    store = Store(tmp_path / "s")
    vessels = schema.conform(pl.DataFrame({
        "mmsi": [735057000], "ts": [T0], "name": ["MANTA I"], "callsign": ["HC1"],
    }), schema.VESSELS)
    store.ingest_results([ReadResult(vessels=vessels)], name="v", sha256="v" * 64, size=1)
    query = StoreQuery(tmp_path / "s")
    assert query.vessels().height == 0  # the list holds vessels with a position
    record = query.vessel(735057000)
    assert record["name"] == "MANTA I" and record["lat"] is None
    assert record["flag"] == "ECU" and record["positions"] == 0
    assert query.identities([735057000, 224000000])[1]["flag"] == "ESP"
