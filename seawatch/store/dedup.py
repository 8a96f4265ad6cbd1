"""Which rows of a day are the same report, and the DuckDB query that merges a day.

The same AIS transmission is often heard by several receivers (overlapping coastal stations,
satellites, a terrestrial feed and a satellite feed both bought) and the same file is often
delivered twice under different names. Each copy gets the receive time of the receiver that
heard it, so copies differ in ``ts`` (usually by well under a second, sometimes by tens of
seconds for satellite feeds) and in ``source``, but carry the same message content.

Rule for ``positions`` (and, on their own keys, ``stations`` and ``other_messages``):

    Rows equal in every column of the key (nulls equal to nulls) whose ``ts`` is at most
    ``window`` (default 30 s) after the ``ts`` of the previous row with the same key are
    duplicates and are dropped; the earliest copy is kept. For positions the window applies
    only to rows that carry a valid ``second`` (0-59); rows without one (CSV sources, second
    60-63 "not available") are duplicates only of a row with the very same ``ts``.

Why it is safe: the position key includes ``second``, the UTC second the vessel's own clock
stamped on the report (0-59). Two *different* transmissions with the same ``second`` are a
whole number of minutes apart, so a window below 60 s (30 s leaves room for receiver clock
error) never merges two real reports of a vessel; a moored vessel repeating the same position
every few seconds still keeps one report per distinct ``second``. Without ``second`` nothing
tells a second copy from a new identical report, so only exact copies (the same file
delivered twice, the same export row twice) are removed: a moored vessel reporting the same
position every 10 s for hours keeps every report, and no gap appears that was not there.

**Late copies** (positions): a copy relayed late (an aggregator stamping lines on arrival, a
satellite feed's latency) can come minutes after the first. Such a copy carries the same
position as the first while the vessel, under way, has moved on: left in, it puts the vessel
back where it was, a jump back along its track that splits tracks and crosses zone edges
again. So a row is also a duplicate of the previous row of its key when it comes less than
``late.window`` (10 min) after it and the vessel, at the speed over ground the report itself
states, would have moved more than ``late.moved_m`` (100 m) in between: a vessel that moved
sends a new position, so the same position twice is one transmission heard twice, and the
earliest copy is the one nearest the time it was sent. A vessel at rest (``sog`` 0 or null,
or too slow to have moved that far) keeps its repeats, as before; so does a row without a
valid ``second``. A late copy of a row that is itself a late copy is not dropped: a position
repeated at a steady pace while a speed is reported (a GNSS fix frozen) is a stream of
reports, and loses only its second one, never the rest (which would make a silence, a
false gap). See :class:`LateCopies`.

Rows are compared to the previous row *of the same key*, whether that row was kept or not,
so a chain of copies heard over a longer span collapses to its first copy; with ``second``
in the key a chain can only be copies of one transmission. The result is the same whatever
order inputs arrive in, and an ingest merges each day's existing rows with the new ones and
reapplies the rule, so files delivered twice add nothing.

Rule for ``vessels``: rows identical in every column but ``ts`` and ``source`` within one UTC
day keep only the earliest (identity reports repeat every few minutes; one per day per
distinct content keeps every change while dropping the repetition).

Day files are sorted by ``(mmsi, ts)``, so queries for one vessel or one time range read few
row groups. (Sorting on every column to make files byte-for-byte reproducible costs about
five times more in DuckDB and buys nothing a reader can see, so rows with equal
``(mmsi, ts)`` keep no particular order.)

Examples
--------
>>> RULES["positions"].key[:4]
('mmsi', 'msg_type', 'lat', 'lon')
>>> RULES["vessels"].windowed
False
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from seawatch import schema

if TYPE_CHECKING:
    import numpy as np

DEFAULT_DEDUP_WINDOW = timedelta(seconds=30)
"""Copies of one report received up to this long after the previous copy are duplicates."""

LATE_COPY_WINDOW = timedelta(minutes=10)
"""A copy of a moving vessel's report received less than this after the previous copy is a
duplicate (see :class:`LateCopies`). Relayed feeds lag by seconds to a few minutes (the
simulator's messy profile delays second copies by up to 2 min); a line farther off than this
is a clock error, left to the clock check's displaced copies
(:mod:`seawatch.store.clocks`), which judges it against the track."""

LATE_COPY_MOVED_M = 100.0
"""Metres a vessel must have moved (by the ``sog`` of the report, times the time between the
copies) for two identical reports to be one transmission: far above the jitter of a GNSS
fix held at rest and the resolution of an AIS position (0.2 m), so a vessel that moved that
far would have sent another position. Below it, a late copy misplaces the vessel by less
than this, which no detector sees (the segmenter's noise is 500 m and more)."""

KNOT_M_PER_US = 1852.0 / 3600e6
"""Metres per microsecond at one knot."""


@dataclass(frozen=True)
class LateCopies:
    """How late copies of a moving vessel's report are recognised (module docstring, *Late
    copies*): less than ``window`` after the previous copy, the vessel having moved more than
    ``moved_m`` metres at its reported speed in between. A ``window`` no longer than the
    duplicate window turns the rule off.

    >>> LateCopies().window, LateCopies().moved_m
    (datetime.timedelta(seconds=600), 100.0)
    """

    window: timedelta = LATE_COPY_WINDOW
    moved_m: float = LATE_COPY_MOVED_M


LATE_COPIES = LateCopies()
"""The default rule."""

ROW_GROUP_SIZE = 131_072
"""Rows per Parquet row group in day files (~128k: small enough to prune by vessel and time,
large enough to compress well)."""


SORT_KEY = ("mmsi", "ts")
"""Order of rows in every day file; rows of one vessel at one time follow the other columns
of their duplicate key (:func:`merge_sql`), so a day file, and the tracks and events made
from it, are the same from one ingest of the same input to the next."""


@dataclass(frozen=True)
class DedupRule:
    """How duplicates of one table are recognised.

    ``key``: the columns that must be equal (nulls equal to nulls). ``windowed``: True for
    the time-window rule, False for 'identical within the UTC day, keep the earliest'.
    """

    table: str
    key: tuple[str, ...]
    windowed: bool
    window_requires: str | None = None
    """Column that must hold a valid UTC second (0-59) for the window to apply; rows without
    it are duplicates only of rows with the same ``ts``."""
    speed: str | None = None
    """Column of the key holding the vessel's speed over ground (knots), for the rule of
    late copies (:class:`LateCopies`); None: no such rule."""

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(schema.TABLES[self.table])


RULES: dict[str, DedupRule] = {
    "positions": DedupRule(
        "positions",
        ("mmsi", "msg_type", "lat", "lon", "sog", "cog", "heading", "nav_status", "second"),
        windowed=True,
        window_requires="second",
        speed="sog",
    ),
    "vessels": DedupRule(
        "vessels",
        tuple(c for c in schema.VESSELS if c not in ("ts", "source")),
        windowed=False,
    ),
    "stations": DedupRule(
        "stations",
        ("mmsi", "msg_type", "lat", "lon", "name", "aid_type", "station_time"),
        windowed=True,
    ),
    "other_messages": DedupRule("other_messages", ("mmsi", "msg_type", "payload"), windowed=True),
}


def sql_string(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class _Window:
    """The SQL pieces of a rule's window: its PARTITION BY and ORDER BY lists, the window
    functions to add (over ``__src``, ``ts``), the condition that marks a row as a duplicate,
    and the group of the row a duplicate's chain keeps where one pass can tell it (else
    null)."""

    partition: str
    order: str
    functions: str
    drop: str
    chain: str


def _window(rule: DedupRule, window: timedelta, late: LateCopies = LATE_COPIES) -> _Window:
    """The window of ``rule``. Windowed rule: a row is a duplicate when its ``ts`` is within
    the window of the previous row of its key (``__prev_ts``), or, for a rule with a speed,
    a late copy of it (``late``); the chain it belongs to is kept by the previous row when
    that row is not a duplicate itself (``__prev2_ts``). The other rule: every row after the
    first of its key is a duplicate of the first."""
    rest = [c for c in rule.columns if c not in rule.key and c != "ts"]
    partition = ", ".join(_ident(c) for c in rule.key)
    order = ", ".join(f"{_ident(c)} NULLS LAST" for c in ("ts", *rest)) + f", {SOURCE}"
    over = f"OVER (PARTITION BY {partition} ORDER BY {order})"
    if not rule.windowed:
        functions = f"row_number() {over} AS __rank, first_value({SOURCE}) {over} AS __first"
        return _Window(partition, order, functions, "__rank > 1", "__first")
    window_us = int(window / timedelta(microseconds=1))
    limit = str(window_us)
    valid = "TRUE"
    if rule.window_requires:
        col = _ident(rule.window_requires)
        valid = f"{col} BETWEEN 0 AND 59"
        limit = f"(CASE WHEN {valid} THEN {window_us} ELSE 0 END)"
    late_us = int(late.window / timedelta(microseconds=1))

    def gap(later: str, earlier: str) -> str:
        return f"(epoch_us({later}) - epoch_us({earlier}))"

    def late_copy(later: str, earlier: str) -> str:
        """Whether a row at ``later`` is a late copy of the row of its key at ``earlier``
        (past the window, before ``late.window``, the vessel having moved)."""
        g = gap(later, earlier)
        moved = f"{_ident(rule.speed or '')} * {KNOT_M_PER_US!r} * {g} > {float(late.moved_m)!r}"
        return f"coalesce({valid} AND {g} > {limit} AND {g} < {late_us} AND {moved}, false)"

    def duplicate(later: str, earlier: str, before: str) -> str:
        """Whether a row at ``later`` is a copy of the row of its key at ``earlier`` (the
        row before that at ``before``): within the window, or a late copy of a row that is
        not a late copy itself, so that a position repeated at a steady pace (a GNSS fix
        frozen while the speed is reported) loses one report, not the whole stream."""
        same = f"{gap(later, earlier)} <= {limit}"
        if rule.speed is None or late_us <= window_us:
            return same
        first = f"({before} IS NULL OR NOT {late_copy(earlier, before)})"
        return f"({same} OR ({late_copy(later, earlier)} AND {first}))"

    functions = (
        f"lag({SOURCE}) {over} AS __prev_src, lag(ts) {over} AS __prev_ts, "
        f"lag(ts, 2) {over} AS __prev2_ts, lag(ts, 3) {over} AS __prev3_ts"
    )
    return _Window(
        partition,
        order,
        functions,
        f"__prev_ts IS NOT NULL AND {duplicate('ts', '__prev_ts', '__prev2_ts')}",
        f"CASE WHEN __prev2_ts IS NULL OR NOT "
        f"{duplicate('__prev_ts', '__prev2_ts', '__prev3_ts')} THEN __prev_src END",
    )


def sql_list(items: Sequence[str]) -> str:
    """A DuckDB list literal of strings (e.g. the files of a ``read_parquet``).

    >>> sql_list(["a.parquet", "it's.parquet"])
    "['a.parquet', 'it''s.parquet']"
    """
    return "[" + ", ".join(sql_string(s) for s in items) + "]"


SOURCE = "__src"
"""Column of :func:`merge_sql`: the group a row came from (0: the day's live files, then one
group per input of the batch)."""

KEEP = "__keep"
"""Column of :func:`merge_sql`: True for a row the day file keeps, False for a duplicate."""

CHAIN_SOURCE = "__chain_src"
"""Column of :func:`merge_sql`: for a duplicate, the group of the row kept in its stead (the
first row of its chain of copies), where the one pass can tell it; else null (see
:func:`chain_credits_sql`)."""


@dataclass(frozen=True)
class MmsiRange:
    """The rows of one merge batch: ``lo <= mmsi < hi``.

    ``lo`` None: no lower bound; ``hi`` None: no upper bound, and the rows without an MMSI
    too (they sort last). Every duplicate key holds ``mmsi``, so the ranges of a day can be
    merged one after another and their results written one after another, in MMSI order.

    Examples
    --------
    >>> MmsiRange().sql()
    'TRUE'
    >>> MmsiRange(None, 735000000).sql()
    '"mmsi" < 735000000'
    >>> MmsiRange(735000000, None).sql()
    '("mmsi" >= 735000000 OR "mmsi" IS NULL)'
    """

    lo: int | None = None
    hi: int | None = None

    def sql(self) -> str:
        """The SQL condition on ``mmsi``."""
        col = _ident("mmsi")
        if self.lo is None and self.hi is None:
            return "TRUE"
        if self.hi is None:
            return f"({col} >= {int(self.lo or 0)} OR {col} IS NULL)"
        if self.lo is None:
            return f"{col} < {int(self.hi)}"
        return f"{col} >= {int(self.lo)} AND {col} < {int(self.hi)}"


def split_mmsi(mmsi: np.ndarray, rows: np.ndarray, max_rows: int) -> list[MmsiRange]:
    """Cut a day into consecutive MMSI ranges of at most ``max_rows`` rows each.

    Parameters
    ----------
    mmsi
        The day's distinct MMSIs, ascending (rows without an MMSI left out: they go with the
        last range).
    rows
        Rows of each MMSI.
    max_rows
        Most rows in one range; an MMSI with more rows than this gets a range of its own.

    Returns
    -------
    list of MmsiRange
        Covering every MMSI (the first open below, the last open above), in MMSI order.

    Examples
    --------
    >>> import numpy as np
    >>> split_mmsi(np.array([1, 2, 3, 4]), np.array([5, 5, 20, 5]), 10)
    [MmsiRange(lo=None, hi=3), MmsiRange(lo=3, hi=4), MmsiRange(lo=4, hi=None)]
    >>> split_mmsi(np.array([1, 2]), np.array([5, 5]), 10)
    [MmsiRange(lo=None, hi=None)]
    """
    import numpy as np

    if max_rows < 1:
        raise ValueError(f"max_rows must be at least 1, got {max_rows}")
    ends = np.cumsum(np.asarray(rows, dtype=np.int64))
    starts = [0]
    while True:
        first = starts[-1]
        before = int(ends[first - 1]) if first else 0
        stop = max(int(np.searchsorted(ends, before + max_rows, side="right")), first + 1)
        if stop >= len(ends):
            break
        starts.append(stop)
    cuts = [int(m) for m in np.asarray(mmsi)[starts[1:]]]
    return [MmsiRange(lo, hi) for lo, hi in zip([None, *cuts], [*cuts, None], strict=True)]


def rows_per_mmsi_sql(files: Sequence[str]) -> str:
    """DuckDB query of the rows per MMSI of ``files`` (``mmsi``, ``rows``), ascending, rows
    without an MMSI left out: what :func:`split_mmsi` takes."""
    if not files:
        raise ValueError("rows_per_mmsi_sql needs at least one file")
    col = _ident("mmsi")
    return (
        f"SELECT {col}, count(*) AS rows FROM read_parquet({sql_list(files)}) "
        f"WHERE {col} IS NOT NULL GROUP BY {col} ORDER BY {col}"
    )


def _scan_sql(groups: Sequence[Sequence[str]], where: str) -> str:
    """Every row of every group's files that satisfies ``where``, with its group in
    :data:`SOURCE`: one scan of all files, whatever their number, so DuckDB's memory does not
    grow with the inputs; ``where`` is pushed into it."""
    files = [f for g in groups for f in g]
    if not files:
        raise ValueError("a merge needs at least one source file")
    source = ", ".join(f"({sql_string(f)}, {i})" for i, g in enumerate(groups) for f in g)
    return (
        f"SELECT s.* EXCLUDE (__file), g.{SOURCE} "
        f"FROM read_parquet({sql_list(files)}, filename = '__file', union_by_name = true) s "
        f"JOIN (VALUES {source}) g(__file, {SOURCE}) ON s.__file = g.__file "
        f"WHERE {where}"
    )


def _marked_sql(rule: DedupRule, groups: Sequence[Sequence[str]], window: timedelta,
                where: str, late: LateCopies = LATE_COPIES) -> str:
    """The rows of :func:`_scan_sql` with the rule's columns, :data:`SOURCE`, :data:`KEEP`
    and :data:`CHAIN_SOURCE` (plus the window's own columns)."""
    w = _window(rule, window, late)
    return (
        f"SELECT *, coalesce(NOT ({w.drop}), false) AS {KEEP}, {w.chain} AS {CHAIN_SOURCE} "
        f"FROM (SELECT *, {w.functions} FROM ({_scan_sql(groups, where)}))"
    )


def merge_sql(
    rule: DedupRule,
    groups: Sequence[Sequence[str]],
    window: timedelta,
    mmsi: MmsiRange = MmsiRange(),
    late: LateCopies = LATE_COPIES,
) -> str:
    """DuckDB query that merges one day's Parquet files, or one MMSI range of them.

    ``groups``: the files of each source in precedence order, group 0 the day's live files
    (may be empty) and then one group per input of a batch. The query returns, in
    ``(mmsi, ts)`` order, the rows of the range the day file keeps and the live rows (group
    0) that a copy in an input replaces, with the table's columns and three more:
    :data:`SOURCE` (its group), :data:`KEEP` (False for a replaced live row) and
    :data:`CHAIN_SOURCE` (the group of the row kept in a replaced one's stead). Exact ties
    between groups keep the lower group, so the kept rows are those of merging the inputs one
    after another; the kept rows per group less the live rows each group's copy replaced
    are what each input added. (The inputs' own duplicates are left out: they are each
    input's rows less its kept ones.)

    All files are read by one scan; the range's condition is pushed into it, so it skips the
    row groups whose MMSI statistics lie outside the range (staged files are sorted by MMSI).

    Examples
    --------
    >>> sql = merge_sql(RULES["positions"], [[], ["a.parquet"]], DEFAULT_DEDUP_WINDOW)
    >>> "PARTITION BY" in sql and "'a.parquet'" in sql
    True
    """
    select = ", ".join(_ident(c) for c in rule.columns)
    # ties in the rule's key: two kept rows of one vessel and time differ there (rows equal
    # in it are copies), and its columns are numbers for positions: a narrow sort key
    ties = [c for c in rule.key if c not in SORT_KEY]
    order = ", ".join(f"{_ident(c)} NULLS LAST" for c in (*SORT_KEY, *ties)) + f", {SOURCE}"
    marked = _marked_sql(rule, groups, window, mmsi.sql(), late)
    return (
        f"SELECT {select}, {SOURCE}, {KEEP}, {CHAIN_SOURCE} FROM ({marked}) "
        f"WHERE {KEEP} OR {SOURCE} = 0 ORDER BY {order}"
    )


def chain_credits_sql(
    rule: DedupRule,
    groups: Sequence[Sequence[str]],
    window: timedelta,
    mmsi: MmsiRange = MmsiRange(),
    only: Sequence[int] = (),
    late: LateCopies = LATE_COPIES,
) -> str:
    """The replaced live rows :func:`merge_sql` could not credit, counted by the group kept
    in their stead, as ``(group, rows)``.

    A live row is replaced when an input holds an earlier copy; the copy kept is the first of
    the chain of copies the live row belongs to. :func:`merge_sql` sees only the previous row
    of the key, which tells the chain's first row unless that previous row is a duplicate
    too (two inputs holding the same line, then the stored later copy). For those rows this
    query runs a second window over the kept flags: the last kept row before each. Where
    that row is stored too (an input's row bridged two stored rows more than the window
    apart, see docs/store.md, "Known limits"), the last input row before it is credited.
    Run it only over the MMSIs concerned (``only``, within ``mmsi``): it costs a second sort.

    Examples
    --------
    >>> sql = chain_credits_sql(RULES["positions"], [["a.parquet"], ["b.parquet"]],
    ...                         DEFAULT_DEDUP_WINDOW, only=[735057000])
    >>> "IGNORE NULLS" in sql and "735057000" in sql
    True
    """
    w = _window(rule, window, late)
    where = mmsi.sql()
    if only:
        where += f" AND {_ident('mmsi')} IN ({', '.join(str(int(m)) for m in only)})"
    before = (
        f"OVER (PARTITION BY {w.partition} ORDER BY {w.order} "
        f"ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)"
    )
    chain = (
        f"coalesce(nullif(last_value(CASE WHEN {KEEP} THEN {SOURCE} END IGNORE NULLS) "
        f"{before}, 0), last_value(nullif({SOURCE}, 0) IGNORE NULLS) {before}, 0)"
    )
    return (
        f"SELECT __chain, count(*) FROM (SELECT *, {chain} AS __chain "
        f"FROM ({_marked_sql(rule, groups, window, where, late)})) "
        f"WHERE NOT {KEEP} AND {SOURCE} = 0 AND {CHAIN_SOURCE} IS NULL GROUP BY __chain"
    )
