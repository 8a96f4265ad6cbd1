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

from seawatch import schema

DEFAULT_DEDUP_WINDOW = timedelta(seconds=30)
"""Copies of one report received up to this long after the previous copy are duplicates."""

ROW_GROUP_SIZE = 131_072
"""Rows per Parquet row group in day files (~128k: small enough to prune by vessel and time,
large enough to compress well)."""


SORT_KEY = ("mmsi", "ts")
"""Order of rows in every day file."""


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

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(schema.TABLES[self.table])


RULES: dict[str, DedupRule] = {
    "positions": DedupRule(
        "positions",
        ("mmsi", "msg_type", "lat", "lon", "sog", "cog", "heading", "nav_status", "second"),
        windowed=True,
        window_requires="second",
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


def _dedup_parts(rule: DedupRule, window: timedelta) -> tuple[str, str, str]:
    """``(partition, tiebreak, drop)``: the window's PARTITION BY and ORDER BY lists and the
    SQL condition that marks a row as a duplicate, over ``__prev_ts`` (the ``ts`` of the
    previous row of the key) for the windowed rule, over ``__rank`` (the row's place in its
    key) for the other."""
    rest = [c for c in rule.columns if c not in rule.key and c != "ts"]
    partition = ", ".join(_ident(c) for c in rule.key)
    tiebreak = ", ".join(f"{_ident(c)} NULLS LAST" for c in ("ts", *rest))
    if not rule.windowed:
        return partition, tiebreak, "__rank > 1"
    window_us = int(window / timedelta(microseconds=1))
    limit = str(window_us)
    if rule.window_requires:
        col = _ident(rule.window_requires)
        limit = f"(CASE WHEN {col} BETWEEN 0 AND 59 THEN {window_us} ELSE 0 END)"
    return (
        partition,
        tiebreak,
        f"__prev_ts IS NOT NULL AND epoch_us(ts) - epoch_us(__prev_ts) <= {limit}",
    )


def _copy_to(query: str, target: str) -> str:
    order = ", ".join(f"{_ident(c)} NULLS LAST" for c in SORT_KEY)
    return (
        f"COPY ({query} ORDER BY {order}) TO {sql_string(target)} "
        f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP_SIZE})"
    )


def _scan(files: Sequence[str]) -> str:
    return "read_parquet([" + ", ".join(sql_string(s) for s in files) + "])"


def merge_day_sql(rule: DedupRule, sources: Sequence[str], target: str, window: timedelta) -> str:
    """DuckDB ``COPY`` that merges one day's Parquet files into one deduplicated, sorted file.

    ``sources``: the day's live file(s) and the newly staged files; ``target``: the new file.
    The statement returns the number of rows written.
    """
    if not sources:
        raise ValueError("merge_day_sql needs at least one source file")
    cols = rule.columns
    select = ", ".join(_ident(c) for c in cols)
    partition, tiebreak, drop = _dedup_parts(rule, window)
    scan = _scan(sources)
    if rule.windowed:
        body = (
            f"SELECT {select} FROM ("
            f"SELECT *, lag(ts) OVER (PARTITION BY {partition} ORDER BY {tiebreak}) "
            f"AS __prev_ts FROM {scan}) "
            f"WHERE NOT ({drop})"
        )
    else:
        body = (
            f"SELECT {select} FROM {scan} "
            f"QUALIFY row_number() OVER (PARTITION BY {partition} ORDER BY {tiebreak}) = 1"
        )
    return _copy_to(body, target)


MERGED = "__merged"
"""The temporary DuckDB table :func:`merge_groups_sql` fills."""


def merge_groups_sql(
    rule: DedupRule, groups: Sequence[Sequence[str]], target: str, window: timedelta
) -> tuple[str, str, str]:
    """A day merge that also says which input each kept and each dropped row came from.

    ``groups``: the files of each source in precedence order, group 0 the day's live files
    (may be empty) and then one group per input of a batch. Rows are deduplicated by the same
    rule as :func:`merge_day_sql` (exact ties between groups keep the lower group), so the
    day file is the same as merging the inputs one after another.

    Returns three statements to run in order: fill the temporary table :data:`MERGED`
    (every row with ``__src``, its group, ``__keep`` and ``__prev_src``, the group of the
    row it duplicates); ``COPY`` the kept rows to ``target``; and count, per ``__src``, the
    rows kept and per ``__prev_src`` the live rows (group 0) an input's earlier copy
    replaced, as ``(group, kept, replaced)`` rows.
    """
    if not any(groups):
        raise ValueError("merge_groups_sql needs at least one source file")
    cols = rule.columns
    select = ", ".join(_ident(c) for c in cols)
    partition, tiebreak, drop = _dedup_parts(rule, window)
    scans = " UNION ALL BY NAME ".join(
        f"SELECT *, {i} AS __src FROM {_scan(files)}" for i, files in enumerate(groups) if files
    )
    over = f"OVER (PARTITION BY {partition} ORDER BY {tiebreak}, __src)"
    prev = f"lag(__src) {over} AS __prev_src, " + (
        f"lag(ts) {over} AS __prev_ts" if rule.windowed else f"row_number() {over} AS __rank"
    )
    fill = (
        f"CREATE OR REPLACE TEMP TABLE {MERGED} AS "
        f"SELECT {select}, __src, NOT ({drop}) AS __keep, __prev_src "
        f"FROM (SELECT *, {prev} FROM ({scans}))"
    )
    copy = _copy_to(f"SELECT {select} FROM {MERGED} WHERE __keep", target)
    count = (
        f"SELECT g, sum(kept)::BIGINT, sum(replaced)::BIGINT FROM ("
        f"SELECT __src AS g, count(*) AS kept, 0 AS replaced FROM {MERGED} WHERE __keep "
        f"GROUP BY __src UNION ALL "
        f"SELECT __prev_src AS g, 0 AS kept, count(*) AS replaced FROM {MERGED} "
        f"WHERE NOT __keep AND __src = 0 GROUP BY __prev_src) GROUP BY g ORDER BY g"
    )
    return fill, copy, count
