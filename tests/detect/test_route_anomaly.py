"""route_anomaly: a vessel far from the lanes of its type, once the picture has lanes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from seawatch import schema
from seawatch.detect.config import DetectConfig
from seawatch.detect.pipeline import run_pipeline
from seawatch.detect.positions import prepare_positions
from seawatch.detect.route_anomaly import RouteAnomalyParams, detect_route_anomalies
from seawatch.detect.run import detect_all
from seawatch.params import ConfigError
from seawatch.traffic.density import build_picture

T0 = datetime(2026, 1, 15, tzinfo=UTC)
LANE = 40  # cargo ships on the lane


def _track(mmsi: int, start_h: float, lat: float, lon0: float, deg_per_h: float,
           hours: float = 10.0) -> pl.DataFrame:
    n = int(hours * 6) + 1  # every 10 min
    return pl.DataFrame({
        "mmsi": [mmsi] * n,
        "ts": [T0 + timedelta(hours=start_h, minutes=10 * k) for k in range(n)],
        "lat": [lat] * n,
        "lon": [lon0 + deg_per_h * k / 6 for k in range(n)],
        "sog": [12.0] * n,
    })


def _world(span_h: float = 30.0) -> tuple[pl.DataFrame, pl.DataFrame]:
    lane = [_track(1000 + k, span_h * k / LANE, 0.0, -90.0, 0.2) for k in range(LANE)]
    odd = [
        _track(1, 5.0, 1.5, -90.0, 0.2),  # cargo 165 km off the lane, 10 h: the anomaly
        _track(2, 5.0, -1.5, -90.0, 0.0),  # cargo at anchor off the lane: not on a route
        _track(3, 5.0, 2.5, -90.0, 0.2),  # fishing off the lane: not a watched group
        _track(4, 5.0, 3.5, -90.0, 0.2, hours=4.0),  # cargo, off the lane for 4 h only
    ]
    ids = pl.DataFrame({"mmsi": [1000 + k for k in range(LANE)] + [1, 2, 3, 4],
                        "ship_type": [70] * LANE + [71, 70, 30, 79]})
    return pl.concat(lane + odd), ids


def test_the_vessel_off_its_lane_and_only_it() -> None:
    positions, ids = _world()
    ev = detect_all(positions, ids, types=["route_anomaly"])
    assert ev["mmsi"].to_list() == [1]
    d = json.loads(ev["details"][0])
    assert d["group"] == "cargo" and d["max_other_vessels"] == 0 and d["resolution"] == 6
    assert d["duration_h"] == pytest.approx(10.0) and d["distance_km"] > 200
    assert ev["start"][0] == T0 + timedelta(hours=5)


def test_no_lanes_no_event() -> None:
    positions, ids = _world(span_h=8.0)  # all the traffic within 18 h: too short a picture
    assert detect_all(positions, ids, types=["route_anomaly"]).height == 0
    positions, ids = _world()
    # 43 cargo ships: one short of the minimum
    few = DetectConfig.from_dict({"route_anomaly": {"min_group_vessels": LANE + 4}})
    assert detect_all(positions, ids, types=["route_anomaly"], config=few).height == 0
    short = DetectConfig.from_dict({"route_anomaly": {"min_picture_duration": "12h"}})
    positions, ids = _world(span_h=8.0)
    ev = detect_all(positions, ids, types=["route_anomaly"], config=short)
    assert ev["mmsi"].to_list() == [1]


def test_parameters_change_what_is_raised() -> None:
    positions, ids = _world()
    pic = build_picture(positions, ids)
    def raised(**overrides: Any) -> list[int]:
        return detect_route_anomalies(positions, pic, ids, **overrides)["mmsi"].to_list()

    assert raised(min_duration="3h") == [1, 4]
    assert raised(min_distance_km=0) == [1, 2]
    assert detect_route_anomalies(positions, pic, ids, groups=["fishing"],
                                  min_group_vessels=1)["mmsi"].to_list() == [3]
    # each lane ship has 39 others in its cells: a lane under the threshold, or over it
    assert detect_route_anomalies(positions, pic, ids,
                                  max_other_vessels=LANE - 2)["mmsi"].to_list() == [1]
    assert detect_route_anomalies(positions, pic, ids,
                                  max_other_vessels=LANE - 1).height == LANE + 1
    with pytest.raises(ValueError, match="resolution"):
        detect_route_anomalies(positions, pic, ids, resolution=5)
    with pytest.raises(ConfigError, match="unknown type group"):
        detect_route_anomalies(positions, pic, ids, groups=["yachts"])
    assert RouteAnomalyParams().groups == ["cargo", "tanker", "passenger"]


def test_a_step_over_max_step_ends_the_run() -> None:
    positions, ids = _world()
    holed = positions.filter(~((pl.col("mmsi") == 1)
                               & pl.col("ts").is_between(T0 + timedelta(hours=9),
                                                         T0 + timedelta(hours=11, minutes=30))))
    pic = build_picture(holed, ids)
    assert detect_route_anomalies(holed, pic, ids).height == 0  # two runs of 4 h and 3.5 h
    assert detect_route_anomalies(holed, pic, ids, max_step="3h")["mmsi"].to_list() == [1]


class _Thirds:
    """The positions in three chunks of whole vessels, read as a store's are."""

    in_memory = False

    def __init__(self, positions: pl.DataFrame) -> None:
        prepared = prepare_positions(schema.conform(positions, schema.POSITIONS))
        keyed = prepared.with_columns((pl.col("mmsi") % 3).alias("_k"))
        self.parts = [p.drop("_k") for p in keyed.partition_by("_k", maintain_order=True)]

    def __len__(self) -> int:
        return len(self.parts)

    def read(self, k: int, columns) -> pl.DataFrame:
        return self.parts[k].select(columns)

    def coverage(self) -> pl.DataFrame:
        raise AssertionError("route_anomaly needs no coverage")


def test_chunks_of_vessels_judge_against_the_whole_picture() -> None:
    positions, ids = _world()
    whole = detect_all(positions, ids, types=["route_anomaly"])
    chunked = run_pipeline(_Thirds(positions), vessels=ids, types=["route_anomaly"]).events
    assert len(_Thirds(positions)) == 3 and whole.height == 1
    assert chunked.equals(whole)
