"""Resampling tracks onto a regular time grid: the shared kernel of pair and episode detectors.

Each track (one ``segment_id`` of one MMSI, or one MMSI when the positions are not segmented)
gets one sample at every grid time that lies between two of its consecutive positions less
than ``max_gap`` apart, linearly interpolated between them, and one at every grid time that
is exactly the time of a position. No sample is made across a gap of ``max_gap`` or more and
none before the first or after the last position (no extrapolation). This follows Global
Fishing Watch's ``pipe-encounters`` resampler (10-minute grid aligned with midnight UTC, no
interpolation across gaps of 1 h or more, DESIGN.md) without its per-day grouping: a track is
resampled as one sequence whatever the calendar day.

Grid times are multiples of ``grid`` since 1970-01-01 UTC (aligned with midnight UTC for any
grid that divides a day). Longitudes are interpolated along the short way round, so a track
crossing the antimeridian stays at sea instead of sweeping round the globe.

``speed_kn`` is the reported ``sog`` interpolated between the two positions when both carry
one, otherwise the implied speed (geodesic distance over time) between them; a sample exactly
at a position takes that position's ``sog``, or the implied speed of an adjacent interval
shorter than ``max_gap``.

Examples
--------
>>> import polars as pl
>>> from datetime import datetime, UTC
>>> p = pl.DataFrame({"mmsi": [1, 1], "lat": [0.0, 0.0], "lon": [179.99, -179.99],
...                   "ts": [datetime(2026, 1, 1, 23, 55, tzinfo=UTC),
...                          datetime(2026, 1, 2, 0, 15, tzinfo=UTC)]})
>>> r = resample(p)
>>> r["ts"].dt.strftime("%H:%M").to_list(), r["lon"].round(4).to_list()
(['00:00', '00:10'], [179.995, -179.995])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from itertools import pairwise

import numpy as np
import polars as pl

from seawatch import schema
from seawatch.errors import InvalidValue
from seawatch.geo.geodesy import implied_speed_kn, lon_delta, wrap_lon
from seawatch.units import duration_us

DEFAULT_GRID = "10m"
"""Grid step: 10 minutes (GFW pipe-encounters ``increment_s = 600``)."""
DEFAULT_MAX_GAP = "1h"
"""No interpolation between positions this far apart or more (GFW ``MAX_GAP_HOURS = 1``)."""

RESAMPLED: dict[str, pl.DataType] = {
    "mmsi": pl.Int64(),
    "segment_id": pl.Int64(),
    "ts": schema.TS,
    "lat": pl.Float64(),
    "lon": pl.Float64(),
    "speed_kn": pl.Float64(),
}
"""Columns of :func:`resample`'s result."""


@dataclass(frozen=True)
class Samples:
    """Resampled tracks as NumPy arrays, sorted by track then time (the kernel's form).

    ``track`` numbers the tracks 0..n-1 in (mmsi, segment_id) order; ``step`` is the grid
    index (time = step * grid_us microseconds since the epoch).
    """

    track: np.ndarray
    mmsi: np.ndarray
    segment_id: np.ndarray  # int64; meaningful where segment_valid
    segment_valid: np.ndarray
    step: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    speed_kn: np.ndarray  # NaN where unknown
    grid_us: int

    def __len__(self) -> int:
        return len(self.step)


@dataclass(frozen=True)
class Tracks:
    """Positions with a usable fix as NumPy arrays, sorted by track then time, one row per
    track and time (the first of several rows of one track at one time is kept).

    ``track`` numbers the tracks 0..n-1: one ``(mmsi, segment_id)`` (a null segment_id is a
    track of its own), or one ``mmsi`` without ``segment_id``. ``sog`` is NaN where null.
    """

    track: np.ndarray
    mmsi: np.ndarray
    segment_id: np.ndarray  # int64; meaningful where segment_valid
    segment_valid: np.ndarray
    t_us: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    sog: np.ndarray

    def __len__(self) -> int:
        return len(self.t_us)

    def take(self, idx: np.ndarray) -> Tracks:
        """The rows ``idx`` (track numbers are kept as they are)."""
        return Tracks(**{k: getattr(self, k)[idx] for k in self.__dataclass_fields__})


def track_positions(positions: pl.DataFrame) -> Tracks:
    """Sort positions into tracks: see :class:`Tracks`.

    Raises :class:`seawatch.schema.SchemaError` when ``mmsi``, ``ts``, ``lat`` or ``lon`` is
    missing; ``sog`` and ``segment_id`` are optional.
    """
    missing = [c for c in ("mmsi", "ts", "lat", "lon") if c not in positions.columns]
    if missing:
        raise schema.SchemaError(
            f"column(s) {missing} missing; found: {positions.columns}. Positions need mmsi, "
            "ts, lat, lon (seawatch.schema.POSITIONS), and optionally sog and segment_id."
        )
    seg = (
        pl.col("segment_id").cast(pl.Int64)
        if "segment_id" in positions.columns
        else pl.lit(None, dtype=pl.Int64)
    )
    sog = pl.col("sog").cast(pl.Float64) if "sog" in positions.columns else pl.lit(None)
    frame = positions.select(
        pl.col("mmsi").cast(pl.Int64),
        seg.is_not_null().alias("segment_valid"),
        seg.fill_null(0).alias("segment_id"),
        schema.conform(positions.select("ts"), {"ts": schema.TS}).to_series().dt.epoch("us"),
        pl.col("lat").cast(pl.Float64),
        pl.col("lon").cast(pl.Float64),
        sog.cast(pl.Float64).fill_null(float("nan")).alias("sog"),
    ).filter(
        pl.col("mmsi").is_not_null()
        & pl.col("ts").is_not_null()
        & pl.col("lat").is_between(-90.0, 90.0)
        & pl.col("lon").is_between(-180.0, 180.0)
    )
    cols = {c: frame[c].to_numpy() for c in frame.columns}
    mmsi, valid, seg_id, t = cols["mmsi"], cols["segment_valid"], cols["segment_id"], cols["ts"]
    # sort by (mmsi, segment_id with nulls last, ts) in NumPy (several times faster than
    # Polars' multi-column sort and gather here); skip it when the input is in order
    keys = (t, mmsi) if not valid.any() else (t, seg_id, ~valid, mmsi)
    if not _is_sorted(keys):
        order = np.lexsort(keys)
        cols = {c: v[order] for c, v in cols.items()}
        mmsi, valid, seg_id, t = cols["mmsi"], cols["segment_valid"], cols["segment_id"], cols["ts"]
    new_track = np.ones(len(t), dtype=bool)
    new_track[1:] = (
        (mmsi[1:] != mmsi[:-1]) | (valid[1:] != valid[:-1]) | (seg_id[1:] != seg_id[:-1])
    )
    out = Tracks(
        track=np.cumsum(new_track) - 1,
        mmsi=mmsi,
        segment_id=seg_id,
        segment_valid=valid,
        t_us=t,
        lat=cols["lat"],
        lon=cols["lon"],
        sog=cols["sog"],
    )
    keep = np.ones(len(t), dtype=bool)
    keep[1:] = new_track[1:] | (t[1:] != t[:-1])  # the first of several rows at one time
    return out if keep.all() else out.take(np.flatnonzero(keep))


def _is_sorted(keys: tuple[np.ndarray, ...]) -> bool:
    """Whether rows are in ``np.lexsort(keys)`` order (last key primary)."""
    if len(keys[0]) < 2:
        return True
    undecided = np.ones(len(keys[0]) - 1, dtype=bool)
    for k in reversed(keys):
        a, b = k[:-1], k[1:]
        if np.any(undecided & (b < a)):
            return False
        undecided &= b == a
    return True


def resample_samples(
    positions: pl.DataFrame,
    *,
    grid: str | timedelta = DEFAULT_GRID,
    max_gap: str | timedelta = DEFAULT_MAX_GAP,
) -> Samples:
    """:func:`resample` returning :class:`Samples` arrays (for kernels that go on in NumPy)."""
    g = duration_us(grid)
    gap = duration_us(max_gap)
    if g <= 0:
        raise InvalidValue(f"grid must be a positive duration; got {grid!r}")
    tp = track_positions(positions)
    track, t, lat, lon, sog = tp.track, tp.t_us, tp.lat, tp.lon, tp.sog
    n = len(t)

    # intervals between consecutive positions of a track, shorter than max_gap
    same = track[1:] == track[:-1] if n > 1 else np.zeros(0, dtype=bool)
    dt = t[1:] - t[:-1]
    short = same & (dt < gap) & (dt > 0)
    no_sog = np.isnan(sog)
    # implied speed of interval i -> i+1, where a position without sog needs it
    v_next = implied_speed_kn(lat, lon, t, same, where=no_sog[:-1] | no_sog[1:])

    # grid times strictly inside each short interval
    i0 = np.flatnonzero(short)
    first = t[i0] // g + 1
    last = (t[i0 + 1] - 1) // g
    count = np.maximum(last - first + 1, 0)
    rep = np.repeat(i0, count)
    offs = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    step_in = np.repeat(first, count) + offs
    t0 = t[rep]
    mix = (step_in * g - t0) / (t[rep + 1] - t0)
    lat_in = lat[rep] + mix * (lat[rep + 1] - lat[rep])
    lon_in = wrap_lon(lon[rep] + mix * lon_delta(lon[rep], lon[rep + 1]))
    sog_in = sog[rep] + mix * (sog[rep + 1] - sog[rep])
    speed_in = np.where(np.isnan(sog_in), v_next[rep], sog_in)

    # positions exactly on a grid time
    on = np.flatnonzero(t % g == 0)
    prev_short = np.zeros(n, dtype=bool)
    next_short = np.zeros(n, dtype=bool)
    prev_short[1:] = short
    next_short[:-1] = short
    v_prev = np.full(n, np.nan)
    v_prev[1:] = v_next[:-1]
    fallback = np.where(prev_short, v_prev, np.where(next_short, v_next, np.nan))
    speed_on = np.where(np.isnan(sog[on]), fallback[on], sog[on])

    idx = np.concatenate([rep, on])
    step = np.concatenate([step_in, t[on] // g])
    order = np.lexsort((step, track[idx]))
    idx = idx[order]
    return Samples(
        track=track[idx],
        mmsi=tp.mmsi[idx],
        segment_id=tp.segment_id[idx],
        segment_valid=tp.segment_valid[idx],
        step=step[order],
        lat=np.concatenate([lat_in, lat[on]])[order],
        lon=np.concatenate([lon_in, lon[on]])[order],
        speed_kn=np.concatenate([speed_in, speed_on])[order],
        grid_us=g,
    )


def concat_samples(parts: Sequence[Samples], grid_us: int | None = None) -> Samples:
    """The :class:`Samples` of several parts of a positions table as one, as if resampled
    together.

    Tracks are resampled one by one, so when the parts hold disjoint sets of MMSIs, in
    increasing order (every MMSI of a part below every MMSI of the next), the result is
    identical to :func:`resample_samples` of the concatenated positions: arrays joined in
    order, ``track`` renumbered to continue from the previous part.

    Parameters
    ----------
    parts : sequence of Samples
        Resampled on the same grid.
    grid_us : int, optional
        The grid of the result when ``parts`` is empty (default: 10 minutes).

    Raises
    ------
    seawatch.errors.InvalidValue
        Parts on different grids, or whose MMSIs overlap or are out of order.

    >>> from datetime import datetime, UTC
    >>> t = [datetime(2026, 1, 1, 0, m, tzinfo=UTC) for m in (0, 30)]
    >>> p = pl.DataFrame({"mmsi": [1, 1, 2, 2], "ts": t + t, "lat": 0.0, "lon": 0.0})
    >>> whole = resample_samples(p)
    >>> joined = concat_samples([resample_samples(p.filter(pl.col("mmsi") == m)) for m in (1, 2)])
    >>> joined.track.tolist() == whole.track.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    True
    """
    grids = {part.grid_us for part in parts}
    if len(grids) > 1:
        raise InvalidValue(f"samples on different grids cannot be joined: {sorted(grids)} us")
    grid = grids.pop() if grids else duration_us(DEFAULT_GRID) if grid_us is None else grid_us
    filled = [part for part in parts if len(part)]
    for before, after in pairwise(filled):
        if int(before.mmsi.max()) >= int(after.mmsi.min()):
            raise InvalidValue(
                "samples of parts with overlapping or unordered MMSIs cannot be joined: "
                f"a part ends at MMSI {int(before.mmsi.max())}, the next starts at "
                f"{int(after.mmsi.min())}"
            )
    fields = [f for f in Samples.__dataclass_fields__ if f != "grid_us"]
    if not filled:
        empty = pl.DataFrame(
            schema={"mmsi": pl.Int64, "ts": schema.TS, "lat": pl.Float64, "lon": pl.Float64}
        )
        return resample_samples(empty, grid=timedelta(microseconds=grid))
    offsets = np.cumsum([0] + [int(part.track[-1]) + 1 for part in filled[:-1]])
    out = {f: np.concatenate([getattr(part, f) for part in filled]) for f in fields if f != "track"}
    out["track"] = np.concatenate(
        [part.track + off for part, off in zip(filled, offsets, strict=True)]
    )
    return Samples(**out, grid_us=grid)


def resample(
    positions: pl.DataFrame,
    *,
    grid: str | timedelta = DEFAULT_GRID,
    max_gap: str | timedelta = DEFAULT_MAX_GAP,
) -> pl.DataFrame:
    """Resample every track onto a regular time grid by linear interpolation.

    Parameters
    ----------
    positions : polars.DataFrame
        Positions with at least ``mmsi``, ``ts``, ``lat``, ``lon`` (``seawatch.schema.
        POSITIONS``); ``sog`` and ``segment_id`` are used when present. A track is one
        ``(mmsi, segment_id)``, or one ``mmsi`` without ``segment_id``. Rows without a valid
        position are ignored; of several rows of one track at the same time the first is used.
    grid : str or timedelta, default "10m"
        Grid step; grid times are multiples of it since the epoch. Reference: GFW
        pipe-encounters resamples to 10 minutes (``increment_s = 600``).
    max_gap : str or timedelta, default "1h"
        Consecutive positions this far apart or more are not interpolated between. Reference:
        GFW pipe-encounters ``MAX_GAP_HOURS = 1``; DESIGN.md "no interpolation across gaps of
        1 h or more".

    Returns
    -------
    polars.DataFrame
        ``mmsi``, ``segment_id`` (null when the input has none), ``ts`` (grid times), ``lat``,
        ``lon`` (in [-180, 180)), ``speed_kn``; sorted by track and time.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> p = pl.DataFrame({"mmsi": [7, 7, 7], "lat": [0.0, 0.1, 0.5], "lon": [0.0, 0.0, 0.0],
    ...                   "sog": [6.0, 6.0, 6.0],
    ...                   "ts": [datetime(2026, 1, 1, 0, 0, tzinfo=UTC),
    ...                          datetime(2026, 1, 1, 0, 20, tzinfo=UTC),
    ...                          datetime(2026, 1, 1, 2, 0, tzinfo=UTC)]})
    >>> r = resample(p)  # nothing between 00:20 and 02:00 (100 min >= 1 h)
    >>> r["ts"].dt.strftime("%H:%M").to_list(), r["lat"].round(3).to_list()
    (['00:00', '00:10', '00:20', '02:00'], [0.0, 0.05, 0.1, 0.5])
    """
    s = resample_samples(positions, grid=grid, max_gap=max_gap)
    frame = pl.DataFrame(
        {
            "mmsi": s.mmsi,
            "segment_id": s.segment_id,
            "valid": s.segment_valid,
            "ts": s.step * s.grid_us,
            "lat": s.lat,
            "lon": s.lon,
            "speed_kn": s.speed_kn,
        },
        schema={
            "mmsi": pl.Int64,
            "segment_id": pl.Int64,
            "valid": pl.Boolean,
            "ts": pl.Int64,
            "lat": pl.Float64,
            "lon": pl.Float64,
            "speed_kn": pl.Float64,
        },
    )
    return frame.select(
        "mmsi",
        pl.when("valid").then("segment_id").alias("segment_id"),
        pl.col("ts").cast(schema.TS),
        "lat",
        "lon",
        pl.col("speed_kn").fill_nan(None),
    )
