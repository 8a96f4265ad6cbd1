"""Positions as the detectors read them: with a time and a place, cut into tracks, in order.

The pipeline keeps the positions that have a time and a place (:func:`prepare_positions`)
and cuts each vessel's into tracks (:func:`segment_tracks`: :func:`seawatch.tracks.segment`
with the ``[segment]`` parameters, :class:`seawatch.tracks.segment.SegmentParams`).
:func:`ordered_tracks` gives the positions of a segmented table sorted by vessel, track and
time, with the first and last position of each track marked, which the crossing, fishing and
port-visit kernels turn into runs with Polars window expressions (measuring between positions
with :func:`seawatch.geo.geodesy.haversine_km_expr`).

Examples
--------
>>> import polars as pl
>>> from datetime import datetime, UTC
>>> pos = pl.DataFrame({"mmsi": [2, 1, 1], "lat": [0.0, 0.0, 0.1], "lon": [0.0, 0.0, 0.0],
...                     "ts": [datetime(2026, 1, 15, h, tzinfo=UTC) for h in (0, 2, 1)]})
>>> ordered_tracks(pos).select("mmsi", "first", "last").rows()
[(1, True, False), (1, False, True), (2, True, True)]
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from seawatch import schema
from seawatch.tracks.segment import SegmentParams, segment


def prepare_positions(positions: pl.DataFrame) -> pl.DataFrame:
    """Positions with a time and a place (the kernels sort what they need).

    Raises
    ------
    seawatch.schema.SchemaError
        ``mmsi``, ``ts``, ``lat`` or ``lon`` is missing.
    """
    missing = [c for c in ("mmsi", "ts", "lat", "lon") if c not in positions.columns]
    if missing:
        raise schema.SchemaError(
            f"column(s) {missing} missing from the positions; found: {positions.columns}"
        )
    return positions.filter(
        pl.col("ts").is_not_null() & pl.col("lat").is_not_null() & pl.col("lon").is_not_null()
    )


def segment_tracks(positions: pl.DataFrame, params: SegmentParams) -> pl.DataFrame:
    """``positions`` cut into tracks (``segment_id``); a table with ``segment_id`` is kept."""
    if "segment_id" in positions.columns:
        return positions
    return segment(positions, params=params)


def ordered_tracks(segmented: pl.DataFrame, extra: Sequence[str] = ()) -> pl.DataFrame:
    """Positions with a place and a time, in track order, with segment bounds marked.

    Parameters
    ----------
    segmented
        Positions (``seawatch.schema.POSITIONS``), with ``segment_id`` when segmented
        (``seawatch.tracks.segment``); without it each MMSI is one track.
    extra
        Further columns to keep (those absent are added as nulls).

    Returns
    -------
    polars.DataFrame
        ``i`` (row number, u32), ``mmsi``, ``seg``, ``ts``, ``lat``, ``lon``, the ``extra``
        columns, ``first`` / ``last`` (first / last row of its segment), sorted by
        ``(mmsi, seg, ts)``. Rows with a null ``ts``, ``lat`` or ``lon`` are dropped.
    """
    missing = [c for c in ("mmsi", "ts", "lat", "lon") if c not in segmented.columns]
    if missing:
        raise schema.SchemaError(
            f"column(s) {missing} missing from the positions; found: {segmented.columns}"
        )
    seg = pl.col("segment_id") if "segment_id" in segmented.columns else pl.lit(0)
    cols = [
        pl.col("mmsi").cast(pl.Int64),
        seg.alias("seg"),
        pl.col("ts"),
        pl.col("lat").cast(pl.Float64),
        pl.col("lon").cast(pl.Float64),
    ]
    for name in extra:
        cols.append(pl.col(name) if name in segmented.columns else pl.lit(None).alias(name))
    frame = (
        segmented.select(cols)
        .filter(pl.col("ts").is_not_null() & pl.col("lat").is_not_null())
        .filter(pl.col("lon").is_not_null())
        .sort("mmsi", "seg", "ts", nulls_last=True)
    )
    if frame.schema["ts"] != schema.TS:
        frame = frame.with_columns(_utc(frame.schema["ts"]))
    same_prev = pl.col("mmsi").eq_missing(pl.col("mmsi").shift(1)) & pl.col("seg").eq_missing(
        pl.col("seg").shift(1)
    )
    same_next = pl.col("mmsi").eq_missing(pl.col("mmsi").shift(-1)) & pl.col("seg").eq_missing(
        pl.col("seg").shift(-1)
    )
    return frame.with_row_index("i").with_columns(
        (~same_prev.fill_null(False)).alias("first"),
        (~same_next.fill_null(False)).alias("last"),
    )


def _utc(dtype: pl.DataType) -> pl.Expr:
    """``ts`` as ``schema.TS`` (naive datetimes are UTC)."""
    col = pl.col("ts")
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            return col.dt.cast_time_unit("us").dt.replace_time_zone("UTC")
        return col.dt.cast_time_unit("us").dt.convert_time_zone("UTC")
    return col.cast(schema.TS)
