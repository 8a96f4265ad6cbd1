"""Loitering: one vessel, alone, moving slowly far from shore and port.

Definition (``docs/detectors.md``; Global Fishing Watch's published loitering definition,
DESIGN.md): a vessel that is not a fishing vessel (ship type 30) averaging under
``max_mean_speed_kn = 2`` kn for at least ``min_duration = 2 h``, with every position of the
episode at least ``min_shore_nm = 20`` nm from shore and at least ``min_port_distance_km =
10`` km from any port, and not in an encounter at the same time. A *slow run* is a maximal
run of consecutive positions of one track (``segment_id``, or MMSI) with speed under 2 kn
(``sog``, or the implied speed where ``sog`` is null) and gaps inside it under
``max_inner_gap = 1 h``. The episode is a slow run that meets the definition, or several of
one track merged (the next starts less than ``merge_gap = 24 h`` after the previous ended,
within a slow vessel's drift of where it stopped: a short move, a short silence, stopping
again in the same area), so one behaviour is one alert; each stop is kept in
``details.stops``. A stop reached by steaming to another place is another episode. Nothing
depends on calendar days.

Carriers loitering alone are the classic transshipment signal (DESIGN.md); fishing vessels
move slowly while fishing, which is ``fishing`` / ``fishing_in_zone``, not loitering; two
vessels loitering together are an encounter and are reported as one.

Examples
--------
>>> import polars as pl
>>> from datetime import datetime, timedelta, UTC
>>> from seawatch.detect.events import details_of
>>> t0 = datetime(2026, 1, 15, 23, tzinfo=UTC)
>>> ts = [t0 + timedelta(minutes=5 * k) for k in range(37)]  # 23:00 .. 02:00
>>> p = pl.DataFrame({"mmsi": 636000001, "ts": ts, "lat": -2.0,
...                   "lon": [-86.0 + 0.0002 * k for k in range(37)], "sog": 1.5})
>>> ev = detect_loitering(p, encounters=pl.DataFrame())
>>> ev.select("mmsi", pl.col("start", "end").dt.strftime("%d %H:%M")).row(0)
(636000001, '15 23:00', '16 02:00')
>>> details_of(ev.row(0, named=True))["mean_speed_kn"]
1.5
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from seawatch import schema
from seawatch.detect.detector import Context, Detector, Split
from seawatch.detect.events import details_json, empty_events, to_events
from seawatch.geo.geodesy import (
    NM_KM,
    distance_km,
    implied_speed_kn,
    unit_vectors,
    vector_lon_expr,
)
from seawatch.params import Duration, Number, Params, param, resolve
from seawatch.tracks.resample import track_positions
from seawatch.units import duration_us

__all__ = ["LoiteringParams", "detect_loitering", "drop_encounter_overlaps", "merge_runs"]

_STOP_FIELDS = {"start": pl.String, "end": pl.String, "lat": pl.Float64, "lon": pl.Float64,
                "positions": pl.Int64, "mean_speed_kn": pl.Float64}
"""The fields of one stop (a slow run) in an episode's ``details.stops``."""

FISHING_SHIP_TYPE = 30
"""ITU ship-and-cargo type 30: fishing."""


class LoiteringParams(Params):
    """Parameters of ``loitering`` (docs/detectors.md, *loitering*)."""

    max_mean_speed_kn: Number = param(
        2.0,
        "Speed under which a position is slow, and under which the episode's mean speed must "
        "be (knots).",
        "GFW loitering definition (average speed < 2 kn), DESIGN.md",
    )
    min_duration: Duration = param(
        "2h",
        "Least time from the first to the last position of the episode.",
        "DESIGN.md loitering definition",
    )
    min_shore_nm: Number = param(
        20.0,
        "Every position of the episode at least this far from shore (nautical miles).",
        "GFW loitering definition (at least 20 nm from shore), DESIGN.md",
    )
    min_port_distance_km: Number = param(
        10.0,
        "Every position of the episode at least this far from any port or anchorage (km).",
        'DESIGN.md "away from ports", with GFW\'s encounter port distance (10 km)',
    )
    max_inner_gap: Duration = param(
        "1h",
        "Consecutive slow positions this far apart or more end a slow run.",
        "DESIGN.md / GFW pipe-encounters gap (1 h)",
    )
    merge_gap: Duration = param(
        "24h",
        "Slow runs of one track that are loitering on their own merge into one episode (one "
        "alert) when the next starts less than this after the previous ended and the net "
        "displacement from where the previous ended to where the next starts implies less "
        "than max_mean_speed_kn over that time: the vessel stayed in the area (a short move, "
        "a short silence, stopping again and again where it was). A move that implies more "
        "took it to another place: another episode. 0 merges nothing.",
        "seawatch (issue 12, one episode one alert): GFW's segment fixture (real satellite "
        "AIS); a supply vessel by a Santos basin platform stopped again 1.5 km from where it "
        "had stopped 7.6 h before (0.1 kn net), a carrier's separate stops were 103-717 km "
        "apart after 8-41 h of steaming (6.6-10 kn net); 24 h as encounter episode_gap "
        "(GFW pipe-encounters' merge window)",
    )


def detect_loitering(
    positions: pl.DataFrame,
    vessels: pl.DataFrame | None = None,
    *,
    ports: pl.DataFrame | None = None,
    encounters: pl.DataFrame | None = None,
    params: LoiteringParams | None = None,
    **overrides: Any,
) -> pl.DataFrame:
    """Loitering events of single vessels.

    Parameters
    ----------
    positions : polars.DataFrame
        Positions (``seawatch.schema.POSITIONS``: ``mmsi``, ``ts``, ``lat``, ``lon``, and
        ``sog`` when known), usually with ``segment_id``: episodes are runs within one
        ``(mmsi, segment_id)`` track (one MMSI without it).
    vessels : polars.DataFrame, optional
        Identities with ``mmsi`` and ``ship_type`` (and ``ts``: the latest non-null ship type
        of an MMSI counts). Vessels whose ship type is 30 (fishing) are never loitering.
        Without it no vessel is excluded.
    ports : polars.DataFrame, optional
        Ports and anchorages with ``lat`` and ``lon``. Default: :func:`seawatch.geo.ports`.
    encounters : polars.DataFrame, optional
        Encounter events (``mmsi``, ``other_mmsi``, ``start``, ``end``); an episode of a
        vessel that overlaps in time one of its encounters is not loitering. Default:
        computed with :func:`seawatch.detect.encounter.detect_encounters` (its defaults and
        ``ports``); pass an empty frame to skip the check.
    params : LoiteringParams, optional
        The parameters (default: :class:`LoiteringParams`' defaults).
    **overrides
        Fields of :class:`LoiteringParams` to change (``min_duration="3h"``), checked
        against it.

    Returns
    -------
    polars.DataFrame
        Events (``seawatch.schema.EVENTS``) of type ``"loitering"``; ``start``/``end`` the
        first/last position of the episode, ``lat``/``lon`` its mean position, ``score`` =
        duration / (2 x min_duration) capped at 1. ``details``: ``mean_speed_kn``,
        ``duration_h``, ``distance_from_shore_nm`` and ``distance_from_port_km`` (the least
        over the episode's positions), ``positions``, ``slow_runs`` and ``stops`` (per slow
        run: ``start``, ``end``, ``lat``, ``lon``, ``positions``, ``mean_speed_kn``).

    Raises
    ------
    seawatch.params.ConfigError
        An unknown parameter or a value of the wrong type.

    Examples
    --------
    A fishing vessel moving slowly is not loitering:

    >>> from datetime import datetime, timedelta, UTC
    >>> ts = [datetime(2026, 1, 15, tzinfo=UTC) + timedelta(minutes=5 * k) for k in range(40)]
    >>> p = pl.DataFrame({"mmsi": 1, "ts": ts, "lat": -2.0, "lon": -86.0, "sog": 1.0})
    >>> v = pl.DataFrame({"mmsi": [1], "ship_type": [30]})
    >>> detect_loitering(p, v, encounters=pl.DataFrame()).height
    0
    """
    p = resolve(LoiteringParams, params, overrides, "detect_loitering()")
    min_us = duration_us(p.min_duration)
    gap_us = duration_us(p.max_inner_gap)
    tp = track_positions(positions)
    fishing = _fishing_mmsis(vessels)
    if fishing is not None and len(fishing):
        tp = tp.take(np.flatnonzero(~np.isin(tp.mmsi, fishing)))
    if len(tp) == 0:
        return empty_events()

    track, t, lat, lon, sog = tp.track, tp.t_us, tp.lat, tp.lon, tp.sog
    same = track[1:] == track[:-1]
    no_sog = np.isnan(sog)
    v_next = implied_speed_kn(lat, lon, t, same, where=no_sog[:-1] | no_sog[1:])
    v_prev = np.r_[np.nan, v_next[:-1]]
    implied = np.where(np.isnan(v_prev), v_next, v_prev)
    speed = np.where(no_sog, implied, sog)
    slow = speed < p.max_mean_speed_kn  # NaN (unknown) is not slow

    # a slow run starts at a slow position whose predecessor is not slow, of another
    # track, or max_inner_gap or more before it
    cont = np.zeros(len(t), dtype=bool)
    cont[1:] = same & slow[:-1] & ((t[1:] - t[:-1]) < gap_us)
    episode = np.cumsum(slow & ~cont) - 1  # the slow run of each slow position
    sel = np.flatnonzero(slow)
    if len(sel) == 0:
        return empty_events()
    first = np.flatnonzero(np.r_[True, episode[sel][1:] != episode[sel][:-1]])
    last = np.r_[first[1:], len(sel)] - 1
    duration = t[sel[last]] - t[sel[first]]
    long_enough = duration >= min_us
    size = last - first + 1
    rows = sel[np.repeat(long_enough, size)]
    if len(rows) == 0:
        return empty_events()
    from seawatch.geo import distance_to_shore_km, port_index

    rlat, rlon = lat[rows], lon[rows]
    shore_km = distance_to_shore_km(rlat, rlon)
    if ports is not None and ports.height == 0:
        port_km = np.full(len(rlat), np.inf)
    else:
        port_km, _ = port_index(ports).nearest(rlat, rlon)
    # the rows of a run are contiguous and in time order: sums over each slice, so a run's
    # figures depend on its own positions only (not on the rest of the table)
    ep_of_row = episode[rows]
    starts = np.flatnonzero(np.r_[True, ep_of_row[1:] != ep_of_row[:-1]])
    ends = np.r_[starts[1:], len(rows)] - 1
    n = np.diff(np.r_[starts, len(rows)])
    rt = t[rows]
    x, y, _ = unit_vectors(rlat, rlon)  # mean longitude: antimeridian-safe
    runs = pl.DataFrame(
        {
            "track": track[rows][starts],
            "mmsi": tp.mmsi[rows][starts],
            "t0": rt[starts],
            "t1": rt[ends],
            "n": n.astype(np.int64),
            "speed_sum": np.add.reduceat(speed[rows], starts),
            "shore_km": np.minimum.reduceat(shore_km, starts),
            "port_km": np.minimum.reduceat(port_km, starts),
            "lat_sum": np.add.reduceat(rlat, starts),
            "_x": np.add.reduceat(x, starts),
            "_y": np.add.reduceat(y, starts),
            "first_lat": rlat[starts],
            "first_lon": rlon[starts],
            "last_lat": rlat[ends],
            "last_lon": rlon[ends],
        }
    ).filter(
        (pl.col("speed_sum") / pl.col("n") < p.max_mean_speed_kn)
        & (pl.col("shore_km") >= p.min_shore_nm * NM_KM)
        & (pl.col("port_km") >= p.min_port_distance_km)
    )
    ep = merge_runs(runs, duration_us(p.merge_gap), p.max_mean_speed_kn)
    if ep.height == 0:
        return empty_events()
    if encounters is None:
        from seawatch.detect.encounter import detect_encounters

        encounters = detect_encounters(positions, ports=ports)
    ep = _drop_encounter_overlaps(ep, encounters)
    if ep.height == 0:
        return empty_events()
    score = (
        pl.lit(1.0)
        if min_us <= 0
        else (pl.col("duration_us") / (2.0 * min_us)).clip(upper_bound=1.0)
    )
    out = ep.select(
        "mmsi",
        "start",
        "end",
        "lat",
        "lon",
        score.alias("score"),
        details_json(
            {
                "mean_speed_kn": pl.col("mean_speed_kn").round(2),
                "duration_h": (pl.col("duration_us") / 3.6e9).round(3),
                "distance_from_shore_nm": (pl.col("shore_km") / NM_KM).round(2),
                "distance_from_port_km": pl.col("port_km").round(2),
                "positions": pl.col("positions"),
                "slow_runs": pl.col("slow_runs"),
                "stops": pl.col("stops"),
            }
        ),
    )
    return to_events(out, "loitering")


def merge_runs(runs: pl.DataFrame, merge_gap_us: int, max_drift_kn: float) -> pl.DataFrame:
    """Loitering runs of one track merged across short interruptions: one row per episode.

    Parameters
    ----------
    runs : polars.DataFrame
        The slow runs that are loitering on their own, in track and time order: ``track``,
        ``mmsi``, ``t0``/``t1`` (first and last time, microseconds), ``n`` (positions),
        ``speed_sum``, ``shore_km``, ``port_km`` (least), ``lat_sum``, ``_x``/``_y`` (sums of
        unit vectors) and the first and last positions (``first_lat`` ... ``last_lon``).
    merge_gap_us : int
        A run joins the one before it (same track) when it starts less than this after the
        other ended ...
    max_drift_kn : float
        ... and the distance from the other's last position to its first implies less than
        this speed (the vessel is still where a loitering vessel could be).

    Returns
    -------
    polars.DataFrame
        ``episode`` (0, 1, ...), ``mmsi``, ``start``, ``end``, ``duration_us``,
        ``mean_speed_kn``, ``shore_km``, ``port_km``, ``positions``, ``slow_runs``, ``lat``,
        ``lon`` (mean position, antimeridian-safe).

    Examples
    --------
    Two runs of one track 20 minutes and 300 m apart are one episode:

    >>> h = 3_600_000_000
    >>> runs = pl.DataFrame({"track": [0, 0], "mmsi": [1, 1], "t0": [0, 3 * h + h // 3],
    ...                      "t1": [3 * h, 6 * h], "n": [10, 10], "speed_sum": [10.0, 10.0],
    ...                      "shore_km": [90.0, 80.0], "port_km": [99.0, 99.0],
    ...                      "lat_sum": [0.0, 0.0], "_x": [10.0, 10.0], "_y": [0.0, 0.0],
    ...                      "first_lat": [0.0, 0.0], "first_lon": [0.0, 0.003],
    ...                      "last_lat": [0.0, 0.0], "last_lon": [0.0, 0.006]})
    >>> merge_runs(runs, 6 * h, 2.0).select("positions", "slow_runs", "shore_km").row(0)
    (20, 2, 80.0)
    >>> merge_runs(runs, 0, 2.0).height
    2
    """
    if runs.height == 0:
        return runs.select(
            pl.lit(0, pl.Int64).alias("episode"),
            "mmsi",
            pl.lit(None, pl.Datetime("us", "UTC")).alias("start"),
            pl.lit(None, pl.Datetime("us", "UTC")).alias("end"),
            pl.lit(0, pl.Int64).alias("duration_us"),
            pl.lit(0.0).alias("mean_speed_kn"),
            "shore_km",
            "port_km",
            pl.col("n").alias("positions"),
            pl.col("n").alias("slow_runs"),
            pl.lit(0.0).alias("lat"),
            pl.lit(0.0).alias("lon"),
            pl.lit([], pl.List(pl.Struct(_STOP_FIELDS))).alias("stops"),
        )
    track = runs["track"].to_numpy()
    t0, t1 = runs["t0"].to_numpy(), runs["t1"].to_numpy()
    gap = t0[1:] - t1[:-1]
    km = distance_km(
        runs["last_lat"].to_numpy()[:-1],
        runs["last_lon"].to_numpy()[:-1],
        runs["first_lat"].to_numpy()[1:],
        runs["first_lon"].to_numpy()[1:],
    )
    drift_kn = km / NM_KM / (np.maximum(gap, 1) / 3.6e9)
    join = (track[1:] == track[:-1]) & (gap < merge_gap_us) & (drift_kn < max_drift_kn)
    episode = np.cumsum(np.r_[True, ~join]) - 1
    utc = pl.Datetime("us", "UTC")
    iso = "%Y-%m-%dT%H:%M:%SZ"
    stop = pl.struct(
        pl.col("t0").cast(utc).dt.strftime(iso).alias("start"),
        pl.col("t1").cast(utc).dt.strftime(iso).alias("end"),
        (pl.col("lat_sum") / pl.col("n")).round(5).alias("lat"),
        vector_lon_expr(pl.col("_x"), pl.col("_y")).round(5).alias("lon"),
        pl.col("n").alias("positions"),
        (pl.col("speed_sum") / pl.col("n")).round(2).alias("mean_speed_kn"),
    )
    return (
        runs.with_columns(pl.Series("episode", episode, pl.Int64), stop.alias("stops"))
        .group_by("episode", maintain_order=True)
        .agg(
            pl.col("mmsi").first(),
            pl.col("t0").min(),
            pl.col("t1").max(),
            pl.col("n").sum().alias("positions"),
            pl.len().cast(pl.Int64).alias("slow_runs"),
            pl.col("speed_sum").sum(),
            pl.col("shore_km").min(),
            pl.col("port_km").min(),
            pl.col("lat_sum").sum(),
            pl.col("_x").sum(),
            pl.col("_y").sum(),
            pl.col("stops"),
        )
        .select(
            "episode",
            "mmsi",
            pl.col("t0").cast(utc).alias("start"),
            pl.col("t1").cast(utc).alias("end"),
            (pl.col("t1") - pl.col("t0")).alias("duration_us"),
            (pl.col("speed_sum") / pl.col("positions")).alias("mean_speed_kn"),
            "shore_km",
            "port_km",
            "positions",
            "slow_runs",
            (pl.col("lat_sum") / pl.col("positions")).alias("lat"),
            vector_lon_expr(pl.col("_x"), pl.col("_y")).alias("lon"),
            "stops",
        )
    )


def _fishing_mmsis(vessels: pl.DataFrame | None) -> np.ndarray | None:
    """MMSIs whose latest known ship type is fishing (30)."""
    if vessels is None or vessels.height == 0:
        return None
    missing = [c for c in ("mmsi", "ship_type") if c not in vessels.columns]
    if missing:
        raise schema.SchemaError(
            f"vessels lacks column(s) {missing}; found: {vessels.columns}. It needs mmsi and "
            "ship_type (seawatch.schema.VESSELS)."
        )
    v = vessels.select(
        pl.col("mmsi").cast(pl.Int64),
        pl.col("ship_type").cast(pl.Int64),
        *([pl.col("ts")] if "ts" in vessels.columns else []),
    ).filter(pl.col("ship_type").is_not_null())
    if "ts" in v.columns:
        v = v.sort("ts", nulls_last=False, maintain_order=True)
    latest = v.group_by("mmsi", maintain_order=True).agg(pl.last("ship_type"))
    return latest.filter(pl.col("ship_type") == FISHING_SHIP_TYPE)["mmsi"].to_numpy()


def drop_encounter_overlaps(events: pl.DataFrame, encounters: pl.DataFrame) -> pl.DataFrame:
    """The loitering ``events`` that overlap in time no encounter of the same vessel.

    ``detect_loitering(p, v, encounters=e, ...)`` is
    ``drop_encounter_overlaps(detect_loitering(p, v, encounters=pl.DataFrame(), ...), e)``:
    the check needs only each event's vessel and span, so loitering candidates can be found
    per part of a table (disjoint vessels) before the encounters, which pair vessels of all
    parts, are known.

    Parameters
    ----------
    events : polars.DataFrame
        Loitering events (``mmsi``, ``start``, ``end``).
    encounters : polars.DataFrame
        Encounter events (``mmsi``, ``other_mmsi``, ``start``, ``end``).

    Returns
    -------
    polars.DataFrame
        The rows of ``events`` kept, in their order.
    """
    if events.height == 0 or encounters.height == 0:
        return events
    kept = _drop_encounter_overlaps(events.with_row_index("episode"), encounters)
    return kept.sort("episode").drop("episode")


def _drop_encounter_overlaps(ep: pl.DataFrame, encounters: pl.DataFrame) -> pl.DataFrame:
    """Episodes that overlap in time no encounter of the same vessel."""
    if encounters.height == 0 or ep.height == 0:
        return ep
    cols = [c for c in ("mmsi", "other_mmsi") if c in encounters.columns]
    per_vessel = pl.concat(
        [
            encounters.select(
                pl.col(c).cast(pl.Int64).alias("mmsi"),
                pl.col("start").alias("enc_start"),
                pl.col("end").alias("enc_end"),
            )
            for c in cols
        ]
    ).drop_nulls("mmsi")
    hit = (
        ep.select("episode", "mmsi", "start", "end")
        .join(per_vessel, on="mmsi")
        .filter((pl.col("start") <= pl.col("enc_end")) & (pl.col("end") >= pl.col("enc_start")))
        .select("episode")
        .unique()
    )
    return ep.join(hit, on="episode", how="anti")


def _candidates(table: pl.DataFrame, params: LoiteringParams, context: Context) -> pl.DataFrame:
    """Loitering episodes of a chunk of vessels, before the encounters are known."""
    return detect_loitering(
        table, context.vessels, ports=context.ports, encounters=empty_events(), params=params
    )


def _without_encounters(
    parts: Sequence[pl.DataFrame], params: LoiteringParams, context: Context
) -> pl.DataFrame:
    found = [part for part in parts if part.height]
    candidates = pl.concat(found) if found else empty_events()
    return drop_encounter_overlaps(candidates, _known(context.encounters))


def _known(encounters: pl.DataFrame | None) -> pl.DataFrame:
    return empty_events() if encounters is None else encounters


DETECTOR = Detector(
    name="loitering",
    event_types=("loitering",),
    params=LoiteringParams,
    detect=lambda table, params, context: detect_loitering(
        table,
        context.vessels,
        ports=context.ports,
        encounters=_known(context.encounters),
        params=params,
    ),
    needs=frozenset({"vessels", "ports", "encounters"}),
    provides="loitering",
    split=Split(part=_candidates, combine=_without_encounters),
)
"""The ``loitering`` step of the pipeline: in chunks of vessels, each chunk's candidates are
kept and those overlapping an encounter dropped once the encounters are known."""
