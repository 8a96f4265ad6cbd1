from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import Geod

from seawatch.geo import coastline, coverage_box, distance_to_shore_km, on_land
from seawatch.geo.geodesy import aeqd, project
from seawatch.geo.shore import MAX_ERROR_KM, _outside_coast
from tests.geo.geo_places import MANTA, OFF_MANTA, OPEN_OCEAN, SANTA_CRUZ


def _exact_km(lat: float, lon: float, lines, tree) -> float:
    """WGS84 geodesic distance to the nearest line, in an AEQD projection centred on the
    point (exact for distances from the centre), the lines densified every ~50 m."""
    d = abs(float(distance_to_shore_km([lat], [lon], signed=True)[0]))
    # every segment that could be nearer than the answer under test (planar degrees >=
    # km / 108 in |lat| < 14)
    near = lines[tree.query(shapely.Point(lon, lat), predicate="dwithin", distance=d / 100 + 0.02)]
    dense = shapely.segmentize(shapely.GeometryCollection(list(near)), 0.0005)
    fwd, _ = aeqd(lat, lon)
    return shapely.distance(project(dense, fwd), shapely.Point(0, 0)) / 1000.0


@pytest.fixture(scope="module")
def segments():
    lines = shapely.get_parts(
        shapely.GeometryCollection(
            list(shapely.get_parts(coastline())) + list(shapely.get_parts(_outside_coast()))
        )
    )
    xy, part = shapely.get_coordinates(lines, return_index=True)
    i = np.flatnonzero(part[1:] == part[:-1])
    segs = shapely.linestrings(np.stack([xy[i], xy[i + 1]], axis=1))
    return segs, shapely.STRtree(segs)


WORST: list[tuple[float, float]] = []  # (error km, distance km), printed with -s


def _check(lat: np.ndarray, lon: np.ndarray, segments) -> float:
    segs, tree = segments
    got = distance_to_shore_km(lat, lon, signed=True)
    worst = 0.0
    for la, lo, g in zip(lat, lon, got, strict=True):
        ref = _exact_km(la, lo, segs, tree)
        err = abs(abs(g) - ref)
        worst = max(worst, err)
        WORST.append((err, ref))
        assert err <= MAX_ERROR_KM[0] + MAX_ERROR_KM[1] * ref, (la, lo, g, ref)
    e = np.array(WORST)
    print(f"\nmax error {e[:, 0].max():.4f} km; max relative {(e[:, 0] / e[:, 1]).max():.2e}")
    return worst


def test_error_bound_random_points(segments) -> None:
    rng = np.random.default_rng(11)
    x0, y0, x1, y1 = coverage_box()
    lat = rng.uniform(y0, y1, 150)
    lon = rng.uniform(x0, x1, 150)
    _check(lat, lon, segments)


def test_error_bound_near_the_coast(segments) -> None:
    rng = np.random.default_rng(12)
    xy = shapely.get_coordinates(coastline())
    xy = xy[rng.integers(0, len(xy), 150)] + rng.normal(0, 0.15, (150, 2))
    x0, y0, x1, y1 = coverage_box()
    xy = np.clip(xy, [x0, y0], [x1, y1])
    _check(xy[:, 1], xy[:, 0], segments)


def test_known_points() -> None:
    lat, lon = np.array([MANTA, OFF_MANTA, SANTA_CRUZ, OPEN_OCEAN]).T
    d = distance_to_shore_km(lat, lon)
    assert d[0] == 0.0 and d[2] == 0.0
    assert 25 < d[1] < 50
    assert d[3] > 400
    s = distance_to_shore_km(lat, lon, signed=True)
    assert s[0] < 0 and s[2] < 0 and s[1] == d[1]


def test_sign_follows_on_land() -> None:
    rng = np.random.default_rng(3)
    lat = rng.uniform(-3, 2, 20_000)
    lon = rng.uniform(-82, -78, 20_000)
    s = distance_to_shore_km(lat, lon, signed=True)
    assert ((s < 0) == (on_land(lat, lon) & (s != 0))).all()
    assert (distance_to_shore_km(lat, lon) == np.where(s < 0, 0.0, s)).all()


def test_nearest_shore_outside_the_box() -> None:
    # the north-west corner of the box is nearer Mexico and Guatemala than any coast inside
    d = distance_to_shore_km([11.9], [-99.9])[0]
    g = Geod(ellps="WGS84")
    _, _, to_acapulco = g.inv(-99.9, 11.9, -99.88, 16.85)
    assert 400 < d < to_acapulco / 1000


def test_outside_the_box() -> None:
    # mid-Atlantic (the Azores are about 1,300 km away), Gulf of Mexico, NaN
    d = distance_to_shore_km([30.0, 25.0, np.nan], [-40.0, -90.0, -80.0])
    assert 1000 < d[0] < 2000
    assert 300 < d[1] < 500  # Gulf of Mexico, about 400 km from Yucatán and Louisiana
    assert np.isnan(d[2])


def test_shapes() -> None:
    assert distance_to_shore_km(np.full((2, 2), 0.0), -95.0).shape == (2, 2)
    assert distance_to_shore_km([], []).shape == (0,)
