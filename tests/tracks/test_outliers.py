"""seawatch.tracks.outliers: single reports no track explains are flagged, kept, and only those."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from seawatch import schema
from seawatch.tracks import flag_outliers, segment
from seawatch.tracks.outliers import outlier_summary
from tests.tracks.track_builders import OPEN_OCEAN, T0, every, step, track

MMSI = 735000001


def _garble(pos: pl.DataFrame, index: int, km: float = 300.0) -> pl.DataFrame:
    """``pos`` with the position of row ``index`` moved ``km`` west (a garbled longitude)."""
    lat, lon = step(pos["lat"][index], pos["lon"][index], 270.0, km)
    row = pl.int_range(pl.len()) == index
    return pos.with_columns(
        pl.when(row).then(lat).otherwise("lat").alias("lat"),
        pl.when(row).then(lon).otherwise("lon").alias("lon"),
    )


def _flags(pos: pl.DataFrame) -> list[bool]:
    return flag_outliers(segment(pos))["outlier"].to_list()


def test_a_garbled_report_inside_a_track_is_flagged_and_kept() -> None:
    pos = _garble(track(MMSI, OPEN_OCEAN, every(1, 12)), 5)
    out = flag_outliers(segment(pos))
    assert out.height == pos.height  # kept
    assert out["outlier"].to_list() == [k == 5 for k in range(12)]
    assert out.columns == [*segment(pos).columns, "outlier"]


def test_reports_at_either_end_are_never_outliers() -> None:
    # with one neighbour there is no telling a garbled report from the start of a track
    for index in (0, 11):
        assert not any(_flags(_garble(track(MMSI, OPEN_OCEAN, every(1, 12)), index)))


def test_two_garbled_reports_in_a_row_are_not_flagged() -> None:
    # a run of two is not "one report between neighbours that agree" (spoofing still needs
    # a persistent track, so neither is spoofing: seawatch.detect.spoofing)
    pos = _garble(_garble(track(MMSI, OPEN_OCEAN, every(1, 12)), 5), 6, km=500.0)
    assert not any(_flags(pos))


def test_a_class_b_report_inside_a_class_a_track_is_another_transmitter() -> None:
    # a garbled message keeps its message type: a class B report 300 km off a class A track
    # is a second vessel with the same MMSI, not a bit error
    pos = _garble(track(MMSI, OPEN_OCEAN, every(1, 12)), 5)
    typed = pos.with_columns(
        pl.when(pl.int_range(pl.len()) == 5).then(18).otherwise(1).cast(pl.Int8).alias("msg_type")
    )
    assert not any(_flags(typed))
    unknown = typed.with_columns(pl.lit(None, pl.Int8).alias("msg_type"))
    assert sum(_flags(unknown)) == 1


def test_two_vessels_sharing_an_mmsi_are_not_outliers() -> None:
    a = track(MMSI, OPEN_OCEAN, every(10, 24), bearing=90.0)
    far = step(*OPEN_OCEAN, 180.0, 300.0)
    b = track(MMSI, far, every(10, 24, start=T0 + timedelta(minutes=5)), bearing=45.0)
    both = pl.concat([a, b])
    assert not any(_flags(both))
    # ... but a garbled report of one of them, between two of its own, is
    lone = pl.concat([a.head(10), _garble(a.slice(10, 3), 1), a.tail(11)])
    assert sum(_flags(lone)) == 1


def test_the_result_does_not_depend_on_the_row_order() -> None:
    pos = _garble(track(MMSI, OPEN_OCEAN, every(1, 12)), 5)
    seg = segment(pos)
    order = np.random.default_rng(3).permutation(seg.height)
    shuffled = flag_outliers(seg[order])
    assert shuffled.sort("ts")["outlier"].to_list() == [k == 5 for k in range(12)]


def test_same_time_reports_use_the_segmenters_order() -> None:
    # a capture without time stamps (seawatch ingest --time): every report at one time;
    # the garbled one is the report no track explains
    lat = [51.8876, 51.8877, 51.8877, 51.8878, 51.8879]
    lon = [4.3568, 4.3569, 0.0074, 4.3570, 4.3571]
    pos = pl.DataFrame({"mmsi": [205370590] * 5, "ts": [T0] * 5, "lat": lat, "lon": lon})
    out = flag_outliers(segment(pos))
    assert out.filter("outlier")["lon"].to_list() == [0.0074]


def test_requires_segment_id_and_handles_small_tables() -> None:
    with pytest.raises(schema.SchemaError, match="segment_id"):
        flag_outliers(track(MMSI, OPEN_OCEAN, every(10, 3)))
    assert flag_outliers(segment(schema.empty(schema.POSITIONS)))["outlier"].to_list() == []
    assert _flags(track(MMSI, OPEN_OCEAN, every(10, 2))) == [False, False]


def test_summary_counts_and_lists_at_most_the_limit() -> None:
    rows = pl.DataFrame(
        {
            "mmsi": [2, 1, 1],
            "ts": [T0, T0 + timedelta(seconds=1), T0],
            "lat": [0.0, 1.0, 2.0],
            "lon": [0.0, 0.0, 0.0],
        }
    )
    summary = outlier_summary(rows, limit=2)
    assert (summary["positions"], summary["vessels"]) == (3, 2)
    assert summary["listed"] == [
        [1, "2026-01-15T00:00:00.000000Z", 2.0, 0.0],
        [1, "2026-01-15T00:00:01.000000Z", 1.0, 0.0],
    ]
    empty = outlier_summary(rows.head(0))
    assert empty == {"positions": 0, "vessels": 0, "listed": []}
