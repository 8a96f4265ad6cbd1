"""``route_anomaly`` events: a vessel far from the lanes of its type.

Definition (docs/detectors.md, *route_anomaly*): the traffic picture
(:mod:`seawatch.traffic.density`) of all the positions the run reads counts, per H3 cell
and vessel-type group, the distinct vessels that reported there. A position of a vessel of
a watched group (``groups``: cargo, tanker, passenger by default) is *off the lanes* when at
most ``max_other_vessels`` other vessels of its group reported in its cell. A run of off-lane
positions of one track, with no step longer than ``max_step``, that lasts at least
``min_duration`` and covers at least ``min_distance_km`` is an event (a vessel at anchor in
a quiet bay is not on a route at all). There are lanes to be far from only when the picture
holds enough traffic: at least ``min_picture_duration`` of data and ``min_group_vessels``
vessels of the group; otherwise the group raises nothing (a store of one hour has no lanes).

The picture is built once over every chunk (the pipeline's context ``traffic``); the runs are
Polars over the positions' cells: no per-position Python.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import polars as pl
from pydantic import field_validator
from pydantic_core import PydanticCustomError

from seawatch.detect.detector import Detector
from seawatch.detect.events import details_json, empty_events, to_events
from seawatch.detect.positions import ordered_tracks
from seawatch.geo.geodesy import haversine_km_expr
from seawatch.params import Count, Duration, Names, Number, Params, param, resolve
from seawatch.traffic.density import GROUPS, Picture, vessel_groups, with_cells
from seawatch.units import parse_duration


class RouteAnomalyParams(Params):
    """Parameters of ``route_anomaly`` (docs/detectors.md, *route_anomaly*)."""

    resolution: Count = param(
        6,
        "H3 resolution of the traffic picture the detector learns (6: cells of about 36 km²).",
        "seawatch: a lane a few km wide fills whole res-6 cells; res 7 (5 km²) leaves gaps "
        "between the positions of one vessel a few minutes apart",
    )
    groups: Names = param(
        ["cargo", "tanker", "passenger"],
        "Type groups checked (fishing, cargo, tanker, passenger, other). Fishing vessels "
        "and the unknown types roam off the lanes by trade and are left out by default.",
        "seawatch (issue 16): merchant traffic follows lanes, fishing does not",
    )
    max_other_vessels: Count = param(
        0,
        "A position is off the lanes when at most this many other vessels of its group "
        "reported in its cell over the whole picture.",
        "seawatch: a cell no other vessel of the type crossed is off its lanes",
    )
    min_duration: Duration = param(
        "6h",
        "Shortest run of off-lane positions, first to last position.",
        "seawatch: hours, not a short cut across a quiet cell",
    )
    min_distance_km: Number = param(
        50.0,
        "Shortest distance sailed along the run (sum of the steps, km); a vessel at anchor "
        "off the lanes is not on a route.",
        "seawatch: a few cells' width at res 6",
    )
    max_step: Duration = param(
        "2h",
        "A step between two positions longer than this ends a run (the cells between them "
        "are not seen).",
        "seawatch",
    )
    min_picture_duration: Duration = param(
        "24h",
        "No event unless the picture spans at least this (first to last position): a short "
        "capture has no lanes.",
        "seawatch (issue 16): a store of one hour has no lanes",
    )
    min_group_vessels: Count = param(
        30,
        "No event for a group unless the picture holds at least this many of its vessels.",
        "seawatch: a lane is what many vessels share",
    )

    @field_validator("groups")
    @classmethod
    def _known_groups(cls, value: list[str] | None) -> list[str] | None:
        unknown = sorted(set(value or []) - set(GROUPS))
        if unknown:
            raise PydanticCustomError(
                "seawatch", "unknown type group(s) {unknown}; valid: {valid}",
                {"unknown": unknown, "valid": ", ".join(GROUPS)},
            )
        return value


def detect_route_anomalies(
    segmented: pl.DataFrame,
    picture: Picture,
    vessels: pl.DataFrame | None = None,
    *,
    params: RouteAnomalyParams | None = None,
    **overrides: Any,
) -> pl.DataFrame:
    """``route_anomaly`` events of ``segmented`` against ``picture``.

    Parameters
    ----------
    segmented : polars.DataFrame
        Positions (``mmsi``, ``ts``, ``lat``, ``lon``, optional ``segment_id``); the
        picture must count them (it is built from them, or from more).
    picture : Picture
        The traffic picture, at ``params.resolution``.
    vessels : polars.DataFrame, optional
        Identities with ``ship_type`` (unknown vessels are group ``other``).
    params, **overrides
        :class:`RouteAnomalyParams`.

    Returns
    -------
    polars.DataFrame
        Events of type ``"route_anomaly"``: ``start``/``end`` the run's first/last position,
        ``lat``/``lon`` its middle position, ``score`` 1, ``details`` ``{"group",
        "duration_h", "distance_km", "positions", "cells", "max_other_vessels" (the most
        other vessels of the group in a cell of the run), "resolution"}``.
    """
    p = resolve(RouteAnomalyParams, params, overrides, "detect_route_anomalies()")
    if picture.resolution != p.resolution:
        raise ValueError(
            f"picture at resolution {picture.resolution}, detector at {p.resolution}"
        )
    min_us = parse_duration(p.min_duration) // timedelta(microseconds=1)
    step_us = parse_duration(p.max_step) // timedelta(microseconds=1)
    span = parse_duration(p.min_picture_duration).total_seconds() / 3600
    groups = [g for g in (p.groups or [])
              if picture.group_vessels.get(g, 0) >= p.min_group_vessels]
    if picture.hours < span or not groups or segmented.height == 0:
        return empty_events()
    watched = vessel_groups(vessels).filter(pl.col("group").is_in(groups))
    tracks = ordered_tracks(segmented.filter(pl.col("mmsi").is_in(watched["mmsi"].implode())))
    if tracks.height == 0:
        return empty_events()
    tracks = with_cells(tracks, watched, p.resolution).join(
        picture.cells.select("cell", "group", "vessels"), on=["cell", "group"], how="left"
    )
    # the picture counts this vessel itself in each cell it reported in
    others = (pl.col("vessels").fill_null(1).cast(pl.Int64) - 1).clip(lower_bound=0)
    off = others <= p.max_other_vessels
    step_km = haversine_km_expr(pl.col("lat").shift(1), pl.col("lon").shift(1),
                                pl.col("lat"), pl.col("lon"))
    dt_us = (pl.col("ts") - pl.col("ts").shift(1)).dt.total_microseconds()
    tracks = tracks.with_columns(others.alias("others"), off.alias("off"),
                                 step_km.alias("step_km"), dt_us.alias("dt_us"))
    brk = (pl.col("first") | (pl.col("off") != pl.col("off").shift(1))
           | (pl.col("dt_us") > step_us)).fill_null(True)
    runs = (
        tracks.with_columns(brk.cum_sum().alias("run"))
        .with_columns(pl.when(pl.col("run") != pl.col("run").shift(1)).then(0.0)
                      .otherwise(pl.col("step_km")).fill_null(0.0).alias("step_km"))
        .filter(pl.col("off"))
        .group_by("run")
        .agg(
            pl.col("mmsi").first(),
            pl.col("group").first(),
            pl.col("ts").first().alias("start"),
            pl.col("ts").last().alias("end"),
            pl.col("lat").get(pl.len() // 2).alias("lat"),
            pl.col("lon").get(pl.len() // 2).alias("lon"),
            pl.col("step_km").sum().alias("distance_km"),
            pl.len().alias("positions"),
            pl.col("cell").n_unique().alias("cells"),
            pl.col("others").max().alias("max_others"),
        )
        .with_columns((pl.col("end") - pl.col("start")).dt.total_microseconds().alias("_us"))
        .filter((pl.col("_us") >= min_us) & (pl.col("distance_km") >= p.min_distance_km))
        .sort("mmsi", "start")
    )
    if runs.height == 0:
        return empty_events()
    raw = runs.select(
        "mmsi", "start", "end", "lat", "lon", pl.lit(1.0).alias("score"),
        details_json({
            "group": pl.col("group"),
            "duration_h": (pl.col("_us") / 3.6e9).round(4),
            "distance_km": pl.col("distance_km").round(3),
            "positions": pl.col("positions"),
            "cells": pl.col("cells"),
            "max_other_vessels": pl.col("max_others"),
            "resolution": pl.lit(p.resolution),
        }),
    )
    return to_events(raw, "route_anomaly")


def _detect(table: pl.DataFrame, params: RouteAnomalyParams, context: Any) -> pl.DataFrame:
    if context.traffic is None:
        return empty_events()
    return detect_route_anomalies(table, context.traffic, context.vessels, params=params)


DETECTOR = Detector(
    name="route_anomaly",
    event_types=("route_anomaly",),
    params=RouteAnomalyParams,
    detect=_detect,
    needs=frozenset({"traffic"}),
)
"""The ``route_anomaly`` step of the pipeline."""
