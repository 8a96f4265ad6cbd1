"""Clean a positions table: drop unusable rows and exact duplicates, sort by vessel and time.

Examples
--------
>>> import polars as pl
>>> from seawatch.tracks import clean
>>> raw = pl.DataFrame({"mmsi": [2, 1, 1, 1], "ts": [5, 9, 3, 3],
...                     "lat": [0.0, 1.0, None, 0.5], "lon": [0.0, 1.0, 1.0, 0.5]})
>>> clean(raw).select("mmsi", "lat").rows()
[(1, 0.5), (1, 1.0), (2, 0.0)]
"""

from __future__ import annotations

import polars as pl

from seawatch import schema


def clean(positions: pl.DataFrame) -> pl.DataFrame:
    """Drop rows without a usable position and exact duplicates; sort by (mmsi, ts).

    A row is dropped when ``mmsi``, ``ts``, ``lat`` or ``lon`` is null, when ``lat``/``lon``
    is NaN or outside [-90, 90] / [-180, 180], or when an earlier row has the same
    ``(mmsi, ts, lat, lon)`` (the same report heard by two receivers or read from two
    overlapping files; the first one is kept). Rows of one MMSI with the same time are
    ordered by (lat, lon), so the result does not depend on the order of the input rows
    (files concatenated in any order give the same table).

    Parameters
    ----------
    positions
        A positions table (``seawatch.schema.POSITIONS``); at least ``mmsi``, ``ts``,
        ``lat``, ``lon``.

    Returns
    -------
    polars.DataFrame
        The canonical position columns (missing ones added as nulls, types conformed),
        followed by any other input columns (a user's own columns survive; a stale
        ``segment_id`` is dropped), sorted by ``(mmsi, ts, lat, lon)``.
    """
    missing = [c for c in ("mmsi", "ts", "lat", "lon") if c not in positions.columns]
    if missing:
        raise schema.SchemaError(
            f"column(s) {missing} missing; found: {positions.columns}. "
            "clean() needs a positions table with at least mmsi, ts, lat, lon."
        )
    extra = [c for c in positions.columns if c not in schema.POSITIONS and c != "segment_id"]
    out = schema.conform(positions, schema.POSITIONS)
    if extra:
        out = out.with_columns(positions.select(extra))
    lat, lon = pl.col("lat"), pl.col("lon")
    usable = (
        pl.col("mmsi").is_not_null()
        & pl.col("ts").is_not_null()
        & lat.is_between(-90.0, 90.0)
        & lon.is_between(-180.0, 180.0)
    )  # null and NaN compare as not between
    out = out.filter(usable.fill_null(False))
    # sort the key columns only (cheaper than moving every column twice), then drop each row
    # equal to the one before it on all four keys: the input row number breaks ties, so the
    # first of a set of duplicates is kept
    keys = (
        out.select("mmsi", "ts", "lat", "lon")
        .with_row_index("_row")
        .sort("mmsi", "ts", "lat", "lon", "_row")
    )
    dup = pl.all_horizontal(pl.col(c) == pl.col(c).shift(1) for c in ("mmsi", "ts", "lat", "lon"))
    rows = keys.filter(~dup.fill_null(False))["_row"]
    return out[rows.to_numpy()]
