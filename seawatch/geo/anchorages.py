"""Anchorages inferred from AIS: where several different vessels sit still near shore.

Definition (after Global Fishing Watch ``pipe-anchorages``, anchorage points step; the
thresholds are seawatch's *day-scale* ones, for a store that may hold one day of one coast):

1. Vessels with fewer than ``min_positions`` (5) positions are ignored.
2. Each vessel's positions, in time order, are cut into runs: a run starts at a position
   and takes every following position that stays within ``max_distance_km`` (0.5 km) of
   that first one. A run that lasts more than ``min_duration`` (2 h) is a *stationary
   period*, located at the mean of its positions.
3. Stationary periods within ``max_shore_km`` (5 km) of shore are grouped by the spatial
   cell of their location; a cell where at least ``min_vessels`` (3) distinct vessels sat
   still is an anchorage, located at the mean of its periods' locations.

Why day-scale: GFW builds its anchorages from years of global AIS (20 distinct vessels per
cell, 200 positions per vessel, 12 h still), so on a day or a week of one coast it finds
nothing, and every harbour missing from the shipped list stays "far from port" (two ships
moored side by side become an encounter). Three vessels still for two hours in the same
0.5 km cell is a berth or an anchorage; near shore only, so that vessels that meet and drift
together at sea (an encounter, which the inferred anchorage would then hide) never make one.
:data:`GFW_YEAR_SCALE` holds GFW's values, for a store of months or years
(``infer_anchorages(positions, **GFW_YEAR_SCALE)``, or the same keys in ``[ports]``).

Differences from GFW, on purpose:

- GFW uses S2 cells of level 14 (about 0.5 km across); seawatch uses an equal-area
  lat/lon grid of ``cell_km`` (0.5 km) squares: rows of fixed height, each row cut into
  columns whose width in longitude is ``cell_km`` at the row's central latitude. It needs
  no extra package and its cells are as square and as equal in area as S2's are
  at this size (within 0.1 % across a row 0.5 km high); rows get narrower towards the
  poles in degrees, not in km.
- Positions reporting a speed over ground above ``max_speed_kn`` (0.5 kn, GFW's
  ``stopped_end_speed_knots``) end a run and start none: a vessel circling inside 0.5 km
  is not parked. GFW's anchorage-point step uses the distance test only; set
  ``max_speed_kn=None`` for that.
- The distance from shore (``max_shore_km``) is seawatch's; GFW's points are kept wherever
  vessels stop, offshore too (``max_shore_km=None``).
- GFW then merges neighbouring cells and names anchorages; here each cell stays one row
  and the rows have no name (use :func:`seawatch.geo.port_index` to label them).

Steps 1-2 are per vessel (:func:`stationary_periods`) and step 3 across vessels
(:func:`anchorages_from_periods`): a store read in chunks of whole vessels gives the same
anchorages from the concatenated periods of its chunks as from one table.

Examples
--------
>>> import polars as pl
>>> from datetime import datetime, timedelta
>>> rows = [{"mmsi": m, "ts": datetime(2024, 1, 1) + timedelta(minutes=5 * k),
...          "lat": -0.93, "lon": -80.72, "sog": 0.0}
...         for m in range(4) for k in range(30)]   # four vessels still 2 h 25 min off Manta
>>> infer_anchorages(pl.DataFrame(rows)).select("n_vessels", "n_positions").row(0)
(4, 120)
>>> infer_anchorages(pl.DataFrame(rows), **GFW_YEAR_SCALE).height   # a year's thresholds
0
"""

from __future__ import annotations

from typing import Any

import polars as pl

from seawatch.errors import InvalidValue
from seawatch.geo.geodesy import KM_PER_DEG
from seawatch.params import Count, Duration, Number, OptionalNumber, Params, param, resolve
from seawatch.units import parse_duration

ANCHORAGE_CFG = "GFW pipe-anchorages anchorage_cfg.yaml"


class AnchorageParams(Params):
    """Parameters of anchorage inference (:func:`infer_anchorages`, docs/geo.md)."""

    cell_km: Number = param(
        0.5,
        "Side of the equal-area grid cells stationary periods are grouped in (km).",
        "GFW pipe-anchorages: S2 cells of level 14, about 0.5 km",
    )
    min_vessels: Count = param(
        3,
        "Distinct vessels with a stationary period in a cell for it to be an anchorage.",
        "seawatch day scale: one vessel still is a vessel at anchor and two side by side are "
        "what encounters judge, three in one 0.5 km cell near shore are a berth or an "
        f"anchorage ({ANCHORAGE_CFG} min_unique_vessels_for_anchorage = 20 needs a year of "
        "traffic)",
    )
    min_positions: Count = param(
        5,
        "Vessels with fewer positions are ignored.",
        "seawatch day scale: drops an MMSI heard once or twice (a garbled MMSI); "
        f"{ANCHORAGE_CFG} min_required_positions = 200 over a year",
    )
    max_speed_kn: OptionalNumber = param(
        0.5,
        "Positions faster than this (knots) end a stationary period.",
        f"{ANCHORAGE_CFG} stopped_end_speed_knots",
    )
    max_distance_km: Number = param(
        0.5,
        "A stationary period stays within this distance of its first position (km).",
        f"{ANCHORAGE_CFG} stationary_period_max_distance_km",
    )
    min_duration: Duration = param(
        "2h",
        "A stationary period lasts longer than this (first to last position).",
        "seawatch day scale: a port call or a wait at anchor lasts hours, and 2 h is the "
        f"shortest encounter; {ANCHORAGE_CFG} stationary_period_min_duration_minutes = 720",
    )
    max_shore_km: OptionalNumber = param(
        5.0,
        "Only stationary periods within this distance of shore (km) count; inf: anywhere "
        "(GFW). Keeps vessels that meet and drift together at sea from making an anchorage "
        "that would hide their encounter.",
        "seawatch: a roadstead within the error of the 1:50m coastline outside the Eastern "
        "Pacific (a few km); GFW pipe-anchorages has no such limit",
    )


GFW_YEAR_SCALE: dict[str, Any] = {
    "min_vessels": 20,
    "min_positions": 200,
    "min_duration": "12h",
    "max_shore_km": None,
}
"""GFW ``pipe-anchorages``' thresholds (``anchorage_cfg.yaml``), for a store of months or
years: ``infer_anchorages(positions, **GFW_YEAR_SCALE)``. (A config file cannot write None:
write ``max_shore_km = inf`` in ``[ports]``.)"""


def cell_of(lat: pl.Expr, lon: pl.Expr, cell_km: float) -> tuple[pl.Expr, pl.Expr]:
    """Row and column of the equal-area grid of ``cell_km`` squares (see module docstring)."""
    dlat = cell_km / KM_PER_DEG
    row = (lat / dlat).floor().cast(pl.Int64)
    centre = (row.cast(pl.Float64) + 0.5) * dlat
    dlon = dlat / centre.radians().cos().clip(lower_bound=1e-3)
    col = (lon / dlon).floor().cast(pl.Int64)
    return row, col


def infer_anchorages(
    positions: pl.DataFrame, *, params: AnchorageParams | None = None, **overrides: Any
) -> pl.DataFrame:
    """Anchorages where at least ``min_vessels`` distinct vessels sat still.

    The composition of :func:`stationary_periods` (per vessel) and
    :func:`anchorages_from_periods` (across vessels): a caller holding the vessels in parts
    (disjoint sets of MMSIs) may run the first on each part and the second on the
    concatenated periods, with the same result.

    Parameters
    ----------
    positions
        Table with the ``seawatch.schema.POSITIONS`` columns ``mmsi``, ``ts``, ``lat``,
        ``lon`` and optionally ``sog`` (others are ignored; rows with a null position are
        dropped). ``ts`` is a datetime, or an integer count of microseconds (UTC epoch).
    params
        The parameters (default: :class:`AnchorageParams`' defaults; each field says what
        it means and which GFW setting its default follows).
    **overrides
        Fields of :class:`AnchorageParams` to change (``min_vessels=10``), checked against
        it. ``max_speed_kn=None`` ignores speed (GFW's anchorage-point step); durations are
        hours as a number, or text such as ``'12h'`` or ``'720min'``.

    Returns
    -------
    polars.DataFrame, one row per anchorage cell, most vessels first: ``lat``, ``lon``
    (mean of the stationary periods' locations), ``n_vessels`` (distinct MMSIs),
    ``n_positions`` (positions inside those periods), ``n_periods``, ``stationary_hours``
    (summed), ``cell_row``, ``cell_col`` (grid cell, for joining runs with the same
    ``cell_km``).

    Raises
    ------
    seawatch.params.ConfigError
        An unknown parameter or a value of the wrong type.
    seawatch.errors.InvalidValue
        ``positions`` lacks a column it needs.
    """
    p = resolve(AnchorageParams, params, overrides, "infer_anchorages()")
    return anchorages_from_periods(stationary_periods(positions, params=p), params=p)


PERIOD_COLUMNS: dict[str, pl.DataType] = {
    "mmsi": pl.Int64(),
    "lat": pl.Float64(),
    "lon": pl.Float64(),
    "n": pl.Int64(),
    "hours": pl.Float64(),
    "start": pl.Datetime("us", "UTC"),
    "end": pl.Datetime("us", "UTC"),
}
"""Columns of :func:`stationary_periods`."""


def stationary_periods(
    positions: pl.DataFrame, *, params: AnchorageParams | None = None, **overrides: Any
) -> pl.DataFrame:
    """The stationary periods of each vessel (steps 1 and 2 of the module docstring).

    Parameters as :func:`infer_anchorages` (``min_positions``, ``max_speed_kn``,
    ``max_distance_km`` and ``min_duration`` are used). Each vessel is handled on its own,
    so the periods of a table are the concatenation of those of its parts when the parts
    hold disjoint sets of MMSIs (in increasing MMSI order, the rows come out identical).

    Returns
    -------
    polars.DataFrame
        One row per period, sorted by ``mmsi`` then time: ``mmsi``, ``lat``, ``lon`` (mean
        of its positions), ``n`` (positions), ``hours`` (first to last position), ``start``
        and ``end`` (the times of its first and last positions, UTC).
    """
    import numpy as np

    from seawatch.geo import _kernels

    p = resolve(AnchorageParams, params, overrides, "stationary_periods()")
    missing = [c for c in ("mmsi", "ts", "lat", "lon") if c not in positions.columns]
    if missing:
        raise InvalidValue(
            f"positions lack column(s) {missing}; found: {positions.columns}. "
            "infer_anchorages needs mmsi, ts, lat, lon (and uses sog when present)."
        )
    min_s = parse_duration(p.min_duration).total_seconds()
    sog = pl.col("sog").cast(pl.Float64) if "sog" in positions.columns else pl.lit(None)
    ts = pl.col("ts")
    if positions.schema["ts"].is_temporal():
        ts = ts.cast(pl.Datetime("us")).dt.epoch("us")
    frame = (
        positions.lazy()
        .select(
            pl.col("mmsi").cast(pl.Int64),
            ts.cast(pl.Int64).alias("_us"),
            ts.cast(pl.Float64).alias("_ts"),
            pl.col("lat").cast(pl.Float64),
            pl.col("lon").cast(pl.Float64),
            sog.cast(pl.Float64).alias("sog"),
        )
        .drop_nulls(["mmsi", "_ts", "lat", "lon"])
        .filter(pl.len().over("mmsi") >= p.min_positions)
        # stable: positions of one vessel at one time keep their input order, so a part of
        # the table sorts as the same rows of the whole table do
        .sort("mmsi", "_ts", maintain_order=True)
        .collect()
    )
    frame = frame.with_columns(pl.col("_ts") / 1e6)  # microseconds -> seconds
    moving = (
        frame["sog"].fill_null(0.0).to_numpy() > p.max_speed_kn
        if p.max_speed_kn is not None
        else np.zeros(frame.height, dtype=bool)
    )
    period = np.full(frame.height, -1, dtype=np.int64)
    if frame.height:
        _kernels.stationary_periods(
            frame["mmsi"].to_numpy(),
            frame["_ts"].to_numpy(),
            frame["lat"].to_numpy(),
            frame["lon"].to_numpy(),
            np.ascontiguousarray(moving),
            float(p.max_distance_km),
            float(min_s),
            period,
        )
    # periods are numbered in (mmsi, time) order and their positions are contiguous: sums
    # over each slice, so a period's figures depend on its own positions only
    rows = np.flatnonzero(period >= 0)
    if len(rows) == 0:
        return pl.DataFrame(schema=PERIOD_COLUMNS)
    pid = period[rows]
    starts = np.flatnonzero(np.r_[True, pid[1:] != pid[:-1]])
    n = np.diff(np.r_[starts, len(rows)])
    ts_s = frame["_ts"].to_numpy()[rows]
    us = frame["_us"].to_numpy()[rows]
    return pl.DataFrame(
        {
            "mmsi": frame["mmsi"].to_numpy()[rows][starts],
            "lat": np.add.reduceat(frame["lat"].to_numpy()[rows], starts) / n,
            "lon": np.add.reduceat(frame["lon"].to_numpy()[rows], starts) / n,
            "n": n,
            "hours": (np.maximum.reduceat(ts_s, starts) - np.minimum.reduceat(ts_s, starts))
            / 3600.0,
            "start": pl.Series(np.minimum.reduceat(us, starts)).cast(pl.Datetime("us", "UTC")),
            "end": pl.Series(np.maximum.reduceat(us, starts)).cast(pl.Datetime("us", "UTC")),
        },
        schema=PERIOD_COLUMNS,
    )


def anchorages_from_periods(
    periods: pl.DataFrame, *, params: AnchorageParams | None = None, **overrides: Any
) -> pl.DataFrame:
    """Anchorage cells of stationary periods (step 3 of the module docstring).

    Parameters
    ----------
    periods
        :func:`stationary_periods` of all vessels (of one table, or concatenated from parts
        with disjoint MMSIs).
    params, **overrides
        As :func:`infer_anchorages` (``cell_km``, ``min_vessels`` and ``max_shore_km`` are
        used).

    Returns
    -------
    polars.DataFrame
        As :func:`infer_anchorages`. Cells are summed in the order of ``periods``' rows, so
        the same periods in the same order give the same anchorages to the last bit.
    """
    import numpy as np

    p = resolve(AnchorageParams, params, overrides, "anchorages_from_periods()")
    if p.max_shore_km is not None and np.isfinite(p.max_shore_km) and periods.height:
        from seawatch.geo.shore import distance_to_shore_km

        near = distance_to_shore_km(
            periods["lat"].cast(pl.Float64).to_numpy(), periods["lon"].cast(pl.Float64).to_numpy()
        ) <= float(p.max_shore_km)
        periods = periods.filter(pl.Series(near))
    row, col = cell_of(pl.col("lat"), pl.col("lon"), p.cell_km)
    # stable sort by cell: each cell's periods keep their (mmsi, time) order and are summed
    # over a contiguous slice, so the same periods in the same order give the same result
    frame = (
        periods.select([pl.col(c).cast(t) for c, t in PERIOD_COLUMNS.items()])
        .with_columns(row.alias("cell_row"), col.alias("cell_col"))
        .sort("cell_row", "cell_col", maintain_order=True)
    )
    columns = {
        "lat": pl.Float64(),
        "lon": pl.Float64(),
        "n_vessels": pl.Int64(),
        "n_positions": pl.Int64(),
        "n_periods": pl.Int64(),
        "stationary_hours": pl.Float64(),
        "cell_row": pl.Int64(),
        "cell_col": pl.Int64(),
    }
    if frame.height == 0:
        return pl.DataFrame(schema=columns)
    cr, cc = frame["cell_row"].to_numpy(), frame["cell_col"].to_numpy()
    mmsi = frame["mmsi"].to_numpy()
    starts = np.flatnonzero(np.r_[True, (cr[1:] != cr[:-1]) | (cc[1:] != cc[:-1])])
    k = np.diff(np.r_[starts, frame.height])
    # distinct vessels of a cell: its periods are in MMSI order, so count the changes
    new_vessel = np.r_[True, mmsi[1:] != mmsi[:-1]]
    new_vessel[starts] = True
    cells = pl.DataFrame(
        {
            "lat": np.add.reduceat(frame["lat"].to_numpy(), starts) / k,
            "lon": np.add.reduceat(frame["lon"].to_numpy(), starts) / k,
            "n_vessels": np.add.reduceat(new_vessel.astype(np.int64), starts),
            "n_positions": np.add.reduceat(frame["n"].to_numpy().astype(np.int64), starts),
            "n_periods": k,
            "stationary_hours": np.add.reduceat(frame["hours"].to_numpy(), starts),
            "cell_row": cr[starts],
            "cell_col": cc[starts],
        },
        schema=columns,
    )
    return cells.filter(pl.col("n_vessels") >= p.min_vessels).sort(
        ["n_vessels", "n_positions", "cell_row", "cell_col"],
        descending=[True, True, False, False],
    )
