"""Day tables made of parts (``seawatch.store.parts``): many commits in parts mode, each a
few minutes of a feed, hold what one batch ingest of the same rows holds, with its coverage,
through replaced rows and merges of parts; a batch ingest afterwards merges the parts."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from seawatch import schema
from seawatch.store import PartsPolicy, Store
from seawatch.store.parts import horizon, near_parts
from tests.store.store_checks import ingest, sorted_frame
from tests.store.store_synth import T0, random_positions, result, vessels_frame

HOURS = 3.0
STEP = timedelta(minutes=4)


def feed(seed: int) -> pl.DataFrame:
    """Positions as a live feed delivers them, with ``arrival`` (when each is received):
    every report heard at once by its station; 30 % heard again by a second station 0-5 s
    later or 0-3 s *earlier* (that one relayed late: it arrives 1-9 min after); 10 % of the
    moving ones heard again 1-8 min later by a slow satellite relay (a late copy)."""
    rng = np.random.default_rng(seed)
    base = random_positions(4000, seed=seed, hours=HOURS, vessels=60)
    base = base.with_columns(pl.col("ts").alias("arrival"))
    copies = base.sample(fraction=0.3, seed=seed + 1)
    shift = rng.integers(-3_000_000, 5_000_000, copies.height)
    relay = rng.integers(60_000_000, 540_000_000, copies.height)
    copies = copies.with_columns(
        (pl.col("ts") + pl.Series(shift).cast(pl.Duration("us"))).alias("ts"),
        pl.lit("rx-copy").alias("source"),
    ).with_columns(
        (pl.col("ts") + pl.Series(np.where(shift < 0, relay, 0)).cast(pl.Duration("us")))
        .alias("arrival"))
    moving = base.filter(pl.col("sog") > 2).sample(fraction=0.1, seed=seed + 2)
    late = rng.integers(60_000_000, 480_000_000, moving.height)
    moving = moving.with_columns(
        (pl.col("ts") + pl.Series(late).cast(pl.Duration("us"))).alias("ts"),
        pl.lit("sat-relay").alias("source"),
    ).with_columns(pl.col("ts").alias("arrival"))
    return pl.concat([base, copies, moving]).sort("arrival")


def steps(frame: pl.DataFrame) -> list[pl.DataFrame]:
    """The feed cut at every ``STEP`` of arrival: what each compaction takes."""
    k = ((pl.col("arrival") - pl.lit(T0)).dt.total_microseconds()
         // int(STEP / timedelta(microseconds=1)))
    out = frame.with_columns(k.alias("__k")).partition_by("__k", maintain_order=True)
    return [p.drop("__k", "arrival") for p in out]


def identities(seed: int) -> list[pl.DataFrame]:
    frame = vessels_frame(300, seed=seed, hours=HOURS).sort("ts")
    return [frame.slice(i, 60) for i in range(0, frame.height, 60)]


def batch_store(path, chunks: list[pl.DataFrame], vessels: list[pl.DataFrame]) -> Store:
    store = Store(path)
    rows = pl.concat(chunks)
    ingest(store, "all", [result(rows, vessels=pl.concat(vessels))])
    return store


def parts_store(path, chunks: list[pl.DataFrame], vessels: list[pl.DataFrame],
                policy: PartsPolicy) -> Store:
    store = Store(path)
    for i, chunk in enumerate(chunks):
        ident = vessels[i] if i < len(vessels) else None
        store.ingest_results([result(chunk, vessels=ident)], name=f"live:{i}",
                             sha256=f"{i:064x}", size=1, parts=policy)
    return store


@pytest.mark.parametrize("seed", [3, 11])
def test_commits_in_parts_hold_what_one_batch_ingest_holds(tmp_path, seed):
    chunks = steps(feed(seed))
    vessels = identities(seed)
    assert len(chunks) > 40
    batch = batch_store(tmp_path / "batch", chunks, vessels)
    live = parts_store(tmp_path / "live", chunks, vessels, PartsPolicy(max_parts=4,
                                                                         merge_rows=500))
    days = {f.day for f in live.snapshot().table_files("positions")}
    per_day = [len(live.snapshot().day_files("positions", d)) for d in days]
    assert max(per_day) <= 4 and sum(per_day) > len(days)  # parts, kept few by merges
    for read in ("positions", "vessels"):
        got = sorted_frame(getattr(live, read)().collect())
        want = sorted_frame(getattr(batch, read)().collect())
        assert got.height == want.height
        assert got.equals(want), read
    # earlier copies that came late replaced stored rows: the manifest's counts say so
    added = [e["added"]["positions"] for e in live.snapshot().inputs]
    assert sum(added) == live.positions().select(pl.len()).collect().item()
    # each day's coverage, kept from per-vessel counts, is that of its positions
    assert live.coverage().equals(batch.coverage())
    # every part is sorted as a day file is
    for f in live.snapshot().table_files("positions"):
        part = pl.read_parquet(live.path / f.path)
        assert part.equals(part.sort("mmsi", "ts", maintain_order=True))


def test_replaced_rows_leave_their_parts_and_their_coverage(tmp_path):
    t = T0 + timedelta(hours=1)
    row = {"mmsi": 735000001, "msg_type": 1, "lat": -1.0, "lon": -80.0, "sog": 10.0,
           "cog": 90.0, "heading": 90, "nav_status": 0, "second": 0, "source": "rx-a"}
    first = schema.conform(pl.from_dicts([{**row, "ts": t},
                                          {**row, "ts": t + timedelta(hours=1),
                                           "lat": -1.5}]), schema.POSITIONS)
    earlier = schema.conform(pl.from_dicts([{**row, "ts": t - timedelta(seconds=2),
                                             "source": "sat"}]), schema.POSITIONS)
    store = Store(tmp_path / "s")
    policy = PartsPolicy()
    store.ingest_results([result(first)], name="a", sha256="a" * 64, size=1, parts=policy)
    report = store.ingest_results([result(earlier)], name="b", sha256="b" * 64, size=1,
                                  parts=policy)
    assert report.rows_added["positions"] == 0  # one row in, one stored row replaced
    got = store.positions().collect().sort("ts")
    assert got["source"].to_list() == ["sat", "rx-a"]
    assert got["ts"].to_list()[0] == t - timedelta(seconds=2)
    cov = store.coverage().sort("ts")
    assert cov["source"].to_list() == ["sat", "rx-a"]
    assert cov["positions"].to_list() == [1, 1]
    assert len(store.snapshot().table_files("positions")) == 2  # the first part, rewritten


def test_a_batch_ingest_merges_the_parts_of_the_days_it_touches(tmp_path):
    chunks = steps(feed(5))
    vessels = identities(5)
    live = parts_store(tmp_path / "live", chunks[:-1], vessels, PartsPolicy(max_parts=8))
    assert len(live.snapshot().table_files("coverage_vessels")) >= 1
    ingest(live, "rest", [result(chunks[-1])])
    snap = live.snapshot()
    for day in {f.day for f in snap.table_files("positions")}:
        touched = day in {d.date().isoformat() for d in chunks[-1]["ts"].to_list()}
        if touched:
            assert len(snap.day_files("positions", day)) == 1
            assert not snap.day_files("coverage_vessels", day)
    batch = batch_store(tmp_path / "batch", chunks, vessels)
    assert sorted_frame(live.positions().collect()).equals(
        sorted_frame(batch.positions().collect()))
    assert live.coverage().equals(batch.coverage())


def test_the_horizon_and_the_parts_near_a_time():
    assert horizon(timedelta(seconds=30), timedelta(minutes=10)) == timedelta(seconds=1230)
    assert horizon(timedelta(seconds=30), timedelta(0)) == timedelta(seconds=90)
    from seawatch.store.layout import DataFile, format_ts

    parts = [DataFile(f"p{i}", 1, 1, "2024-03-01", format_ts(T0 + timedelta(hours=i)),
                      format_ts(T0 + timedelta(hours=i, minutes=30))) for i in range(4)]
    near = near_parts(parts, T0 + timedelta(hours=1, minutes=40),
                      T0 + timedelta(hours=2, minutes=10))
    assert [p.path for p in near] == ["p2"]
    with pytest.raises(ValueError):
        PartsPolicy(max_parts=1)
