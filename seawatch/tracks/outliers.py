"""Outliers: single reports that no track explains, flagged and kept (never dropped).

Definition (``docs/detectors.md``, section *outlier*). In a segmented positions table
(:func:`seawatch.tracks.segment`), a report is an *outlier* when

- it is a segment of its own: it fits neither the track before it nor the one after it
  (the segmenter's rule, :class:`~seawatch.tracks.segment.SegmentParams`: more than
  ``noise_km`` away and an implied speed above ``max_speed_kn``), and
- its neighbours on both sides (the previous and the next report of the same MMSI, in the
  segmenter's order: time, then position) belong to one segment: they agree with each other,
  so the track went on as if the report had not been there, and
- its transponder class (A: message types 1-3, B: 18-19) is not the other class than either
  neighbour's: a garbled message keeps its message type, so a class B report inside a class A
  track is a second transmitter (two vessels sharing an MMSI), not a bit error.

This is a report garbled in the air or by a decoder (a bit error in the longitude with a
valid checksum: the AISHub sample's 205370590 reads 4.357 -> 0.007 -> 4.357), or a stale
report replayed in the middle of a track. Outliers stay in the table with ``outlier = True``;
the detectors ignore them (the pipeline passes them none, and records them with the run), so
one garbled report is never spoofing, never splits a gap, never ends a loitering episode.

A report at either end of a track has a neighbour on one side only and is never an outlier:
with one side there is no telling the garbled report from the start of another track.

Examples
--------
>>> import polars as pl
>>> from datetime import datetime, timedelta, UTC
>>> from seawatch.tracks import segment
>>> t0 = datetime(2026, 1, 15, tzinfo=UTC)
>>> pos = pl.DataFrame({"mmsi": [205370590] * 5, "lat": [51.8877] * 5,
...                     "lon": [4.3568, 4.3569, 0.0074, 4.3570, 4.3571],   # one garbled
...                     "ts": [t0 + timedelta(seconds=10 * k) for k in range(5)]})
>>> flag_outliers(segment(pos))["outlier"].to_list()
[False, False, True, False, False]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from seawatch import schema

__all__ = ["OUTLIERS_LISTED", "OUTLIER_COLUMN", "flag_outliers", "outlier_mask", "outlier_summary"]

OUTLIER_COLUMN = "outlier"
"""The Boolean column :func:`flag_outliers` adds."""

_CLASS_A = (1, 2, 3)
_CLASS_B = (18, 19)


def flag_outliers(segmented: pl.DataFrame) -> pl.DataFrame:
    """``segmented`` with a Boolean column ``outlier`` (see the module docstring).

    Parameters
    ----------
    segmented
        Positions with ``segment_id`` (the output of :func:`seawatch.tracks.segment`), in
        any order: neighbours are taken in the segmenter's order (``mmsi``, ``ts``, ``lat``,
        ``lon``); ``msg_type`` when known (without it no report is told apart by its
        transponder class).

    Returns
    -------
    polars.DataFrame
        The same rows in the same order, with ``outlier`` (replaced when present).

    Raises
    ------
    seawatch.schema.SchemaError
        ``mmsi`` or ``segment_id`` is missing.
    """
    flags = outlier_mask(segmented)
    return segmented.with_columns(pl.Series(OUTLIER_COLUMN, flags, pl.Boolean))


def outlier_mask(segmented: pl.DataFrame) -> np.ndarray:
    """The ``outlier`` flags of :func:`flag_outliers` as a NumPy Boolean array."""
    missing = [c for c in ("mmsi", "segment_id") if c not in segmented.columns]
    if missing:
        raise schema.SchemaError(
            f"column(s) {missing} missing; found: {segmented.columns}. "
            "flag_outliers() reads the output of seawatch.tracks.segment(positions)."
        )
    n = segmented.height
    if n < 3:
        return np.zeros(n, dtype=bool)
    order = _segmenter_order(segmented)
    if order is not None:
        flags = np.zeros(n, dtype=bool)
        flags[order] = outlier_mask(segmented[order])
        return flags
    mmsi = segmented["mmsi"].cast(pl.Int64).fill_null(-1).to_numpy()
    seg = segmented["segment_id"].cast(pl.Int64).fill_null(-1).to_numpy()
    prev, mid, nxt = seg[:-2], seg[1:-1], seg[2:]
    # neighbours of one vessel in one segment, the report between them in another
    candidate = (prev == nxt) & (mid != prev) & (mmsi[:-2] == mmsi[1:-1]) & (prev >= 0)
    candidate &= mmsi[1:-1] == mmsi[2:]
    flags = np.zeros(n, dtype=bool)
    rows = np.flatnonzero(candidate) + 1
    if rows.size == 0:
        return flags
    if "msg_type" in segmented.columns:  # only the few candidates and their neighbours
        msg = segmented["msg_type"].cast(pl.Int64).fill_null(0).to_numpy()
        k_prev, k_mid, k_next = _klass(msg[rows - 1]), _klass(msg[rows]), _klass(msg[rows + 1])
        other_prev = (k_mid != 0) & (k_prev != 0) & (k_mid != k_prev)
        other_next = (k_mid != 0) & (k_next != 0) & (k_mid != k_next)
        rows = rows[~(other_prev | other_next)]
        if rows.size == 0:
            return flags
    # ... and alone in its segment: its id occurs nowhere else
    ids = seg[rows]
    occurs = seg[pl.Series(seg).is_in(ids.tolist()).to_numpy()]  # hashed: no sort of seg
    values, counts = np.unique(occurs, return_counts=True)
    alone = counts[np.searchsorted(values, ids)] == 1
    flags[rows[alone]] = True
    return flags


def _klass(msg: np.ndarray) -> np.ndarray:
    """Transponder class of message types: 1 (A: 1-3), 2 (B: 18-19), 0 (other, unknown)."""
    return np.where(np.isin(msg, _CLASS_A), 1, np.where(np.isin(msg, _CLASS_B), 2, 0))


def _segmenter_order(frame: pl.DataFrame) -> np.ndarray | None:
    """Row order sorting ``frame`` by (mmsi, ts, lat, lon), or None when it is sorted so
    (as :func:`seawatch.tracks.segment` returns it: checked in one pass, no sort)."""
    keys = [c for c in ("mmsi", "ts", "lat", "lon") if c in frame.columns]
    cols = [frame[c].to_physical().to_numpy() for c in keys]
    ordered = np.ones(frame.height - 1, dtype=bool)
    tied = np.ones(frame.height - 1, dtype=bool)
    for a in cols:  # lexicographic: each key decides where the keys before it tie
        ordered &= ~tied | (a[:-1] <= a[1:])
        tied &= a[:-1] == a[1:]
    if bool(ordered.all()):
        return None
    rows = frame.select(keys).with_row_index("_row").sort([*keys, "_row"], nulls_last=True)
    return rows["_row"].to_numpy().astype(np.int64)


OUTLIERS_LISTED = 10_000
"""Outliers a detection run lists by position in its description (:func:`outlier_summary`);
past it only the counts grow (the AISHub sample over 3 min has 68 in 72,369 positions)."""


def outlier_summary(outliers: pl.DataFrame, limit: int = OUTLIERS_LISTED) -> dict[str, Any]:
    """What a detection run records of its outliers (``seawatch info``, the API).

    Parameters
    ----------
    outliers
        The flagged reports: ``mmsi``, ``ts``, ``lat``, ``lon`` (the key of a position).
    limit
        At most this many are listed.

    Returns
    -------
    dict
        ``positions`` and ``vessels`` (counts), and ``listed``: the first ``limit`` reports in
        (mmsi, ts) order as ``[mmsi, "YYYY-MM-DDTHH:MM:SS.ffffffZ", lat, lon]``.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> rows = pl.DataFrame({"mmsi": [205370590], "lat": [51.88769], "lon": [0.00739],
    ...                      "ts": [datetime(2024, 5, 1, tzinfo=UTC)]})
    >>> summary = outlier_summary(rows)
    >>> summary["positions"], summary["vessels"], summary["listed"]
    (1, 1, [[205370590, '2024-05-01T00:00:00.000000Z', 51.88769, 0.00739]])
    """
    rows = outliers.sort("mmsi", "ts").head(limit)
    listed = rows.select(
        pl.col("mmsi"),
        pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S.%6fZ"),
        pl.col("lat"),
        pl.col("lon"),
    ).rows()
    return {
        "positions": outliers.height,
        "vessels": outliers["mmsi"].n_unique() if outliers.height else 0,
        "listed": [list(row) for row in listed],
    }
