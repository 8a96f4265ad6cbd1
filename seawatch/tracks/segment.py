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

import numpy as np
import polars as pl

from seawatch.errors import InvalidValue

# NM_KM and distance_km: kept for seawatch.detect until it moves to seawatch.geo.geodesy
from seawatch.geo.geodesy import NM_KM, distance_km, ecef_km  # noqa: F401
from seawatch.tracks.clean import clean

SEGMENT_ID_FACTOR = 100_000
"""``segment_id = mmsi * SEGMENT_ID_FACTOR + k``: room for 100,000 segments per MMSI."""

_CLASS_A = (1, 2, 3)
_CLASS_B = (18, 19)


def segment(
    positions: pl.DataFrame,
    *,
    max_speed_kn: float = 25.0,
    noise_km: float = 1.0,
    max_gap_h: float = 24.0,
    max_open_segments: int = 20,
    penalty_speed_kn: float = 5.0,
    buffer_h: float = 0.25,
    short_segment_positions: int = 10,
    transponder_mismatch_weight: float = 0.1,
    lookback: int = 5,
) -> pl.DataFrame:
    """Clean ``positions`` and add ``segment_id``: one id per plausible track of a vessel.

    Parameters
    ----------
    positions
        A positions table (``seawatch.schema.POSITIONS``), in any order, possibly the
        concatenation of several files; it is cleaned first (:func:`seawatch.tracks.clean`).
    max_speed_kn
        A position whose implied speed from a segment's last position is above this cannot
        continue that segment. 25 kn: GFW gpsdio-segment ``max_knots`` and DESIGN.md.
    noise_km
        Positions at most this far apart always fit, whatever the time between them (GPS
        noise, time-stamp jitter of satellite receivers). 1 km: DESIGN.md / docs/detectors.md.
    max_gap_h
        A segment ends after this long without a position (strictly longer). 24 h: GFW
        gpsdio-segment ``max_hours``.
    max_open_segments
        Segments kept open at once per MMSI; when a new one is needed the least recently
        extended is closed. GFW uses 100 for whole-world satellite data; 20 is plenty for two
        or three vessels sharing an MMSI plus noise, and bounds the work per position.
    penalty_speed_kn, buffer_h
        Scale of the matching score (GFW gpsdio-segment ``penalty_speed = 5`` kn and
        ``buffer_hours = 0.25`` h): a discrepancy from dead reckoning of ``penalty_speed_kn``
        times the padded hours ``hypot(dt, buffer_h)`` lowers the score by a factor ``e``.
    short_segment_positions
        Segments shorter than this score lower by ``sqrt(n / short_segment_positions)`` so a
        position prefers an established track over a fragment (GFW ``short_seg_threshold``).
    transponder_mismatch_weight
        Score factor when a class A report (types 1-3) would join a class B segment (types 18,
        19) or the reverse: two transponders are two vessels (GFW
        ``transponder_mismatch_weight = 0.1``). 1 disables it, 0 forbids the join (measured
        on GFW's fixtures to lower agreement: docs/parity-gfw-segment-gaps.md).
    lookback
        A position that fits no open segment's last position, but fits one of the
        ``lookback`` positions before it and continues it better than the position that
        followed it did, opens a rival branch; the next position decides which was the bad
        report, and the bad one becomes a segment of its own (a stale or wrong report that
        happened to be reachable must not end the track). 5: GFW gpsdio-segment
        ``lookback``; 0 disables it.

    Returns
    -------
    polars.DataFrame
        The cleaned positions, sorted by (mmsi, ts, lat, lon), with ``segment_id`` (Int64)
        appended. Reported speeds above ``2 * max_speed_kn`` are not used for dead reckoning
        (51.2 and 63 kn are known bogus values); at most ``0.35`` kn counts as stopped.

    Warns
    -----
    UserWarning
        When an MMSI has more than 100,000 segments: its later segments all get
        ``k = 99_999`` (``segment_id`` stays unique per MMSI). Such an MMSI is a default or
        invalid identity shared by many transmitters (see ``mmsi_valid``), not a vessel.
    """
    if max_open_segments < 1:
        raise InvalidValue(f"max_open_segments must be at least 1, got {max_open_segments}")
    if max_speed_kn <= 0 or noise_km < 0 or max_gap_h <= 0:
        raise InvalidValue(
            "max_speed_kn and max_gap_h must be positive and noise_km non-negative; got "
            f"{max_speed_kn=}, {noise_km=}, {max_gap_h=}"
        )
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
        float(max_speed_kn),
        float(noise_km),
        float(max_gap_h),
        int(max_open_segments),
        float(penalty_speed_kn),
        float(buffer_h),
        int(short_segment_positions),
        float(transponder_mismatch_weight),
        SLOW_KN,
        int(lookback),
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
