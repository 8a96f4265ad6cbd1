"""``fishing_in_zone``: a fishing vessel fishing where it may not.

Definition (``docs/detectors.md``, *fishing_in_zone*): a fishing vessel (ship type 30) at
fishing speed (``min_speed_kn <= sog <= max_speed_kn``) for at least ``min_duration`` inside
a zone where it may not fish: a marine protected area (kind ``mpa``), a zone marked
``no_fishing``, or an EEZ / territorial sea of a state other than the vessel's flag
(:func:`fishing_rules`). Pauses in fishing shorter than ``max_pause`` do not split an
episode. One episode is one event even where zones nest (the reserve lies inside the
territorial sea and the EEZ): ``zone`` is the most protective zone fished in (MPA, then
territorial sea, then EEZ), ``details.zones`` all of them.

The kernel locates every position in every zone at once (:mod:`seawatch.detect.zones`) and
finds the episodes with Polars joins and window expressions: no per-position Python.

Examples
--------
>>> import polars as pl
>>> from datetime import datetime, timedelta, UTC
>>> t0 = datetime(2026, 1, 15, tzinfo=UTC)
>>> squid = pl.DataFrame({"mmsi": 412000001, "sog": 3.0, "lat": -0.5,   # in the reserve
...     "lon": [-90.8 + 1e-4 * m for m in range(0, 121, 5)],
...     "ts": [t0 + timedelta(minutes=m) for m in range(0, 121, 5)]})
>>> fleet = pl.DataFrame({"mmsi": [412000001], "ship_type": [30], "flag": ["CHN"]})
>>> ev = detect_fishing_in_zone(squid, fleet)
>>> ev.select("zone", pl.col("start", "end").dt.strftime("%H:%M")).rows()
[('Galápagos Marine Reserve', '00:00', '02:00')]
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import polars as pl

from seawatch import schema
from seawatch.detect.detector import Detector
from seawatch.detect.events import details_json, empty_events, to_events
from seawatch.detect.positions import ordered_tracks
from seawatch.detect.zones import as_zone_index, zone_membership
from seawatch.geo.geodesy import NM_KM, haversine_km_expr
from seawatch.params import Codes, Duration, Flag, Number, Params, param, resolve
from seawatch.units import parse_duration

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.geo.zones import Zone, ZoneIndex

log = logging.getLogger(__name__)

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


class FishingInZoneParams(Params):
    """Parameters of ``fishing_in_zone`` (docs/detectors.md, *fishing_in_zone*)."""

    min_speed_kn: Number = param(
        0.5, "Least fishing speed, bound included (knots).", "docs/detectors.md"
    )
    max_speed_kn: Number = param(
        5.0, "Greatest fishing speed, bound included (knots).", "docs/detectors.md"
    )
    min_duration: Duration = param(
        "1h",
        "Shortest episode, first to last fishing position, bound included.",
        "docs/detectors.md",
    )
    max_pause: Duration = param(
        "1h",
        "A pause under fishing speed (slower positions, of unknown speed, or none) splits the "
        "episode when the fishing positions on either side are this far apart or more; a "
        "faster position or one outside the forbidden zones always ends it.",
        "docs/detectors.md",
    )
    fishing_ship_types: Codes = param(
        [30], "AIS ship-type codes of fishing vessels.", "ITU-R M.1371 (30 = fishing)"
    )
    one_event_per_zone: Flag = param(
        False,
        "Find episodes in each forbidden zone separately (one event per zone where zones "
        "nest) instead of one event per episode in any forbidden zone.",
        "docs/detectors.md (why the default is one per episode)",
    )


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
    params: FishingInZoneParams | None = None,
    **overrides: Any,
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
    params : FishingInZoneParams, optional
        The parameters (default: :class:`FishingInZoneParams`' defaults).
    **overrides
        Fields of :class:`FishingInZoneParams` to change (``min_duration="2h"``), checked
        against it.

    Returns
    -------
    polars.DataFrame
        Events (``seawatch.schema.EVENTS``): ``start``/``end`` the first/last fishing
        position, ``lat``/``lon`` the fishing position at the middle of the episode,
        ``zone`` the most protective zone fished in, ``score`` the share of the episode's
        positions in forbidden zones that are at fishing speed, ``details``
        ``{"zone_kind", "zones", "flag", "zone_state", "hours", "median_speed_kn",
        "positions", "fishing_positions"}``.

    Raises
    ------
    seawatch.params.ConfigError
        An unknown parameter or a value of the wrong type.

    Notes
    -----
    A vessel with no known flag (no identity flag and an MMSI without a valid MID) is not
    the coastal state's vessel, so it is foreign in every state zone.
    """
    p = resolve(FishingInZoneParams, params, overrides, "detect_fishing_in_zone()")
    min_dur = parse_duration(p.min_duration)
    pause = parse_duration(p.max_pause)
    zone_list, index = as_zone_index(zones)
    rules = fishing_rules(zone_list).filter(pl.col("closed") | pl.col("foreign"))
    fleet = vessel_flags(vessels, p.fishing_ship_types)
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
        haversine_km_expr(
            pl.col("lat").shift(1), pl.col("lon").shift(1), pl.col("lat"), pl.col("lon")
        )
        / NM_KM
        / hours
    )
    tracks = tracks.with_columns(
        pl.coalesce(
            pl.col("sog").cast(pl.Float64),
            pl.when(~pl.col("first") & (hours > 0)).then(implied),
        ).alias("speed")
    )
    member = zone_membership(tracks, index).join(
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
    lo, hi = float(p.min_speed_kn), float(p.max_speed_kn)
    speed = pl.col("speed")
    if p.one_event_per_zone:  # the positions of each forbidden zone on their own
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
    if p.one_event_per_zone:
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


DETECTOR = Detector(
    name="fishing_in_zone",
    event_types=("fishing_in_zone",),
    params=FishingInZoneParams,
    detect=lambda table, params, context: detect_fishing_in_zone(
        table, context.vessels, context.zones, params=params
    ),
    needs=frozenset({"vessels", "zones"}),
)
"""The ``fishing_in_zone`` step of the pipeline."""
