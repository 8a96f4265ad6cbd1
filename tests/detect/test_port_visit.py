"""port_visit on hand-made tracks: 3/4 km hysteresis, 30 min, open visits (docs/detectors.md)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from seawatch import schema
from seawatch.detect.port_visit import detect_port_visits, near_cells
from seawatch.geo import port_index, ports

T0 = datetime(2026, 1, 15, tzinfo=UTC)
KM_PER_DEG = 111.3195  # WGS84 equator: a degree of longitude at latitude 0
PORT = pl.DataFrame({"name": ["P"], "lat": [0.0], "lon": [0.0], "kind": ["port"]})
MMSI = 735000001


def t(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def at_km(points: Sequence[tuple[float, float]], mmsi: int = MMSI, **cols) -> pl.DataFrame:
    """Positions on the equator east of the port: (minutes, km from the port)."""
    frame = pl.DataFrame(
        {
            "mmsi": [mmsi] * len(points),
            "ts": [t(m) for m, _ in points],
            "lat": [0.0] * len(points),
            "lon": [km / KM_PER_DEG for _, km in points],
        }
    )
    return frame.with_columns(**{k: pl.lit(v) for k, v in cols.items()})


def visits(frame: pl.DataFrame, port_table: pl.DataFrame = PORT, **kw) -> list[tuple]:
    return detect_port_visits(frame, port_table, **kw).select("start", "end").rows()


def test_distances_of_the_helper_are_right():
    d, _ = port_index(PORT).nearest([0.0, 0.0], [2.9 / KM_PER_DEG, 4.1 / KM_PER_DEG])
    assert d == pytest.approx([2.9, 4.1], abs=0.005)


def test_hysteresis_enter_within_3_km_leave_beyond_4_km():
    path = [(0, 10), (10, 3.5), (20, 3.2), (30, 2.9), (40, 1.0), (50, 3.5), (60, 3.9), (70, 4.1)]
    ev = detect_port_visits(at_km(path), PORT)
    assert ev.columns == list(schema.EVENTS)
    assert ev.select("type", "mmsi", "start", "end").rows() == [("port_visit", MMSI, t(30), t(60))]
    row = ev.row(0, named=True)
    assert (row["lat"], row["lon"], row["zone"], row["score"]) == (0.0, 0.0, None, 1.0)
    details = json.loads(row["details"])
    assert details["port"] == "P" and details["port_kind"] == "port"
    assert details["distance_km"] == pytest.approx(2.9, abs=0.01)
    assert details["min_distance_km"] == pytest.approx(1.0, abs=0.01)
    assert details["duration_h"] == 0.5 and details["positions"] == 4
    assert details["open"] is False


def test_coming_within_4_but_never_3_km_is_no_visit():
    assert visits(at_km([(0, 10), (20, 3.5), (40, 3.1), (60, 3.5), (80, 10)])) == []


def test_hovering_between_3_and_4_km_stays_one_visit():
    path = [(0, 10), (10, 2.9), (20, 3.9), (30, 3.1), (40, 3.95), (50, 2.5), (60, 3.8), (70, 6)]
    assert visits(at_km(path)) == [(t(10), t(60))]


@pytest.mark.parametrize(("minutes", "found"), [(29, False), (30, True), (31, True)])
def test_a_visit_lasts_at_least_30_minutes(minutes, found):
    path = [(0, 10), (10, 2.0), (10 + minutes, 2.0), (20 + minutes, 10)]
    expected = [(t(10), t(10 + minutes))] if found else []
    assert visits(at_km(path)) == expected


def test_open_at_the_start_and_at_the_end():
    # first position 3.5 km away (within 4): a visit in progress, from the first position
    ev = detect_port_visits(at_km([(0, 3.5), (20, 2.0), (40, 3.5), (50, 10)]), PORT)
    assert ev.select("start", "end").rows() == [(t(0), t(40))]
    details = json.loads(ev["details"][0])
    assert (details["open"], details["open_start"], details["open_end"]) == (True, True, False)
    # ... but 30 minutes of it must be seen, as for any visit
    assert visits(at_km([(0, 3.5), (10, 2.0), (20, 10)])) == []
    # first position 4.5 km away: not in a visit; the visit starts at 2.9 km
    assert visits(at_km([(0, 4.5), (10, 2.9), (60, 2.9), (70, 10)])) == [(t(10), t(60))]
    # still in port at the last position: reported to it, open
    end = detect_port_visits(at_km([(0, 10), (10, 2.0), (45, 1.0)]), PORT)
    assert end.select("start", "end").rows() == [(t(10), t(45))]
    details = json.loads(end["details"][0])
    assert (details["open"], details["open_start"], details["open_end"]) == (True, False, True)
    assert visits(at_km([(0, 10), (10, 2.0), (25, 1.0)])) == []
    # in port for the whole data: neither arrival nor departure seen, a visit only when it
    # is seen for min_unseen_ends_duration (12 h); an hour's capture of a moored ship is not
    assert visits(at_km([(0, 1.0), (60, 1.0)])) == []
    assert visits(at_km([(0, 1.0), (720, 1.0)])) == [(t(0), t(720))]
    assert visits(at_km([(0, 1.0), (719, 1.0)])) == []
    assert visits(at_km([(0, 1.0), (600, 1.0)]), min_unseen_ends_duration="10h") == [
        (t(0), t(600))]
    assert visits(at_km([(0, 1.0), (60, 1.0)]), min_unseen_ends_duration=0) == [(t(0), t(60))]
    # one end seen is a visit at min_duration: arrived and still there, or there and left
    assert visits(at_km([(0, 10), (10, 1.0), (60, 1.0)])) == [(t(10), t(60))]
    assert visits(at_km([(0, 1.0), (50, 1.0), (60, 10)])) == [(t(0), t(50))]


def test_two_ports_close_together_are_one_visit():
    two = pl.DataFrame({"name": ["A", "B"], "lat": [0.0, 0.0], "lon": [0.0, 2.5 / KM_PER_DEG]})
    path = [(0, -10), (10, -1.0), (30, 0.0), (50, 1.25), (70, 2.5), (90, 3.5), (110, 12)]
    ev = detect_port_visits(at_km(path), two)
    assert ev.select("start", "end").rows() == [(t(10), t(90))]
    assert json.loads(ev["details"][0])["port"] == "A"  # nearest at the start


def test_repeated_visits_and_several_vessels_in_any_order():
    one = at_km([(0, 10), (10, 1), (60, 1), (70, 10), (200, 10), (210, 1), (260, 1), (270, 10)])
    other = at_km([(0, 10), (30, 1), (100, 1), (120, 10)], mmsi=MMSI + 1)
    frame = pl.concat([one, other]).sample(fraction=1.0, shuffle=True, seed=1)
    ev = detect_port_visits(frame, PORT)
    assert ev.select("mmsi", "start", "end").rows() == [
        (MMSI, t(10), t(60)),
        (MMSI + 1, t(30), t(100)),
        (MMSI, t(210), t(260)),
    ]


def test_a_stay_cut_by_segmentation_is_one_visit():
    """AIS off in port for more than the segmenter's 24 h: two segments, one visit."""
    first = at_km([(0, 10), (10, 1.0), (60, 1.0)], segment_id=1)
    second = at_km([(60 * 30, 1.2), (60 * 31, 1.0), (60 * 31 + 10, 10)], segment_id=2)
    ev = detect_port_visits(pl.concat([first, second]), PORT)
    assert ev.select("start", "end").rows() == [(t(10), t(60 * 31))]
    assert json.loads(ev["details"][0])["open"] is False
    # the next segment starting far away: the first visit ends at its last position
    away = at_km([(60 * 30, 30), (60 * 31, 31)], segment_id=2)
    ev = detect_port_visits(pl.concat([first, away]), PORT)
    assert ev.select("start", "end").rows() == [(t(10), t(60))]
    assert json.loads(ev["details"][0])["open_end"] is True


def test_shipped_ports_by_default():
    frame = pl.DataFrame(
        {
            "mmsi": [MMSI] * 5,
            "ts": [t(m) for m in (0, 20, 60, 120, 140)],
            "lat": [-0.80, -0.93, -0.93, -0.93, -0.80],
            "lon": [-80.95, -80.72, -80.72, -80.72, -80.95],
        }
    )
    ev = detect_port_visits(frame)
    assert ev.select("start", "end").rows() == [(t(20), t(120))]
    assert json.loads(ev["details"][0])["port"] == "MANTA"


def test_parameters_and_empty_inputs():
    path = [(0, 10), (10, 4.5), (70, 4.5), (80, 10)]
    assert visits(at_km(path)) == []
    assert visits(at_km(path), entry_km=5.0, exit_km=6.0) == [(t(10), t(70))]
    assert visits(at_km([(0, 10), (10, 1), (30, 1), (40, 10)]), min_duration="15min") == [
        (t(10), t(30))
    ]
    with pytest.raises(ValueError, match="exit_km"):
        visits(at_km(path), entry_km=4.0, exit_km=3.0)
    assert visits(at_km([])) == []
    assert visits(at_km(path), PORT.clear()) == []


def test_the_cell_prefilter_never_drops_a_point_near_a_port():
    rng = np.random.default_rng(7)
    table = pl.DataFrame(
        {"lat": [0.0, 59.9, -70.0, 12.0], "lon": [179.99, 10.0, -179.98, -80.0]}
    ).vstack(ports().select("lat", "lon"))
    k = rng.integers(0, table.height, 200_000)
    lat = table["lat"].to_numpy()[k] + rng.normal(0, 0.04, k.size)
    lon = table["lon"].to_numpy()[k] + rng.normal(0, 0.08, k.size)
    lon = (lon + 180.0) % 360.0 - 180.0
    mask = near_cells(lat, lon, table["lat"].to_numpy(), table["lon"].to_numpy(), 4.0)
    d, _ = port_index(table).nearest(lat, lon)
    assert not np.any((d <= 4.0) & ~mask)
    assert mask.mean() < 0.99  # and it does skip points


def test_the_cell_prefilter_with_the_world_list_and_points_of_one_band():
    """Points of one band of latitude (the Eastern Pacific), ports of the whole world: the
    ports out of reach of the band are left out of the cells (Svalbard's would widen every
    row), and still no point near a port is dropped, at the band's edges either."""
    rng = np.random.default_rng(11)
    world = ports(world=True).select("lat", "lon")
    band = world.filter(pl.col("lat").is_between(-10.0, 12.0))
    k = rng.integers(0, band.height, 50_000)
    lat = np.clip(band["lat"].to_numpy()[k] + rng.normal(0, 0.04, k.size), -10.0, 12.0)
    lon = band["lon"].to_numpy()[k] + rng.normal(0, 0.08, k.size)
    lon = (lon + 180.0) % 360.0 - 180.0
    mask = near_cells(lat, lon, world["lat"].to_numpy(), world["lon"].to_numpy(), 4.0)
    d, _ = port_index(world).nearest(lat, lon)
    assert not np.any((d <= 4.0) & ~mask)
    # no position with a place: nothing is near
    assert near_cells(np.array([np.nan]), np.array([0.0]), world["lat"].to_numpy(),
                      world["lon"].to_numpy(), 4.0).tolist() == [False]
