"""``zone_entry`` / ``zone_exit``: a track crosses a zone's boundary.

Definition (``docs/detectors.md``, *zone_entry / zone_exit*): consecutive positions p, q of
one segment with p outside and q inside a zone are an entry at q's time; p inside and q
outside an exit at q's time. A segment that starts inside a zone has no entry (and one that
ends inside has no exit). "Inside" is ``shapely.contains_xy``: a point exactly on the
boundary is outside. Nested zones are crossed separately, one event per zone.

The kernel locates every position in every zone at once (:mod:`seawatch.detect.zones`) and
finds the crossings with Polars joins over the (position, zone) containments.

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

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from seawatch.detect.detector import Detector
from seawatch.detect.events import details_json, empty_events, to_events
from seawatch.detect.positions import ordered_tracks
from seawatch.detect.zones import as_zone_index, zone_membership
from seawatch.params import Names, Params, param, resolve

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.geo.zones import Zone, ZoneIndex


class ZoneParams(Params):
    """Parameters of ``zone`` (docs/detectors.md, *zone_entry / zone_exit*)."""

    kinds: Names = param(
        None,
        'Report crossings of zones of these kinds only (e.g. ["mpa", "territorial_sea"]); '
        "not set: every zone.",
        "docs/detectors.md",
        example=["mpa", "territorial_sea"],
    )


def detect_zone_crossings(
    segmented: pl.DataFrame,
    zones: Sequence[Zone] | ZoneIndex | None = None,
    *,
    params: ZoneParams | None = None,
    **overrides: Any,
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
    params : ZoneParams, optional
        The parameters (default: :class:`ZoneParams`' defaults).
    **overrides
        Fields of :class:`ZoneParams` to change (``kinds=["mpa"]``), checked against it.

    Returns
    -------
    polars.DataFrame
        Events (``seawatch.schema.EVENTS``): one row per crossing, ``start = end`` = the time
        of the first position on the new side, ``lat``/``lon`` that position, ``zone`` the
        zone's name, ``score`` 1, ``details`` ``{"zone_kind", "minutes_since_previous"}``.

    Raises
    ------
    seawatch.params.ConfigError
        An unknown parameter or a value of the wrong type.

    Notes
    -----
    Consecutive means consecutive in the segment: across a reception gap (inside one
    segment) a vessel last seen outside and next seen inside has entered. A vessel whose
    consecutive positions both lie outside never enters, even if the straight line between
    them cuts a corner of the zone (nothing shows it was inside).
    """
    p = resolve(ZoneParams, params, overrides, "detect_zone_crossings()")
    zone_list, index = as_zone_index(zones)
    tracks = ordered_tracks(segmented)
    if tracks.height == 0 or not zone_list:
        return empty_events()
    member = zone_membership(tracks, index)
    if p.kinds is not None:
        wanted = [k for k, z in enumerate(zone_list) if z.kind in set(p.kinds)]
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


def _zone_table(zones: Sequence[Zone]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "zone": list(range(len(zones))),
            "zone_name": [z.name for z in zones],
            "zone_kind": [z.kind for z in zones],
        },
        schema={"zone": pl.Int32, "zone_name": pl.String, "zone_kind": pl.String},
    )


DETECTOR = Detector(
    name="zone",
    event_types=("zone_entry", "zone_exit"),
    params=ZoneParams,
    detect=lambda table, params, context: detect_zone_crossings(
        table, context.zones, params=params
    ),
    needs=frozenset({"zones"}),
)
"""The ``zone`` step of the pipeline."""
