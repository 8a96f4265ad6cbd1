"""Zone events: ``zone_entry`` / ``zone_exit`` crossings and ``fishing_in_zone``.

Definitions (``docs/detectors.md``):

- **zone_entry / zone_exit**: consecutive positions p, q of one segment with p outside and q
  inside a zone are an entry at q's time; p inside and q outside an exit at q's time. A
  segment that starts inside a zone has no entry (and one that ends inside has no exit).
  "Inside" is ``shapely.contains_xy``: a point exactly on the boundary is outside.
- **fishing_in_zone**: a fishing vessel (ship type 30) at fishing speed
  (``min_speed_kn <= sog <= max_speed_kn``) for at least ``min_duration`` inside a zone where
  it may not fish: a marine protected area (kind ``mpa``), a zone marked ``no_fishing``, or
  an EEZ / territorial sea of a state other than the vessel's flag. Pauses in fishing
  shorter than ``max_pause`` do not split an episode. One episode is one event even where
  zones nest (the reserve lies inside the territorial sea and the EEZ): ``zone`` is the most
  protective zone fished in (MPA, then territorial sea, then EEZ), ``details.zones`` all of
  them.

The kernels locate every position in every zone at once (:meth:`seawatch.geo.ZoneIndex.locate`)
and find crossings and episodes with Polars joins and window expressions over the
(position, zone) containments: no per-position Python.

Examples
--------
>>> import polars as pl, shapely
>>> from datetime import datetime, UTC
>>> from seawatch.geo import Zone
>>> box = Zone("Box", "user", shapely.box(-81, -1, -80, 0))
>>> track = pl.DataFrame({"mmsi": [1, 1, 1], "lat": [-0.5, -0.5, -0.5],
...                       "lon": [-81.5, -80.5, -79.5],
...                       "ts": [datetime(2026, 1, 15, h, tzinfo=UTC) for h in (0, 1, 2)]})
>>> detect_zone_crossings(track, [box]).select("type", "zone", "start").rows()
[('zone_entry', 'Box', datetime.datetime(2026, 1, 15, 1, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC'))), \
('zone_exit', 'Box', datetime.datetime(2026, 1, 15, 2, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC')))]
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from seawatch import schema
from seawatch.detect.events import details_json, empty_events, to_events
from seawatch.units import Duration, parse_duration

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.geo.zones import Zone, ZoneIndex

log = logging.getLogger(__name__)

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG) for the haversine distances of implied speeds."""
KM_PER_NM = 1.852

MPA_KINDS = frozenset({"mpa"})
"""Zone kinds where no vessel may fish (``seawatch.geo.default_zones`` uses ``'mpa'`` for the
Galápagos Marine Reserve)."""

STATE_KINDS = frozenset({"territorial_sea", "eez", "internal_waters", "archipelagic_waters"})
"""Zone kinds under a coastal state's fisheries jurisdiction: only vessels of that state's flag
may fish there (a licence to a foreign vessel is not in the data, so it is flagged for review)."""

KIND_PRIORITY = {"mpa": 0, "internal_waters": 1, "territorial_sea": 2, "archipelagic_waters": 2}
"""Which zone names a fishing episode that spans nested zones: the lowest number wins, then the
zone's order; kinds not listed (``eez``, user zones) come after."""

STATE_PROPERTIES = ("state", "iso3", "iso_a3", "iso_sov1", "sovereign_iso3", "country")
"""Zone properties (any case) read as the ISO 3166 alpha-3 code of the zone's coastal state;
``ISO_SOV1`` is the field of the Marine Regions EEZ files."""

DEFAULT_ZONE_STATES = {
    "Ecuador territorial sea": "ECU",
    "Ecuador EEZ": "ECU",
    "Galápagos Marine Reserve": "ECU",
}
"""Coastal state of the zones :func:`seawatch.geo.default_zones` made before they carried a
``state`` property (zones files written by older versions)."""

NO_FISHING_PROPERTY = "no_fishing"
"""A zone property that, when true, closes a zone of any kind to all fishing."""


# --------------------------------------------------------------------------- shared helpers


def ordered_tracks(segmented: pl.DataFrame, extra: Sequence[str] = ()) -> pl.DataFrame:
    """Positions with a place and a time, in track order, with segment bounds marked.

    Parameters
    ----------
    segmented
        Positions (``seawatch.schema.POSITIONS``), with ``segment_id`` when segmented
        (``seawatch.tracks.segment``); without it each MMSI is one track.
    extra
        Further columns to keep (those absent are added as nulls).

    Returns
    -------
    polars.DataFrame
        ``i`` (row number, u32), ``mmsi``, ``seg``, ``ts``, ``lat``, ``lon``, the ``extra``
        columns, ``first`` / ``last`` (first / last row of its segment), sorted by
        ``(mmsi, seg, ts)``. Rows with a null ``ts``, ``lat`` or ``lon`` are dropped.
    """
    missing = [c for c in ("mmsi", "ts", "lat", "lon") if c not in segmented.columns]
    if missing:
        raise schema.SchemaError(
            f"column(s) {missing} missing from the positions; found: {segmented.columns}"
        )
    seg = pl.col("segment_id") if "segment_id" in segmented.columns else pl.lit(0)
    cols = [
        pl.col("mmsi").cast(pl.Int64),
        seg.alias("seg"),
        pl.col("ts"),
        pl.col("lat").cast(pl.Float64),
        pl.col("lon").cast(pl.Float64),
    ]
    for name in extra:
        cols.append(pl.col(name) if name in segmented.columns else pl.lit(None).alias(name))
    frame = (
        segmented.select(cols)
        .filter(pl.col("ts").is_not_null() & pl.col("lat").is_not_null())
        .filter(pl.col("lon").is_not_null())
        .sort("mmsi", "seg", "ts", nulls_last=True)
    )
    if frame.schema["ts"] != schema.TS:
        frame = frame.with_columns(_utc(frame.schema["ts"]))
    same_prev = pl.col("mmsi").eq_missing(pl.col("mmsi").shift(1)) & pl.col("seg").eq_missing(
        pl.col("seg").shift(1)
    )
    same_next = pl.col("mmsi").eq_missing(pl.col("mmsi").shift(-1)) & pl.col("seg").eq_missing(
        pl.col("seg").shift(-1)
    )
    return frame.with_row_index("i").with_columns(
        (~same_prev.fill_null(False)).alias("first"),
        (~same_next.fill_null(False)).alias("last"),
    )


def _utc(dtype: pl.DataType) -> pl.Expr:
    """``ts`` as ``schema.TS`` (naive datetimes are UTC)."""
    col = pl.col("ts")
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            return col.dt.cast_time_unit("us").dt.replace_time_zone("UTC")
        return col.dt.cast_time_unit("us").dt.convert_time_zone("UTC")
    return col.cast(schema.TS)


def haversine_km(lat1: pl.Expr, lon1: pl.Expr, lat2: pl.Expr, lon2: pl.Expr) -> pl.Expr:
    """Great-circle distance in km (sphere of radius :data:`EARTH_RADIUS_KM`)."""
    p1, p2 = lat1.radians(), lat2.radians()
    dphi = p2 - p1
    dlmb = (lon2 - lon1).radians()
    a = (dphi / 2).sin() ** 2 + p1.cos() * p2.cos() * (dlmb / 2).sin() ** 2
    return 2 * EARTH_RADIUS_KM * a.sqrt().clip(upper_bound=1.0).arcsin()


def as_zone_index(zones: Sequence[Zone] | ZoneIndex | None) -> tuple[list[Zone], ZoneIndex]:
    """The zones and an index over them (default zones when None; names must be unique)."""
    from seawatch.geo import default_zones, zone_index
    from seawatch.geo.zones import ZoneIndex

    if isinstance(zones, ZoneIndex):
        return list(zones.zones), zones
    chosen = default_zones() if zones is None else list(zones)
    names = [z.name for z in chosen]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"zone names must be unique (events refer to zones by name): {dupes}")
    return chosen, zone_index(chosen)


def _membership(tracks: pl.DataFrame, index: ZoneIndex) -> pl.DataFrame:
    """(i, zone) for every position ``i`` of ``tracks`` inside zone number ``zone``."""
    point, zone = index.locate(tracks["lat"].to_numpy(), tracks["lon"].to_numpy())
    return pl.DataFrame(
        {"i": tracks["i"].to_numpy()[point], "zone": zone.astype(np.int32)},
        schema={"i": pl.UInt32, "zone": pl.Int32},
    )


def _zone_table(zones: Sequence[Zone]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "zone": list(range(len(zones))),
            "zone_name": [z.name for z in zones],
            "zone_kind": [z.kind for z in zones],
        },
        schema={"zone": pl.Int32, "zone_name": pl.String, "zone_kind": pl.String},
    )


# --------------------------------------------------------------------------- crossings


def detect_zone_crossings(
    segmented: pl.DataFrame,
    zones: Sequence[Zone] | ZoneIndex | None = None,
    *,
    kinds: Sequence[str] | None = None,
) -> pl.DataFrame:
    """``zone_entry`` and ``zone_exit`` events: segments crossing zone boundaries.

    Parameters
    ----------
    segmented : polars.DataFrame
        Positions with ``segment_id`` (``seawatch.tracks.segment``); without it each MMSI is
        one track. Needs ``mmsi``, ``ts``, ``lat``, ``lon``.
    zones : sequence of Zone or ZoneIndex, optional
        Zones (:func:`seawatch.geo.default_zones` when None, or
        :func:`seawatch.geo.load_zones`), or a :class:`seawatch.geo.ZoneIndex` built over
        them (to share one index between detectors). Reference: docs/detectors.md.
    kinds : sequence of str, optional
        Report crossings of zones of these kinds only (default: every zone).

    Returns
    -------
    polars.DataFrame
        Events (``seawatch.schema.EVENTS``): one row per crossing, ``start = end`` = the time
        of the first position on the new side, ``lat``/``lon`` that position, ``zone`` the
        zone's name, ``score`` 1, ``details`` ``{"zone_kind", "minutes_since_previous"}``.

    Notes
    -----
    Consecutive means consecutive in the segment: across a reception gap (inside one
    segment) a vessel last seen outside and next seen inside has entered. A vessel whose
    consecutive positions both lie outside never enters, even if the straight line between
    them cuts a corner of the zone (nothing shows it was inside).
    """
    zone_list, index = as_zone_index(zones)
    tracks = ordered_tracks(segmented)
    if tracks.height == 0 or not zone_list:
        return empty_events()
    member = _membership(tracks, index)
    if kinds is not None:
        wanted = [k for k, z in enumerate(zone_list) if z.kind in set(kinds)]
        member = member.filter(pl.col("zone").is_in(wanted))
    nav = tracks.select(
        "i",
        pl.when(~pl.col("first")).then(pl.col("i") - 1).alias("prev"),
        pl.when(~pl.col("last")).then(pl.col("i") + 1).alias("next"),
    )
    # entry: q inside, p = prev(q) not inside the same zone
    entries = (
        member.join(nav.select("i", "prev"), on="i")
        .filter(pl.col("prev").is_not_null())
        .join(member.rename({"i": "prev"}), on=["prev", "zone"], how="anti")
        .select(
            pl.col("i").alias("at"),
            pl.col("prev").alias("before"),
            "zone",
            pl.lit("zone_entry").alias("type"),
        )
    )
    # exit: p inside, q = next(p) not inside the same zone
    exits = (
        member.join(nav.select("i", "next"), on="i")
        .filter(pl.col("next").is_not_null())
        .join(member.rename({"i": "next"}), on=["next", "zone"], how="anti")
        .select(
            pl.col("next").alias("at"),
            pl.col("i").alias("before"),
            "zone",
            pl.lit("zone_exit").alias("type"),
        )
    )
    crossings = pl.concat([entries, exits])
    if crossings.height == 0:
        return empty_events()
    at = tracks.select("i", "mmsi", "ts", "lat", "lon")
    crossings = (
        crossings.join(at, left_on="at", right_on="i")
        .join(
            tracks.select(pl.col("i").alias("before"), pl.col("ts").alias("ts_before")), on="before"
        )
        .join(_zone_table(zone_list), on="zone")
    )
    minutes = (pl.col("ts") - pl.col("ts_before")).dt.total_microseconds() / 60e6
    raw = crossings.select(
        "type",
        "mmsi",
        pl.col("ts").alias("start"),
        pl.col("ts").alias("end"),
        "lat",
        "lon",
        pl.col("zone_name").alias("zone"),
        pl.lit(1.0).alias("score"),
        details_json(
            {"zone_kind": pl.col("zone_kind"), "minutes_since_previous": minutes.round(3)}
        ),
    )
    return pl.concat(
        [to_events(raw.filter(pl.col("type") == t), t) for t in ("zone_entry", "zone_exit")]
    ).sort("start", "mmsi", "type")


# --------------------------------------------------------------------------- fishing in zone


def zone_state(zone: Zone) -> str | None:
    """ISO 3166 alpha-3 code of the coastal state of a zone, or None when unknown.

    Read from the zone's properties (:data:`STATE_PROPERTIES`, any case); the default zones
    of :func:`seawatch.geo.default_zones` are Ecuador's.

    >>> import shapely
    >>> from seawatch.geo import Zone
    >>> zone_state(Zone("Peru EEZ", "eez", shapely.box(0, 0, 1, 1), {"ISO_SOV1": "per"}))
    'PER'
    """
    lower = {str(k).lower(): v for k, v in dict(zone.properties).items()}
    for key in STATE_PROPERTIES:
        value = lower.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip().upper()
    return DEFAULT_ZONE_STATES.get(zone.name)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "y")
    return bool(value)


def fishing_rules(zones: Sequence[Zone]) -> pl.DataFrame:
    """For each zone: who may not fish there.

    Returns
    -------
    polars.DataFrame
        ``zone`` (number), ``zone_name``, ``zone_kind``, ``state`` (coastal state or null),
        ``closed`` (no vessel may fish: an MPA or a ``no_fishing`` zone), ``foreign``
        (closed to vessels of another flag than ``state``), ``priority``. Zones that are
        neither (user areas, or state zones whose state is unknown, with a warning) never
        give ``fishing_in_zone``.
    """
    rows: dict[str, list[Any]] = {
        k: [] for k in ("zone", "zone_name", "zone_kind", "state", "closed", "foreign", "priority")
    }
    for k, z in enumerate(zones):
        props = {str(key).lower(): v for key, v in dict(z.properties).items()}
        closed = z.kind in MPA_KINDS or _truthy(props.get(NO_FISHING_PROPERTY, False))
        state = zone_state(z)
        foreign = z.kind in STATE_KINDS and state is not None
        if z.kind in STATE_KINDS and state is None and not closed:
            log.warning(
                "zone %r (kind %s) has no coastal state (a property among %s): "
                "fishing_in_zone cannot tell foreign vessels there and ignores it",
                z.name,
                z.kind,
                ", ".join(STATE_PROPERTIES),
            )
        rows["zone"].append(k)
        rows["zone_name"].append(z.name)
        rows["zone_kind"].append(z.kind)
        rows["state"].append(state)
        rows["closed"].append(closed)
        rows["foreign"].append(foreign)
        rows["priority"].append(KIND_PRIORITY.get(z.kind, len(KIND_PRIORITY) + 1) * 10_000 + k)
    return pl.DataFrame(
        rows,
        schema={
            "zone": pl.Int32,
            "zone_name": pl.String,
            "zone_kind": pl.String,
            "state": pl.String,
            "closed": pl.Boolean,
            "foreign": pl.Boolean,
            "priority": pl.Int64,
        },
    )


def vessel_flags(vessels: pl.DataFrame | None, fishing_ship_types: Sequence[int]) -> pl.DataFrame:
    """One row per declared fishing vessel: ``mmsi``, ``flag``.

    ``vessels`` may hold several identity reports per MMSI (the latest non-null ``ship_type``
    and ``flag`` win, by ``ts`` when present); a null flag is taken from the MMSI's MID.
    """
    from seawatch.io.identity import flag_from_mmsi

    if vessels is None or vessels.height == 0:
        return pl.DataFrame(schema={"mmsi": pl.Int64, "flag": pl.String})
    if "ship_type" not in vessels.columns:
        raise schema.SchemaError(
            f"vessels need a ship_type column (30 = fishing); found: {vessels.columns}"
        )
    v = vessels.sort("ts") if "ts" in vessels.columns else vessels
    flag = pl.col("flag") if "flag" in v.columns else pl.lit(None, dtype=pl.String)
    latest = (
        v.select(
            pl.col("mmsi").cast(pl.Int64),
            pl.col("ship_type").cast(pl.Int64),
            flag.cast(pl.String).alias("flag"),
        )
        .group_by("mmsi", maintain_order=True)
        .agg(pl.col("ship_type").drop_nulls().last(), pl.col("flag").drop_nulls().last())
    )
    return latest.filter(pl.col("ship_type").is_in([int(t) for t in fishing_ship_types])).select(
        "mmsi",
        pl.coalesce(pl.col("flag"), flag_from_mmsi(pl.col("mmsi"))).alias("flag"),
    )


def detect_fishing_in_zone(
    segmented: pl.DataFrame,
    vessels: pl.DataFrame | None,
    zones: Sequence[Zone] | ZoneIndex | None = None,
    *,
    min_speed_kn: float = 0.5,
    max_speed_kn: float = 5.0,
    min_duration: Duration = "1h",
    max_pause: Duration = "1h",
    fishing_ship_types: Sequence[int] = (30,),
    one_event_per_zone: bool = False,
) -> pl.DataFrame:
    """``fishing_in_zone`` events: fishing vessels fishing where they may not.

    Parameters
    ----------
    segmented : polars.DataFrame
        Positions with ``segment_id`` (``seawatch.tracks.segment``); without it each MMSI is
        one track. Needs ``mmsi``, ``ts``, ``lat``, ``lon``; ``sog`` (knots) where known: a
        null ``sog`` is replaced by the speed implied by the previous position.
    vessels : polars.DataFrame or None
        Identity: ``mmsi``, ``ship_type``, ``flag`` (``Store.latest_identity()``). Vessels
        absent from it, or not of a fishing ship type, are not considered.
    zones : sequence of Zone or ZoneIndex, optional
        Zones, or a :class:`seawatch.geo.ZoneIndex` over them (default
        :func:`seawatch.geo.default_zones`). See :func:`fishing_rules` for which forbid
        fishing to whom.
    min_speed_kn : float, default 0.5
        Least fishing speed, bound included (knots). Reference: docs/detectors.md.
    max_speed_kn : float, default 5.0
        Greatest fishing speed, bound included (knots). Reference: docs/detectors.md.
    min_duration : str or timedelta, default "1h"
        Shortest episode, first to last fishing position, bound included. Reference:
        docs/detectors.md.
    max_pause : str or timedelta, default "1h"
        A pause under fishing speed (positions slower than ``min_speed_kn``, of unknown
        speed, or none at all) splits the episode when the fishing positions on either side
        are this far apart or more; a position faster than ``max_speed_kn`` or outside the
        forbidden zones always ends it. Reference: docs/detectors.md.
    fishing_ship_types : sequence of int, default (30,)
        AIS ship-type codes of fishing vessels. Reference: ITU-R M.1371 (30 = fishing).
    one_event_per_zone : bool, default False
        Find episodes in each forbidden zone separately (one event per zone where zones
        nest) instead of one event per episode in any forbidden zone (docs/detectors.md
        says why the default is one per episode).

    Returns
    -------
    polars.DataFrame
        Events (``seawatch.schema.EVENTS``): ``start``/``end`` the first/last fishing
        position, ``lat``/``lon`` the fishing position at the middle of the episode,
        ``zone`` the most protective zone fished in, ``score`` the share of the episode's
        positions in forbidden zones that are at fishing speed, ``details``
        ``{"zone_kind", "zones", "flag", "zone_state", "hours", "median_speed_kn",
        "positions", "fishing_positions"}``.

    Notes
    -----
    A vessel with no known flag (no identity flag and an MMSI without a valid MID) is not
    the coastal state's vessel, so it is foreign in every state zone.
    """
    min_dur = parse_duration(min_duration)
    pause = parse_duration(max_pause)
    zone_list, index = as_zone_index(zones)
    rules = fishing_rules(zone_list).filter(pl.col("closed") | pl.col("foreign"))
    fleet = vessel_flags(vessels, fishing_ship_types)
    if rules.height == 0 or fleet.height == 0:
        return empty_events()
    cols = segmented.columns
    positions = segmented.filter(pl.col("mmsi").is_in(fleet["mmsi"].implode()))
    tracks = ordered_tracks(positions, extra=["sog"] if "sog" in cols else [])
    if tracks.height == 0:
        return empty_events()
    if "sog" not in cols:
        tracks = tracks.with_columns(pl.lit(None, dtype=pl.Float64).alias("sog"))
    hours = (pl.col("ts") - pl.col("ts").shift(1)).dt.total_microseconds() / 3.6e9
    implied = (
        haversine_km(pl.col("lat").shift(1), pl.col("lon").shift(1), pl.col("lat"), pl.col("lon"))
        / KM_PER_NM
        / hours
    )
    tracks = tracks.with_columns(
        pl.coalesce(
            pl.col("sog").cast(pl.Float64),
            pl.when(~pl.col("first") & (hours > 0)).then(implied),
        ).alias("speed")
    )
    member = _membership(tracks, index).join(
        rules.select("zone", "state", "closed", "priority"), on="zone"
    )
    if member.height == 0:
        return empty_events()
    member = (
        member.join(tracks.select("i", "mmsi"), on="i")
        .join(fleet, on="mmsi", how="left")
        .filter(pl.col("closed") | pl.col("flag").is_null() | (pl.col("flag") != pl.col("state")))
        .select("i", "zone", "priority")
    )
    lo, hi = float(min_speed_kn), float(max_speed_kn)
    speed = pl.col("speed")
    if one_event_per_zone:  # the positions of each forbidden zone on their own
        rows = member.select("i", pl.col("zone").alias("zk")).join(tracks, on="i")
    else:  # the positions in any zone forbidden to the vessel
        rows = tracks.join(member.select("i").unique(), on="i", how="semi").with_columns(
            pl.lit(-1, dtype=pl.Int32).alias("zk")
        )
    # runs: consecutive positions of one track inside; a position outside the zone(s) or
    # faster than fishing speed ends a run, a slower one (or of unknown speed) is a pause
    rows = rows.sort("zk", "i").with_columns(
        speed.is_between(lo, hi, closed="both").fill_null(False).alias("fishing"),
        (speed > hi).fill_null(False).alias("fast"),
    )
    cut = (
        (pl.col("zk") != pl.col("zk").shift(1))
        | (pl.col("i") != pl.col("i").shift(1) + 1)
        | pl.col("first")
        | pl.col("fast")
    ).fill_null(True)
    rows = rows.with_columns(cut.cum_sum().alias("run")).filter(~pl.col("fast"))
    fishing = rows.filter(pl.col("fishing"))
    if fishing.height == 0:
        return empty_events()
    pause_us = pause // timedelta(microseconds=1)
    gap = (pl.col("ts") - pl.col("ts").shift(1)).dt.total_microseconds()
    new = ((pl.col("run") != pl.col("run").shift(1)) | (gap >= pause_us)).fill_null(True)
    fishing = fishing.with_columns(new.cum_sum().cast(pl.Int64).alias("episode"))
    # every position of the run between an episode's first and last fishing position
    rows = rows.join(fishing.select("zk", "i", "episode"), on=["zk", "i"], how="left")
    rows = rows.with_columns(
        pl.col("episode").forward_fill().over("run").alias("_ff"),
        pl.col("episode").backward_fill().over("run").alias("_bf"),
    )
    in_span = (
        rows.filter(pl.col("_ff") == pl.col("_bf"))
        .group_by("_ff")
        .agg(pl.len().alias("positions"))
        .rename({"_ff": "episode"})
    )
    episodes = fishing.group_by("episode").agg(
        pl.col("mmsi").first(),
        pl.col("zk").first(),
        pl.col("ts").min().alias("start"),
        pl.col("ts").max().alias("end"),
        pl.col("lat").get(pl.len() // 2).alias("lat"),
        pl.col("lon").get(pl.len() // 2).alias("lon"),
        pl.col("speed").median().alias("median_speed_kn"),
        pl.len().alias("fishing_positions"),
    )
    episodes = episodes.filter(
        (pl.col("end") - pl.col("start")).dt.total_microseconds()
        >= min_dur // timedelta(microseconds=1)
    )
    if episodes.height == 0:
        return empty_events()
    zone_names = rules.select("zone", "zone_name", "zone_kind", "state")
    fished = member.join(fishing.select("i", "zk", "episode"), on="i")
    if one_event_per_zone:
        fished = fished.filter(pl.col("zone") == pl.col("zk"))
    where = (
        fished.join(zone_names, on="zone")
        .sort("priority")
        .group_by("episode")
        .agg(
            pl.col("zone_name").first().alias("zone"),
            pl.col("zone_kind").first(),
            pl.col("state").first().alias("zone_state"),
            pl.col("zone_name").unique(maintain_order=True).alias("zones"),
        )
    )
    episodes = (
        episodes.join(where, on="episode")
        .join(in_span, on="episode", how="left")
        .join(fleet, on="mmsi", how="left")
    )
    hours_expr = (pl.col("end") - pl.col("start")).dt.total_microseconds() / 3.6e9
    raw = episodes.select(
        "mmsi",
        "start",
        "end",
        "lat",
        "lon",
        "zone",
        (pl.col("fishing_positions") / pl.col("positions")).clip(0.0, 1.0).alias("score"),
        details_json(
            {
                "zone_kind": pl.col("zone_kind"),
                "zones": pl.col("zones"),
                "flag": pl.col("flag"),
                "zone_state": pl.col("zone_state"),
                "hours": hours_expr.round(4),
                "median_speed_kn": pl.col("median_speed_kn").round(3),
                "positions": pl.col("positions"),
                "fishing_positions": pl.col("fishing_positions"),
            }
        ),
    )
    return to_events(raw, "fishing_in_zone")
