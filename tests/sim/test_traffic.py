"""Tests of seawatch.sim.traffic: schema, determinism, geography, realism, NMEA round trip."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from seawatch import schema
from seawatch.io.nmea import read_nmea
from seawatch.sim import simulate_traffic, write_scenario
from seawatch.sim import traffic as T

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
LAND = SHARED / "geo" / "land-eastern-pacific.geojson"
LAND_BOX = (-10.0, 12.0, -100.0, -70.0)  # lat min, lat max, lon min, lon max of the file


@pytest.fixture(scope="module")
def run() -> tuple[pl.DataFrame, pl.DataFrame]:
    return simulate_traffic(seed=11, hours=6.0, vessels=120)


# -- a point-in-polygon test on the shared land polygons (test only, NumPy) --------------------
class LandMask:
    """Even-odd ray casting over the polygons' edges, bucketed by latitude band."""

    BAND = 0.05  # degrees

    def __init__(self, path: Path) -> None:
        doc = json.loads(path.read_text())
        edges = []
        for feature in doc["features"]:
            geom = feature["geometry"]
            polygons = geom["coordinates"] if geom["type"] == "MultiPolygon" else [
                geom["coordinates"]]
            for polygon in polygons:
                for ring in polygon:
                    r = np.asarray(ring, float)
                    edges.append(np.column_stack([r[:-1], r[1:]]))  # x0, y0, x1, y1
        e = np.concatenate(edges)
        e = e[e[:, 1] != e[:, 3]]  # horizontal edges never cross a horizontal ray
        lo = np.floor((np.minimum(e[:, 1], e[:, 3]) - LAND_BOX[0]) / self.BAND).astype(int)
        hi = np.floor((np.maximum(e[:, 1], e[:, 3]) - LAND_BOX[0]) / self.BAND).astype(int)
        n_band = math.ceil((LAND_BOX[1] - LAND_BOX[0]) / self.BAND) + 1
        counts = hi - lo + 1
        edge_of = np.repeat(np.arange(len(e)), counts)
        band_of = np.repeat(lo, counts) + (np.arange(counts.sum()) - np.repeat(
            np.cumsum(counts) - counts, counts))
        order = np.argsort(band_of, kind="stable")
        self.edges = e
        self.edge_ids = edge_of[order]
        self.starts = np.searchsorted(band_of[order], np.arange(n_band + 1))

    def contains(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        lat = np.asarray(lat, float)
        lon = np.asarray(lon, float)
        inside = np.zeros(lat.size, bool)
        band = np.floor((lat - LAND_BOX[0]) / self.BAND).astype(int)
        ok = (lat >= LAND_BOX[0]) & (lat < LAND_BOX[1]) & (lon >= LAND_BOX[2]) & (
            lon <= LAND_BOX[3])
        for b in np.unique(band[ok]):
            pts = np.flatnonzero(ok & (band == b))
            e = self.edges[self.edge_ids[self.starts[b] : self.starts[b + 1]]]
            if not e.size:
                continue
            px, py = lon[pts, None], lat[pts, None]
            x0, y0, x1, y1 = (e[:, k][None, :] for k in range(4))
            crosses = (y0 > py) != (y1 > py)
            x_at = x0 + (py - y0) * (x1 - x0) / (y1 - y0)
            inside[pts] = ((crosses & (px < x_at)).sum(axis=1) % 2) == 1
        return inside


@pytest.fixture(scope="module")
def land() -> LandMask:
    if not LAND.is_file():
        pytest.skip(f"shared land polygons not found at {LAND}")
    return LandMask(LAND)


def test_land_mask_knows_the_coast(land: LandMask) -> None:
    lat = np.array([-0.95, -0.95, -0.62, -5.0, -2.0, 4.0])
    lon = np.array([-80.68, -81.17, -90.35, -95.0, -79.5, -74.0])
    assert land.contains(lat, lon).tolist() == [True, False, True, False, True, True]


# -- shape of the output -----------------------------------------------------------------------
def test_frames_have_the_canonical_schema(run: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    positions, vessels = run
    assert positions.schema == pl.Schema(schema.POSITIONS)
    assert vessels.schema == pl.Schema(schema.VESSELS)
    assert positions.height > 10_000 and vessels.height > 1000
    assert positions["source"].unique().to_list() == ["seawatch-sim"]
    assert positions["mmsi_valid"].all() and vessels["mmsi_valid"].all()
    assert positions["ts"].is_sorted() and vessels["ts"].is_sorted()
    assert positions.select("mmsi", "lat", "lon", "sog", "cog", "ts").null_count().sum_horizontal(
    ).item() == 0


def test_time_window(run: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    start = datetime(2026, 1, 15, tzinfo=UTC)
    for frame in run:
        assert frame["ts"].min() >= start
        assert frame["ts"].max() < start + timedelta(hours=6)
        assert (frame["ts"].dt.microsecond() == 0).all()  # whole seconds, as NMEA c: carries
    other, _ = simulate_traffic(seed=11, hours=1.0, vessels=5,
                                start=datetime(2025, 3, 1, 12, 0))  # naive: UTC
    assert other["ts"].min() >= datetime(2025, 3, 1, 12, tzinfo=UTC)
    assert other["ts"].max() < datetime(2025, 3, 1, 13, tzinfo=UTC)


def test_same_seed_same_frames_other_seed_other_frames() -> None:
    a = simulate_traffic(seed=5, hours=2.0, vessels=40)
    b = simulate_traffic(seed=5, hours=2.0, vessels=40)
    c = simulate_traffic(seed=6, hours=2.0, vessels=40)
    assert a[0].equals(b[0]) and a[1].equals(b[1])
    assert not a[0].equals(c[0])


def test_no_vessels_and_bad_arguments() -> None:
    positions, vessels = simulate_traffic(seed=1, hours=1.0, vessels=0)
    assert positions.height == 0 and positions.schema == pl.Schema(schema.POSITIONS)
    assert vessels.height == 0 and vessels.schema == pl.Schema(schema.VESSELS)
    with pytest.raises(ValueError, match="hours"):
        simulate_traffic(seed=1, hours=0, vessels=3)
    with pytest.raises(ValueError, match="vessels"):
        simulate_traffic(seed=1, hours=1, vessels=-1)


def test_every_vessel_reports_and_small_fleets_still_mix(run) -> None:
    positions, vessels = run
    assert positions["mmsi"].n_unique() == 120
    assert set(vessels["mmsi"].unique()) == set(positions["mmsi"].unique())
    small, _ = simulate_traffic(seed=2, hours=1.0, vessels=6)
    assert small["mmsi"].n_unique() == 6
    assert set(small["msg_type"].unique()) == {1, 18}


# -- geography ---------------------------------------------------------------------------------
def test_route_legs_and_grounds_are_at_sea(land: LandMask) -> None:
    for name, route in T.ROUTES.items():
        pts = np.array([T.WAYPOINTS[w] for w in route])
        t = np.linspace(0.0, 1.0, 500)[:, None]
        for (a0, b0), (a1, b1) in pairwise(pts):
            lat, lon = (a0 + (a1 - a0) * t).ravel(), (b0 + (b1 - b0) * t).ravel()
            assert not land.contains(lat, lon).any(), f"route {name} crosses land"
    vertices = np.concatenate([land.edges[:, :2], land.edges[:, 2:]])
    for name, g in T.GROUNDS.items():
        a = np.linspace(0, 2 * np.pi, 720)
        r = np.linspace(0, 1, 30)[:, None] * g.radius_km
        lat = g.lat + (r * np.cos(a)).ravel() / 111.2
        lon = g.lon + (r * np.sin(a)).ravel() / (111.2 * np.cos(np.radians(g.lat)))
        assert not land.contains(lat, lon).any(), f"ground {name} touches land"
        dy = (vertices[:, 1] - g.lat) * 111.2
        dx = (vertices[:, 0] - g.lon) * 111.2 * np.cos(np.radians(g.lat))
        assert np.hypot(dx, dy).min() > g.radius_km, f"an island lies in ground {name}"


def test_no_position_on_land(land: LandMask, run: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    positions, _ = run
    lat, lon = positions["lat"].to_numpy(), positions["lon"].to_numpy()
    assert not land.contains(lat, lon).any()
    assert (lat > -12.5).all() and (lat < 9.0).all()
    assert (lon > -100.0).all() and (lon < -77.0).all()


def test_areas_are_covered(run: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    positions, _ = run
    lat, lon = positions["lat"], positions["lon"]
    galapagos = ((lon < -89.0) & (lon > -92.0)).sum()
    high_seas = (lon < -92.5).sum()
    ecuador_coast = ((lon > -81.5) & (lat.is_between(-3.5, 1.5))).sum()
    assert galapagos > 0 and high_seas > 0 and ecuador_coast > 0


# -- realism -----------------------------------------------------------------------------------
def _with_identity(run: tuple[pl.DataFrame, pl.DataFrame]) -> pl.DataFrame:
    positions, vessels = run
    types = (vessels.filter(pl.col("ship_type").is_not_null())
             .group_by("mmsi").agg(pl.col("ship_type").first(), pl.col("flag").first()))
    return positions.join(types, on="mmsi", how="left")


def test_flags_and_mids(run: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    _, vessels = run
    flags = set(vessels["flag"].unique())
    assert {"ECU", "PAN", "CHN"} <= flags
    assert flags <= {"ECU", "PAN", "LBR", "MHL", "MLT", "SGP", "HKG", "PER", "CHL", "COL", "CHN"}
    per = vessels.group_by("mmsi").agg(pl.col("flag").n_unique(), pl.col("name").drop_nulls()
                                       .n_unique(), pl.col("callsign").drop_nulls().n_unique())
    assert (per["flag"] == 1).all() and (per["name"] == 1).all() and (per["callsign"] == 1).all()
    chinese = vessels.filter(pl.col("flag") == "CHN")
    assert (chinese["ship_type"].drop_nulls() == 30).all()
    assert chinese["name"].drop_nulls().str.contains(r"\d$").all()
    imo = vessels["imo"].drop_nulls().unique().to_list()
    assert imo and all(_imo_check_digit_ok(x) for x in imo)


def _imo_check_digit_ok(imo: int) -> bool:
    d = [int(c) for c in str(imo)]
    return len(d) == 7 and sum(x * w for x, w in zip(d[:6], range(7, 1, -1), strict=True)) % 10 \
        == d[6]


def test_speeds_per_type(run: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    frame = _with_identity(run)
    merchant = frame.filter((pl.col("ship_type") // 10).is_in([7, 8]) & (pl.col("nav_status") == 0))
    fishing_b = frame.filter((pl.col("ship_type") == 30) & (pl.col("msg_type") == 18))
    jiggers = frame.filter((pl.col("flag") == "CHN") & (pl.col("nav_status") == 7))
    assert 10.0 < merchant["sog"].median() < 18.0 and merchant["sog"].max() < 19.0
    assert fishing_b["sog"].max() < 10.0 and fishing_b["sog"].median() < 6.0
    assert jiggers["sog"].max() < 3.5
    anchored = frame.filter(pl.col("nav_status") == 1)
    assert anchored.height > 0 and anchored["sog"].max() < 0.5
    # class B reports no status and no heading; class A both
    b = frame.filter(pl.col("msg_type") == 18)
    a = frame.filter(pl.col("msg_type") == 1)
    assert b["nav_status"].is_null().all() and b["heading"].is_null().all()
    assert a["nav_status"].is_not_null().all() and a["heading"].is_not_null().all()


def test_implied_speeds_are_plausible(run: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    positions, _ = run
    steps = positions.sort("mmsi", "ts").with_columns(
        dt=pl.col("ts").diff().over("mmsi").dt.total_seconds(),
        dlat=pl.col("lat").diff().over("mmsi"),
        dlon=pl.col("lon").diff().over("mmsi") * (pl.col("lat").radians().cos()),
    ).drop_nulls("dt")
    km = (steps["dlat"] ** 2 + steps["dlon"] ** 2).sqrt() * 111.2
    knots = km / 1.852 / (steps["dt"] / 3600)
    assert knots.max() < 25.0  # what the segmenter would call a jump
    assert steps["dt"].min() >= 25


def test_reporting_intervals(run: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    positions, vessels = run
    gaps = positions.sort("mmsi", "ts").with_columns(
        gap=pl.col("ts").diff().over("mmsi").dt.total_seconds()
    ).drop_nulls("gap")
    for msg_type, low, typical in ((1, 26, (30, 60, 180)), (18, 86, (90, 180))):
        g = gaps.filter(pl.col("msg_type") == msg_type)["gap"]
        assert g.min() >= low
        # most gaps are the nominal intervals (give or take the jitter); the rest are losses
        nominal = pl.any_horizontal([(pl.col("gap") - t).abs() <= 5 for t in typical])
        share = gaps.filter(pl.col("msg_type") == msg_type).select(nominal.mean()).item()
        assert share > 0.8
    ids = vessels.sort("mmsi", "ts").with_columns(
        gap=pl.col("ts").diff().over("mmsi", "msg_type").dt.total_seconds()
    )
    five = ids.filter(pl.col("msg_type") == 5)["gap"].drop_nulls()
    assert five.min() == 360 and five.median() == 360
    assert set(vessels.filter(pl.col("msg_type") == 5)["mmsi"]) == set(
        positions.filter(pl.col("msg_type") == 1)["mmsi"])
    parts = vessels.filter(pl.col("msg_type") == 24)
    part_a = parts.filter(pl.col("name").is_not_null())
    part_b = parts.filter(pl.col("callsign").is_not_null())
    assert part_a["callsign"].is_null().all() and part_b["name"].is_null().all()
    assert abs(part_a.height - part_b.height) < 0.2 * part_a.height
    assert set(parts["mmsi"]) == set(positions.filter(pl.col("msg_type") == 18)["mmsi"])


def test_destinations_follow_the_voyage(run: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    _, vessels = run
    dest = vessels.filter(pl.col("msg_type") == 5)["destination"].drop_nulls().unique()
    assert set(dest) <= set(T.PORT_NAMES.values())
    assert len(dest) >= 3


# -- NMEA round trip ---------------------------------------------------------------------------
def test_write_scenario_round_trips_through_the_decoder(tmp_path: Path) -> None:
    paths = write_scenario(tmp_path / "demo", seed=4, hours=1.0, vessels=25)
    assert paths == {"nmea": tmp_path / "demo" / "traffic.nmea"}
    first = paths["nmea"].read_text().splitlines()[0]
    assert first.startswith("\\s:seawatch-sim,c:1768435")
    result = read_nmea(paths["nmea"])
    positions, vessels = simulate_traffic(seed=4, hours=1.0, vessels=25)
    assert result.quarantine.height == 0
    assert result.positions.equals(positions)
    assert result.vessels.equals(vessels)
