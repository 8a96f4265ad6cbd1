"""Text values of AIS CSV exports -> canonical values, column by column.

Every function takes a String column (already stripped, null where the field was empty) and
returns the canonical type, with null where the export says "not available" in any of the usual
ways: AIS sentinels (heading 511, course 360, speed 102.3, latitude 91, longitude 181), zeros
for unknown sizes and IMO numbers, and placeholder texts ("Unknown", "Undefined",
"Unknown value").

Navigational status and ship type are read from ITU-R M.1371 codes or from their names, in
ITU wording or in the wording of the Danish Maritime Authority's ``aisdk`` exports.

Examples
--------
>>> import polars as pl
>>> s = pl.Series(["Under way using engine", "Moored", "5", "Unknown value", "banana"])
>>> pl.select(nav_status(pl.lit(s))).to_series().to_list()
[0, 5, 5, 15, None]
>>> s = pl.Series(["Fishing", "Tanker", "Law enforcement", "70", "Undefined"])
>>> pl.select(ship_type(pl.lit(s))).to_series().to_list()
[30, 80, 55, 70, None]
>>> times = pl.Series(["2023-01-11T00:00:05", "11/01/2023 00:00:05", "1673395205", "never"])
>>> parse_time(times, ("%d/%m/%Y %H:%M:%S",)).dt.second().to_list()
[5, 5, 5, None]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Literal

import polars as pl

from seawatch import schema
from seawatch.io import identity

NOT_AVAILABLE_LAT = 91.0
"""Latitude meaning 'not available' (ITU-R M.1371; DMA writes 91.000000)."""
NOT_AVAILABLE_LON = 181.0
"""Longitude meaning 'not available'."""
SOG_NOT_AVAILABLE = 102.3
"""Speed over ground meaning 'not available' (knots); valid speeds are below it."""
COG_NOT_AVAILABLE = 360.0
"""Course over ground meaning 'not available' (degrees); valid courses are below it."""
HEADING_NOT_AVAILABLE = 511
"""True heading meaning 'not available'; valid headings are 0-359."""

EPOCH_MS_THRESHOLD = 1e11
"""A numeric time at or above this is epoch milliseconds, not seconds (1e11 s is year 5138)."""
EPOCH_MAX = 1e14
"""A numeric time at or above this (in ms: year 5138) is not a time at all."""

PLACEHOLDER_TEXTS: frozenset[str] = frozenset(
    {"", "unknown", "undefined", "unknown value", "not available", "n/a", "none", "null", "nan"}
)
"""Texts exports write for 'no value' (compared lower case)."""

ISO_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y%m%d %H%M%S",  # ISO 8601 basic form (20210701T185151Z)
    "%Y%m%d_%H%M%S",  # the same with '_' (aisdb / MERIDIAN exports: 20210701_185151)
)
"""ISO 8601 forms tried (after 'T' -> ' ' and a trailing 'Z' dropped); offsets are handled."""
_ISO_OFFSET_FORMATS: tuple[str, ...] = ("%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%d %H:%M%#z")

# ITU-R M.1371 navigational status, by name: ITU wording and the DMA aisdk variants.
NAV_STATUS_TEXTS: dict[str, int] = {
    "under way using engine": 0,
    "underway using engine": 0,
    "at anchor": 1,
    "not under command": 2,
    "restricted maneuverability": 3,
    "restricted manoeuvrability": 3,
    "restricted manoeuverability": 3,
    "constrained by her draught": 4,
    "moored": 5,
    "aground": 6,
    "engaged in fishing": 7,
    "under way sailing": 8,
    "underway sailing": 8,
    "reserved for future amendment [hsc]": 9,
    "reserved for future amendment [wig]": 10,
    "power-driven vessel towing astern": 11,
    "power-driven vessel pushing ahead or towing alongside": 12,
    "reserved for future use": 13,
    "ais-sart": 14,
    "ais-sart is active": 14,
    "unknown value": 15,
    "undefined": 15,
    "not defined": 15,
    "not defined (default)": 15,
}
"""Navigational status names -> ITU code. 15 is ITU's 'not defined (default)'."""

# DMA aisdk 'Ship type' texts -> ITU-R M.1371 table 53 codes (the group's first code).
DMA_SHIP_TYPE_TEXTS: dict[str, int] = {
    "wig": 20,
    "fishing": 30,
    "towing": 31,
    "towing long/wide": 32,
    "dredging": 33,
    "diving": 34,
    "military": 35,
    "sailing": 36,
    "pleasure": 37,
    "hsc": 40,
    "pilot": 50,
    "sar": 51,
    "tug": 52,
    "port tender": 53,
    "anti-pollution": 54,
    "law enforcement": 55,
    "spare 1": 56,
    "spare 2": 57,
    "medical": 58,
    "not party to conflict": 59,
    "passenger": 60,
    "cargo": 70,
    "tanker": 80,
    "other": 90,
}
"""Ship-type names of the DMA exports -> ITU code; 'Undefined' and 'Reserved' stay null."""


def _normalise(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def normalised(column: pl.Expr) -> pl.Expr:
    """Text as compared with the name tables: lower case, letters and digits only."""
    return column.str.to_lowercase().str.replace_all(r"[^a-z0-9]", "")


@cache
def ship_type_texts() -> dict[str, int]:
    """Ship-type names (normalised: lower case, letters and digits only) -> ITU code.

    ITU labels of ``identity.ship_type_labels`` ('Pleasure craft' -> 37, 'Passenger' -> 60)
    and the DMA names (:data:`DMA_SHIP_TYPE_TEXTS`).
    """
    table: dict[str, int] = {}
    for code, label in identity.ship_type_labels().items():
        if code and "reserved" not in label.lower():
            table.setdefault(_normalise(label), code)
    table.update({_normalise(k): v for k, v in DMA_SHIP_TYPE_TEXTS.items()})
    return table


def text(column: pl.Expr) -> pl.Expr:
    """Free text (names, call signs, destinations): stripped of AIS '@' padding; placeholders null.

    >>> s = pl.Series(["SAN JOSE@@@", "Unknown", " ", "SA9908"])
    >>> pl.select(text(pl.lit(s))).to_series().to_list()
    ['SAN JOSE', None, None, 'SA9908']
    """
    cleaned = column.str.strip_chars_end("@").str.strip_chars()
    placeholder = cleaned.str.to_lowercase().is_in(list(PLACEHOLDER_TEXTS))
    return pl.when(placeholder | cleaned.is_null()).then(None).otherwise(cleaned)


def number(column: pl.Expr) -> pl.Expr:
    """Float64 of a numeric text; null where empty, not a number, or NaN."""
    return column.str.strip_chars().cast(pl.Float64, strict=False).fill_nan(None)


def integer(column: pl.Expr) -> pl.Expr:
    """Int64 of an integer text ('367752440', '95.0', '9.3e8'); null otherwise."""
    stripped = column.str.strip_chars()
    as_float = stripped.cast(pl.Float64, strict=False)
    whole = as_float.is_finite() & (as_float == as_float.floor()) & (as_float.abs() < 2**53)
    return pl.coalesce(
        stripped.cast(pl.Int64, strict=False),
        pl.when(whole).then(as_float).otherwise(None).cast(pl.Int64),
    )


def _within(value: pl.Expr, low: float, high: float, *, high_inclusive: bool) -> pl.Expr:
    closed: Literal["both", "left"] = "both" if high_inclusive else "left"
    return pl.when(value.is_between(low, high, closed=closed)).then(value).otherwise(None)


def sog(column: pl.Expr) -> pl.Expr:
    """Speed over ground, knots (Float32): null for 102.3 (not available) and outside 0-102.2."""
    return _within(number(column), 0.0, SOG_NOT_AVAILABLE - 0.05, high_inclusive=True).cast(
        pl.Float32
    )


def cog(column: pl.Expr) -> pl.Expr:
    """Course over ground, degrees (Float32): null for 360 (not available) and outside 0-360."""
    return _within(number(column), 0.0, COG_NOT_AVAILABLE, high_inclusive=False).cast(pl.Float32)


def heading(column: pl.Expr) -> pl.Expr:
    """True heading, degrees (Int16): null for 511 (not available) and outside 0-359."""
    value = number(column).round(0)
    return _within(value, 0.0, 359.0, high_inclusive=True).cast(pl.Int16)


def implausible(column: pl.Expr, parse: Callable[[pl.Expr], pl.Expr],
                not_available: float) -> pl.Expr:
    """True where ``column`` holds a number that ``parse`` (:func:`sog`, :func:`cog`,
    :func:`heading`) nulls as out of its range, other than the "not available" value.

    >>> s = pl.Series(["12.5", "102.3", "250", "-3", "", None])
    >>> pl.select(implausible(pl.lit(s), sog, SOG_NOT_AVAILABLE)).to_series().to_list()
    [False, False, True, True, False, False]
    """
    value = number(column)
    return (value.is_not_null() & (value != not_available) & parse(column).is_null()).fill_null(
        False
    )


def positive(column: pl.Expr) -> pl.Expr:
    """A size in metres (Float32), null where 0 (AIS 'unknown') or negative."""
    value = number(column)
    return pl.when(value > 0).then(value).otherwise(None).cast(pl.Float32)


def imo(column: pl.Expr) -> pl.Expr:
    """IMO number (Int64) from '9307839' or 'IMO9307839'; null where 0, absent or 'Unknown'."""
    value = integer(column.str.replace(r"^(?i)imo\s*", ""))
    return pl.when(value > 0).then(value).otherwise(None)


def nav_status(column: pl.Expr) -> pl.Expr:
    """Navigational status code 0-15 (Int8) from a code ('5', '5.0') or a name ('Moored')."""
    code = integer(column)
    by_code = pl.when(code.is_between(0, 15)).then(code).otherwise(None)
    names = {_normalise(k): v for k, v in NAV_STATUS_TEXTS.items()}
    by_name = normalised(column).replace_strict(
        list(names), list(names.values()), default=None, return_dtype=pl.Int64
    )
    return pl.coalesce(by_code, by_name).cast(pl.Int8)


def ship_type(column: pl.Expr) -> pl.Expr:
    """ITU ship-and-cargo type code 1-255 (Int16) from a code ('70') or a name ('Cargo').

    Code 0 ('not available') and unknown names are null.
    """
    code = integer(column)
    by_code = pl.when(code.is_between(1, 255)).then(code).otherwise(None)
    names = ship_type_texts()
    by_name = normalised(column).replace_strict(
        list(names), list(names.values()), default=None, return_dtype=pl.Int64
    )
    return pl.coalesce(by_code, by_name).cast(pl.Int16)


def lookup(column: pl.Expr, table: Mapping[str, int]) -> pl.Expr:
    """Code of a text in ``table`` (keys compared normalised: lower case, letters and digits)."""
    names = {_normalise(k): v for k, v in table.items()}
    return normalised(column).replace_strict(
        list(names), list(names.values()), default=None, return_dtype=pl.Int64
    )


DISTINCT_RATIO = 50
"""``by_distinct`` parses each distinct value once when there are at least this many rows per
distinct value (speeds, courses, names, codes); otherwise it parses every row."""


def by_distinct(column: pl.Series, parse: Callable[[pl.Expr], pl.Expr]) -> pl.Series:
    """``parse`` applied to a String column, computed once per distinct value when they are few.

    AIS columns other than time and position repeat a few values many times (a batch of a
    million rows has a few hundred distinct speeds and a handful of statuses), so parsing the
    distinct values and looking them up is several times faster than parsing every row.

    >>> s = pl.Series(["Moored", "Moored", None, "At anchor"])
    >>> by_distinct(s, nav_status).to_list()
    [5, 5, None, 1]
    """
    distinct = column.drop_nulls().unique()
    if distinct.len() * DISTINCT_RATIO > column.len():
        return pl.select(parse(pl.lit(column))).to_series().alias(column.name)
    parsed = pl.select(parse(pl.lit(distinct))).to_series()
    return column.replace_strict(distinct, parsed, default=None, return_dtype=parsed.dtype)


def integers(column: pl.Series) -> pl.Series:
    """:func:`integer` over a whole column, skipping the float fallback when no row needs it."""
    direct = column.str.strip_chars().cast(pl.Int64, strict=False)
    if not (direct.is_null() & column.is_not_null()).any():
        return direct
    return pl.select(integer(pl.lit(column))).to_series().alias(column.name)


def _epoch(text_values: pl.Series) -> pl.Series:
    """Epoch seconds (or milliseconds, from 1e11 up) -> UTC timestamps; null if not numeric."""
    numeric = text_values.str.contains(r"^[+-]?[0-9]+(\.[0-9]+)?$")
    value = text_values.cast(pl.Float64, strict=False)
    micros = (
        pl.when(~numeric | (value.abs() >= EPOCH_MAX))
        .then(None)
        .when(value.abs() >= EPOCH_MS_THRESHOLD)
        .then((value * 1e3).round(0))
        .otherwise((value * 1e6).round(0))
    )
    exact_int = text_values.cast(pl.Int64, strict=False)  # exact for integer seconds
    exact = (
        pl.when(~numeric | (exact_int.abs() >= EPOCH_MAX))
        .then(None)
        .when(exact_int.abs() >= EPOCH_MS_THRESHOLD)
        .then(exact_int * 1_000)
        .otherwise(exact_int * 1_000_000)
    )
    return pl.select(pl.coalesce(exact, micros.cast(pl.Int64)).cast(schema.TS)).to_series()


def _strptime(text_values: pl.Series, fmt: str) -> pl.Series:
    parsed = text_values.str.to_datetime(fmt, time_unit="us", strict=False)
    dtype = parsed.dtype
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        return parsed.dt.convert_time_zone("UTC")
    return parsed.dt.replace_time_zone("UTC")


def parse_time(
    text_values: pl.Series, formats: Sequence[str] = (), time_format: str | None = None
) -> pl.Series:
    """UTC timestamps (µs) from text; null where no form fits.

    With ``time_format`` (strftime, e.g. ``"%d.%m.%Y %H:%M"``) only that form is read; a
    format with ``%z`` reads offsets and converts to UTC, otherwise times are taken as UTC.
    Without it, numeric values are epoch seconds (milliseconds from 1e11 up), and text is read
    with ``formats`` first and ISO 8601 after (``2023-01-11T00:00:00``, a space for the ``T``,
    optional fraction, ``Z`` or an offset such as ``+02:00``).
    """
    values = text_values.cast(pl.String)
    if time_format is not None:
        return _strptime(values, time_format).alias("ts")
    result = _epoch(values)
    iso = values.str.replace("T", " ", literal=True).str.strip_suffix("Z")
    attempts = [(values, f) for f in formats]
    attempts += [(iso, f) for f in (*ISO_FORMATS, *_ISO_OFFSET_FORMATS)]
    for candidates, fmt in attempts:
        remaining = result.is_null() & values.is_not_null()
        if not remaining.any():
            break
        todo = pl.select(pl.when(pl.lit(remaining)).then(pl.lit(candidates))).to_series()
        result = result.fill_null(_strptime(todo, fmt))
    return result.alias("ts")
