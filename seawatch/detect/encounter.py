"""Encounters: two vessels that stay close together, slowly, away from port.

Definition (``docs/detectors.md``; Global Fishing Watch's published encounter definition,
DESIGN.md): two vessels (different MMSIs) within ``max_distance_m = 500`` m of each other for
at least ``min_duration = 2 h``, the median speed of each under ``max_median_speed_kn = 2``
kn, and the mean position at least ``min_port_distance_km = 10`` km from any port or
anchorage. Tracks are resampled to a ``grid = 10 min`` grid with no interpolation across gaps
of ``max_gap = 1 h`` or more (:func:`seawatch.tracks.resample.resample`); runs of consecutive
grid steps within 500 m form pieces; pieces of the same pair less than ``merge_gap = 4 h``
apart merge into one encounter, whose start and end are its first and last grid times.
Nothing depends on calendar days, so an encounter across midnight UTC, or across input files
concatenated into one frame, is one event.

How it is computed: every grid sample is put in a cube of an earth-centred (WGS84 ECEF) grid
whose side is the distance threshold; two samples closer than the threshold at the same grid
time are then in the same or adjacent cubes, so only the 27 neighbouring cubes of each sample
are compared. The cost grows with the number of samples and of nearby pairs, not with the
square of the number of vessels; the cubes have no seam at the antimeridian or the poles.
Distances are WGS84 chords turned into arcs (within a millimetre of the geodesic here) and
compared at millimetre resolution (AIS positions resolve about 0.2 m).

Examples
--------
>>> import polars as pl
>>> from datetime import datetime, timedelta, UTC
>>> from seawatch.detect.events import details_of
>>> t0 = datetime(2026, 1, 15, 22, tzinfo=UTC)
>>> ts = [t0 + timedelta(minutes=10 * k) for k in range(19)]  # 22:00 .. 01:00
>>> p = pl.concat([
...     pl.DataFrame({"mmsi": 735000001, "ts": ts, "lat": -2.0, "lon": -86.0, "sog": 0.5}),
...     pl.DataFrame({"mmsi": 412000002, "ts": ts, "lat": -2.0, "lon": -86.002, "sog": 0.5}),
... ])
>>> ev = detect_encounters(p)
>>> ev.select("mmsi", "other_mmsi", pl.col("start", "end").dt.strftime("%d %H:%M")).row(0)
(412000002, 735000001, '15 22:00', '16 01:00')
>>> round(details_of(ev.row(0, named=True))["median_distance_m"], 1)
222.5
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl

from seawatch.detect.events import details_json, empty_events, to_events
from seawatch.tracks.resample import (
    DEFAULT_GRID,
    DEFAULT_MAX_GAP,
    Samples,
    chord_to_arc_m,
    duration_us,
    ecef_m,
    resample_samples,
)

__all__ = ["close_pairs", "detect_encounters"]

MAX_DISTANCE_M = 500.0
"""GFW encounter definition: vessels within 500 m (pipe-encounters ``max_encounter_dist_km``)."""
MIN_DURATION = "2h"
"""GFW encounter definition: at least 2 hours (pipe-encounters merge step, 120 minutes)."""
MAX_MEDIAN_SPEED_KN = 2.0
"""GFW encounter definition: median speed of both vessels under 2 knots."""
MIN_PORT_DISTANCE_KM = 10.0
"""GFW encounter definition: at least 10 km from any port or anchorage."""
MERGE_GAP = "4h"
"""GFW pipe-encounters merge step default: pieces less than 4 hours apart are one encounter."""
DISTANCE_TOLERANCE_M = 1e-3
"""Distances are compared at millimetre resolution (AIS positions resolve ~0.2 m)."""


def detect_encounters(
    positions: pl.DataFrame,
    *,
    ports: pl.DataFrame | None = None,
    max_distance_m: float = MAX_DISTANCE_M,
    min_duration: str | timedelta = MIN_DURATION,
    max_median_speed_kn: float = MAX_MEDIAN_SPEED_KN,
    min_port_distance_km: float = MIN_PORT_DISTANCE_KM,
    grid: str | timedelta = DEFAULT_GRID,
    max_gap: str | timedelta = DEFAULT_MAX_GAP,
    merge_gap: str | timedelta = MERGE_GAP,
) -> pl.DataFrame:
    """Encounter events between pairs of vessels.

    Parameters
    ----------
    positions : polars.DataFrame
        Positions (``seawatch.schema.POSITIONS``: ``mmsi``, ``ts``, ``lat``, ``lon``, and
        ``sog`` when known), usually with ``segment_id`` from segmentation: each
        ``(mmsi, segment_id)`` is resampled as its own track, and pieces of two tracks of the
        same MMSIs merge into one encounter. Positions of one vessel may come from several
        files concatenated in any order.
    ports : polars.DataFrame, optional
        Ports and anchorages with ``lat`` and ``lon`` columns. Default: the shipped list,
        :func:`seawatch.geo.ports`.
    max_distance_m : float, default 500.0
        Two samples at the same grid time are close when at most this far apart (metres).
        Reference: GFW encounter definition (500 m), DESIGN.md.
    min_duration : str or timedelta, default "2h"
        Least time from the first to the last close grid time of a (merged) encounter.
        Reference: GFW encounter definition (2 hours), DESIGN.md.
    max_median_speed_kn : float, default 2.0
        The median speed of each vessel over the close samples must be strictly under this
        (knots; ``sog`` interpolated, or implied speed where ``sog`` is unknown). Reference:
        GFW encounter definition (median speed under 2 knots), DESIGN.md.
    min_port_distance_km : float, default 10.0
        The mean position of the encounter must be at least this far from every port or
        anchorage (km). Reference: GFW encounter definition (10 km), DESIGN.md.
    grid : str or timedelta, default "10m"
        Resampling grid step. Reference: GFW pipe-encounters (10 minutes).
    max_gap : str or timedelta, default "1h"
        No interpolation between positions of one track this far apart or more. Reference:
        GFW pipe-encounters (1 hour), DESIGN.md.
    merge_gap : str or timedelta, default "4h"
        Pieces of the same pair of vessels whose gap (next start minus previous end) is less
        than this merge into one encounter. Reference: GFW pipe-encounters merge step (4 hours
        by default), DESIGN.md.

    Returns
    -------
    polars.DataFrame
        Events (``seawatch.schema.EVENTS``) of type ``"encounter"``, ``mmsi < other_mmsi``;
        ``start``/``end`` the first/last close grid time; ``lat``/``lon`` the mean position
        of both vessels over the close samples; ``score`` = duration / (2 x min_duration),
        capped at 1. ``details``: ``median_distance_m``, ``duration_h``,
        ``mmsi_median_speed_kn``, ``other_median_speed_kn``, ``distance_from_shore_km``,
        ``distance_from_port_km``, ``close_samples`` and ``pieces``.

    Examples
    --------
    Two vessels crossing on opposite courses at 12 kn are close for one grid step, and not
    slowly: no encounter (the module docstring has one that is).

    >>> from datetime import datetime, timedelta, UTC
    >>> t0 = datetime(2026, 1, 15, tzinfo=UTC)
    >>> ts = [t0 + timedelta(minutes=k) for k in range(0, 241, 5)]
    >>> lon = [-86.4 + k * 0.0167 for k in range(49)]
    >>> p = pl.DataFrame({"mmsi": [1] * 49 + [2] * 49, "ts": ts + ts, "sog": 12.0,
    ...                   "lat": [-2.0] * 98, "lon": lon + lon[::-1]})
    >>> detect_encounters(p).height, detect_encounters(p, min_duration="0s",
    ...                                                max_median_speed_kn=99).height
    (0, 1)
    """
    g = duration_us(grid)
    min_steps_us = duration_us(min_duration)
    merge_us = duration_us(merge_gap)
    s = resample_samples(positions, grid=grid, max_gap=max_gap)
    ia, ib, dist = close_pairs(s, max_distance_m + DISTANCE_TOLERANCE_M)
    keep = s.mmsi[ia] != s.mmsi[ib]
    ia, ib, dist = ia[keep], ib[keep], dist[keep]
    if len(ia) == 0:
        return empty_events()
    swap = s.mmsi[ia] > s.mmsi[ib]
    ia, ib = np.where(swap, ib, ia), np.where(swap, ia, ib)
    enc = _merge_pieces(
        s,
        ia,
        ib,
        dist,
        merge_us=merge_us,
        min_duration_us=min_steps_us,
        max_median_speed_kn=max_median_speed_kn,
        min_port_distance_km=min_port_distance_km,
        ports=ports,
    )
    if enc.height == 0:
        return empty_events()
    from seawatch.geo import distance_to_shore_km

    shore = distance_to_shore_km(enc["lat"].to_numpy(), enc["lon"].to_numpy())
    enc = enc.with_columns(pl.Series("distance_from_shore_km", shore))
    duration_h = pl.col("duration_us") / 3.6e9
    score = (
        pl.lit(1.0)
        if min_steps_us <= 0
        else (pl.col("duration_us") / (2.0 * min_steps_us)).clip(upper_bound=1.0)
    )
    out = enc.select(
        "mmsi",
        "other_mmsi",
        (pl.col("start_step") * g).cast(pl.Datetime("us", "UTC")).alias("start"),
        (pl.col("end_step") * g).cast(pl.Datetime("us", "UTC")).alias("end"),
        "lat",
        "lon",
        score.alias("score"),
        details_json(
            {
                "median_distance_m": pl.col("median_distance_m").round(1),
                "duration_h": duration_h.round(3),
                "mmsi_median_speed_kn": pl.col("mmsi_median_speed_kn").round(2),
                "other_median_speed_kn": pl.col("other_median_speed_kn").round(2),
                "distance_from_shore_km": pl.col("distance_from_shore_km").round(2),
                "distance_from_port_km": pl.col("distance_from_port_km").round(2),
                "close_samples": pl.col("close_samples"),
                "pieces": pl.col("pieces"),
            }
        ),
    )
    return to_events(out, "encounter")


def _merge_pieces(
    s: Samples,
    ia: np.ndarray,
    ib: np.ndarray,
    dist: np.ndarray,
    *,
    merge_us: int,
    min_duration_us: int,
    max_median_speed_kn: float,
    min_port_distance_km: float,
    ports: pl.DataFrame | None,
) -> pl.DataFrame:
    """Merge close samples into encounters per MMSI pair, measure them and keep those that
    meet the definition.

    ``ia``/``ib`` are sample indices of each close pair (``mmsi[ia] < mmsi[ib]``). The cheap
    conditions (duration, then distance from port) are applied before the medians, so the
    cost of the medians follows the encounters, not every close sample.
    """
    order = np.lexsort((s.step[ia], s.mmsi[ib], s.mmsi[ia]))
    ia, ib, dist = ia[order], ib[order], dist[order]
    a, b, step = s.mmsi[ia], s.mmsi[ib], s.step[ia]
    new_pair = np.ones(len(ia), dtype=bool)
    new_pair[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    dstep = np.r_[0, np.diff(step)]
    new_piece = new_pair | (dstep > 1)
    new_group = new_pair | ((dstep > 1) & (dstep * s.grid_us >= merge_us))
    first = np.flatnonzero(new_group)
    last = np.r_[first[1:], len(ia)] - 1
    duration = (step[last] - step[first]) * s.grid_us
    keep = duration >= min_duration_us
    size = last - first + 1
    group_of_row = np.repeat(np.arange(len(first)), size)
    # mean position of both vessels' samples (sum of unit vectors: antimeridian-safe)
    rows = np.repeat(keep, size)
    ja, jb, gr = ia[rows], ib[rows], group_of_row[rows]
    la, lb = np.radians(s.lat[ja]), np.radians(s.lat[jb])
    oa, ob = np.radians(s.lon[ja]), np.radians(s.lon[jb])
    n = len(first)
    ux = np.bincount(gr, np.cos(la) * np.cos(oa) + np.cos(lb) * np.cos(ob), minlength=n)
    uy = np.bincount(gr, np.cos(la) * np.sin(oa) + np.cos(lb) * np.sin(ob), minlength=n)
    uz = np.bincount(gr, np.sin(la) + np.sin(lb), minlength=n)
    lat = np.degrees(np.arctan2(uz, np.hypot(ux, uy)))
    lon = np.degrees(np.arctan2(uy, ux))
    port_km = np.full(n, np.nan)
    port_km[keep] = _port_distance_km(lat[keep], lon[keep], ports)
    keep &= port_km >= min_port_distance_km
    rows = np.repeat(keep, size)
    group = group_of_row[rows]
    med = {
        "median_distance_m": _group_median(dist[rows], group),
        "mmsi_median_speed_kn": _group_median(s.speed_kn[ia][rows], group),
        "other_median_speed_kn": _group_median(s.speed_kn[ib][rows], group),
    }
    g = np.flatnonzero(keep)
    out = pl.DataFrame(
        {
            "mmsi": a[first[g]],
            "other_mmsi": b[first[g]],
            "start_step": step[first[g]],
            "end_step": step[last[g]],
            "duration_us": duration[g],
            "lat": lat[g],
            "lon": lon[g],
            "distance_from_port_km": port_km[g],
            # distinct grid steps (two tracks of one MMSI may give one step twice) and runs
            "close_samples": np.add.reduceat(new_piece | (dstep > 0), first)[g],
            "pieces": np.add.reduceat(new_piece, first)[g],
            **med,
        }
    )
    return out.filter(
        (pl.col("mmsi_median_speed_kn") < max_median_speed_kn)
        & (pl.col("other_median_speed_kn") < max_median_speed_kn)
    )


def _group_median(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Median of ``values`` per group (``group``: non-decreasing 0..k ids of the kept rows,
    renumbered here), ignoring NaN; NaN for a group without values."""
    if len(values) == 0:
        return np.zeros(0)
    ids, start = np.unique(group, return_index=True)
    gi = np.repeat(np.arange(len(ids)), np.diff(np.r_[start, len(group)]))
    order = np.lexsort((values, gi))  # NaN sort last within each group
    v = values[order]
    n_valid = np.bincount(gi, weights=~np.isnan(values), minlength=len(ids)).astype(np.int64)
    lo = start + np.maximum(n_valid - 1, 0) // 2
    hi = start + n_valid // 2
    with np.errstate(invalid="ignore"):
        med = (v[lo] + v[np.minimum(hi, len(v) - 1)]) / 2.0
    return np.where(n_valid > 0, med, np.nan)


def _port_distance_km(lat: np.ndarray, lon: np.ndarray, ports: pl.DataFrame | None) -> np.ndarray:
    from seawatch.geo import port_index

    if ports is not None and ports.height == 0:
        return np.full(len(lat), np.inf)
    dist, _ = port_index(ports).nearest(lat, lon)
    return dist


# --- kernel: close pairs of samples by earth-centred cube bucketing --------------------------

_FORWARD = [
    (dx, dy, dz)
    for dx in (-1, 0, 1)
    for dy in (-1, 0, 1)
    for dz in (-1, 0, 1)
    if (dx, dy, dz) > (0, 0, 0)
]
"""The 13 neighbour cubes 'after' a cube: with the cube itself they give each pair once."""


def close_pairs(s: Samples, max_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index pairs (i, j) of samples at the same grid step within ``max_m`` metres.

    Samples of the same track are never paired. Returns ``(i, j, distance_m)``.

    >>> import polars as pl
    >>> from datetime import datetime, UTC
    >>> from seawatch.tracks.resample import resample_samples
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> p = pl.DataFrame({"mmsi": [1, 2, 3], "ts": [t] * 3,
    ...                   "lat": [0.0, 0.0, 0.0], "lon": [0.0, 0.004, 0.02]})
    >>> i, j, d = close_pairs(resample_samples(p), 500.0)
    >>> i.tolist(), j.tolist(), d.round(1).tolist()
    ([0], [1], [445.3])
    """
    n = len(s)
    empty = np.zeros(0, dtype=np.int64)
    if n < 2:
        return empty, empty, np.zeros(0)
    x, y, z = ecef_m(s.lat, s.lon)
    cell = float(max_m)
    cx = np.floor(x / cell).astype(np.int64)
    cy = np.floor(y / cell).astype(np.int64)
    cz = np.floor(z / cell).astype(np.int64)
    cx -= cx.min() - 1
    cy -= cy.min() - 1
    cz -= cz.min() - 1
    rx, ry, rz = int(cx.max()) + 2, int(cy.max()) + 2, int(cz.max()) + 2
    space = rx * ry * rz
    step = s.step - s.step.min()
    # pack (step, cx, cy, cz) into one int64 key; split the time range if it does not fit
    per_chunk = max(1, (2**62) // space)
    out_i: list[np.ndarray] = []
    out_j: list[np.ndarray] = []
    for lo in range(0, int(step.max()) + 1, per_chunk):
        sel = np.flatnonzero((step >= lo) & (step < lo + per_chunk))
        if len(sel) < 2:
            continue
        key = (((step[sel] - lo) * rx + cx[sel]) * ry + cy[sel]) * rz + cz[sel]
        i, j = _bucket_pairs(key, [(dx * ry + dy) * rz + dz for dx, dy, dz in _FORWARD])
        out_i.append(sel[i])
        out_j.append(sel[j])
    if not out_i:
        return empty, empty, np.zeros(0)
    i = np.concatenate(out_i)
    j = np.concatenate(out_j)
    other = s.track[i] != s.track[j]
    i, j = i[other], j[other]
    chord = np.sqrt((x[i] - x[j]) ** 2 + (y[i] - y[j]) ** 2 + (z[i] - z[j]) ** 2)
    d = chord_to_arc_m(chord)
    ok = d <= max_m
    return i[ok], j[ok], d[ok]


def _bucket_pairs(key: np.ndarray, deltas: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """All index pairs in the same cell (i < j) or in a cell and a forward neighbour."""
    order = np.argsort(key, kind="stable")
    ks = key[order]
    starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
    cells = ks[starts]
    counts = np.diff(np.r_[starts, len(ks)])
    pa: list[np.ndarray] = []
    pb: list[np.ndarray] = []
    # same cell: only cells with two or more samples
    multi = np.flatnonzero(counts > 1)
    if len(multi):
        a, b = _cross(starts[multi], counts[multi], starts[multi], counts[multi])
        upper = a < b
        pa.append(a[upper])
        pb.append(b[upper])
    for delta in deltas:
        want = cells + delta
        pos = np.searchsorted(cells, want)
        pos_c = np.minimum(pos, len(cells) - 1)
        hit = np.flatnonzero(cells[pos_c] == want)
        if len(hit):
            nb = pos_c[hit]
            a, b = _cross(starts[hit], counts[hit], starts[nb], counts[nb])
            pa.append(a)
            pb.append(b)
    if not pa:
        e = np.zeros(0, dtype=np.int64)
        return e, e
    return order[np.concatenate(pa)], order[np.concatenate(pb)]


def _cross(
    sa: np.ndarray, ca: np.ndarray, sb: np.ndarray, cb: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Every (a, b) with a in [sa, sa+ca) and b in [sb, sb+cb), for each row."""
    tot = ca * cb
    row = np.repeat(np.arange(len(sa)), tot)
    k = np.arange(int(tot.sum())) - np.repeat(np.cumsum(tot) - tot, tot)
    return sa[row] + k // cb[row], sb[row] + k % cb[row]
