"""Segment: split each vessel's positions into tracks that one vessel could have sailed.

Definition (``docs/detectors.md``, section *segment*): a position continues a segment when the
implied speed from the segment's last position is at most ``max_speed_kn`` (25 kn) or the two
are at most ``noise_km`` (1 km) apart, and at most ``max_gap_h`` (24 h) have passed. When one
MMSI is transmitted by two vessels at once, or a position is faked, each position joins the
open segment it is most consistent with (Global Fishing Watch gpsdio-segment's matching idea,
with its scoring metric), and a position that fits none opens a new segment. So a shared MMSI
comes out as separate plausible tracks, and a lone bad position becomes a segment of its own
instead of breaking the track.

``segment_id`` is ``mmsi * 100_000 + k``, ``k`` the 0-based index of the MMSI's segments in
order of their first position. Segments with fewer than a handful of positions are usually
noise: detectors take a ``min_segment_positions`` parameter to ignore them.

Examples
--------
>>> import polars as pl
>>> from datetime import datetime, timedelta, UTC
>>> t0 = datetime(2026, 1, 15, tzinfo=UTC)
>>> pos = pl.DataFrame({
...     "mmsi": [735000001] * 5,
...     "ts": [t0 + timedelta(minutes=10 * k) for k in range(5)],
...     "lat": [-1.0, -1.01, -3.0, -1.03, -1.04],   # the third position is 220 km away
...     "lon": [-85.0] * 5,
... })
>>> segment(pos)["segment_id"].to_list()
[73500000100000, 73500000100000, 73500000100001, 73500000100000, 73500000100000]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from pydantic import model_validator
from pydantic_core import PydanticCustomError

from seawatch.geo.geodesy import ecef_km
from seawatch.params import Count, Number, Params, param, resolve
from seawatch.tracks.clean import clean

SEGMENT_ID_FACTOR = 100_000
"""``segment_id = mmsi * SEGMENT_ID_FACTOR + k``: room for 100,000 segments per MMSI."""

_CLASS_A = (1, 2, 3)
_CLASS_B = (18, 19)

GPSDIO = "GFW gpsdio-segment"


class SegmentParams(Params):
    """Parameters of :func:`seawatch.tracks.segment` (``[segment]``, docs/detectors.md)."""

    max_speed_kn: Number = param(
        25.0,
        "A position whose implied speed from a segment's last position is above this (knots) "
        "cannot continue that segment.",
        f"{GPSDIO} max_knots, DESIGN.md",
    )
    noise_km: Number = param(
        1.0,
        "Positions at most this far apart (km) always fit, whatever the time between them "
        "(GPS noise, time-stamp jitter).",
        "DESIGN.md",
    )
    max_gap_h: Number = param(
        24.0,
        "A segment ends after this many hours without a position (strictly longer).",
        f"{GPSDIO} max_hours",
    )
    max_open_segments: Count = param(
        20,
        "Segments kept open at once per MMSI; the least recently extended is closed first.",
        f"{GPSDIO} uses 100 for whole-world satellite data; 20 is plenty for a shared MMSI",
    )
    penalty_speed_kn: Number = param(
        5.0,
        "Scale of the matching score: a discrepancy from dead reckoning of this speed (knots) "
        "times hypot(dt, buffer_h) lowers the score by a factor e.",
        f"{GPSDIO} penalty_speed",
    )
    buffer_h: Number = param(
        0.25,
        "Hours added (in quadrature) to the time between positions in the matching score.",
        f"{GPSDIO} buffer_hours",
    )
    short_segment_positions: Count = param(
        10,
        "Segments shorter than this score lower by sqrt(n / short_segment_positions), so a "
        "position prefers an established track over a fragment.",
        f"{GPSDIO} short_seg_threshold",
    )
    transponder_mismatch_weight: Number = param(
        0.1,
        "Score factor when a class A report would join a class B segment or the reverse (1 "
        "disables it, 0 forbids the join).",
        f"{GPSDIO} transponder_mismatch_weight",
    )
    lookback: Count = param(
        5,
        "Positions before a segment's last one that a new position may attach to, detaching "
        "the later ones as a bad report (0 disables it).",
        f"{GPSDIO} lookback",
    )

    @model_validator(mode="after")
    def _can_segment(self) -> SegmentParams:
        if self.max_open_segments < 1:
            raise PydanticCustomError(
                "seawatch",
                "max_open_segments must be at least 1, got {got}",
                {"got": self.max_open_segments},
            )
        if self.max_speed_kn <= 0 or self.max_gap_h <= 0:
            raise PydanticCustomError(
                "seawatch",
                "max_speed_kn and max_gap_h must be positive, got {speed} and {gap}",
                {"speed": self.max_speed_kn, "gap": self.max_gap_h},
            )
        return self


def segment(
    positions: pl.DataFrame, *, params: SegmentParams | None = None, **overrides: Any
) -> pl.DataFrame:
    """Clean ``positions`` and add ``segment_id``: one id per plausible track of a vessel.

    Parameters
    ----------
    positions
        A positions table (``seawatch.schema.POSITIONS``), in any order, possibly the
        concatenation of several files; it is cleaned first (:func:`seawatch.tracks.clean`).
    params
        The parameters (default: :class:`SegmentParams`' defaults; each field says what it
        means and which reference its default follows).
    **overrides
        Fields of :class:`SegmentParams` to change (``max_gap_h=12``), checked against it.

    Returns
    -------
    polars.DataFrame
        The cleaned positions, sorted by (mmsi, ts, lat, lon), with ``segment_id`` (Int64)
        appended. Reported speeds above ``2 * max_speed_kn`` are not used for dead reckoning
        (51.2 and 63 kn are known bogus values); at most ``0.35`` kn counts as stopped.

    Raises
    ------
    seawatch.params.ConfigError
        An unknown parameter, a value of the wrong type, ``max_open_segments`` below 1, or
        ``max_speed_kn`` or ``max_gap_h`` not positive.

    Warns
    -----
    UserWarning
        When an MMSI has more than 100,000 segments: its later segments all get
        ``k = 99_999`` (``segment_id`` stays unique per MMSI). Such an MMSI is a default or
        invalid identity shared by many transmitters (see ``mmsi_valid``), not a vessel.

    Notes
    -----
    The matching score (``penalty_speed_kn``, ``buffer_h``, ``short_segment_positions``,
    ``transponder_mismatch_weight``) is gpsdio-segment's: a discrepancy from dead reckoning
    of ``penalty_speed_kn`` times the padded hours ``hypot(dt, buffer_h)`` lowers the score
    by a factor ``e``. A class A report (types 1-3) joining a class B segment (types 18, 19)
    or the reverse is two transponders, so two vessels; forbidding such joins outright was
    measured on GFW's fixtures to lower agreement (docs/parity-gfw-segment-gaps.md).
    ``max_open_segments``: GFW uses 100 for whole-world satellite data; 20 is plenty for two
    or three vessels sharing an MMSI plus noise, and bounds the work per position.

    Look-back: a position that fits no open segment's last position, but fits one of the
    ``lookback`` positions before it and continues it better than the position that
    followed it did, opens a rival branch; the next position decides which was the bad
    report, and the bad one becomes a segment of its own (a stale or wrong report that
    happened to be reachable must not end the track).
    """
    p = resolve(SegmentParams, params, overrides, "segment()")
    from seawatch.tracks.kernels import assign_segments

    out = clean(positions)
    if out.height == 0:
        return out.with_columns(pl.lit(None, dtype=pl.Int64).alias("segment_id"))
    mmsi = out["mmsi"].to_numpy()
    lat = out["lat"].to_numpy()
    lon = out["lon"].to_numpy()
    xyz = ecef_km(lat, lon)
    msg = out["msg_type"].fill_null(0).to_numpy()
    klass = np.where(np.isin(msg, _CLASS_A), 1, np.where(np.isin(msg, _CLASS_B), 2, 0))
    k = assign_segments(
        mmsi,
        out["ts"].dt.epoch("us").to_numpy(),
        xyz[:, 0].copy(),
        xyz[:, 1].copy(),
        xyz[:, 2].copy(),
        lat,
        lon,
        out["sog"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
        out["cog"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
        klass.astype(np.int64),
        float(p.max_speed_kn),
        float(p.noise_km),
        float(p.max_gap_h),
        int(p.max_open_segments),
        float(p.penalty_speed_kn),
        float(p.buffer_h),
        int(p.short_segment_positions),
        float(p.transponder_mismatch_weight),
        SLOW_KN,
        int(p.lookback),
    )
    if k.size and int(k.max()) >= SEGMENT_ID_FACTOR:
        import warnings

        over = np.unique(mmsi[k >= SEGMENT_ID_FACTOR])
        warnings.warn(
            f"MMSI {over[:10].tolist()} have more than {SEGMENT_ID_FACTOR:,} segments; their "
            f"later segments share k = {SEGMENT_ID_FACTOR - 1}. An MMSI this fragmented is "
            "not one vessel (filter on mmsi_valid).",
            stacklevel=2,
        )
        k = np.minimum(k, SEGMENT_ID_FACTOR - 1)
    return out.with_columns(pl.Series("segment_id", mmsi * SEGMENT_ID_FACTOR + k, pl.Int64))


SLOW_KN = 0.35
"""Reported speeds at or below this are taken as stopped, whatever the course (GFW
gpsdio-segment ``very_slow``)."""
