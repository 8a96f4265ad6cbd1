"""Reading the live tables (seawatch.store.read): filters, antimeridian boxes, time pruning."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from tests.store.store_synth import T0


def test_positions_filters(filled):
    every = filled.positions().collect()
    one = every["mmsi"][0]
    assert filled.positions(mmsi=one).collect().equals(every.filter(pl.col("mmsi") == one))
    some = every["mmsi"].unique().head(3).to_list()
    assert filled.positions(mmsi=some).collect()["mmsi"].unique().sort().to_list() == sorted(some)
    start, end = T0 + timedelta(hours=20), T0 + timedelta(hours=30)
    window = filled.positions(start=start, end=end).collect()
    assert window.equals(every.filter((pl.col("ts") >= start) & (pl.col("ts") < end)))
    # naive datetimes and ISO text are UTC; dates are midnight UTC
    assert (
        filled.positions(start="2024-03-01T20:00", end=end.replace(tzinfo=None))
        .collect()
        .equals(window)
    )
    day2 = filled.positions(start=date(2024, 3, 2), end=date(2024, 3, 3)).collect()
    assert day2["ts"].dt.date().unique().to_list() == [date(2024, 3, 2)]
    box = filled.positions(bbox=(-85, -1, -82, 0)).collect()
    assert (
        box.height and box["lon"].is_between(-85, -82).all() and box["lat"].is_between(-1, 0).all()
    )
    across = filled.positions(bbox=(170, -3, -85, 1)).collect()  # across the antimeridian
    assert across.equals(every.filter(pl.col("lon") <= -85))
    assert filled.positions(mmsi=[]).collect().height == 0
    with pytest.raises(ValueError, match="ISO"):
        filled.positions(start="yesterday")
    with pytest.raises(ValueError, match="min_lat"):
        filled.positions(bbox=(0, 5, 1, 4))


def test_time_filter_prunes_files(filled):
    plan = filled.positions(start=date(2024, 3, 3)).explain()
    assert "day=2024-03-03" in plan
    assert "day=2024-03-01" not in plan


