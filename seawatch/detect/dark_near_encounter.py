"""Dark near an encounter: a vessel goes dark just after, or comes back just before, meeting
another at sea (a compound event of one vessel).

A ``dark_near_encounter`` event joins a ``gap`` of a vessel and an ``encounter`` the vessel
took part in when either

* the gap starts at most ``within_h`` hours after the encounter ends (or while it lasts),
  with its off position within ``within_km`` of the encounter's point (``side`` =
  ``after_encounter``: the vessel went dark after meeting), or
* the gap ends at most ``within_h`` hours before the encounter starts (or while it lasts),
  with its on position within ``within_km`` of the encounter (``side`` =
  ``before_encounter``: the vessel reappeared to meet).

For each gap and side the encounter nearest in time is taken (``encounters_near`` counts
them all). The event is the gap's vessel's (``other_mmsi`` null; the partner is in
``details.partner_mmsi``), from the earlier of the two starts to the later of the two ends,
at the encounter's point; score = the gap's. ``details`` name the member events
(``gap_event_id``, ``encounter_event_id``).

Examples
--------
>>> from seawatch.detect.detector import Context
>>> detect_dark_near_encounter(Context(), DarkNearEncounterParams()).height
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

HOUR_US = 3_600_000_000


class DarkNearEncounterParams(Params):
    """Parameters of ``dark_near_encounter`` (docs/detectors.md, *dark_near_encounter*)."""

    within_h: Number = param(
        6.0,
        "The gap starts at most this many hours after the encounter ends, or ends at most "
        "this many hours before it starts.",
        'seawatch: GFW\'s "potential dark activity" scale (6 h gaps)',
    )
    within_km: Number = param(
        30.0,
        "The gap's off position (after the encounter) or on position (before it) lies within "
        "this many km of the encounter's point.",
        "seawatch: about 3 h of steaming at 5 kn, or half of within_h at the 10 kn floor",
    )


def detect_dark_near_encounter(context: Context, params: DarkNearEncounterParams
                               ) -> pl.DataFrame:
    """The ``dark_near_encounter`` events of the context's gaps and encounters."""
    p = params
    gaps = gap_table(context.gaps, ["off_lat", "off_lon", "on_lat", "on_lon", "gap_hours"])
    enc = context.encounters
    if gaps.height == 0 or enc is None or enc.height == 0:
        return empty_events()
    enc = enc.filter(pl.col("type") == "encounter")
    cols = [pl.col("event_id").alias("e_id"), pl.col("start").alias("e_start"),
            pl.col("end").alias("e_end"), pl.col("lat").alias("e_lat"),
            pl.col("lon").alias("e_lon")]
    sides = pl.concat([
        enc.select(pl.col("mmsi"), pl.col("other_mmsi").alias("partner"), *cols),
        enc.select(pl.col("other_mmsi").alias("mmsi"), pl.col("mmsi").alias("partner"), *cols),
    ])
    pairs = gaps.join(sides, on="mmsi", how="inner")
    if pairs.height == 0:
        return empty_events()
    e_lat, e_lon = pairs["e_lat"].to_numpy(), pairs["e_lon"].to_numpy()
    pairs = pairs.with_columns(
        pl.Series("off_km", distance_km(pairs["off_lat"].to_numpy(),
                                        pairs["off_lon"].to_numpy(), e_lat, e_lon)),
        pl.Series("on_km", distance_km(pairs["on_lat"].to_numpy(),
                                       pairs["on_lon"].to_numpy(), e_lat, e_lon)),
    )
    within = pl.duration(microseconds=round(p.within_h * HOUR_US))
    after = pairs.filter(
        (pl.col("start") >= pl.col("e_start")) & (pl.col("start") <= pl.col("e_end") + within)
        & (pl.col("off_km") <= p.within_km)
    ).with_columns(
        pl.lit("after_encounter").alias("side"),
        ((pl.col("start") - pl.col("e_end")).dt.total_microseconds() / HOUR_US)
        .clip(lower_bound=0).alias("hours_between"),
        pl.col("off_km").alias("km_between"),
    )
    before = pairs.filter(
        (pl.col("end") <= pl.col("e_end")) & (pl.col("end") >= pl.col("e_start") - within)
        & (pl.col("on_km") <= p.within_km)
    ).with_columns(
        pl.lit("before_encounter").alias("side"),
        ((pl.col("e_start") - pl.col("end")).dt.total_microseconds() / HOUR_US)
        .clip(lower_bound=0).alias("hours_between"),
        pl.col("on_km").alias("km_between"),
    )
    found = pl.concat([after, before])
    if found.height == 0:
        return empty_events()
    found = (
        found.with_columns(pl.len().over("event_id", "side").alias("encounters_near"))
        .sort("hours_between", "km_between", "e_id")
        .group_by("event_id", "side", maintain_order=True).first()
    )
    out = found.select(
        "mmsi",
        pl.min_horizontal("start", "e_start").alias("start"),
        pl.max_horizontal("end", "e_end").alias("end"),
        pl.col("e_lat").alias("lat"),
        pl.col("e_lon").alias("lon"),
        "score",
        details_json({
            "side": pl.col("side"),
            "gap_event_id": pl.col("event_id"),
            "encounter_event_id": pl.col("e_id"),
            "partner_mmsi": pl.col("partner"),
            "hours_between": pl.col("hours_between").round(3),
            "km_between": pl.col("km_between").round(3),
            "gap_hours": pl.col("gap_hours").round(3),
            "encounters_near": pl.col("encounters_near"),
        }),
    )
    return to_events(out, "dark_near_encounter")


def _nothing(table: pl.DataFrame, params: Any, context: Context) -> None:
    return None


def _combine(parts: Sequence[Any], params: DarkNearEncounterParams, context: Context
             ) -> pl.DataFrame:
    return detect_dark_near_encounter(context, params)


DETECTOR = Detector(
    name="dark_near_encounter",
    event_types=("dark_near_encounter",),
    params=DarkNearEncounterParams,
    detect=lambda table, params, context: detect_dark_near_encounter(context, params),
    needs=frozenset({"gaps", "encounters"}),
    split=Split(part=_nothing, combine=_combine),
)
"""The ``dark_near_encounter`` step: pairs every vessel's gaps with its encounters."""
