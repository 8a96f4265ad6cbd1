"""``GET /api/v1/vessels/{mmsi}/track``: windows, simplification, defaults from the data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from tests.api.rest.conftest import parse


def test_track_default_is_the_last_day_of_the_vessel(client, positions):
    mmsi = positions.group_by("mmsi").len().sort("len")["mmsi"][-1]
    feature = client.get(f"/api/v1/vessels/{mmsi}/track").json()
    mine = positions.filter((pl.col("mmsi") == mmsi) & pl.col("lat").is_not_null()).sort("ts")
    props = feature["properties"]
    assert feature["geometry"]["type"] == "LineString"
    assert props["points_total"] == props["points_returned"] == mine.height
    coords = feature["geometry"]["coordinates"]
    assert len(coords) == len(props["times"]) == len(props["sog"]) == len(props["cog"])
    assert coords[0] == pytest.approx([mine["lon"][0], mine["lat"][0]])
    assert [parse(t) for t in props["times"]] == mine["ts"].to_list()


def test_track_simplified_for_zoom_keeps_ends_and_times(client, positions):
    mmsi = positions.group_by("mmsi").len().sort("len")["mmsi"][-1]
    full = client.get(f"/api/v1/vessels/{mmsi}/track").json()
    coarse = client.get(f"/api/v1/vessels/{mmsi}/track", params={"zoom": 5}).json()
    fine = client.get(f"/api/v1/vessels/{mmsi}/track", params={"zoom": 16}).json()
    n_coarse = coarse["properties"]["points_returned"]
    assert 2 <= n_coarse < full["properties"]["points_returned"]
    assert n_coarse <= fine["properties"]["points_returned"]
    assert coarse["properties"]["points_total"] == full["properties"]["points_total"]
    c, f = coarse["geometry"]["coordinates"], full["geometry"]["coordinates"]
    assert c[0] == f[0] and c[-1] == f[-1]
    times = coarse["properties"]["times"]
    assert len(times) == len(c) and times == sorted(times)
    full_at = dict(zip(full["properties"]["times"], map(tuple, f), strict=True))
    assert all(full_at[t] == tuple(xy) for t, xy in zip(times, c, strict=True))


def test_track_window(client, positions):
    mmsi = positions["mmsi"][0]
    mine = positions.filter(pl.col("mmsi") == mmsi).sort("ts")
    start = mine["ts"][0] + timedelta(minutes=30)
    end = start + timedelta(hours=1)
    feature = client.get(f"/api/v1/vessels/{mmsi}/track", params={
        "start": start.isoformat(), "end": end.isoformat()}).json()
    times = [parse(t) for t in feature["properties"]["times"]]
    assert times and all(start <= t < end for t in times)
    expected = mine.filter((pl.col("ts") >= start) & (pl.col("ts") < end)
                           & pl.col("lat").is_not_null()).height
    assert feature["properties"]["points_total"] == expected
    empty = client.get(f"/api/v1/vessels/{mmsi}/track",
                       params={"start": "2020-01-01", "end": "2020-01-02"}).json()
    assert empty["geometry"] is None and empty["properties"]["times"] == []


def test_now_is_not_used_for_defaults(client):
    # the default track window follows the data, not the clock: data from 2026-01-15
    mmsi = client.get("/api/v1/vessels").json()["items"][0]["mmsi"]
    props = client.get(f"/api/v1/vessels/{mmsi}/track").json()["properties"]
    assert parse(props["end"]) < datetime(2026, 1, 16, tzinfo=UTC)
