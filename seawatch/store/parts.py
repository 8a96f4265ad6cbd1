"""Day tables made of parts: a live compaction adds a part instead of rewriting the day.

A batch ingest merges each day it touches into one file (:func:`seawatch.store.ingest.merge_day`):
right for files, wrong for a feed compacted every few seconds, where each commit would read
and rewrite the whole day so far (its cost and memory growing all day). A commit in *parts*
mode (``Store.ingest_results(..., parts=PartsPolicy())``, what ``seawatch live`` does)
instead:

1. reads, from the day's parts whose time range lies within :func:`horizon` of the new rows'
   times, only the stored rows whose duplicate key (:data:`seawatch.store.dedup.RULES`) is
   the key of a new row (every rule holds the key: rows of other keys never interact);
2. applies the store's duplicate rule to those rows and the new ones together, in the same
   DuckDB window as a merge (:func:`marked_sql`). A new row is kept or dropped exactly as a
   merge of the whole day would judge it; a stored row is dropped only where a new row is
   one of the two rows before it in its key (the rows its own judgement looks at): an
   earlier copy that arrived later replaces it, as in a merge;
3. writes the new rows kept as a new part, sorted as a day file; a part holding a stored row
   now dropped is written again without it (the stored rows are otherwise never rewritten);
4. when the day has more than ``max_parts`` parts, merges the smallest ``max_parts // 2 + 1``
   into one (:func:`merge_parts`): a tiered rule, so that a row is rewritten about
   ``log(rows of the day / rows of a compaction) / log(max_parts / 2)`` times in a day,
   each merge in MMSI ranges of at most ``merge_rows`` rows (bounded memory). The rows of
   the parts are already free of duplicates, so a merge only sorts them.

The horizon: a row's judgement looks at the two rows before it of its key, the rule being a
copy within the duplicate window or a late copy within the late-copy window of the row
before, itself not a late copy of the one before it. So a new row can change the
judgement of stored rows at most twice the longer window after it, and its own depends on
rows as far before it: :func:`horizon` is twice the longer window plus the duplicate window.
(The ``vessels`` rule, identical content within the UTC day, reads every part of the day.)

The union of a day's parts is what merging the same commits into one file gives, but for
one case: a stored row that a later re-merge of the whole day would drop though no new row
came near it (the "chains" of docs/store.md, which a merge of the stored rows alone judges
differently from the merge that stored them). Parts keep such a row, as the first merge of
the lines did; a batch ``seawatch ingest`` of the same lines keeps it too.

Examples
--------
>>> from datetime import timedelta
>>> horizon(timedelta(seconds=30), timedelta(minutes=10))
datetime.timedelta(seconds=1230)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from seawatch.store import layout
from seawatch.store.commit import Transaction, describe
from seawatch.store.dedup import (
    KEEP,
    ROW_GROUP_SIZE,
    RULES,
    SORT_KEY,
    SOURCE,
    DedupRule,
    LateCopies,
    _ident,
    _scan_sql,
    _window,
    sql_list,
    sql_string,
)
from seawatch.store.layout import DataFile

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

COVERAGE_COLUMNS = ("mmsi", "ts", "lat", "lon", "source")
"""Columns of the positions the coverage is counted from (:mod:`seawatch.store.coverage`)."""

DEFAULT_MAX_PARTS = 16
"""Most parts of one table-day before the smallest are merged (:class:`PartsPolicy`)."""

DEFAULT_PART_MERGE_ROWS = 2_000_000
"""Most rows one MMSI range of a merge of parts sorts at once (about 200 bytes each)."""


@dataclass(frozen=True)
class PartsPolicy:
    """How a commit in parts mode keeps a day's parts (module docstring).

    ``max_parts``: most parts of one table-day; past it the ``max_parts // 2 + 1`` smallest
    are merged into one. ``merge_rows``: most rows one MMSI range of that merge sorts at
    once.

    >>> PartsPolicy().merge_count
    9
    """

    max_parts: int = DEFAULT_MAX_PARTS
    merge_rows: int = DEFAULT_PART_MERGE_ROWS

    def __post_init__(self) -> None:
        if self.max_parts < 2:
            raise ValueError(f"max_parts must be at least 2, got {self.max_parts}")
        if self.merge_rows < 1:
            raise ValueError(f"merge_rows must be at least 1, got {self.merge_rows}")

    @property
    def merge_count(self) -> int:
        """Parts merged at once when a day has too many."""
        return self.max_parts // 2 + 1


def horizon(window: timedelta, late_window: timedelta) -> timedelta:
    """How far from a new row stored rows of its key can take part in its judgement, or have
    theirs changed by it: twice the longer of the two windows, plus the duplicate window."""
    return 2 * max(window, late_window) + window


@dataclass
class DayAppend:
    """What a commit in parts mode did to one table-day."""

    new: list[DataFile] = field(default_factory=list)
    """Parts written (the new rows, parts written again without replaced rows, merges)."""
    superseded: list[str] = field(default_factory=list)
    """Paths of the parts they replace."""
    kept: int = 0
    """New rows kept."""
    replaced: int = 0
    """Stored rows an earlier copy among the new rows replaced."""
    replaced_mmsi: list[int] = field(default_factory=list)
    """MMSIs of the replaced rows (the coverage of those vessels is counted again)."""
    new_rows: pl.DataFrame | None = None
    """The new positions kept, the columns the coverage reads (None: none, or another
    table)."""


def near_parts(parts: Sequence[DataFile], lo: datetime, hi: datetime) -> list[DataFile]:
    """The parts whose time range meets ``[lo, hi]`` (a part without one: always)."""
    out = []
    for f in parts:
        if f.ts_min is not None and layout.parse_ts(f.ts_min) > hi:
            continue
        if f.ts_max is not None and layout.parse_ts(f.ts_max) < lo:
            continue
        out.append(f)
    return out


def _utc(us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


def _key_hash(rule: DedupRule, alias: str = "") -> str:
    return "hash(" + ", ".join(f"{alias}{_ident(c)}" for c in rule.key) + ")"


def marked_sql(rule: DedupRule, staged: Sequence[str], stored: Sequence[str],
               window: timedelta, late: LateCopies, lo: int | None, hi: int | None) -> str:
    """DuckDB query of the new rows (``staged`` files, :data:`SOURCE` 1) and the stored rows
    of their keys (``stored`` files, group 0, within ``[lo, hi]`` (µs since the epoch) when
    given), each with
    :data:`KEEP`; a stored row also with its file (``__file``) and ``file_row_number``.

    A new row is kept as a merge judges it; a stored row is dropped only when the rule drops
    it and a new row is one of the two rows before it in its key.
    """
    new = _scan_sql([[], list(staged)], "TRUE")
    cols = ", ".join(_ident(c) for c in rule.columns)
    parts = [f"SELECT {cols}, {SOURCE}, NULL::VARCHAR AS __file, "
             f"NULL::BIGINT AS file_row_number FROM new"]
    if stored:
        when = []
        if lo is not None and hi is not None:
            when.append(f"epoch_us(s.ts) BETWEEN {lo} AND {hi}")
        when.append(f"{_key_hash(rule, 's.')} IN (SELECT {_key_hash(rule)} FROM new)")
        scols = ", ".join(f"s.{_ident(c)}" for c in rule.columns)
        parts.insert(0, (
            f"SELECT {scols}, 0 AS {SOURCE}, s.__file, s.file_row_number "
            f"FROM read_parquet({sql_list(stored)}, filename = '__file', "
            f"file_row_number = true, union_by_name = true) s WHERE {' AND '.join(when)}"))
    w = _window(rule, window, late)
    over = f"OVER (PARTITION BY {w.partition} ORDER BY {w.order})"
    if rule.windowed:
        touched = "(coalesce(__prev_src, 0) > 0 OR coalesce(__prev2_src, 0) > 0)"
        extra = f", lag({SOURCE}, 2) {over} AS __prev2_src"
    else:
        touched = "coalesce(__first, 0) > 0"
        extra = ""
    drop = f"coalesce({w.drop}, false)"
    return (
        f"WITH new AS ({new}) "
        f"SELECT *, CASE WHEN {SOURCE} > 0 THEN NOT {drop} "
        f"ELSE NOT ({drop} AND {touched}) END AS {KEEP} "
        f"FROM (SELECT *, {w.functions}{extra} FROM ({' UNION ALL '.join(parts)}))"
    )


def _order(rule: DedupRule) -> str:
    """The order of a day file's rows (:func:`seawatch.store.dedup.merge_sql`'s, less the
    group: rows of one day are free of duplicates, so this order is total)."""
    ties = [c for c in rule.key if c not in SORT_KEY]
    return ", ".join(f"{_ident(c)} NULLS LAST" for c in (*SORT_KEY, *ties))


def _write(con: duckdb.DuckDBPyConnection, sql: str | Iterable[str], rule: DedupRule,
           target: Path) -> int:
    """Rows of ``sql`` (the rule's columns, in order; several queries: one after another)
    into a day file; the rows written."""
    import pyarrow as pa

    from seawatch.store.ingest import DayFileWriter

    writer = DayFileWriter(target)
    try:
        for query in [sql] if isinstance(sql, str) else sql:
            reader = con.sql(query).to_arrow_reader(ROW_GROUP_SIZE)
            writer.open(pa.schema([reader.schema.field(c) for c in rule.columns]))
            for batch in reader:
                writer.write(batch)
    except BaseException:
        writer.abort()
        raise
    writer.close()
    layout.fsync_file(target)
    return writer.rows


def merge_parts(con: duckdb.DuckDBPyConnection, table: str, files: Sequence[Path],
                target: Path, rows: int, merge_rows: int) -> int:
    """Merge parts of one table-day (free of duplicates between them) into ``target``,
    sorted as a day file, in MMSI ranges of at most ``merge_rows`` rows; the rows written."""
    from seawatch.store.ingest import day_ranges

    rule = RULES[table]
    paths = [str(f) for f in files]
    cols = ", ".join(_ident(c) for c in rule.columns)
    written = _write(con, (
        f"SELECT {cols} FROM read_parquet({sql_list(paths)}, union_by_name = true) "
        f"WHERE {mmsi.sql()} ORDER BY {_order(rule)}"
        for mmsi in day_ranges(con, paths, rows, merge_rows)), rule, target)
    if written != rows:  # pragma: no cover - parts are listed with their rows
        raise RuntimeError(f"merge of {len(paths)} parts into {target}: {written} rows, "
                           f"the parts list {rows}")
    return written


def append_day(
    con: duckdb.DuckDBPyConnection,
    tx: Transaction,
    table: str,
    day: str,
    parts: Sequence[DataFile],
    staged: Sequence[Path],
    window: timedelta,
    late: LateCopies,
    policy: PartsPolicy,
) -> DayAppend:
    """Add the ``staged`` rows of one input to the table-day whose live parts are ``parts``
    (module docstring, steps 1-4); the files written and superseded, and the counts."""
    rule = RULES[table]
    root = tx.root
    out = DayAppend()
    files = [str(f) for f in staged]
    lo = hi = None
    stored = list(parts)
    if rule.windowed and stored:
        ((first, last),) = con.execute(
            f"SELECT epoch_us(min(ts)), epoch_us(max(ts)) FROM read_parquet({sql_list(files)})"
        ).fetchall()
        if first is None or last is None:
            stored = []
        else:
            reach = int(horizon(window, late.window) / timedelta(microseconds=1))
            lo, hi = int(first) - reach, int(last) + reach
            stored = near_parts(stored, _utc(lo), _utc(hi))
    con.execute("DROP TABLE IF EXISTS __marked")
    marked = marked_sql(rule, files, [str(root / f.path) for f in stored], window, late, lo, hi)
    con.execute(f"CREATE TEMP TABLE __marked AS {marked}")
    try:
        cols = ", ".join(_ident(c) for c in rule.columns)
        ((kept,),) = con.execute(
            f"SELECT count(*) FROM __marked WHERE {SOURCE} > 0 AND {KEEP}").fetchall()
        if kept:
            rel, target = tx.new_file(table, day)
            out.kept = _write(con, f"SELECT {cols} FROM __marked WHERE {SOURCE} > 0 AND {KEEP} "
                                   f"ORDER BY {_order(rule)}", rule, target)
            out.new.append(describe(root, rel, out.kept, day))
            if table == "positions":
                out.new_rows = pl.read_parquet(target, columns=list(COVERAGE_COLUMNS))
        gone = con.execute(
            f"SELECT __file, list(file_row_number), list(DISTINCT mmsi) FROM __marked "
            f"WHERE {SOURCE} = 0 AND NOT {KEEP} GROUP BY __file").fetchall()
    finally:
        con.execute("DROP TABLE IF EXISTS __marked")
    by_path = {str(root / f.path): f for f in stored}
    mmsi: set[int] = set()
    for path, rows, vessels in gone:
        old = by_path[path]
        drop = ", ".join(str(int(r)) for r in rows)
        rel, target = tx.new_file(table, day)
        written = _write(con, (
            f"SELECT {cols} FROM read_parquet({sql_string(path)}, file_row_number = true) "
            f"WHERE file_row_number NOT IN ({drop}) ORDER BY file_row_number"), rule, target)
        out.replaced += old.rows - written
        mmsi.update(int(m) for m in vessels if m is not None)
        out.superseded.append(old.path)
        if written:
            out.new.append(describe(root, rel, written, day))
        else:  # every row of the part replaced: no part
            target.unlink()
    out.replaced_mmsi = sorted(mmsi)
    dropped = set(out.superseded)
    live = [f for f in parts if f.path not in dropped] + out.new
    if len(live) > policy.max_parts:
        smallest = sorted(live, key=lambda f: (f.rows, f.path))[: policy.merge_count]
        rows = sum(f.rows for f in smallest)
        rel, target = tx.new_file(table, day)
        merge_parts(con, table, [root / f.path for f in smallest], target, rows,
                    policy.merge_rows)
        merged = {f.path for f in smallest}
        listed = {f.path for f in parts}
        for f in smallest:
            if f.path in listed:
                out.superseded.append(f.path)
            else:  # written by this very commit, never listed
                (root / f.path).unlink(missing_ok=True)
        out.new = [f for f in out.new if f.path not in merged]
        out.new.append(describe(root, rel, rows, day))
    return out
