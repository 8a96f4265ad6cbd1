"""Numba kernel behind :func:`seawatch.tracks.segment`: sequential segment assignment.

Kept apart so that a reader sees the definition in ``segment.py`` first and the speed trick
second. Importing this module compiles nothing; the kernel compiles on first call and is
cached on disk.

The kernel walks the whole table once, sorted by (mmsi, ts), and keeps for the current MMSI a
small set of open segments (their last positions). Its state is reset whenever the MMSI
changes, so the result for one vessel never depends on another vessel's rows: the kernel is
a pure function of the rows of each MMSI and runs unchanged on any partition by vessel.

Distances between positions are :mod:`seawatch.geo.geodesy`'s chord -> arc on WGS84
earth-centred vectors; velocities from reported course and speed, and dead reckoning, are
east/north kilometres on the mean sphere (:data:`~seawatch.geo.geodesy.KM_PER_DEG`).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from seawatch.geo.geodesy import KM_PER_DEG, NM_KM, ecef_distance_km_scalar, lon_delta_scalar

US_PER_H = 3_600_000_000.0


@numba.njit(cache=True, nogil=True)
def _velocity(sog: float, cog: float, max_sog: float, slow: float) -> tuple[float, float, bool]:
    """East/north velocity (km/h) from a reported speed and course, and whether it is known."""
    if math.isnan(sog) or sog > max_sog or sog < 0.0:
        return 0.0, 0.0, False
    if sog <= slow:
        return 0.0, 0.0, True
    if math.isnan(cog) or cog < 0.0 or cog >= 360.0:
        return 0.0, 0.0, False
    v = sog * NM_KM
    a = math.radians(cog)
    return v * math.sin(a), v * math.cos(a), True


# fields of the open-segment state table (one row per open segment of the current MMSI)
_ID, _LAST, _N, _KLASS, _RIVAL, _BRANCH, _RIVAL_LAST = 0, 1, 2, 3, 4, 5, 6
_NF = 7


@numba.njit(cache=True, nogil=True)
def assign_segments(
    mmsi: np.ndarray,
    t_us: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    sog: np.ndarray,
    cog: np.ndarray,
    klass: np.ndarray,
    max_speed_kn: float,
    noise_km: float,
    max_gap_h: float,
    max_open: int,
    penalty_speed_kn: float,
    buffer_h: float,
    short_n: int,
    mismatch_weight: float,
    slow_kn: float,
    lookback: int,
) -> np.ndarray:
    """Segment number (0-based per MMSI, in order of first position) of every row.

    Rows must be sorted by (mmsi, ts). ``x, y, z`` are the WGS84 earth-centred coordinates
    (km) of each position, ``sog``/``cog`` NaN when unknown, ``klass`` the transponder class
    (1: class A, 2: class B, 0: either/unknown).

    A position may join an open segment when it *fits* the segment's last position: the
    distance is at most ``noise_km`` or the implied speed at most ``max_speed_kn``, and the
    time since that position at most ``max_gap_h``. Among the segments it fits it joins the
    one with the highest log score (gpsdio-segment's metric)::

        log exp(-alpha**2) / padded_h  +  0.5 log min(1, n / short_n)  [+ log mismatch_weight]
        padded_h = hypot(dt_h, buffer_h)
        alpha    = discrepancy_km / (padded_h * penalty_speed_kn * 1.852)

    where the discrepancy is the distance between the observed position and the one dead
    reckoned from the segment's last position with the mean of the two reported velocities
    (the segment's own implied velocity when none is reported), ``n`` the segment's length
    and the mismatch term applies when the transponder classes (A / B) differ. A position
    that fits no open segment opens a new one; at most ``max_open`` segments stay open per
    MMSI (the least recently extended is closed first).

    Look-back (gpsdio-segment's ``lookback``): a position that fits no open segment's last
    position, but fits one of the ``lookback`` positions before it and continues that
    position better (smaller ``alpha``) than the position that followed it did, opens a new
    segment marked as a *rival* branch of that segment. Either the rival's position or the
    positions after the branch point are bad (a stale or wrong report that happened to be
    reachable); the next position decides. If it joins the rival, the positions after the
    branch point move to a closed segment of their own and the rival becomes the
    continuation of the track; if it joins the original segment, the rival stays a segment
    of its own.

    Segment numbers are finally renumbered per MMSI in order of each segment's first row.
    """
    n = mmsi.shape[0]
    seg = np.empty(n, dtype=np.int64)
    back = np.empty(n, dtype=np.int64)  # previous row of the same segment, -1 at its start
    max_gap_us = max_gap_h * US_PER_H
    max_km_h = max_speed_kn * NM_KM
    pen_km_h = penalty_speed_kn * NM_KM
    max_sog = 2.0 * max_speed_kn
    log_mismatch = math.log(mismatch_weight) if mismatch_weight > 0.0 else 0.0
    scale = np.array([max_sog, slow_kn, pen_km_h, buffer_h])
    st = np.empty((max_open, _NF), dtype=np.int64)
    n_open = 0
    next_id = 0
    cur = np.int64(0)
    start = 0
    for i in range(n):
        if i == 0 or mmsi[i] != cur:
            if i > 0:
                _renumber(seg, start, i, next_id)
            cur = mmsi[i]
            start = i
            n_open = 0
            next_id = 0
        # close segments silent for longer than max_gap_h
        s = 0
        while s < n_open:
            if t_us[i] - t_us[st[s, _LAST]] > max_gap_us:
                n_open = _drop(st, s, n_open)
            else:
                s += 1
        best = -1
        best_score = -math.inf
        for s in range(n_open):
            j = st[s, _LAST]
            d = ecef_distance_km_scalar(x[j], y[j], z[j], x[i], y[i], z[i])
            dt_h = (t_us[i] - t_us[j]) / US_PER_H
            if d > noise_km and d > max_km_h * dt_h:
                continue
            mismatch = klass[i] != 0 and st[s, _KLASS] != 0 and klass[i] != st[s, _KLASS]
            if mismatch and mismatch_weight <= 0.0:
                continue
            alpha, pad = _alpha(j, i, back, t_us, lat, lon, sog, cog, scale)
            score = -alpha * alpha - math.log(pad)
            if st[s, _N] < short_n:
                score += 0.5 * math.log(st[s, _N] / short_n)
            if mismatch:
                score += log_mismatch
            if score > best_score:
                best_score = score
                best = s
        if best >= 0:
            if st[best, _RIVAL] >= 0:
                # the rival branch is confirmed: it replaces the positions after the branch
                next_id = _resolve(st, best, n_open, seg, back, next_id)
                if st[best, _RIVAL] == -2:  # merged into the original segment
                    target = _find(st, n_open, seg[st[best, _LAST]])
                    n_open = _drop(st, best, n_open)
                    if target > best and target == n_open:
                        target = best  # _drop moved it
                    best = target
            else:
                # the original continues: its rivals are ordinary segments from now on
                for s in range(n_open):
                    if st[s, _RIVAL] == st[best, _ID]:
                        st[s, _RIVAL] = -1
            seg[i] = st[best, _ID]
            back[i] = st[best, _LAST]
            st[best, _LAST] = i
            st[best, _N] += 1
            if klass[i] != 0:
                st[best, _KLASS] = klass[i]
            continue
        # look back: does the position fit an earlier position of an open segment?
        rival = -1
        branch = -1
        best_dt = math.inf
        if lookback > 0:
            for s in range(n_open):
                if st[s, _RIVAL] >= 0:
                    continue
                nxt = st[s, _LAST]
                j = back[nxt]
                m = 1
                while j >= 0 and m <= lookback and t_us[i] - t_us[j] <= max_gap_us:
                    d = ecef_distance_km_scalar(x[j], y[j], z[j], x[i], y[i], z[i])
                    dt_h = (t_us[i] - t_us[j]) / US_PER_H
                    if d <= noise_km or d <= max_km_h * dt_h:
                        # the position must continue j better than j's successor did
                        a_new, _ = _alpha(j, i, back, t_us, lat, lon, sog, cog, scale)
                        a_old, _ = _alpha(j, nxt, back, t_us, lat, lon, sog, cog, scale)
                        if a_new < a_old and dt_h < best_dt:
                            best_dt = dt_h
                            rival = s
                            branch = j
                        break
                    nxt = j
                    j = back[j]
                    m += 1
        # open a new segment, closing the least recently extended one when full
        if n_open == max_open:
            oldest = 0
            for s in range(1, n_open):
                if t_us[st[s, _LAST]] < t_us[st[oldest, _LAST]]:
                    oldest = s
            if rival >= 0 and oldest == rival:
                rival = -1
            n_open = _drop(st, oldest, n_open)
            if rival == n_open:
                rival = oldest
        st[n_open, _ID] = next_id
        st[n_open, _LAST] = i
        st[n_open, _N] = 1
        st[n_open, _KLASS] = klass[i]
        st[n_open, _RIVAL] = -1
        if rival >= 0:
            st[n_open, _RIVAL] = st[rival, _ID]
            st[n_open, _BRANCH] = branch
            st[n_open, _RIVAL_LAST] = st[rival, _LAST]
        n_open += 1
        seg[i] = next_id
        back[i] = -1
        next_id += 1
    if n > 0:
        _renumber(seg, start, n, next_id)
    return seg


@numba.njit(cache=True, nogil=True)
def _alpha(
    j: int,
    i: int,
    back: np.ndarray,
    t_us: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    sog: np.ndarray,
    cog: np.ndarray,
    scale: np.ndarray,
) -> tuple[float, float]:
    """Normalised discrepancy ``alpha`` of position ``i`` continuing from position ``j``, and
    the padded hours. ``scale`` = (max usable sog, slow kn, penalty km/h, buffer h)."""
    max_sog, slow_kn, pen_km_h, buffer_h = scale[0], scale[1], scale[2], scale[3]
    dt_h = (t_us[i] - t_us[j]) / US_PER_H
    vj_e, vj_n, vj_known = _velocity(sog[j], cog[j], max_sog, slow_kn)
    p = back[j]
    if not vj_known and p >= 0 and t_us[j] > t_us[p]:
        # no reported velocity: the segment's own implied velocity at j
        dth = (t_us[j] - t_us[p]) / US_PER_H
        vj_e = lon_delta_scalar(lon[p], lon[j]) * KM_PER_DEG * math.cos(math.radians(lat[j])) / dth
        vj_n = (lat[j] - lat[p]) * KM_PER_DEG / dth
    vi_e, vi_n, vi_known = _velocity(sog[i], cog[i], max_sog, slow_kn)
    if vi_known:
        ve = 0.5 * (vj_e + vi_e)
        vn = 0.5 * (vj_n + vi_n)
    else:
        ve = vj_e
        vn = vj_n
    # observed displacement east/north (km), antimeridian-safe, minus the dead reckoning
    cm = math.cos(math.radians(0.5 * (lat[i] + lat[j])))
    oe = lon_delta_scalar(lon[j], lon[i]) * KM_PER_DEG * cm
    on = (lat[i] - lat[j]) * KM_PER_DEG
    disc = math.hypot(oe - ve * dt_h, on - vn * dt_h)
    pad = math.hypot(dt_h, buffer_h)
    return disc / (pad * pen_km_h), pad


@numba.njit(cache=True, nogil=True)
def _drop(st: np.ndarray, s: int, n_open: int) -> int:
    """Close open segment ``s`` (the last slot moves into its place); new count."""
    n_open -= 1
    for f in range(st.shape[1]):
        st[s, f] = st[n_open, f]
    return n_open


@numba.njit(cache=True, nogil=True)
def _find(st: np.ndarray, n_open: int, seg_id: int) -> int:
    for s in range(n_open):
        if st[s, _ID] == seg_id:
            return s
    return -1


@numba.njit(cache=True, nogil=True)
def _resolve(
    st: np.ndarray, r: int, n_open: int, seg: np.ndarray, back: np.ndarray, next_id: int
) -> int:
    """Rival ``r`` is confirmed. When its original is still as it was at the branch, move the
    positions after the branch point to a closed segment and relabel the rival's positions
    as the original's (``st[r, _RIVAL]`` becomes -2); otherwise the rival just stands alone
    (-1). Returns the next free segment number."""
    o = _find(st, n_open, st[r, _RIVAL])
    if o < 0 or st[o, _LAST] != st[r, _RIVAL_LAST]:
        st[r, _RIVAL] = -1
        return next_id
    branch = st[r, _BRANCH]
    # detach the original's positions after the branch point
    j = st[o, _LAST]
    first = j
    count = 0
    while j != branch:
        seg[j] = next_id
        first = j
        count += 1
        j = back[j]
    back[first] = -1
    next_id += 1
    # relabel the rival's positions as the original's, hanging them on the branch point
    j = st[r, _LAST]
    first = j
    while j >= 0:
        seg[j] = st[o, _ID]
        first = j
        j = back[j]
    back[first] = branch
    st[o, _LAST] = st[r, _LAST]
    st[o, _N] = st[o, _N] - count + st[r, _N]
    st[o, _KLASS] = st[r, _KLASS]
    st[r, _RIVAL] = -2
    return next_id


@numba.njit(cache=True, nogil=True)
def _renumber(seg: np.ndarray, start: int, stop: int, n_ids: int) -> None:
    """Renumber ``seg[start:stop]`` 0, 1, ... in order of each segment's first row."""
    new = np.full(n_ids, -1, dtype=np.int64)
    k = 0
    for i in range(start, stop):
        s = seg[i]
        if new[s] < 0:
            new[s] = k
            k += 1
        seg[i] = new[s]
