"""zone_entry / zone_exit on hand-made tracks (docs/detectors.md)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import polars as pl
import pytest
import shapely

from seawatch import schema
from seawatch.detect.zone_crossing import detect_zone_crossings
from seawatch.geo import Zone, zone_index
from tests.detect.zone_tracks import (
    BOX,
    CHN,
    ECU,
    ECU2,
    EEZ_ONLY,
    HIGH_SEAS,
    PER,
    RESERVE,
    kinds_at,
    t,
    track,
)


def crossings(frame: pl.DataFrame, zones: Sequence[Zone] = (BOX,)) -> list[tuple]:
    ev = detect_zone_crossings(frame, list(zones))
    return ev.select("type", "zone", "start").rows()


# --------------------------------------------------------------------------- crossings


def test_entry_and_exit_at_the_first_position_on_the_new_side():
    frame = track(ECU, [(0, -0.5, -81.5), (10, -0.5, -80.5), (20, -0.5, -80.4), (30, -0.5, -79.5)])
    ev = detect_zone_crossings(frame, [BOX])
    assert ev.columns == list(schema.EVENTS)
    assert ev.select("type", "zone", "start", "end").rows() == [
        ("zone_entry", "Box", t(10), t(10)),
        ("zone_exit", "Box", t(30), t(30)),
    ]
    entry = ev.row(0, named=True)
    assert (entry["lat"], entry["lon"], entry["score"]) == (-0.5, -80.5, 1.0)
    assert json.loads(entry["details"]) == {"zone_kind": "user", "minutes_since_previous": 10.0}
    assert entry["event_id"] == "zone_entry:735000001:Box:20260115T001000Z"


def test_a_track_that_starts_inside_has_no_entry_and_one_that_ends_inside_no_exit():
    starts_inside = track(ECU, [(0, -0.5, -80.5), (10, -0.5, -79.5)])
    assert crossings(starts_inside) == [("zone_exit", "Box", t(10))]
    ends_inside = track(ECU, [(0, -0.5, -79.5), (10, -0.5, -80.5), (20, -0.5, -80.6)])
    assert crossings(ends_inside) == [("zone_entry", "Box", t(10))]
    always_inside = track(ECU, [(0, -0.5, -80.5), (600, -0.5, -80.6)])
    assert crossings(always_inside) == []


def test_gap_outside_then_reappearing_inside_is_an_entry():
    frame = track(ECU, [(0, -0.5, -79.5), (10, -0.5, -79.6), (370, -0.5, -80.5)])
    ev = detect_zone_crossings(frame, [BOX])
    assert ev.select("type", "start").rows() == [("zone_entry", t(370))]
    assert json.loads(ev["details"][0])["minutes_since_previous"] == 360.0


def test_a_new_segment_that_starts_inside_has_no_entry():
    first = track(ECU, [(0, -0.5, -79.5), (10, -0.5, -79.6)], segment_id=1)
    second = track(ECU, [(3000, -0.5, -80.5), (3010, -0.5, -79.5)], segment_id=2)
    assert crossings(pl.concat([first, second])) == [("zone_exit", "Box", t(3010))]
    # without segment ids the same positions are one track: reappearing inside is an entry
    both = pl.concat([first, second]).drop("segment_id")
    assert crossings(both) == [("zone_entry", "Box", t(3000)), ("zone_exit", "Box", t(3010))]


def test_segments_of_one_mmsi_are_separate_tracks():
    """Two tracks sharing an MMSI (spoofing) interleave in time: crossings per track."""
    inside = track(ECU, [(0, -0.5, -80.5), (20, -0.5, -80.6), (40, -0.5, -80.7)], segment_id=1)
    outside = track(ECU, [(10, -0.5, -70.0), (30, -0.5, -70.1)], segment_id=2)
    assert crossings(pl.concat([inside, outside])) == []
    # as one track, the alternation would be four crossings
    assert len(crossings(pl.concat([inside, outside]).drop("segment_id"))) == 4


def test_a_point_exactly_on_the_boundary_is_outside():
    on_edge = (-0.5, -80.0)  # the box's east edge
    assert not zone_index([BOX]).contains([on_edge[0]], [on_edge[1]], 0)[0]
    frame = track(ECU, [(0, -0.5, -79.5), (10, *on_edge), (20, -0.5, -80.5), (30, *on_edge)])
    assert crossings(frame) == [("zone_entry", "Box", t(20)), ("zone_exit", "Box", t(30))]


def test_a_vessel_skirting_the_edge():
    # sailing along the north edge 10 m outside it, and exactly on it: never inside
    outside = track(ECU, [(k, 0.0001, -81.2 + 0.1 * k) for k in range(15)])
    on_line = track(ECU2, [(k, 0.0, -81.2 + 0.1 * k) for k in range(15)])
    assert crossings(pl.concat([outside, on_line])) == []
    # dipping 10 m inside once and back out: one entry, one exit
    lats = [0.0001] * 5 + [-0.0001] + [0.0001] * 5
    dip = track(ECU, [(k, lat, -80.8 + 0.05 * k) for k, lat in enumerate(lats)])
    assert crossings(dip) == [("zone_entry", "Box", t(5)), ("zone_exit", "Box", t(6))]


def test_nested_zones_cross_separately_and_kinds_filter():
    inner = Zone("Inner", "mpa", shapely.box(-80.6, -0.6, -80.4, -0.4))
    frame = track(ECU, [(0, -0.5, -79.5), (10, -0.5, -80.2), (20, -0.5, -80.5), (30, -0.5, -81.5)])
    assert crossings(frame, [BOX, inner]) == [
        ("zone_entry", "Box", t(10)),
        ("zone_entry", "Inner", t(20)),
        ("zone_exit", "Box", t(30)),
        ("zone_exit", "Inner", t(30)),
    ]
    ev = detect_zone_crossings(frame, [BOX, inner], kinds=["mpa"])
    assert ev["zone"].to_list() == ["Inner", "Inner"]


def test_many_vessels_in_any_order_and_rows_without_a_place():
    a = track(ECU, [(0, -0.5, -79.5), (10, -0.5, -80.5)])
    b = track(PER, [(5, -0.5, -80.5), (15, -0.5, -81.5)])
    c = track(CHN, [(0, -0.5, -79.5), (10, None, None), (20, -0.5, -80.5)])  # type: ignore[list-item]
    frame = pl.concat([a, b, c]).sample(fraction=1.0, shuffle=True, seed=3)
    ev = detect_zone_crossings(frame, [BOX])
    assert ev.select("type", "mmsi", "start").rows() == [
        ("zone_entry", ECU, t(10)),
        ("zone_exit", PER, t(15)),
        ("zone_entry", CHN, t(20)),
    ]


def test_default_zones_from_the_high_seas_to_the_reserve():
    assert kinds_at(*HIGH_SEAS) == []
    assert kinds_at(*EEZ_ONLY) == ["eez"]
    assert "mpa" in kinds_at(*RESERVE)
    lons = np.linspace(-100.0, -90.8, 93)
    frame = track(CHN, [(10 * k, -0.5, float(lo)) for k, lo in enumerate(lons)], sog=12.0)
    ev = detect_zone_crossings(frame)  # default zones
    entries = ev.filter(pl.col("type") == "zone_entry")["zone"].to_list()
    assert entries[0] == "Ecuador EEZ"
    assert "Galápagos Marine Reserve" in entries
    assert ev.filter(pl.col("type") == "zone_exit").height == 0


def test_empty_inputs():
    assert detect_zone_crossings(track(ECU, []), [BOX]).height == 0
    assert detect_zone_crossings(track(ECU, [(0, -0.5, -80.5)]), []).height == 0
    with pytest.raises(ValueError, match="unique"):
        detect_zone_crossings(track(ECU, [(0, -0.5, -80.5)]), [BOX, BOX])
