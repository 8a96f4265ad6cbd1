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

import tempfile
from collections.abc import Iterator
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from seawatch.detect.events import details_json, empty_events, to_events
from seawatch.tracks.resample import (
    DEFAULT_GRID,
    DEFAULT_MAX_GAP,
    Samples,
    chord_to_arc_m,
    ecef_m,
    resample_samples,
)
from seawatch.units import duration_us

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.geo.portlist import PortIndex

__all__ = ["close_pairs", "detect_encounters", "encounters_from_samples"]

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
    s = resample_samples(positions, grid=grid, max_gap=max_gap)
    return encounters_from_samples(
        s,
        ports=ports,
        max_distance_m=max_distance_m,
        min_duration=min_duration,
        max_median_speed_kn=max_median_speed_kn,
        min_port_distance_km=min_port_distance_km,
        merge_gap=merge_gap,
    )


def encounters_from_samples(
    s: Samples,
    *,
    ports: pl.DataFrame | None = None,
    max_distance_m: float = MAX_DISTANCE_M,
    min_duration: str | timedelta = MIN_DURATION,
    max_median_speed_kn: float = MAX_MEDIAN_SPEED_KN,
    min_port_distance_km: float = MIN_PORT_DISTANCE_KM,
    merge_gap: str | timedelta = MERGE_GAP,
) -> pl.DataFrame:
    """Encounter events of resampled tracks: the pairing half of :func:`detect_encounters`.

    ``detect_encounters(positions, grid=g, max_gap=m, **rest)`` is
    ``encounters_from_samples(resample_samples(positions, grid=g, max_gap=m), **rest)``.
    Resampling is per track, so a caller holding the vessels in parts (disjoint MMSIs) may
    resample each part, join them with :func:`seawatch.tracks.resample.concat_samples` and
    pair them here, with the same result as on the whole table; only the samples (about
    one per track per grid step) need to be held at once, not the positions.

    Parameters
    ----------
    s : Samples
        Resampled tracks (:func:`seawatch.tracks.resample.resample_samples`); the grid is
        theirs.
    ports, max_distance_m, min_duration, max_median_speed_kn, min_port_distance_km, merge_gap
        As :func:`detect_encounters`.

    Returns
    -------
    polars.DataFrame
        As :func:`detect_encounters`.
    """
    g = s.grid_us
    min_steps_us = duration_us(min_duration)
    merge_us = duration_us(merge_gap)
    from seawatch.geo import port_index

    port_idx = None if ports is not None and ports.height == 0 else port_index(ports)
    max_m = max_distance_m + DISTANCE_TOLERANCE_M
    x, y, z = ecef_m(s.lat, s.lon)
    moored = _moored(s, x, y, z, port_idx, 0.95 * min_port_distance_km - max_m / 1000.0)
    found = []
    for ia, ib, dist in _pairs_by_vessel(s, x, y, z, max_m, skip=moored):
        part = _merge_pieces(
            s,
            ia,
            ib,
            dist,
            merge_us=merge_us,
            min_duration_us=min_steps_us,
            max_median_speed_kn=max_median_speed_kn,
            min_port_distance_km=min_port_distance_km,
            ports=port_idx,
        )
        if part.height:
            found.append(part)
    if not found:
        return empty_events()
    enc = pl.concat(found)
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
    ports: PortIndex | None,
) -> pl.DataFrame:
    """Merge close samples into encounters per MMSI pair, measure them and keep those that
    meet the definition.

    ``ia``/``ib`` are sample indices of each close pair (``mmsi[ia] < mmsi[ib]``), every pair
    of samples of the MMSI pairs present (in any order: they are sorted here into one order,
    by MMSI pair, grid step, then sample, so the sums are the same whatever the order). The
    cheap conditions (duration, then distance from port) are applied before the medians, so
    the cost of the medians follows the encounters, not every close sample. ``ports``: an
    index over the ports, or None when there are none.
    """
    order = np.lexsort((ib, ia, s.step[ia], s.mmsi[ib], s.mmsi[ia]))
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


def _port_distance_km(lat: np.ndarray, lon: np.ndarray, ports: PortIndex | None) -> np.ndarray:
    if ports is None:
        return np.full(len(lat), np.inf)
    dist, _ = ports.nearest(lat, lon)
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
    if n < 2:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    x, y, z = ecef_m(s.lat, s.lon)
    return _close_pairs_of(s, x, y, z, np.arange(n), max_m)


def _distance_m(
    x: np.ndarray, y: np.ndarray, z: np.ndarray, i: np.ndarray, j: np.ndarray
) -> np.ndarray:
    """Surface distance (m) between samples ``i`` and ``j`` (the same bits either way round)."""
    chord = np.sqrt((x[i] - x[j]) ** 2 + (y[i] - y[j]) ** 2 + (z[i] - z[j]) ** 2)
    return chord_to_arc_m(chord)


def _close_pairs_of(
    s: Samples, x: np.ndarray, y: np.ndarray, z: np.ndarray, sel: np.ndarray, max_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`close_pairs` among the samples ``sel`` (indices into ``s``; ``x, y, z`` their
    ECEF metres), as indices into ``s``. Complete for the steps whose samples are all in
    ``sel``."""
    empty = np.zeros(0, dtype=np.int64)
    if len(sel) < 2:
        return empty, empty, np.zeros(0)
    cell = float(max_m)
    cx = np.floor(x[sel] / cell).astype(np.int64)
    cy = np.floor(y[sel] / cell).astype(np.int64)
    cz = np.floor(z[sel] / cell).astype(np.int64)
    cx -= cx.min() - 1
    cy -= cy.min() - 1
    cz -= cz.min() - 1
    rx, ry, rz = int(cx.max()) + 2, int(cy.max()) + 2, int(cz.max()) + 2
    space = rx * ry * rz
    if space >= 2**62:
        raise ValueError(
            f"a distance of {max_m} m is too small for samples spread this far: the grid of "
            f"{max_m} m cubes has {space:.3g} cells (at most 2**62)"
        )
    step = s.step[sel] - s.step[sel].min()
    # pack (step, cx, cy, cz) into one int64 key; split the time range if it does not fit
    per_chunk = max(1, (2**62) // space)
    out_i: list[np.ndarray] = []
    out_j: list[np.ndarray] = []
    for lo in range(0, int(step.max()) + 1, per_chunk):
        part = np.flatnonzero((step >= lo) & (step < lo + per_chunk))
        if len(part) < 2:
            continue
        key = (((step[part] - lo) * rx + cx[part]) * ry + cy[part]) * rz + cz[part]
        i, j = _bucket_pairs(key, [(dx * ry + dy) * rz + dz for dx, dy, dz in _FORWARD])
        out_i.append(sel[part[i]])
        out_j.append(sel[part[j]])
    if not out_i:
        return empty, empty, np.zeros(0)
    i = np.concatenate(out_i)
    j = np.concatenate(out_j)
    other = s.track[i] != s.track[j]
    i, j = i[other], j[other]
    d = _distance_m(x, y, z, i, j)
    ok = d <= max_m
    return i[ok], j[ok], d[ok]


WINDOW_SAMPLES = 250_000
"""Samples of the grid steps whose close pairs are found at once (whole steps)."""
BUCKET_SAMPLES = 50_000
"""Samples of the vessels of one bucket of close pairs (by the lower MMSI of a pair)."""
MERGE_PAIRS = 3_000_000
"""Close pairs merged into encounters at once (whole buckets; about 180 bytes each)."""
MEMORY_PAIRS = 8_000_000
"""Close pairs held in memory (8 bytes each) before they are written to a temporary file."""


def _moored(
    s: Samples,
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    ports: PortIndex | None,
    radius_km: float,
) -> np.ndarray | None:
    """Samples of the vessels that never leave ``radius_km`` of one port point.

    Such a vessel can be in no encounter: every close sample of a pair with it lies within
    ``radius_km`` plus the pair distance of that point, so the mean position does too (the
    mean of unit vectors stays in any cap smaller than a hemisphere), nearer the port than
    ``0.95 * min_port_distance_km`` (the 5 % covers the difference between the sphere of the
    mean and the WGS84 distances, about 1 %). Leaving them out of the pairing changes no
    event, and saves the pairs of vessels crowded in port, which grow with the square of
    their number. None when there is no port or the radius is not positive.
    """
    n = len(s)
    if ports is None or ports.ports.height == 0 or radius_km <= 0 or n == 0:
        return None
    first = np.flatnonzero(np.r_[True, s.mmsi[1:] != s.mmsi[:-1]])
    size = np.diff(np.r_[first, n])
    _, near = ports.nearest(s.lat[first], s.lon[first])
    lat = ports.ports["lat"].cast(pl.Float64).to_numpy()[near]
    lon = ports.ports["lon"].cast(pl.Float64).to_numpy()[near]
    px, py, pz = (np.repeat(c, size) for c in ecef_m(lat, lon))
    chord = np.sqrt((x - px) ** 2 + (y - py) ** 2 + (z - pz) ** 2)
    del px, py, pz
    far = np.maximum.reduceat(np.where(np.isnan(chord), np.inf, chord), first)
    return np.repeat(far <= radius_km * 1000.0, size)


def _pairs_by_vessel(
    s: Samples,
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    max_m: float,
    skip: np.ndarray | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Every close pair of samples of two MMSIs (``mmsi[ia] < mmsi[ib]``) with its distance,
    in batches that each hold all pairs of the MMSI pairs they hold.

    Memory stays bounded when the pairs are many (vessels crowded in a port pair with each
    other at every grid step: the pairs grow with the square of the vessels there): the
    pairs are found a few grid steps at a time (:data:`WINDOW_SAMPLES`), filed by the lower
    MMSI into buckets of vessels (:data:`BUCKET_SAMPLES`) as 8 bytes each, in memory up to
    :data:`MEMORY_PAIRS` and in a temporary file beyond, and given back a few buckets at a
    time (:data:`MERGE_PAIRS`). The batching changes no pair and no distance. ``x, y, z``:
    the samples' ECEF metres; ``skip``: samples left out.
    """
    n = len(s)
    if n < 2:
        return
    # samples are sorted by track, so by MMSI: vessel numbers and their buckets
    first = np.flatnonzero(np.r_[True, s.mmsi[1:] != s.mmsi[:-1]])
    vessel = np.repeat(np.arange(len(first)), np.diff(np.r_[first, n]))
    buckets = max(1, -(-n // BUCKET_SAMPLES))
    bucket_of_vessel = np.minimum(first * buckets // n, buckets - 1)
    del first
    # windows of whole grid steps
    by_step = np.argsort(s.step, kind="stable")
    if skip is not None:
        by_step = by_step[~skip[by_step]]
    steps = s.step[by_step]
    step_start = np.flatnonzero(np.r_[True, steps[1:] != steps[:-1]])
    del steps
    window = step_start // WINDOW_SAMPLES
    cut = step_start[np.flatnonzero(np.r_[True, window[1:] != window[:-1]])]
    bounds = np.r_[cut, len(by_step)]
    with _PairFile(buckets, np.int32 if n < 2**31 else np.int64) as pairs:
        for lo, hi in pairwise(bounds.tolist()):
            i, j, _ = _close_pairs_of(s, x, y, z, by_step[lo:hi], max_m)
            keep = s.mmsi[i] != s.mmsi[j]
            i, j = i[keep], j[keep]
            swap = s.mmsi[i] > s.mmsi[j]
            a, b = np.where(swap, j, i), np.where(swap, i, j)
            pairs.add(bucket_of_vessel[vessel[a]], a, b)
        del by_step, vessel
        for k0, k1 in pairs.batches(MERGE_PAIRS):
            a, b = pairs.read(k0, k1)
            if len(a):
                yield a, b, _distance_m(x, y, z, a, b)


class _PairFile:
    """Pairs of sample indices filed by bucket, in memory and, past :data:`MEMORY_PAIRS`, in
    a temporary directory (removed on exit)."""

    def __init__(self, buckets: int, dtype: type) -> None:
        self.dtype = np.dtype(dtype)
        self.held: list[list[np.ndarray]] = [[] for _ in range(buckets)]
        self.counts = np.zeros(buckets, dtype=np.int64)
        self.in_memory = 0
        self.tmp: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> _PairFile:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.tmp is not None:
            self.tmp.cleanup()

    def add(self, bucket: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
        if len(a) == 0:
            return
        order = np.argsort(bucket, kind="stable")
        rows = np.stack([a[order], b[order]], axis=1).astype(self.dtype)
        found, start = np.unique(bucket[order], return_index=True)
        for k, lo, hi in zip(found, start, np.r_[start[1:], len(a)], strict=True):
            self.held[k].append(rows[lo:hi])
            self.counts[k] += hi - lo
        self.in_memory += len(a)
        if self.in_memory > MEMORY_PAIRS:
            self._spill()

    def _path(self, k: int) -> Path:
        assert self.tmp is not None
        return Path(self.tmp.name) / f"{k}.bin"

    def _spill(self) -> None:
        if self.tmp is None:
            self.tmp = tempfile.TemporaryDirectory(prefix="seawatch-pairs-")
        for k, parts in enumerate(self.held):
            if parts:
                with self._path(k).open("ab") as fh:
                    for part in parts:
                        part.tofile(fh)
                parts.clear()
        self.in_memory = 0

    def batches(self, most: int) -> list[tuple[int, int]]:
        """Runs of buckets ``[k0, k1)`` holding at most ``most`` pairs (or one bucket)."""
        out: list[tuple[int, int]] = []
        k0, held = 0, 0
        for k, count in enumerate(self.counts.tolist()):
            if k > k0 and held + count > most:
                out.append((k0, k))
                k0, held = k, 0
            held += count
        out.append((k0, len(self.counts)))
        return out

    def read(self, k0: int, k1: int) -> tuple[np.ndarray, np.ndarray]:
        parts: list[np.ndarray] = []
        for k in range(k0, k1):
            if self.tmp is not None and self._path(k).exists():
                parts.append(np.fromfile(self._path(k), dtype=self.dtype).reshape(-1, 2))
                self._path(k).unlink()
            parts.extend(self.held[k])
            self.held[k] = []
        if not parts:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        rows = np.concatenate(parts)
        return rows[:, 0].astype(np.int64), rows[:, 1].astype(np.int64)


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
