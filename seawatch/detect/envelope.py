"""Where a dark vessel could have gone: the movement envelope of each gap.

A vessel last seen at A at time ``t_A`` and next seen at B at ``t_B``, moving at no more than
``v`` on the way, was at a time in between somewhere in the set of points P with
``d(A, P) + d(P, B) <= v * (t_B - t_A)``: an ellipse with foci A and B. Here it is built in
the azimuthal-equidistant plane centred on the geodesic midpoint of A and B (pyproj's
``Geod`` on WGS84, all gaps at once): the foci lie on the axis at ``+-d/2``, the semi-axes are
``a = v T / 2`` and ``b = sqrt(a^2 - (d/2)^2)``, and every vertex goes back to latitude and
longitude by one forward geodesic from the midpoint. Distances from the midpoint are exact
in that plane and the others are within a fraction of a percent at the few hundred
kilometres of a day's gap (the tests check the polygon's geodesic area against ``pi a b``).
Polygons do not cross the antimeridian (longitudes are taken near the midpoint's).

At a time ``t`` in between, the vessel is in the *lens* ``disc(A, v (t - t_A)) ∩
disc(B, v (t_B - t))`` (:func:`lenses`); the envelope is the union of the lenses. Two
vessels could be at one place together only where their lenses of the same time meet
(:mod:`seawatch.detect.dark_rendezvous`).

The top speed ``v`` of a gap (:func:`envelope_speeds`): a high quantile of the speeds the
vessel reported on the track before and the track after the gap, times a margin, at least a
floor, at most a per-type cap (fishing vessels, others); with no reported speed, the cap.
It is never below the speed the gap itself implies (the straight line A -> B), so the
envelope always holds the path the vessel took.

Examples
--------
>>> import numpy as np
>>> poly, area, a, b = ellipses(np.array([-1.0]), np.array([-85.0]), np.array([-1.0]),
...                             np.array([-84.0]), np.array([200.0]), vertices=64)
>>> round(float(a[0]), 1), round(float(b[0]), 1), round(float(area[0]))
(100.0, 83.1, 26102)
>>> round(float(area_km2(poly)[0] / area[0]), 3)      # the polygon against pi a b
0.998
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import shapely

from seawatch.geo.geodesy import NM_KM

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.geo.zones import ZoneIndex

FISHING_SHIP_TYPE = 30
"""AIS ship type of a fishing vessel."""

_GEOD: Any = None


def geod() -> Any:
    """The WGS84 ellipsoid of pyproj (built once)."""
    global _GEOD
    if _GEOD is None:
        from pyproj import Geod

        _GEOD = Geod(ellps="WGS84")
    return _GEOD


def _polygons(
    lat0: np.ndarray, lon0: np.ndarray, axis_az: np.ndarray, u: np.ndarray, w: np.ndarray
) -> np.ndarray:
    """Polygons whose vertices are at (u along ``axis_az``, w to its right) km from the
    centres, one row of ``u``/``w`` per centre."""
    n, v = u.shape
    az = (axis_az[:, None] + np.degrees(np.arctan2(w, u))).ravel()
    dist = np.hypot(u, w).ravel() * 1000.0
    lon, lat, _ = geod().fwd(np.repeat(lon0, v), np.repeat(lat0, v), az, dist)
    lon = np.asarray(lon).reshape(n, v)
    lat = np.asarray(lat).reshape(n, v)
    lon = lon0[:, None] + (lon - lon0[:, None] + 180.0) % 360.0 - 180.0
    ring = np.stack([lon, lat], axis=-1)
    ring = np.concatenate([ring, ring[:, :1]], axis=1)
    return np.asarray(shapely.polygons(ring))


def ellipses(
    off_lat: np.ndarray,
    off_lon: np.ndarray,
    on_lat: np.ndarray,
    on_lon: np.ndarray,
    reach_km: np.ndarray,
    *,
    vertices: int = 32,
    min_half_width_km: float = 0.5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The envelopes of gaps from A (``off``) to B (``on``) with ``reach_km = v T``.

    Returns
    -------
    (polygons, area_km2, a_km, b_km)
        Shapely polygons (lon, lat), the ellipse's area ``pi a b`` and its semi-axes. A
        reach shorter than ``d(A, B)`` is taken as ``d(A, B)``; the half width is at least
        ``min_half_width_km`` (position noise), so no envelope is a bare line.
    """
    g = geod()
    off_lat, off_lon = np.asarray(off_lat, float), np.asarray(off_lon, float)
    on_lat, on_lon = np.asarray(on_lat, float), np.asarray(on_lon, float)
    az, _, d_m = g.inv(off_lon, off_lat, on_lon, on_lat)
    az, d = np.atleast_1d(np.asarray(az, float)), np.atleast_1d(np.asarray(d_m, float)) / 1000
    mid_lon, mid_lat, back = g.fwd(off_lon, off_lat, az, d * 500.0)
    mid_lon, mid_lat = np.atleast_1d(mid_lon), np.atleast_1d(mid_lat)
    axis = np.atleast_1d(np.asarray(back, float)) + 180.0
    c = d / 2
    a = np.maximum(np.asarray(reach_km, float), d) / 2
    b = np.maximum(np.sqrt(np.maximum(a * a - c * c, 0.0)), min_half_width_km)
    a = np.maximum(a, b)
    theta = np.linspace(0.0, 2 * np.pi, vertices, endpoint=False)[None, :]
    poly = _polygons(mid_lat, mid_lon, axis, a[:, None] * np.cos(theta),
                     b[:, None] * np.sin(theta))
    return poly, np.pi * a * b, a, b


def discs(lat: np.ndarray, lon: np.ndarray, radius_km: np.ndarray, *, vertices: int = 32
          ) -> np.ndarray:
    """Geodesic discs (polygons of ``vertices`` points) of ``radius_km`` around the points;
    an empty polygon where the radius is negative."""
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    r = np.asarray(radius_km, float)
    theta = np.linspace(0.0, 2 * np.pi, vertices, endpoint=False)[None, :]
    rr = np.maximum(r, 1e-6)[:, None]
    poly = _polygons(lat, lon, np.zeros(lat.size), rr * np.cos(theta), rr * np.sin(theta))
    poly[r < 0] = shapely.Polygon()
    return poly


def lenses(
    off_lat: np.ndarray,
    off_lon: np.ndarray,
    on_lat: np.ndarray,
    on_lon: np.ndarray,
    from_off_km: np.ndarray,
    to_on_km: np.ndarray,
    *,
    vertices: int = 32,
) -> np.ndarray:
    """Where a vessel can be: within ``from_off_km`` of A and ``to_on_km`` of B (one lens per
    row; empty where either reach is negative or the discs do not meet)."""
    return np.asarray(
        shapely.intersection(
            discs(off_lat, off_lon, from_off_km, vertices=vertices),
            discs(on_lat, on_lon, to_on_km, vertices=vertices),
        )
    )


def area_km2(polygons: np.ndarray) -> np.ndarray:
    """Geodesic areas (km²) of lon/lat polygons."""
    g = geod()
    return np.array(
        [abs(g.geometry_area_perimeter(p)[0]) / 1e6 if not p.is_empty else 0.0
         for p in polygons],
        dtype=np.float64,
    )


def envelope_speeds(
    gaps: pl.DataFrame,
    segmented: pl.DataFrame,
    vessels: pl.DataFrame | None,
    params: Any,
) -> tuple[np.ndarray, list[str]]:
    """The top speed (knots) of each gap's envelope and where it came from.

    ``gaps`` has ``mmsi``, ``off_segment_id``, ``on_segment_id`` and ``implied_speed_kn``;
    ``segmented`` the positions with ``segment_id`` and ``sog``; ``vessels`` the identities
    (``ship_type``) or None. ``params`` is :class:`seawatch.detect.gap.GapParams`.
    """
    if "sog" in segmented.columns:
        observed = (
            segmented.filter(pl.col("sog").is_not_null() & (pl.col("sog") < 102.2))
            .group_by("segment_id")
            .agg(pl.col("sog").quantile(params.envelope_speed_quantile).alias("q"))
        )
    else:
        observed = pl.DataFrame(schema={"segment_id": pl.Int64, "q": pl.Float64})
    types = pl.DataFrame(schema={"mmsi": pl.Int64, "ship_type": pl.Int64})
    if vessels is not None and vessels.height and "ship_type" in vessels.columns:
        types = (
            vessels.select(pl.col("mmsi").cast(pl.Int64), pl.col("ship_type").cast(pl.Int64))
            .drop_nulls()
            .group_by("mmsi")
            .agg(pl.col("ship_type").last())
        )
    t = (
        gaps.select("mmsi", "off_segment_id", "on_segment_id", "implied_speed_kn")
        .with_row_index("row")
        .join(observed.rename({"segment_id": "off_segment_id", "q": "q_off"}),
              on="off_segment_id", how="left")
        .join(observed.rename({"segment_id": "on_segment_id", "q": "q_on"}),
              on="on_segment_id", how="left")
        .join(types, on="mmsi", how="left")
        .sort("row")
    )
    cap = np.where(
        t["ship_type"].fill_null(-1).to_numpy() == FISHING_SHIP_TYPE,
        params.envelope_max_speed_fishing_kn,
        params.envelope_max_speed_kn,
    ).astype(np.float64)
    q = t.select(pl.max_horizontal("q_off", "q_on")).to_series().to_numpy().astype(float)
    seen = ~np.isnan(q)
    wanted = np.maximum(np.nan_to_num(q) * params.envelope_speed_margin,
                        params.envelope_min_speed_kn)
    v = np.where(seen, np.minimum(wanted, cap), cap)
    implied = t["implied_speed_kn"].to_numpy().astype(float)
    source = np.where(seen, np.where(wanted > cap, "type_cap", "observed"), "type_cap")
    source = np.where(implied > v, "implied", source)
    return np.maximum(v, implied), source.tolist()


def envelope_details(
    gaps: pl.DataFrame,
    segmented: pl.DataFrame,
    vessels: pl.DataFrame | None,
    zones: ZoneIndex | None,
    ports: pl.DataFrame | None,
    params: Any,
) -> pl.DataFrame:
    """The envelope fields of each gap, one row per row of ``gaps`` (see
    :func:`seawatch.detect.gap.with_envelopes`)."""
    speed, source = envelope_speeds(gaps, segmented, vessels, params)
    hours = gaps["gap_hours"].to_numpy().astype(float)
    reach = speed * NM_KM * hours
    poly, area, _, b = ellipses(
        gaps["off_lat"].to_numpy(), gaps["off_lon"].to_numpy(), gaps["on_lat"].to_numpy(),
        gaps["on_lon"].to_numpy(), reach, vertices=params.envelope_vertices,
    )
    zone_names: list[list[str]] = [[] for _ in range(len(poly))]
    if zones is not None:
        for zone in zones.zones:
            for k in np.flatnonzero(shapely.intersects(poly, zone.geometry)):
                zone_names[k].append(zone.name)
    port_names: list[list[str]] = [[] for _ in range(len(poly))]
    if ports is not None and ports.height:
        real = ports.filter(pl.col("kind") == "port") if "kind" in ports.columns else ports
        points = shapely.points(real["lon"].to_numpy(), real["lat"].to_numpy())
        names = real["name"].to_list()
        env, pt = shapely.STRtree(points).query(poly, predicate="contains")
        for k, p in zip(env.tolist(), pt.tolist(), strict=True):
            if names[p] not in port_names[k]:
                port_names[k].append(names[p])
    wkt = shapely.to_wkt(poly, rounding_precision=params.envelope_decimals, trim=True)
    limit = params.envelope_max_ports
    return pl.DataFrame(
        {
            "envelope_speed_kn": np.round(speed, 3),
            "envelope_speed_from": source,
            "envelope_reach_km": np.round(reach, 3),
            "envelope_area_km2": np.round(area, 1),
            "envelope_half_width_km": np.round(b, 3),
            "envelope_zones": zone_names,
            "envelope_ports": [sorted(n)[:limit] for n in port_names],
            "envelope_port_count": [len(n) for n in port_names],
            "envelope_wkt": np.asarray(wkt, dtype=object).tolist(),
        },
        schema_overrides={"envelope_zones": pl.List(pl.String),
                          "envelope_ports": pl.List(pl.String)},
    )


def gap_table(events: pl.DataFrame | None, fields: Sequence[str]) -> pl.DataFrame:
    """The gap events of ``events`` as columns: ``event_id``, ``mmsi``, ``start``, ``end``,
    ``score`` and the named ``details`` fields (an empty frame when there are none, or the
    gaps have no envelope)."""
    if events is None or events.height == 0 or "details" not in events.columns:
        return pl.DataFrame()
    gaps = events.filter(pl.col("type") == "gap")
    if gaps.height == 0:
        return pl.DataFrame()
    decoded = gaps["details"].str.json_decode().struct.unnest()
    if any(f not in decoded.columns for f in fields):
        return pl.DataFrame()
    return pl.concat(
        [gaps.select("event_id", "mmsi", "start", "end", "score"), decoded.select(fields)],
        how="horizontal",
    )
