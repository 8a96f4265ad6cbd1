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
{'cell_deg': 1.0, 'min_outage_h': 6, 'feeds': [], 'outages': [], 'live_outages': []}
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from seawatch.store.coverage import CELL_DEG, HOUR_US, MIN_OUTAGE_H, feeds, outages
from seawatch.units import format_time

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.api.query import StoreQuery
    from seawatch.api.scope import PositionScope

HOUR = timedelta(hours=1)


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
        ``vessels_per_hour``, ``interval_s``), ``outages`` (``kind`` ``"feed"`` or
        ``"store"``, ``source``, ``start``, ``end``, ``hours``) and ``live_outages``: the
        spans ``seawatch live`` recorded a feed without a connection
        (:func:`seawatch.live.outages.live_outages`: ``kind`` ``"feed"``, ``source`` the
        feed, ``start``, ``end`` (null while open), ``hours``, ``seconds``, ``reason``)
        overlapping the window, times as ISO 8601 UTC.
    """
    cov = coverage_table(query)
    if start is not None:
        cov = cov.filter(pl.col("ts") >= start)
    if end is not None:
        cov = cov.filter(pl.col("ts") < end)
    from seawatch.live.outages import live_outages

    live = live_outages(query.store.path, start=start, end=end)
    return {
        "cell_deg": CELL_DEG,
        "min_outage_h": min_hours,
        "feeds": _records(feeds(cov)),
        "outages": _records(outages(cov, min_hours)),
        "live_outages": [] if live is None else _records(live),
    }


def _hour_bounds(cov: pl.DataFrame) -> tuple[datetime | None, datetime | None]:
    """The first and last hour of a coverage table (None, None when empty)."""
    if not cov.height:
        return None, None
    first, last = cov["ts"].min(), cov["ts"].max()
    assert isinstance(first, datetime) and isinstance(last, datetime)
    return first, last


def _records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts, datetimes as ISO 8601 UTC text."""
    return [
        {k: format_time(v) if isinstance(v, datetime) else v for k, v in row.items()}
        for row in frame.iter_rows(named=True)
    ]


def build_cells(
    query: StoreQuery, start: datetime | None = None, end: datetime | None = None
) -> dict[str, Any]:
    """The coverage grid's cells heard in a window, as a GeoJSON FeatureCollection (see
    ``GET /api/v1/coverage/cells``).

    Parameters
    ----------
    query
        The store's queries.
    start, end
        Only the hours in ``[start, end)`` (None: unbounded).

    Returns
    -------
    dict
        A FeatureCollection of one Polygon per cell of :data:`CELL_DEG` degrees in which a
        feed heard at least one vessel in the window, with the properties ``cell_lat``,
        ``cell_lon`` (the south-west corner, degrees), ``positions``, ``hours`` (UTC hours
        in which any feed heard a vessel there), ``vessels_per_hour`` (mean over those hours
        of the most vessels one feed heard there in the hour: each feed counts distinct
        vessels, so two stations hearing the same ship are not added up),
        ``peak_vessels`` (the most in one hour), ``feeds`` (sorted feed names),
        ``first_ts`` and ``last_ts``; and, beside ``features``, ``cell_deg``, ``hours``
        (UTC hours from the window's first to its last hour with data, the denominator of
        the cells' ``hours``), ``start`` and ``end`` (those hours' bounds, null when
        nothing was heard). Sorted by ``cell_lat``, ``cell_lon``.

    Examples
    --------
    >>> import tempfile
    >>> from seawatch.api.query import StoreQuery
    >>> from seawatch.store import Store
    >>> path = tempfile.mkdtemp()
    >>> _ = Store(path)
    >>> build_cells(StoreQuery(path))["features"]
    []
    """
    cov = coverage_table(query)
    if start is not None:
        cov = cov.filter(pl.col("ts") >= start)
    if end is not None:
        cov = cov.filter(pl.col("ts") < end)
    return cells_geojson(cov)


def cells_geojson(cov: pl.DataFrame, *, with_feeds: bool = True) -> dict[str, Any]:
    """The cells of a coverage table as :func:`build_cells` describes them (``with_feeds``
    False: each cell's ``feeds`` empty, for another agency).

    >>> from datetime import datetime, UTC
    >>> from seawatch import schema
    >>> rows = [{"ts": datetime(2026, 1, 15, h, tzinfo=UTC), "source": s, "cell_lat": -2,
    ...          "cell_lon": -81, "positions": 10, "vessels": v, "first_ts": None,
    ...          "last_ts": None} for h, s, v in ((0, "a", 3), (0, "b", 5), (2, "a", 1))]
    >>> fc = cells_geojson(schema.conform(pl.DataFrame(rows), schema.COVERAGE))
    >>> fc["hours"], fc["features"][0]["properties"]["vessels_per_hour"]
    (3, 3.0)
    >>> fc["features"][0]["geometry"]["coordinates"][0][:2]
    [[-81.0, -2.0], [-80.0, -2.0]]
    """
    cell = ["cell_lat", "cell_lon"]
    hourly = cov.group_by([*cell, "ts"]).agg(pl.col("vessels").max().alias("most"))
    cells = (
        cov.group_by(cell)
        .agg(
            pl.col("positions").sum().cast(pl.Int64),
            pl.col("ts").n_unique().cast(pl.Int64).alias("hours"),
            (
                pl.col("source").unique().sort()
                if with_feeds
                else pl.lit([], pl.List(pl.String))
            ).alias("feeds"),
            pl.col("first_ts").min(),
            pl.col("last_ts").max(),
        )
        .join(
            hourly.group_by(cell).agg(
                pl.col("most").mean().round(2).alias("vessels_per_hour"),
                pl.col("most").max().cast(pl.Int64).alias("peak_vessels"),
            ),
            on=cell,
        )
        .sort(cell)
    )
    first, last = _hour_bounds(cov)
    span = 0 if first is None or last is None else (last - first) // HOUR + 1
    features = []
    for row in _records(cells):
        south, west = row["cell_lat"] * CELL_DEG, row["cell_lon"] * CELL_DEG
        north, east = south + CELL_DEG, west + CELL_DEG
        ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
        features.append({
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [[[float(x), float(y)]
                                                             for x, y in ring]]},
            "properties": row,
        })
    return {
        "type": "FeatureCollection",
        "cell_deg": CELL_DEG,
        "hours": span,
        "start": None if first is None else format_time(first),
        "end": None if last is None else format_time(last + HOUR),
        "features": features,
    }


def scoped_cells(
    query: StoreQuery,
    scope: PositionScope,
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict[str, Any]:
    """:func:`build_cells` for another agency: only the cell-hours every position of which
    its :class:`~seawatch.api.scope.PositionScope` releases, without the feeds' names.

    A row of the coverage table (a feed, an hour, a cell) counts positions of that hour and
    cell; it is released when one part of the scope (one grant) holds the whole hour
    (``lo <= hour`` and ``hour + 1 h <= hi``) and the whole cell (inside its box, edges
    included, and strictly inside its zone's polygon, ``shapely.contains_properly``): then
    each position it counts is one the agency may read through ``/positions``. A cell or an
    hour that a grant's area or window cuts is left out whole, never counted in part. The
    feeds (receiving stations) are the host's: ``/positions`` does not give a position's
    source, so ``feeds`` is empty.

    Examples
    --------
    >>> from datetime import UTC
    >>> from seawatch import schema
    >>> from seawatch.api.scope import PositionScope
    >>> from seawatch.store.posindex import Part
    >>> rows = [{"ts": datetime(2026, 1, 15, h, tzinfo=UTC), "source": "st1", "cell_lat": la,
    ...          "cell_lon": -81, "positions": 10, "vessels": 2, "first_ts": None,
    ...          "last_ts": None} for h, la in ((0, -2), (0, 0), (5, -2))]
    >>> cov = schema.conform(pl.DataFrame(rows), schema.COVERAGE)
    >>> hour = 3_600_000_000
    >>> t0 = int(datetime(2026, 1, 15, tzinfo=UTC).timestamp()) * 1_000_000
    >>> scope = PositionScope((Part(t0, t0 + 2 * hour, (-81.0, -2.0, -80.0, -0.5)),), (1,))
    >>> fc = cells_geojson(released(cov, scope), with_feeds=False)
    >>> [(f["properties"]["cell_lat"], f["properties"]["feeds"]) for f in fc["features"]]
    [(-2, [])]
    """
    cov = coverage_table(query)
    if start is not None:
        cov = cov.filter(pl.col("ts") >= start)
    if end is not None:
        cov = cov.filter(pl.col("ts") < end)
    return cells_geojson(released(cov, scope), with_feeds=False)


def released(cov: pl.DataFrame, scope: PositionScope) -> pl.DataFrame:
    """The rows of a coverage table whose whole hour and whole cell one part of ``scope``
    holds (see :func:`scoped_cells`)."""
    if scope.empty or not cov.height:
        return cov.head(0)
    hour_us = cov["ts"].dt.epoch("us").to_numpy()
    south = cov["cell_lat"].to_numpy().astype(np.float64) * CELL_DEG
    west = cov["cell_lon"].to_numpy().astype(np.float64) * CELL_DEG
    north, east = south + CELL_DEG, west + CELL_DEG
    keep = np.zeros(cov.height, dtype=bool)
    for part in scope.parts:
        ok = ~keep
        if part.lo is not None:
            ok &= hour_us >= part.lo
        if part.hi is not None:
            ok &= hour_us + HOUR_US <= part.hi
        if part.box is not None:
            x0, y0, x1, y1 = part.box
            ok &= (south >= y0) & (north <= y1)
            if x0 <= x1:
                ok &= (west >= x0) & (east <= x1)
            else:  # across the antimeridian: [x0, 180] or [-180, x1]
                ok &= ((west >= x0) & (east <= 180.0)) | ((west >= -180.0) & (east <= x1))
        if part.shape is not None and ok.any():
            import shapely

            idx = np.flatnonzero(ok)
            boxes = shapely.box(west[idx], south[idx], east[idx], north[idx])
            ok[idx] = shapely.contains_properly(part.shape, boxes)
        keep |= ok
    return cov.filter(pl.Series(keep))
