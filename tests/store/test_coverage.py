"""The coverage table the store records at ingest (seawatch.store.coverage)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import polars as pl

from seawatch.store import Store, layout
from seawatch.store.coverage import coverage, outages, read_coverage
from tests.store.store_synth import T0, chunks, positions, random_input, ts

KEY = ["ts", "source", "cell_lat", "cell_lon"]


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(KEY)


def test_ingest_records_the_coverage_of_the_deduplicated_positions(tmp_path):
    store = Store(tmp_path / "s")
    first = random_input(6_000, seed=1, hours=36)
    store.ingest_results(chunks(first, 2_000), name="a", sha256="a" * 64, size=0)
    days = {f.day for f in store.snapshot().table_files(layout.COVERAGE)}
    assert days == {f.day for f in store.snapshot().table_files("positions")} and len(days) == 2
    stored = store.positions().collect()
    assert stored.height < first.height  # the receiver copies were merged away
    assert _sorted(store.coverage()).equals(_sorted(coverage(stored)))
    # a second input over the same days: each day's coverage is rewritten, never added to
    second = random_input(4_000, seed=2, start=T0 + timedelta(hours=20), hours=30)
    store.ingest_results(chunks(second, 2_000), name="b", sha256="b" * 64, size=0)
    stored = store.positions().collect()
    cov = store.coverage()
    assert _sorted(cov).equals(_sorted(coverage(stored)))
    assert cov["positions"].sum() == stored.height
    per_day = store.snapshot().table_files(layout.COVERAGE)
    assert len(per_day) == len({f.day for f in per_day}) == 3
    # a window of hours
    part = store.coverage(T0 + timedelta(hours=6), T0 + timedelta(hours=9))
    assert part["ts"].unique().sort().to_list() == [T0 + timedelta(hours=h) for h in (6, 7, 8)]


def test_a_store_without_coverage_files_computes_it_from_its_positions(tmp_path):
    """A store ingested before coverage was recorded lists no coverage files."""
    store = Store(tmp_path / "s")
    store.ingest_results(
        chunks(random_input(3_000, seed=3), 1_000), name="a", sha256="c" * 64, size=0
    )
    snap = store.snapshot()
    older = dataclasses.replace(
        snap, files={k: v for k, v in snap.files.items() if k != layout.COVERAGE}
    )
    assert _sorted(read_coverage(store.path, older)).equals(_sorted(store.coverage()))


def test_interval_counts_the_feed_not_the_vessel_count():
    """A station hearing vessels every 10 s and a daily export with one row per vessel."""
    live = [
        {"mmsi": 1 + k % 3, "ts": ts(10 * k), "lat": -1.5, "lon": -80.5, "source": "rx"}
        for k in range(90)
    ]
    daily = [
        {"mmsi": 100 + k, "ts": ts(3_600 * k), "lat": -1.5, "lon": -80.5, "source": "csv"}
        for k in range(24)
    ]
    cov = coverage(positions(live + daily))
    interval = dict(cov.group_by("source").agg(pl.col("interval_s").first()).iter_rows())
    assert interval["rx"] == 30.0  # each vessel every third report
    assert interval["csv"] == 23 * 3_600.0  # heard once each: the feed's span of the day


def test_outages_of_a_feed_and_of_the_store():
    rows = [
        {"mmsi": 1, "ts": ts(3_600 * h), "lat": 0.5, "lon": 0.5, "source": "rx"}
        for h in (*range(0, 4), *range(14, 20))
    ]  # rx down from 04:00 to 14:00
    rows += [
        {"mmsi": 2, "ts": ts(3_600 * h), "lat": 0.5, "lon": 0.5, "source": "sat"}
        for h in (*range(0, 20), *range(40, 42))
    ]  # nothing at all from 20:00 to 40:00
    found = outages(coverage(positions(rows)))
    assert found.select("kind", "source", "hours").rows() == [
        ("feed", "rx", 10),
        ("store", None, 20),
    ]
    assert found["start"][0] == ts(3 * 3_600) and found["end"][0] == ts(14 * 3_600)
    assert outages(coverage(positions(rows)), min_hours=11).height == 1


def test_every_feed_silent_at_once_is_one_outage_of_the_store():
    """Each station stops a few seconds apart: the hours they miss are the store's hole,
    listed once (not once more per station)."""
    rows = [
        {"mmsi": 1 + k, "ts": ts(3_600 * h + 50 * k), "lat": 0.5, "lon": 0.5, "source": f"rx{k}"}
        for k in range(3)
        for h in (*range(0, 10), *range(24, 30))
    ]
    found = outages(coverage(positions(rows)))
    assert found.select("kind", "source", "hours").rows() == [("store", None, 14)]


def test_feeds_that_stop_an_hour_apart_share_the_store_outage():
    """One station stops at 09:10 and another at 10:20: the first misses 10:00 too, which is
    not an outage of its own (shorter than min_hours); a feed down a day longer is."""
    rows = [
        {"mmsi": 1, "ts": ts(3_600 * h + 600), "lat": 0.5, "lon": 0.5, "source": "rx0"}
        for h in (*range(0, 10), *range(24, 30))
    ]
    rows += [
        {"mmsi": 2, "ts": ts(3_600 * h + 1_200), "lat": 0.5, "lon": 0.5, "source": "rx1"}
        for h in (*range(0, 11), *range(24, 30))
    ]
    rows += [
        {"mmsi": 3, "ts": ts(3_600 * h), "lat": 0.5, "lon": 0.5, "source": "rx2"}
        for h in (*range(0, 11), *range(60, 62))
    ]
    found = outages(coverage(positions(rows)))
    assert found.select("kind", "source", "hours").rows() == [
        ("feed", "rx2", 49),  # from 10:00 to 60:00: 13 h of it are the store's, 36 its own
        ("store", None, 13),  # 11:00 to 24:00; rx0's 14 h (from 10:00) are this one
        ("store", None, 30),  # 30:00 to 60:00, rx2 still down
    ]
