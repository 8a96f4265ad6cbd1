"""Reception coverage of a store: what ``GET /api/v1/coverage`` answers.

The store records, at ingest, what each feed (a receiving station, or an input without one)
heard per UTC hour and grid cell (:mod:`seawatch.store.coverage`). From that small table this
module builds the answer: one row per feed (when it delivered data, how many vessels it heard
per hour, its usual interval between two reports of one vessel) and the coverage outages,
silences every vessel shares, each listed once (a receiver down, the hole between two
capture files). The gap detector does not raise a vessel alert for such a silence; this is
where the officer sees it. The whole table is read once per store snapshot (cached by
:class:`~seawatch.api.query.StoreQuery`) and cut to the asked window.

Examples
--------
>>> import tempfile
>>> from seawatch.api.query import StoreQuery
>>> from seawatch.store import Store
>>> path = tempfile.mkdtemp()
>>> _ = Store(path)
>>> build_coverage(StoreQuery(path))
{'cell_deg': 1.0, 'min_outage_h': 6, 'feeds': [], 'outages': []}
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import polars as pl

from seawatch.store.coverage import CELL_DEG, MIN_OUTAGE_H, feeds, outages
from seawatch.units import format_time

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.api.query import StoreQuery


def coverage_table(query: StoreQuery) -> pl.DataFrame:
    """The store's whole coverage table (:meth:`seawatch.store.Store.coverage`), cached per
    snapshot."""
    return query.cached("coverage", lambda: query.retry(query.store.coverage))


def build_coverage(
    query: StoreQuery,
    start: datetime | None = None,
    end: datetime | None = None,
    min_hours: int = MIN_OUTAGE_H,
) -> dict[str, Any]:
    """The feeds and outages of a store's coverage (see ``GET /api/v1/coverage``).

    Parameters
    ----------
    query
        The store's queries.
    start, end
        Only the hours in ``[start, end)`` (None: unbounded). An outage is listed when it
        lies between two deliveries inside the window.
    min_hours
        Shortest outage listed, in whole UTC hours without data.

    Returns
    -------
    dict
        ``cell_deg`` (the grid's cell side, degrees), ``min_outage_h``, ``feeds`` (one
        record per feed: ``source``, ``first_ts``, ``last_ts``, ``hours``, ``positions``,
        ``vessels_per_hour``, ``interval_s``) and ``outages`` (``kind`` ``"feed"`` or
        ``"store"``, ``source``, ``start``, ``end``, ``hours``), times as ISO 8601 UTC.
    """
    cov = coverage_table(query)
    if start is not None:
        cov = cov.filter(pl.col("ts") >= start)
    if end is not None:
        cov = cov.filter(pl.col("ts") < end)
    return {
        "cell_deg": CELL_DEG,
        "min_outage_h": min_hours,
        "feeds": _records(feeds(cov)),
        "outages": _records(outages(cov, min_hours)),
    }


def _records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts, datetimes as ISO 8601 UTC text."""
    return [
        {k: format_time(v) if isinstance(v, datetime) else v for k, v in row.items()}
        for row in frame.iter_rows(named=True)
    ]
