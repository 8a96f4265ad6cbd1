"""Durations, times and boxes: one reading for the config, the kernels, the CLI and the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from seawatch.errors import InvalidValue, SeawatchError
from seawatch.units import (
    duration_us,
    format_time,
    iso_utc,
    parse_bbox,
    parse_duration,
    parse_time,
    parse_when,
    time_us,
)

NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("30min", timedelta(minutes=30)),
        ("1h30m", timedelta(minutes=90)),
        ("1h50m", timedelta(minutes=110)),
        ("2 hours", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("2w", timedelta(weeks=2)),
        ("45s", timedelta(seconds=45)),
        ("500ms", timedelta(milliseconds=500)),
        ("+30d", timedelta(days=30)),
        ("2H", timedelta(hours=2)),
        (2, timedelta(hours=2)),
        ("2", timedelta(hours=2)),
        (1.5, timedelta(minutes=90)),
        (timedelta(hours=3), timedelta(hours=3)),
    ],
)
def test_one_reading_of_durations(value, expected):
    """The number 2 is two hours everywhere, and 2w is two weeks everywhere."""
    assert parse_duration(value) == expected
    assert duration_us(value) == expected // timedelta(microseconds=1)


@pytest.mark.parametrize(
    "bad", ["", "h", "3 parsecs", "1h xx", "-2h", True, None, float("nan"), float("inf"),
            -1, "9999999999d", [2]]
)
def test_bad_durations_are_invalid_values(bad):
    with pytest.raises(InvalidValue) as info:
        parse_duration(bad, "[gap] min_gap")
    assert isinstance(info.value, SeawatchError) and info.value.http_status == 400
    assert info.value.exit_code == 2


def test_parse_when():
    assert parse_when("now", now=NOW) == NOW
    assert parse_when("24h", now=NOW) == NOW + timedelta(hours=24)
    assert parse_when("+2w", now=NOW) == NOW + timedelta(weeks=2)
    assert parse_when("-7d", now=NOW) == NOW - timedelta(days=7)
    assert parse_when("7d", now=NOW, past=True) == NOW - timedelta(days=7)
    assert parse_when("2026-01-16", now=NOW) == datetime(2026, 1, 16, tzinfo=UTC)
    with pytest.raises(InvalidValue, match="--until 'tomorrow-ish' is not a time"):
        parse_when("tomorrow-ish", "--until", now=NOW)
    with pytest.raises(InvalidValue):  # a bare number is not taken as hours from now
        parse_when("2026", now=NOW)
    with pytest.raises(InvalidValue, match="too"):
        parse_when("9999999999d", now=NOW)


def test_times():
    assert parse_time("2026-01-15T07:00:00-05:00") == datetime(2026, 1, 15, 12, tzinfo=UTC)
    assert parse_time("2026-01-15T12:00") == datetime(2026, 1, 15, 12, tzinfo=UTC)
    assert parse_time(datetime(2026, 1, 15, 12)) == datetime(2026, 1, 15, 12, tzinfo=UTC)
    assert time_us("1970-01-01T00:00:01.5Z") == 1_500_000
    for bad in ("yesterday", "2026-13-01", "1e9", "\x00"):
        with pytest.raises(InvalidValue, match="not an ISO 8601 time"):
            parse_time(bad, "start")
    assert format_time(datetime(2026, 1, 15, 12, 0, 0, 5000, tzinfo=UTC)) == (
        "2026-01-15T12:00:00.005000Z"
    )
    assert format_time(None) is None


def test_iso_utc_matches_format_time():
    times = [datetime(2026, 1, 15, 3, tzinfo=UTC), datetime(2026, 1, 15, 3, 0, 0, 7, tzinfo=UTC)]
    frame = pl.DataFrame({"ts": times})
    assert frame.select(iso_utc("ts"))["ts"].to_list() == [format_time(t) for t in times]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("1,2,3", "4 numbers"),
        ("a,b,c,d", "must be numbers"),
        ("nan,0,1,1", "finite"),
        ("0,5,1,2", "min_lat 5 is above max_lat 2"),
        ("-181,0,1,1", "min_lon -181 is outside"),
    ],
)
def test_bad_boxes(text, words):
    with pytest.raises(InvalidValue, match=words):
        parse_bbox(text)


def test_boxes():
    assert parse_bbox("170,-10,-170,10") == (170.0, -10.0, -170.0, 10.0)  # antimeridian
    assert parse_bbox("-92,-2,0,-88,1,0") == (-92.0, -2.0, -88.0, 1.0)  # heights dropped
    assert parse_bbox((-92, -2, -88, 1)) == (-92.0, -2.0, -88.0, 1.0)
