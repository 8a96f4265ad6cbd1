"""``watchlist_hit`` (seawatch.detect.watchlist)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from seawatch import schema
from seawatch.detect.run import detect_all
from seawatch.detect.watchlist import detect_watchlist_hits, entry_table, match_entries

T0 = datetime(2026, 1, 15, tzinfo=UTC)


def track(mmsi: int, hours: int = 3) -> pl.DataFrame:
    return pl.DataFrame({"mmsi": [mmsi] * hours, "lat": [-2.0 - h / 10 for h in range(hours)],
                         "lon": [-86.0] * hours,
                         "ts": [T0 + timedelta(hours=h) for h in range(hours)]})


def reports(mmsi: int, *rows: dict) -> pl.DataFrame:
    return schema.conform(pl.DataFrame([{"mmsi": mmsi, "ts": T0 + timedelta(hours=k), **r}
                                        for k, r in enumerate(rows)]), schema.VESSELS)


ENTRIES = entry_table([
    {"entry_id": 1, "watchlist_id": 10, "list_name": "IUU", "source": "SPRFMO",
     "name": "OCEAN STAR 7", "flag": "ECU", "reason": "IUU 2024"},
    {"entry_id": 2, "watchlist_id": 10, "list_name": "IUU", "imo": 9074729, "name": "OLD NAME"},
    {"entry_id": 3, "watchlist_id": 11, "list_name": "interest", "mmsi": 735000003,
     "flag": "Panama"},
    {"entry_id": 4, "watchlist_id": 11, "list_name": "interest", "callsign": "hc-1234"},
    {"entry_id": 5, "watchlist_id": 11, "list_name": "interest", "name": "ANA"},
    {"entry_id": 6, "watchlist_id": 11, "list_name": "interest",
     "name": "LU RONG YUAN YU 1234"},
    {"entry_id": 7, "watchlist_id": 11, "list_name": "interest", "name": "ELIZABETH B II"},
])


def hits_of(mmsi: int, v: pl.DataFrame | None) -> pl.DataFrame:
    return match_entries(pl.DataFrame({"mmsi": [mmsi]}), v, ENTRIES)


def test_exact_fields_hit():
    assert hits_of(735000003, None).select("entry_id", "mmsi_hit", "score").rows() == [
        (3, True, 1.0)]
    v = reports(735000001, {"imo": 9074729}, {"imo": 9074729, "callsign": "HC1234"},
                {"callsign": "HC 1234"})
    got = hits_of(735000001, v).select("entry_id", "imo_hit", "callsign_hit", "score").rows()
    assert got == [(2, True, False, 1.0), (4, False, True, 0.8)]


@pytest.mark.parametrize(
    ("name", "hit"),
    [("F/V Ocean-Star 7", True), ("OCEANSTAR 7", True), ("ocean star 7@@@", True),
     ("OCEAN STAR NO.7", True), ("OCEAN STAR 3", False), ("OCEAN STAR 77", False),
     ("OCEAN STAR", False), ("OCEAN STARLIGHT 7", False), ("ANA", True), ("ANNA", False),
     ("OCEAN STAT 7", False),  # short names: one letter is another vessel (DON / DONA)
     ("LU RONG YUAN YO 1234", True), ("LU RONG YUAN YU 1235", False),
     ("LU RONG YUAN 1234", False), ("ELIZABETH III", False), ("ELIZABETH B-II", True)],
)
def test_fuzzy_names_need_the_same_numbers(name, hit):
    v = reports(735000001, {"name": name})
    assert (hits_of(735000001, v).height == 1) is hit


def test_a_garbled_report_beside_the_real_name_does_not_hit():
    v = reports(735000001, {"name": "SEA WOLF"}, {"name": "OCEAN STAR 7"},
                {"name": "SEA WOLF"})
    assert hits_of(735000001, v).height == 0
    v = reports(735000001, {"name": "OCEAN STAR 7"}, {"name": "SEA WOLF"},
                {"name": "OCEAN STAR 7"}, {"name": "SEA WOLF"})
    assert hits_of(735000001, v)["entry_id"].to_list() == [1]  # renamed: the old name hits


def test_one_event_per_vessel_with_every_hit_and_the_flag_check():
    v = pl.concat([reports(735000003, {"name": "OCEAN STAR 7"}, {"name": "OCEAN STAR 7"}),
                   reports(735000009, {"name": "NOBODY"})])
    pos = pl.concat([track(735000003), track(735000009)])
    ev = detect_watchlist_hits(pos, v, ENTRIES)
    assert ev["mmsi"].to_list() == [735000003]
    row = ev.row(0, named=True)
    assert row["start"] == T0 and row["end"] == T0 + timedelta(hours=2)
    assert row["lat"] == pytest.approx(-2.2)
    d = json.loads(row["details"])
    assert d["watchlist_ids"] == [10, 11]
    assert [h["entry_id"] for h in d["hits"]] == [3, 1]  # best first
    by_entry = {h["entry_id"]: h for h in d["hits"]}
    assert by_entry[3]["flag_mismatch"] is True  # Panama listed, MID 735 is Ecuador
    assert by_entry[1]["flag_mismatch"] is False and by_entry[1]["matched"] == {"name": 100.0}
    assert by_entry[3]["entry"] == {"name": None, "imo": None, "callsign": None,
                                    "mmsi": 735000003, "flag": "Panama"}
    assert row["score"] == 1.0
    assert detect_watchlist_hits(pos, v, None).height == 0


def test_the_pipeline_runs_it_with_watchlists_only():
    pos = track(735000003)
    assert detect_all(pos, types=["watchlist_hit"]).height == 0
    ev = detect_all(pos, types=["watchlist_hit"], watchlists=ENTRIES)
    assert ev["type"].to_list() == ["watchlist_hit"]
