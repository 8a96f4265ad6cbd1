"""Reception coverage: what each feed heard, per UTC hour and grid cell, and its outages.

A *feed* is where positions come from: the receiving station of a tag block (``s:``), or the
input file where a line has none (``positions.source`` holds either). The coverage table
(:data:`seawatch.schema.COVERAGE`) holds, for each feed, UTC hour and grid cell of
:data:`CELL_DEG` degrees, the positions it delivered, how many distinct vessels they came
from, the first and last of them, and the feed's usual time between two reports of one vessel
that day (``interval_s``, see :func:`coverage`). The store computes it from each day's
deduplicated positions as it merges the day (:func:`write_day`, called by the ingest commit),
so it is replaced with the day and never double counts a copy; the gap detector reads it
(a few rows per feed and hour) instead of the positions.

From the table, :func:`outages` lists the silences that every vessel shares: hours in which a
feed delivered nothing between its first and last delivery (a receiver down), and hours in
which no feed of the store delivered anything between its first and last position (the hole
between two capture files). Each is listed once, whatever the number of vessels it silenced;
none is a vessel alert. :func:`feeds` summarises each feed.

Examples
--------
>>> import polars as pl
>>> from datetime import datetime, timedelta, UTC
>>> t0 = datetime(2026, 1, 15, tzinfo=UTC)
>>> pos = pl.DataFrame({"mmsi": [1, 1, 2, 1], "source": ["st1", "st1", "st1", "st1"],
...                     "ts": [t0, t0 + timedelta(minutes=10), t0, t0 + timedelta(hours=20)],
...                     "lat": [-1.5, -1.5, -1.2, -1.5], "lon": [-80.5] * 4})
>>> cov = coverage(pos)
>>> cov.select("ts", "cell_lat", "cell_lon", "positions", "vessels").rows()[0]
(datetime.datetime(2026, 1, 15, 0, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC')), -2, -81, 3, 2)
>>> outages(cov, min_hours=12).select("kind", "source", "hours").rows()
[('store', None, 19)]
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from seawatch import schema
from seawatch.store import layout, read
from seawatch.store.commit import describe

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.store.commit import Transaction
    from seawatch.store.layout import DataFile, Snapshot

CELL_DEG = 1.0
"""Side of a coverage grid cell, degrees of latitude and longitude. One degree (111 km north to
south) is about the range of a coastal receiver (40-60 nm for a class A at sea level), so a
cell and its neighbours hold the vessels a station hears around a given one; the table of a
day of 50 M positions off Ecuador stays in the tens of thousands of rows."""

MIN_OUTAGE_H = 6
"""Default shortest outage :func:`outages` lists (whole hours): the longest a low-orbit
satellite feed may go between passes (1-5.5 h) is normal sampling, not an outage."""

UNKNOWN_FEED = ""
"""Feed name of positions without a ``source`` (a table built by hand)."""

HOUR_US = 3_600_000_000


def _cells(positions: pl.LazyFrame) -> pl.LazyFrame:
    """Positions with a place, a time and an MMSI as (feed, hour, cell, mmsi, ts), and the day."""
    source = (
        pl.col("source").cast(pl.String).fill_null(UNKNOWN_FEED)
        if "source" in positions.collect_schema().names()
        else pl.lit(UNKNOWN_FEED)
    )
    return positions.filter(
        pl.col("ts").is_not_null()
        & pl.col("lat").is_finite()  # null or NaN (a garbled CSV row): no place
        & pl.col("lon").is_finite()
        & pl.col("mmsi").is_not_null()
    ).select(
        source.alias("source"),
        pl.col("ts").dt.truncate("1h").alias("hour"),
        (pl.col("lat") / CELL_DEG).floor().clip(-32768, 32767).cast(pl.Int16).alias("cell_lat"),
        (pl.col("lon") / CELL_DEG).floor().clip(-32768, 32767).cast(pl.Int16).alias("cell_lon"),
        pl.col("mmsi"),
        pl.col("ts"),
    )


def coverage(positions: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """The coverage table of some positions (:data:`seawatch.schema.COVERAGE`).

    Parameters
    ----------
    positions
        Positions with ``mmsi``, ``ts``, ``lat``, ``lon`` and, where known, ``source``
        (absent or null: one feed named :data:`UNKNOWN_FEED`); rows without a time, a place
        (null or NaN) or an MMSI are left out. A lazy frame (a store's day file) is
        collected with the streaming engine, so a day of tens of millions of positions is
        counted in bounded memory; a table already in memory is counted in memory.

    Returns
    -------
    polars.DataFrame
        One row per feed, UTC hour and cell: ``positions``, ``vessels`` (distinct MMSIs),
        ``first_ts``/``last_ts`` and ``interval_s``, the feed's usual time between two
        reports of one vessel in that UTC day: the median, over the vessels it heard that
        day, of each one's mean interval ((last - first) / (reports - 1)); a vessel heard
        once counts the feed's span of the day (first to last delivery), so a sparse export
        of one row per vessel and day has an interval near a day, a coastal station one of
        seconds; null when the feed's day is a single instant. Sorted by ``ts``, ``source``,
        ``cell_lat``, ``cell_lon``.
    """
    return from_per_vessel(per_vessel(positions))


PER_VESSEL = {"source": pl.String(), "hour": schema.TS, "cell_lat": pl.Int16(),
              "cell_lon": pl.Int16(), "mmsi": pl.Int64(), "n": pl.Int64(), "t0": schema.TS,
              "t1": schema.TS}
"""Columns of :func:`per_vessel`, the table the coverage of a day is made from: what each
feed heard of each vessel in each hour and cell (kept beside a live day's coverage,
``coverage_vessels/``, so that a compaction adds its rows to it instead of counting the
whole day again)."""


def per_vessel(positions: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Positions (as :func:`coverage` takes them) counted per feed, hour, cell and vessel:
    :data:`PER_VESSEL` (``n`` positions, first ``t0`` and last ``t1``). Counts of disjoint
    sets of positions add up: :func:`combine`."""
    lazy = positions.lazy()
    out = (
        _cells(lazy)
        .group_by("source", "hour", "cell_lat", "cell_lon", "mmsi")
        .agg(pl.len().alias("n"), pl.col("ts").min().alias("t0"), pl.col("ts").max().alias("t1"))
        .collect(engine="streaming" if isinstance(positions, pl.LazyFrame) else "in-memory")
    )
    return schema.conform(out, PER_VESSEL)


def combine(*frames: pl.DataFrame) -> pl.DataFrame:
    """:func:`per_vessel` tables of disjoint positions as the table of their union."""
    return schema.conform(
        pl.concat([f.select(list(PER_VESSEL)) for f in frames])
        .group_by("source", "hour", "cell_lat", "cell_lon", "mmsi")
        .agg(pl.col("n").sum(), pl.col("t0").min(), pl.col("t1").max())
        .sort("hour", "source", "cell_lat", "cell_lon", "mmsi"),
        PER_VESSEL,
    )


def from_per_vessel(per_vessel: pl.DataFrame) -> pl.DataFrame:
    """The coverage table (:func:`coverage`) of positions counted by :func:`per_vessel`."""
    cells = per_vessel.group_by("source", "hour", "cell_lat", "cell_lon").agg(
        pl.col("n").sum().cast(pl.Int64).alias("positions"),
        pl.len().cast(pl.Int64).alias("vessels"),
        pl.col("t0").min().alias("first_ts"),
        pl.col("t1").max().alias("last_ts"),
    )
    day = pl.col("hour").dt.date().alias("day")
    vessels = per_vessel.group_by("source", day, "mmsi").agg(
        pl.col("n").sum(), pl.col("t0").min(), pl.col("t1").max()
    )
    span = (pl.col("t1").max() - pl.col("t0").min()).over("source", "day")
    interval = (
        vessels.with_columns(
            pl.when(pl.col("n") > 1)
            .then((pl.col("t1") - pl.col("t0")) / (pl.col("n") - 1))
            .otherwise(span)
            .dt.total_microseconds()
            .alias("us")
        )
        .group_by("source", "day")
        .agg((pl.col("us").median() / 1e6).alias("interval_s"))
        .with_columns(
            pl.when(pl.col("interval_s") > 0).then(pl.col("interval_s")).alias("interval_s")
        )
    )
    out = (
        cells.with_columns(day)
        .join(interval, on=["source", "day"], how="left")
        .rename({"hour": "ts"})
        .sort("ts", "source", "cell_lat", "cell_lon")
    )
    return schema.conform(out, schema.COVERAGE)


def write_day(positions_file: Path, target: Path) -> int:
    """Write the coverage of one day's positions file to ``target`` (Parquet); its rows.

    Reads only the columns it needs (``mmsi``, ``ts``, ``lat``, ``lon``, ``source``) with the
    streaming engine. The ingest commit calls it for each positions day it merged.
    """
    scan = pl.scan_parquet(positions_file, hive_partitioning=False, glob=False).select(
        "mmsi", "ts", "lat", "lon", "source"
    )
    frame = coverage(scan)
    frame.write_parquet(target, compression="zstd", statistics=True)
    return frame.height


def add_day(
    tx: Transaction,
    base: Snapshot,
    files: dict[str, list[DataFile]],
    superseded: list[str],
    day: str,
    positions_file: Path,
) -> tuple[Path, Path]:
    """Write the coverage of a positions day file the commit ``tx`` merged, in place of the
    day's previous coverage: ``files`` and ``superseded`` are updated; returns the new
    file's folders, day and table (to fsync)."""
    rel, target = tx.new_file(layout.COVERAGE, day)
    rows = write_day(positions_file, target)
    layout.fsync_file(target)
    files[layout.COVERAGE] = [
        *(f for f in files.get(layout.COVERAGE, []) if f.day != day),
        describe(tx.root, rel, rows, day),
    ]
    superseded.extend(f.path for f in base.day_files(layout.COVERAGE, day))
    # the per-vessel counts of a live day no longer count this day's file: dropped
    files[layout.COVERAGE_VESSELS] = [
        f for f in files.get(layout.COVERAGE_VESSELS, []) if f.day != day]
    superseded.extend(f.path for f in base.day_files(layout.COVERAGE_VESSELS, day))
    return target.parent, target.parent.parent


def update_day(
    tx: Transaction,
    base: Snapshot,
    files: dict[str, list[DataFile]],
    superseded: list[str],
    day: str,
    new_rows: pl.DataFrame | None,
    recount: Sequence[int] = (),
) -> list[Path]:
    """The coverage of a positions day a commit in parts mode (:mod:`seawatch.store.parts`)
    added ``new_rows`` to (``mmsi``, ``ts``, ``lat``, ``lon``, ``source``; None: none), in
    place of the day's previous coverage: ``files`` (already listing the day's new parts)
    and ``superseded`` are updated; returns the folders written (to fsync).

    The day's per-vessel counts (:func:`per_vessel`, table ``coverage_vessels``) take the
    new rows' counts (:func:`combine`); the vessels in ``recount`` (whose stored rows the
    commit replaced) are counted again from the day's parts. A day without per-vessel counts
    (its first commit in parts mode) is counted from its parts, once. The coverage is then
    made from the counts: the same table as counting the day's positions at once.
    """
    root = tx.root
    old = base.day_files(layout.COVERAGE_VESSELS, day)
    parts = [str(root / f.path) for f in files["positions"] if f.day == day]

    def scan() -> pl.LazyFrame:
        return pl.scan_parquet(parts, hive_partitioning=False, glob=False).select(
            "mmsi", "ts", "lat", "lon", "source")

    if not old:
        counts = per_vessel(scan()) if parts else schema.empty(PER_VESSEL)
    else:
        counts = pl.read_parquet(root / old[0].path)
        fresh = []
        if recount:
            again = pl.Series("mmsi", list(recount), dtype=pl.Int64())
            counts = counts.filter(~pl.col("mmsi").is_in(again.implode()))
            if parts:
                fresh.append(per_vessel(scan().filter(pl.col("mmsi").is_in(again.implode()))))
            if new_rows is not None:
                new_rows = new_rows.filter(~pl.col("mmsi").is_in(again.implode()))
        if new_rows is not None and new_rows.height:
            fresh.append(per_vessel(new_rows))
        counts = combine(counts, *fresh)
    written: list[Path] = []
    rel, target = tx.new_file(layout.COVERAGE_VESSELS, day)
    counts.write_parquet(target, compression="zstd", statistics=True)
    layout.fsync_file(target)
    files[layout.COVERAGE_VESSELS] = [
        *(f for f in files.get(layout.COVERAGE_VESSELS, []) if f.day != day),
        layout.DataFile(path=rel, rows=counts.height, bytes=target.stat().st_size, day=day),
    ]
    superseded.extend(f.path for f in old)
    written += [target.parent, target.parent.parent]
    rel, target = tx.new_file(layout.COVERAGE, day)
    frame = from_per_vessel(counts)
    frame.write_parquet(target, compression="zstd", statistics=True)
    layout.fsync_file(target)
    files[layout.COVERAGE] = [
        *(f for f in files.get(layout.COVERAGE, []) if f.day != day),
        describe(root, rel, frame.height, day),
    ]
    superseded.extend(f.path for f in base.day_files(layout.COVERAGE, day))
    written += [target.parent, target.parent.parent]
    return written


def read_coverage(
    root: Path, snapshot: Snapshot, lo: datetime | None = None, hi: datetime | None = None
) -> pl.DataFrame:
    """The coverage of a store's snapshot for hours in ``[lo, hi)`` (None: unbounded).

    Days of positions without a coverage file (ingested before the store recorded coverage)
    are computed from their positions, so an older store gives the same table.
    """
    listed = read.prune(snapshot.table_files(layout.COVERAGE), lo, hi)
    frames = [read.scan(root, layout.COVERAGE, listed, read.row_filters(None, lo, hi))]
    covered = {f.day for f in snapshot.table_files(layout.COVERAGE)}
    missing: Sequence[DataFile] = [
        f for f in read.prune(snapshot.table_files("positions"), lo, hi) if f.day not in covered
    ]
    if missing:
        scan = read.scan(root, "positions", list(missing), read.row_filters(None, lo, hi))
        frames.append(coverage(scan).lazy())
    return pl.concat(frames).collect().sort("ts", "source", "cell_lat", "cell_lon")


def feeds(cov: pl.DataFrame) -> pl.DataFrame:
    """One row per feed of a coverage table: what it delivered and when.

    Returns
    -------
    polars.DataFrame
        ``source``, ``first_ts``, ``last_ts``, ``hours`` (UTC hours with data),
        ``positions``, ``vessels_per_hour`` (median, over its hours, of the vessels it heard
        in the hour, summed over cells) and ``interval_s`` (median of its daily usual
        intervals), sorted by ``source``.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> row = {"ts": datetime(2026, 1, 15, tzinfo=UTC), "source": "st1", "cell_lat": -2,
    ...        "cell_lon": -81, "positions": 10, "vessels": 2, "interval_s": 60.0}
    >>> cov = schema.conform(pl.DataFrame([row]), schema.COVERAGE)
    >>> feeds(cov).select("source", "hours", "positions", "vessels_per_hour").rows()
    [('st1', 1, 10, 2.0)]
    """
    hourly = cov.group_by("source", "ts").agg(
        pl.col("positions").sum(),
        pl.col("vessels").sum(),
        pl.col("first_ts").min(),
        pl.col("last_ts").max(),
        pl.col("interval_s").first(),
    )
    return (
        hourly.group_by("source")
        .agg(
            pl.col("first_ts").min(),
            pl.col("last_ts").max(),
            pl.len().cast(pl.Int64).alias("hours"),
            pl.col("positions").sum().cast(pl.Int64),
            pl.col("vessels").median().cast(pl.Float64).alias("vessels_per_hour"),
            pl.col("interval_s").median(),
        )
        .sort("source")
    )


OUTAGES: dict[str, pl.DataType] = {
    "kind": pl.String(),
    "source": pl.String(),
    "start": schema.TS,
    "end": schema.TS,
    "hours": pl.Int64(),
}
"""Columns of :func:`outages`."""


def outages(cov: pl.DataFrame, min_hours: int = MIN_OUTAGE_H) -> pl.DataFrame:
    """The coverage outages of a coverage table: silences every vessel shares, once each.

    Parameters
    ----------
    cov
        A coverage table (:data:`seawatch.schema.COVERAGE`), e.g. ``Store.coverage()``.
    min_hours
        Shortest outage listed, in whole UTC hours without data.

    Returns
    -------
    polars.DataFrame
        ``kind``, ``source``, ``start``, ``end``, ``hours``: one row per outage, sorted by
        ``start`` then ``source``. ``kind`` is ``"feed"`` for a feed that delivered nothing
        between two deliveries (``source`` names it; ``start`` is its last position before
        the silence, ``end`` its first after) and ``"store"`` for hours in which no feed
        delivered anything (the hole between two capture files; ``source`` is null).
        ``hours`` counts the whole UTC hours without data. A feed's silence that is a hole of
        the store but for fewer than ``min_hours`` hours (stations stop minutes apart) is
        that hole, listed once.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> rows = [{"ts": datetime(2026, 1, d, tzinfo=UTC), "source": source,
    ...          "cell_lat": 0, "cell_lon": 0, "positions": 1, "vessels": 1,
    ...          "first_ts": datetime(2026, 1, d, tzinfo=UTC),
    ...          "last_ts": datetime(2026, 1, d, tzinfo=UTC)}
    ...         for source, d in (("a.nmea", 1), ("b.nmea", 3), ("a.nmea", 5))]
    >>> cov = schema.conform(pl.DataFrame(rows), schema.COVERAGE)
    >>> outages(cov).select("kind", "source", "hours").rows()
    [('feed', 'a.nmea', 95), ('store', None, 47), ('store', None, 47)]
    """
    if min_hours < 1:
        raise ValueError(f"min_hours must be at least 1, got {min_hours}")
    per_feed = cov.group_by("source", "ts").agg(pl.col("first_ts").min(), pl.col("last_ts").max())
    whole = per_feed.group_by("ts").agg(pl.col("first_ts").min(), pl.col("last_ts").max())
    feed_holes = _holes(per_feed, ["source"], min_hours).with_columns(pl.lit("feed").alias("kind"))
    store_holes = _holes(
        whole.with_columns(pl.lit(None, pl.String).alias("source")), [], min_hours
    ).with_columns(pl.lit("store").alias("kind"))
    if store_holes.height and feed_holes.height:  # a feed's silence inside a store's hole
        first = pl.col("resumed") - pl.duration(hours=pl.col("hours"))
        shared = (  # hours of the feed's silence that are the store's hole
            pl.min_horizontal("resumed", "s1") - pl.max_horizontal("f0", "s0")
        ).dt.total_hours()
        inside = (
            feed_holes.with_row_index("__i")
            .with_columns(first.alias("f0"))
            .join(
                store_holes.select(first.alias("s0"), pl.col("resumed").alias("s1")),
                how="cross",
            )
            .filter((shared > 0) & (pl.col("hours") - shared < min_hours))
        )
        feed_holes = (
            feed_holes.with_row_index("__i")
            .filter(~pl.col("__i").is_in(inside["__i"].implode()))
            .drop("__i")
        )
    out = pl.concat([feed_holes, store_holes], how="diagonal_relaxed").drop("resumed")
    if not out.height:
        return schema.empty(OUTAGES)
    return schema.conform(out, OUTAGES).sort("start", "source", nulls_last=True)


def _holes(hourly: pl.DataFrame, by: list[str], min_hours: int) -> pl.DataFrame:
    """Runs of at least ``min_hours`` hours missing between two hours of ``hourly`` (per
    ``by``): from the last delivery before to the first after."""
    frame = hourly.sort([*by, "ts"]) if by else hourly.sort("ts")
    missing = (pl.col("ts") - pl.col("ts").shift(1)).dt.total_microseconds() // HOUR_US - 1
    prev_last = pl.col("last_ts").shift(1)
    if by:
        missing = missing.over(by)
        prev_last = prev_last.over(by)
    holes = frame.with_columns(missing.alias("hours"), prev_last.alias("start")).filter(
        pl.col("hours") >= min_hours
    )
    return holes.select(
        "source",
        "start",
        pl.col("first_ts").alias("end"),
        pl.col("hours").cast(pl.Int64),
        pl.col("ts").alias("resumed"),  # the hour data came back: the hole is the hours
        # [resumed - hours, resumed)
    )
