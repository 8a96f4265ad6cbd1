"""Receiving stations' clocks: estimate each station's offset on a staged batch, correct it,
and drop the copies of a report whose receive time is displaced.

A report heard by several stations is one transmission, so its copies should carry nearly the
same receive time (``ts``). A station whose copies sit consistently earlier or later than the
other stations' copies of the same reports has a wrong clock: set to local time instead of
UTC (a whole number of hours: UTC-5 in mainland Ecuador, UTC-6 in Galapagos) or drifting
(seconds). This module runs on the staged rows of one ingest batch, every input together
(stations often arrive in separate files), before the day merge of
:mod:`seawatch.store.ingest`:

1. **Match copies.** Position rows are copies of one transmission when they are equal on the
   duplicate key of :data:`seawatch.store.dedup.RULES` (which holds the vessel's own UTC
   ``second``). Only keys a station heard exactly once in the batch are matched, so a moored
   vessel repeating one report every few minutes does not pair one transmission with another.
2. **Estimate.** For each pair of stations, the median of their time differences over the
   copies they share, the number of copies, and the share of copies within
   ``agreement`` of that median (how stable the offset is). Stations whose medians agree
   within ``same_clock`` (5 min) form groups; the group with most stations is the
   reference (UTC). A
   station outside it, with at least ``min_copies`` copies shared with a station whose
   offset is known, gets the median difference as its offset; a whole-hour offset is
   snapped to whole hours plus the station's own second residual (below).
3. **Second residual.** A station heard alone (no shared copies) is checked against the
   vessels' own ``second`` field: a correct clock receives a report within a second or two
   of the second the vessel stamped on it. ``ts - second`` (modulo 60 s, its fullest 5 s:
   :func:`station_rows`) gives a station's offset modulo one minute, so a drifting clock is
   caught (a whole-hour offset is invisible to it).
4. **Act.** A station off by more than ``on_time`` with a stable estimate is corrected: every
   row it delivered in the batch (positions, vessels, stations, other messages) has its
   ``ts`` shifted back by the offset, moving to another day file where that crosses
   midnight. A station whose copies disagree with the reference by more than ``unstable``
   (10 min) but not consistently (a clock that jumps) is quarantined: its rows are not
   stored, and counted as ``clock_unstable``; one whose inconsistent copies sit closer than
   that (a feed stamped on arrival, its latency wandering) is kept as it is and listed as
   ``undecided``. A station whose group ties with another group for the
   reference (two stations that disagree, nothing to tell which is right) is left as it is
   and listed as ``undecided``.
5. **Displaced copies.** After the correction, copies of one key more than the duplicate
   window apart are either repeated identical reports (a moored vessel) or a copy stamped
   at a wrong time (a line whose clock was off). Each copy is compared with the vessel's
   neighbouring reports in time: a copy is plausible when one of the two reports on each
   side is at the same place (a moored vessel's repeat), or when the report nearest in time
   is within ``neighbour_horizon`` and no farther than ``max_speed_kn`` allows. An
   implausible copy is dropped (counted as a duplicate) when another copy of the same report
   is plausible and the track around it holds together (two of its neighbours agree with
   each other: not a shared MMSI zigzagging between two vessels) or it has no neighbour
   within ``neighbour_horizon``. Repeated reports of a moored vessel are all plausible and
   all kept.

The offsets are also estimated against the rows already in the store for the batch's days
(one more station, :data:`STORED`); the displaced copies are looked for within the batch only
(docs/store.md, "Station clocks and duplicates"). Every station seen in a batch gets one row
in the store's ``clocks`` table, which ``seawatch info`` lists.

Examples
--------
>>> ClockSettings().min_copies
30
>>> second_residual_s(3600 * 5 + 17, 0), second_residual_s(59, 1)
(17, -2)
"""

from __future__ import annotations

import math
import shutil
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from seawatch import schema
from seawatch.io.quarantine import Reason
from seawatch.store import layout
from seawatch.store.dedup import RULES, sql_list, sql_string

if TYPE_CHECKING:
    import duckdb

    from seawatch.store.ingest import Staging

MIN_COPIES = 30
"""Fewest copies two stations must share before an offset is estimated from them: the median
of 30 differences is off by less than a second even when a fifth of them are wrong (lines off
by an hour, copies relayed late), and a station that shares fewer copies in a day is left as
it is rather than shifted on thin evidence."""

MATCH_ROWS = 5_000_000
"""Most position rows matched across stations for the offsets: a bigger batch is sampled by
vessel (MMSI hash) down to about this many. Copies shared by two stations are a few per cent
of their rows, so 5 M rows still give each pair of overlapping stations hundreds of copies,
and the join stays a few seconds however big the day."""

UNSTABLE = timedelta(minutes=10)
"""A station whose copies disagree among themselves is quarantined only when their median is
farther than this from the reference (a clock that jumps between zones, hours apart). A feed
stamped on arrival at an aggregator wanders by seconds to a few minutes with its latency: its
rows are kept as they are (``undecided``) rather than a whole feed lost."""

ON_TIME = timedelta(seconds=5)
"""A station whose median difference to the reference is within this is on time: copies of one
transmission arrive within a few seconds at different receivers (the simulator delays the
second copy by up to 5 s), and an offset below the 30 s duplicate window changes no merge."""

AGREEMENT = timedelta(seconds=180)
"""A copy agrees with its station pair's median difference when within this. Copies of one
transmission usually reach two receivers seconds apart, but a feed relayed through an
aggregator (or stamped on arrival there) lags by a varying minute or two: such a pair's
differences spread over a couple of minutes around a median that is still its offset (the
simulator's messy profile delays second copies by up to 120 s). A clock that jumps between
zones sits tens of minutes to hours from its median and does not agree."""

SAME_CLOCK = timedelta(minutes=5)
"""Stations whose pair median is within this are grouped as keeping the same clock (the
largest group is UTC). Above the minute or two a relayed feed lags, far below the whole hours
of a clock set to local time: with the 5 s of :data:`ON_TIME` a pair of stations one of
which lags by a minute formed no group at all, every station was its own, and a tie of
single stations left a station five hours off uncorrected."""

MIN_AGREEMENT = 0.8
"""Share of a station pair's copies that must agree with the median for the offset to be
stable. A clock set to the wrong zone agrees on nearly every copy (all but the lines that
are wrong on their own); one that jumps during the day agrees on about half."""

HOUR_SNAP = timedelta(seconds=60)
"""An offset within this of a whole number of hours is a local-time setting: it is snapped to
the whole hours plus the station's second residual (the seconds its clock is off besides),
instead of carrying the receivers' delay differences of the median."""

RESIDUAL_WITHIN_S = 2
"""A row agrees with its station's second residual when within this many seconds of it: a
terrestrial receiver stamps a report within a second of its transmission, and receive times
are whole seconds."""

MIN_SECOND_ROWS = 30
"""Fewest rows with a valid ``second`` (0-59) before a station's second residual is used."""

MAX_SPEED_KN = 50.0
"""Fastest a vessel can move between two reports (knots) for a copy to be plausible: above
the top speed of nearly all ships (fast ferries and patrol boats reach 40-50 kn); a copy an
hour off on a vessel making 10 kn is 10 NM from its neighbours, far beyond this over seconds."""

NEIGHBOUR_HORIZON = timedelta(minutes=10)
"""A copy is supported by a neighbouring report of its vessel only within this time of it:
class A vessels report every 2-10 s under way and every 3 min at anchor, class B every 30 s
under way, so a received track has neighbours within minutes. A copy whose nearest reports
are farther away in time agrees with them at any plausible speed and proves nothing (a
line stamped an hour late beyond the end of its vessel's track)."""

NEIGHBOURS = 2
"""Reports of the vessel on each side of a copy (in time) it is compared with for being at
the same place, so that a garbled report next to a moored vessel's repeat does not condemn
it; two of them agreeing with each other show that the track around the copy holds
together."""

SLACK_M = 1000.0
"""Distance (metres) a copy may be from a neighbouring report whatever the time between them:
GNSS jitter and the resolution of the receive time (whole seconds)."""

CLOCK_COLUMNS: dict[str, pl.DataType] = {
    "station": pl.String(),  # tag block s: (or the input's name)
    "estimated_at": schema.TS,  # when the batch was committed
    "first_ts": schema.TS,  # the station's first and last position time in the batch, as
    "last_ts": schema.TS,  # received (before any correction)
    "rows": pl.Int64(),  # position rows of the station in the batch
    "copies": pl.Int64(),  # copies shared with the station the offset was estimated from
    "reference": pl.String(),  # that station, "second" (second residual) or null
    "offset_s": pl.Float64(),  # station time minus UTC, seconds; null when not estimated
    "agreement": pl.Float64(),  # share of the copies agreeing with the offset
    "action": pl.String(),  # one of ACTIONS
}
"""Columns of the store's ``clocks`` table: one row per station per committed batch."""

ACTIONS = ("on_time", "corrected", "quarantined", "undecided", "not_estimated")
"""What a batch did with a station: ``on_time`` (offset within :data:`ON_TIME`),
``corrected`` (times shifted by the offset), ``quarantined`` (offset unstable and more than
:data:`UNSTABLE` off: rows not stored), ``undecided`` (disagrees with a station of a tied
group, or unstable within :data:`UNSTABLE`: left as it is),
``not_estimated`` (too few shared copies and no usable second residual)."""


@dataclass(frozen=True)
class ClockSettings:
    """The thresholds of the clock check (module constants for their reasons).

    ``window`` is the duplicate window of the store: copies of a key farther apart than it
    are checked for displacement. A store takes its own (``Store(clock_settings=...)``,
    ``seawatch ingest --same-clock/--clock-agreement/--clock-unstable``), whose ``window``
    is set to its duplicate window.

    >>> ClockSettings(same_clock=timedelta(minutes=-1))
    Traceback (most recent call last):
    ...
    seawatch.errors.InvalidValue: clock setting same_clock must be positive, got -1 day, 23:59:00
    """

    window: timedelta = timedelta(seconds=30)
    min_copies: int = MIN_COPIES
    match_rows: int = MATCH_ROWS
    on_time: timedelta = ON_TIME
    same_clock: timedelta = SAME_CLOCK
    unstable: timedelta = UNSTABLE
    agreement: timedelta = AGREEMENT
    min_agreement: float = MIN_AGREEMENT
    hour_snap: timedelta = HOUR_SNAP
    min_second_rows: int = MIN_SECOND_ROWS
    max_speed_kn: float = MAX_SPEED_KN
    neighbour_horizon: timedelta = NEIGHBOUR_HORIZON
    slack_m: float = SLACK_M

    def __post_init__(self) -> None:
        from seawatch.errors import InvalidValue

        for name in ("on_time", "same_clock", "unstable", "agreement", "hour_snap",
                     "neighbour_horizon"):
            value = getattr(self, name)
            if value <= timedelta(0):
                raise InvalidValue(f"clock setting {name} must be positive, got {value}")
        if self.window < timedelta(0):
            raise InvalidValue(f"clock setting window must not be negative, got {self.window}")
        if not 0.0 < self.min_agreement <= 1.0:
            raise InvalidValue(
                f"clock setting min_agreement must be in (0, 1], got {self.min_agreement}")


DEFAULT_CLOCK_SETTINGS = ClockSettings()
"""The defaults (a store's, with its duplicate window as ``window``)."""


@dataclass
class ClockResult:
    """What the check of one batch found and did.

    ``stations``: one row per station (columns of :data:`CLOCK_COLUMNS` but
    ``estimated_at``). ``shifted`` / ``quarantined``: rows per input (index in the batch)
    and station whose times were corrected / that were not stored. ``displaced``: position
    rows dropped as displaced copies.
    """

    stations: pl.DataFrame
    shifted: Counter[tuple[int, str]] = field(default_factory=Counter)
    quarantined: Counter[tuple[int, str]] = field(default_factory=Counter)
    displaced: int = 0

    def offsets(self) -> dict[str, float]:
        """Offset (seconds) of each corrected station."""
        rows = self.stations.filter(pl.col("action") == "corrected")
        return dict(zip(rows["station"].to_list(), rows["offset_s"].to_list(), strict=True))


def second_residual_s(ts_s: int, second: int) -> int:
    """Seconds a receive time (whole epoch seconds) is after the vessel's own UTC ``second``,
    folded into -30..29: the receiver's offset modulo one minute.

    >>> second_residual_s(125, 3), second_residual_s(125, 10)
    (2, -5)
    """
    return (ts_s - second + 30) % 60 - 30


def _key_hash(alias: str = "") -> str:
    cols = ", ".join(f'{alias}"{c}"' for c in RULES["positions"].key)
    return f"hash({cols})"


def pair_offsets_sql(files: Sequence[str], agreement: timedelta, every: int = 1,
                     stored: Sequence[str] = ()) -> str:
    """DuckDB query of the time differences between stations over the copies they share.

    Returns ``a``, ``b`` (stations, ``a < b``), ``copies``, ``median_us`` (median of
    ``ts_a - ts_b`` in microseconds) and ``agree`` (share of copies within ``agreement`` of
    the median). Only keys a station heard once in the files are matched, and only the
    vessels whose MMSI hash falls in one of ``every`` buckets (a sample that bounds the cost on
    a big batch; 1: all). The rows of the ``stored`` files (the store's live files of the
    batch's days) take part as one station, :data:`STORED`.

    >>> "median" in pair_offsets_sql(["a.parquet"], timedelta(seconds=10))
    True
    """
    agree_us = int(agreement / timedelta(microseconds=1))
    cols = "mmsi, msg_type, lat, lon, sog, cog, heading, nav_status, second, ts"
    rows = f"SELECT {cols}, source FROM read_parquet({sql_list(files)}, union_by_name = true)"
    if stored:
        # only the stored copies of the batch's reports can pair with its stations: the
        # others are left out before the grouping (its memory follows the batch, not the day)
        rows += (f" UNION ALL SELECT {cols}, {sql_string(STORED)} AS source "
                 f"FROM read_parquet({sql_list(stored)}, union_by_name = true) "
                 f"WHERE {_key_hash()} IN (SELECT {_key_hash()} "
                 f"FROM read_parquet({sql_list(files)}, union_by_name = true))")
    return f"""
    WITH once AS (
        SELECT {_key_hash()} AS k, source, min(epoch_us(ts)) AS t
        FROM ({rows})
        WHERE second BETWEEN 0 AND 59 AND mmsi IS NOT NULL AND source IS NOT NULL
          AND hash(mmsi) % {int(every)} = 0
        GROUP BY k, source HAVING count(*) = 1
    ), pairs AS (
        SELECT x.source AS a, y.source AS b, x.t - y.t AS d
        FROM once x JOIN once y ON x.k = y.k AND x.source < y.source
    ), stats AS (
        SELECT a, b, count(*) AS copies, median(d)::BIGINT AS median_us FROM pairs GROUP BY a, b
    )
    SELECT s.a, s.b, s.copies, s.median_us,
           avg(CASE WHEN abs(p.d - s.median_us) <= {agree_us} THEN 1.0 ELSE 0.0 END) AS agree
    FROM stats s JOIN pairs p ON p.a = s.a AND p.b = s.b
    GROUP BY s.a, s.b, s.copies, s.median_us ORDER BY s.a, s.b
    """


STORED = "(stored)"
"""The station name of the rows already in the store when they are matched with a batch's
(see :func:`pair_offsets_sql`): one station, since the store keeps one copy of each report,
whichever station heard it first. Its rows were checked at their own ingest and are never
changed again; it wins a tie for the reference."""


def station_rows_sql(files: Sequence[str]) -> str:
    """DuckDB query of each station's rows by second residual (see
    :func:`second_residual_s`; null without a valid ``second``): ``source``, ``res``,
    ``n``, ``first_ts``, ``last_ts``. A small table (at most 61 rows a station) that
    :func:`station_rows` folds.

    >>> "GROUP BY source, res" in station_rows_sql(["a.parquet"])
    True
    """
    resid = "((epoch(ts)::BIGINT - second + 30) % 60 + 60) % 60 - 30"
    return f"""
    SELECT source, CASE WHEN second BETWEEN 0 AND 59 THEN {resid} END AS res,
           count(*) AS n, min(ts) AS first_ts, max(ts) AS last_ts
    FROM read_parquet({sql_list(files)}, union_by_name = true)
    WHERE source IS NOT NULL
    GROUP BY source, res
    """


def station_rows(histogram: pl.DataFrame, within_s: int = RESIDUAL_WITHIN_S) -> pl.DataFrame:
    """Each station's rows and second residual from :func:`station_rows_sql`: ``source``,
    ``rows``, ``first_ts``, ``last_ts``, ``second_rows``, ``residual_s`` (the centre of the
    ``2 * within_s + 1`` seconds, circular, holding most rows, moved to the mean of the rows
    there: a median that does not break where the residuals wrap from 29 to -30) and
    ``residual_agree`` (the share of rows in the window).

    >>> h = pl.DataFrame({"source": ["a", "a", "a"], "res": [29, -30, 5], "n": [40, 50, 10],
    ...                   "first_ts": [None] * 3, "last_ts": [None] * 3})
    >>> station_rows(h).select("rows", "residual_s", "residual_agree").row(0)
    (100, -30, 0.9)
    >>> h = pl.DataFrame({"source": ["b", "b"], "res": [0, 1], "n": [60, 40],
    ...                   "first_ts": [None] * 2, "last_ts": [None] * 2})
    >>> station_rows(h).select("residual_s", "residual_agree").row(0)
    (0, 1.0)
    """
    import numpy as np

    out: dict[str, list[Any]] = {k: [] for k in (
        "source", "rows", "first_ts", "last_ts", "second_rows", "residual_s",
        "residual_agree")}
    for (source,), part in histogram.sort("source").group_by("source", maintain_order=True):
        counts = np.zeros(60, dtype=np.int64)
        known = part.filter(pl.col("res").is_not_null())
        np.add.at(counts, known["res"].to_numpy().astype(np.int64) + 30, known["n"].to_numpy())
        window = np.zeros(60, dtype=np.int64)
        for k in range(-within_s, within_s + 1):
            window += np.roll(counts, k)
        total = int(counts.sum())
        best = int(np.argmax(window * (total + 1) + counts))  # ties: the fullest second
        if window[best]:  # the rows' mean within the window, to the whole second
            near = np.arange(-within_s, within_s + 1)
            weights = counts[(best + near) % 60]
            best = (best + round(float((near * weights).sum()) / float(weights.sum()))) % 60
        out["source"].append(source)
        out["rows"].append(int(part["n"].sum()))
        out["first_ts"].append(part["first_ts"].min())
        out["last_ts"].append(part["last_ts"].max())
        out["second_rows"].append(total)
        out["residual_s"].append(best - 30 if total else None)
        out["residual_agree"].append(float(window[best]) / total if total else None)
    return pl.DataFrame(out, schema={
        "source": pl.String(), "rows": pl.Int64(), "first_ts": schema.TS,
        "last_ts": schema.TS, "second_rows": pl.Int64(), "residual_s": pl.Int64(),
        "residual_agree": pl.Float64()})


@dataclass
class _Estimate:
    offset_us: int | None = None
    copies: int = 0
    reference: str | None = None
    agreement: float | None = None
    action: str = "not_estimated"


def _seconds(us: int | None) -> float | None:
    return None if us is None else us / 1e6


def estimate_offsets(
    pairs: pl.DataFrame, stations: pl.DataFrame, settings: ClockSettings,
    trusted: str | None = None,
) -> pl.DataFrame:
    """Each station's offset and what to do with it, from :func:`pair_offsets_sql` and
    :func:`station_rows_sql` (see the module's steps 2 and 3). Of two groups of stations of
    equal size, the one holding ``trusted`` (the store's rows) is the reference.

    Returns one row per station: ``station``, ``first_ts``, ``last_ts``, ``rows``,
    ``copies``, ``reference``, ``offset_s``, ``agreement``, ``action``.

    Examples
    --------
    Three stations, ``c`` five hours behind the other two:

    >>> h5 = -5 * 3600 * 10**6
    >>> pairs = pl.DataFrame({"a": ["a", "a", "b"], "b": ["b", "c", "c"],
    ...                       "copies": [40, 40, 40], "median_us": [0, -h5, -h5],
    ...                       "agree": [1.0, 0.99, 0.99]})
    >>> st = pl.DataFrame({"source": ["a", "b", "c"], "rows": [99] * 3,
    ...                    "second_rows": [99] * 3, "residual_s": [0] * 3,
    ...                    "residual_agree": [1.0] * 3})
    >>> out = estimate_offsets(pairs, st, ClockSettings())
    >>> out.select("station", "offset_s", "action").rows()
    [('a', 0.0, 'on_time'), ('b', 0.0, 'on_time'), ('c', -18000.0, 'corrected')]
    """
    us = timedelta(microseconds=1)
    on_time = int(settings.on_time / us)
    unstable = int(settings.unstable / us)
    snap = int(settings.hour_snap / us)
    hour = 3600 * 10**6
    names = stations["source"].to_list()
    rows = dict(zip(names, stations["second_rows"].to_list(), strict=True))
    residual = dict(zip(names, stations["residual_s"].to_list(), strict=True))
    res_agree = dict(zip(names, stations["residual_agree"].to_list(), strict=True))

    def residual_ok(s: str) -> bool:
        return (rows.get(s) or 0) >= settings.min_second_rows and (
            res_agree.get(s) or 0.0) >= settings.min_agreement

    # symmetric pair table: diff[(s, r)] = (copies, median of ts_s - ts_r, agreement)
    diff: dict[tuple[str, str], tuple[int, int, float]] = {}
    for a, b, n, med, agree in pairs.select("a", "b", "copies", "median_us", "agree").iter_rows():
        diff[a, b] = (int(n), int(med), float(agree))
        diff[b, a] = (int(n), -int(med), float(agree))
    enough = {k: v for k, v in diff.items() if v[0] >= settings.min_copies}
    stable = {k: v for k, v in enough.items() if v[2] >= settings.min_agreement}

    # groups of stations on time with each other (union-find over stable, agreeing pairs)
    parent = {s: s for s in names}

    def root(s: str) -> str:
        while parent[s] != s:
            parent[s] = parent[parent[s]]
            s = parent[s]
        return s

    same_clock = int(settings.same_clock / us)
    for (a, b), (_, med, _) in stable.items():
        if a in parent and b in parent and abs(med) <= same_clock:
            parent[root(a)] = root(b)
    groups: dict[str, list[str]] = {}
    for s in names:
        if any(s in k for k in enough):
            groups.setdefault(root(s), []).append(s)
    est = {s: _Estimate() for s in names}
    def rank(g: list[str]) -> tuple[int, bool]:
        return len(g), trusted in g

    ranked = sorted(groups.values(), key=rank, reverse=True)
    tied = len(ranked) > 1 and rank(ranked[0]) == rank(ranked[1])
    if ranked and not tied:
        known = {s: 0 for s in ranked[0]}
        for s in ranked[0]:  # on time by their copies with the group's other stations
            mates = [(v[0], r, v) for (x, r), v in stable.items() if x == s and r in known]
            if mates:
                n, ref, (_, med, agree) = max(mates)
                est[s] = _Estimate(med, n, ref, agree, "on_time")
            else:  # pragma: no cover - a group of one is never alone (see above)
                est[s] = _Estimate(0, 0, None, None, "on_time")
        changed = True
        while changed:  # stations matched to a known one, then those matched to them
            changed = False
            for s in names:
                if s in known:
                    continue
                links = [(v[0], r, v) for (x, r), v in enough.items() if x == s and r in known]
                if not links:
                    continue
                n, ref, (_, med, agree) = max(links)
                good = [(v[0], r, v) for (x, r), v in stable.items() if x == s and r in known]
                if not good:
                    off = med + known[ref]
                    if abs(off) > unstable:
                        est[s] = _Estimate(off, n, ref, agree, "quarantined")
                    elif abs(off) > on_time:
                        est[s] = _Estimate(off, n, ref, agree, "undecided")
                    continue
                n, ref, (_, med, agree) = max(good)
                offset = med + known[ref]
                hours = round(offset / hour)
                if hours and abs(offset - hours * hour) <= snap and residual_ok(s):
                    offset = hours * hour + int(residual[s]) * 10**6
                action = "corrected" if abs(offset) > on_time else "on_time"
                est[s] = _Estimate(offset, n, ref, agree, action)
                known[s] = offset
                changed = True
    elif tied:
        for s in (s for g in ranked for s in g):
            est[s] = _Estimate(None, 0, None, None, "undecided")
    for s in names:  # stations no copy could place: their second residual
        e = est[s]
        if e.action == "not_estimated" and residual_ok(s):
            offset = int(residual[s]) * 10**6
            action = "corrected" if abs(offset) > on_time else "on_time"
            est[s] = _Estimate(offset, 0, "second", float(res_agree[s]), action)
    return pl.DataFrame(
        {
            "station": names,
            "first_ts": stations["first_ts"] if "first_ts" in stations.columns else None,
            "last_ts": stations["last_ts"] if "last_ts" in stations.columns else None,
            "rows": stations["rows"],
            "copies": [est[s].copies for s in names],
            "reference": [est[s].reference for s in names],
            "offset_s": [_seconds(est[s].offset_us) for s in names],
            "agreement": [est[s].agreement for s in names],
            "action": [est[s].action for s in names],
        },
        schema={c: t for c, t in CLOCK_COLUMNS.items() if c != "estimated_at"},
    )


def displaced_sql(
    files: Sequence[str], offsets: dict[str, float], dropped: Sequence[str],
    settings: ClockSettings,
) -> str:
    """DuckDB query of the position rows that are displaced copies (module's step 5), as
    ``filename``, ``file_row_number``: ``ts`` corrected by ``offsets`` (seconds per station),
    rows of the ``dropped`` stations left out."""
    window_us = int(settings.window / timedelta(microseconds=1))
    speed_m_per_us = settings.max_speed_kn * 1852.0 / 3600e6
    values = ", ".join(f"({sql_string(s)}, {round(o * 1e6)})" for s, o in offsets.items())
    shift = (
        f"LEFT JOIN (VALUES {values}) o(src, off) ON p.source = o.src" if values
        else "LEFT JOIN (SELECT NULL::VARCHAR AS src, 0::BIGINT AS off) o ON FALSE"
    )
    drop = (" AND p.source NOT IN (" + ", ".join(sql_string(s) for s in dropped) + ")"
            if dropped else "")
    horizon_us = int(settings.neighbour_horizon / timedelta(microseconds=1))

    def dist(a: str, b: str) -> str:
        return (f"2 * 6371008.8 * asin(sqrt(pow(sin(radians(lat{b} - lat{a}) / 2), 2) + "
                f"cos(radians(lat{a})) * cos(radians(lat{b})) * "
                f"pow(sin(radians(lon{b} - lon{a}) / 2), 2)))")

    def same_place(a: str, b: str) -> str:
        return f"(lat{b} IS NOT NULL AND lat{a} IS NOT NULL AND {dist(a, b)} <= {settings.slack_m})"

    def agree(a: str, b: str) -> str:
        """Reports ``a`` and ``b`` (column suffixes) are at the same place, or near in time
        and within reach of each other."""
        return (f"({same_place(a, b)} OR (lat{b} IS NOT NULL AND lat{a} IS NOT NULL AND "
                f"abs(t{a} - t{b}) <= {horizon_us} AND "
                f"{dist(a, b)} <= {settings.slack_m} + {speed_m_per_us} * abs(t{a} - t{b})))")

    # plausible: at the same place as a neighbour (a moored vessel's repeat), or within reach
    # of the report nearest in time (the one before or the one after)
    prev, nxt = "0", str(NEIGHBOURS)
    nearest = (f"CASE WHEN t{nxt} IS NULL OR (t{prev} IS NOT NULL AND "
               f"t - t{prev} <= t{nxt} - t) THEN {agree('', prev)} ELSE {agree('', nxt)} END")
    near = " OR ".join([*(same_place("", str(j)) for j in range(2 * NEIGHBOURS)), nearest])
    # the track around the copy holds together (two neighbours agree with each other), so
    # that disagreeing with it means something (not a shared MMSI's zigzag between vessels)
    pairs = [("0", str(NEIGHBOURS)), ("0", "1"), (str(NEIGHBOURS), str(NEIGHBOURS + 1))]
    judged = " OR ".join(agree(a, b) for a, b in pairs)
    # or nothing is near it in time (a line stamped an hour off beyond its track's end)
    judged += " OR NOT (" + " OR ".join(
        f"coalesce(abs(t - t{j}) <= {horizon_us}, false)" for j in range(2 * NEIGHBOURS)) + ")"
    shifts = ", ".join(
        f"{fn}({c}, {k}) OVER w AS {c}{j}"
        for j, (fn, k) in enumerate((f, k) for f in ("lag", "lead")
                                    for k in range(1, NEIGHBOURS + 1))
        for c in ("lat", "lon", "t"))
    return f"""
    WITH r AS (
        SELECT {_key_hash('p.')} AS k, p.mmsi, p.lat, p.lon, p.second,
               epoch_us(p.ts) - coalesce(o.off, 0) AS t, p.filename AS f, p.file_row_number AS i
        FROM read_parquet({sql_list(files)}, union_by_name = true, filename = true,
                          file_row_number = true) p {shift}
        WHERE p.mmsi IS NOT NULL{drop}
    ), keys AS (
        SELECT k FROM r WHERE second BETWEEN 0 AND 59 AND lat IS NOT NULL AND lon IS NOT NULL
        GROUP BY k HAVING max(t) - min(t) > {window_us}
    ), vessels AS (
        SELECT DISTINCT mmsi FROM r SEMI JOIN keys USING (k)
    ), track AS (
        SELECT *,
            {shifts}
        FROM (SELECT * FROM r SEMI JOIN vessels USING (mmsi)
              WHERE lat IS NOT NULL AND lon IS NOT NULL)
        WINDOW w AS (PARTITION BY mmsi ORDER BY t, f, i)
    ), judged AS (
        SELECT k, f, i, ({near}) AS plausible, ({judged}) AS judged
        FROM track SEMI JOIN keys USING (k)
    )
    SELECT f AS filename, i AS file_row_number FROM judged
    WHERE judged AND NOT plausible AND k IN (SELECT k FROM judged WHERE plausible)
    ORDER BY f, i
    """


def _staged_files(staged: Sequence[Staging], table: str) -> list[tuple[int, str, Path]]:
    return [
        (n, day, f)
        for n, st in enumerate(staged)
        for day in sorted(st.days[table])
        for f in st.files(table, day)
    ]


def days_around(days: Iterable[Iterable[str]]) -> set[str]:
    """The UTC days (``YYYY-MM-DD``) of ``days`` and the day before and after each: where a
    batch's copies may lie in the store, whatever a station's offset within a day.

    >>> sorted(days_around([["2024-03-01"]]))
    ['2024-02-29', '2024-03-01', '2024-03-02']
    """
    out: set[str] = set()
    for group in days:
        for day in group:
            d = date.fromisoformat(day)
            out.update((d + timedelta(days=k)).isoformat() for k in (-1, 0, 1))
    return out


def check_batch(
    con: duckdb.DuckDBPyConnection, staged: Sequence[Staging], settings: ClockSettings,
    stored: Sequence[tuple[Path, int]] = (),
) -> ClockResult:
    """Estimate the stations' clocks over every staged input of a batch, correct or
    quarantine them and drop displaced copies, rewriting the staged files in place (see the
    module's steps). Each :class:`~seawatch.store.ingest.Staging` has its ``days``,
    ``day_rows``, ``removed`` and quarantine counts updated.

    ``stored``: the store's live positions files (and their rows) of the days around the
    batch's, whose copies the offsets are also estimated against (never changed).
    """
    empty = pl.DataFrame(schema={c: t for c, t in CLOCK_COLUMNS.items() if c != "estimated_at"})
    positions = _staged_files(staged, "positions")
    if not positions:
        return ClockResult(empty)
    files = [str(f) for _, _, f in positions]
    stations = station_rows(con.sql(station_rows_sql(files)).pl())
    if not stations.height:
        return ClockResult(empty)
    matched = int(stations["rows"].sum()) + sum(n for _, n in stored)
    sample = max(1, -(-matched // settings.match_rows))
    pairs = con.sql(pair_offsets_sql(files, settings.agreement, sample,
                                      [str(f) for f, _ in stored])).pl()
    if STORED in pairs["a"].to_list() + pairs["b"].to_list():
        # the stored rows join the estimate as one station, and leave it after
        stations = pl.concat([stations, pl.DataFrame(
            {"source": [STORED], "rows": [0], "second_rows": [0]}, schema_overrides={
                "rows": pl.Int64(), "second_rows": pl.Int64()})], how="diagonal_relaxed")
    estimate = estimate_offsets(pairs, stations, settings, trusted=STORED)
    result = ClockResult(estimate.filter(pl.col("station") != STORED))
    offsets = result.offsets()
    dropped = result.stations.filter(pl.col("action") == "quarantined")["station"].to_list()
    displaced = con.sql(displaced_sql(files, offsets, dropped, settings)).pl()
    result.displaced = displaced.height
    drop_rows: dict[str, list[int]] = {}
    for name, idx in displaced.group_by("filename").agg(pl.col("file_row_number")).iter_rows():
        drop_rows[name] = [int(i) for i in idx]
    touched: set[str] = set(drop_rows)
    wanted = [*offsets, *dropped]
    every = [(n, t, day, f) for t in layout.DATA_TABLES for n, day, f in _staged_files(staged, t)]
    if wanted:
        names = ", ".join(sql_string(s) for s in wanted)
        for table in layout.DATA_TABLES:
            table_files = [str(f) for n, t, day, f in every if t == table]
            if table_files:
                hit = con.sql(
                    f"SELECT DISTINCT filename FROM read_parquet({sql_list(table_files)}, "
                    f"filename = true) WHERE source IN ({names})"
                ).fetchall()
                touched.update(str(h[0]) for h in hit)
    for n, table, day, path in every:
        if str(path) in touched:
            _rewrite(staged[n], n, table, day, path, offsets, set(dropped),
                     drop_rows.get(str(path), []), result)
    return result


def check_commit(
    con: duckdb.DuckDBPyConnection, root: Path, base: layout.Snapshot,
    staged: Sequence[Staging], settings: ClockSettings, reach: timedelta | None = None,
) -> ClockResult:
    """:func:`check_batch` of a commit's ``staged`` inputs onto the store at ``root`` whose
    live snapshot is ``base`` (its positions of the days around the batch's are matched
    too), with the store's ``settings`` (their ``window``: its duplicate window).

    ``reach`` (a live compaction, whose stations' copies of one report arrive together):
    only the stored files whose times lie within ``reach`` of the batch's are matched, so
    the cost follows the batch, not the day.
    """
    near = days_around(st.days["positions"] for st in staged)
    listed = [f for f in base.table_files("positions") if f.day in near]
    if reach is not None:
        listed = _near_batch(con, staged, listed, reach)
    stored = [(root / f.path, f.rows) for f in listed]
    return check_batch(con, staged, settings, stored)


def _near_batch(con: duckdb.DuckDBPyConnection, staged: Sequence[Staging],
                listed: Sequence[layout.DataFile], reach: timedelta) -> list[layout.DataFile]:
    """The files of ``listed`` whose time range lies within ``reach`` of the staged
    positions' times."""
    files = [str(f) for _, _, f in _staged_files(staged, "positions")]
    if not files or not listed:
        return []
    ((lo, hi),) = con.execute(f"SELECT epoch_us(min(ts)), epoch_us(max(ts)) "
                              f"FROM read_parquet({sql_list(files)})").fetchall()
    if lo is None or hi is None:
        return []
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    first = epoch + timedelta(microseconds=int(lo)) - reach
    last = epoch + timedelta(microseconds=int(hi)) + reach
    return [f for f in listed
            if (f.ts_max is None or layout.parse_ts(f.ts_max) >= first)
            and (f.ts_min is None or layout.parse_ts(f.ts_min) <= last)]


def _rewrite(
    st: Staging, n: int, table: str, day: str, path: Path, offsets: dict[str, float],
    dropped: set[str], drop_rows: list[int], result: ClockResult,
) -> None:
    """Rewrite one staged file: rows ``drop_rows`` and the ``dropped`` stations' rows left
    out, the ``offsets`` stations' times shifted, each row in the folder of its (new) day."""
    import numpy as np

    frame = pl.read_parquet(path)
    st.day_rows[table, day] -= frame.height
    if drop_rows:
        keep = np.ones(frame.height, dtype=bool)
        keep[np.asarray(drop_rows, dtype=np.int64)] = False
        frame = frame.filter(pl.Series(keep))
    gone = frame.filter(pl.col("source").is_in(list(dropped)))
    for src, k in gone.group_by("source").len().iter_rows():
        result.quarantined[n, str(src)] += int(k)
        st.removed[table] += int(k)
        st.quarantine.add_count(Reason.CLOCK_UNSTABLE, int(k))
    frame = frame.filter(~pl.col("source").is_in(list(dropped)))
    if offsets:
        shift = pl.col("source").replace_strict(
            {s: round(o * 1e6) for s, o in offsets.items()}, default=0, return_dtype=pl.Int64())
        moved = frame.filter(pl.col("source").is_in(list(offsets)))
        for src, k in moved.group_by("source").len().iter_rows():
            result.shifted[n, str(src)] += int(k)
        frame = frame.with_columns(
            (pl.col("ts") - pl.duration(microseconds=shift)).alias("ts"))
    path.unlink()
    from seawatch.store.ingest import STAGING_ROW_GROUP_ROWS

    parts = frame.with_columns(pl.col("ts").dt.date().alias("__day")).partition_by(
        "__day", as_dict=True, include_key=False)
    for (new_day,), part in parts.items():
        folder = st.run_dir / table / new_day.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        name = path.name if new_day.isoformat() == day else f"{path.stem}-{day}.parquet"
        part.sort("mmsi").write_parquet(
            folder / name, compression="lz4", row_group_size=STAGING_ROW_GROUP_ROWS)
        st.days[table].add(new_day.isoformat())
        st.day_rows[table, new_day.isoformat()] += part.height
    if not any((st.run_dir / table / day).glob("*.parquet")):
        st.days[table].discard(day)
        del st.day_rows[table, day]
        shutil.rmtree(st.run_dir / table / day, ignore_errors=True)


def clocks_frame(result: ClockResult, estimated_at: datetime | None = None) -> pl.DataFrame:
    """The rows of the store's ``clocks`` table for one batch."""
    when = estimated_at or datetime.now(UTC)
    return result.stations.with_columns(
        pl.lit(when).cast(schema.TS).alias("estimated_at")
    ).select([pl.col(c).cast(t) for c, t in CLOCK_COLUMNS.items()])


def station_clocks(root: Path, files: Sequence[layout.DataFile]) -> pl.DataFrame:
    """The latest estimate of each station in the ``clocks`` files (paths relative to the
    store ``root``), with ``batches`` (how many batches saw it) and ``corrected_batches``;
    sorted by station."""
    if not files:
        return pl.DataFrame(schema={**CLOCK_COLUMNS, "batches": pl.UInt32(),
                                    "corrected_batches": pl.UInt32()})
    frame = pl.scan_parquet([str(root / f.path) for f in files])
    return (
        frame.sort("estimated_at", "last_ts")
        .group_by("station")
        .agg(
            *[pl.col(c).last() for c in CLOCK_COLUMNS if c != "station"],
            pl.len().alias("batches"),
            (pl.col("action") == "corrected").sum().cast(pl.UInt32()).alias("corrected_batches"),
        )
        .sort("station")
        .collect()
    )


def describe_offset(offset_s: float | None) -> str:
    """An offset in words for a person: whole hours as ``UTC-5 h``-style text, else seconds.

    >>> describe_offset(-18000.0), describe_offset(12.0), describe_offset(None)
    ('-5 h (local time?)', '+12 s', '-')
    """
    if offset_s is None or math.isnan(offset_s):
        return "-"
    hours = offset_s / 3600
    if round(hours) and abs(hours - round(hours)) * 3600 <= HOUR_SNAP.total_seconds():
        return f"{round(hours):+d} h (local time?)"
    return f"{offset_s:+.0f} s"


def summary(result: ClockResult, n: int) -> list[dict[str, Any]]:
    """The stations of input ``n`` of a batch whose clock was corrected or quarantined, for
    its ingest report: ``station``, ``offset_s``, ``copies``, ``action``, ``rows`` (its rows
    of this input shifted or kept out)."""
    done = result.stations.filter(pl.col("action").is_in(["corrected", "quarantined"]))
    out = []
    for s, o, c, a in done.select("station", "offset_s", "copies", "action").iter_rows():
        rows = (result.shifted if a == "corrected" else result.quarantined)[n, s]
        if rows:
            out.append({"station": s, "offset_s": o, "copies": int(c), "action": a,
                        "rows": int(rows)})
    return out
