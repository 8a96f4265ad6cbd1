"""seawatch.tracks.clean: unusable rows, exact duplicates, order, columns."""

from __future__ import annotations

import math

import polars as pl
import pytest

from seawatch import schema
from seawatch.tracks import clean
from tests.tracks.track_builders import T0, hours, positions


def test_drops_rows_without_a_usable_position() -> None:
    pos = positions(
        [1] * 6,
        hours(0, 1, 2, 3, 4, 5),
        [0.0, None, math.nan, 91.0, 1.0, 2.0],  # type: ignore[list-item]
        [0.0, 1.0, 1.0, 1.0, 181.0, 2.0],
    )
    assert clean(pos)["lat"].to_list() == [0.0, 2.0]


def test_drops_exact_duplicates_keeping_the_first() -> None:
    pos = positions([1, 1, 1, 1], hours(0, 0, 0, 1), [0.0, 0.0, 0.5, 0.0], [0.0] * 4)
    pos = pos.with_columns(pl.Series("source", ["a", "b", "c", "d"]))
    out = clean(pos)
    assert out["source"].to_list() == ["a", "c", "d"]  # "b" repeats "a"


def test_same_report_with_another_mmsi_or_time_is_kept() -> None:
    pos = positions([1, 2, 1], [T0, T0, T0.replace(second=1)], [0.0] * 3, [0.0] * 3)
    assert clean(pos).height == 3


def test_sorted_by_mmsi_then_time_whatever_the_input_order() -> None:
    pos = positions([2, 1, 1, 2, 1], hours(3, 2, 0, 1, 1), [0.0, 1, 2, 3, 4], [0.0] * 5)
    out = clean(pos)
    assert out.select("mmsi", "lat").rows() == [(1, 2.0), (1, 4.0), (1, 1.0), (2, 3.0), (2, 0.0)]
    assert clean(pos.reverse()).equals(out.select(pos.columns))


def test_keeps_canonical_columns_and_the_users_own() -> None:
    raw = pl.DataFrame({"mmsi": [1], "ts": [T0], "lat": [0.0], "lon": [0.0], "note": ["x"]})
    raw = raw.with_columns(pl.lit(7, pl.Int64).alias("segment_id"))
    out = clean(raw)
    assert out.columns == [*schema.POSITIONS, "note"]  # stale segment_id dropped
    assert out.schema["ts"] == schema.TS


def test_missing_columns_are_named() -> None:
    with pytest.raises(schema.SchemaError, match=r"\['lat', 'lon'\] missing"):
        clean(pl.DataFrame({"mmsi": [1], "ts": [T0]}))


def test_empty_table() -> None:
    assert clean(schema.empty(schema.POSITIONS)).height == 0
