"""What an MMSI and a ship-type code say about a vessel: flag state, validity, type label.

All functions work on whole columns (Polars expressions or NumPy arrays).

MMSI formats follow ITU-R M.585: a ship station is ``MIDxxxxxx`` (first digit 2-7), a coast
station ``00MIDxxxx``, a group ``0MIDxxxxx``, a SAR aircraft ``111MIDxxx``, a handheld
``8MIDxxxxx``, an auxiliary craft ``98MIDxxxx``, an aid to navigation ``99MIDxxxx``; AIS-SART,
MOB and EPIRB-AIS devices are ``970``/``972``/``974`` + 6 digits and carry no MID.

The MID table (``seawatch/data/mid.csv``) is derived from mobiml's MID whitelist and libais's
ITU table (see ``seawatch/data/README.md``); codes are at territory level (477 is HKG).

Examples
--------
>>> import polars as pl
>>> frame = pl.DataFrame({"mmsi": [735057000, 0, 123456789, 992351000, 970012345]})
>>> frame.select(flag_from_mmsi(pl.col("mmsi")), mmsi_is_valid(pl.col("mmsi")))["flag"].to_list()
['ECU', None, None, 'GBR', None]
>>> frame.select(mmsi_is_valid(pl.col("mmsi")))["mmsi_valid"].to_list()
[True, False, False, True, True]
>>> pl.select(ship_type_label(pl.lit(30, pl.Int16))).item()
'Fishing'
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

import polars as pl


@cache
def mid_table() -> dict[int, str]:
    """MID (3 digits) -> ISO 3166 alpha-3 code of the territory it is allocated to."""
    text = resources.files("seawatch.data").joinpath("mid.csv").read_text(encoding="utf-8")
    return {int(row["mid"]): row["iso_a3"] for row in csv.DictReader(text.splitlines())}


def mid_of(mmsi: pl.Expr) -> pl.Expr:
    """The Maritime Identification Digits of each MMSI, or null where the format has none."""
    m = mmsi.cast(pl.Int64)
    return (
        pl.when((m >= 200_000_000) & (m < 800_000_000))
        .then(m // 1_000_000)  # ship station MIDxxxxxx
        .when((m >= 800_000_000) & (m < 900_000_000))
        .then((m // 100_000) % 1000)  # handheld 8MIDxxxxx
        .when((m >= 980_000_000) & (m < 1_000_000_000))
        .then((m // 10_000) % 1000)  # auxiliary craft 98MID, AtoN 99MID
        .when((m >= 111_000_000) & (m < 112_000_000))
        .then((m // 1000) % 1000)  # SAR aircraft 111MIDxxx
        .when((m >= 2_000_000) & (m < 8_000_000))
        .then(m // 10_000)  # coast station 00MIDxxxx
        .when((m >= 20_000_000) & (m < 80_000_000))
        .then(m // 100_000)  # group 0MIDxxxxx
        .otherwise(None)
        .cast(pl.Int64)
    )


def flag_from_mmsi(mmsi: pl.Expr) -> pl.Expr:
    """ISO 3166 alpha-3 flag from the MMSI's MID; null when the MID is not allocated."""
    table = mid_table()
    return (
        mid_of(mmsi)
        .replace_strict(list(table), list(table.values()), default=None, return_dtype=pl.String)
        .alias("flag")
    )


def mmsi_is_valid(mmsi: pl.Expr) -> pl.Expr:
    """True for a well-formed MMSI: 9 digits with an allocated MID, or a SART/MOB/EPIRB id.

    MMSI 0, 123456789 and MMSIs with fewer digits (a common misconfiguration) are False;
    such reports are kept and flagged, never dropped.
    """
    m = mmsi.cast(pl.Int64)
    device = (m >= 970_000_000) & (m < 975_000_000) & (((m // 1_000_000) % 2) == 0)
    allocated = mid_of(m).is_in(list(mid_table()))
    return (device | allocated.fill_null(False)).alias("mmsi_valid")


# ITU-R M.1371-5 table 53: ship and cargo type codes.
_SHIP_TYPE_GROUPS: dict[int, str] = {
    2: "Wing in ground",
    4: "High speed craft",
    6: "Passenger",
    7: "Cargo",
    8: "Tanker",
    9: "Other",
}
_SHIP_TYPE_SINGLE: dict[int, str] = {
    0: "Not available",
    30: "Fishing",
    31: "Towing",
    32: "Towing (large)",
    33: "Dredging or underwater operations",
    34: "Diving operations",
    35: "Military operations",
    36: "Sailing",
    37: "Pleasure craft",
    50: "Pilot vessel",
    51: "Search and rescue vessel",
    52: "Tug",
    53: "Port tender",
    54: "Anti-pollution equipment",
    55: "Law enforcement",
    56: "Local vessel",
    57: "Local vessel",
    58: "Medical transport",
    59: "Noncombatant ship",
}
_HAZARD = {1: "hazardous category A", 2: "hazardous category B", 3: "hazardous category C",
           4: "hazardous category D"}


@cache
def ship_type_labels() -> dict[int, str]:
    """Code (0-255) -> label, as in ITU-R M.1371 table 53."""
    labels: dict[int, str] = {}
    for code in range(256):
        if code in _SHIP_TYPE_SINGLE:
            labels[code] = _SHIP_TYPE_SINGLE[code]
        elif 20 <= code <= 99 and code // 10 in _SHIP_TYPE_GROUPS:
            group = _SHIP_TYPE_GROUPS[code // 10]
            digit = code % 10
            if digit == 0 or digit == 9:
                labels[code] = group
            elif digit in _HAZARD:
                labels[code] = f"{group}, {_HAZARD[digit]}"
            else:
                labels[code] = f"{group}, reserved"
        else:
            labels[code] = "Reserved"
    return labels


def ship_type_label(code: pl.Expr) -> pl.Expr:
    """Human label of an ITU ship-and-cargo type code; null where the code is null."""
    labels = ship_type_labels()
    return code.replace_strict(
        list(labels), list(labels.values()), default=None, return_dtype=pl.String
    ).alias("ship_type_label")


FISHING_SHIP_TYPES: frozenset[int] = frozenset({30})
"""Ship-type codes that declare a fishing vessel."""
