"""``port_visit`` events: a vessel stays near a port or anchorage.

Definition (``docs/detectors.md``, GFW ``pipe-anchorages`` entry/exit distances): a visit
starts at the first position within ``entry_km`` (3 km) of a port or anchorage point and
lasts until the vessel is more than ``exit_km`` (4 km) from every port point; it ends at the
last position before that one. Between 3 and 4 km the vessel keeps its state (hysteresis),
so a vessel hovering around 3 km does not make a string of visits, and moving between two
port points a few km apart is one visit. A visit shorter than ``min_duration`` (30 min) is a
vessel passing by and is not reported.

A visit in progress where a track's observation begins or ends (its first position within
``exit_km`` of a port, or its last position inside a visit) is reported from that first or to
that last position with ``details.open = true`` when what is seen of it lasts
``min_duration``. At the edges of the data this is exactly the rule of docs/detectors.md; a
track also begins or ends where segmentation cut it (a reception gap over 24 h). Two such
halves of one stay - one segment ending in port and the vessel's next segment starting
within ``exit_km`` of that position - are one visit (a vessel that switches AIS off in port
for two days has made one visit).

The kernel is one nearest-port query (k-d tree, :meth:`seawatch.geo.PortIndex.nearest`) for
the positions in grid cells near a port (:func:`near_cells`; far from every port the state is
known without it), then Polars forward fills and run lengths: no per-position Python.

Examples
--------
>>> import polars as pl
>>> from datetime import datetime, timedelta, UTC
>>> port = pl.DataFrame({"name": ["P"], "lat": [0.0], "lon": [0.0]})
>>> t0 = datetime(2026, 1, 15, tzinfo=UTC)
>>> lon = [0.10, 0.02, 0.0, 0.0, 0.02, 0.10]  # 11 km, 2 km, at the port, ..., 11 km
>>> track = pl.DataFrame({"mmsi": [1] * 6, "lat": [0.0] * 6, "lon": lon,
...                       "ts": [t0 + timedelta(minutes=20 * k) for k in range(6)]})
>>> v = detect_port_visits(track, port)
>>> v.select("start", "end").rows() == [(t0 + timedelta(minutes=20), t0 + timedelta(minutes=80))]
True
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from pydantic import model_validator
from pydantic_core import PydanticCustomError

from seawatch.detect.detector import Detector
from seawatch.detect.events import details_json, empty_events, to_events
from seawatch.detect.positions import ordered_tracks
from seawatch.geo.geodesy import KM_PER_DEG, haversine_km_expr
from seawatch.params import Duration, Number, Params, param, resolve
from seawatch.units import parse_duration

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.geo.portlist import PortIndex


class PortVisitParams(Params):
    """Parameters of ``port_visit`` (docs/detectors.md, *port_visit*)."""

    entry_km: Number = param(
        3.0,
        "A visit starts at the first position at most this far from a port point (km).",
        "GFW pipe-anchorages entry distance (3 km), DESIGN.md",
    )
    exit_km: Number = param(
        4.0,
        "It ends before the first position more than this far from every port point (km); "
        "at least entry_km.",
        "GFW pipe-anchorages exit distance (4 km), DESIGN.md",
    )
    min_duration: Duration = param(
        "30m",
        "Shortest visit, first to last position, bound included; for an open visit the part seen.",
        "docs/detectors.md",
    )

    min_unseen_ends_duration: Duration = param(
        "12h",
        "A visit open at both ends (the vessel's track begins in port and ends there: neither "
        "its arrival nor its departure is in the data) is an event only when what is seen of "
        "it lasts at least this; a shorter one shows that the vessel was in port, not a "
        "visit anyone saw, and is not raised. 0 raises every one.",
        "seawatch (issue 12): a one-hour capture of the AISHub feed gave 1,974 such visits "
        "(ships moored in Rotterdam, Antwerp... for the whole hour) and 5 visits with a "
        "departure seen; GFW's port visit needs an entry and an exit event. Half a day in "
        "port is a port call however it began: the messy simulator's moored ships heard "
        "for 22 h of its 36",
    )

    @model_validator(mode="after")
    def _exit_beyond_entry(self) -> PortVisitParams:
        if self.exit_km < self.entry_km:
            raise PydanticCustomError(
                "seawatch",
                "exit_km ({exit}) must be at least entry_km ({entry})",
                {"exit": self.exit_km, "entry": self.entry_km},
            )
        return self


CELL_DEG = 0.05
"""Cell size (degrees) of the prefilter that skips the port lookup far from every port."""


def _cell_keys(row: np.ndarray, col: np.ndarray) -> np.ndarray:
    ncol = round(360 / CELL_DEG)
    return row.astype(np.int64) * ncol + np.mod(col.astype(np.int64), ncol)


def near_cells(
    lat: np.ndarray, lon: np.ndarray, port_lat: np.ndarray, port_lon: np.ndarray, km: float
) -> np.ndarray:
    """Boolean mask of the points in a grid cell that may lie within ``km`` of a port.

    A superset of the points within ``km`` (cells of :data:`CELL_DEG` around each port,
    widened by enough cells to cover ``km`` at the port's latitude, wrapping at the
    antimeridian), so the exact distance is computed only where it can matter. Cells are
    counted in degrees of the mean sphere (:data:`~seawatch.geo.geodesy.KM_PER_DEG`); a
    WGS84 degree of latitude is up to 0.6 % shorter, which the one extra cell each way
    covers for any ``km`` under 1,000.
    """
    rows = int(np.ceil(km / (KM_PER_DEG * CELL_DEG))) + 1
    # only the ports within reach of the points' latitudes: a global list's high-latitude
    # ports would widen every row of cells to theirs
    finite = lat[np.isfinite(lat)]
    if finite.size:
        margin = (rows + 1) * CELL_DEG
        reach = (port_lat >= finite.min() - margin) & (port_lat <= finite.max() + margin)
        port_lat, port_lon = port_lat[reach], port_lon[reach]
    if port_lat.size == 0 or finite.size == 0:
        return np.zeros(lat.shape, dtype=bool)
    coslat = np.cos(np.radians(np.minimum(np.abs(port_lat) + rows * CELL_DEG, 89.0)))
    cols = np.ceil(km / (KM_PER_DEG * CELL_DEG * coslat)).astype(np.int64) + 1
    pr = np.floor(port_lat / CELL_DEG).astype(np.int64)
    pc = np.floor(port_lon / CELL_DEG).astype(np.int64)
    widest = int(cols.max())
    keys = []
    for dr in range(-rows, rows + 1):
        for dc in range(-widest, widest + 1):
            use = np.abs(dc) <= cols
            keys.append(_cell_keys(pr[use] + dr, pc[use] + dc))
    wanted = np.unique(np.concatenate(keys))
    mine = _cell_keys(np.floor(lat / CELL_DEG), np.floor(lon / CELL_DEG))
    return np.isin(mine, wanted)


def _as_index(ports: pl.DataFrame | PortIndex | None) -> PortIndex:
    from seawatch.geo import port_index
    from seawatch.geo.portlist import PortIndex

    if isinstance(ports, PortIndex):
        return ports
    return port_index(ports)


def detect_port_visits(
    segmented: pl.DataFrame,
    ports: pl.DataFrame | PortIndex | None = None,
    *,
    params: PortVisitParams | None = None,
    **overrides: Any,
) -> pl.DataFrame:
    """``port_visit`` events with entry/exit hysteresis.

    Parameters
    ----------
    segmented : polars.DataFrame
        Positions with ``segment_id`` (``seawatch.tracks.segment``); without it each MMSI is
        one track. Needs ``mmsi``, ``ts``, ``lat``, ``lon``.
    ports : polars.DataFrame or PortIndex, optional
        Port and anchorage points with ``lat``, ``lon`` and ``name`` (``kind`` used when
        present), or a :class:`seawatch.geo.PortIndex` over them. Default: the shipped list
        :func:`seawatch.geo.ports`.
    params : PortVisitParams, optional
        The parameters (default: :class:`PortVisitParams`' defaults).
    **overrides
        Fields of :class:`PortVisitParams` to change (``entry_km=2.5``), checked against it.

    Returns
    -------
    polars.DataFrame
        Events (``seawatch.schema.EVENTS``) of type ``"port_visit"``: ``start``/``end`` the
        first/last position of the visit, ``lat``/``lon`` the nearest port point at the
        start, ``score`` 1, ``details`` ``{"port", "port_kind", "distance_km" (at the start),
        "min_distance_km", "duration_h", "positions", "open", "open_start", "open_end"}``.

    Raises
    ------
    seawatch.params.ConfigError
        An unknown parameter, a value of the wrong type, or ``exit_km < entry_km``.
    """
    p = resolve(PortVisitParams, params, overrides, "detect_port_visits()")
    entry_km, exit_km = p.entry_km, p.exit_km
    min_us = parse_duration(p.min_duration) // timedelta(microseconds=1)
    unseen_us = parse_duration(p.min_unseen_ends_duration) // timedelta(microseconds=1)
    index = _as_index(ports)
    table = index.ports
    tracks = ordered_tracks(segmented)
    if tracks.height == 0 or table.height == 0:
        return empty_events()
    lat, lon = tracks["lat"].to_numpy(), tracks["lon"].to_numpy()
    dist = np.full(lat.shape, np.inf)
    near = np.full(lat.shape, -1, dtype=np.int64)
    close = near_cells(lat, lon, table["lat"].to_numpy(), table["lon"].to_numpy(), exit_km)
    dist[close], near[close] = index.nearest(lat[close], lon[close])
    tracks = tracks.with_columns(
        pl.Series("d", dist, dtype=pl.Float64), pl.Series("port", near, dtype=pl.Int64)
    )
    d = pl.col("d")
    crossing = pl.when(d <= entry_km).then(True).when(d > exit_km).then(False)
    # the first position of a track within exit_km is inside a visit already in progress, so
    # every track starts with a known state and a plain forward fill keeps tracks apart
    signal = pl.when(pl.col("first")).then(d <= exit_km).otherwise(crossing)
    tracks = tracks.with_columns(signal.forward_fill().alias("in_port"))
    run = (pl.col("first") | (pl.col("in_port") != pl.col("in_port").shift(1))).cum_sum()
    visits = (
        tracks.with_columns(run.alias("run"))
        .filter(pl.col("in_port"))
        .group_by("run")
        .agg(
            pl.col("mmsi").first(),
            pl.col("ts").first().alias("start"),
            pl.col("ts").last().alias("end"),
            pl.col("lat").first().alias("lat0"),
            pl.col("lon").first().alias("lon0"),
            pl.col("lat").last().alias("lat1"),
            pl.col("lon").last().alias("lon1"),
            pl.col("first").first().alias("open_start"),
            pl.col("last").last().alias("open_end"),
            pl.col("port").first(),
            pl.col("d").first().alias("distance_km"),
            pl.col("d").min().alias("min_distance_km"),
            pl.len().alias("positions"),
        )
        .sort("mmsi", "start")
    )
    if visits.height == 0:
        return empty_events()
    # one stay cut by segmentation: a track ending in port, the next starting there
    prev = pl.col("mmsi").shift(1)
    joined = (
        (pl.col("mmsi") == prev)
        & pl.col("open_end").shift(1)
        & pl.col("open_start")
        & (pl.col("start") >= pl.col("end").shift(1))
        & (
            haversine_km_expr(
                pl.col("lat1").shift(1), pl.col("lon1").shift(1), pl.col("lat0"), pl.col("lon0")
            )
            <= exit_km
        )
    ).fill_null(False)
    visits = (
        visits.with_columns((~joined).cum_sum().alias("stay"))
        .group_by("stay")
        .agg(
            pl.col("mmsi").first(),
            pl.col("start").first(),
            pl.col("end").last(),
            pl.col("open_start").first(),
            pl.col("open_end").last(),
            pl.col("port").first(),
            pl.col("distance_km").first(),
            pl.col("min_distance_km").min(),
            pl.col("positions").sum(),
        )
        .with_columns(
            (pl.col("end") - pl.col("start")).dt.total_microseconds().alias("_us"),
            (pl.col("open_start") | pl.col("open_end")).alias("open"),
        )
        .filter(
            (pl.col("_us") >= min_us)
            & ~(pl.col("open_start") & pl.col("open_end") & (pl.col("_us") < unseen_us))
        )
    )
    if visits.height == 0:
        return empty_events()
    names = table["name"] if "name" in table.columns else None
    kinds = table["kind"] if "kind" in table.columns else None
    port_info = pl.DataFrame(
        {
            "port": pl.int_range(0, table.height, eager=True).cast(pl.Int64),
            "port_name": names.cast(pl.String)
            if names is not None
            else pl.Series([f"port {k}" for k in range(table.height)]),
            "port_kind": kinds.cast(pl.String)
            if kinds is not None
            else pl.Series([None] * table.height, dtype=pl.String),
            "port_lat": table["lat"].cast(pl.Float64),
            "port_lon": table["lon"].cast(pl.Float64),
        }
    )
    raw = visits.join(port_info, on="port", how="left").select(
        "mmsi",
        "start",
        "end",
        pl.col("port_lat").alias("lat"),
        pl.col("port_lon").alias("lon"),
        pl.lit(1.0).alias("score"),
        details_json(
            {
                "port": pl.col("port_name"),
                "port_kind": pl.col("port_kind"),
                "distance_km": pl.col("distance_km").round(3),
                "min_distance_km": pl.col("min_distance_km").round(3),
                "duration_h": (pl.col("_us") / 3.6e9).round(4),
                "positions": pl.col("positions"),
                "open": pl.col("open"),
                "open_start": pl.col("open_start"),
                "open_end": pl.col("open_end"),
            }
        ),
    )
    return to_events(raw, "port_visit")


DETECTOR = Detector(
    name="port_visit",
    event_types=("port_visit",),
    params=PortVisitParams,
    detect=lambda table, params, context: detect_port_visits(table, context.ports, params=params),
    needs=frozenset({"ports"}),
)
"""The ``port_visit`` step of the pipeline."""
