"""Encounter truth: pairs of tracks within 500 m on the 10-minute grid, both slow, far from
ports, for 2 h or more (the slow part of a longer run within 500 m, when it alone is); the
pairs are listed in batches of bounded size."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numba as nb
import numpy as np
import polars as pl

from seawatch.geo.geodesy import haversine_km
from seawatch.sim.truth.events import Track, empty_raw, raw_events

ENCOUNTER_DISTANCE_M = 500.0
ENCOUNTER_MIN_S = 2 * 3600
ENCOUNTER_MAX_SPEED_KN = 2.0
ENCOUNTER_PORT_KM = 10.0
GRID_S = 600
MAX_INTERP_S = 3600
MERGE_S = 4 * 3600
MAX_FAST_INSIDE_S = 3600
_CELL_DEG = 0.0047  # >= 500 m in latitude and (|lat| < 15) longitude


_SAMPLES = {"k": pl.Int64, "track": pl.Int64, "lat": pl.Float64, "lon": pl.Float64,
            "sog": pl.Float64}


def grid_samples(p: Track, start_s: int) -> pl.DataFrame:
    """Tracks resampled to the 10-minute UTC grid (k = seconds since 1970 / 600): positions
    and ``sog`` interpolated between consecutive positions less than 1 h apart, and taken
    as they are at a position exactly on the grid."""
    if not p.n:
        return pl.DataFrame(schema=_SAMPLES)
    T = p.t + start_s
    same = p.track[1:] == p.track[:-1]
    dt = T[1:] - T[:-1]
    pair = np.flatnonzero(same & (dt < MAX_INTERP_S) & (dt > 0))
    k0 = -(-T[pair] // GRID_S)
    k1 = T[pair + 1] // GRID_S
    n = np.maximum(k1 - k0 + 1, 0)
    rep = np.repeat(pair, n)
    j = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    k = np.repeat(k0, n) + j
    f = (k * GRID_S - T[rep]) / (T[rep + 1] - T[rep])

    def lerp(v: np.ndarray) -> np.ndarray:
        out: np.ndarray = v[rep] + f * (v[rep + 1] - v[rep])
        return out

    on_grid = np.flatnonzero(T % GRID_S == 0)
    frame = pl.DataFrame({
        "k": np.r_[k, T[on_grid] // GRID_S].astype(np.int64),
        "track": np.r_[p.track[rep], p.track[on_grid]].astype(np.int64),
        "lat": np.r_[lerp(p.lat), p.lat[on_grid]], "lon": np.r_[lerp(p.lon), p.lon[on_grid]],
        "sog": np.r_[lerp(p.sog), p.sog[on_grid]],
    })
    return frame.unique(["track", "k"], keep="first", maintain_order=True)


_PIECES = pl.Schema({"track": pl.Int64, "other_track": pl.Int64, "k_start": pl.Int64,
                     "k_end": pl.Int64, "steps": pl.UInt32, "median_distance_m": pl.Float64,
                     "lat": pl.Float64, "lon": pl.Float64, "median_sog": pl.Float64,
                     "median_sog_other": pl.Float64, "run": pl.UInt32, "before": pl.Int64,
                     "after": pl.Int64, "kind": pl.String})
_HARMLESS_BOX_KM = 6.0
_HARMLESS_PORT_KM = 3.0


@nb.njit(cache=True)
def _cell_start(k: np.ndarray, cx: np.ndarray, cy: np.ndarray, lo: int, hi: int, kk: int,
                xx: int, yy: int) -> int:
    """First row in [lo, hi) whose (k, cx, cy) is not below (kk, xx, yy) (rows sorted)."""
    while lo < hi:
        m = (lo + hi) >> 1
        if k[m] < kk or (k[m] == kk and (cx[m] < xx or (cx[m] == xx and cy[m] < yy))):
            lo = m + 1
        else:
            hi = m
    return lo


@nb.njit(cache=True)
def _pair_candidates(k: np.ndarray, cx: np.ndarray, cy: np.ndarray, track: np.ndarray,
                     mmsi: np.ndarray, a: int, b: int, t0: int, t1: int, out_i: np.ndarray,
                     out_j: np.ndarray, count: np.ndarray) -> int:
    """Samples j of the same grid step in the 3 x 3 cells around each sample i in [a, b)
    whose track is in [t0, t1) (rows sorted by k, cx, cy), with ``track[i] < track[j]`` and
    other MMSIs. Counts them per i into ``count`` when ``out_i`` is empty, else writes the
    pairs (i, j) to ``out_i``, ``out_j``; returns how many."""
    fill = out_i.size > 0
    n_all = k.size
    w = 0
    for i in range(a, b):
        if track[i] < t0 or track[i] >= t1:
            continue
        n = 0
        for dx in range(-1, 2):
            r0 = _cell_start(k, cx, cy, 0, n_all, k[i], cx[i] + dx, cy[i] - 1)
            r1 = _cell_start(k, cx, cy, r0, n_all, k[i], cx[i] + dx, cy[i] + 2)
            for j in range(r0, r1):
                if track[i] < track[j] and mmsi[i] != mmsi[j]:
                    if fill:
                        out_i[w] = i
                        out_j[w] = j
                    w += 1
                    n += 1
        if not fill:
            count[i] = n
    return w


class GridIndex:
    """Grid samples sorted by (grid step, 500 m cell), for listing the pairs of samples of
    one step within 500 m in batches of bounded size: the pairs of a crowded anchorage grow
    with the square of its ships."""

    def __init__(self, samples: pl.DataFrame, mmsi: np.ndarray) -> None:
        k = samples["k"].to_numpy()
        cx = np.floor(samples["lon"].to_numpy() / _CELL_DEG).astype(np.int32)
        cy = np.floor(samples["lat"].to_numpy() / _CELL_DEG).astype(np.int32)
        order = np.lexsort((cy, cx, k))
        self.k = np.ascontiguousarray(k[order], np.int64)
        self.cx, self.cy = cx[order], cy[order]
        del k, cx, cy
        self.track = np.ascontiguousarray(samples["track"].to_numpy()[order], np.int64)
        self.mmsi = np.ascontiguousarray(mmsi[self.track], np.int64)
        self.lat = samples["lat"].to_numpy()[order]
        self.lon = samples["lon"].to_numpy()[order]
        self.sog = samples["sog"].to_numpy()[order]
        del order
        self.span = int(self.track.max()) + 1 if self.track.size else 1
        self.count = np.zeros(self.k.size, np.int64)  # candidate pairs of each sample
        none = np.empty(0, np.int64)
        _pair_candidates(self.k, self.cx, self.cy, self.track, self.mmsi, 0, self.k.size,
                         0, self.span, none, none, self.count)

    def partitions(self, max_candidates: int) -> list[tuple[int, int]]:
        """Ranges of (lower) tracks with about ``max_candidates`` candidate pairs each."""
        per_track = np.cumsum(np.bincount(self.track, weights=self.count, minlength=self.span))
        n = max(1, int(np.ceil(per_track[-1] / max(max_candidates, 1))))
        edges = np.searchsorted(per_track, per_track[-1] * np.arange(1, n) / n, side="right")
        edges = np.unique(np.r_[0, edges, self.span])
        return list(zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True))

    def close_pairs(self, max_rows: int, tracks: tuple[int, int]
                    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(i, j, distance m) of the pairs of samples of one grid step within 500 m
        (``track[i] < track[j]``, other MMSIs, ``track[i]`` in the range ``tracks``), about
        ``max_rows`` candidates at a time."""
        t0, t1 = tracks
        mine = (self.track >= t0) & (self.track < t1)
        cum = np.cumsum(np.where(mine, self.count, 0))
        del mine
        n = self.k.size
        a = 0
        while a < n:
            base = int(cum[a - 1]) if a else 0
            b = max(int(np.searchsorted(cum, base + max_rows, side="right")), a + 1)
            total = int(cum[b - 1]) - base
            if total:
                i = np.empty(total, np.int64)
                j = np.empty(total, np.int64)
                _pair_candidates(self.k, self.cx, self.cy, self.track, self.mmsi, a, b, t0,
                                 t1, i, j, self.count)
                d = haversine_km(self.lat[i], self.lon[i], self.lat[j], self.lon[j]) * 1000.0
                near = d < ENCOUNTER_DISTANCE_M
                yield i[near], j[near], d[near]
            a = b


_BOX_REDUCE = (np.minimum, np.maximum, np.minimum, np.maximum, np.minimum, np.maximum,
               np.logical_or, np.logical_or)


def _merge_boxes(parts: list[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
    """Per pair key, the extent of its close steps and whether each vessel is ever slow at
    one: (key, lat0, lat1, lon0, lon1, k0, k1, slow, slow_other), keys sorted and unique,
    from ``parts`` of such arrays (keys repeated)."""
    cols: list[np.ndarray | None] = [np.concatenate(c) for c in zip(*parts, strict=True)] \
        if len(parts) > 1 else list(parts[0])
    keys = cols[0]
    assert keys is not None
    order = np.argsort(keys)
    key = keys[order]
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if key.size else \
        np.empty(0, np.int64)
    out = [key[first]]
    for c, reduce in enumerate(_BOX_REDUCE, start=1):
        col = cols[c]
        assert col is not None
        out.append(reduce.reduceat(col[order], first) if first.size else col[:0])
        cols[c] = col = None  # free as it goes
    return tuple(out)


class _Boxes:
    """The extent of each pair's close steps (:func:`_merge_boxes` columns), updated in
    place; pairs not seen before wait in small batches before they are inserted."""

    def __init__(self, batch: int) -> None:
        self.cols: list[np.ndarray] = []
        self.new: list[tuple[np.ndarray, ...]] = []
        self.waiting = 0
        self.batch = batch

    def add(self, part: tuple[np.ndarray, ...]) -> None:
        """Merge ``part`` (keys unique)."""
        if self.cols and self.cols[0].size:
            key = self.cols[0]
            at = np.minimum(np.searchsorted(key, part[0]), key.size - 1)
            found = key[at] == part[0]
            row = at[found]
            for c, reduce in enumerate(_BOX_REDUCE, start=1):
                self.cols[c][row] = reduce(self.cols[c][row], part[c][found])
            part = tuple(v[~found] for v in part)
        if part[0].size:
            self.new.append(part)
            self.waiting += part[0].size
        if self.waiting > max(self.batch, self.cols[0].size // 4 if self.cols else 0):
            self.flush()

    def flush(self) -> None:
        """Insert the pairs waiting."""
        if not self.new:
            return
        new = _merge_boxes(self.new)
        self.new, self.waiting = [], 0
        if not self.cols:
            self.cols = list(new)
            return
        at = np.searchsorted(self.cols[0], new[0])
        for c in range(len(self.cols)):
            self.cols[c] = np.insert(self.cols[c], at, new[c])


def _pairs_that_may_matter(g: GridIndex, tracks: tuple[int, int], world: Any,
                           max_rows: int) -> np.ndarray:
    """Sorted keys (``track * g.span + other_track``) of the pairs of lower track in
    ``tracks`` that may make an encounter (see :func:`encounter_pieces`)."""
    boxes = _Boxes(max_rows)
    for i, j, _ in g.close_pairs(max_rows, tracks):
        lat = (g.lat[i] + g.lat[j]) / 2
        lon = (g.lon[i] + g.lon[j]) / 2
        boxes.add(_merge_boxes([(g.track[i] * g.span + g.track[j], lat, lat, lon, lon,
                                 g.k[i], g.k[i], g.sog[i] < ENCOUNTER_MAX_SPEED_KN,
                                 g.sog[j] < ENCOUNTER_MAX_SPEED_KN)]))
    boxes.flush()
    if not boxes.cols:
        return np.empty(0, np.int64)
    key, lat0, lat1, lon0, lon1, k0, k1, slow, slow_other = boxes.cols
    row = np.flatnonzero(((k1 - k0) * GRID_S >= ENCOUNTER_MIN_S) & slow & slow_other)
    harmless = np.zeros(row.size, bool)
    for a in range(0, row.size, max_rows):
        r = row[a:a + max_rows]
        diag = haversine_km(lat0[r], lon0[r], lat1[r], lon1[r])
        centre_port, _ = world.port_index.nearest((lat0[r] + lat1[r]) / 2,
                                                  (lon0[r] + lon1[r]) / 2)
        harmless[a:a + max_rows] = (diag <= _HARMLESS_BOX_KM) \
            & (centre_port <= _HARMLESS_PORT_KM)
    return key[row[~harmless]]


def encounter_pieces(samples: pl.DataFrame, mmsi: np.ndarray, world: Any,
                     max_rows: int = 500_000) -> pl.DataFrame:
    """Candidate encounters: per pair of tracks, grid steps within 500 m merged into runs
    when less than 4 h apart, and the slow parts of each run (:func:`_candidates`), lasting
    at least 2 h, with the pair's mean midpoint and each vessel's median speed over their
    steps (what :func:`encounters` then tests).

    Pairs of samples in neighbouring 500 m cells are listed about ``max_rows`` at a time
    (:class:`GridIndex`), for a range of tracks at a time (about ``16 * max_rows``
    candidates), twice. The first pass keeps only each pair's extent: the box of its close
    steps' midpoints, its first and last close step, and whether each vessel is under 2 kn
    at any of them. Pairs that can never make an encounter are then dropped: close for less
    than 2 h from first to last; one vessel never under 2 kn (no median of its speeds can
    be); or all close steps inside a 6 km box centred within 3 km of a port, so that any
    mean of them is under 10 km from it (ships at anchor together). The second pass gathers
    the close steps of the other pairs. So memory is bounded by the batch sizes and the
    pairs that may matter, not the square of the ships in a crowded anchorage.
    """
    if samples.height == 0:
        return pl.DataFrame(schema=_PIECES)
    g = GridIndex(samples, mmsi)
    del samples  # the caller may hand it over
    cols: dict[str, list[np.ndarray]] = {c: [] for c in (
        "track", "other_track", "k", "d", "lat", "lon", "sog", "sog_other")}
    for tracks in g.partitions(16 * max_rows):
        keep = _pairs_that_may_matter(g, tracks, world, max_rows)
        if not keep.size:
            continue
        for i, j, d in g.close_pairs(max_rows, tracks):
            key = g.track[i] * g.span + g.track[j]
            at = np.minimum(np.searchsorted(keep, key), keep.size - 1)
            hit = keep[at] == key
            i, j = i[hit], j[hit]
            for c, v in (("track", g.track[i]), ("other_track", g.track[j]), ("k", g.k[i]),
                         ("d", d[hit]), ("lat", (g.lat[i] + g.lat[j]) / 2),
                         ("lon", (g.lon[i] + g.lon[j]) / 2), ("sog", g.sog[i]),
                         ("sog_other", g.sog[j])):
                cols[c].append(v)
    del g
    if not sum(v.size for v in cols["k"]):
        return pl.DataFrame(schema=_PIECES)
    arrays = {c: np.concatenate(v) for c, v in cols.items()}
    del cols
    # one row per pair and step, sorted (numpy: far less memory than polars' unique, sort)
    order = np.lexsort((arrays["k"], arrays["other_track"], arrays["track"]))
    tr, ot, kk = arrays["track"][order], arrays["other_track"][order], arrays["k"][order]
    order = order[np.r_[True, (tr[1:] != tr[:-1]) | (ot[1:] != ot[:-1]) | (kk[1:] != kk[:-1])]]
    del tr, ot, kk
    close = pl.DataFrame({c: v[order] for c, v in arrays.items()})
    del arrays, order
    return _candidates(close)


def _candidates(close: pl.DataFrame) -> pl.DataFrame:
    """Candidate encounters of the close steps (one row per pair of tracks and step, sorted):
    each run's slow parts (``kind = "slow"``) and the run itself (``"run"``), 2 h or more
    from first to last step, measured over the close steps from their first to their last.

    A run is the pair's close steps merged when less than 4 h apart. Its slow parts are its
    steps where both vessels are under 2 kn, merged the same way, and split where the pair
    is close and either vessel at 2 kn or more at 6 steps (an hour) or more between two of
    them. ``before``/``after``: consecutive close steps before the first step and after the
    last (sailing in company)."""
    pair = ["track", "other_track"]
    merge_steps = MERGE_S // GRID_S
    dk = pl.col("k").diff().over(pair).fill_null(10**9)
    close = close.with_columns(
        run=(dk >= merge_steps).cum_sum().over(pair),
        piece=(dk > 1).cum_sum().over(pair),
        slow=(pl.col("sog") < ENCOUNTER_MAX_SPEED_KN)
        & (pl.col("sog_other") < ENCOUNTER_MAX_SPEED_KN),
        fast=(pl.col("sog") >= ENCOUNTER_MAX_SPEED_KN)
        | (pl.col("sog_other") >= ENCOUNTER_MAX_SPEED_KN),
    ).with_columns(
        fast_seen=pl.col("fast").cum_sum().over(pair),
        piece_start=pl.col("k").min().over(*pair, "piece"),
        piece_end=pl.col("k").max().over(*pair, "piece"),
    )
    slow = close.filter("slow")
    split = ((pl.col("run").diff() != 0) | (pl.col("k").diff() >= merge_steps)
             | (pl.col("fast_seen").diff() >= MAX_FAST_INSIDE_S // GRID_S))
    parts = slow.with_columns(part=split.fill_null(True).cum_sum().over(pair)).group_by(
        *pair, "part").agg(
        pl.col("run").first(), span_start=pl.col("k").min(), span_end=pl.col("k").max(),
        before=pl.col("k").min() - pl.col("piece_start").first(),
        after=pl.col("piece_end").last() - pl.col("k").max(),
    ).filter((pl.col("span_end") - pl.col("span_start")) * GRID_S >= ENCOUNTER_MIN_S)
    in_part = close.join(parts, on=pair).filter(
        pl.col("k").is_between(pl.col("span_start"), pl.col("span_end")))
    stats = {"k_start": pl.col("k").min(), "k_end": pl.col("k").max(), "steps": pl.len(),
             "median_distance_m": pl.col("d").median(), "lat": pl.col("lat").mean(),
             "lon": pl.col("lon").mean(), "median_sog": pl.col("sog").median(),
             "median_sog_other": pl.col("sog_other").median()}
    slow_parts = in_part.group_by(*pair, "part").agg(
        **stats, run=pl.col("run").first(), before=pl.col("before").first(),
        after=pl.col("after").first()).with_columns(kind=pl.lit("slow")).drop("part")
    runs = close.group_by(*pair, "run").agg(**stats).with_columns(
        kind=pl.lit("run"), before=pl.lit(0, pl.Int64), after=pl.lit(0, pl.Int64)).filter(
        (pl.col("k_end") - pl.col("k_start")) * GRID_S >= ENCOUNTER_MIN_S)
    out = pl.concat([slow_parts.cast(_PIECES), runs.select(slow_parts.columns).cast(_PIECES)])
    return out.sort("track", "other_track", "k_start", "kind")


def encounters(pieces: pl.DataFrame, start_s: int, world: Any) -> pl.DataFrame:
    """Encounters among candidate pieces (:func:`encounter_pieces`): those with both median
    speeds (over the close grid steps) under 2 kn and the mean position at least 10 km from
    any port; of each run, its slow parts that are, or the run itself when none is."""
    if pieces.height == 0:
        return empty_raw()
    port, _ = world.nearest_port(pieces["lat"].to_numpy(), pieces["lon"].to_numpy())
    ok = (port >= ENCOUNTER_PORT_KM) & (pieces["median_sog"].to_numpy() < ENCOUNTER_MAX_SPEED_KN) \
        & (pieces["median_sog_other"].to_numpy() < ENCOUNTER_MAX_SPEED_KN)
    met = pieces.with_columns(port_km=pl.Series(port), ok=pl.Series(ok))
    by_slow_part = met.filter(pl.col("ok") & (pl.col("kind") == "slow")).select(
        "track", "other_track", "run").unique()
    sel = pl.concat([
        met.filter(pl.col("ok") & (pl.col("kind") == "slow")),
        met.filter(pl.col("ok") & (pl.col("kind") == "run")).join(
            by_slow_part, on=["track", "other_track", "run"], how="anti"),
    ]).sort("track", "other_track", "k_start")
    if sel.height == 0:
        return empty_raw()
    shore = world.shore_km(sel["lat"].to_numpy(), sel["lon"].to_numpy())
    s = sel["k_start"].to_numpy() * GRID_S - start_s
    e = sel["k_end"].to_numpy() * GRID_S - start_s
    details = [{"median_distance_m": round(r["median_distance_m"], 1),
                "hours": round((r["k_end"] - r["k_start"]) * GRID_S / 3600.0, 3),
                "median_speed_kn": [round(r["median_sog"], 2), round(r["median_sog_other"], 2)],
                "grid_steps_within": int(r["steps"]),
                "distance_from_shore_km": round(float(sh), 2),
                "distance_from_port_km": round(float(r["port_km"]), 2),
                "sailed_in_company_before_h": round(r["before"] * GRID_S / 3600.0, 3),
                "sailed_in_company_after_h": round(r["after"] * GRID_S / 3600.0, 3)}
               for r, sh in zip(sel.iter_rows(named=True), shore, strict=True)]
    return raw_events({"type": "encounter", "track": sel["track"].to_numpy(),
                       "other_track": sel["other_track"].to_list(), "start_s": s, "end_s": e,
                       "lat": sel["lat"].to_numpy(), "lon": sel["lon"].to_numpy(),
                       "details": details}, sel.height)
