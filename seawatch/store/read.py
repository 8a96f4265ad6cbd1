"""Reading the live tables: time bounds, file pruning, and filters pushed into the Parquet scan.

A read lists the live files of a table from the snapshot, drops those whose time range (kept
in the snapshot) lies outside the window, and scans the rest lazily with the filters as
predicates, so Polars prunes row groups by their statistics and reads only what matches.

Examples
--------
>>> frame = pl.DataFrame({"mmsi": [1, 2], "ts": [datetime(2024, 3, 1, tzinfo=UTC)] * 2,
...                       "lat": [0.0, 10.0], "lon": [0.0, 0.0]})
>>> frame.filter(*row_filters(mmsi=[1, 2], bbox=(-1, -1, 1, 1)))["mmsi"].to_list()
[1]
>>> as_utc("2024-03-01T12:00:00+02:00").isoformat()
'2024-03-01T10:00:00+00:00'
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from seawatch import schema
from seawatch.errors import InvalidValue
from seawatch.store import layout
from seawatch.store.layout import DataFile
from seawatch.units import BBox, parse_time

TimeLike = datetime | date | str
"""A time bound: an aware or naive (taken as UTC) datetime, a date (its UTC midnight) or
ISO 8601 text."""


def as_utc(value: TimeLike, name: str = "time") -> datetime:
    """A time bound as an aware UTC datetime (see :data:`TimeLike`).

    Raises
    ------
    seawatch.errors.InvalidValue
        Text that is not ISO 8601 (``name`` says which bound).
    TypeError
        Neither a datetime, a date nor text.

    Examples
    --------
    >>> as_utc(date(2024, 3, 1)).isoformat(), as_utc(datetime(2024, 3, 1, 6)).isoformat()
    ('2024-03-01T00:00:00+00:00', '2024-03-01T06:00:00+00:00')
    """
    if isinstance(value, str | datetime):
        return parse_time(value, name)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise TypeError(f"expected a datetime, date or ISO 8601 text, got {type(value).__name__}")


def bounds(
    start: TimeLike | None, end: TimeLike | None
) -> tuple[datetime | None, datetime | None]:
    """The bounds ``[start, end)`` of a read as aware UTC datetimes (None: unbounded).

    >>> bounds("2024-03-01", None)
    (datetime.datetime(2024, 3, 1, 0, 0, tzinfo=datetime.timezone.utc), None)
    """
    lo = as_utc(start, "start") if start is not None else None
    hi = as_utc(end, "end") if end is not None else None
    return lo, hi


def bbox_filter(bbox: BBox) -> pl.Expr:
    """Rows whose ``lat``/``lon`` lie in the box, edges included (``min_lon > max_lon``: a box
    across the antimeridian).

    Raises
    ------
    seawatch.errors.InvalidValue
        ``min_lat > max_lat``.

    Examples
    --------
    >>> frame = pl.DataFrame({"lat": [0.0, 0.0], "lon": [179.5, 0.0]})
    >>> frame.filter(bbox_filter((179.0, -1.0, -179.0, 1.0)))["lon"].to_list()
    [179.5]
    """
    min_lon, min_lat, max_lon, max_lat = (float(v) for v in bbox)
    if min_lat > max_lat:
        raise InvalidValue(f"bbox {bbox}: min_lat {min_lat} > max_lat {max_lat}")
    lat = pl.col("lat").is_between(min_lat, max_lat)
    if min_lon <= max_lon:
        lon = pl.col("lon").is_between(min_lon, max_lon)
    else:  # across the antimeridian
        lon = (pl.col("lon") >= min_lon) | (pl.col("lon") <= max_lon)
    return lat & lon


def row_filters(
    mmsi: int | Iterable[int] | None = None,
    lo: datetime | None = None,
    hi: datetime | None = None,
    bbox: BBox | None = None,
) -> list[pl.Expr]:
    """The predicates of a table read: one MMSI or several, ``lo <= ts < hi``, a box."""
    predicates: list[pl.Expr] = []
    if mmsi is not None:
        if isinstance(mmsi, int):
            predicates.append(pl.col("mmsi") == mmsi)
        else:
            wanted = [int(m) for m in mmsi]
            predicates.append(pl.col("mmsi").is_in(wanted))
    if lo is not None:
        predicates.append(pl.col("ts") >= pl.lit(lo, dtype=schema.TS))
    if hi is not None:
        predicates.append(pl.col("ts") < pl.lit(hi, dtype=schema.TS))
    if bbox is not None:
        predicates.append(bbox_filter(bbox))
    return predicates


def prune(
    files: list[DataFile], lo: datetime | None = None, hi: datetime | None = None
) -> list[DataFile]:
    """The files that may hold rows with ``lo <= ts < hi`` (from their time ranges in the
    snapshot), in the given order."""
    if lo is not None:
        files = [f for f in files if f.ts_max is None or layout.parse_ts(f.ts_max) >= lo]
    if hi is not None:
        files = [f for f in files if f.ts_min is None or layout.parse_ts(f.ts_min) < hi]
    return files


def scan(
    root: Path, table: str, files: list[DataFile], predicates: list[pl.Expr] | None = None
) -> pl.LazyFrame:
    """A lazy scan of ``files`` of ``table`` (paths relative to the store ``root``), filtered
    by ``predicates``, with the columns and types of ``schema.TABLES[table]`` (empty with those
    columns when there are no files)."""
    columns = schema.TABLES[table]
    if not files:
        return schema.empty(columns).lazy()
    frame = pl.scan_parquet(
        [str(root / f.path) for f in files], hive_partitioning=False, glob=False
    )
    if predicates:
        frame = frame.filter(*predicates)
    return frame.select([pl.col(c).cast(t) for c, t in columns.items()])
