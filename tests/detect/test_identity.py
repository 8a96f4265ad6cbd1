"""Identity history, ``identity_change`` and ``invalid_identity`` (seawatch.detect.identity)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from seawatch import schema
from seawatch.detect.identity import (
    detect_identity_changes,
    detect_invalid_identities,
    identity_changes,
    identity_history,
    imo_is_valid,
)
from seawatch.detect.run import detect_all

T0 = datetime(2026, 1, 15, 12, tzinfo=UTC)
M = 735000001


def reports(rows: list[dict]) -> pl.DataFrame:
    """Identity reports from dicts with ``h`` (hours after T0) and any VESSELS field."""
    frame = pl.DataFrame(
        [{"mmsi": r.get("mmsi", M), "ts": T0 + timedelta(hours=r["h"]),
          **{k: v for k, v in r.items() if k not in ("h", "mmsi")}} for r in rows])
    return schema.conform(frame, schema.VESSELS)


def track(mmsi: int = M, hours: float = 40.0) -> pl.DataFrame:
    n = int(hours * 6)
    return pl.DataFrame({"mmsi": [mmsi] * n,
                         "ts": [T0 + timedelta(minutes=10 * k) for k in range(n)],
                         "lat": [-2.0 - 0.001 * k for k in range(n)],
                         "lon": [-85.0] * n, "sog": [6.0] * n})


def test_history_has_every_value_with_first_and_last_seen():
    v = reports([
        {"h": 0, "name": "ocean  star@@", "callsign": "HC 1234", "imo": 9074729,
         "ship_type": 74, "length": 120.0, "width": 20.0},
        {"h": 14, "name": "OCEAN STAR", "callsign": "HC1234", "imo": 9074729, "ship_type": 70},
        {"h": 30, "name": "SEA WOLF", "ship_type": 30},
    ])
    h = identity_history(v)
    names = h.filter(pl.col("field") == "name")
    assert names.select("value", "reports", "days").rows() == [("OCEAN STAR", 2, 2),
                                                                ("SEA WOLF", 1, 1)]
    assert names["last_seen"][0] == T0 + timedelta(hours=14)
    assert h.filter(pl.col("field") == "callsign")["value"].to_list() == ["HC1234"]
    kinds = h.filter(pl.col("field") == "ship_type").select("value", "label").rows()
    assert kinds == [("70", "Cargo"), ("30", "Fishing")]
    assert h.filter(pl.col("field") == "flag")["value"].to_list() == ["ECU"]
    assert h.filter(pl.col("field") == "dimensions")["value"].to_list() == ["120.0 x 20.0 m"]
    assert identity_history(v, mmsi=1).height == 0


def test_a_stable_rename_is_one_event_with_both_fields():
    v = reports([
        {"h": 0, "name": "OCEAN STAR", "callsign": "HC1234"},
        {"h": 13, "name": "OCEAN STAR", "callsign": "HC1234", "destination": "MANTA"},
        {"h": 20, "name": "SEA WOLF", "callsign": "5VAB7"},
        {"h": 30, "name": "SEA WOLF", "callsign": "5VAB7", "destination": "X"},
    ])
    ev = detect_identity_changes(track(), v)
    assert ev.height == 1
    row = ev.row(0, named=True)
    assert row["type"] == "identity_change" and row["start"] == T0 + timedelta(hours=20)
    d = json.loads(row["details"])
    assert d["fields"] == ["name", "callsign"] or d["fields"] == ["callsign", "name"]
    assert {c["new"] for c in d["changes"]} == {"SEA WOLF", "5VAB7"}
    assert row["score"] == pytest.approx(0.8)
    assert row["lat"] == pytest.approx(-2.0 - 0.001 * 120)


def test_one_garbled_report_raises_nothing():
    v = reports([
        {"h": 0, "name": "OCEAN STAR", "imo": 9074729, "ship_type": 70},
        {"h": 3, "name": "OC%AN STAR", "imo": 9074729, "ship_type": 70},  # one char
        {"h": 5, "name": "OCEAN STAR", "imo": 1234567, "ship_type": 70},  # once
        {"h": 6, "name": "XYZZY QWERT", "imo": 9074729, "ship_type": 70},  # once
        {"h": 7, "name": "OCEAN STAR", "imo": 9074729, "ship_type": 30},  # once
        {"h": 14, "name": "OCEAN STAR", "imo": 9074729, "ship_type": 70},
    ])
    assert identity_changes(v).height == 0
    assert detect_identity_changes(track(), v).height == 0


def test_a_garbling_repeated_by_one_character_is_not_a_change():
    v = reports([{"h": 0, "name": "OCEAN STAR"}, {"h": 20, "name": "OCEAN STAB"},
                 {"h": 30, "name": "OCEAN STAB"}])
    assert identity_changes(v).height == 0
    assert identity_changes(v, min_edit=1).height == 1


def test_going_back_to_the_old_name_is_no_change():
    v = reports([{"h": 0, "name": "OCEAN STAR"}, {"h": 5, "name": "SEA WOLF"},
                 {"h": 20, "name": "OCEAN STAR"}, {"h": 21, "name": "SEA WOLF"}])
    assert identity_changes(v).height == 0


def test_ship_type_changes_between_kinds_only():
    v = reports([{"h": 0, "ship_type": 70}, {"h": 14, "ship_type": 79},
                 {"h": 30, "ship_type": 79}])
    assert identity_changes(v).height == 0
    v = reports([{"h": 0, "ship_type": 70}, {"h": 14, "ship_type": 30},
                 {"h": 30, "ship_type": 30}, {"h": 31, "ship_type": 0}])
    ch = identity_changes(v)
    assert ch.select("field", "old", "new", "label").rows() == [
        ("ship_type", "70", "30", "Fishing")]


def test_changes_far_apart_are_two_events_and_only_the_chunks_vessels():
    v = reports([
        {"h": 0, "name": "ALPHA ONE"}, {"h": 12, "name": "BRAVO TWO"},
        {"h": 13, "name": "BRAVO TWO", "destination": "A"},
        {"h": 30, "name": "CHARLIE THREE"}, {"h": 36, "name": "CHARLIE THREE", "draught": 3.0},
        {"mmsi": 735000002, "h": 0, "name": "DELTA"},
        {"mmsi": 735000002, "h": 20, "name": "ECHO X"},
        {"mmsi": 735000002, "h": 30, "name": "ECHO X", "draught": 3.0},
    ])
    ev = detect_identity_changes(track(), v)
    assert ev["mmsi"].to_list() == [M, M]
    olds = [json.loads(d)["changes"][0]["old"] for d in ev["details"]]
    assert olds == ["ALPHA ONE", "BRAVO TWO"]


@pytest.mark.parametrize(
    ("mmsi", "reason"),
    [(0, "zero"), (123456789, "placeholder"), (111111111, "placeholder"),
     (2470123, "short"), (200123456, "unallocated_mid"), (199123456, "format")],
)
def test_invalid_mmsis(mmsi, reason):
    ev = detect_invalid_identities(track(mmsi, hours=2))
    assert ev.height == 1
    d = json.loads(ev["details"][0])
    assert d["reasons"] == [reason]
    assert ev["start"][0] == T0 and ev["end"][0] == T0 + timedelta(minutes=110)


def test_valid_mmsis_and_a_wrong_imo_seen_twice():
    for mmsi in (735057000, 970012345, 111735100):
        assert detect_invalid_identities(track(mmsi, hours=1)).height == 0
    once = reports([{"h": 0, "imo": 9074728}, {"h": 1, "imo": 9074729}])
    assert detect_invalid_identities(track(hours=1), once).height == 0
    twice = reports([{"h": 0, "imo": 9074728}, {"h": 25, "imo": 9074728}])
    ev = detect_invalid_identities(track(hours=1), twice)
    d = json.loads(ev["details"][0])
    assert d["reasons"] == ["imo_check_digit"] and d["imo"] == 9074728
    assert ev["score"][0] == 0.5


def test_imo_check_digit():
    got = pl.select(imo_is_valid(pl.Series([9074729, 9176187, 9074720, 0, 12345678])))
    assert got.to_series().to_list() == [True, True, False, False, False]


def test_the_pipeline_reads_every_report_not_the_latest():
    v = reports([{"h": 0, "name": "OCEAN STAR"}, {"h": 20, "name": "SEA WOLF"},
                 {"h": 30, "name": "SEA WOLF", "draught": 2.0}])
    ev = detect_all(track(), v, types=["identity_change", "invalid_identity"])
    assert ev["type"].to_list() == ["identity_change"]
