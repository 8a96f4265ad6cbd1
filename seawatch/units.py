"""Durations, times and bounding boxes: one reading of each for the whole of seawatch.

The detector config, the track kernels, the command line, the REST and OGC APIs and the
sharing layer all take durations, times and boxes from their users; they read them here, so
the same text means the same thing everywhere and is refused with the same message.

Durations
    A ``timedelta``; a number of **hours** (``2`` and ``"2"`` are two hours, ``1.5`` is 90
    minutes); or text made of number-unit terms, summed: ``"90min"``, ``"1h30m"``, ``"2 h"``,
    ``"2w"``, ``"500ms"``. Units: ``us``; ``ms``; ``s``/``sec``/``second(s)``;
    ``m``/``min``/``minute(s)`` (``m`` is minutes, never months); ``h``/``hr``/``hour(s)``;
    ``d``/``day(s)``; ``w``/``week(s)``. A leading ``+`` is allowed; a negative, infinite or
    overflowing duration is refused.
Times
    ISO 8601 (``2026-01-15T12:00:00Z``, offsets, fractions); a naive time is UTC and a date
    alone is its UTC midnight. :func:`parse_when` also takes ``now`` and a duration from now
    (``24h``, ``-7d``). Times are written back as ISO 8601 UTC with ``Z``.
Bounding boxes
    ``min_lon,min_lat,max_lon,max_lat`` in degrees (WGS 84 / CRS84); six numbers, as OGC API
    - Features allows, drop the heights; ``min_lon > max_lon`` is a box across the
    antimeridian.

Every refusal is a :class:`seawatch.errors.InvalidValue` (exit code 2, HTTP 400).

Examples
--------
>>> parse_duration("1h30m"), parse_duration(2), parse_duration("2w").days
(datetime.timedelta(seconds=5400), datetime.timedelta(seconds=7200), 14)
>>> parse_time("2026-01-15").isoformat()
'2026-01-15T00:00:00+00:00'
>>> format_time(parse_time("2026-01-15T07:00:00-05:00"))
'2026-01-15T12:00:00Z'
>>> parse_bbox("170,-10,-170,10")
(170.0, -10.0, -170.0, 10.0)
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from seawatch.errors import InvalidValue

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

Duration = str | float | int | timedelta
"""A duration: ``timedelta``, a number of hours, or text such as ``"30min"`` or ``"1h30m"``."""

BBox = tuple[float, float, float, float]
"""``(min_lon, min_lat, max_lon, max_lat)`` in degrees."""

_SECONDS = {
    "us": 1e-6,
    "ms": 1e-3,
    "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
    "m": 60.0, "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
    "h": 3600.0, "hr": 3600.0, "hrs": 3600.0, "hour": 3600.0, "hours": 3600.0,
    "d": 86400.0, "day": 86400.0, "days": 86400.0,
    "w": 604800.0, "wk": 604800.0, "week": 604800.0, "weeks": 604800.0,
}
_TERM = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]+)\s*")
_NUMBER = re.compile(r"\s*\+?\s*(\d+(?:\.\d*)?|\.\d+)\s*")
_HINT = "use e.g. '30min', '1h30m', '2h', '1d', '2w' or a number of hours"
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_duration(value: Duration, name: str = "duration") -> timedelta:
    """A duration (see the module docstring) as a ``timedelta``.

    Parameters
    ----------
    value
        ``timedelta``, a number of hours, or number-unit text.
    name
        What the value is, for the error message (``"[gap] min_gap"``, ``"--expires"``).

    Raises
    ------
    seawatch.errors.InvalidValue
        Not a duration, negative, infinite or too long to represent.

    Examples
    --------
    >>> parse_duration("30m"), parse_duration(1.5)
    (datetime.timedelta(seconds=1800), datetime.timedelta(seconds=5400))
    >>> parse_duration("2 parsecs")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    seawatch.errors.InvalidValue: cannot read duration '2 parsecs': use e.g. ...
    """
    try:
        if isinstance(value, timedelta):
            out = value
        elif isinstance(value, bool) or not isinstance(value, str | int | float):
            raise InvalidValue(f"{name} {value!r} is a {type(value).__name__}, not a "
                               f"duration: {_HINT}")
        elif isinstance(value, int | float):
            if not math.isfinite(value):
                raise InvalidValue(f"{name} {value!r} is not a finite duration: {_HINT}")
            out = timedelta(hours=value)
        else:
            out = _parse_text(value, name)
    except OverflowError:
        raise InvalidValue(f"{name} {str(value)[:40]!r} is too long a duration") from None
    if out < timedelta(0):
        raise InvalidValue(f"{name} {str(value)[:40]!r} is negative")
    return out


def _parse_text(value: str, name: str) -> timedelta:
    text = value.strip().lower()
    if not text:
        raise InvalidValue(f"cannot read {name} {value!r}: it is empty; {_HINT}")
    bare = _NUMBER.fullmatch(text)
    if bare:
        return timedelta(hours=float(bare.group(1)))
    pos = 1 if text.startswith("+") else 0
    seconds = 0.0
    while pos < len(text):
        m = _TERM.match(text, pos)
        if m is None or m.group(2) not in _SECONDS:
            raise InvalidValue(f"cannot read {name} {value[:40]!r}: {_HINT}")
        seconds += float(m.group(1)) * _SECONDS[m.group(2)]
        pos = m.end()
    if not math.isfinite(seconds):
        raise OverflowError
    return timedelta(seconds=seconds)


def _looks_like_duration(text: str) -> bool:
    """Number-unit terms with known units (no bare number, no date)."""
    pos = 1 if text.startswith("+") else 0
    if pos == len(text):
        return False
    while pos < len(text):
        m = _TERM.match(text.lower(), pos)
        if m is None or m.group(2) not in _SECONDS:
            return False
        pos = m.end()
    return True


def duration_us(value: Duration, name: str = "duration") -> int:
    """Whole microseconds in a duration.

    >>> duration_us("1h50m") == duration_us(timedelta(minutes=110))
    True
    """
    return round(parse_duration(value, name) / timedelta(microseconds=1))


def parse_time(text: str | datetime, name: str = "time") -> datetime:
    """An ISO 8601 time (see the module docstring) as an aware UTC datetime.

    Raises
    ------
    seawatch.errors.InvalidValue
        Not an ISO 8601 time, or out of range.

    Examples
    --------
    >>> parse_time("2026-01-15T12:00Z").isoformat()
    '2026-01-15T12:00:00+00:00'
    >>> parse_time("yesterday", "start")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    seawatch.errors.InvalidValue: start 'yesterday' is not an ISO 8601 time ...
    """
    if isinstance(text, datetime):
        value = text
    else:
        raw = str(text).strip()
        try:
            if _DATE_ONLY.match(raw):
                d = date.fromisoformat(raw)
                return datetime(d.year, d.month, d.day, tzinfo=UTC)
            value = datetime.fromisoformat(raw.replace("z", "Z"))
        except ValueError:
            raise InvalidValue(
                f"{name} {raw[:60]!r} is not an ISO 8601 time (e.g. 2026-01-15T12:00:00Z or "
                "2026-01-15)"
            ) from None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise InvalidValue(f"{name} {str(text)[:60]!r} is out of range") from None


def parse_when(
    text: str, name: str = "time", now: datetime | None = None, *, past: bool = False
) -> datetime:
    """A time: ISO 8601, ``now``, or a duration from now (``24h``, ``+30d``; ``-7d`` is ago).

    A duration here needs its unit (a bare number could be a year). With ``past`` an
    unsigned duration counts back from now (``--since 24h``).

    >>> base = datetime(2026, 1, 1, tzinfo=UTC)
    >>> parse_when("24h", now=base).isoformat(), parse_when("-1d", now=base).isoformat()
    ('2026-01-02T00:00:00+00:00', '2025-12-31T00:00:00+00:00')
    >>> parse_when("1d", now=base, past=True).isoformat()
    '2025-12-31T00:00:00+00:00'
    """
    base = now or datetime.now(UTC)
    value = text.strip()
    if value.lower() == "now":
        return base
    sign = -1 if value.startswith("-") or (past and not value.startswith("+")) else 1
    span = value[1:] if value.startswith("-") else value
    if _looks_like_duration(span):
        try:
            return base + sign * parse_duration(span, name)
        except OverflowError:
            raise InvalidValue(f"{name} {value[:40]!r} is too far from now") from None
    try:
        return parse_time(value, name)
    except InvalidValue:
        raise InvalidValue(
            f"{name} {value[:60]!r} is not a time: use ISO 8601 (2026-01-15T12:00Z), 'now' "
            "or a duration from now (24h, 30d; -7d for ago)"
        ) from None


def time_us(value: str | datetime, name: str = "time") -> int:
    """Microseconds since 1970-01-01 UTC of a time (text read by :func:`parse_time`).

    >>> time_us("1970-01-01T00:00:01Z")
    1000000
    """
    return round(parse_time(value, name).timestamp() * 1_000_000)


def format_time(value: datetime | None) -> str | None:
    """ISO 8601 UTC text with ``Z`` (a fraction only when not zero); None stays None.

    A naive datetime is taken as UTC.

    >>> format_time(datetime(2026, 1, 15, 12, tzinfo=UTC))
    '2026-01-15T12:00:00Z'
    """
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text + "Z"


def iso_utc(column: str | pl.Expr) -> pl.Expr:
    """A Polars time column as ISO 8601 UTC text, as :func:`format_time` writes it.

    ``column`` is the name of a time-zone-aware column (converted to UTC and the result
    named after it) or an expression that is in UTC already.

    >>> import polars as pl
    >>> frame = pl.DataFrame({"ts": [datetime(2026, 1, 15, 3, tzinfo=UTC)]})
    >>> frame.select(iso_utc("ts"))["ts"].to_list()
    ['2026-01-15T03:00:00Z']
    """
    import polars as pl

    col = pl.col(column).dt.convert_time_zone("UTC") if isinstance(column, str) else column
    text = (
        pl.when(col.dt.microsecond() == 0)
        .then(col.dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
        .otherwise(col.dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"))
    )
    return text.alias(column) if isinstance(column, str) else text


def parse_bbox(value: str | Sequence[float], name: str = "bbox") -> BBox:
    """A bounding box (see the module docstring) from text or four numbers, checked.

    Raises
    ------
    seawatch.errors.InvalidValue
        Not 4 (or 6) finite numbers, a coordinate out of range, or ``min_lat > max_lat``.

    Examples
    --------
    >>> parse_bbox([-92, -2, -88, 1.5])
    (-92.0, -2.0, -88.0, 1.5)
    >>> parse_bbox("-81,1,-80,0")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    seawatch.errors.InvalidValue: bbox: min_lat 1 is above max_lat 0 ...
    """
    shown = value[:80] if isinstance(value, str) else list(value)[:6]
    parts = [p.strip() for p in value.split(",")] if isinstance(value, str) else list(value)
    if len(parts) not in (4, 6):
        raise InvalidValue(
            f"{name} needs 4 numbers min_lon,min_lat,max_lon,max_lat (e.g. -92,-2,-88,1); "
            f"got {len(parts)} value(s): {shown!r}"
        )
    try:
        values = [float(p) for p in parts]
    except (TypeError, ValueError):
        raise InvalidValue(
            f"{name} must be numbers min_lon,min_lat,max_lon,max_lat (e.g. -92,-2,-88,1); "
            f"got {shown!r}"
        ) from None
    if not all(math.isfinite(v) for v in values):
        raise InvalidValue(f"{name} must be finite numbers; got {shown!r}")
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    min_lon, min_lat, max_lon, max_lat = values
    for label, v, limit in (
        ("min_lon", min_lon, 180.0),
        ("max_lon", max_lon, 180.0),
        ("min_lat", min_lat, 90.0),
        ("max_lat", max_lat, 90.0),
    ):
        if not -limit <= v <= limit:
            raise InvalidValue(f"{name}: {label} {v:g} is outside [-{limit:g}, {limit:g}]")
    if min_lat > max_lat:
        raise InvalidValue(
            f"{name}: min_lat {min_lat:g} is above max_lat {max_lat:g} (order is "
            "min_lon,min_lat,max_lon,max_lat)"
        )
    return (min_lon, min_lat, max_lon, max_lat)
