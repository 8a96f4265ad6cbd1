"""seawatch.geo.geodesy: error bounds against the exact WGS84 geodesic, agreement of the
NumPy, Polars and numba flavours, edge cases (antimeridian, poles, antipodes)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import polars as pl
import pytest

from seawatch.geo import geodesy as G


def _pairs(n: int, max_km: float, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Random point pairs anywhere (poles and the antimeridian included) up to ``max_km``
    apart."""
    rng = np.random.default_rng(seed)
    lat0 = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    lon0 = rng.uniform(-180, 180, n)
    from pyproj import Geod

    lon1, lat1, _ = Geod(ellps="WGS84").fwd(lon0, lat0, rng.uniform(0, 360, n),
                                            rng.uniform(0, max_km * 1000.0, n))
    return lat0, lon0, np.asarray(lat1), np.asarray(lon1)


def test_chord_distances_against_the_geodesic() -> None:
    lat0, lon0, lat1, lon1 = _pairs(5000, 500.0)
    ref = G.geodesic_km(lat0, lon0, lat1, lon1)
    assert np.all(np.abs(G.distance_km(lat0, lon0, lat1, lon1) - ref) <= 1e-5 * ref + 1e-9)
    near = _pairs(5000, 20.0, seed=1)
    ref_m = G.geodesic_km(*near) * 1000.0
    assert np.abs(G.distance_m(*near) - ref_m).max() < 1e-3  # a millimetre


def test_haversine_against_the_geodesic_and_its_flavours() -> None:
    lat0, lon0, lat1, lon1 = _pairs(5000, 2000.0, seed=2)
    ref = G.geodesic_km(lat0, lon0, lat1, lon1)
    hav = G.haversine_km(lat0, lon0, lat1, lon1)
    assert np.all(np.abs(hav - ref) <= 6e-3 * ref + 1e-9)
    frame = pl.DataFrame({"a": lat0, "b": lon0, "c": lat1, "d": lon1})
    expr = frame.select(G.haversine_km_expr(pl.col("a"), pl.col("b"), pl.col("c"),
                                            pl.col("d")))
    np.testing.assert_allclose(expr.to_series().to_numpy(), hav, rtol=1e-12, atol=1e-9)
    scalar = G.haversine_km_scalar
    jit = np.array([scalar(*row) for row in zip(lat0, lon0, lat1, lon1, strict=True)])
    np.testing.assert_allclose(jit, hav, rtol=1e-12, atol=1e-9)


def test_numba_scalars_agree_with_numpy() -> None:
    lat0, lon0, lat1, lon1 = _pairs(2000, 300.0, seed=3)
    a, b = G.ecef_km(lat0, lon0), G.ecef_km(lat1, lon1)
    xyz = np.array([G.ecef_km_scalar(la, lo) for la, lo in zip(lat0, lon0, strict=True)])
    np.testing.assert_allclose(xyz, a, rtol=0, atol=1e-9)
    d = np.array([G.ecef_distance_km_scalar(*p, *q) for p, q in zip(a, b, strict=True)])
    np.testing.assert_allclose(d, G.distance_km(lat0, lon0, lat1, lon1), rtol=1e-12)
    chords = np.array([0.0, 1.0, 500.0, 2 * G.MEAN_RADIUS_KM, 13_000.0, np.inf])
    arcs = G.chord_to_arc_km(chords)
    jit = [G.chord_to_arc_km_scalar(c) for c in chords]
    np.testing.assert_allclose(jit, arcs, rtol=1e-15)  # each library has its own asin
    assert jit[-3:] == arcs[-3:].tolist()
    assert arcs[-3:].tolist() == [np.pi * G.MEAN_RADIUS_KM] * 3  # antipodes and beyond
    assert np.isnan(G.chord_to_arc_km([np.nan])[0]) and np.isnan(G.chord_to_arc_km_scalar(np.nan))
    np.testing.assert_allclose(G.arc_to_chord_km(arcs[:3]), chords[:3], rtol=1e-12, atol=1e-12)


def test_km_and_m_are_one_method() -> None:
    lat0, lon0, lat1, lon1 = _pairs(1000, 100.0, seed=4)
    np.testing.assert_allclose(G.distance_m(lat0, lon0, lat1, lon1) / 1000.0,
                               G.distance_km(lat0, lon0, lat1, lon1), rtol=1e-9)
    np.testing.assert_allclose(np.column_stack(G.ecef_m(lat0, lon0)) / 1000.0,
                               G.ecef_km(lat0, lon0), rtol=1e-12)


def test_longitudes_the_short_way_round() -> None:
    lon0 = np.array([179.5, -179.5, 10.0, -180.0, 180.0])
    lon1 = np.array([-179.5, 179.5, 20.0, 180.0, -180.0])
    assert G.lon_delta(lon0, lon1).tolist() == [1.0, -1.0, 10.0, -0.0, 0.0]
    assert [G.lon_delta_scalar(a, b) for a, b in zip(lon0, lon1, strict=True)] == [
        1.0, -1.0, 10.0, 0.0, 0.0]
    assert G.wrap_lon([180.0, -180.0, 540.5]).tolist() == [-180.0, -180.0, -179.5]
    assert G.distance_km([0.0], [179.99], [0.0], [-179.99])[0] == pytest.approx(2.226, abs=1e-3)


def test_spherical_means_of_unit_vectors() -> None:
    # two points: the mean lies halfway along the great circle between them
    lat0, lon0, lat1, lon1 = _pairs(2000, 2000.0, seed=5)
    x0, y0, z0 = G.unit_vectors(lat0, lon0)
    x1, y1, z1 = G.unit_vectors(lat1, lon1)
    assert np.allclose(x0**2 + y0**2 + z0**2, 1.0)
    lat, lon = G.vector_lat_lon(x0 + x1, y0 + y1, z0 + z1)
    half0 = G.haversine_km(lat0, lon0, lat, lon)
    half1 = G.haversine_km(lat1, lon1, lat, lon)
    assert np.abs(half0 - half1).max() < 1e-6
    assert np.abs(half0 + half1 - G.haversine_km(lat0, lon0, lat1, lon1)).max() < 1e-6
    # across the antimeridian, and at a pole
    x, y, z = G.unit_vectors([10.0, 10.0], [179.5, -179.5])
    mlat, mlon = G.vector_lat_lon(x.sum(), y.sum(), z.sum())
    assert float(mlat) == pytest.approx(10.0, abs=1e-3) and abs(float(mlon)) == pytest.approx(180)
    x, y, z = G.unit_vectors([89.0, 89.0], [0.0, 180.0])
    assert float(G.vector_lat_lon(x.sum(), y.sum(), z.sum())[0]) == pytest.approx(90.0)
    # the Polars longitude agrees with NumPy's to the last few bits
    frame = pl.DataFrame({"x": x0 + x1, "y": y0 + y1})
    expr = frame.select(G.vector_lon_expr(pl.col("x"), pl.col("y"))).to_series().to_numpy()
    assert np.abs(expr - lon).max() < 1e-12


def test_implied_speed_and_knots() -> None:
    t = np.array([0, 1_800_000_000, 1_800_000_000, 5_400_000_000])
    lat = np.array([0.0, 0.0, 0.0, 0.0])
    lon = np.array([0.0, 1.0 / 60.0, 1.0 / 60.0, 0.0])
    v = G.implied_speed_kn(lat, lon, t, np.array([True, True, True]))
    d = G.distance_m([0.0], [0.0], [0.0], [1.0 / 60.0])[0]
    assert v[0] == pytest.approx(d / 1852.0 * 2)
    assert np.isnan(v[1]) and np.isnan(v[3])  # no time between; last position
    assert G.speed_kn([G.NM_KM], [3600.0]).tolist() == [1.0]


def test_flat_approximations() -> None:
    km = np.array([0.0, 3.0, 12.0])
    bearing = np.array([0.0, 100.0, 250.0])
    la, lo = G.flat_destinations(-1.0, -85.0, km, np.radians(bearing))
    one = [G.flat_destination(-1.0, -85.0, k, b) for k, b in zip(km, bearing, strict=True)]
    np.testing.assert_allclose(np.column_stack([la, lo]), one, rtol=0, atol=1e-12)
    for (a, b), k in zip(one, km, strict=True):  # tens of km: within 0.5 % of the geodesic
        assert G.geodesic_km(-1.0, -85.0, a, b) == pytest.approx(k, rel=5e-3, abs=1e-9)
        assert G.flat_distance_km([a], [b], -1.0, -85.0)[0] == pytest.approx(k, rel=5e-3,
                                                                             abs=1e-9)
        assert G.flat_distance_nm(-1.0, -85.0, a, b) * G.NM_KM == pytest.approx(k, rel=5e-3,
                                                                                abs=1e-9)
    dlat, dlon = G.metres_to_degrees([100.0], [-50.0], [-1.0])
    assert G.flat_bearing(dlat, dlon, [-1.0])[0] == pytest.approx(360.0 - 26.565, abs=1e-3)


def test_importing_it_is_cheap() -> None:
    code = ("import sys, seawatch.geo.geodesy, seawatch.tracks; "
            "assert not {'numba', 'pyproj', 'shapely'} & set(sys.modules), sys.modules.keys()")
    subprocess.run([sys.executable, "-c", code], check=True)
