from __future__ import annotations

import json
import math

import numpy as np
import pytest
import shapely
from pyproj import Geod

from seawatch.geo import (
    Zone,
    default_zones,
    distance_to_shore_km,
    load_zones,
    zone_index,
    zones_to_geojson,
)
from seawatch.geo.zones import galapagos_baselines
from tests.geo.geo_places import MANTA, PUERTO_AYORA

NM = 1.852
GEOD = Geod(ellps="WGS84")


def _names(zones, lat, lon) -> list[str]:
    _, z = zone_index(zones).locate([lat], [lon])
    return [zones[i].name for i in z]


def _west_of(lat: float, lon: float, km: float) -> tuple[float, float]:
    x, y, _ = GEOD.fwd(lon, lat, 270.0, km * 1000.0)
    return y, x


@pytest.fixture(scope="module")
def zones() -> list[Zone]:
    return default_zones()


def test_default_zone_names_and_kinds(zones) -> None:
    assert [(z.name, z.kind) for z in zones] == [
        ("Galápagos Marine Reserve", "mpa"),
        ("Ecuador territorial sea", "territorial_sea"),
        ("Ecuador EEZ", "eez"),
    ]
    assert all(z.geometry.is_valid for z in zones)
    assert len(shapely.get_parts(zones[2].geometry)) == 2  # mainland and Galápagos


def test_puerto_ayora_is_in_all_three(zones) -> None:
    assert _names(zones, *PUERTO_AYORA) == [z.name for z in zones]


def test_100_nm_west_of_isabela_is_eez_only(zones) -> None:
    # westernmost point of Isabela (Fernandina lies a little north-east)
    hull = galapagos_baselines()
    x0 = hull.bounds[0]
    lat = -0.5
    west = shapely.intersection(hull, shapely.LineString([(-93, lat), (-89, lat)])).bounds[0]
    assert west - x0 < 0.5
    p = _west_of(lat, west, 100 * NM)
    assert _names(zones, *p) == ["Ecuador EEZ"]


def test_300_nm_off_the_mainland_is_outside(zones) -> None:
    # south-west from Salinas, away from the Galápagos
    x, y, _ = GEOD.fwd(-81.0, -2.2, 240.0, 300 * NM * 1000.0)
    p = (y, x)
    assert distance_to_shore_km([p[0]], [p[1]])[0] > 210 * NM  # beyond 200 nm of any coast
    assert _names(zones, *p) == []


def test_limits_sit_at_their_distances(zones) -> None:
    # along the parallel through Manta: 12 nm and 200 nm from the coast, within 2 km
    ts, eez = zones[1].geometry, zones[2].geometry
    coast_lon = -80.73  # Manta's shore at 0.95 S
    for zone, nm in ((ts, 12), (eez, 200)):
        inside = _west_of(MANTA[0], coast_lon, nm * NM - 3)
        outside = _west_of(MANTA[0], coast_lon, nm * NM + 3)
        # the coast bends (Cabo San Lorenzo), so measure the distance that matters
        d_in, d_out = distance_to_shore_km([inside[0], outside[0]], [inside[1], outside[1]])
        assert shapely.contains_xy(zone, inside[1], inside[0]) == (d_in <= nm * NM)
        assert shapely.contains_xy(zone, outside[1], outside[0]) == (d_out <= nm * NM)


def test_reserve_is_40_nm_from_the_hull(zones) -> None:
    hull = galapagos_baselines()
    rng = np.random.default_rng(5)
    edge = shapely.get_coordinates(shapely.segmentize(zones[0].geometry.exterior, 0.05))
    for lon, lat in edge[rng.integers(0, len(edge), 40)]:
        (nx, ny), _ = shapely.get_coordinates(shapely.shortest_line(hull, shapely.Point(lon, lat)))
        _, _, d = GEOD.inv(lon, lat, nx, ny)
        assert abs(d / 1000 - 40 * NM) < 1.5  # nearest point is found in degrees


def test_zone_index_matches_contains_xy(zones) -> None:
    rng = np.random.default_rng(9)
    lat = rng.uniform(-8, 8, 200_000)
    lon = rng.uniform(-98, -75, 200_000)
    p, z = zone_index(zones).locate(lat, lon)
    assert (np.diff(p) >= 0).all()
    for k, zone in enumerate(zones):
        want = np.flatnonzero(shapely.contains_xy(zone.geometry, lon, lat))
        assert np.array_equal(np.sort(p[z == k]), want)
    # every territorial-sea point is also in the EEZ
    ts = set(p[z == 1].tolist())
    assert ts <= set(p[z == 2].tolist())


def _write(tmp_path, features, name="zones.geojson"):
    path = tmp_path / name
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def _feature(props, geom):
    return {"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(geom)}


def test_load_zones_geojson(tmp_path) -> None:
    box = shapely.box(-81.0, -1.5, -80.5, -0.5)
    path = _write(
        tmp_path,
        [
            _feature({"name": "Manta box", "kind": "patrol", "agency": "ARE"}, box),
            _feature({"NAME": "Other"}, shapely.MultiPolygon([shapely.box(0, 0, 1, 1)])),
        ],
    )
    zs = load_zones(path)
    assert [(z.name, z.kind) for z in zs] == [("Manta box", "patrol"), ("Other", "user")]
    assert zs[0].properties == {"agency": "ARE"}
    assert zs[0].geometry.equals(box)
    assert _names(zs, -0.95, -80.7) == ["Manta box"]
    # round trip
    back = load_zones(_write(tmp_path, zones_to_geojson(zs)["features"], "back.geojson"))
    assert [(z.name, z.kind, dict(z.properties)) for z in back] == [
        (z.name, z.kind, dict(z.properties)) for z in zs
    ]


def test_load_zones_missing_name(tmp_path) -> None:
    path = _write(tmp_path, [_feature({"title": "x", "id": 3}, shapely.box(0, 0, 1, 1))])
    with pytest.raises(ValueError, match=r"'name' property.*found: \['id', 'title'\]"):
        load_zones(path)
    assert load_zones(path, name_field="title")[0].name == "x"


def test_load_zones_rejects_points(tmp_path) -> None:
    path = _write(tmp_path, [_feature({"name": "p"}, shapely.Point(0, 0))])
    with pytest.raises(ValueError, match="Point; zones must be Polygon"):
        load_zones(path)


def test_load_zones_repairs_bow_tie(tmp_path) -> None:
    bow = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    assert not bow.is_valid
    (z,) = load_zones(_write(tmp_path, [_feature({"name": "bow"}, bow)]))
    assert z.geometry.is_valid and math.isclose(z.geometry.area, 0.5)


def test_load_zones_geopackage_and_shapefile(tmp_path) -> None:
    pytest.importorskip("pyogrio")
    from pyogrio.raw import write
    from pyproj import Transformer

    box = shapely.box(-81.0, -1.5, -80.5, -0.5)
    for ext, driver in ((".gpkg", "GPKG"), (".shp", "ESRI Shapefile")):
        path = tmp_path / f"zones{ext}"
        write(
            path,
            np.array([shapely.to_wkb(box)], dtype=object),
            [np.array(["Manta box"], dtype=object)],
            ["NAME"],
            geometry_type="Polygon",
            crs="EPSG:4326",
            driver=driver,
        )
        (z,) = load_zones(path)
        assert z.name == "Manta box" and z.geometry.equals(box)
    # a projected file (UTM 17S) comes back in lon/lat
    tr = Transformer.from_crs("EPSG:4326", "EPSG:32717", always_xy=True)
    utm = shapely.transform(box, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
    path = tmp_path / "utm.gpkg"
    write(
        path,
        np.array([shapely.to_wkb(utm)], dtype=object),
        [np.array(["u"], dtype=object)],
        ["name"],
        geometry_type="Polygon",
        crs="EPSG:32717",
        driver="GPKG",
    )
    (z,) = load_zones(path)
    assert shapely.symmetric_difference(z.geometry, box).area < 1e-6


def test_shapefile_without_pyogrio(tmp_path, monkeypatch) -> None:
    import builtins

    real = builtins.__import__

    def no_pyogrio(name, *a, **k):
        if name.split(".")[0] == "pyogrio":
            raise ImportError("no pyogrio")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_pyogrio)
    with pytest.raises(ImportError, match="pip install pyogrio"):
        load_zones(tmp_path / "zones.shp")


def test_zone_rejects_non_polygons() -> None:
    with pytest.raises(ValueError, match="must be a"):
        Zone("line", "user", shapely.LineString([(0, 0), (1, 1)]))


def test_areas_match_published_figures(zones) -> None:
    # sea area of the Galápagos Marine Reserve: about 133,000 km2; Ecuador's EEZ (mainland
    # and Galápagos): about 1,077,000 km2 (Sea Around Us). The approximations land within 5 %.
    from seawatch.geo import land

    def sea_km2(z: Zone) -> float:
        return abs(GEOD.geometry_area_perimeter(shapely.difference(z.geometry, land()))[0]) / 1e6

    assert sea_km2(zones[0]) == pytest.approx(133_000, rel=0.05)
    assert sea_km2(zones[2]) == pytest.approx(1_077_000, rel=0.05)
