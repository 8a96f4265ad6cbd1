from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from seawatch import schema
from seawatch.geo import infer_anchorages
from seawatch.geo.anchorages import (
    GFW_YEAR_SCALE,
    AnchorageParams,
    anchorages_from_periods,
    cell_of,
    stationary_periods,
)
from seawatch.params import ConfigError

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def _stationary(mmsi0: int, n: int, lat: float, lon: float, hours: float = 20, every_min=5):
    """n vessels parked at (lat, lon) with ~50 m of jitter, one report every few minutes."""
    rng = np.random.default_rng(mmsi0)
    steps = int(hours * 60 / every_min)
    rows = []
    for m in range(mmsi0, mmsi0 + n):
        start = T0 + timedelta(hours=float(rng.uniform(0, 48)))
        for k in range(steps):
            rows.append(
                {
                    "mmsi": m,
                    "ts": start + timedelta(minutes=every_min * k),
                    "lat": lat + rng.normal(0, 0.0003),
                    "lon": lon + rng.normal(0, 0.0003),
                    "sog": float(abs(rng.normal(0, 0.1))),
                }
            )
    return rows


def _moving(mmsi: int, hours: float = 30) -> list[dict]:
    return [
        {
            "mmsi": mmsi,
            "ts": T0 + timedelta(minutes=5 * k),
            "lat": -1.5 + 0.01 * k,
            "lon": -82.0,
            "sog": 7.0,
        }
        for k in range(int(hours * 12))
    ]


def _positions(rows: list[dict]) -> pl.DataFrame:
    return schema.conform(pl.DataFrame(rows), schema.POSITIONS)


def test_busy_cell_found_quiet_cell_not_at_gfw_year_scale() -> None:
    rows = _stationary(1000, 25, -0.935, -80.715)  # 25 vessels off Manta
    rows += _stationary(2000, 3, -2.3, -79.95)  # 3 vessels in the Guayas
    rows += _moving(3000)
    out = infer_anchorages(_positions(rows), **GFW_YEAR_SCALE)
    assert out.columns == [
        "lat",
        "lon",
        "n_vessels",
        "n_positions",
        "n_periods",
        "stationary_hours",
        "cell_row",
        "cell_col",
    ]
    assert out.height >= 1
    top = out.row(0, named=True)
    assert top["n_vessels"] >= 20
    assert top["lat"] == pytest.approx(-0.935, abs=0.003)
    assert top["lon"] == pytest.approx(-80.715, abs=0.003)
    # the jitter may split the 25 over two neighbouring cells, never over more vessels
    assert out["n_vessels"].sum() <= 25
    assert (out["lat"] < -2).sum() == 0
    # at the day scale (the default) the 3 vessels in the Guayas are a cluster too
    day = infer_anchorages(_positions(rows))
    assert (day["lat"] < -2).sum() == 1 and day.filter(pl.col("lat") < -2)["n_vessels"][0] == 3


def _still(mmsi0: int, n: int, lat: float, lon: float, minutes: int, every_min: int = 10):
    """n vessels still at one point for ``minutes`` (all at the same times)."""
    return [
        {"mmsi": m, "ts": T0 + timedelta(minutes=k), "lat": lat, "lon": lon + 1e-5 * (m % 7),
         "sog": 0.1}
        for m in range(mmsi0, mmsi0 + n)
        for k in range(0, minutes + 1, every_min)
    ]


def test_day_scale_three_vessels_two_hours_near_shore() -> None:
    """The default rule: three distinct vessels still for more than 2 h in one cell within
    5 km of shore. Two are not a cluster, 2 h exactly is not a stay (strictly longer, as
    GFW), and three vessels drifting together far at sea are a meeting (an encounter to
    judge), not an anchorage."""
    harbour = (-1.03, -80.92)  # a cove 2 km from shore, 24 km from the nearest shipped port
    from seawatch.geo import distance_to_shore_km

    assert 0.5 < distance_to_shore_km([harbour[0]], [harbour[1]])[0] < 5
    found = infer_anchorages(_positions(_still(10, 3, *harbour, 130)))
    assert found.height == 1
    assert found.select("n_vessels", "n_periods").row(0) == (3, 3)
    assert found["lat"][0] == pytest.approx(harbour[0], abs=1e-9)
    assert infer_anchorages(_positions(_still(10, 2, *harbour, 130))).height == 0
    assert infer_anchorages(_positions(_still(10, 3, *harbour, 120))).height == 0
    offshore = _positions(_still(10, 3, -2.0, -86.0, 240))  # 390 km from shore
    assert infer_anchorages(offshore).height == 0
    assert infer_anchorages(offshore, max_shore_km=None).height == 1
    assert infer_anchorages(offshore, max_shore_km=float("inf")).height == 1
    # a year's thresholds find nothing in a day of three vessels
    assert infer_anchorages(_positions(_still(10, 3, *harbour, 600)), **GFW_YEAR_SCALE).height == 0


def test_periods_carry_their_times() -> None:
    periods = stationary_periods(_positions(_still(10, 1, -1.03, -80.92, 150)))
    assert periods.select("start", "end").row(0) == (T0, T0 + timedelta(minutes=150))
    assert periods["hours"][0] == pytest.approx(2.5)


def test_thresholds() -> None:
    rows = _stationary(1000, 25, -0.935, -80.715)
    pos = _positions(rows)
    assert infer_anchorages(pos, min_vessels=26).height == 0
    assert infer_anchorages(pos, min_duration="21h").height == 0  # parked 20 h
    assert infer_anchorages(pos, min_duration=19).height > 0
    assert infer_anchorages(pos, min_positions=241).height == 0  # 240 positions each
    assert infer_anchorages(pos, min_duration="2h", min_vessels=25).height > 0
    # the same vessels moving at 3 kn are not stationary, unless speed is ignored
    fast = pos.with_columns(pl.lit(3.0, dtype=pl.Float32).alias("sog"))
    assert infer_anchorages(fast).height == 0
    assert infer_anchorages(fast, max_speed_kn=None).height > 0


def test_parameters_are_a_model_checked_like_the_config() -> None:
    pos = _positions(_stationary(1000, 25, -0.935, -80.715))
    by_model = infer_anchorages(pos, params=AnchorageParams(min_vessels=26))
    assert by_model.equals(infer_anchorages(pos, min_vessels=26))
    # a model and overrides together: the overrides win
    assert infer_anchorages(pos, params=AnchorageParams(min_vessels=26), min_vessels=5).height
    with pytest.raises(ConfigError, match=r"^infer_anchorages\(\): unknown parameter 'vessels'"):
        infer_anchorages(pos, vessels=5)
    with pytest.raises(ConfigError, match="min_duration must be a duration: cannot read"):
        stationary_periods(pos, min_duration="soon")
    with pytest.raises(ConfigError, match=r"min_vessels must be a whole number, got 2\.5"):
        anchorages_from_periods(stationary_periods(pos), min_vessels=2.5)


def test_drifting_vessel_splits_periods() -> None:
    # drifts 0.2 km/h: leaves 0.5 km of its first position every 2.5 h, never 12 h still
    rows = [
        {"mmsi": 1, "ts": T0 + timedelta(minutes=5 * k), "lat": 0.0, "lon": -85 + k * 1.5e-4}
        for k in range(600)
    ]
    pos = _positions(rows)
    assert infer_anchorages(pos, min_vessels=1, min_duration="12h", max_shore_km=None).height == 0
    # ... but still for 2.5 h at a time: 2 h periods, one after another
    periods = stationary_periods(pos)
    assert periods.height == 20 and (periods["hours"] > 2.0).all()


def test_empty_and_missing_columns() -> None:
    assert infer_anchorages(schema.empty(schema.POSITIONS)).height == 0
    with pytest.raises(ValueError, match=r"lack column\(s\) \['lat'\]"):
        infer_anchorages(pl.DataFrame({"mmsi": [1], "ts": [T0], "lon": [0.0]}))


def test_integer_microsecond_timestamps() -> None:
    pos = _positions(_stationary(1000, 20, 5.0, -80.0))
    as_int = pos.with_columns(pl.col("ts").dt.epoch("us"))
    found = infer_anchorages(pos, max_shore_km=None)
    assert found.height > 0 and infer_anchorages(as_int, max_shore_km=None).equals(found)


def test_cells_are_about_cell_km_square() -> None:
    # 0.5 km is 0.0045 degree of latitude, and 0.00457 degree of longitude at 10 N
    lat = pl.Series([0.0, 0.0044, 0.0046, 10.0, 10.0, 10.0])
    lon = pl.Series([0.0, 0.0, 0.0, 0.0, 0.00455, 0.0046])
    row, col = cell_of(pl.col("lat"), pl.col("lon"), 0.5)
    f = pl.DataFrame({"lat": lat, "lon": lon}).select(row.alias("r"), col.alias("c"))
    assert f["r"].to_list()[:3] == [0, 0, 1]
    assert f["c"].to_list()[3:] == [0, 0, 1]


def test_periods_of_parts_give_the_anchorages_of_the_whole() -> None:
    """Disjoint sets of vessels: periods per part, concatenated, give identical anchorages."""
    rows = _stationary(1000, 25, -0.935, -80.715)
    rows += _stationary(2000, 22, -0.9353, -80.7152)  # the same cells, other vessels
    rows += _stationary(3000, 4, -2.3, -79.95) + _moving(4000)
    pos = _positions(rows).sample(fraction=1.0, shuffle=True, seed=2)
    whole = infer_anchorages(pos, min_vessels=3)
    assert whole.height >= 2 and whole["n_vessels"].sum() == 51
    periods = stationary_periods(pos)
    assert periods.columns == ["mmsi", "lat", "lon", "n", "hours", "start", "end"]
    assert periods.select("mmsi").equals(periods.select("mmsi").sort("mmsi"))
    for cuts in ([1500], [1010, 2000, 2015, 3999], [999, 5000]):
        bounds = [0, *cuts, 10**6]
        parts = [
            stationary_periods(pos.filter(pl.col("mmsi").is_between(lo, hi - 1)))
            for lo, hi in itertools.pairwise(bounds)
        ]
        joined = pl.concat(parts)
        assert joined.equals(periods)
        assert anchorages_from_periods(joined, min_vessels=3).equals(whole)
    assert anchorages_from_periods(periods.head(0)).height == 0
