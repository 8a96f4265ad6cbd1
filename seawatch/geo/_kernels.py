"""Numba kernels behind :func:`seawatch.geo.distance_to_shore_km` and anchorage inference.

Kept apart so that a reader sees the definitions in ``shore.py`` and ``anchorages.py`` first
and the speed trick second. Importing this module compiles nothing; each kernel compiles on
first call and is cached on disk. The geodesy (earth-centred vectors, chord -> arc,
haversine) is :mod:`seawatch.geo.geodesy`'s.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from seawatch.geo.geodesy import (
    chord_to_arc_km_scalar,
    ecef_km_scalar,
    haversine_km_scalar,
)


@numba.njit(cache=True, nogil=True)
def _seg_d2(px: float, py: float, pz: float, seg: np.ndarray, i: int) -> float:
    ax = seg[i, 0]
    ay = seg[i, 1]
    az = seg[i, 2]
    dx = seg[i, 3] - ax
    dy = seg[i, 4] - ay
    dz = seg[i, 5] - az
    wx = px - ax
    wy = py - ay
    wz = pz - az
    ll = dx * dx + dy * dy + dz * dz
    t = 0.0
    if ll > 0.0:
        t = (wx * dx + wy * dy + wz * dz) / ll
        t = min(max(t, 0.0), 1.0)
    ex = wx - t * dx
    ey = wy - t * dy
    ez = wz - t * dz
    return ex * ex + ey * ey + ez * ez


@numba.njit(cache=True, nogil=True, fastmath=False)
def nearest_segment_km(
    lat: np.ndarray,
    lon: np.ndarray,
    seg: np.ndarray,
    x0: float,
    y0: float,
    cell: float,
    nx: int,
    ny: int,
    offsets: np.ndarray,
    cands: np.ndarray,
    out: np.ndarray,
) -> None:
    """Distance (km) from each point to the nearest of its cell's candidate segments.

    ``seg`` is (n, 6): ECEF km of each segment's two ends. Points outside the grid or with
    NaN coordinates get NaN.
    """
    for k in range(lat.shape[0]):
        fy = (lat[k] - y0) / cell
        fx = (lon[k] - x0) / cell
        if not (fx >= 0.0 and fx < nx and fy >= 0.0 and fy < ny):
            out[k] = np.nan
            continue
        c = int(fy) * nx + int(fx)
        px, py, pz = ecef_km_scalar(lat[k], lon[k])
        best = np.inf
        for j in range(offsets[c], offsets[c + 1]):
            d2 = _seg_d2(px, py, pz, seg, cands[j])
            if d2 < best:
                best = d2
        out[k] = chord_to_arc_km_scalar(math.sqrt(best))


@numba.njit(cache=True, nogil=True)
def stationary_periods(
    vessel: np.ndarray,
    ts_s: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    moving: np.ndarray,
    max_distance_km: float,
    min_duration_s: float,
    period: np.ndarray,
) -> int:
    """Label the positions of stationary periods (GFW pipe-anchorages ``split_on_movement``).

    Positions must be sorted by vessel then time. A period starts at a position and takes
    every following position of the same vessel that stays within ``max_distance_km`` of
    that first position (and is not ``moving``); when one leaves, the period is stationary
    if it lasted more than ``min_duration_s``. ``period`` receives the 0-based period id of
    each position in a stationary period and -1 elsewhere. Returns the number of periods.
    """
    n = lat.shape[0]
    count = 0
    start = 0
    for k in range(n + 1):
        close = False
        if k < n and k > start and vessel[k] == vessel[start] and not (moving[k] or moving[start]):
            d = haversine_km_scalar(lat[start], lon[start], lat[k], lon[k])
            close = d <= max_distance_km
        if k < n and (k == start or close):
            continue
        # positions start..k-1 form a run; close it
        if k > start and not moving[start] and ts_s[k - 1] - ts_s[start] > min_duration_s:
            for j in range(start, k):
                period[j] = count
            count += 1
        else:
            for j in range(start, k):
                period[j] = -1
        start = k
    return count


@numba.njit(cache=True, nogil=True)
def refine_candidates(
    seg: np.ndarray,
    x0: float,
    y0: float,
    cell: float,
    nx: int,
    ny: int,
    ratio: int,
    pnx: int,
    poffsets: np.ndarray,
    pcands: np.ndarray,
    half_diag_km: float,
    max_ub_km: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Exact candidate segments of every cell of a grid, from those of a coarser grid.

    Cell (iy, ix) lies in parent cell (iy // ratio, ix // ratio), whose list holds every
    segment that can be nearest to some point of the parent. With ``d`` the distance from
    the cell centre to its nearest segment, a segment can be nearest to a point of the cell
    only if it is within ``d + 2 * half_diag_km`` of the centre; those are kept. Cells whose
    ``d`` exceeds ``max_ub_km`` get an empty list. Returns (offsets, cands, d_chord,
    nearest) where ``nearest`` is the nearest segment of each cell centre.
    """
    n = nx * ny
    dmin = np.empty(n)
    arg = np.empty(n, dtype=np.int64)
    counts = np.zeros(n + 1, dtype=np.int64)
    for pass_ in range(2):
        if pass_ == 1:
            for c in range(n):
                counts[c + 1] += counts[c]
            cands = np.empty(counts[n], dtype=np.int32)
        for iy in range(ny):
            for ix in range(nx):
                c = iy * nx + ix
                p = (iy // ratio) * pnx + ix // ratio
                px, py, pz = ecef_km_scalar(y0 + (iy + 0.5) * cell, x0 + (ix + 0.5) * cell)
                if pass_ == 0:
                    best = np.inf
                    bi = -1
                    for j in range(poffsets[p], poffsets[p + 1]):
                        d2 = _seg_d2(px, py, pz, seg, pcands[j])
                        if d2 < best:
                            best = d2
                            bi = pcands[j]
                    dmin[c] = math.sqrt(best)
                    arg[c] = bi
                if dmin[c] > max_ub_km:
                    continue
                lim = dmin[c] + 2.0 * half_diag_km
                lim2 = lim * lim
                k = counts[c]
                for j in range(poffsets[p], poffsets[p + 1]):
                    if _seg_d2(px, py, pz, seg, pcands[j]) <= lim2:
                        if pass_ == 0:
                            counts[c + 1] += 1
                        else:
                            cands[k] = pcands[j]
                            k += 1
    return counts, cands, dmin, arg


@numba.njit(cache=True, nogil=True)
def nearest_on_nodes(
    seg: np.ndarray,
    x0: float,
    y0: float,
    cell: float,
    nx: int,
    ny: int,
    ratio: int,
    pnx: int,
    poffsets: np.ndarray,
    pcands: np.ndarray,
) -> np.ndarray:
    """Nearest segment of every grid node (cell corner), (ny + 1, nx + 1).

    Node (iy, ix) is a corner of cell (min(iy, ny - 1), min(ix, nx - 1)), so that cell's
    parent list holds its nearest segment.
    """
    out = np.empty((ny + 1, nx + 1), dtype=np.int64)
    for iy in range(ny + 1):
        for ix in range(nx + 1):
            p = (min(iy, ny - 1) // ratio) * pnx + min(ix, nx - 1) // ratio
            px, py, pz = ecef_km_scalar(y0 + iy * cell, x0 + ix * cell)
            best = np.inf
            bi = -1
            for j in range(poffsets[p], poffsets[p + 1]):
                d2 = _seg_d2(px, py, pz, seg, pcands[j])
                if d2 < best:
                    best = d2
                    bi = pcands[j]
            out[iy, ix] = bi
    return out


@numba.njit(cache=True, nogil=True)
def merge_candidates(
    near_offsets: np.ndarray,
    near_cands: np.ndarray,
    is_near: np.ndarray,
    centre_seg: np.ndarray,
    nodes: np.ndarray,
    prev: np.ndarray,
    nxt: np.ndarray,
    along: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Final candidate lists: the exact list of near cells; for far cells the nearest
    segments of the centres of the 3 x 3 neighbouring cells and of their 16 corners, each
    with ``along`` neighbours both ways along the coast (deduplicated)."""
    ny, nx = centre_seg.shape
    n = nx * ny
    counts = np.zeros(n + 1, dtype=np.int64)
    buf = np.empty(25 * (2 * along + 1), dtype=np.int64)
    cands = np.empty(0, dtype=np.int32)
    for pass_ in range(2):
        seen = np.full(prev.shape[0], -1, dtype=np.int64)
        if pass_ == 1:
            for c in range(n):
                counts[c + 1] += counts[c]
            cands = np.empty(counts[n], dtype=np.int32)
        for iy in range(ny):
            for ix in range(nx):
                c = iy * nx + ix
                if is_near[c]:
                    a = near_offsets[c]
                    b = near_offsets[c + 1]
                    if pass_ == 0:
                        counts[c + 1] = b - a
                    else:
                        k0 = counts[c]
                        for j in range(a, b):
                            cands[k0 + j - a] = near_cands[j]
                    continue
                m = 0
                for dy in range(-1, 2):
                    for dx in range(-1, 2):
                        jy = min(max(iy + dy, 0), ny - 1)
                        jx = min(max(ix + dx, 0), nx - 1)
                        buf[m] = centre_seg[jy, jx]
                        m += 1
                for dy in range(-1, 3):
                    for dx in range(-1, 3):
                        jy = min(max(iy + dy, 0), ny)
                        jx = min(max(ix + dx, 0), nx)
                        buf[m] = nodes[jy, jx]
                        m += 1
                base = m
                for q in range(base):
                    s = buf[q]
                    t = s
                    for _ in range(along):
                        if t >= 0:
                            t = prev[t]
                        buf[m] = t
                        m += 1
                    t = s
                    for _ in range(along):
                        if t >= 0:
                            t = nxt[t]
                        buf[m] = t
                        m += 1
                k = counts[c]
                cnt = 0
                for q in range(m):
                    v = buf[q]
                    if v >= 0 and seen[v] != c:
                        seen[v] = c
                        if pass_ == 1:
                            cands[k + cnt] = v
                        cnt += 1
                if pass_ == 0:
                    counts[c + 1] = cnt
    return counts, cands
