"""``type_mismatch`` (seawatch.detect.type_mismatch)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from seawatch.detect.type_mismatch import detect_type_mismatch

T0 = datetime(2026, 1, 15, tzinfo=UTC)
M = 735000001
FAR = pl.DataFrame({"lat": [10.0], "lon": [-70.0]})


def circling(hours: float, kn: float = 3.0, lat0: float = -3.0, lon0: float = -84.0,
             radius_deg: float = 0.04) -> pl.DataFrame:
    k = np.arange(0, int(hours * 60), 5)
    a = 2 * np.pi * k / 120
    return pl.DataFrame({"mmsi": M, "sog": kn,
                         "ts": [T0 + timedelta(minutes=int(m)) for m in k],
                         "lat": lat0 + radius_deg * np.sin(a),
                         "lon": lon0 + radius_deg * np.cos(a)})


def fleet(code: int) -> pl.DataFrame:
    return pl.DataFrame({"mmsi": [M], "ship_type": [code]})


def test_a_cargo_ship_working_an_area_is_a_mismatch():
    ev = detect_type_mismatch(circling(5), fleet(70), FAR)
    assert ev.height == 1
    d = json.loads(ev["details"][0])
    assert d["ship_type_label"] == "Cargo" and d["straightness"] < 0.5
    assert d["hours"] == pytest.approx(4 + 55 / 60, abs=1e-3)


@pytest.mark.parametrize("code", [30, 0, 52, 37])
def test_fishing_and_unchecked_types_are_not(code):
    assert detect_type_mismatch(circling(5), fleet(code), FAR).height == 0


def test_too_short_too_slow_too_fast_straight_or_in_port_is_not():
    assert detect_type_mismatch(circling(2.5), fleet(70), FAR).height == 0
    assert detect_type_mismatch(circling(5, kn=0.8), fleet(70), FAR).height == 0
    assert detect_type_mismatch(circling(5, kn=9.0), fleet(70), FAR).height == 0
    straight = circling(5).with_columns(
        (pl.lit(-84.0) + 0.015 * pl.int_range(pl.len()) / 12).alias("lon"),
        pl.lit(-3.0).alias("lat"))
    assert detect_type_mismatch(straight, fleet(80), FAR).height == 0
    port = pl.DataFrame({"lat": [-3.0], "lon": [-84.02]})
    assert detect_type_mismatch(circling(5), fleet(70), port).height == 0
    assert detect_type_mismatch(circling(5), fleet(70), FAR, min_port_km=0).height == 1


def test_the_latest_declared_type_counts():
    reports = pl.DataFrame({"mmsi": [M, M], "ship_type": [70, 30],
                            "ts": [T0, T0 + timedelta(hours=1)]})
    assert detect_type_mismatch(circling(5), reports, FAR).height == 0
    assert detect_type_mismatch(circling(5), reports.reverse().with_columns(
        pl.Series("ts", [T0, T0 + timedelta(hours=1)])), FAR).height == 1
