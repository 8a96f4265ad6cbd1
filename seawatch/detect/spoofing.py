"""Spoofing events: one MMSI transmitted from places no single vessel could connect.

Definition (``docs/detectors.md``, section *spoofing*). After segmentation
(``seawatch.tracks.segment``) a shared identity shows up as two or more segments of one MMSI
overlapping in time, and a faked position as a segment of its own in the middle of the track.
Both show in the MMSI's positions in time order as a *switch*: consecutive positions p, q in
different segments that are not a clean hand-over (p the last position of its segment and q
the first of its segment). A switch is evidence of spoofing when no vessel could have made it:
the implied speed exceeds ``max_speed_kn`` and the distance exceeds ``jump_km`` (so GPS noise
and time-stamp jitter of a few kilometres are not spoofing). Evidence less than ``merge_h``
apart forms one episode, one event: from the first to the last position involved; an
episode needs ``min_switches`` (2) impossible switches, away and back.

``details``: ``kind`` (``shared_identity`` when two or more involved segments have at least
``min_track_positions`` positions, else ``position_jump``), ``n_tracks`` (segments involved),
``n_switches``, ``max_implied_speed_kn`` (time floored at 1 s, the resolution of AIS time
stamps), ``max_separation_km``. ``score`` = 1 - 0.5 ** n_switches: a jump and back (two
switches) scores 0.75, a long alternation between two tracks approaches 1.

Examples
--------
>>> import polars as pl
>>> from datetime import datetime, timedelta, UTC
>>> from seawatch.tracks import segment
>>> t0 = datetime(2026, 1, 15, tzinfo=UTC)
>>> lat = [-1.0, -1.01, -3.0, -1.03, -1.04]         # the third position is 220 km away
>>> pos = pl.DataFrame({"mmsi": [735000001] * 5, "lon": [-85.0] * 5, "lat": lat,
...                     "ts": [t0 + timedelta(minutes=10 * k) for k in range(5)]})
>>> ev = detect_spoofing(segment(pos))
>>> ev.select("type", "mmsi", "score").rows()
[('spoofing', 735000001, 0.75)]
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl

from seawatch import schema
from seawatch.detect.detector import Detector
from seawatch.detect.events import details_json, empty_events, to_events
from seawatch.geo.geodesy import NM_KM, distance_km
from seawatch.params import Count, Number, Params, param, resolve


class SpoofingParams(Params):
    """Parameters of ``spoofing`` (docs/detectors.md, *spoofing*)."""

    max_speed_kn: Number = param(
        25.0,
        "A switch between segments is impossible for one vessel above this implied speed (knots).",
        "the segmentation speed: GFW gpsdio-segment max_knots, DESIGN.md",
    )
    jump_km: Number = param(
        10.0,
        "... and over more than this distance (km); below it a switch is GPS noise or "
        "time-stamp jitter, not a second transmitter.",
        "docs/detectors.md",
    )
    merge_h: Number = param(
        6.0,
        "Spoofing evidence of one MMSI less than this many hours apart is one episode (one event).",
        "docs/detectors.md",
    )
    min_switches: Count = param(
        2,
        "Impossible switches an episode needs: a faked position jumps away and back (two); "
        "one lone switch is a stale or wrong report next to a good one.",
        'docs/detectors.md ("a jump that returns to the original track"); GFW\'s real '
        "satellite fixtures",
    )
    min_track_positions: Count = param(
        3,
        "Only for details.kind: an involved segment with at least this many positions is a "
        "track of its own (shared_identity), fewer a faked or bad position (position_jump).",
        "docs/detectors.md",
    )


def detect_spoofing(
    segmented: pl.DataFrame, *, params: SpoofingParams | None = None, **overrides: Any
) -> pl.DataFrame:
    """Spoofing events of a segmented positions table.

    Parameters
    ----------
    segmented
        Positions with ``segment_id`` (the output of :func:`seawatch.tracks.segment`).
    params
        The parameters (default: :class:`SpoofingParams`' defaults).
    **overrides
        Fields of :class:`SpoofingParams` to change (``jump_km=5``), checked against it.

    Returns
    -------
    polars.DataFrame
        Events (``seawatch.schema.EVENTS``) of type ``spoofing``; lat/lon is the position
        before the first impossible switch.

    Raises
    ------
    seawatch.params.ConfigError
        An unknown parameter or a value of the wrong type.
    """
    p = resolve(SpoofingParams, params, overrides, "detect_spoofing()")
    if "segment_id" not in segmented.columns:
        raise schema.SchemaError(
            f"column 'segment_id' missing; found: {segmented.columns}. "
            "Run seawatch.tracks.segment(positions) first."
        )
    pos = (
        segmented.select("mmsi", "ts", "lat", "lon", "segment_id")
        .sort("mmsi", "ts", maintain_order=True)
        .with_row_index("_i")
    )
    i, seg = pl.col("_i"), pl.col("segment_id")
    pos = pos.with_columns(
        (i == i.min().over("segment_id")).alias("_first"),
        (i == i.max().over("segment_id")).alias("_last"),
        pl.len().over("segment_id").alias("_n"),
    )
    q = ["ts", "lat", "lon", "segment_id", "_first", "_n"]
    sw = pos.with_columns(*[pl.col(c).shift(-1).over("mmsi").alias(f"q{c}") for c in q]).filter(
        pl.col("qsegment_id").is_not_null()
        & (pl.col("qsegment_id") != seg)
        & ~(pl.col("_last") & pl.col("q_first"))
    )
    if sw.height == 0:
        return empty_events()
    dist = distance_km(sw["lat"], sw["lon"], sw["qlat"], sw["qlon"])
    seconds = (sw["qts"] - sw["ts"]).dt.total_microseconds().to_numpy() / 1e6
    speed = dist / NM_KM / (np.maximum(seconds, 1.0) / 3600.0)
    sw = sw.with_columns(pl.Series("sep_km", dist), pl.Series("speed_kn", speed)).filter(
        (pl.col("sep_km") > p.jump_km) & (pl.col("speed_kn") > p.max_speed_kn)
    )
    if sw.height == 0:
        return empty_events()
    merge = timedelta(microseconds=round(p.merge_h * 3_600_000_000))
    sw = (
        sw.sort("mmsi", "ts")
        .with_columns(pl.col("qts").cum_max().shift(1).over("mmsi").alias("_prev_end"))
        .with_columns(
            ((pl.col("ts") - pl.col("_prev_end")) >= merge)
            .fill_null(True)
            .cum_sum()
            .over("mmsi")
            .alias("_episode")
        )
    )
    tracks = pl.concat(
        [
            sw.select("mmsi", "_episode", "segment_id", pl.col("_n").alias("n")),
            sw.select(
                "mmsi",
                "_episode",
                pl.col("qsegment_id").alias("segment_id"),
                pl.col("q_n").alias("n"),
            ),
        ]
    ).unique()
    kinds = tracks.group_by("mmsi", "_episode").agg(
        pl.len().alias("n_tracks"),
        (pl.col("n") >= p.min_track_positions).sum().alias("n_long"),
    )
    ep = (
        sw.group_by("mmsi", "_episode")
        .agg(
            pl.col("ts").min().alias("start"),
            pl.col("qts").max().alias("end"),
            pl.col("lat").first().alias("lat"),
            pl.col("lon").first().alias("lon"),
            pl.len().alias("n_switches"),
            pl.col("speed_kn").max().alias("max_implied_speed_kn"),
            pl.col("sep_km").max().alias("max_separation_km"),
        )
        .join(kinds, on=["mmsi", "_episode"])
        .filter(pl.col("n_switches") >= p.min_switches)
    )
    out = ep.select(
        "mmsi",
        "start",
        "end",
        "lat",
        "lon",
        (1.0 - 0.5 ** pl.col("n_switches").cast(pl.Float64)).alias("score"),
        details_json(
            {
                "kind": pl.when(pl.col("n_long") >= 2)
                .then(pl.lit("shared_identity"))
                .otherwise(pl.lit("position_jump")),
                "n_tracks": pl.col("n_tracks"),
                "n_switches": pl.col("n_switches"),
                "max_implied_speed_kn": pl.col("max_implied_speed_kn").round(1),
                "max_separation_km": pl.col("max_separation_km").round(3),
            }
        ),
    )
    return to_events(out, "spoofing")


DETECTOR = Detector(
    name="spoofing",
    event_types=("spoofing",),
    params=SpoofingParams,
    detect=lambda table, params, context: detect_spoofing(table, params=params),
)
"""The ``spoofing`` step of the pipeline."""
