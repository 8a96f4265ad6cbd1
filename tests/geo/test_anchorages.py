from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from seawatch import schema
from seawatch.geo import infer_anchorages
from seawatch.geo.anchorages import (
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


def test_busy_cell_found_quiet_cell_not() -> None:
    rows = _stationary(1000, 25, -0.935, -80.715)  # 25 vessels off Manta
    rows += _stationary(2000, 3, -2.3, -79.95)  # 3 vessels in the Guayas
    rows += _moving(3000)
    out = infer_anchorages(_positions(rows))
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


def test_thresholds() -> None:
    rows = _stationary(1000, 25, -0.935, -80.715)
    pos = _positions(rows)
    assert infer_anchorages(pos, min_vessels=26).height == 0
    assert infer_anchorages(pos, min_duration="21h").height == 0  # parked 20 h
    assert infer_anchorages(pos, min_duration=19).height > 0
    assert infer_anchorages(pos, min_positions=241).height == 0  # 240 positions each
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
    out = infer_anchorages(_positions(rows), min_vessels=1)
    assert out.height == 0


def test_empty_and_missing_columns() -> None:
    assert infer_anchorages(schema.empty(schema.POSITIONS)).height == 0
    with pytest.raises(ValueError, match=r"lack column\(s\) \['lat'\]"):
        infer_anchorages(pl.DataFrame({"mmsi": [1], "ts": [T0], "lon": [0.0]}))


def test_integer_microsecond_timestamps() -> None:
    pos = _positions(_stationary(1000, 20, 5.0, -80.0))
    as_int = pos.with_columns(pl.col("ts").dt.epoch("us"))
    assert infer_anchorages(as_int).equals(infer_anchorages(pos))


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
    assert periods.columns == ["mmsi", "lat", "lon", "n", "hours"]
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
