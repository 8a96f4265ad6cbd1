"""Geodesy in one place: earth models, distances, earth-centred vectors, speeds, projections.

Every distance seawatch measures is computed here, in one of a few documented ways. They
are not interchangeable bit for bit, and each caller keeps the one its results were defined
with (events must not change when code moves):

=============================  ===========================================================
method                         used for
=============================  ===========================================================
WGS84 chord -> arc, km         :func:`distance_km`: segments, gaps, spoofing; ports (k-d
                               tree on :func:`ecef_km`), distance to shore (numba kernels)
WGS84 chord -> arc, m          :func:`distance_m`, :func:`ecef_distance_m`: resampled
                               tracks, encounters, implied speeds (:func:`implied_speed_kn`)
haversine on the mean sphere   :func:`haversine_km` (NumPy), :func:`haversine_km_expr`
                               (Polars), ``haversine_km_scalar`` (numba): zone episodes,
                               port visits, anchorage periods, the simulator's truth
sums of unit vectors           :func:`unit_vectors`, :func:`vector_lat_lon` (NumPy),
                               :func:`vector_lon_expr` (Polars): the mean position of an
                               encounter, the mean longitude of a loitering episode
flat local approximations      :func:`flat_distance_nm`, :func:`flat_destination`,
                               :func:`flat_destinations`, :func:`metres_to_degrees`,
                               :func:`flat_distance_km`, :func:`flat_bearing`: the
                               simulator's movements (tens of km; not for measurements)
exact WGS84 geodesic           :func:`geodesic_km` (pyproj ``Geod``): the reference the
                               fast methods are measured against
=============================  ===========================================================

*Chord -> arc.* The chord between two WGS84 earth-centred (ECEF) points is the exact 3D
distance between them; the spherical arc formula ``2 R asin(c / 2R)`` on the mean radius
turns it into a surface distance. Up to a few hundred kilometres it matches the WGS84
geodesic to well under 0.1 %: the arc correction ``c**3 / (24 R**2)`` is about 0.13 km at
500 km and 1 km at 1,000 km, and using the mean radius for it instead of the local radius
of curvature changes it by about 1 %. It is right across the antimeridian and at the poles.
The km and m versions are the same method in two units; their results differ in the last
bits, so each caller keeps its unit.

*Haversine* on a sphere of the mean radius ``MEAN_RADIUS_KM`` (IUGG, 6371.0088 km): within
0.6 % of the WGS84 geodesic (it ignores the flattening).

Three flavours of the same formulas serve three kinds of code: NumPy functions for arrays,
Polars expressions for tables (``*_expr``) and numba-compiled scalar functions for kernels
(``*_scalar``, compiled on first use; importing this module does not import numba). The
flavours agree to a few units in the last place (NumPy, Polars and LLVM each have their own
``sin``), not bit for bit.

>>> round(float(distance_km([0.0], [179.9], [0.0], [-179.9])[0]), 2)  # across 180 degrees
22.26
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import ArrayLike, NDArray

F64 = NDArray[np.float64]

# -- earth models --------------------------------------------------------------------------------
WGS84_A_KM = 6378.137
"""WGS84 semi-major axis (km)."""
WGS84_A_M = 6_378_137.0
"""WGS84 semi-major axis (m)."""
WGS84_F = 1 / 298.257223563
"""WGS84 flattening."""
WGS84_E2 = WGS84_F * (2 - WGS84_F)
"""WGS84 first eccentricity squared."""
MEAN_RADIUS_KM = 6371.0088
"""Mean earth radius (IUGG, km): the sphere of the arc and haversine formulas."""
MEAN_RADIUS_M = 6_371_008.8
"""Mean earth radius (IUGG, m)."""
NM_KM = 1.852
"""One international nautical mile in km."""
NM_M = 1852.0
"""One international nautical mile in m."""
KM_PER_DEG = 111.195
"""A degree of latitude on the mean sphere (km; ``2 pi MEAN_RADIUS_KM / 360`` = 111.19508)."""
M_PER_DEG = 111_195.0
"""A degree of latitude on the mean sphere (m)."""


# -- earth-centred vectors and chords ------------------------------------------------------------
def _ecef(lat: ArrayLike, lon: ArrayLike, a: float) -> tuple[F64, F64, F64]:
    phi = np.radians(np.asarray(lat, dtype=np.float64))
    lam = np.radians(np.asarray(lon, dtype=np.float64))
    s = np.sin(phi)
    c = np.cos(phi)
    n = a / np.sqrt(1.0 - WGS84_E2 * s * s)
    return n * c * np.cos(lam), n * c * np.sin(lam), n * (1.0 - WGS84_E2) * s


def ecef_km(lat: ArrayLike, lon: ArrayLike) -> F64:
    """WGS84 earth-centred earth-fixed coordinates (km) of surface points, shape (n, 3).

    >>> ecef_km([0.0, 90.0], [0.0, 0.0]).round(3).tolist()
    [[6378.137, 0.0, 0.0], [0.0, 0.0, 6356.752]]
    """
    return np.column_stack(_ecef(lat, lon, WGS84_A_KM))


def ecef_m(lat: ArrayLike, lon: ArrayLike) -> tuple[F64, F64, F64]:
    """WGS84 earth-centred earth-fixed coordinates (m) of surface points, as (x, y, z).

    >>> [round(float(v[0])) for v in ecef_m([0.0], [90.0])]
    [0, 6378137, 0]
    """
    return _ecef(lat, lon, WGS84_A_M)


def ecef_chord(
    x0: ArrayLike, y0: ArrayLike, z0: ArrayLike, x1: ArrayLike, y1: ArrayLike, z1: ArrayLike
) -> F64:
    """Straight-line (3D) distance between earth-centred points, in their unit.

    The same bits whichever point comes first.

    >>> ecef_chord(0.0, 0.0, 0.0, 3.0, 4.0, 12.0).tolist()
    13.0
    """
    dx = np.subtract(x1, x0, dtype=np.float64)
    dy = np.subtract(y1, y0, dtype=np.float64)
    dz = np.subtract(z1, z0, dtype=np.float64)
    return np.asarray(np.sqrt(dx**2 + dy**2 + dz**2), dtype=np.float64)


def _chord_to_arc(chord: ArrayLike, radius: float) -> F64:
    c = np.asarray(chord, dtype=np.float64)
    return 2.0 * radius * np.arcsin(np.minimum(c / (2.0 * radius), 1.0))


def chord_to_arc_km(chord: ArrayLike) -> F64:
    """Surface distance (km) for an ECEF chord length (km): arc on the mean sphere.

    Chords longer than the sphere's diameter give half its circumference; NaN gives NaN.

    >>> chord_to_arc_km([1000.0, 20000.0]).round(2).tolist()
    [1001.03, 20015.11]
    """
    return _chord_to_arc(chord, MEAN_RADIUS_KM)


def chord_to_arc_m(chord: ArrayLike) -> F64:
    """Surface distance (m) for an ECEF chord length (m): arc on the mean sphere.

    >>> chord_to_arc_m([1000.0]).round(6).tolist()
    [1000.000001]
    """
    return _chord_to_arc(chord, MEAN_RADIUS_M)


def arc_to_chord_km(km: ArrayLike) -> F64:
    """Inverse of :func:`chord_to_arc_km`: the chord (km) of a surface distance (km).

    >>> round(float(arc_to_chord_km(chord_to_arc_km([1000.0]))[0]), 9)
    1000.0
    """
    d = np.minimum(np.asarray(km, dtype=np.float64), np.pi * MEAN_RADIUS_KM)
    return 2.0 * MEAN_RADIUS_KM * np.sin(d / (2.0 * MEAN_RADIUS_KM))


def distance_km(lat0: ArrayLike, lon0: ArrayLike, lat1: ArrayLike, lon1: ArrayLike) -> F64:
    """Surface distance (km) between point pairs: the WGS84 chord turned into an arc.

    Within 0.1 % of the WGS84 geodesic up to a few hundred kilometres (module docstring).
    What segments, gaps and spoofing measure.

    >>> distance_km([0.0], [0.0], [1.0], [0.0]).round(3).tolist()  # geodesic: 110.574
    [110.574]
    """
    a = ecef_km(lat0, lon0)
    b = ecef_km(lat1, lon1)
    return chord_to_arc_km(np.sqrt(((a - b) ** 2).sum(axis=1)))


def distance_m(lat0: ArrayLike, lon0: ArrayLike, lat1: ArrayLike, lon1: ArrayLike) -> F64:
    """Surface distance (m) between point pairs: the WGS84 chord turned into an arc.

    Within a millimetre of the WGS84 geodesic up to tens of kilometres (the arc correction
    is ``c**3 / (24 R**2)``). What resampled tracks and encounters measure.

    >>> distance_m([0.0], [0.0], [0.0], [0.001]).round(3).tolist()
    [111.319]
    """
    return ecef_distance_m(*ecef_m(lat0, lon0), *ecef_m(lat1, lon1))


def ecef_distance_m(
    x0: ArrayLike, y0: ArrayLike, z0: ArrayLike, x1: ArrayLike, y1: ArrayLike, z1: ArrayLike
) -> F64:
    """Surface distance (m) between earth-centred points (m, :func:`ecef_m`): the chord
    turned into an arc, as :func:`distance_m` (for callers holding the vectors already).

    >>> x, y, z = ecef_m([0.0, 0.0], [0.0, 0.001])
    >>> ecef_distance_m(x[0], y[0], z[0], x[1], y[1], z[1]).round(3).tolist()
    111.319
    """
    return chord_to_arc_m(ecef_chord(x0, y0, z0, x1, y1, z1))


def implied_speed_kn(
    lat: F64,
    lon: F64,
    t_us: NDArray[np.int64],
    same_track: NDArray[np.bool_],
    where: NDArray[np.bool_] | None = None,
) -> F64:
    """Implied speed (kn) from each position to the next, by :func:`distance_m`.

    ``same_track[i]`` (length n - 1) says whether positions i and i + 1 belong together;
    with ``where`` (a mask like ``same_track``) only those intervals are computed. NaN at
    a track's last position, where the time does not increase, and outside ``where``.

    >>> t = np.array([0, 3_600_000_000, 7_200_000_000])
    >>> implied_speed_kn(np.array([0.0, 0.0, 1.0]), np.zeros(3), t,
    ...                  np.array([True, False])).round(2).tolist()
    [0.0, nan, nan]
    """
    n = len(t_us)
    out = np.full(n, np.nan)
    if n < 2:
        return out
    ok = same_track & (t_us[1:] > t_us[:-1])
    if where is not None:
        ok &= where
    i = np.flatnonzero(ok)
    d = distance_m(lat[i], lon[i], lat[i + 1], lon[i + 1])
    out[i] = d / ((t_us[i + 1] - t_us[i]) / 1e6) * 3600.0 / NM_M
    return out


def speed_kn(km: ArrayLike, seconds: ArrayLike) -> F64:
    """Speed (kn) of ``km`` covered in ``seconds``.

    >>> speed_kn([1.852], [1800.0]).tolist()
    [2.0]
    """
    out = np.asarray(km, dtype=np.float64) / NM_KM / np.asarray(seconds) * 3600.0
    return np.asarray(out, dtype=np.float64)


# -- haversine on the mean sphere ----------------------------------------------------------------
def haversine_km(lat0: ArrayLike, lon0: ArrayLike, lat1: ArrayLike, lon1: ArrayLike) -> F64:
    """Great-circle distance (km) on the sphere of radius :data:`MEAN_RADIUS_KM`.

    >>> haversine_km([0.0], [0.0], [1.0], [0.0]).round(3).tolist()  # one degree
    [111.195]
    """
    p0, p1 = np.radians(lat0), np.radians(lat1)
    dp = p1 - p0
    dl = np.radians(np.asarray(lon1) - np.asarray(lon0))
    a = np.sin(dp / 2) ** 2 + np.cos(p0) * np.cos(p1) * np.sin(dl / 2) ** 2
    return np.asarray(2 * MEAN_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1))))


def haversine_km_expr(lat0: pl.Expr, lon0: pl.Expr, lat1: pl.Expr, lon1: pl.Expr) -> pl.Expr:
    """:func:`haversine_km` as a Polars expression.

    >>> df = pl.DataFrame({"lat": [0.0, 1.0], "lon": [0.0, 0.0]})
    >>> d = haversine_km_expr(pl.col("lat").shift(1), pl.col("lon").shift(1),
    ...                       pl.col("lat"), pl.col("lon"))
    >>> df.select(d.round(3).alias("km"))["km"].to_list()
    [None, 111.195]
    """
    p0, p1 = lat0.radians(), lat1.radians()
    dphi = p1 - p0
    dlmb = (lon1 - lon0).radians()
    a = (dphi / 2).sin() ** 2 + p0.cos() * p1.cos() * (dlmb / 2).sin() ** 2
    return 2 * MEAN_RADIUS_KM * a.sqrt().clip(upper_bound=1.0).arcsin()


# -- spherical means ---------------------------------------------------------------------------
def unit_vectors(lat: ArrayLike, lon: ArrayLike) -> tuple[F64, F64, F64]:
    """Unit vectors (x, y, z) of points on the sphere, for averaging positions.

    Summed over a group of points, their direction (:func:`vector_lat_lon`) is the group's
    spherical mean: right across the antimeridian, where an average of longitudes is not.

    >>> [v.round(6).tolist() for v in unit_vectors([0.0, 90.0], [90.0, 0.0])]
    [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]
    """
    phi = np.radians(np.asarray(lat, dtype=np.float64))
    lam = np.radians(np.asarray(lon, dtype=np.float64))
    c = np.cos(phi)
    return c * np.cos(lam), c * np.sin(lam), np.sin(phi)


def vector_lat_lon(x: ArrayLike, y: ArrayLike, z: ArrayLike) -> tuple[F64, F64]:
    """Latitude and longitude (degrees) of the direction of vectors (x, y, z): of summed
    :func:`unit_vectors`, the spherical mean of their points.

    >>> x, y, z = unit_vectors([0.0, 0.0], [179.0, -179.0])
    >>> [round(float(v), 6) for v in vector_lat_lon(x.sum(), y.sum(), z.sum())]
    [0.0, 180.0]
    """
    xa, ya = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    lat = np.degrees(np.arctan2(np.asarray(z, dtype=np.float64), np.hypot(xa, ya)))
    return lat, np.degrees(np.arctan2(ya, xa))


def vector_lon_expr(x: pl.Expr, y: pl.Expr) -> pl.Expr:
    """The longitude of :func:`vector_lat_lon` as a Polars expression (degrees).

    >>> df = pl.DataFrame({"x": [-2.0], "y": [0.0]})
    >>> df.select(vector_lon_expr(pl.col("x"), pl.col("y")).alias("lon"))["lon"].to_list()
    [180.0]
    """
    return pl.arctan2(y, x).degrees()


# -- longitudes ----------------------------------------------------------------------------------
def lon_delta(lon0: ArrayLike, lon1: ArrayLike) -> F64:
    """``lon1 - lon0`` the short way round, in [-180, 180) (modular arithmetic).

    >>> lon_delta([179.0], [-179.0]).tolist()
    [2.0]
    """
    a = np.asarray(lon0, dtype=np.float64)
    b = np.asarray(lon1, dtype=np.float64)
    return (b - a + 540.0) % 360.0 - 180.0


def wrap_lon(lon: ArrayLike) -> F64:
    """Longitudes wrapped into [-180, 180).

    >>> wrap_lon([180.0, -190.0]).tolist()
    [-180.0, 170.0]
    """
    return (np.asarray(lon, dtype=np.float64) + 180.0) % 360.0 - 180.0


def cell_half_diagonal_km(cell_deg: float) -> float:
    """Half the diagonal (km) of a square lon/lat cell of ``cell_deg`` degrees: an upper
    bound at any latitude (a WGS84 degree is at most 111.33 km of longitude, 111.70 km of
    latitude).

    >>> round(cell_half_diagonal_km(0.05), 3)
    3.943
    """
    return 0.5 * cell_deg * float(np.hypot(111.33, 111.70))


# -- numba scalar functions for kernels ----------------------------------------------------------
def _ecef_km_scalar(lat: float, lon: float) -> tuple[float, float, float]:
    """``ecef_km_scalar(lat, lon)``: :func:`ecef_km` of one point, for numba kernels.

    >>> [round(v, 3) for v in _ecef_km_scalar(0.0, 90.0)]
    [0.0, 6378.137, 0.0]
    """
    deg = math.pi / 180.0
    phi = lat * deg
    lam = lon * deg
    s = math.sin(phi)
    c = math.cos(phi)
    n = WGS84_A_KM / math.sqrt(1.0 - WGS84_E2 * s * s)
    return n * c * math.cos(lam), n * c * math.sin(lam), n * (1.0 - WGS84_E2) * s


def _chord_to_arc_km_scalar(chord: float) -> float:
    """``chord_to_arc_km_scalar(chord)``: :func:`chord_to_arc_km` of one chord, for kernels.

    >>> round(_chord_to_arc_km_scalar(1000.0), 2), _chord_to_arc_km_scalar(1e9) > 20015
    (1001.03, True)
    """
    if chord >= 2.0 * MEAN_RADIUS_KM:
        return math.pi * MEAN_RADIUS_KM
    return 2.0 * MEAN_RADIUS_KM * math.asin(chord / (2.0 * MEAN_RADIUS_KM))


def _ecef_distance_km_scalar(
    x0: float, y0: float, z0: float, x1: float, y1: float, z1: float
) -> float:
    """``ecef_distance_km_scalar(x0, y0, z0, x1, y1, z1)``: the surface distance (km) of two
    ECEF points (km), chord -> arc (:func:`distance_km` for kernels holding ECEF vectors).

    >>> round(_ecef_distance_km_scalar(0.0, 0.0, 0.0, 1000.0, 0.0, 0.0), 2)
    1001.03
    """
    dx = x1 - x0
    dy = y1 - y0
    dz = z1 - z0
    c = math.sqrt(dx * dx + dy * dy + dz * dz)
    if c >= 2.0 * MEAN_RADIUS_KM:
        return math.pi * MEAN_RADIUS_KM
    return 2.0 * MEAN_RADIUS_KM * math.asin(c / (2.0 * MEAN_RADIUS_KM))


def _haversine_km_scalar(lat0: float, lon0: float, lat1: float, lon1: float) -> float:
    """``haversine_km_scalar(lat0, lon0, lat1, lon1)``: :func:`haversine_km`, for kernels.

    >>> round(_haversine_km_scalar(0.0, 0.0, 1.0, 0.0), 3)
    111.195
    """
    deg = math.pi / 180.0
    p0 = lat0 * deg
    p1 = lat1 * deg
    dp = p1 - p0
    dl = (lon1 - lon0) * deg
    h = math.sin(dp / 2) ** 2 + math.cos(p0) * math.cos(p1) * math.sin(dl / 2) ** 2
    return 2.0 * MEAN_RADIUS_KM * math.asin(math.sqrt(min(h, 1.0)))


def _lon_delta_scalar(lon0: float, lon1: float) -> float:
    """``lon_delta_scalar(lon0, lon1)``: ``lon1 - lon0`` wrapped into [-180, 180) by adding
    or subtracting 360 once (exact for longitudes in [-180, 180], unlike the modular
    :func:`lon_delta`), for kernels.

    >>> _lon_delta_scalar(179.0, -179.0), _lon_delta_scalar(0.0, 0.1)
    (2.0, 0.1)
    """
    d = lon1 - lon0
    if d >= 180.0:
        d -= 360.0
    elif d < -180.0:
        d += 360.0
    return d


_SCALARS: dict[str, Callable[..., Any]] = {
    "ecef_km_scalar": _ecef_km_scalar,
    "chord_to_arc_km_scalar": _chord_to_arc_km_scalar,
    "ecef_distance_km_scalar": _ecef_distance_km_scalar,
    "haversine_km_scalar": _haversine_km_scalar,
    "lon_delta_scalar": _lon_delta_scalar,
}
"""Numba-compiled scalar functions, by public name, compiled on first access (``from
seawatch.geo.geodesy import haversine_km_scalar`` in a kernel module) and inlined into the
kernels that call them. A kernel's on-disk cache does not notice a change to a function
inlined from here: after editing one, delete the kernels' cached ``.nbi``/``.nbc`` files."""


def __getattr__(name: str) -> Any:
    func = _SCALARS.get(name)
    if func is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import numba

    jitted = numba.njit(cache=True, nogil=True, inline="always")(func)
    globals()[name] = jitted
    return jitted


# -- flat local approximations (the simulator's movements) ---------------------------------------
def flat_distance_nm(lat0: float, lon0: float, lat1: float, lon1: float) -> float:
    """Equirectangular distance (nm) between two points: 60 nm per degree of latitude,
    longitudes scaled by the cosine of the mean latitude. Ample for legs of a few hundred
    miles at low latitudes; not for measurements.

    >>> round(flat_distance_nm(0.0, 0.0, 1.0, 1.0), 3)
    84.851
    """
    coslat = math.cos(math.radians((lat0 + lat1) / 2))
    return math.hypot((lat1 - lat0) * 60.0, (lon1 - lon0) * 60.0 * coslat)


def flat_destination(lat: float, lon: float, km: float, bearing_deg: float) -> tuple[float, float]:
    """The point ``km`` from (lat, lon) on a bearing (degrees clockwise from north),
    flat-earth with :data:`KM_PER_DEG`: fine within tens of km.

    >>> [round(v, 4) for v in flat_destination(0.0, 0.0, 111.195, 90.0)]
    [0.0, 1.0]
    """
    b = math.radians(bearing_deg)
    dlat = km * math.cos(b) / KM_PER_DEG
    dlon = km * math.sin(b) / (KM_PER_DEG * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


def flat_destinations(lat: float, lon: float, km: ArrayLike, bearing_rad: ArrayLike
                      ) -> tuple[F64, F64]:
    """:func:`flat_destination` from one point for arrays of distances and bearings
    (radians clockwise from north).

    >>> la, lo = flat_destinations(0.0, 0.0, [111.195, 111.195], [0.0, np.pi / 2])
    >>> la.round(4).tolist(), lo.round(4).tolist()
    ([1.0, 0.0], [0.0, 1.0])
    """
    r = np.asarray(km, dtype=np.float64)
    a = np.asarray(bearing_rad, dtype=np.float64)
    return (lat + r * np.cos(a) / KM_PER_DEG,
            lon + r * np.sin(a) / (KM_PER_DEG * math.cos(math.radians(lat))))


def metres_to_degrees(north_m: ArrayLike, east_m: ArrayLike, lat: ArrayLike
                      ) -> tuple[F64, F64]:
    """Small displacements (m north, m east) at latitudes ``lat`` as (dlat, dlon) degrees,
    flat-earth with :data:`M_PER_DEG`.

    >>> [v.round(6).tolist() for v in metres_to_degrees([111.195], [111.195], [60.0])]
    [[0.001], [0.002]]
    """
    dlat = np.asarray(north_m, dtype=np.float64) / M_PER_DEG
    dlon = np.asarray(east_m, dtype=np.float64) / (M_PER_DEG * np.cos(np.radians(lat)))
    return dlat, dlon


def flat_distance_km(lat: ArrayLike, lon: ArrayLike, lat0: float, lon0: float) -> F64:
    """Flat-earth distance (km) from points to (lat0, lon0), longitudes scaled by the
    cosine of each point's latitude: fine within a few hundred km at low latitudes.

    >>> flat_distance_km([1.0], [0.0], 0.0, 0.0).tolist()
    [111.195]
    """
    la = np.asarray(lat, dtype=np.float64)
    lo = np.asarray(lon, dtype=np.float64)
    return np.hypot((la - lat0) * KM_PER_DEG, (lo - lon0) * KM_PER_DEG * np.cos(np.radians(la)))


def flat_bearing(dlat: ArrayLike, dlon: ArrayLike, lat: ArrayLike) -> F64:
    """Bearing (degrees clockwise from north, in [0, 360)) of small displacements (dlat,
    dlon degrees) at latitudes ``lat``, flat-earth.

    >>> flat_bearing([0.0, -1.0], [1.0, 0.0], [0.0, 0.0]).tolist()
    [90.0, 180.0]
    """
    east = np.asarray(dlon, dtype=np.float64) * np.cos(np.radians(lat))
    return np.degrees(np.arctan2(east, dlat)) % 360.0


# -- exact geodesics and local projections (pyproj) ----------------------------------------------
def geodesic_km(lat0: ArrayLike, lon0: ArrayLike, lat1: ArrayLike, lon1: ArrayLike) -> F64:
    """Exact WGS84 geodesic distance (km; pyproj ``Geod``): the reference the fast
    distances above are measured against (a few times slower than :func:`distance_km`).

    >>> geodesic_km([0.0], [0.0], [1.0], [0.0]).round(3).tolist()
    [110.574]
    """
    from pyproj import Geod

    shape = np.broadcast_shapes(*(np.shape(v) for v in (lat0, lon0, lat1, lon1)))
    a, b, c, d = (np.broadcast_to(np.asarray(v, dtype=np.float64), shape).ravel()
                  for v in (lat0, lon0, lat1, lon1))
    _, _, metres = Geod(ellps="WGS84").inv(b, a, d, c)
    return (np.asarray(metres, dtype=np.float64) / 1000.0).reshape(shape)


def aeqd(lat: float, lon: float) -> tuple[Any, Any]:
    """Forward and inverse pyproj transformers of a WGS84 azimuthal-equidistant projection
    (metres) centred on (lat, lon).

    Distances from the centre are exact geodesic distances; elsewhere the scale error grows
    as about ``(rho / R)**2 / 6`` (0.1 % at 550 km from the centre).

    >>> fwd, inv = aeqd(0.0, 0.0)
    >>> x, y = fwd.transform(1.0, 0.0)
    >>> round(x), round(y)
    (111319, 0)
    """
    from pyproj import CRS, Transformer

    crs = CRS.from_proj4(f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84 +units=m +no_defs")
    fwd = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    inv = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    return fwd, inv


def project(geom: Any, transformer: Any) -> Any:
    """Apply a pyproj transformer (always_xy) to every coordinate of a shapely geometry.

    >>> import shapely
    >>> fwd, _ = aeqd(0.0, 0.0)
    >>> round(project(shapely.Point(1.0, 0.0), fwd).x)
    111319
    """
    import shapely

    def fn(xy: F64) -> F64:
        x, y = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, fn)


def buffer_km(geom: Any, km: float, *, quad_segs: int = 32, densify_km: float = 2.0) -> Any:
    """Buffer a lon/lat geometry by ``km`` in a local azimuthal-equidistant projection.

    The projection is centred on the geometry's centroid; the result is densified to
    ``densify_km`` before it goes back to lon/lat so that its edges follow the projection.

    >>> import shapely
    >>> disc = buffer_km(shapely.Point(-85.0, 0.0), 10.0)
    >>> round(float(geodesic_km(0.0, -85.0, disc.bounds[3], -85.0)), 2)
    10.0
    """
    import shapely

    c = shapely.centroid(geom)
    fwd, inv = aeqd(c.y, c.x)
    buffered = shapely.buffer(project(geom, fwd), km * 1000.0, quad_segs=quad_segs)
    buffered = shapely.segmentize(buffered, densify_km * 1000.0)
    return shapely.make_valid(project(buffered, inv))
