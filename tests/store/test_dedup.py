"""The duplicate rule: 30 s window on the key, nulls equal, per table, across inputs."""

from __future__ import annotations

import itertools
from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from seawatch import schema
from seawatch.store import Store
from seawatch.store.dedup import RULES, LateCopies, merge_sql, rows_per_mmsi_sql
from tests.store.store_synth import positions, result, table, ts

BASE = {
    "mmsi": 735057000,
    "msg_type": 1,
    "lat": -0.95,
    "lon": -80.7,
    "sog": 10.5,
    "cog": 90.0,
    "heading": 91,
    "nav_status": 0,
    "second": 12,
}


def ingest(store: Store, name: str, **tables: pl.DataFrame):
    return store.ingest_results([result(**tables)], name=name, sha256=name.ljust(64, "0"), size=0)


def report_ts(store: Store) -> list[float]:
    frame = store.positions().collect().sort("ts")
    return [(t - ts(0)).total_seconds() for t in frame["ts"].to_list()]


@pytest.mark.parametrize(
    ("delay_s", "kept"),
    [(0.0, 1), (0.5, 1), (29.999999, 1), (30.0, 1), (30.000001, 2), (45.0, 2)],
)
def test_window_edge_is_inclusive_at_30_s(tmp_path, delay_s, kept):
    # a vessel at rest: its repeats are reports (a moving vessel's late copies: below)
    store = Store(tmp_path / "s")
    at_rest = {**BASE, "sog": 0.0}
    frame = positions(
        [
            {**at_rest, "ts": ts(0), "source": "rx-a"},
            {**at_rest, "ts": ts(delay_s), "source": "rx-b"},
        ]
    )
    report = ingest(store, "a", positions=frame)
    assert store.positions().collect().height == kept
    assert report.duplicates["positions"] == 2 - kept
    assert report.rows_added["positions"] == kept


def test_earliest_copy_is_kept_whatever_the_order(tmp_path):
    store = Store(tmp_path / "s")
    frame = positions(
        [
            {**BASE, "ts": ts(3), "source": "rx-late"},
            {**BASE, "ts": ts(1), "source": "rx-early"},
            {**BASE, "ts": ts(2), "source": "rx-middle"},
        ]
    )
    ingest(store, "a", positions=frame)
    kept = store.positions().collect()
    assert kept["source"].to_list() == ["rx-early"]
    assert report_ts(store) == [1.0]


def test_chain_of_copies_compares_with_previous_copy(tmp_path):
    # copies 20 s apart: each is within 30 s of the previous copy, so all but the first go
    store = Store(tmp_path / "s")
    frame = positions([{**BASE, "ts": ts(s)} for s in (0, 20, 40, 60)])
    ingest(store, "a", positions=frame)
    assert report_ts(store) == [0.0]


def test_any_key_difference_keeps_both(tmp_path):
    store = Store(tmp_path / "s")
    changes = [
        {"mmsi": 735057001},
        {"msg_type": 3},
        {"lat": -0.9501},
        {"lon": -80.7001},
        {"sog": 10.6},
        {"cog": 90.1},
        {"heading": 92},
        {"nav_status": 5},
        {"second": 13},
    ]
    rows = [{**BASE, "ts": ts(0)}] + [{**BASE, **c, "ts": ts(1)} for c in changes]
    ingest(store, "a", positions=positions(rows))
    assert store.positions().collect().height == 1 + len(changes)


def test_non_key_columns_do_not_matter(tmp_path):
    store = Store(tmp_path / "s")
    rows = [
        {**BASE, "ts": ts(0), "source": "a", "accuracy": True, "mmsi_valid": True},
        {**BASE, "ts": ts(1), "source": "b", "accuracy": False, "mmsi_valid": None},
    ]
    ingest(store, "a", positions=positions(rows))
    assert store.positions().collect()["source"].to_list() == ["a"]


def test_nulls_are_equal_to_nulls(tmp_path):
    store = Store(tmp_path / "s")
    nulls = {**BASE, "sog": None, "cog": None, "heading": None, "nav_status": None}
    rows = [
        {**nulls, "second": None, "lat": None, "lon": None, "ts": ts(0)},
        {**nulls, "second": None, "lat": None, "lon": None, "ts": ts(0)},  # duplicate
        {**nulls, "ts": ts(0)},
        {**nulls, "ts": ts(5)},  # duplicate
        {**nulls, "heading": 7, "ts": ts(6)},  # null vs value: different
    ]
    report = ingest(store, "a", positions=positions(rows))
    assert store.positions().collect().height == 3
    assert report.duplicates["positions"] == 2


def test_without_second_only_exact_copies_are_duplicates(tmp_path):
    # CSV sources carry no 'second': a moored vessel reporting the same position every 10 s
    # must keep every report (dropping them would open a false gap), while the same export
    # row delivered twice is still one report.
    store = Store(tmp_path / "s")
    moored = [{**BASE, "second": None, "ts": ts(10 * i)} for i in range(360)]
    report = ingest(store, "a", positions=positions([*moored, moored[0], moored[-1]]))
    assert store.positions().collect().height == 360
    assert report.duplicates["positions"] == 2
    for unavailable in (60, 61, 62, 63):
        rows = [{**BASE, "second": unavailable, "ts": ts(i)} for i in range(3)]
        fresh = Store(tmp_path / f"s{unavailable}")
        ingest(fresh, "a", positions=positions(rows))
        assert fresh.positions().collect().height == 3


def test_same_rows_in_two_inputs_are_removed_and_counted(tmp_path):
    store = Store(tmp_path / "s")
    rows = [{**BASE, "ts": ts(60 * i), "second": i % 60} for i in range(10)]
    first = ingest(store, "a.nmea", positions=positions(rows))
    copies = positions(rows).with_columns(
        (pl.col("ts") + pl.duration(seconds=2)).alias("ts"), pl.lit("rx-b").alias("source")
    )
    second = ingest(store, "b.nmea", positions=copies)
    assert first.rows_added["positions"] == 10
    assert second.rows_read["positions"] == 10
    assert second.rows_added["positions"] == 0
    assert second.duplicates["positions"] == 10
    assert second.duplicates_removed == 10
    assert store.positions().collect().height == 10
    assert store.inputs()["duplicates"].to_list() == [0, 10]


def test_window_is_configurable(tmp_path):
    rows = [{**BASE, "ts": ts(0)}, {**BASE, "ts": ts(10)}]
    narrow = Store(tmp_path / "narrow", dedup_window=5)
    ingest(narrow, "a", positions=positions(rows))
    assert narrow.positions().collect().height == 2
    wide = Store(tmp_path / "wide", dedup_window=timedelta(seconds=10))
    ingest(wide, "a", positions=positions(rows))
    assert wide.positions().collect().height == 1
    with pytest.raises(ValueError, match="dedup_window"):
        Store(tmp_path / "bad", dedup_window=-1)


@pytest.mark.parametrize(
    ("sog", "delay_s", "kept"),
    [
        (10.5, 45.0, 1),  # 243 m on at 10.5 kn: one transmission heard twice
        (10.5, 599.999999, 1),  # less than 10 min late
        (10.5, 600.0, 2),  # 10 min and more: left to the clock check (its displaced copies)
        (2.0, 90.0, 2),  # 93 m at 2 kn: under 100 m, two reports of a slow vessel may be
        (2.0, 120.0, 1),  # 123 m: it would have sent a new position
        (0.0, 120.0, 2),  # at rest: a repeat is a report
        (None, 120.0, 2),  # no speed: nothing says it moved
    ],
)
def test_late_copy_of_a_moving_vessel_is_a_duplicate(tmp_path, sog, delay_s, kept):
    store = Store(tmp_path / "s")
    moving = {**BASE, "sog": sog}
    frame = positions([{**moving, "ts": ts(delay_s), "source": "rx-late"},
                       {**moving, "ts": ts(0), "source": "rx-first"}])
    report = ingest(store, "a", positions=frame)
    stored = store.positions().collect().sort("ts")
    assert stored.height == kept
    assert stored["source"][0] == "rx-first"  # the earliest copy is kept
    assert report.duplicates["positions"] == 2 - kept


@pytest.mark.parametrize("pace_s", [10, 60, 300])
def test_a_frozen_position_reported_at_a_steady_pace_keeps_its_reports(tmp_path, pace_s):
    # a GNSS fix frozen while the transponder reports 5 kn: one position at its pace for two
    # hours, each report with its UTC second. The reports of one second value (a minute
    # apart, or 5) are identical: as late copies chained they would keep one report per
    # second value, two hours of silence after the first minute (a false gap); only the
    # second report of each second value goes
    moving = {**BASE, "sog": 5.0}
    n = 7200 // pace_s
    frame = positions([{**moving, "ts": ts(k * pace_s), "second": ts(k * pace_s).second,
                        "source": "rx"} for k in range(n)])
    ingest(store := Store(tmp_path / "s"), "a", positions=frame)
    kept = report_ts(store)
    assert len(kept) == n - min(n, 60 // pace_s if pace_s < 60 else 1)
    assert kept[-1] == (n - 1) * pace_s


def test_late_copy_is_dropped_against_the_store_whichever_comes_first(tmp_path):
    moving = {**BASE, "sog": 12.0}
    late = positions([{**moving, "ts": ts(100), "source": "rx-late"}])
    first = positions([{**moving, "ts": ts(0), "source": "rx-first"}])
    store = Store(tmp_path / "s")
    ingest(store, "late", positions=late)
    report = ingest(store, "first", positions=first)  # the earlier copy replaces the later
    assert store.positions().collect()["source"].to_list() == ["rx-first"]
    assert report.rows_added["positions"] == 0  # net: it replaced the stored copy
    again = Store(tmp_path / "t")
    ingest(again, "first", positions=first)
    report = ingest(again, "late", positions=late)
    assert again.positions().collect()["source"].to_list() == ["rx-first"]
    assert report.duplicates["positions"] == 1


def test_late_copies_are_configurable(tmp_path):
    moving = {**BASE, "sog": 10.5}
    rows = positions([{**moving, "ts": ts(0)}, {**moving, "ts": ts(120)}])
    off = Store(tmp_path / "off", late_copies=LateCopies(window=timedelta(0)))
    ingest(off, "a", positions=rows)
    assert off.positions().collect().height == 2
    far = Store(tmp_path / "far", late_copies=LateCopies(moved_m=1000.0))  # 648 m: kept
    ingest(far, "a", positions=rows)
    assert far.positions().collect().height == 2
    with pytest.raises(ValueError, match="moved_m"):
        Store(tmp_path / "bad", late_copies=LateCopies(moved_m=-1.0))


def test_vessels_identical_within_a_day_keep_the_earliest(tmp_path):
    store = Store(tmp_path / "s")
    ident = {"mmsi": 735057000, "name": "DON LUCHO", "callsign": "HC1234", "msg_type": 5}
    rows = [
        {**ident, "ts": ts(3600 * 5), "source": "b"},
        {**ident, "ts": ts(3600 * 1), "source": "a"},
        {**ident, "ts": ts(3600 * 23), "source": "c"},  # hours apart, same day: duplicate
        {**ident, "destination": "MANTA", "ts": ts(3600 * 6)},  # new content: kept
        {**ident, "ts": ts(3600 * 25), "source": "d"},  # next UTC day: kept
    ]
    report = ingest(store, "a", vessels=table("vessels", rows))
    kept = store.vessels().collect().sort("ts")
    assert kept["source"].to_list() == ["a", None, "d"]
    assert report.duplicates["vessels"] == 2


def test_stations_and_other_messages_rules(tmp_path):
    store = Store(tmp_path / "s")
    station = {"mmsi": 7350001, "msg_type": 4, "lat": -0.94, "lon": -80.73}
    stations = table(
        "stations",
        [
            {**station, "ts": ts(0), "station_time": ts(0)},
            {**station, "ts": ts(1), "station_time": ts(0)},  # copy
            {**station, "ts": ts(10), "station_time": ts(10)},  # new report
            {**station, "ts": ts(11), "msg_type": 21, "name": "BUOY", "aid_type": 9},
        ],
    )
    other = table(
        "other_messages",
        [
            {"mmsi": 1, "ts": ts(0), "msg_type": 8, "payload": "abc", "source": "x"},
            {"mmsi": 1, "ts": ts(29), "msg_type": 8, "payload": "abc", "source": "y"},
            {"mmsi": 1, "ts": ts(100), "msg_type": 8, "payload": "abc"},
            {"mmsi": 1, "ts": ts(100), "msg_type": 8, "payload": "abd"},
        ],
    )
    report = ingest(store, "a", stations=stations, other_messages=other)
    assert store.stations().collect().height == 3
    assert store.other_messages().collect().height == 3
    assert report.duplicates == {"positions": 0, "vessels": 0, "stations": 1, "other_messages": 1}


def test_merge_sql_quotes_paths():
    sql = merge_sql(RULES["positions"], [["/tmp/it's.parquet"]], ts(0) - ts(0))
    assert "'/tmp/it''s.parquet'" in sql
    assert "'/tmp/it''s.parquet'" in rows_per_mmsi_sql(["/tmp/it's.parquet"])
    with pytest.raises(ValueError):
        merge_sql(RULES["positions"], [[], []], timedelta(0))
    with pytest.raises(ValueError):
        rows_per_mmsi_sql([])


@pytest.mark.parametrize("seed", range(5))
def test_mmsi_ranges_cover_the_day_in_order_within_the_limit(seed):
    import numpy as np

    from seawatch.store.dedup import split_mmsi

    rng = np.random.default_rng(seed)
    mmsi = np.unique(rng.integers(200_000_000, 775_999_999, 300))
    rows = rng.integers(1, 50, mmsi.size)
    rows[rng.integers(0, mmsi.size, 3)] = 400  # vessels with more rows than a range holds
    ranges = split_mmsi(mmsi, rows, 100)
    assert ranges[0].lo is None and ranges[-1].hi is None
    assert all(a.hi == b.lo for a, b in itertools.pairwise(ranges))  # consecutive, no gap
    for r in ranges:
        inside = (mmsi >= (r.lo or 0)) & (mmsi < (r.hi or 10**10))
        assert inside.any()
        assert rows[inside].sum() <= 100 or inside.sum() == 1
    # greedy: a range and the first MMSI of the next would not fit together
    for a, b in itertools.pairwise(ranges):
        inside = (mmsi >= (a.lo or 0)) & (mmsi < a.hi)
        assert rows[inside].sum() + rows[mmsi == b.lo].sum() > 100



def test_rows_of_one_vessel_at_one_time_are_stored_in_one_order(tmp_path):
    # different reports of one vessel stamped with the same time (three receivers, garbled
    # copies): the store holds them in one order whatever order they came in, so segments
    # and events made from it do not change from one ingest to the next (sorted by vessel
    # and time only, the ties followed the input's order and DuckDB's threads)
    n_vessels, n_times = 50, 2000
    grid = pl.DataFrame({
        "mmsi": np.repeat(np.arange(n_vessels) + 735_000_000, n_times * 3),
        "t": np.tile(np.repeat(np.arange(n_times), 3), n_vessels),
        "k": np.tile([0, 1, 2], n_vessels * n_times),
    })
    frame = schema.conform(grid.select(
        "mmsi",
        (pl.lit(ts(0)) + pl.duration(seconds=pl.col("t") * 10)).alias("ts"),
        (-1.0 + pl.col("k") * 0.001).alias("lat"),
        pl.lit(-80.7).alias("lon"),
        pl.lit(0.0).alias("sog"),
        pl.lit(1).alias("msg_type"),
        pl.format("rx-{}", pl.col("k")).alias("source"),
        (pl.col("t") % 60).alias("second"),
    ), schema.POSITIONS)
    stored = []
    for seed in (1, 2):
        store = Store(tmp_path / f"s{seed}")
        ingest(store, "a", positions=frame.sample(fraction=1.0, shuffle=True, seed=seed))
        stored.append(store.positions().collect().select("mmsi", "ts", "lat", "source"))
    assert stored[0].height == frame.height
    assert stored[0].equals(stored[1])
    first = stored[0].head(3)
    assert first["source"].to_list() == ["rx-0", "rx-1", "rx-2"]  # ties by lat (then lon...)
