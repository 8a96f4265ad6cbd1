"""Query index of the positions table for box and time-window queries (built for the API).

Why: a store's day files are sorted by ``(mmsi, ts)`` (what per-vessel reads and the
detectors want), so every row group of a day spans the whole day and the whole area, and
their min/max statistics cannot prune ``GET /positions?bbox=&start=&end=``: each such query
decodes the ``ts``, ``lat`` and ``lon`` of every row of the days it touches (seconds for a day
of 25 M positions). This module keeps, beside the store, a second copy of each positions day
file ordered for those queries, and answers them with exactly the rows, order and totals of
the plain scan.

One index per live positions file, in ``<store>/api-index/positions-v1/<file uuid>/``:

- rows are grouped by **(hour of ``ts``, 0.25-degree cell of ``lat``/``lon``)** (rows with a
  null or non-finite coordinate form one extra "unplaced" cell per hour), and ordered by
  ``(group, row number in the day file)``;
- ``groups.npz``: per group its first index position, its size and the min/max of ``ts``,
  ``lat`` and ``lon`` over its rows (a few tens of thousands of groups per day: small,
  loaded in memory);
- ``key.arrow``: per row ``group * rows + row``, ascending (int64, memory-mapped): the row
  number of each indexed row, sorted within each group, so that a binary search run in
  every group at once counts the rows below a row number;
- ``col-<column>.arrow``: every column of the positions table in index order, one Arrow IPC
  file each, uncompressed and memory-mapped (``source`` dictionary-encoded);
- ``meta.json`` (the file it indexes, its rows and bytes, the grid), written last; the
  folder is written under a temporary name and renamed into place, so a reader sees a
  complete index or none.

A query classifies every group of every day it touches, with vectorised comparisons of the
group's min/max against the box and the window, as *inside* (every row matches: counted
without reading a row), *outside* (skipped) or *edge* (its rows are read and tested with the
same predicates as the plain scan). The total is the sum. The page (rows ``offset`` to
``offset + limit`` in store order: day file, then row number, i.e. MMSI and time) is found
without sorting the matches: the first ``offset + limit`` rows of each group (each group is
sorted by row number) or, when that is too many, a search for the row number below which
exactly ``offset + limit`` rows match (interpolation alternating with bisection; each step
counts the matches below it in every group at once). Only the page's rows are read from the
column files.

A query may also be limited to a union of :class:`Part` (what another agency's grants
release: windows, boxes, polygons), classified group by group the same way.

Memory: the kernel maps tens of kB of a mapped file around every page a process touches, and
those pages count in the process's resident memory for as long as they stay mapped. So the
rows of edge groups (time, position) and the keys a page is picked by are read with
``pread`` by ranges (:meth:`FileIndex.read_ranges`), and once a query is answered the pages
it touched through the maps are let go (:meth:`FileIndex.release`, ``MADV_DONTNEED``: they
stay in the kernel's page cache); a server's resident memory does not grow with the index.

Indexes are built in a background thread (``PositionIndex.start``), one day file at a time,
for stores of at least :data:`MIN_ROWS` positions; an ingest makes new day files, whose
indexes are built on the next query or warm-up (unchanged days keep theirs) and indexes of
files no longer live are deleted. Until every day a query touches is indexed, the query
runs the plain scan. The folder is a cache: deleting it is safe (it is rebuilt).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from seawatch import schema
from seawatch.store import layout
from seawatch.store.read import bbox_filter

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from seawatch.store import Store
    from seawatch.store.layout import DataFile

log = logging.getLogger("seawatch.api")  # the API server builds and reads it

INDEX_FOLDER = layout.API_INDEX
"""Folder of the API's query indexes inside the store directory (a cache; safe to delete)."""
FORMAT = "positions-v1"
"""Sub-folder and format name of this index; a new format gets a new name."""
BUCKET_US = 3_600_000_000
"""Time buckets of the grouping: one hour (microseconds)."""
CELL_DEG = 0.25
"""Side of the grid cells of the grouping, in degrees."""
N_LAT = round(180 / CELL_DEG)
N_LON = round(360 / CELL_DEG)
UNPLACED = N_LAT * N_LON
"""Cell number of rows whose ``lat`` or ``lon`` is null, NaN or infinite."""
MIN_ROWS = 1_000_000
"""Stores with fewer positions are not indexed: the plain scan answers in milliseconds."""
SIMPLE_PAGE_MAX = 100_000
"""A page is picked by gathering the first ``offset + limit`` rows of every group when that
gathers at most this many rows; beyond it, by bisection on the row number."""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
COLUMNS: dict[str, pl.DataType] = schema.POSITIONS
RANGE_COLUMNS: dict[str, type[np.generic]] = {
    "mmsi": np.int64, "ts": np.int64, "lat": np.float64, "lon": np.float64}
"""Columns read by ranges (:meth:`FileIndex.read_ranges`), with their NumPy types."""


def to_us(value: datetime | None) -> int | None:
    """A UTC datetime as integer microseconds since the epoch (None stays None).

    >>> to_us(datetime(1970, 1, 1, 0, 0, 1, 5, tzinfo=UTC))
    1000005
    """
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - EPOCH) // timedelta(microseconds=1)


def ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + c)`` for each start and count (vectorised).

    >>> ranges(np.array([5, 0, 9]), np.array([2, 0, 3])).tolist()
    [5, 6, 9, 10, 11]
    """
    counts = np.asarray(counts, dtype=np.int64)
    starts = np.asarray(starts, dtype=np.int64)
    keep = counts > 0
    starts, counts = starts[keep], counts[keep]
    total = int(counts.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    first = np.cumsum(counts) - counts
    return np.arange(total, dtype=np.int64) - np.repeat(first - starts, counts)


PART_CLASSES_KEPT = 64
"""Classifications of groups by part kept per index (:meth:`Part.classify`)."""
SHAPE_PAD_DEG = 1e-9
"""Groups are compared with a :class:`Part`'s shape through their bounding box widened by this
much (degrees), so that a box of one point or one line is a proper polygon; the comparison
stays exact (a wider box only sends more groups to the row-by-row test)."""


@dataclass(frozen=True)
class Part:
    """One piece of a union that narrows a :class:`Query` (what one grant releases, say):
    rows with ``lo <= ts < hi`` (microseconds; None: unbounded) whose coordinates lie in
    ``box`` (edges included; ``min_lon > max_lon`` crosses the antimeridian) and, with
    ``shape``, strictly inside that polygon (``shapely.contains_xy``: its boundary is
    outside). A null or non-finite coordinate is in no box and no shape (NumPy comparisons,
    unlike the Polars predicate of a query's own ``bbox``).

    >>> part = Part(None, 10, (-1.0, -1.0, 1.0, 1.0))
    >>> part.test(np.array([0, 0, 10]), np.array([0.5, np.nan, 0.5]),
    ...           np.array([0.0, 0.0, 0.0])).tolist()
    [True, False, False]
    """

    lo: int | None
    hi: int | None
    box: tuple[float, float, float, float] | None = None
    shape: Any = field(default=None, compare=False, repr=False)
    """A shapely (multi)polygon, best prepared (``shapely.prepare``)."""
    key: str | None = field(default=None, compare=False, repr=False)
    """Names what the part holds (window, box and shape), so that each index keeps its
    classification of the groups (:meth:`classify`); None: not kept."""

    def test(self, ts: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """Which rows (``ts`` in microseconds, coordinates in degrees) are in the part."""
        keep = np.ones(len(ts), dtype=bool)
        if self.lo is not None:
            keep &= ts >= self.lo
        if self.hi is not None:
            keep &= ts < self.hi
        if self.box is not None:
            keep &= in_box(self.box, lat, lon)
        if self.shape is not None and keep.any():
            import shapely

            idx = np.flatnonzero(keep)
            keep[idx] = shapely.contains_xy(self.shape, lon[idx], lat[idx])
        return keep

    def classify(self, ix: FileIndex) -> tuple[np.ndarray, np.ndarray]:
        """Groups of ``ix`` whose every row is in the part (first array) and groups with
        none in it (second), from the groups' ranges alone; the others are tested row by
        row. Kept by the index for a part with a ``key`` (read-only arrays)."""
        if self.key is None:
            return self._classify(ix)
        found = ix.part_classes.get(self.key)
        if found is None:
            found = self._classify(ix)
            for array in found:
                array.flags.writeable = False
            if len(ix.part_classes) >= PART_CLASSES_KEPT:
                ix.part_classes.clear()
            ix.part_classes[self.key] = found
        return found

    def _classify(self, ix: FileIndex) -> tuple[np.ndarray, np.ndarray]:
        t_in, t_out = _window_classes(ix, self.lo, self.hi)
        if self.box is None and self.shape is None:
            return t_in & ~t_out, t_out
        # groups of rows without a finite position are in no area
        a_in, a_out = ix.g_placed.copy(), ~ix.g_placed
        if self.box is not None:
            b_in, b_out = _box_classes(ix, self.box)
            a_in &= b_in
            a_out |= b_out
        if self.shape is not None:
            cand = np.flatnonzero(~a_out & ~t_out)
            inside = np.zeros(ix.groups, dtype=bool)
            if len(cand):
                import shapely

                pad = SHAPE_PAD_DEG
                boxes = shapely.box(ix.g_lon_min[cand] - pad, ix.g_lat_min[cand] - pad,
                                    ix.g_lon_max[cand] + pad, ix.g_lat_max[cand] + pad)
                inside[cand] = shapely.contains_properly(self.shape, boxes)
                a_out[cand] |= ~shapely.intersects(self.shape, boxes)
            a_in &= inside
        out = t_out | a_out
        return t_in & a_in & ~out, out


@dataclass(frozen=True)
class Query:
    """A box and a half-open window ``[lo, hi)`` in microseconds (None: unbounded), and
    optionally a union of :class:`Part` that the rows must also meet (``parts=()``: no row
    does; None: no such limit)."""

    lo: int | None
    hi: int | None
    bbox: tuple[float, float, float, float] | None
    parts: tuple[Part, ...] | None = None

    def bbox_expr(self) -> pl.Expr:
        """The plain scan's box predicate (used on rows without a finite position)."""
        assert self.bbox is not None
        return bbox_filter(self.bbox)


def in_box(box: tuple[float, float, float, float], lat: np.ndarray,
           lon: np.ndarray) -> np.ndarray:
    """Which points lie in ``box`` (edges included; across the antimeridian when
    ``min_lon > max_lon``); NaN is outside.

    >>> in_box((179.0, -1.0, -179.0, 1.0), np.array([0.0, 0.0]), np.array([179.5, 0.0]))
    array([ True, False])
    """
    min_lon, min_lat, max_lon, max_lat = box
    with np.errstate(invalid="ignore"):
        keep = (lat >= min_lat) & (lat <= max_lat)
        if min_lon <= max_lon:
            return keep & (lon >= min_lon) & (lon <= max_lon)
        return keep & ((lon >= min_lon) | (lon <= max_lon))


def _in_window(q: Query, ts: np.ndarray) -> np.ndarray:
    """Which times (microseconds) lie in the query's window ``[lo, hi)``."""
    if q.lo is not None and q.hi is not None:
        return (ts >= q.lo) & (ts < q.hi)
    return ts >= q.lo if q.lo is not None else ts < q.hi


def _window_classes(ix: FileIndex, lo: int | None,
                    hi: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Groups wholly inside ``[lo, hi)`` and groups wholly outside it."""
    t_in = np.ones(ix.groups, dtype=bool)
    t_out = np.zeros(ix.groups, dtype=bool)
    if lo is not None:
        t_in &= ix.g_ts_min >= lo
        t_out |= ix.g_ts_max < lo
    if hi is not None:
        t_in &= ix.g_ts_max < hi
        t_out |= ix.g_ts_min >= hi
    return t_in, t_out


def _box_classes(ix: FileIndex, box: tuple[float, float, float, float]
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Groups whose coordinate ranges lie wholly inside ``box`` and wholly outside it
    (meaningful for groups of finite positions only)."""
    min_lon, min_lat, max_lon, max_lat = box
    with np.errstate(invalid="ignore"):
        lat_in = (ix.g_lat_min >= min_lat) & (ix.g_lat_max <= max_lat)
        lat_out = (ix.g_lat_max < min_lat) | (ix.g_lat_min > max_lat)
        if min_lon <= max_lon:
            lon_in = (ix.g_lon_min >= min_lon) & (ix.g_lon_max <= max_lon)
            lon_out = (ix.g_lon_max < min_lon) | (ix.g_lon_min > max_lon)
        else:  # across the antimeridian: lon >= min_lon or lon <= max_lon
            lon_in = (ix.g_lon_min >= min_lon) | (ix.g_lon_max <= max_lon)
            lon_out = (ix.g_lon_max < min_lon) & (ix.g_lon_min > max_lon)
    return lat_in & lon_in, lat_out | lon_out


def _read_array(path: Path) -> pa.Array:
    """The one column of an Arrow IPC file, memory-mapped (no copy; no file descriptor is
    kept open: the mapping lives as long as the array)."""
    return _read_mapped(path)[0]


def _read_mapped(path: Path) -> tuple[pa.Array, int | None, tuple[int, int]]:
    """:func:`_read_array`, where the array's values start in the file (bytes; None when
    the array is not one record batch of the file), and the mapping's address and size."""
    import pyarrow as pa

    with pa.memory_map(str(path), "r") as source:
        reader = pa.ipc.open_file(source)
        source.seek(0)
        whole = source.read_buffer(source.size())
        region = (whole.address, whole.size)
        if reader.num_record_batches == 1:
            array = reader.get_batch(0).column(0)
            values = array.buffers()[1] if len(array.buffers()) > 1 else None
            if values is None:
                return array, None, region  # pragma: no cover - indexed columns have values
            return array, values.address - whole.address, region
        return reader.read_all().column(0).combine_chunks(), None, region  # pragma: no cover


@functools.cache
def _madvise() -> Callable[[int, int, int], int] | None:
    """libc's ``madvise``, or None where there is none (then pages are not released)."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        function = libc.madvise
    except (OSError, AttributeError):  # pragma: no cover - not a POSIX libc
        return None
    function.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    function.restype = ctypes.c_int
    return function


def release_pages(region: tuple[int, int]) -> None:
    """Unmap the pages of a read-only file mapping from this process (``MADV_DONTNEED``):
    the kernel keeps them in its page cache, and a later read maps them again. So the pages
    a query touched stop counting in the server's resident memory once it is answered."""
    import mmap

    advice = getattr(mmap, "MADV_DONTNEED", None)
    function = _madvise()
    address, size = region
    if function is None or advice is None or size == 0:
        return  # pragma: no cover - not Linux or macOS
    function(address, size, advice)


class _Ranges:
    """Reads contiguous ranges of a fixed-width column of an index file with ``pread``
    (into this process's own memory, released with the array), not through the memory
    map: the kernel maps the pages around every page a process touches in a mapped file
    (tens of kB), so touching a few rows in each of thousands of groups would add the
    index's page cache to the server's resident memory, request after request."""

    def __init__(self, path: Path, offset: int, dtype: type[np.generic], rows: int,
                 first: int) -> None:
        self.path = path
        self.offset = offset + first * np.dtype(dtype).itemsize
        self.dtype = np.dtype(dtype)
        self.rows = rows

    def read(self, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Rows ``starts[i] .. starts[i] + counts[i]`` of the column, concatenated in that
        order (adjacent ranges are read at once)."""
        starts = np.asarray(starts, dtype=np.int64)
        counts = np.asarray(counts, dtype=np.int64)
        keep = counts > 0
        starts, counts = starts[keep], counts[keep]
        out = np.empty(int(counts.sum()), dtype=self.dtype)
        if len(out) == 0:
            return out
        ends = starts + counts
        cut = np.flatnonzero(starts[1:] != ends[:-1]) + 1
        run_start = starts[np.r_[0, cut]]
        run_end = ends[np.r_[cut - 1, len(ends) - 1]]
        size = self.dtype.itemsize
        view = out.view(np.uint8).data
        fd = os.open(self.path, os.O_RDONLY)
        try:
            at = 0
            for a, b in zip(run_start.tolist(), run_end.tolist(), strict=True):
                want = (b - a) * size
                done = 0
                while done < want:
                    got = os.preadv(fd, [view[at + done:at + want]],
                                    self.offset + a * size + done)
                    if got <= 0:
                        raise OSError(f"{self.path}: short read")
                    done += got
                at += want
        finally:
            os.close(fd)
        return out


def _write_array(path: Path, name: str, array: pa.Array) -> None:
    """One column as an uncompressed Arrow IPC file of one record batch."""
    import pyarrow as pa

    table = pa.table({name: array})
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=max(len(array), 1))


def _values(array: pa.Array, dtype: type[np.generic]) -> np.ndarray:
    """Zero-copy NumPy view of a fixed-width Arrow array's values (nulls not masked)."""
    item = np.dtype(dtype).itemsize
    return np.frombuffer(array.buffers()[1], dtype=dtype, count=len(array),
                         offset=array.offset * item)


class FileIndex:
    """The index of one positions day file (memory-mapped, read-only)."""

    def __init__(self, folder: Path, meta: dict[str, Any]) -> None:
        import pyarrow as pa

        # pyarrow imports pandas (0.3 s) at its first conversion of a NumPy array, which a
        # page of rows needs (take): do it with the index, in the loader's thread, rather
        # than in the first query
        pa.array(np.zeros(0, dtype=np.int64))

        self.folder = folder
        self.meta = meta
        self.rows = int(meta["rows"])
        key, key_at, region = _read_mapped(folder / "key.arrow")
        self.key = _values(key, np.int64)
        self._regions = [region]
        self.part_classes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        """Groups in and out of each part with a key (:meth:`Part.classify`)."""
        self._ranges: dict[str, _Ranges] = {}
        if key_at is not None:
            self._ranges["key"] = _Ranges(folder / "key.arrow", key_at, np.int64,
                                          len(key), key.offset)
        with np.load(folder / "groups.npz") as g:
            self.g_start = g["start"]
            self.g_count = g["count"]
            self.g_ts_min, self.g_ts_max = g["ts_min"], g["ts_max"]
            self.g_lat_min, self.g_lat_max = g["lat_min"], g["lat_max"]
            self.g_lon_min, self.g_lon_max = g["lon_min"], g["lon_max"]
            self.g_placed = g["placed"]
        self.columns: dict[str, pa.Array] = {}
        for name in COLUMNS:
            self.columns[name], at, region = _read_mapped(folder / f"col-{name}.arrow")
            self._regions.append(region)
            if name in RANGE_COLUMNS and at is not None:
                self._ranges[name] = _Ranges(folder / f"col-{name}.arrow", at,
                                             RANGE_COLUMNS[name], self.rows,
                                             self.columns[name].offset)
            if len(self.columns[name]) != self.rows:
                raise ValueError(f"{folder}: col-{name}.arrow has {len(self.columns[name])} "
                                 f"rows, expected {self.rows}")
        if len(self.key) != self.rows:
            raise ValueError(f"{folder}: key.arrow has {len(self.key)} rows, expected "
                             f"{self.rows}")
        self.ts = _values(self.columns["ts"], np.int64)
        self.lat = _values(self.columns["lat"], np.float64)
        self.lon = _values(self.columns["lon"], np.float64)
        mmsi = self.columns["mmsi"]
        self.mmsi = _values(mmsi, np.int64) if mmsi.null_count == 0 else None
        """The MMSI of every row in index order (None when some row has none)."""

    @property
    def groups(self) -> int:
        return len(self.g_start)

    def release(self) -> None:
        """Let go of the pages of the index's files that queries touched (see
        :func:`release_pages`); the arrays stay valid."""
        for region in self._regions:
            release_pages(region)

    def read_ranges(self, name: str, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Raw values (nulls not masked) of ``key`` or a column of :data:`RANGE_COLUMNS` at
        index positions ``starts[i] .. starts[i] + counts[i]``, concatenated: read from the
        file, not through the memory map (see :class:`_Ranges`)."""
        reader = self._ranges.get(name)
        if reader is None:  # pragma: no cover - an index file of another layout
            source = self.key if name == "key" else {
                "ts": self.ts, "lat": self.lat, "lon": self.lon}.get(name, self.mmsi)
            assert source is not None
            return np.asarray(source[ranges(starts, counts)])
        return reader.read(starts, counts)

    def select(self, q: Query) -> Selection:
        """The rows of this file matching the query (see :class:`Selection`)."""
        t_in, t_out = _window_classes(self, q.lo, q.hi)
        if q.bbox is not None:
            # unplaced groups (null / non-finite coordinates) are always tested row by row
            b_in, b_out = _box_classes(self, q.bbox)
            b_in &= self.g_placed
            b_out &= self.g_placed
        else:
            b_in = np.ones(self.groups, dtype=bool)
            b_out = ~b_in
        out = t_out | b_out
        inside = t_in & b_in
        classes = None
        if q.parts is not None:
            classes = [part.classify(self) for part in q.parts]
            some_in = np.zeros(self.groups, dtype=bool)
            all_out = np.ones(self.groups, dtype=bool)
            for c_in, c_out in classes:
                some_in |= c_in
                all_out &= c_out
            out |= all_out
            inside &= some_in
        inside &= ~out
        edge = ~out & ~inside
        ins = np.flatnonzero(inside)
        eg = np.flatnonzero(edge)
        return Selection(self, ins, *self._test_edges(q, eg, ~t_in[eg], ~b_in[eg], classes))

    def _test_edges(
        self, q: Query, eg: np.ndarray, need_t: np.ndarray, need_b: np.ndarray,
        classes: list[tuple[np.ndarray, np.ndarray]] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Test the rows of the edge groups ``eg``; ``need_t``/``need_b``: whether a group's
        rows need the time / the box test of the query; ``classes``: per part of the query,
        the groups inside it and outside it (:meth:`Part.classify`).

        The groups are taken by kind (time only, box only, both), so each row is tested on
        what it needs from contiguous slices; then the rows of groups that no part holds
        whole are tested against the parts that may hold them. Returns the index positions
        of the matching rows (ascending within each group), the groups in that order, and
        where each group's matches end in the first array.
        """
        kind = need_t.astype(np.int8) + 2 * need_b.astype(np.int8)  # 1: t, 2: box, 3: both
        order = np.argsort(kind, kind="stable")
        eg, kind, need_t, need_b = eg[order], kind[order], need_t[order], need_b[order]
        counts = self.g_count[eg]
        idx = ranges(self.g_start[eg], counts)
        if len(idx) == 0:
            return idx, eg, np.zeros(len(eg), dtype=np.int64)
        read: dict[str, np.ndarray] = {}

        def column(name: str) -> np.ndarray:
            """``name`` of every row of ``idx`` (read once, by ranges: the groups)."""
            if name not in read:
                read[name] = self.read_ranges(name, self.g_start[eg], counts)
            return read[name]

        row_end = np.cumsum(counts)
        bounds = np.r_[0, row_end][np.searchsorted(kind, [0, 1, 2, 3, 4])]
        mask = np.ones(len(idx), dtype=bool)
        for k in (1, 2, 3):
            a, b = int(bounds[k]), int(bounds[k + 1])
            if a == b:
                continue
            m = _in_window(q, column("ts")[a:b]) if k & 1 else None
            if k & 2:
                assert q.bbox is not None
                box = in_box(q.bbox, column("lat")[a:b], column("lon")[a:b])
                m = box if m is None else m & box
            mask[a:b] = m
        unplaced = need_b & ~self.g_placed[eg]
        if unplaced.any():  # nulls and NaN: exactly the plain scan's Polars predicate
            rows = np.repeat(unplaced, counts)
            frame = self.take(idx[rows], ("lat", "lon"))
            m = frame.select(q.bbox_expr().fill_null(False)).to_series().to_numpy()
            timed = np.repeat(need_t[unplaced], counts[unplaced])
            if timed.any():
                m[timed] &= _in_window(q, column("ts")[rows][timed])
            mask[rows] = m
        if classes is not None and q.parts is not None:
            mask &= self._in_parts(q.parts, classes, eg, counts, column, mask)
        matched = np.add.reduceat(mask, np.r_[0, row_end[:-1]]).astype(np.int64)
        return idx[mask], eg, np.cumsum(matched)

    @staticmethod
    def _in_parts(parts: Sequence[Part], classes: list[tuple[np.ndarray, np.ndarray]],
                  eg: np.ndarray, counts: np.ndarray, column: Callable[[str], np.ndarray],
                  candidates: np.ndarray) -> np.ndarray:
        """Which rows of the groups ``eg`` (``counts`` rows each; ``column(name)`` gives a
        column of them) lie in at least one part: those of a group some part holds whole,
        else each part that may hold the group tests them (only rows still
        ``candidates``, not yet matched)."""
        whole = np.zeros(len(eg), dtype=bool)
        for c_in, _ in classes:
            whole |= c_in[eg]
        hit = np.repeat(whole, counts)
        for part, (c_in, c_out) in zip(parts, classes, strict=True):
            maybe = ~c_in[eg] & ~c_out[eg] & ~whole
            if not maybe.any():
                continue
            rows = np.repeat(maybe, counts) & candidates & ~hit
            if not rows.any():
                continue
            ts = column("ts")[rows]
            if part.box is None and part.shape is None:
                lat = lon = np.empty(len(ts))  # a window alone: coordinates unused
            else:
                lat, lon = column("lat")[rows], column("lon")[rows]
            hit[rows] = part.test(ts, lat, lon)
        return hit

    def take(self, idx: np.ndarray, names: Sequence[str] | None = None) -> pl.DataFrame:
        """Rows at index positions ``idx`` (in that order), typed as the positions table."""
        import pyarrow as pa

        names = list(COLUMNS) if names is None else list(names)
        where = pa.array(np.asarray(idx, dtype=np.int64))
        arrays = {}
        for name in names:
            taken = self.columns[name].take(where)
            if pa.types.is_dictionary(taken.type):
                taken = taken.dictionary_decode()
            arrays[name] = taken
        frame = pl.from_arrow(pa.table(arrays))
        assert isinstance(frame, pl.DataFrame)
        return frame.select([pl.col(c).cast(COLUMNS[c]) for c in names])


class Selection:
    """The matching rows of one day file: whole *inside* groups plus the tested rows of the
    *edge* groups (``edge_pos``: index positions, the matches of ``edge_group[i]`` ending at
    ``edge_end[i]``, ascending within each group)."""

    def __init__(self, index: FileIndex, inside: np.ndarray, edge_pos: np.ndarray,
                 edge_group: np.ndarray, edge_end: np.ndarray) -> None:
        self.index = index
        self.ins_group = inside
        self.ins_start = index.g_start[inside]
        self.ins_count = index.g_count[inside]
        self.edge_pos = edge_pos
        self.edge_group = edge_group
        self.edge_end = edge_end
        self.edge_start = np.r_[0, edge_end[:-1]].astype(np.int64)
        self.total = int(self.ins_count.sum()) + len(edge_pos)

    def chunks(self, max_rows: int) -> Iterator[np.ndarray]:
        """Index positions of every match, in pieces of about ``max_rows`` (whole inside
        groups, so a group larger than that is one piece), in no particular order: for
        aggregates that need not hold every match at once. The row number of a position
        ``p`` in the day file is ``index.key[p] % index.rows``."""
        if len(self.ins_count):
            ends = np.cumsum(self.ins_count)
            first = 0
            while first < len(ends):
                done = int(ends[first - 1]) if first else 0
                last = int(np.searchsorted(ends, done + max_rows, side="right"))
                last = max(last, first + 1)
                yield ranges(self.ins_start[first:last], self.ins_count[first:last])
                first = last
        for a in range(0, len(self.edge_pos), max(max_rows, 1)):
            yield self.edge_pos[a:a + max_rows]

    def rank_range(self, a: int, b: int) -> np.ndarray:
        """Index positions of the matches ranked ``a`` to ``b`` (exclusive) in row order."""
        b = min(b, self.total)
        if a >= b:
            return np.empty(0, dtype=np.int64)
        index = self.index
        n = index.rows
        take = self.ins_count if b == self.total else np.minimum(self.ins_count, b)
        if b == self.total or int(take.sum()) + len(self.edge_pos) <= SIMPLE_PAGE_MAX:
            idx = np.concatenate([ranges(self.ins_start, take), self.edge_pos])
            keys = np.concatenate([index.read_ranges("key", self.ins_start, take),
                                   self._edge_keys()])
        else:
            idx = self._bisect(a, b)
            a, b = 0, len(idx)
            keys = np.asarray(index.key[idx])
        rows = keys % n
        if len(idx) > b:
            part = np.argpartition(rows, b - 1)[:b]
            idx, rows = idx[part], rows[part]
        order = np.argsort(rows, kind="stable")
        return idx[order][a:b]

    def _edge_keys(self) -> np.ndarray:
        """The keys of the matches of the edge groups (read by ranges: their groups)."""
        return self.edge_values("key")

    def edge_values(self, name: str) -> np.ndarray:
        """Raw values of ``key`` or a column of :data:`RANGE_COLUMNS` at the matches of the
        edge groups (``edge_pos``), read by ranges (whole groups, see
        :meth:`FileIndex.read_ranges`)."""
        index = self.index
        if len(self.edge_pos) == 0:
            return np.empty(0, dtype=np.int64 if name == "key" else RANGE_COLUMNS[name])
        starts = index.g_start[self.edge_group]
        counts = index.g_count[self.edge_group]
        values = index.read_ranges(name, starts, counts)
        first = np.cumsum(counts) - counts  # where each group begins in ``values``
        which = np.repeat(np.arange(len(starts)), np.diff(np.r_[0, self.edge_end]))
        return values[first[which] + self.edge_pos - starts[which]]

    def _bisect(self, a: int, b: int) -> np.ndarray:
        """Index positions of the matches whose rank is in ``[a, b)`` (unsorted), found by a
        search on the row number ``T``: the matches below ``T`` are counted in every group
        at once (a vectorised binary search inside each group), and ``T`` is narrowed by
        interpolating the counts, alternating with bisection steps. Each group's search
        keeps to the positions of the bracket's two ends, which close in on each other."""
        index = self.index
        key = np.asarray(index.key)
        n = index.rows
        ins_base = self.ins_group.astype(np.int64) * n
        ins_end = self.ins_start + self.ins_count
        edge_keys = self.edge_values("key")
        edge_base = self.edge_group.astype(np.int64) * n
        edge_first = self.edge_start
        Positions = tuple[np.ndarray, np.ndarray]  # per inside group, per edge group

        def below(t: int, lo: Positions, hi: Positions) -> Positions:
            """Where the matches at or above row ``t`` begin in each group, knowing that
            it is between ``lo`` and ``hi``."""
            return (group_lower_bound(key, lo[0], hi[0], ins_base + t),
                    group_lower_bound(edge_keys, lo[1], hi[1], edge_base + t))

        def count(at: Positions) -> int:
            return int((at[0] - self.ins_start).sum() + (at[1] - edge_first).sum())

        first: Positions = (self.ins_start, edge_first)
        # the k-th smallest row is at most the k-th row of any one group holding k rows
        full = np.flatnonzero(self.ins_count >= b)
        bound = n
        if len(full):
            rows = index.read_ranges("key", self.ins_start[full] + b - 1,
                                     np.ones(len(full), dtype=np.int64))
            bound = int((rows % n).min()) + 1
        at_bound = below(bound, first, (ins_end, self.edge_end))
        c_bound = count(at_bound)

        def threshold(k: int, lo: int, at_lo: Positions, c_lo: int, hi: int,
                      at_hi: Positions, c_hi: int) -> tuple[int, Positions, int]:
            """The smallest ``T`` with ``count(T) >= k``, where each group's matches at or
            above it begin, and its count, searched between ``lo`` (``c_lo < k``) and
            ``hi`` (``c_hi >= k``)."""
            step = 0
            while hi - lo > 1:
                if step % 2 == 0 and c_hi > c_lo:
                    mid = lo + int((k - c_lo) * (hi - lo) / (c_hi - c_lo))
                    mid = min(max(mid, lo + 1), hi - 1)
                else:
                    mid = (lo + hi) // 2
                at = below(mid, at_lo, at_hi)
                c = count(at)
                if c >= k:
                    hi, at_hi, c_hi = mid, at, c
                else:
                    lo, at_lo, c_lo = mid, at, c
                step += 1
            return hi, at_hi, c_hi

        if a > 0:
            t_a, at_a, c_a = threshold(a, 0, first, 0, bound, at_bound, c_bound)
            # the b-th row is not below the a-th: search from there on
            at_b = at_a if c_a >= b else threshold(b, t_a, at_a, c_a, bound, at_bound,
                                                   c_bound)[1]
        else:
            at_a = first
            at_b = threshold(b, 0, first, 0, bound, at_bound, c_bound)[1]
        (ia, ea), (ib, eb) = at_a, at_b
        return np.concatenate([ranges(ia, ib - ia), self.edge_pos[ranges(ea, eb - ea)]])


def group_lower_bound(key: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                      needles: np.ndarray) -> np.ndarray:
    """For each group ``i``, the first position in ``key[starts[i]:ends[i]]`` (sorted)
    whose value is not below ``needles[i]``: a binary search in every group at once.

    >>> key = np.array([1, 3, 5, 2, 4, 6])
    >>> group_lower_bound(key, np.array([0, 3]), np.array([3, 6]), np.array([4, 4])).tolist()
    [2, 4]
    """
    lo = np.asarray(starts, dtype=np.int64).copy()
    hi = np.asarray(ends, dtype=np.int64).copy()
    active = np.flatnonzero(lo < hi)
    while len(active):
        low, high = lo[active], hi[active]
        mid = (low + high) >> 1
        up = key[mid] < needles[active]
        lo[active] = np.where(up, mid + 1, low)
        hi[active] = np.where(up, high, mid)
        active = active[lo[active] < hi[active]]
    return lo


def select_page(
    indexes: Sequence[FileIndex], q: Query, offset: int, limit: int | None,
    selections: Sequence[Selection] | None = None,
) -> tuple[pl.DataFrame, int]:
    """Rows ``offset .. offset + limit`` (all with ``limit=None``) of the matches over the
    day files in order, and the number of matches: what the plain scan's
    ``slice(offset, limit)`` and ``len()`` give (``selections``: the indexes' selections
    of ``q``, when the caller kept them)."""
    if selections is None:
        selections = [ix.select(q) for ix in indexes]
    total = sum(s.total for s in selections)
    end = total if limit is None else min(total, offset + limit)
    parts = []
    first = 0
    try:
        for s in selections:
            a, b = max(offset - first, 0), min(end - first, s.total)
            if a < b:
                parts.append(s.index.take(s.rank_range(a, b)))
            first += s.total
            if first >= end:
                break
    finally:  # the page is copied out: the pages it was read from may go
        for ix in indexes:
            ix.release()
    if not parts:
        return schema.empty(COLUMNS), total
    return (parts[0] if len(parts) == 1 else pl.concat(parts)), total


# ---------------------------------------------------------------------- building


def build_file_index(source: Path, folder: Path, data_file: DataFile) -> dict[str, Any]:
    """Write the index of one positions day file into ``folder`` (which must not exist).

    The index is written under a temporary name beside ``folder`` and renamed to it when
    complete. Returns its ``meta``. Raises ``FileExistsError`` when another process built it
    meanwhile.
    """
    import pyarrow as pa

    started = time.perf_counter()
    tmp = folder.parent / f".tmp-{os.getpid()}-{uuid.uuid4().hex}"
    tmp.mkdir(parents=True)
    try:
        scan = pl.scan_parquet(str(source), hive_partitioning=False, glob=False)
        base = scan.select(
            pl.col("ts").cast(schema.TS).dt.epoch("us").alias("ts"),
            pl.col("lat").cast(pl.Float64).fill_null(np.nan).alias("lat"),
            pl.col("lon").cast(pl.Float64).fill_null(np.nan).alias("lon"),
        ).collect()
        n = base.height
        if n != data_file.rows:
            raise ValueError(f"{source} has {n} rows, the snapshot says {data_file.rows}")
        ts = base["ts"].to_numpy()
        lat = base["lat"].to_numpy()
        lon = base["lon"].to_numpy()
        del base
        placed = np.isfinite(lat) & np.isfinite(lon)
        t0 = int(ts.min()) if n else 0
        bucket = (ts - t0) // BUCKET_US
        with np.errstate(invalid="ignore"):
            row = np.clip(np.floor((lat + 90.0) / CELL_DEG), 0, N_LAT - 1)
            col = np.clip(np.floor((lon + 180.0) / CELL_DEG), 0, N_LON - 1)
        cell = np.where(placed, row * N_LON + col, UNPLACED).astype(np.int64)
        del row, col
        group_id = bucket * (UNPLACED + 1) + cell
        del bucket, cell
        # (group, row) as one sortable integer: rows are unique, so any sort is exact
        if n and int(group_id.max()) >= np.iinfo(np.int64).max // max(n, 1):
            raise ValueError(f"{source}: too many time buckets to index")  # pragma: no cover
        composite = group_id * n + np.arange(n, dtype=np.int64)
        del group_id
        composite = pl.Series(composite).sort().to_numpy()
        order = composite % n
        gid = composite // n
        del composite
        starts = np.flatnonzero(np.r_[True, gid[1:] != gid[:-1]]) if n else np.empty(0, np.int64)
        counts = np.diff(np.r_[starts, n])
        rank = np.repeat(np.arange(len(starts), dtype=np.int64), counts)
        _write_array(tmp / "key.arrow", "key", pa.array(rank * n + order))
        del rank, gid
        ts_o, lat_o, lon_o, placed_o = ts[order], lat[order], lon[order], placed[order]
        del ts, lat, lon, placed
        group_placed = placed_o[starts] if n else np.empty(0, bool)
        # unplaced groups hold only unplaced rows: their coordinate ranges are unused (NaN)
        with np.errstate(invalid="ignore"):
            stats = {
                "start": starts.astype(np.int64),
                "count": counts.astype(np.int64),
                "ts_min": np.minimum.reduceat(ts_o, starts) if n else ts_o,
                "ts_max": np.maximum.reduceat(ts_o, starts) if n else ts_o,
                "lat_min": np.minimum.reduceat(lat_o, starts) if n else lat_o,
                "lat_max": np.maximum.reduceat(lat_o, starts) if n else lat_o,
                "lon_min": np.minimum.reduceat(lon_o, starts) if n else lon_o,
                "lon_max": np.maximum.reduceat(lon_o, starts) if n else lon_o,
                "placed": group_placed,
            }
        np.savez(tmp / "groups.npz", **stats)
        del ts_o, lat_o, lon_o, placed_o
        where = pa.array(order)
        for name, dtype in COLUMNS.items():
            column = scan.select(pl.col(name).cast(dtype)).collect().to_series()
            array = column.to_arrow()
            if isinstance(array, pa.ChunkedArray):  # pragma: no cover - one file, one chunk
                array = array.combine_chunks()
            if dtype == pl.String:
                array = array.cast(pa.large_string()).dictionary_encode()
            _write_array(tmp / f"col-{name}.arrow", name, array.take(where))
            del column, array
        meta = {
            "format": FORMAT,
            "source": data_file.path,
            "rows": n,
            "bytes": data_file.bytes,
            "bucket_us": BUCKET_US,
            "cell_deg": CELL_DEG,
            "groups": len(starts),
            "build_seconds": round(time.perf_counter() - started, 3),
            "built_at": datetime.now(UTC).isoformat(),
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        try:
            os.rename(tmp, folder)
        except OSError as exc:
            if folder.exists():
                raise FileExistsError(folder) from exc
            raise
        return meta
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


class PositionIndex:
    """The query indexes of one store's positions: loaded on demand, built in the background.

    Parameters
    ----------
    store
        The store.
    min_rows
        Index only when the positions table has at least this many rows.
    """

    def __init__(self, store: Store, min_rows: int = MIN_ROWS) -> None:
        self.store = store
        self.min_rows = min_rows
        self.root = store.path / INDEX_FOLDER / FORMAT
        self.loaded: dict[str, FileIndex] = {}
        self.failed: dict[str, str] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._built_seconds = 0.0
        self._disabled: str | None = None

    # ---------------------------------------------------------------- lookup

    def folder(self, data_file: DataFile) -> Path:
        return self.root / Path(data_file.path).stem

    def wanted(self) -> list[DataFile]:
        """The live positions files to index (none when the table is small)."""
        files = self.store.snapshot().table_files("positions")
        if sum(f.rows for f in files) < self.min_rows:
            return []
        return [f for f in files if f.rows > 0]

    def get(self, files: Sequence[DataFile]) -> list[FileIndex] | None:
        """The indexes of these files, or None when one is missing (a build is started)."""
        if self._disabled is not None:
            return None
        if files and sum(f.rows for f in self.store.snapshot().table_files("positions")) \
                < self.min_rows:
            return None
        out = []
        for f in files:
            if f.rows == 0:
                continue
            found = self.loaded.get(f.path) or self._load(f)
            if found is None:
                self.start()
                return None
            out.append(found)
        return out

    def _load(self, data_file: DataFile) -> FileIndex | None:
        folder = self.folder(data_file)
        try:
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if (meta.get("format") != FORMAT or meta.get("source") != data_file.path
                or meta.get("rows") != data_file.rows or meta.get("bytes") != data_file.bytes
                or meta.get("bucket_us") != BUCKET_US or meta.get("cell_deg") != CELL_DEG):
            return None
        try:
            index = FileIndex(folder, meta)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("query index %s is unreadable (%s); it will be rebuilt", folder, exc)
            shutil.rmtree(folder, ignore_errors=True)
            return None
        with self._lock:
            self.loaded[data_file.path] = index
        return index

    # ---------------------------------------------------------------- building

    def start(self) -> None:
        """Build the missing indexes in a background thread (no-op when one runs)."""
        if self._disabled is not None:
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._run, name="seawatch-index",
                                            daemon=True)
            self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the builder; True when every live file is indexed."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.ready()

    def ready(self) -> bool:
        """Every live positions file (of a store big enough) has its index."""
        return all(self.loaded.get(f.path) or self._load(f) for f in self.wanted())

    def build_all(self) -> None:
        """Build every missing index now, in this thread (tests, scripts)."""
        self._run()

    def _run(self) -> None:
        try:
            while True:
                sid = self.store.snapshot_id
                for f in self.wanted():
                    if f.path in self.loaded or f.path in self.failed or self._load(f):
                        continue
                    self._build(f)
                    if self._disabled is not None:
                        return
                if self.store.snapshot_id == sid:
                    break
            self._collect_garbage()
        except Exception:  # never let the builder thread die with an unlogged error
            log.exception("building the query index failed")

    def _build(self, data_file: DataFile) -> None:
        folder = self.folder(data_file)
        started = time.perf_counter()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._disabled = f"cannot write {self.root}: {exc}"
            log.warning("query index disabled (%s): positions queries scan the store",
                        self._disabled)
            return
        try:
            build_file_index(self.store.path / data_file.path, folder, data_file)
        except FileExistsError:
            pass  # another process built it
        except Exception as exc:  # any failure: queries on that day scan the store
            live = {f.path for f in self.store.snapshot().table_files("positions")}
            if data_file.path in live:  # (else an ingest replaced the file meanwhile)
                self.failed[data_file.path] = str(exc)
                log.warning("query index of %s failed (%s); queries on that day scan the "
                            "store", data_file.path, exc)
            return
        self._built_seconds += time.perf_counter() - started
        self._load(data_file)

    def _collect_garbage(self) -> None:
        """Delete the indexes of files no longer live and leftovers of killed builds."""
        live = {f.path for f in self.store.snapshot().table_files("positions")}
        with self._lock:
            for path in [p for p in self.loaded if p not in live]:
                del self.loaded[path]
        if not self.root.is_dir():
            return
        stems = {Path(p).stem for p in live}
        for child in self.root.iterdir():
            if child.name.startswith(".tmp-"):
                pid = child.name.split("-")[1] if child.name.count("-") >= 2 else ""
                if pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid)):
                    continue  # another process is building it
            elif child.name in stems:
                continue
            with contextlib.suppress(OSError):
                shutil.rmtree(child)

    # ---------------------------------------------------------------- figures

    def describe(self) -> dict[str, Any]:
        """Files indexed, rows, groups, size on disk and build time (for benchmarks)."""
        files = self.wanted()
        indexed = [self.loaded[f.path] for f in files if f.path in self.loaded]
        size = 0
        for ix in indexed:
            size += sum(p.stat().st_size for p in ix.folder.iterdir())
        return {
            "files": len(files),
            "indexed": len(indexed),
            "rows": sum(ix.rows for ix in indexed),
            "groups": sum(ix.groups for ix in indexed),
            "bytes": size,
            "build_seconds": round(self._built_seconds, 1),
            "disabled": self._disabled,
            "failed": dict(self.failed),
        }


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
