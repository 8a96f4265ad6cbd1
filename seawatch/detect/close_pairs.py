"""Close pairs of samples: every two vessels within a distance at the same grid time.

The kernel of the encounter detector (:mod:`seawatch.detect.encounter`). Every grid sample is
put in a cube of an earth-centred (WGS84 ECEF) grid whose side is the distance threshold; two
samples closer than the threshold at the same grid time are then in the same or adjacent
cubes, so only the 27 neighbouring cubes of each sample are compared. The cost grows with the
number of samples and of nearby pairs, not with the square of the number of vessels; the
cubes have no seam at the antimeridian or the poles. Distances are WGS84 chords turned into
arcs (within a millimetre of the geodesic here).

Memory stays bounded when the pairs are many (:func:`pairs_by_vessel`): they are found a few
grid steps at a time, filed by the lower MMSI of each pair, in memory and past a limit in a
temporary file, and given back a few buckets of vessels at a time.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import numpy as np

from seawatch.errors import InvalidValue
from seawatch.geo.geodesy import ecef_distance_m, ecef_m
from seawatch.tracks.resample import Samples

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
    return ecef_distance_m(x[i], y[i], z[i], x[j], y[j], z[j])


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
        raise InvalidValue(
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


def pairs_by_vessel(
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
