"""Parameter parsing: boxes, times, OGC datetime intervals, MMSI lists, choices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from seawatch.api.params import (
    check_range,
    parse_bbox,
    parse_choices,
    parse_datetime_interval,
    parse_format,
    parse_mmsi_list,
    parse_time,
    parse_window,
)
from seawatch.errors import InvalidValue
from seawatch.units import format_time

T0 = datetime(2026, 1, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, None),
        ("", None),
        ("-92,-2,-88,1", (-92.0, -2.0, -88.0, 1.0)),
        (" -92 , -2 , -88 , 1 ", (-92.0, -2.0, -88.0, 1.0)),
        ("-92,-2,0,-88,1,100", (-92.0, -2.0, -88.0, 1.0)),
        ("170,-10,-170,10", (170.0, -10.0, -170.0, 10.0)),
        ("-180,-90,180,90", (-180.0, -90.0, 180.0, 90.0)),
    ],
)
def test_bbox_good(text, expected):
    assert parse_bbox(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("1,2,3", "4 numbers"),
        ("1,2,3,4,5", "4 numbers"),
        ("a,b,c,d", "must be numbers"),
        ("nan,0,1,1", "finite"),
        ("0,inf,1,1", "finite"),
        ("0,5,1,2", "min_lat 5 is above max_lat 2"),
        ("-181,0,1,1", "min_lon -181 is outside"),
        ("0,0,1,91", "max_lat 91 is outside"),
        ("1,,2,3", "must be numbers"),
    ],
)
def test_bbox_bad(text, words):
    with pytest.raises(InvalidValue, match=words):
        parse_bbox(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-15T00:00:00Z", T0),
        ("2026-01-15T00:00:00z", T0),
        ("2026-01-15", T0),
        ("2026-01-15T00:00", T0),
        ("2026-01-14T19:00:00-05:00", T0),
        ("2026-01-15T00:00:00.000001Z", T0 + timedelta(microseconds=1)),
    ],
)
def test_time_good(text, expected):
    assert parse_time(text, "start") == expected


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "2026-01-15T25:00Z", "1e9",
                                  "2026-01-15/2026-01-16", "\x00"])
def test_time_bad(text):
    with pytest.raises(InvalidValue, match=r"start .* is not an ISO 8601 time"):
        parse_time(text, "start")


def test_window():
    assert parse_window(None, None) == (None, None)
    assert parse_window("2026-01-15", "2026-01-15") == (T0, T0)
    with pytest.raises(InvalidValue, match=r"start .* is after end"):
        parse_window("2026-01-16", "2026-01-15")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, (None, None)),
        ("2026-01-15T00:00:00Z", (T0, T0)),
        ("2026-01-15", (T0, T0 + timedelta(days=1) - timedelta(microseconds=1))),
        ("2026-01-15T00:00:00Z/2026-01-16T00:00:00Z", (T0, T0 + timedelta(days=1))),
        ("2026-01-15T00:00:00Z/..", (T0, None)),
        ("../2026-01-15T00:00:00Z", (None, T0)),
        ("2026-01-15T00:00:00Z/", (T0, None)),
        ("/2026-01-15T00:00:00Z", (None, T0)),
        ("../..", (None, None)),
        ("2026-01-14/2026-01-14", (T0 - timedelta(days=1), T0 - timedelta(microseconds=1))),
    ],
)
def test_ogc_datetime(text, expected):
    assert parse_datetime_interval(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("2026-01-16/2026-01-15", "after end"),
        ("a/b/c", "one '/'"),
        ("soon/..", "not an ISO 8601 time"),
        ("tomorrow", "not an ISO 8601 time"),
    ],
)
def test_ogc_datetime_bad(text, words):
    with pytest.raises(InvalidValue, match=words):
        parse_datetime_interval(text)


def test_mmsi_list():
    assert parse_mmsi_list(None) is None
    assert parse_mmsi_list("735057000") == [735057000]
    assert parse_mmsi_list("1, 2,,3") == [1, 2, 3]
    for bad, words in (("-5", "not a number"), ("1e5", "not a number"),
                       ("1234567890", "more than 9 digits"), (",", "empty"),
                       ("٣٤٥", "not a number")):
        with pytest.raises(InvalidValue, match=words):
            parse_mmsi_list(bad)
    with pytest.raises(InvalidValue, match="at most 1000"):
        parse_mmsi_list(",".join(str(i) for i in range(1001)))


def test_choices_and_format():
    valid = ["gap", "encounter"]
    assert parse_choices(" GAP ,gap", valid, "type") == ["gap"]
    assert parse_choices(",", valid, "type") is None
    with pytest.raises(InvalidValue, match="unknown type 'x'; valid: gap, encounter"):
        parse_choices("x", valid, "type")
    assert parse_format("GeoJSON", ["json", "geojson"], "json") == "geojson"
    with pytest.raises(InvalidValue, match="takes one value"):
        parse_format("json,geojson", ["json", "geojson"], "json")


def test_range_and_format_time():
    assert check_range(0.0, "x", 0, 1) == 0.0
    with pytest.raises(InvalidValue, match="between 0 and 1"):
        check_range(float("nan"), "x", 0, 1)
    assert format_time(None) is None
    assert format_time(T0 + timedelta(microseconds=7)) == "2026-01-15T00:00:00.000007Z"
    assert format_time(datetime(2026, 1, 15, 7, tzinfo=UTC)) == "2026-01-15T07:00:00Z"
