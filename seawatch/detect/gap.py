"""Gap events: a vessel's track falls silent for longer than ``min_gap_h`` ("going dark").

Definition (``docs/detectors.md``, section *gap*; Global Fishing Watch pipe-gaps): two
consecutive positions of one vessel track more than ``min_gap_h`` hours apart (strictly).
The track is a segment (``seawatch.tracks.segment``), and a gap also joins the end of one
segment to the start of the MMSI's next one when the MMSI sent nothing in between: a segment
ends after 24 h of silence, and a vessel dark for three days is exactly the gap to report.
Segments of fewer than ``min_segment_positions`` positions can be left out (default: none).
A silence longer than ``max_gap_h`` (two weeks) is not a gap: a store may hold captures made
days or years apart (a 2018 file beside a 2023 one), and the time between them is data the
store does not have, not a vessel dark at sea.

Event start = the last position before the gap ("off"), end = the first position after ("on");
the event's lat/lon is the off position. ``details`` holds ``gap_hours``, ``distance_km``,
``implied_speed_kn``, ``off_distance_from_shore_km``, ``positions_12h_before`` (positions of
the track in [off - 12 h, off], off included), ``likely_intentional`` and the off/on positions.

Examples
--------
>>> import polars as pl
>>> from datetime import datetime, timedelta, UTC
>>> from seawatch.tracks import segment
>>> t0 = datetime(2026, 1, 15, tzinfo=UTC)
>>> hours = [0, 1, 2, 16, 17]                      # silent from 02:00 to 16:00
>>> pos = pl.DataFrame({"mmsi": [735000001] * 5,
...                     "ts": [t0 + timedelta(hours=h) for h in hours],
...                     "lat": [-1.0, -1.1, -1.2, -2.6, -2.7], "lon": [-85.0] * 5})
>>> ev = detect_gaps(segment(pos))
>>> ev["start"][0].hour, ev["end"][0].hour
(2, 16)
>>> from seawatch.detect.events import details_of
>>> details = details_of(ev.row(0, named=True))
>>> details["gap_hours"], details["positions_12h_before"], details["likely_intentional"]
(14.0, 3, False)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from pydantic import model_validator
from pydantic_core import PydanticCustomError

from seawatch import schema
from seawatch.detect.detector import Detector
from seawatch.detect.events import details_json, empty_events, to_events
from seawatch.geo.geodesy import NM_KM, distance_km
from seawatch.params import Count, Number, Params, param, resolve


class GapParams(Params):
    """Parameters of ``gap`` (docs/detectors.md, *gap*)."""

    min_gap_h: Number = param(
        12.0,
        "Consecutive positions more than this many hours apart are a gap (strictly).",
        "DESIGN.md and GFW pipe-gaps' GapDetector default; GFW's published \"potential dark "
        'activity" uses 6 h',
    )
    max_gap_h: Number = param(
        336.0,
        "A silence longer than this many hours is not a gap: it lies between captures the "
        "store holds (files days or years apart), or beyond what it covers, rather than a "
        "vessel dark at sea. Raise it for a store with continuous coverage.",
        "seawatch: two weeks keeps every multi-day dark period of a fishing trip and drops the "
        "silences between separate captures (a store of 2018, 2021 and 2023 files gave gaps "
        "of years)",
    )
    intentional_shore_nm: Number = param(
        50.0,
        "likely_intentional needs the position before the gap more than this many nautical "
        "miles from shore, where reception is good.",
        'DESIGN.md, after GFW\'s "AIS disabling" analysis (gaps starting more than 50 nm '
        "from shore)",
    )
    min_positions_before: Count = param(
        6,
        "likely_intentional also needs at least this many positions in the before_h hours "
        "before the gap (good reception, so the silence is the transponder's).",
        "DESIGN.md",
    )
    before_h: Number = param(
        12.0,
        "Window (hours) of details.positions_12h_before: positions of the track in "
        "[off - before_h, off], off included; the key keeps its name whatever the window.",
        "GFW pipe-gaps n_hours_before = 12",
    )
    min_segment_positions: Count = param(
        1,
        "Segments with fewer positions are left out (1: none). Raise it to drop lone "
        "positions inside a long silence, which otherwise split it into two gaps.",
        "GFW pipe-gaps, which counts every position of the MMSI",
    )

    @model_validator(mode="after")
    def _max_beyond_min(self) -> GapParams:
        if self.max_gap_h < self.min_gap_h:
            raise PydanticCustomError(
                "seawatch",
                "max_gap_h ({max}) must be at least min_gap_h ({min})",
                {"max": self.max_gap_h, "min": self.min_gap_h},
            )
        return self


def detect_gaps(
    segmented: pl.DataFrame, *, params: GapParams | None = None, **overrides: Any
) -> pl.DataFrame:
    """Gap events of a segmented positions table.

    Parameters
    ----------
    segmented
        Positions with ``segment_id`` (the output of :func:`seawatch.tracks.segment`).
    params
        The parameters (default: :class:`GapParams`' defaults).
    **overrides
        Fields of :class:`GapParams` to change (``min_gap_h=6``), checked against it.

    Returns
    -------
    polars.DataFrame
        Events (``seawatch.schema.EVENTS``) of type ``gap``; ``score`` is 1.0 when
        ``likely_intentional`` and 0.5 otherwise.

    Raises
    ------
    seawatch.params.ConfigError
        An unknown parameter or a value of the wrong type.
    """
    p = resolve(GapParams, params, overrides, "detect_gaps()")
    if "segment_id" not in segmented.columns:
        raise schema.SchemaError(
            f"column 'segment_id' missing; found: {segmented.columns}. "
            "Run seawatch.tracks.segment(positions) first."
        )
    pos = segmented.select("mmsi", "ts", "lat", "lon", "segment_id").sort(
        "mmsi", "ts", maintain_order=True
    )  # segment() output is sorted already; this is then a cheap check
    pos = pos.filter(pl.len().over("segment_id") >= p.min_segment_positions)
    if pos.height < 2:
        return empty_events()
    mmsi = pos["mmsi"].to_numpy()
    seg = pos["segment_id"].to_numpy()
    t = pos["ts"].dt.epoch("us").to_numpy()
    # the positions grouped by segment, in time order within each segment
    order = np.argsort(seg, kind="stable")
    cont = seg[order][1:] == seg[order][:-1]  # order[k + 1] continues order[k]'s segment
    first = np.zeros(pos.height, dtype=bool)
    last = np.zeros(pos.height, dtype=bool)
    first[order[np.r_[True, ~cont]]] = True
    last[order[np.r_[~cont, True]]] = True
    # (a) consecutive positions of one segment; (b) the MMSI's silence from the end of one
    # segment to the start of the next (a segment ends after max_gap_h of silence)
    k = np.arange(pos.height - 1)
    across = (mmsi[k] == mmsi[k + 1]) & (seg[k] != seg[k + 1]) & last[k] & first[k + 1]
    off = np.concatenate([order[:-1][cont], k[across]])
    on = np.concatenate([order[1:][cont], k[across] + 1])
    threshold_us = round(p.min_gap_h * 3_600_000_000)
    longest_us = round(p.max_gap_h * 3_600_000_000)
    silence = t[on] - t[off]
    # strictly longer than min_gap_h (exact in microseconds), and no longer than max_gap_h
    is_gap = (silence > threshold_us) & (silence <= longest_us)
    off, on = off[is_gap], on[is_gap]
    if off.size == 0:
        return empty_events()
    before = _positions_before(t, order, cont, off, round(p.before_h * 3_600_000_000))
    gaps = pl.concat(
        [
            pos[off],
            pos[on].select(
                pl.col("ts").alias("on_ts"),
                pl.col("lat").alias("on_lat"),
                pl.col("lon").alias("on_lon"),
                pl.col("segment_id").alias("on_segment_id"),
            ),
            pl.DataFrame({"positions_before": before}, schema={"positions_before": pl.Int64}),
        ],
        how="horizontal",
    )

    from seawatch.geo import distance_to_shore_km

    off_lat, off_lon = gaps["lat"].to_numpy(), gaps["lon"].to_numpy()
    on_lat, on_lon = gaps["on_lat"].to_numpy(), gaps["on_lon"].to_numpy()
    hours = (gaps["on_ts"] - gaps["ts"]).dt.total_microseconds().to_numpy() / 3.6e9
    dist = distance_km(off_lat, off_lon, on_lat, on_lon)
    shore = np.asarray(distance_to_shore_km(off_lat, off_lon), dtype=np.float64)
    gaps = gaps.with_columns(
        pl.Series("gap_hours", hours),
        pl.Series("distance_km", dist),
        pl.Series("implied_speed_kn", dist / NM_KM / hours),
        pl.Series("off_distance_from_shore_km", shore),
    ).with_columns(
        (
            (pl.col("off_distance_from_shore_km") > p.intentional_shore_nm * NM_KM)
            & (pl.col("positions_before") >= p.min_positions_before)
        ).alias("likely_intentional")
    )
    out = gaps.select(
        "mmsi",
        pl.col("ts").alias("start"),
        pl.col("on_ts").alias("end"),
        "lat",
        "lon",
        pl.when(pl.col("likely_intentional")).then(1.0).otherwise(0.5).alias("score"),
        details_json(
            {
                "gap_hours": pl.col("gap_hours").round(6),
                "distance_km": pl.col("distance_km").round(3),
                "implied_speed_kn": pl.col("implied_speed_kn").round(3),
                "off_distance_from_shore_km": pl.col("off_distance_from_shore_km").round(3),
                "positions_12h_before": pl.col("positions_before"),
                "likely_intentional": pl.col("likely_intentional"),
                "off_lat": pl.col("lat"),
                "off_lon": pl.col("lon"),
                "on_lat": pl.col("on_lat"),
                "on_lon": pl.col("on_lon"),
                "off_segment_id": pl.col("segment_id"),
                "on_segment_id": pl.col("on_segment_id"),
            }
        ),
    )
    return to_events(out, "gap")


def _positions_before(
    t: np.ndarray, order: np.ndarray, cont: np.ndarray, rows: np.ndarray, window_us: int
) -> np.ndarray:
    """For each row in ``rows``: positions of its segment in [t - window, t].

    ``order`` lists the positions grouped by segment, in time order within each segment, and
    ``cont[k]`` tells whether ``order[k + 1]`` is in the same segment as ``order[k]``. One
    binary search per gap (gaps are few), so the cost is that of the gaps.
    """
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    ts = t[order]
    new_block = np.r_[True, ~cont]
    starts = np.flatnonzero(new_block)
    ends = np.r_[starts[1:], order.size]
    block = np.cumsum(new_block) - 1
    out = np.empty(rows.size, dtype=np.int64)
    for g, r in enumerate(rows):
        k = rank[r]
        b0, b1 = starts[block[k]], ends[block[k]]
        lo = b0 + int(np.searchsorted(ts[b0 : k + 1], t[r] - window_us, side="left"))
        hi = k + int(np.searchsorted(ts[k:b1], t[r], side="right"))
        out[g] = hi - lo
    return out


DETECTOR = Detector(
    name="gap",
    event_types=("gap",),
    params=GapParams,
    detect=lambda table, params, context: detect_gaps(table, params=params),
)
"""The ``gap`` step of the pipeline."""
