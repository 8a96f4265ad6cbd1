"""Parsing and validation of request parameters: boxes, times, intervals, ids, lists.

Pure functions of text, with no web framework: each returns a typed value or raises
:class:`~seawatch.errors.InvalidValue`, whose message says what was wrong and what a good
value looks like; the app answers it with ``400`` ``{"detail": message}``
(:mod:`seawatch.api.errors`). Boxes and times are read by :mod:`seawatch.units`.

Examples
--------
>>> parse_bbox("-92,-2,-88,1")
(-92.0, -2.0, -88.0, 1.0)
>>> parse_time("2026-01-15T12:00Z", "start").isoformat()
'2026-01-15T12:00:00+00:00'
>>> lo, hi = parse_datetime_interval("2026-01-15T00:00:00Z/..")
>>> lo.isoformat(), hi
('2026-01-15T00:00:00+00:00', None)
>>> parse_mmsi_list("735057000, 224000000")
[735057000, 224000000]
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from seawatch import units
from seawatch.errors import InvalidValue
from seawatch.units import BBox, format_time

Interval = tuple[datetime | None, datetime | None]
"""A time interval ``(start, end)`` as aware UTC datetimes; None is open."""

MMSI_MAX = 999_999_999
"""The largest nine-digit MMSI."""

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_OPEN = ("", "..")


def parse_bbox(text: str | None, name: str = "bbox") -> BBox | None:
    """A bounding box (:func:`seawatch.units.parse_bbox`); None when absent.

    Examples
    --------
    >>> parse_bbox("170,-10,-170,10")
    (170.0, -10.0, -170.0, 10.0)
    >>> parse_bbox("") is None
    True
    """
    if text is None or text.strip() == "":
        return None
    return units.parse_bbox(text, name)


def parse_time(text: str | None, name: str) -> datetime | None:
    """An ISO 8601 time (:func:`seawatch.units.parse_time`); None when absent.

    Examples
    --------
    >>> parse_time("2026-01-15", "end").isoformat()
    '2026-01-15T00:00:00+00:00'
    """
    if text is None or text.strip() == "":
        return None
    return units.parse_time(text, name)


def parse_window(start: str | None, end: str | None) -> Interval:
    """``start``/``end`` query parameters as a half-open window ``[start, end)``.

    Raises :class:`~seawatch.errors.InvalidValue` when either is not a time or ``start`` is
    after ``end``.

    >>> parse_window("2026-01-16", "2026-01-15")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    seawatch.errors.InvalidValue: start 2026-01-16T00:00:00Z is after end ...
    """
    lo = parse_time(start, "start")
    hi = parse_time(end, "end")
    if lo is not None and hi is not None and lo > hi:
        raise InvalidValue(
            f"start {format_time(lo)} is after end {format_time(hi)}: give start <= end"
        )
    return lo, hi


def parse_datetime_interval(text: str | None, name: str = "datetime") -> Interval:
    """The ``datetime`` parameter of OGC API - Features as a closed interval.

    An instant (``2026-01-15T12:00:00Z``) is the interval from it to itself; a date alone
    (``2026-01-15``) is that whole UTC day. Intervals are ``start/end``, with ``..`` or
    nothing for an open end (``../2026-01-16T00:00:00Z``, ``2026-01-15T00:00:00Z/..``).

    Returns
    -------
    (start, end)
        Aware UTC datetimes, None for an open end; both ends are inclusive (a date alone
        ends one microsecond before the next midnight).

    Examples
    --------
    >>> lo, hi = parse_datetime_interval("2026-01-15")
    >>> hi.isoformat()
    '2026-01-15T23:59:59.999999+00:00'
    >>> parse_datetime_interval("../..")
    (None, None)
    """
    if text is None or text.strip() == "":
        return None, None
    raw = text.strip()
    if "/" not in raw:
        instant = parse_time(raw, name)
        assert instant is not None
        if _DATE_ONLY.match(raw):
            return instant, instant + timedelta(days=1) - timedelta(microseconds=1)
        return instant, instant
    pieces = raw.split("/")
    if len(pieces) != 2:
        raise InvalidValue(
            f"{name} {raw[:60]!r}: an interval is start/end with one '/' "
            "(e.g. 2026-01-15T00:00:00Z/2026-01-16T00:00:00Z, or '..' for an open end)"
        )
    first, second = (p.strip() for p in pieces)
    lo = None if first in _OPEN else parse_time(first, f"{name} start")
    hi = None if second in _OPEN else parse_time(second, f"{name} end")
    if hi is not None and _DATE_ONLY.match(second):
        hi = hi + timedelta(days=1) - timedelta(microseconds=1)
    if lo is not None and hi is not None and lo > hi:
        raise InvalidValue(
            f"{name}: start {format_time(lo)} is after end {format_time(hi)}: give start <= end"
        )
    return lo, hi


def parse_mmsi_list(text: str | None, name: str = "mmsi") -> list[int] | None:
    """One MMSI or several, comma-separated (None when absent).

    >>> parse_mmsi_list("12x")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    seawatch.errors.InvalidValue: mmsi '12x' is not a number: ...
    """
    if text is None or text.strip() == "":
        return None
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit() or not part.isascii():
            raise InvalidValue(
                f"{name} {part[:30]!r} is not a number: give MMSIs as digits, comma-separated "
                "(e.g. 735057000,224000000)"
            )
        value = int(part)
        if value > MMSI_MAX:
            raise InvalidValue(f"{name} {part[:30]} has more than 9 digits")
        out.append(value)
    if not out:
        raise InvalidValue(f"{name} is empty: give one MMSI or several, comma-separated")
    if len(out) > 1000:
        raise InvalidValue(f"{name}: at most 1000 MMSIs per request, got {len(out)}")
    return out


def parse_choices(
    text: str | None, valid: Sequence[str], name: str, *, multiple: bool = True
) -> list[str] | None:
    """Comma-separated words, each one of ``valid`` (case-insensitive); None when absent.

    >>> parse_choices("gap, Encounter", ["gap", "encounter"], "type")
    ['gap', 'encounter']
    >>> parse_choices("gapp", ["gap", "encounter"], "type")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    seawatch.errors.InvalidValue: unknown type 'gapp'; valid: gap, encounter
    """
    if text is None or text.strip() == "":
        return None
    words = [w.strip().lower() for w in text.split(",") if w.strip()]
    if not words:
        return None
    if not multiple and len(words) > 1:
        raise InvalidValue(f"{name} takes one value, got {len(words)}; valid: {', '.join(valid)}")
    unknown = [w for w in words if w not in valid]
    if unknown:
        shown = ", ".join(repr(w[:30]) for w in unknown[:5])
        raise InvalidValue(f"unknown {name} {shown}; valid: {', '.join(valid)}")
    return list(dict.fromkeys(words))


def parse_format(text: str | None, valid: Sequence[str], default: str, name: str = "format") -> str:
    """One output format of ``valid`` (default when absent).

    >>> parse_format(None, ["json", "geojson"], "json")
    'json'
    """
    chosen = parse_choices(text, valid, name, multiple=False)
    return chosen[0] if chosen else default


def check_range(value: float, name: str, lo: float, hi: float) -> float:
    """``value`` when ``lo <= value <= hi``, else :class:`~seawatch.errors.InvalidValue`.

    >>> check_range(2.0, "margin_hours", 0, 48)
    2.0
    """
    if not math.isfinite(value) or not lo <= value <= hi:
        raise InvalidValue(f"{name} must be between {lo:g} and {hi:g}; got {value:g}")
    return value
