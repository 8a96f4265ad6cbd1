"""Loiter, go dark, loiter: a compound event of one vessel (a transshipment pattern).

A vessel that loiters at sea, goes dark, and loiters again after it reappears may have met
another vessel while unseen. A ``loiter_gap_loiter`` event joins a ``loitering`` event, a
``gap`` and a second ``loitering`` event of the same vessel when:

* the first loitering starts before the gap and ends at most ``within_h`` hours before the
  gap starts (or during it); the second ends after the gap and starts at most ``within_h``
  hours after the gap ends (or during it);
* the gap's envelope (:mod:`seawatch.detect.envelope`: the ellipse ``d(off, P) + d(P, on) <=
  v T``) reaches both loitering places, within ``place_km``.

For each gap the loitering nearest in time on each side is taken, so a gap gives at most
one event. start = the first loitering's start, end = the second's end, at the gap's off
position; score = the gap's. ``details`` name the member events (``loitering_before_id``,
``gap_event_id``, ``loitering_after_id``) and give the hours between them.

Examples
--------
>>> from seawatch.detect.detector import Context
>>> detect_loiter_gap_loiter(Context(), LoiterGapLoiterParams()).height
0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from seawatch.detect.detector import Context, Detector, Split
from seawatch.detect.envelope import gap_table
from seawatch.detect.events import details_json, empty_events, to_events
from seawatch.geo.geodesy import distance_km
from seawatch.params import Number, Params, param


class LoiterGapLoiterParams(Params):
    """Parameters of ``loiter_gap_loiter`` (docs/detectors.md, *loiter_gap_loiter*)."""

    within_h: Number = param(
        12.0,
        "A loitering event belongs to the chain when it ends at most this many hours before "
        "the gap starts (the one before) or starts at most this many hours after it ends "
        "(the one after).",
        "seawatch: half a day, as the gap's own positions_12h_before window",
    )
    place_km: Number = param(
        5.0,
        "Slack (km) of the test that the gap's envelope reaches the loitering places.",
        "seawatch: a loitering event's point is the mean of a drift of a few km",
    )


def detect_loiter_gap_loiter(context: Context, params: LoiterGapLoiterParams
                             ) -> pl.DataFrame:
    """The ``loiter_gap_loiter`` events of the context's gaps and loitering."""
    p = params
    gaps = gap_table(context.gaps, ["off_lat", "off_lon", "on_lat", "on_lon",
                                    "envelope_reach_km"])
    loit = context.loitering
    if gaps.height == 0 or loit is None or loit.height == 0:
        return empty_events()
    loit = loit.filter(pl.col("type") == "loitering").select(
        "mmsi", pl.col("event_id").alias("l_id"), pl.col("start").alias("l_start"),
        pl.col("end").alias("l_end"), pl.col("lat").alias("l_lat"), pl.col("lon").alias("l_lon"),
    )
    within = pl.duration(microseconds=round(p.within_h * 3_600_000_000))
    pairs = gaps.join(loit, on="mmsi", how="inner")
    reach = distance_km(pairs["off_lat"].to_numpy(), pairs["off_lon"].to_numpy(),
                        pairs["l_lat"].to_numpy(), pairs["l_lon"].to_numpy()) + distance_km(
        pairs["l_lat"].to_numpy(), pairs["l_lon"].to_numpy(),
        pairs["on_lat"].to_numpy(), pairs["on_lon"].to_numpy())
    pairs = pairs.with_columns(
        pl.Series("reached", reach <= pairs["envelope_reach_km"].to_numpy() + p.place_km)
    ).filter(pl.col("reached"))
    before = (
        pairs.filter((pl.col("l_start") < pl.col("start")) & (pl.col("l_end") <= pl.col("end"))
                     & (pl.col("l_end") >= pl.col("start") - within))
        .sort("l_end").group_by("event_id").last()
        .select("event_id", pl.col("l_id").alias("before_id"),
                pl.col("l_start").alias("b_start"), pl.col("l_end").alias("b_end"))
    )
    after = (
        pairs.filter((pl.col("l_end") > pl.col("end")) & (pl.col("l_start") >= pl.col("start"))
                     & (pl.col("l_start") <= pl.col("end") + within))
        .sort("l_start").group_by("event_id").first()
        .select("event_id", pl.col("l_id").alias("after_id"),
                pl.col("l_start").alias("a_start"), pl.col("l_end").alias("a_end"))
    )
    chain = gaps.join(before, on="event_id").join(after, on="event_id")
    if chain.height == 0:
        return empty_events()
    hours = 3_600_000_000
    out = chain.select(
        "mmsi",
        pl.col("b_start").alias("start"),
        pl.col("a_end").alias("end"),
        pl.col("off_lat").alias("lat"),
        pl.col("off_lon").alias("lon"),
        "score",
        details_json({
            "loitering_before_id": pl.col("before_id"),
            "gap_event_id": pl.col("event_id"),
            "loitering_after_id": pl.col("after_id"),
            "hours_loitering_to_gap": ((pl.col("start") - pl.col("b_end")).dt.total_microseconds()
                                       / hours).round(3),
            "gap_hours": ((pl.col("end") - pl.col("start")).dt.total_microseconds()
                          / hours).round(3),
            "hours_gap_to_loitering": ((pl.col("a_start") - pl.col("end"))
                                       .dt.total_microseconds() / hours).round(3),
            "envelope_reach_km": pl.col("envelope_reach_km"),
        }),
    )
    return to_events(out, "loiter_gap_loiter")


def _nothing(table: pl.DataFrame, params: Any, context: Context) -> None:
    return None


def _combine(parts: Sequence[Any], params: LoiterGapLoiterParams, context: Context
             ) -> pl.DataFrame:
    return detect_loiter_gap_loiter(context, params)


DETECTOR = Detector(
    name="loiter_gap_loiter",
    event_types=("loiter_gap_loiter",),
    params=LoiterGapLoiterParams,
    detect=lambda table, params, context: detect_loiter_gap_loiter(context, params),
    needs=frozenset({"gaps", "loitering"}),
    split=Split(part=_nothing, combine=_combine),
)
"""The ``loiter_gap_loiter`` step: chains the gaps and loitering of every vessel."""

