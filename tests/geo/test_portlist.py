from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from seawatch.errors import InputError
from seawatch.geo import load_ports, port_index, ports


def test_shipped_list() -> None:
    p = ports(world=True)
    assert p.columns == ["name", "lat", "lon", "iso3", "kind", "source"]
    assert p.schema["lat"] == pl.Float64 and p.schema["lon"] == pl.Float64
    assert set(p["kind"]) == {"anchorage", "port"}
    assert set(p["source"]) == {"gfw_anchorages", "wpi", "seawatch_curated"}
    boxed = pl.col("lat").is_between(-10, 12) & pl.col("lon").is_between(-100, -70)
    # GFW's anchorages and the curated harbours are the Eastern Pacific's (Callao just
    # south of the box); the World Port Index covers the world: every one of its 3,669 ports
    # but the 13 within 2 km of a GFW anchorage in the box
    gfw = p.filter(pl.col("source") == "gfw_anchorages")
    assert gfw.height == 1610 and gfw.select(boxed.all()).item()
    assert p.filter(pl.col("source") == "seawatch_curated").height == 5
    wpi = p.filter(pl.col("source") == "wpi")
    assert wpi.height == 3669 - 13
    assert wpi.filter(~boxed).height == 3614
    assert p["iso3"].null_count() == 0 and (p["iso3"].str.len_chars() == 3).all()
    assert {"ECU", "PAN", "COL", "PER", "CRI", "TWN", "FJI", "BRA", "NAM"} <= set(p["iso3"])
    ports(world=True).clear()  # a copy: callers cannot damage the cached table
    assert ports(world=True).height == p.height


def test_the_eastern_pacific_list_is_the_first_part_and_unchanged() -> None:
    """ports() is the detailed Eastern Pacific list as it was before the World Port Index
    was added (the simulator's world is built on it, so its scenarios stay the same): 1,656
    rows in the box and Callao, the first rows of ports(world=True)."""
    east = ports()
    assert east.height == 1657
    assert east.equals(ports(world=True).head(1657))
    boxed = pl.col("lat").is_between(-10, 12) & pl.col("lon").is_between(-100, -70)
    assert east.filter(~boxed)["name"].to_list() == ["CALLAO"]
    assert set(east["source"]) == {"gfw_anchorages", "wpi", "seawatch_curated"}
    ports().clear()
    assert ports().height == 1657


def test_the_default_index_holds_every_shipped_port() -> None:
    d, i = port_index().nearest([22.5695], [120.3133])  # Kaohsiung, not in ports()
    assert ports(world=True)["name"][int(i[0])] == "KAO-HSIUNG" and d[0] < 10.0


@pytest.mark.parametrize(
    ("lat", "lon", "name"),
    [
        (-0.94, -80.73, "MANTA"),  # Manta harbour
        (-2.28, -79.91, "GUAYAQUIL"),  # Guayaquil river port
        (8.95, -79.57, "BALBOA"),  # Balboa, Pacific end of the canal
    ],
)
def test_nearest_known_ports(lat: float, lon: float, name: str) -> None:
    p = ports()
    d, i = port_index(p).nearest([lat], [lon])
    assert name in p["name"][int(i[0])]
    assert d[0] < 5.0


@pytest.mark.parametrize(
    ("lat", "lon", "name", "km"),
    [
        (22.5695, 120.3133, "KAO-HSIUNG", 10.0),  # a berth of the GFW fixture's moored pair
        (-18.1263, 178.4269, "SUVA HARBOR", 2.0),  # the other moored pair of that fixture
        (-22.87, -43.17, "RIO DE JANEIRO", 5.0),
        (55.70, 12.60, "KOBENHAVN", 5.0),
    ],
)
def test_ports_outside_the_eastern_pacific(lat: float, lon: float, name: str, km: float) -> None:
    p = ports(world=True)
    d, i = port_index(p).nearest([lat], [lon])
    assert p["name"][int(i[0])] == name and p["source"][int(i[0])] == "wpi"
    assert d[0] < km


def test_galapagos_harbours_are_listed_despite_the_gfw_labels() -> None:
    # a quirk of GFW's list, kept as shipped: its 'PTO AYORA' points lie 38 km north of
    # Puerto Ayora, and none of its points is within 25 km of the harbour (0.745 S 90.313 W);
    # the curated harbours fill that hole, so a vessel moored there is in port
    p = ports()
    gfw = p.filter(pl.col("source") != "seawatch_curated")
    d, _ = port_index(gfw).nearest([-0.745], [-90.313])
    assert d[0] > 25
    ayora = p.filter(pl.col("name").str.contains("PTO AYORA"))
    assert ayora.height > 0 and (ayora["lat"] > -0.5).any()
    for lat, lon, name in ((-0.745, -90.313, "PUERTO AYORA"),
                           (-0.901, -89.611, "PUERTO BAQUERIZO MORENO"),
                           (-0.960, -90.963, "PUERTO VILLAMIL")):
        d, i = port_index(p).nearest([lat], [lon])
        assert d[0] < 1 and p["name"][int(i[0])] == name


def test_nearest_is_exact_for_random_points() -> None:
    from pyproj import Geod

    p = ports()
    rng = np.random.default_rng(4)
    lat = rng.uniform(-10, 12, 300)
    lon = rng.uniform(-100, -70, 300)
    d, i = port_index(p).nearest(lat, lon)
    g = Geod(ellps="WGS84")
    plat, plon = p["lat"].to_numpy(), p["lon"].to_numpy()
    for k in range(len(lat)):
        _, _, all_m = g.inv(np.full(len(plat), lon[k]), np.full(len(plat), lat[k]), plon, plat)
        assert all_m[i[k]] / 1000 == pytest.approx(d[k], rel=2e-4, abs=0.01)
        assert all_m.min() / 1000 >= d[k] * (1 - 1e-3) - 0.01


def test_nearest_nan_and_within() -> None:
    idx = port_index(ports())
    d, i = idx.nearest([np.nan, -0.93], [-80.7, -80.72])
    assert np.isinf(d[0]) and i[0] == -1 and i[1] >= 0
    pts, prt = idx.within([-0.93, 0.0], [-80.72, -95.0], 3.0)
    assert set(pts.tolist()) == {0}
    assert (ports()["name"][prt.tolist()] == "MANTA").sum() > 5


def test_load_ports_csv_aliases_and_padding(tmp_path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("LABEL,Latitude,LONGITUDE,other\nManta, -0.93 ,-80.72,x\nX,1.0,2.0,y\n")
    t = load_ports(path)
    assert t.columns == ["name", "lat", "lon", "iso3", "kind", "source"]
    assert t.row(0) == ("Manta", -0.93, -80.72, None, "port", "p.csv")
    d, i = port_index(t).nearest([-0.9], [-80.7])
    assert i[0] == 0 and d[0] < 5


def test_load_ports_csv_errors(tmp_path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("name,y,x\nA,1,2\n")
    with pytest.raises(ValueError, match=r"no 'lat' column .*found: \['name', 'y', 'x'\]"):
        load_ports(path)
    path.write_text("name,lat,lon\nA,north,2\n")
    with pytest.raises(ValueError, match=r"lat is not a number.*'north'"):
        load_ports(path)
    path.write_text("name,lat,lon\nA,95,2\n")
    with pytest.raises(ValueError, match="out-of-range"):
        load_ports(path)
    path.write_text("")
    with pytest.raises(InputError, match="cannot read as CSV"):
        load_ports(path)


def test_load_ports_geojson(tmp_path) -> None:
    path = tmp_path / "p.geojson"
    feats = [
        {
            "type": "Feature",
            "properties": {"Name": "Ayora", "iso3": "ECU"},
            "geometry": {"type": "Point", "coordinates": [-90.31, -0.75]},
        }
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    t = load_ports(path, source="navy")
    assert t.row(0) == ("Ayora", -0.75, -90.31, "ECU", "port", "navy")
    feats[0]["geometry"] = {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    with pytest.raises(ValueError, match="ports must be Points"):
        load_ports(path)
    feats[0]["properties"] = {"title": "x"}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    with pytest.raises(ValueError, match=r"no 'name' column.*found: \['title'\]"):
        load_ports(path)


def test_port_index_needs_lat_lon() -> None:
    with pytest.raises(ValueError, match="lacks column"):
        port_index(pl.DataFrame({"name": ["a"], "y": [1.0]}))


def test_shipped_ports_match_shared_source(shared_geo) -> None:
    src = pl.read_csv(shared_geo / "ports" / "anchorages-eastern-pacific.csv", infer_schema=False)
    shipped = ports().filter(pl.col("source") == "gfw_anchorages")
    assert shipped.height == src.height
    lat = src["latitude"].str.strip_chars().cast(pl.Float64)
    assert np.allclose(np.sort(shipped["lat"].to_numpy()), np.sort(lat.to_numpy()), atol=1e-6)
