"""Canonical tables of seawatch: the column names and types every part of the package uses.

The columns of ``POSITIONS``, ``VESSELS`` and ``EVENTS`` follow ``DESIGN.md`` (they are part of
the public interface); the extra columns each table carries are listed with their reason. Every
reader returns frames with exactly these columns in this order, so code downstream may rely on
them, and :func:`conform` turns any frame with the right names into the canonical types.

Units: times are UTC microseconds, coordinates WGS84 degrees (float64), speeds knots, courses
and headings degrees true, lengths metres.

Examples
--------
>>> import polars as pl
>>> from seawatch import schema
>>> schema.empty(schema.POSITIONS).columns[:4]
['mmsi', 'ts', 'lat', 'lon']
>>> frame = pl.DataFrame({"mmsi": [1], "ts": [0], "lat": [1.5], "lon": [2.5]})
>>> schema.conform(frame, schema.POSITIONS).schema["ts"]
Datetime(time_unit='us', time_zone='UTC')
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from seawatch.errors import InvalidValue

TS = pl.Datetime("us", "UTC")
MIN_EPOCH_S = 631_152_000
"""Earliest plausible AIS time, 1990-01-01 UTC (seconds since the epoch): AIS began in the
1990s, so an earlier time is a corrupt field, not a report."""
MAX_EPOCH_S = 4_102_444_800
"""End of plausible AIS times, 2100-01-01 UTC (exclusive)."""
"""Timestamp type of every time column: microseconds, UTC."""

POSITIONS: dict[str, pl.DataType] = {
    "mmsi": pl.Int64(),
    "ts": TS,
    "lat": pl.Float64(),  # null when 'not available' (91) in the message
    "lon": pl.Float64(),  # null when 'not available' (181)
    "sog": pl.Float32(),  # knots; null when 102.3 (not available)
    "cog": pl.Float32(),  # degrees; null when 360 (not available) or out of range
    "heading": pl.Int16(),  # degrees; null when 511 (not available) or out of range
    "nav_status": pl.Int8(),  # ITU-R M.1371 navigational status 0-15; null for class B
    "msg_type": pl.Int8(),  # AIS message type (1, 2, 3, 18, 19, 27) or 0 for CSV sources
    "source": pl.String(),  # receiving station (tag block s:) or input file name
    # extras beyond DESIGN.md, kept because analysts and detectors need them:
    "accuracy": pl.Boolean(),  # position accuracy flag (True: high, < 10 m)
    "second": pl.Int8(),  # UTC second of the report as transmitted (60-63 are special)
    "mmsi_valid": pl.Boolean(),  # False for MMSI 0 and MMSIs that are not ship stations
}
"""Positions of moving vessels (messages 1, 2, 3, 18, 19, 27 and CSV position rows)."""

VESSELS: dict[str, pl.DataType] = {
    "mmsi": pl.Int64(),
    "ts": TS,
    "imo": pl.Int64(),  # null when 0 / absent
    "callsign": pl.String(),
    "name": pl.String(),
    "ship_type": pl.Int16(),  # raw ITU ship-and-cargo code 0-255
    "length": pl.Float32(),  # metres, bow + stern; null when unknown
    "width": pl.Float32(),  # metres, port + starboard; null when unknown
    "draught": pl.Float32(),  # metres; null when 0 / unknown
    "destination": pl.String(),
    "flag": pl.String(),  # ISO 3166 alpha-3 from the MMSI's MID; null when unknown
    # extras beyond DESIGN.md:
    "ship_type_label": pl.String(),  # human label of ship_type ("Fishing", "Cargo", ...)
    "msg_type": pl.Int8(),  # 5, 19, 24 or 0 for CSV sources
    "source": pl.String(),
    "mmsi_valid": pl.Boolean(),
}
"""Vessel identity reports over time (messages 5, 19, 24 A/B and CSV static columns).

A class B vessel sends its name (24 A) and its call sign, type and size (24 B) in separate
messages; each row holds the fields its message carried and nulls elsewhere.
"""

IDENTITY_REPORTED: tuple[str, ...] = (
    "imo", "callsign", "name", "ship_type", "length", "width", "draught", "destination",
)
"""The identity fields a vessel reports (static messages, CSV static columns): a vessels row is
one distinct combination of these per MMSI."""
IDENTITY_DERIVED: tuple[str, ...] = ("flag", "ship_type_label", "mmsi_valid")
"""Identity fields seawatch derives from the MMSI and the reported ones."""

STATIONS: dict[str, pl.DataType] = {
    "mmsi": pl.Int64(),
    "ts": TS,
    "lat": pl.Float64(),
    "lon": pl.Float64(),
    "msg_type": pl.Int8(),  # 4 (base station) or 21 (aid to navigation)
    "name": pl.String(),  # aid-to-navigation name (21), null for base stations
    "aid_type": pl.Int8(),  # aid-to-navigation type (21), null for base stations
    "station_time": TS,  # UTC time the base station reported (4), null for 21
    "source": pl.String(),
}
"""Fixed stations: base stations (message 4) and aids to navigation (message 21).

They are not vessels, so they are kept out of ``POSITIONS``; base-station time is useful to
check receiver clocks.
"""

OTHER_MESSAGES: dict[str, pl.DataType] = {
    "mmsi": pl.Int64(),
    "ts": TS,
    "msg_type": pl.Int8(),
    "payload": pl.String(),  # the assembled 6-bit armoured payload
    "fill_bits": pl.Int8(),
    "source": pl.String(),
}
"""Valid messages of types seawatch does not decode (6, 8, 9, 12, ...): kept, not lost."""

QUARANTINE: dict[str, pl.DataType] = {
    "file": pl.String(),
    "line_no": pl.Int64(),  # 1-based line number in the (decompressed) file
    "reason": pl.String(),  # one of io.quarantine.Reason
    "raw": pl.String(),  # the offending line, cut to 512 characters
}
"""Lines or groups that could not be decoded, with the reason."""

EVENTS: dict[str, pl.DataType] = {
    "event_id": pl.String(),
    "type": pl.String(),
    "mmsi": pl.Int64(),
    "other_mmsi": pl.Int64(),
    "start": TS,
    "end": TS,
    "lat": pl.Float64(),
    "lon": pl.Float64(),
    "zone": pl.String(),
    "score": pl.Float64(),
    "details": pl.String(),  # JSON object of the measured quantities behind the event
}
"""Detected events (see DESIGN.md for the meaning of each ``type``)."""

COVERAGE: dict[str, pl.DataType] = {
    "ts": TS,  # start of the UTC hour
    "source": pl.String(),  # the feed: receiving station (tag block s:) or input file name
    "cell_lat": pl.Int16(),  # grid cell: floor(lat / cell size), see seawatch.store.coverage
    "cell_lon": pl.Int16(),  # floor(lon / cell size)
    "positions": pl.Int64(),  # positions the feed delivered in that hour and cell
    "vessels": pl.Int64(),  # distinct MMSIs among them
    "first_ts": TS,  # first and last of those positions
    "last_ts": TS,
    "interval_s": pl.Float64(),  # the feed's usual time between reports of one vessel that day
}
"""Reception coverage: what each feed heard, per UTC hour and grid cell
(``seawatch.store.coverage``).

Computed from the deduplicated positions of each day as the store merges it, so the gap
detector reads this small table, not the positions, to tell a vessel gone dark from a feed
that stopped hearing anyone.
"""

EVENT_TYPES: tuple[str, ...] = (
    "gap",
    "encounter",
    "loitering",
    "zone_entry",
    "zone_exit",
    "fishing_in_zone",
    "port_visit",
    "spoofing",
    "fishing",
    "route_anomaly",
    "identity_change",
    "invalid_identity",
    "type_mismatch",
    "watchlist_hit",
    "dark_rendezvous",
    "loiter_gap_loiter",
    "dark_near_encounter",
)

TABLES: dict[str, dict[str, pl.DataType]] = {
    "positions": POSITIONS,
    "vessels": VESSELS,
    "stations": STATIONS,
    "other_messages": OTHER_MESSAGES,
    "quarantine": QUARANTINE,
    "events": EVENTS,
    "coverage": COVERAGE,
}


class SchemaError(InvalidValue):
    """A frame does not have the columns a canonical table needs."""


def empty(table: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """An empty frame with the table's columns and types."""
    return pl.DataFrame(schema=dict(table))


def conform(frame: pl.DataFrame, table: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """Return ``frame`` with exactly the table's columns, in order, cast to the table's types.

    Missing optional columns are added as nulls; ``mmsi`` and ``ts`` are required. Extra
    columns are dropped. Raises :class:`SchemaError` naming what is missing.
    """
    required = [c for c in ("mmsi", "ts") if c in table and c not in frame.columns]
    if required:
        raise SchemaError(
            f"column(s) {required} missing; found: {frame.columns}. "
            f"A {', '.join(table)} table needs at least mmsi and ts."
        )
    exprs = []
    for name, dtype in table.items():
        if name not in frame.columns:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
        elif name == "ts" or dtype == TS:
            exprs.append(_to_ts(frame, name))
        else:
            exprs.append(pl.col(name).cast(dtype, strict=False))
    return frame.select(exprs)


def _to_ts(frame: pl.DataFrame, name: str) -> pl.Expr:
    dtype = frame.schema[name]
    col = pl.col(name)
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            return col.dt.cast_time_unit("us").dt.replace_time_zone("UTC").alias(name)
        return col.dt.cast_time_unit("us").dt.convert_time_zone("UTC").alias(name)
    if dtype.is_integer():
        return col.cast(pl.Int64).cast(TS).alias(name)
    return col.cast(TS, strict=False).alias(name)
