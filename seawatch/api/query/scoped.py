"""Positions of a :class:`~seawatch.api.scope.PositionScope` (what another agency's grants
release): paged, counted, summarised and reduced to each vessel's latest position, without
holding every released position at once.

Two ways to one answer (the same rows, order and totals as filtering every position):

- **the query index** (:mod:`seawatch.store.posindex`), when it is built for every day file
  a query reads and the query names no vessel: each (hour, cell) group is classified
  against the query's box and window and against each part of the scope (a grant's
  window, box or polygon) as wholly in, wholly out or to be tested row by row
  (:class:`~seawatch.store.posindex.Part`), so counts and pages read only the edge rows
  and the page;
- **the store's Parquet files**, otherwise: one row group at a time (for a query naming
  vessels, the vessels' rows of one day file, found through the files' statistics), the
  query's filters and :meth:`~seawatch.api.scope.PositionScope.prefilter` pushed into the
  scan, and :meth:`~seawatch.api.scope.PositionScope.mask` deciding each row.

Memory per request: a page holds its rows (and, through the index, the positions of one
day file's edge rows); a count holds no row; summaries and the per-vessel reduction read
pieces of at most :data:`CHUNK_ROWS` rows and keep running aggregates (one row per day or
vessel). :func:`scoped_frame` returns every matching row: for queries whose size the caller
bounds (one vessel's window, an export after its count).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from seawatch import schema
from seawatch.api.query.vessels import CLASS_A_MSG_TYPES as CLASS_A
from seawatch.api.query.vessels import CLASS_B_MSG_TYPES as CLASS_B
from seawatch.api.query.vessels import class_expr
from seawatch.store import bbox_filter
from seawatch.store.posindex import FileIndex, Query, Selection, ranges, select_page, to_us
from seawatch.store.read import row_filters, scan
from seawatch.units import BBox

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.api.query import StoreQuery
    from seawatch.api.scope import PositionScope
    from seawatch.store.layout import DataFile

CHUNK_ROWS = 262_144
"""Rows read at a time by a summary or the per-vessel reduction through the query index (a
plain scan reads one Parquet row group, 131,072 rows, at a time)."""
REDUCE_ROWS = 1_000_000
"""Partial per-vessel results are merged once they hold this many rows together."""
DAY_US = 86_400_000_000
EPOCH_DAY = date(1970, 1, 1)
VESSEL_MOTION: tuple[str, ...] = ("ts", "lat", "lon", "sog", "cog", "heading", "msg_type")
"""Columns of a vessel's latest released position kept by :func:`scoped_vessels`."""

Filters = tuple[Sequence[int] | None, datetime | None, datetime | None, BBox | None]


# --- where a query reads -------------------------------------------------------------------


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _window(scope: PositionScope, start: datetime | None,
            end: datetime | None) -> tuple[datetime | None, datetime | None] | None:
    """The query's window cut to the scope's; None when nothing can match."""
    if scope.empty:
        return None
    lo, hi = scope.bounds()
    start, end = _utc(start), _utc(end)
    lo = start if lo is None else (lo if start is None else max(lo, start))
    hi = end if hi is None else (hi if end is None else min(hi, end))
    if lo is not None and hi is not None and lo >= hi:
        return None
    return lo, hi


def _files(query: StoreQuery, window: tuple[datetime | None, datetime | None]
           ) -> list[DataFile]:
    return query.store.files("positions", *window)


def _indexes(query: StoreQuery, files: list[DataFile], mmsi: Sequence[int] | None,
             bbox: BBox | None) -> list[FileIndex] | None:
    """The query indexes of ``files``, or None when the scan answers (index off or not
    built, a query naming vessels, a box the scan refuses)."""
    if not query.use_position_index or mmsi is not None:
        return None
    if bbox is not None and bbox[1] > bbox[3]:
        return None  # pragma: no cover - refused before (bbox_filter)
    return query.position_index.get(files)


def _index_query(scope: PositionScope, start: datetime | None, end: datetime | None,
                 bbox: BBox | None) -> Query:
    box = None if bbox is None else (float(bbox[0]), float(bbox[1]), float(bbox[2]),
                                     float(bbox[3]))
    return Query(to_us(_utc(start)), to_us(_utc(end)), box, scope.parts)


@functools.lru_cache(maxsize=4096)
def row_groups(path: str) -> tuple[tuple[int, int], ...]:
    """``(first row, rows)`` of each row group of a Parquet file (cached: a store never
    rewrites a file under the same name).

    The store's day files are sorted by ``(mmsi, ts)``, so each row group spans the whole
    day and area: they are read one at a time to bound memory, not to prune."""
    import pyarrow.parquet as pq

    meta = pq.read_metadata(path)
    out = []
    first = 0
    for i in range(meta.num_row_groups):
        rows = meta.row_group(i).num_rows
        out.append((first, rows))
        first += rows
    return tuple(out)


def _lazy_pieces(query: StoreQuery, scope: PositionScope, files: list[DataFile],
                 filters: Filters) -> Iterator[pl.LazyFrame]:
    """Lazy scans of the pieces of ``files`` a query reads, in store order, filtered by
    the query and the scope's :meth:`~seawatch.api.scope.PositionScope.prefilter`."""
    mmsi, start, end, bbox = filters
    predicates = [*row_filters(mmsi, _utc(start), _utc(end), bbox), scope.prefilter()]
    root = query.store.path
    for f in files:
        base = scan(root, "positions", [f])
        if mmsi is not None:  # the files are sorted by MMSI: the scan prunes row groups
            yield base.filter(*predicates)
            continue
        for first, rows in row_groups(str(root / f.path)):
            yield base.slice(first, rows).filter(*predicates)


def _released(scope: PositionScope, frame: pl.DataFrame) -> np.ndarray:
    """Which rows of a frame (with ``ts``, ``lat``, ``lon``) the scope releases."""
    ts = frame["ts"].dt.epoch("us").to_numpy()
    lat = frame["lat"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    lon = frame["lon"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    return scope.mask(ts, lat, lon)


def _pieces(query: StoreQuery, scope: PositionScope, files: list[DataFile],
            filters: Filters, columns: Sequence[str]) -> Iterator[pl.DataFrame]:
    """The released rows of each piece (:func:`_lazy_pieces`), ``columns`` only."""
    need = list(dict.fromkeys([*columns, "ts", "lat", "lon"]))
    for lazy in _lazy_pieces(query, scope, files, filters):
        frame = lazy.select(need).collect()
        if frame.height:
            yield frame.filter(pl.Series(_released(scope, frame))).select(columns)


def _check(bbox: BBox | None) -> None:
    if bbox is not None:
        bbox_filter(bbox)  # raises InvalidValue as the plain scan does


# --- pages, counts, frames -----------------------------------------------------------------


def scoped_page(query: StoreQuery, scope: PositionScope, offset: int, limit: int | None,
                mmsi: Sequence[int] | None = None, start: datetime | None = None,
                end: datetime | None = None,
                bbox: BBox | None = None) -> tuple[pl.DataFrame, int]:
    """Released positions ``offset .. offset + limit`` (all from ``offset`` with ``limit``
    None) matching the filters, in store order, and how many match: what filtering every
    position and then paging would give.

    Parameters
    ----------
    mmsi, start, end, bbox
        As :meth:`seawatch.api.query.StoreQuery.positions` (``[start, end)``; ``bbox``
        edges included, across the antimeridian when ``min_lon > max_lon``).
    """
    _check(bbox)
    empty = schema.empty(schema.POSITIONS)
    window = _window(scope, start, end)
    if window is None:
        return empty, 0
    files = _files(query, window)
    indexes = _indexes(query, files, mmsi, bbox)
    if indexes is not None:
        q = _index_query(scope, start, end, bbox)
        kept = None
        if start is None and end is None and bbox is None:  # the scope's own rows
            kept = _selections(query, scope, indexes)
        return query.retry(lambda: select_page(indexes, q, offset, limit, kept))
    stop = None if limit is None else offset + limit

    def run() -> tuple[pl.DataFrame, int]:
        total = 0
        parts = []
        wide = list(schema.POSITIONS)
        for lazy in _lazy_pieces(query, scope, files, (mmsi, start, end, bbox)):
            need = wide if stop is None or total < stop else ["ts", "lat", "lon"]
            frame = lazy.select(need).collect()
            if frame.height == 0:
                continue
            frame = frame.filter(pl.Series(_released(scope, frame)))
            a = max(offset - total, 0)
            b = frame.height if stop is None else min(stop - total, frame.height)
            if a < b:
                parts.append(frame.slice(a, b - a))
            total += frame.height
        if not parts:
            return empty, total
        return pl.concat(parts).select(list(schema.POSITIONS)), total

    return query.retry(run)


def _selections(query: StoreQuery, scope: PositionScope,
                indexes: Sequence[FileIndex]) -> list[Selection]:
    """Every index's selection of the scope's rows (no other filter), kept per snapshot
    and scope: pages without filters, the summary and the vessels share it."""
    q = Query(None, None, None, scope.parts)
    return query.cached_scoped("selections", scope.key,
                               lambda: [ix.select(q) for ix in indexes])


def scoped_count(query: StoreQuery, scope: PositionScope, mmsi: Sequence[int] | None = None,
                 start: datetime | None = None, end: datetime | None = None,
                 bbox: BBox | None = None) -> int:
    """How many released positions match the filters (:func:`scoped_page`)."""
    return scoped_page(query, scope, 0, 0, mmsi, start, end, bbox)[1]


def scoped_frame(query: StoreQuery, scope: PositionScope, mmsi: Sequence[int] | None = None,
                 start: datetime | None = None, end: datetime | None = None,
                 bbox: BBox | None = None) -> pl.DataFrame:
    """Every released position matching the filters, in store order (for queries whose
    size the caller bounds)."""
    return scoped_page(query, scope, 0, None, mmsi, start, end, bbox)[0]


# --- reading every released row, piece by piece ----------------------------------------


def _released_rows(query: StoreQuery, scope: PositionScope, mmsi: Sequence[int] | None,
                   columns: Sequence[str]) -> Iterator[pl.DataFrame]:
    """Every released position (of the vessels ``mmsi``, when given), ``columns`` plus
    ``_order`` (a number that orders rows as the store does), in pieces of bounded size
    (in store order through the scan, in the index's order through the index)."""
    window = _window(scope, None, None)
    if window is None:
        return
    files = _files(query, window)
    indexes = _indexes(query, files, mmsi, None)
    if indexes is None:
        seen = 0
        for frame in _pieces(query, scope, files, (mmsi, None, None, None), columns):
            yield frame.with_columns(
                pl.int_range(seen, seen + frame.height, dtype=pl.Int64).alias("_order"))
            seen += frame.height
        return
    for ordinal, (ix, selection) in enumerate(zip(indexes, _selections(query, scope, indexes),
                                                  strict=True)):
        try:
            for pos in selection.chunks(CHUNK_ROWS):
                if len(pos) == 0:
                    continue
                row = np.asarray(ix.key[pos]) % ix.rows
                frame = ix.take(pos, columns)
                yield frame.with_columns(
                    pl.Series("_order", (ordinal << 40) + row, dtype=pl.Int64))
        finally:
            ix.release()  # the pieces are copies: the pages they were read from may go


# --- statistics ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ScopeSummary:
    """Figures of the released positions: their number, per UTC day, their vessels (MMSIs,
    null included when some row has none), first and last time and extent (as
    :func:`~seawatch.api.query.stats.frame_extent` gives them)."""

    positions: int
    by_day: dict[str, int]
    mmsis: frozenset[int | None]
    first: datetime | None
    last: datetime | None
    extent: BBox | None


def scoped_summary(query: StoreQuery, scope: PositionScope) -> ScopeSummary:
    """:class:`ScopeSummary` of the released positions (cached per snapshot and scope)."""
    return query.cached_scoped("summary", scope.key, lambda: _summary(query, scope))


def _summary(query: StoreQuery, scope: PositionScope) -> ScopeSummary:
    by_day: Counter[str] = Counter()
    mmsis: set[int | None] = set()
    partial: list[pl.DataFrame] = []
    total = 0
    window = _window(scope, None, None)
    if window is None:
        return ScopeSummary(0, {}, frozenset(), None, None, None)
    files = _files(query, window)
    indexes = _indexes(query, files, None, None)
    if indexes is None:
        pieces: Iterator[pl.DataFrame] = _pieces(query, scope, files,
                                                 (None, None, None, None), SUMMARY_COLUMNS)
    else:
        pieces = _index_summary_pieces(indexes, _selections(query, scope, indexes), by_day,
                                       mmsis, partial)
    for frame in pieces:
        days = frame.group_by(pl.col("ts").dt.date().cast(pl.String).alias("d")).len()
        by_day.update(dict(zip(days["d"].to_list(), days["len"].to_list(), strict=True)))
        mmsis.update(frame["mmsi"].unique().to_list())
        partial.append(_ranges(frame))
    total = sum(by_day.values())
    if not partial:
        return ScopeSummary(0, {}, frozenset(), None, None, None)
    row = _merge_ranges(partial)
    box = None if None in row[:4] else (float(row[0]), float(row[1]), float(row[2]),
                                        float(row[3]))
    return ScopeSummary(total, dict(sorted(by_day.items())), frozenset(mmsis),
                        row[4], row[5], box)


SUMMARY_COLUMNS = ("mmsi", "ts", "lat", "lon")


def _index_summary_pieces(indexes: Sequence[FileIndex], selections: Sequence[Selection],
                          by_day: Counter[str], mmsis: set[int | None],
                          partial: list[pl.DataFrame]) -> Iterator[pl.DataFrame]:
    """The summary through the query index: groups wholly released count by their size,
    UTC day and ranges, and only their MMSIs are read (each group's rows are sorted by
    MMSI, so its distinct MMSIs are where the value changes); the rows of edge groups, and
    of whole groups that span two days or hold rows without a finite position, are yielded
    as frames of :data:`SUMMARY_COLUMNS` for the caller to add up."""
    for ix, selection in zip(indexes, selections, strict=True):
        try:
            yield from _index_summary_file(ix, selection, by_day, mmsis, partial)
        finally:
            ix.release()


def _index_summary_file(ix: FileIndex, selection: Selection, by_day: Counter[str],
                        mmsis: set[int | None],
                        partial: list[pl.DataFrame]) -> Iterator[pl.DataFrame]:
    """:func:`_index_summary_pieces` of one day file."""
    groups = selection.ins_group
    if len(groups):
        day = ix.g_ts_min[groups] // DAY_US
        simple = (day == ix.g_ts_max[groups] // DAY_US) & ix.g_placed[groups]
        whole = groups[simple]
        if len(whole):
            found, where = np.unique(day[simple], return_inverse=True)
            counts = np.bincount(where, weights=ix.g_count[whole]).astype(np.int64)
            for d, n in zip(found.tolist(), counts.tolist(), strict=True):
                by_day[str(EPOCH_DAY + timedelta(days=d))] += n
            partial.append(pl.DataFrame({
                "x0": [float(ix.g_lon_min[whole].min())],
                "y0": [float(ix.g_lat_min[whole].min())],
                "x1": [float(ix.g_lon_max[whole].max())],
                "y1": [float(ix.g_lat_max[whole].max())],
                "t0": [int(ix.g_ts_min[whole].min())],
                "t1": [int(ix.g_ts_max[whole].max())],
            }).with_columns(_us_time("t0"), _us_time("t1")))
            mmsis.update(_group_mmsis(ix, whole))
        rest = groups[~simple]
        if len(rest):
            yield ix.take(ranges(ix.g_start[rest], ix.g_count[rest]), SUMMARY_COLUMNS)
    if len(selection.edge_pos) == 0:
        return
    if ix.mmsi is not None and ix.g_placed[selection.edge_group].all():
        # finite positions and MMSIs: their raw values are the table's
        yield pl.DataFrame({
            "mmsi": selection.edge_values("mmsi"),
            "ts": selection.edge_values("ts"),
            "lat": selection.edge_values("lat"),
            "lon": selection.edge_values("lon"),
        }).with_columns(_us_time("ts"))
        return
    for a in range(0, len(selection.edge_pos), CHUNK_ROWS):
        yield ix.take(selection.edge_pos[a:a + CHUNK_ROWS], SUMMARY_COLUMNS)


def _us_time(name: str) -> pl.Expr:
    """Microseconds since 1970 as the store's UTC time type."""
    return pl.col(name).cast(pl.Datetime("us")).dt.replace_time_zone("UTC").cast(
        schema.TS)


def _group_mmsis(ix: FileIndex, groups: np.ndarray) -> set[int]:
    """The distinct MMSIs of whole groups of an index, read a few groups at a time."""
    found: set[int] = set()
    counts = ix.g_count[groups]
    ends = np.cumsum(counts)
    first = 0
    while first < len(groups):
        done = int(ends[first - 1]) if first else 0
        last = max(int(np.searchsorted(ends, done + CHUNK_ROWS, side="right")), first + 1)
        starts, sizes = ix.g_start[groups[first:last]], counts[first:last]
        if ix.mmsi is None:  # some row has no MMSI: read them as the table has them
            found.update(ix.take(ranges(starts, sizes), ("mmsi",))["mmsi"].unique().to_list())
        else:
            values = ix.read_ranges("mmsi", starts, sizes)
            change = np.ones(len(values), dtype=bool)
            change[1:] = values[1:] != values[:-1]  # sorted within each group
            found.update(np.unique(values[change]).tolist())
        first = last
    return found


def _ranges(frame: pl.DataFrame) -> pl.DataFrame:
    """Min and max of lon, lat and ts of released rows (nulls skipped, NaN skipped unless
    all are NaN: as Polars skips them)."""
    return frame.select(
        pl.col("lon").min().alias("x0"), pl.col("lat").min().alias("y0"),
        pl.col("lon").max().alias("x1"), pl.col("lat").max().alias("y1"),
        pl.col("ts").min().alias("t0"), pl.col("ts").max().alias("t1"),
    )


def _merge_ranges(parts: list[pl.DataFrame]) -> tuple[Any, ...]:
    """The ranges of all rows from the ranges of pieces (:func:`_ranges`)."""
    return pl.concat(parts).select(
        pl.col("x0").min(), pl.col("y0").min(), pl.col("x1").max(), pl.col("y1").max(),
        pl.col("t0").min(), pl.col("t1").max(),
    ).row(0)


# --- vessels -------------------------------------------------------------------------------

_VESSEL_SCHEMA: dict[str, pl.DataType] = {
    "mmsi": pl.Int64(),
    **{c: schema.POSITIONS[c] for c in VESSEL_MOTION},
    "_any_a": pl.Boolean(),
    "_any_b": pl.Boolean(),
    "positions": pl.UInt32(),
    "first_ts": schema.TS,
    "last_ts": schema.TS,
}


@dataclass(frozen=True)
class ScopeVessels:
    """Per vessel with released positions: the latest released position (its
    :data:`VESSEL_MOTION` columns, null when no released row has coordinates and a time),
    whether released reports are of class A or B transponders (``_any_a``, ``_any_b``), the
    number of released positions and the first and last of their times (``positions``,
    ``first_ts``, ``last_ts``), sorted by MMSI; and per part of the scope, the MMSIs whose
    positions it releases (``members``)."""

    frame: pl.DataFrame
    members: tuple[frozenset[int], ...]


def scoped_vessels(query: StoreQuery, scope: PositionScope,
                   mmsi: Sequence[int] | None = None) -> ScopeVessels:
    """:class:`ScopeVessels` of every vessel (cached per snapshot and scope) or of the
    vessels ``mmsi`` (read through the files' MMSI statistics, not cached)."""
    if mmsi is not None:
        return query.retry(lambda: _vessels(query, scope, list(mmsi)))
    return query.cached_scoped("vessels", scope.key, lambda: _vessels(query, scope, None))


def _vessels(query: StoreQuery, scope: PositionScope,
             mmsi: Sequence[int] | None) -> ScopeVessels:
    members: list[set[int]] = [set() for _ in scope.parts]
    counts: list[pl.DataFrame] = []
    best: list[pl.DataFrame] = []
    held = 0
    columns = ("mmsi", *VESSEL_MOTION)
    for frame in _released_rows(query, scope, mmsi, columns):
        if len(scope.parts) > 1:
            ts = frame["ts"].dt.epoch("us").to_numpy()
            lat = frame["lat"].cast(pl.Float64).fill_null(np.nan).to_numpy()
            lon = frame["lon"].cast(pl.Float64).fill_null(np.nan).to_numpy()
            for found, mask in zip(members, scope.part_masks(ts, lat, lon), strict=True):
                found.update(frame["mmsi"].filter(pl.Series(mask)).unique().to_list())
        elif scope.parts:
            members[0].update(frame["mmsi"].unique().to_list())
        counts.append(frame.group_by("mmsi").agg(
            pl.len().cast(pl.UInt32).alias("positions"), pl.col("ts").min().alias("first_ts"),
            pl.col("ts").max().alias("last_ts")))
        best.append(_latest(frame.filter(
            pl.col("ts").is_not_null() & pl.col("lat").is_not_null()
            & pl.col("lon").is_not_null()).with_columns(
                pl.col("msg_type").is_in(CLASS_A).alias("_any_a"),
                pl.col("msg_type").is_in(CLASS_B).alias("_any_b"))))
        held += counts[-1].height + best[-1].height
        if held > REDUCE_ROWS:
            counts, best = [_merge_counts(counts)], [_latest(pl.concat(best))]
            held = counts[0].height + best[0].height
    if not counts:
        return ScopeVessels(schema.empty(_VESSEL_SCHEMA),
                            tuple(frozenset(m) for m in members))
    merged = _merge_counts(counts)
    latest = _latest(pl.concat(best)) if best else None
    frame = merged if latest is None else merged.join(latest, on="mmsi", how="left")
    frame = frame.with_columns(
        pl.col("_any_a").fill_null(False), pl.col("_any_b").fill_null(False))
    frame = frame.select([pl.col(c).cast(t) for c, t in _VESSEL_SCHEMA.items()]).sort("mmsi")
    return ScopeVessels(frame, tuple(frozenset(m) for m in members))


def _merge_counts(parts: list[pl.DataFrame]) -> pl.DataFrame:
    return pl.concat(parts).group_by("mmsi").agg(
        pl.col("positions").sum(), pl.col("first_ts").min(), pl.col("last_ts").max())


def _latest(frame: pl.DataFrame) -> pl.DataFrame:
    """Per MMSI the row with the latest ``ts`` (the first in store order, ``_order``, among
    equal times) and whether any row is of class A or B; ``frame`` has the motion columns,
    ``_order``, ``_any_a`` and ``_any_b`` (partial results merge the same way)."""
    flags = frame.group_by("mmsi").agg(pl.col("_any_a").any(), pl.col("_any_b").any())
    rows = (frame.drop("_any_a", "_any_b")
            .sort(["mmsi", "ts", "_order"], descending=[False, True, False])
            .group_by("mmsi", maintain_order=True).first())
    return rows.join(flags, on="mmsi", how="left")


def vessel_class(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` (:class:`ScopeVessels`' columns) with ``cls`` from its released reports."""
    return frame.with_columns(class_expr().alias("cls"))
