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


def merge_day_sql(rule: DedupRule, sources: Sequence[str], target: str, window: timedelta) -> str:
    """DuckDB ``COPY`` that merges one day's Parquet files into one deduplicated, sorted file.

    ``sources``: the day's live file(s) and the newly staged files; ``target``: the new file.
    The statement returns the number of rows written.
    """
    if not sources:
        raise ValueError("merge_day_sql needs at least one source file")
    cols = rule.columns
    rest = [c for c in cols if c not in rule.key and c != "ts"]
    select = ", ".join(_ident(c) for c in cols)
    partition = ", ".join(_ident(c) for c in rule.key)
    tiebreak = ", ".join(f"{_ident(c)} NULLS LAST" for c in ("ts", *rest))
    files = "[" + ", ".join(sql_string(s) for s in sources) + "]"
    scan = f"read_parquet({files})"
    if rule.windowed:
        window_us = int(window / timedelta(microseconds=1))
        limit = str(window_us)
        if rule.window_requires:
            col = _ident(rule.window_requires)
            limit = f"(CASE WHEN {col} BETWEEN 0 AND 59 THEN {window_us} ELSE 0 END)"
        body = (
            f"SELECT {select} FROM ("
            f"SELECT *, lag(ts) OVER (PARTITION BY {partition} ORDER BY {tiebreak}) "
            f"AS __prev_ts FROM {scan}) "
            f"WHERE __prev_ts IS NULL OR epoch_us(ts) - epoch_us(__prev_ts) > {limit}"
        )
    else:
        body = (
            f"SELECT {select} FROM {scan} "
            f"QUALIFY row_number() OVER (PARTITION BY {partition} ORDER BY {tiebreak}) = 1"
        )
    order = ", ".join(f"{_ident(c)} NULLS LAST" for c in SORT_KEY)
    return (
        f"COPY ({body} ORDER BY {order}) TO {sql_string(target)} "
        f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP_SIZE})"
    )
