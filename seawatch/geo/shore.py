"""Distance from shore: great-circle kilometres from each point to the nearest coastline.

Definition
----------
The shore is the shipped coastline: Natural Earth 1:10m inside the coverage box (lon
-100..-70, lat -10..12) and Natural Earth 1:50m outside it (so a point near the box edge
whose nearest shore is outside the box, e.g. Mexico or the Caribbean islands, is measured
to that shore). Points on land get 0, or with ``signed=True`` minus their distance to the
coast.

How it is computed, and how exact it is
---------------------------------------
The distance from the point to the coastline *segments* (not to sampled vertices) is
computed in WGS84 earth-centred coordinates and turned into a surface distance with the
arc formula. A grid holds, for each cell, the segments that can be nearest to some point
in it: 0.05 degree cells (about 5.5 km) over the coverage box, 0.5 degree cells over the
world for points outside it. The lists are built coarse to fine (32, 16, ..., 1 times the
cell size): a segment stays in a cell's list only if it is within the cell centre's
distance plus a cell diagonal, which keeps every segment that can be nearest (exact
supersets). Within ``NEAR_KM`` (40 km) of the coast the exact list is kept, so the result
is the exact minimum; farther out the list is thinned to the segments nearest to the
centres and corners of the 3 x 3 neighbouring cells and their neighbours along the coast.
A sliver between those samples could in principle be missed; on 200,000 random points of
the box, compared with a brute force over all 10,600 segments, the largest difference was
0.0 km. Each grid is built on first use (about 1 s for the box, 2-3 s for the world) and
kept on disk for later processes (:mod:`seawatch.geo.derived`), which load it in
milliseconds.

Error against an exact WGS84 geodesic computation (pyproj) to the same coastline, tested
in ``tests/geo/test_shore.py``: at most ``MAX_ERROR_KM`` = 0.05 km + 0.01 % of the
distance (measured on 300 random and near-coast points: at most 0.011 km, and 3e-5 of the
distance far out). What remains comes from treating each coastline segment as the straight
3D chord between its ends and from the spherical chord-to-arc formula. Outside the box the
0.5 degree cells make the thinning coarser: on 20,000 random points of the globe three
differed from the brute force, by at most 1.2 km (Gulf of Bothnia, Antarctica), which is
below the error of the 1:50m coastline itself.

The coastline itself is only as good as its source: Natural Earth 1:10m via world-atlas
inside the box (vertices quantised to about 400 m x 190 m, so a few hundred metres), 1:50m
outside it (a few kilometres). Compare with a survey chart before using a distance as
evidence.

Examples
--------
>>> from seawatch.geo import distance_to_shore_km
>>> d = distance_to_shore_km([-0.95, -0.95], [-80.68, -81.17])  # Manta; 50 km W of it
>>> d.round(1).tolist()  # on land; 31 km from Cabo San Lorenzo
[0.0, 30.9]
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import shapely

from seawatch.geo import _data, derived
from seawatch.geo.geodesy import cell_half_diagonal_km, ecef_km

CELL_DEG = 0.05
"""Cell size of the candidate grid (degrees)."""
NEAR_KM = 40.0
"""Cells whose centre is within this distance of the coast get exact candidate lists."""
FAR_ALONG_COAST = 2
"""Far cells also take this many neighbours along the coast of each sampled nearest segment."""
LEVELS = 5
"""Coarse-to-fine levels of the candidate grid: 0.05 * 2**5 = 1.6 degree cells at the top."""
OUTSIDE_MARGIN_DEG = 20.0
"""The 1:50m coast within this many degrees of the box also counts for points inside it
(the farthest point of the box is about 13 degrees from any coast)."""
WORLD_CELL_DEG = 0.5
"""Cell size of the candidate grid used outside the box (degrees)."""
MAX_ERROR_KM = (0.05, 0.0001)
"""Documented error bound inside the box: 0.05 km + 0.01 % of the distance (measured:
at most 0.011 km, and 3e-5 of the distance far from the coast)."""
_KM_PER_DEG_MIN = 108.0  # fewer km than any degree step in |lat| < 14 deg (superset radius)


def _segments(lines: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segment end points (n, 4: lon1, lat1, lon2, lat2) and prev/next neighbour indices."""
    parts = shapely.get_parts(shapely.get_parts(lines))
    parts = parts[shapely.get_type_id(parts) == 1]  # LineStrings only
    xy, part = shapely.get_coordinates(parts, return_index=True)
    same = part[1:] == part[:-1]
    i = np.flatnonzero(same)
    segs = np.column_stack([xy[i], xy[i + 1]])
    seg_part = part[i]
    n = len(segs)
    prev = np.arange(n) - 1
    nxt = np.arange(n) + 1
    prev[0] = -1
    nxt[-1] = -1
    if n > 1:
        cont = seg_part[1:] == seg_part[:-1]
        prev[1:][~cont] = -1
        nxt[:-1][~cont] = -1
    return segs, prev, nxt


@dataclass(frozen=True)
class _ShoreIndex:
    seg: np.ndarray  # (n, 6) ECEF km of segment ends
    x0: float
    y0: float
    cell: float
    nx: int
    ny: int
    offsets: np.ndarray
    cands: np.ndarray


def _outside_coast() -> Any:
    """1:50m coastline outside the box, within OUTSIDE_MARGIN_DEG of it."""
    x0, y0, x1, y1 = _data.box()
    m = OUTSIDE_MARGIN_DEG
    near = shapely.intersection(_world_coast(), shapely.box(x0 - m, y0 - m, x1 + m, y1 + m))
    return shapely.difference(near, shapely.box(x0, y0, x1, y1))


@cache
def _world_coast() -> Any:
    """Boundary of the 1:50m land without the cuts at the antimeridian and the pole."""
    e = 1e-6
    inner = shapely.box(-180 + e, -90 + e, 180 - e, 90)
    return shapely.intersection(shapely.boundary(_data.world_land()), inner)


def _build(lines: Any, bounds: tuple[float, float, float, float], cell0: float) -> _ShoreIndex:
    """Candidate grid of ``cell0`` degree cells over ``bounds`` for the segments of ``lines``."""
    from seawatch.geo import _kernels

    x0, y0, x1, y1 = bounds
    segs, prev, nxt = _segments(lines)
    seg = np.hstack([ecef_km(segs[:, 1], segs[:, 0]), ecef_km(segs[:, 3], segs[:, 2])])
    seg = np.ascontiguousarray(seg)

    # exact candidate lists, coarse to fine: cells of cell0 * 32, * 16, ..., * 2 degrees
    levels = 2**LEVELS
    nx = int(np.ceil((x1 - x0) / (cell0 * levels))) * levels
    ny = int(np.ceil((y1 - y0) / (cell0 * levels))) * levels
    offsets = np.array([0, len(seg)], dtype=np.int64)
    cands = np.arange(len(seg), dtype=np.int32)
    pnx, ratio = 1, 1 << 40
    for k in range(LEVELS, 0, -1):
        cell = cell0 * 2**k
        cnx, cny = nx >> k, ny >> k
        offsets, cands, _, _ = _kernels.refine_candidates(
            seg, x0, y0, cell, cnx, cny, ratio, pnx, offsets, cands,
            cell_half_diagonal_km(cell), np.inf,
        )  # fmt: skip
        pnx, ratio = cnx, 2

    # finest level: exact lists near the coast; elsewhere the segments nearest to the
    # centres and corners of the 3 x 3 neighbouring cells, and their neighbours along the coast
    near_off, near_cands, dmin, centre_seg = _kernels.refine_candidates(
        seg, x0, y0, cell0, nx, ny, 2, pnx, offsets, cands,
        cell_half_diagonal_km(cell0), NEAR_KM,
    )  # fmt: skip
    nodes = _kernels.nearest_on_nodes(seg, x0, y0, cell0, nx, ny, 2, pnx, offsets, cands)
    off, cands = _kernels.merge_candidates(
        near_off, near_cands, dmin <= NEAR_KM, centre_seg.reshape(ny, nx), nodes,
        prev, nxt, FAR_ALONG_COAST,
    )  # fmt: skip
    return _ShoreIndex(seg, x0, y0, cell0, nx, ny, off, cands)


_INDEX_INPUTS = (
    "geo/shore.py", "geo/_kernels.py", "geo/geodesy.py",
    "geo/data/eastern_pacific_10m.npz", "geo/data/world_50m.npz",
)  # fmt: skip
"""What a grid is computed from: its key in the on-disk cache (:mod:`seawatch.geo.derived`)."""


def _cached(name: str, build: Any) -> _ShoreIndex:
    """``build()``'s grid, kept on disk between processes (see :mod:`seawatch.geo.derived`)."""

    def arrays() -> dict[str, np.ndarray]:
        ix = build()
        return {
            "seg": ix.seg, "offsets": ix.offsets, "cands": ix.cands,
            "grid": np.array([ix.x0, ix.y0, ix.cell]), "shape": np.array([ix.nx, ix.ny]),
        }  # fmt: skip

    key = derived.fingerprint(*_INDEX_INPUTS, params=(name, CELL_DEG, WORLD_CELL_DEG, NEAR_KM,
                                                     FAR_ALONG_COAST, LEVELS, OUTSIDE_MARGIN_DEG))
    a = derived.load_or_build(f"shore-{name}", key, arrays)
    x0, y0, cell = (float(v) for v in a["grid"])
    nx, ny = (int(v) for v in a["shape"])
    return _ShoreIndex(a["seg"], x0, y0, cell, nx, ny, a["offsets"], a["cands"])


@cache
def _index() -> _ShoreIndex:
    """The fine grid over the coverage box: 1:10m coast, and 1:50m coast around the box."""

    def build() -> _ShoreIndex:
        lines = shapely.GeometryCollection([_data.eastern_pacific("coast"), _outside_coast()])
        return _build(lines, _data.box(), CELL_DEG)

    return _cached("box", build)


@cache
def _world_index() -> _ShoreIndex:
    """The coarse grid over the world: 1:50m coast, 1:10m inside the box."""

    def build() -> _ShoreIndex:
        x0, y0, x1, y1 = _data.box()
        coast = shapely.difference(_world_coast(), shapely.box(x0, y0, x1, y1))
        lines = shapely.GeometryCollection([_data.eastern_pacific("coast"), coast])
        return _build(
            lines, (-180.0, -90.0, 180.0 + WORLD_CELL_DEG, 90.0 + WORLD_CELL_DEG), WORLD_CELL_DEG
        )

    return _cached("world", build)


def _query(ix: _ShoreIndex, lat: np.ndarray, lon: np.ndarray, out: np.ndarray) -> None:
    from seawatch.geo import _kernels

    _kernels.nearest_segment_km(
        lat, lon, ix.seg, ix.x0, ix.y0, ix.cell, ix.nx, ix.ny, ix.offsets, ix.cands, out
    )


def distance_to_shore_km(lat: Any, lon: Any, *, signed: bool = False) -> np.ndarray:
    """Great-circle distance (km) from each point to the nearest shore.

    Parameters
    ----------
    lat, lon
        Degrees (WGS84), array-likes of the same shape.
    signed
        If False (default) points on land get 0. If True they get minus their distance to
        the coast, so the sign says land (negative) or sea (positive).

    Returns
    -------
    numpy.ndarray of float64, same shape as ``lat``; NaN where a coordinate is NaN or the
    longitude is outside -180..180.

    Notes
    -----
    Inside the coverage box the error against an exact WGS84 geodesic distance to the
    shipped 1:10m coastline is at most 0.05 km + 0.01 % of the distance (grid of 0.05
    degree cells, exact point-to-segment distances), at 2-3 million points per second on
    one core. Outside it the 1:50m coastline is used on a 0.5 degree grid (measured error
    up to 1.2 km, about 0.5-1.5 million points per second; the first such call builds the
    world grid in a few seconds). See the module docstring for the method.

    Examples
    --------
    >>> distance_to_shore_km([0.0], [-95.0]).round(-1).tolist()  # 3.4 degrees W of Isabela
    [370.0]
    >>> distance_to_shore_km([-0.95], [-80.68], signed=True)[0] < 0  # Manta is on land
    np.True_
    """
    from seawatch.geo.landmask import in_box, on_land

    la = np.asarray(lat, dtype=np.float64)
    lo = np.asarray(lon, dtype=np.float64)
    shape = np.broadcast_shapes(la.shape, lo.shape)
    la = np.ascontiguousarray(np.broadcast_to(la, shape).ravel())
    lo = np.ascontiguousarray(np.broadcast_to(lo, shape).ravel())
    out = np.empty(la.shape, dtype=np.float64)
    if la.size:
        _query(_index(), la, lo, out)
        outside = np.flatnonzero(~in_box(la, lo) & np.isfinite(la) & np.isfinite(lo))
        if outside.size:
            part = np.empty(outside.size)
            _query(_world_index(), la[outside], lo[outside], part)
            out[outside] = part
        land_mask = on_land(la, lo)
        if signed:
            out[land_mask] = -out[land_mask]
        else:
            out[land_mask] = 0.0
    return out.reshape(shape)
