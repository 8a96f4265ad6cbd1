"""The summary of a store (seawatch.store.summary): info(), the latest identities."""

from __future__ import annotations

import polars as pl

from seawatch.io.identity import ship_type_label
from seawatch.store import Store
from tests.store.store_checks import ingest
from tests.store.store_synth import result, table, ts


def test_info_contents(filled):
    info = filled.info()
    every = filled.positions().collect()
    assert info["path"] == str(filled.path)
    assert info["snapshot"] == 1
    assert info["days"] == 3
    assert (info["first_day"], info["last_day"]) == ("2024-03-01", "2024-03-03")
    assert info["rows"]["positions"] == every.height == 5000
    assert info["rows"]["vessels"] == filled.vessels().collect().height
    assert info["vessels"] == 40
    assert info["first_ts"] == every["ts"].min()
    assert info["last_ts"] == every["ts"].max()
    assert info["inputs"] == 1
    assert info["quarantine"] == {"bad_checksum": 1, "not_ais": 1}
    on_disk = sum(p.stat().st_size for p in filled.path.rglob("*") if p.is_file())
    assert info["size_bytes"] == on_disk


def test_info_of_empty_store(tmp_path):
    info = Store(tmp_path / "s").info()
    assert info["days"] == 0 and info["vessels"] == 0 and info["first_ts"] is None
    assert info["rows"] == {"positions": 0, "vessels": 0, "stations": 0, "other_messages": 0}


def test_latest_identity_merges_class_b_parts(tmp_path):
    store = Store(tmp_path / "s")
    b = 735057123
    rows = [
        {"mmsi": b, "ts": ts(0), "name": "OLD NAME", "msg_type": 24},
        {
            "mmsi": b,
            "ts": ts(60),
            "callsign": "HC9",
            "ship_type": 30,
            "length": 18.0,
            "msg_type": 24,
        },
        {"mmsi": b, "ts": ts(120), "name": "NEW NAME", "msg_type": 24},
        {"mmsi": b, "ts": ts(86_400 * 3), "callsign": "HC10", "msg_type": 24},
        {
            "mmsi": 1,
            "ts": ts(5),
            "name": "A",
            "imo": 9_000_001,
            "destination": "MANTA",
            "msg_type": 5,
        },
        {"mmsi": 1, "ts": ts(50), "name": "A", "imo": None, "destination": None, "msg_type": 5},
    ]
    frame = table("vessels", rows).with_columns(
        ship_type_label(pl.col("ship_type")).alias("ship_type_label")
    )
    ingest(store, "a", [result(vessels=frame)])
    out = store.latest_identity()
    assert out.columns[:2] == ["mmsi", "ts"]
    assert out["mmsi"].to_list() == [1, b]
    boat = out.row(1, named=True)
    assert boat["name"] == "NEW NAME"
    assert boat["callsign"] == "HC10"
    assert boat["ship_type"] == 30 and boat["ship_type_label"] == "Fishing"
    assert boat["length"] == 18.0
    assert boat["ts"] == ts(86_400 * 3)
    first = out.row(0, named=True)
    assert (first["imo"], first["destination"]) == (9_000_001, "MANTA")
    assert store.latest_identity(mmsi=b).height == 1


