"""``type_mismatch``: a vessel that declares itself a merchant ship and moves like a fishing one.

Definition (``docs/detectors.md``, *type_mismatch*): a vessel whose latest declared ship type
is one of ``checked_types`` (passenger, cargo and tanker codes, 60-89) spends at least
``min_duration`` working an area at fishing speed: every hour of the episode (UTC hours of
one track) has at least ``min_positions`` positions, a median speed over ground between
``min_speed_kn`` and ``max_speed_kn`` and lies at least ``min_port_km`` from every port
point, and over the whole episode the vessel's net displacement is at most
``max_straightness`` of the distance it sailed (it went back and forth, not somewhere).
Consecutive such hours are one episode, one event.

Kept simple on purpose: a merchant ship is either under way at passage speed (well above 5
kn), at anchor or drifting (under 1.5 kn: the ``loitering`` detector's), or manoeuvring in
port (excluded by the port distance); hours of slow, meandering movement far from port are
what trawling, seining and jigging look like (GFW's fishing-effort heuristics use the same
speed band). A cargo ship that does it is mislabelled or is not what it says: the
declaration contradicts the behaviour.

Examples
--------
>>> import polars as pl, numpy as np
>>> from datetime import datetime, timedelta, UTC
>>> t0 = datetime(2026, 1, 15, tzinfo=UTC)
>>> k = np.arange(0, 5 * 60, 5)  # five hours, a report every 5 min, circling at 3 kn
>>> a = 2 * np.pi * k / 120
>>> track = pl.DataFrame({"mmsi": 735000001, "sog": 3.0, "ts": [t0 + timedelta(minutes=int(m))
...     for m in k], "lat": -3.0 + 0.04 * np.sin(a), "lon": -84.0 + 0.04 * np.cos(a)})
>>> fleet = pl.DataFrame({"mmsi": [735000001], "ship_type": [70]})
>>> ev = detect_type_mismatch(track, fleet, ports=pl.DataFrame({"lat": [0.0], "lon": [0.0]}))
>>> ev.select(pl.col("start", "end").dt.strftime("%H:%M")).rows()
[('00:00', '04:55')]
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl

from seawatch.detect.detector import Detector
from seawatch.detect.events import details_json, empty_events, to_events
from seawatch.detect.port_visit import near_cells
from seawatch.detect.positions import ordered_tracks
from seawatch.geo.geodesy import haversine_km_expr
from seawatch.io.identity import ship_type_label
from seawatch.params import Codes, Count, Duration, Number, Params, param, resolve
from seawatch.units import parse_duration


class TypeMismatchParams(Params):
    """Parameters of ``type_mismatch`` (docs/detectors.md, *type_mismatch*)."""

    checked_types: Codes = param(
        list(range(60, 90)),
        "Declared ship types checked: a vessel of one of these codes that moves like a "
        "fishing vessel raises the event (60-69 passenger, 70-79 cargo, 80-89 tanker).",
        "ITU-R M.1371 table 53",
    )
    min_speed_kn: Number = param(
        1.5,
        "Slowest hourly median speed that counts as working gear (kn); slower is drifting "
        "or at anchor (loitering's).",
        "GFW fishing-effort speed band; seawatch (loitering carriers drift under 1.2 kn)",
    )
    max_speed_kn: Number = param(
        5.0, "Fastest hourly median speed that counts as working gear (kn).",
        "GFW fishing-effort speed band (trawling 2-5 kn)",
    )
    min_positions: Count = param(
        3, "Positions an hour needs to be judged.", "seawatch",
    )
    min_port_km: Number = param(
        10.0,
        "Hours with a position nearer a port point than this (km) are manoeuvring, not "
        "fishing.",
        "seawatch (the encounter's distance from ports, DESIGN.md)",
    )
    max_straightness: Number = param(
        0.5,
        "Largest net displacement of the episode over the distance sailed: a vessel going "
        "somewhere slowly is not working an area.",
        "seawatch",
    )
    min_duration: Duration = param(
        "3h", "Shortest episode (consecutive fishing-like hours, first to last position).",
        "seawatch",
    )


def _declared(vessels: pl.DataFrame | None, codes: list[int]) -> pl.DataFrame:
    """``mmsi``, ``ship_type`` of the vessels whose latest declared type is checked."""
    if vessels is None or vessels.height == 0 or "ship_type" not in vessels.columns:
        return pl.DataFrame(schema={"mmsi": pl.Int64, "ship_type": pl.Int64})
    v = vessels.sort("ts") if "ts" in vessels.columns else vessels
    return (
        v.select(pl.col("mmsi").cast(pl.Int64), pl.col("ship_type").cast(pl.Int64))
        .filter(pl.col("ship_type") > 0)
        .group_by("mmsi", maintain_order=True).agg(pl.col("ship_type").last())
        .filter(pl.col("ship_type").is_in(codes))
    )


def detect_type_mismatch(
    segmented: pl.DataFrame,
    vessels: pl.DataFrame | None,
    ports: pl.DataFrame | None = None,
    *,
    params: TypeMismatchParams | None = None,
    **overrides: Any,
) -> pl.DataFrame:
    """``type_mismatch`` events (module docstring).

    Parameters
    ----------
    segmented
        Positions with ``sog`` (``segment_id`` when segmented).
    vessels
        Identities: ``mmsi``, ``ship_type`` (``ts`` orders several reports of one MMSI).
    ports
        Port points (``lat``, ``lon``); default the shipped list.
    params, **overrides
        :class:`TypeMismatchParams`.

    Returns
    -------
    polars.DataFrame
        Events (:data:`seawatch.schema.EVENTS`) at the episode's middle position; ``score``
        ``1 - straightness / max_straightness`` clipped to 0.5-1 (1: it ended where it
        began); ``details``
        ``{"ship_type", "ship_type_label", "hours", "median_speed_kn", "straightness",
        "distance_km", "positions"}``.
    """
    p = resolve(TypeMismatchParams, params, overrides, "detect_type_mismatch()")
    fleet = _declared(vessels, list(p.checked_types))
    if fleet.height == 0 or segmented.height == 0:
        return empty_events()
    mine = segmented.filter(pl.col("mmsi").cast(pl.Int64).is_in(fleet["mmsi"].implode()))
    tracks = ordered_tracks(mine, extra=["sog"])
    if tracks.height == 0:
        return empty_events()
    step = haversine_km_expr(pl.col("lat").shift(1), pl.col("lon").shift(1),
                             pl.col("lat"), pl.col("lon"))
    tracks = tracks.with_columns(
        pl.when(pl.col("first")).then(0.0).otherwise(step).alias("step_km"),
        pl.col("ts").dt.truncate("1h").alias("hour"),
    )
    hours = (
        tracks.group_by("mmsi", "seg", "hour")
        .agg(pl.len().alias("n"), pl.col("sog").cast(pl.Float64).median().alias("speed"))
        .sort("mmsi", "seg", "hour")
    )
    ok = ((pl.col("n") >= p.min_positions)
          & pl.col("speed").is_between(p.min_speed_kn, p.max_speed_kn)).fill_null(False)
    hours = hours.with_columns(ok.alias("ok"))
    # the port test only for the hours at fishing speed (a few of a merchant fleet's)
    slow = tracks.join(hours.filter(pl.col("ok")).select("mmsi", "seg", "hour"),
                       on=["mmsi", "seg", "hour"])
    if slow.height == 0:
        return empty_events()
    if ports is None:
        from seawatch.geo import ports as shipped

        ports = shipped(world=True)
    lat, lon = slow["lat"].to_numpy(), slow["lon"].to_numpy()
    near = np.zeros(lat.shape, dtype=bool)
    if ports.height:
        from seawatch.geo import port_index

        close = near_cells(lat, lon, ports["lat"].to_numpy(), ports["lon"].to_numpy(),
                           float(p.min_port_km))
        if close.any():
            d, _ = port_index(ports).nearest(lat[close], lon[close])
            near[close] = d < float(p.min_port_km)
    in_port = slow.filter(pl.Series(near)).select("mmsi", "seg", "hour").unique()
    hours = hours.join(in_port.with_columns(pl.lit(True).alias("near")),
                       on=["mmsi", "seg", "hour"], how="left").with_columns(
        (pl.col("ok") & pl.col("near").is_null()).alias("ok")).sort("mmsi", "seg", "hour")
    new = (
        (pl.col("mmsi") != pl.col("mmsi").shift(1)) | (pl.col("seg") != pl.col("seg").shift(1))
        | (pl.col("hour") - pl.col("hour").shift(1) != timedelta(hours=1))
        | (pl.col("ok") != pl.col("ok").shift(1))
    ).fill_null(True)
    hours = hours.with_columns(new.cum_sum().alias("run")).filter(pl.col("ok"))
    if hours.height == 0:
        return empty_events()
    rows = tracks.join(hours.select("mmsi", "seg", "hour", "run"), on=["mmsi", "seg", "hour"])
    rows = rows.sort("run", "ts").with_columns(
        pl.when(pl.col("run") != pl.col("run").shift(1)).then(0.0).otherwise(pl.col("step_km"))
        .fill_null(0.0).alias("step_km"))
    runs = rows.group_by("run").agg(
        pl.col("mmsi").first(),
        pl.col("ts").first().alias("start"),
        pl.col("ts").last().alias("end"),
        pl.col("lat").get(pl.len() // 2).alias("lat"),
        pl.col("lon").get(pl.len() // 2).alias("lon"),
        pl.col("lat").first().alias("lat0"), pl.col("lon").first().alias("lon0"),
        pl.col("lat").last().alias("lat1"), pl.col("lon").last().alias("lon1"),
        pl.col("step_km").sum().alias("distance_km"),
        pl.col("sog").cast(pl.Float64).median().alias("median_speed_kn"),
        pl.len().alias("positions"),
    )
    min_us = parse_duration(p.min_duration) // timedelta(microseconds=1)
    straight = (haversine_km_expr(pl.col("lat0"), pl.col("lon0"), pl.col("lat1"), pl.col("lon1"))
                / pl.col("distance_km"))
    runs = runs.with_columns(straight.alias("straightness")).filter(
        ((pl.col("end") - pl.col("start")).dt.total_microseconds() >= min_us)
        & (pl.col("distance_km") > 0)
        & (pl.col("straightness") <= p.max_straightness)
    )
    if runs.height == 0:
        return empty_events()
    limit = max(float(p.max_straightness), 1e-9)
    raw = runs.join(fleet, on="mmsi").select(
        "mmsi", "start", "end", "lat", "lon",
        (1.0 - pl.col("straightness") / limit).clip(0.5, 1.0).alias("score"),
        details_json({
            "ship_type": pl.col("ship_type"),
            "ship_type_label": ship_type_label(pl.col("ship_type").cast(pl.Int16)),
            "hours": ((pl.col("end") - pl.col("start")).dt.total_microseconds() / 3.6e9)
            .round(3),
            "median_speed_kn": pl.col("median_speed_kn").round(2),
            "straightness": pl.col("straightness").round(3),
            "distance_km": pl.col("distance_km").round(2),
            "positions": pl.col("positions"),
        }),
    )
    return to_events(raw, "type_mismatch")


DETECTOR = Detector(
    name="type_mismatch",
    event_types=("type_mismatch",),
    params=TypeMismatchParams,
    detect=lambda table, params, context: detect_type_mismatch(
        table, context.vessels, context.ports, params=params),
    needs=frozenset({"vessels", "ports"}),
)
"""The ``type_mismatch`` step of the pipeline."""
