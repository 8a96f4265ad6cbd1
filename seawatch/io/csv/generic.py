"""Any AIS CSV, given which column holds what: the mapping every named format builds on.

A *format* is a default mapping from canonical keys (the column names of
``seawatch.schema``) to the CSV's own column names, plus how its times are written and how it
marks rows that are not vessels. The ``generic`` format has no defaults: the caller's
``mapping`` says where each value is, and a column whose name is a usual spelling of a key
(``latitude``, ``Speed``, ``VesselName`` ...) is found without one.

Keys a mapping may use:

- required: ``mmsi``, ``ts``, ``lat``, ``lon``;
- positions: ``sog``, ``cog``, ``heading``, ``nav_status`` (code or ITU/DMA name);
- identity (the vessels table): ``imo``, ``callsign``, ``name``, ``ship_type`` (code or name),
  ``length``, ``width``, ``draught``, ``destination``;
- others: ``mobile_type`` (DMA's 'Type of mobile': 'Base Station' and 'AtoN' rows go to the
  stations table, 'Class B' rows get no navigational status) and ``to_bow``, ``to_stern``,
  ``to_port``, ``to_starboard`` (metres; length and width where those are missing).

Examples
--------
>>> layout = resolve_layout(["Id", "Time", "Y", "X", "Speed"], GENERIC,
...                         {"mmsi": "Id", "ts": "Time", "lat": "Y", "lon": "X"})
>>> sorted(layout.index.items())
[('lat', 2), ('lon', 3), ('mmsi', 0), ('sog', 4), ('ts', 1)]
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from seawatch import schema
from seawatch.errors import InvalidValue

REQUIRED_KEYS: tuple[str, ...] = ("mmsi", "ts", "lat", "lon")
POSITION_KEYS: tuple[str, ...] = ("sog", "cog", "heading", "nav_status")
IDENTITY_KEYS: tuple[str, ...] = schema.IDENTITY_REPORTED
"""The identity columns: a vessels row is one distinct combination of these per MMSI."""
EXTRA_KEYS: tuple[str, ...] = ("mobile_type", "to_bow", "to_stern", "to_port", "to_starboard")
KEYS: tuple[str, ...] = REQUIRED_KEYS + POSITION_KEYS + IDENTITY_KEYS + EXTRA_KEYS
"""Every key a mapping may use."""

SYNONYMS: dict[str, tuple[str, ...]] = {
    "mmsi": ("mmsi", "userid", "user_id", "mmsi_id"),
    "ts": ("ts", "timestamp", "time", "datetime", "date_time", "basedatetime", "time_utc"),
    "lat": ("lat", "latitude"),
    "lon": ("lon", "long", "lng", "longitude"),
    "sog": ("sog", "speed", "speed_over_ground", "speedoverground"),
    "cog": ("cog", "course", "course_over_ground", "courseoverground"),
    "heading": ("heading", "true_heading", "trueheading", "hdg"),
    "nav_status": ("nav_status", "navstatus", "navigational_status", "status"),
    "imo": ("imo", "imo_number", "imonumber"),
    "callsign": ("callsign", "call_sign"),
    "name": ("name", "vesselname", "vessel_name", "shipname", "ship_name"),
    "ship_type": ("ship_type", "shiptype", "vesseltype", "vessel_type", "shipandcargotype"),
    "length": ("length",),
    "width": ("width", "beam"),
    "draught": ("draught", "draft"),
    "destination": ("destination",),
    "mobile_type": ("mobile_type", "type_of_mobile"),
}
"""Usual spellings of each key (compared normalised), used where a mapping names no column."""


class CsvFormatError(InvalidValue):
    """A CSV file does not have the columns its format (or the mapping) needs."""


def normalise(name: str) -> str:
    """Column name as compared: lower case, letters and digits only ('# Timestamp' -> 'timestamp').

    >>> normalise(" Type of mobile"), normalise("BaseDateTime"), normalise("vessel_name")
    ('typeofmobile', 'basedatetime', 'vesselname')
    """
    return re.sub(r"[^0-9a-z]", "", name.lower())


@dataclass(frozen=True)
class CsvFormat:
    """How one kind of AIS CSV export is laid out.

    Parameters
    ----------
    name
        The name callers pass as ``format=``.
    columns
        Canonical key -> the export's column name (matched normalised). Required keys must be
        in the file; optional ones are used where present.
    signature
        Column names (normalised) that only this format has; ``format="auto"`` picks the format
        whose signature is in the header.
    time_formats
        strftime formats of its time column, tried before epoch and ISO 8601 parsing.
    station_types
        Values of the ``mobile_type`` column (normalised) -> AIS message type of a fixed
        station (4 base station, 21 aid to navigation); those rows go to the stations table.
    no_nav_status_types
        Values of ``mobile_type`` (normalised) whose reports carry no navigational status
        (class B), so theirs is null.
    optional_tail
        Last columns of the header (normalised) that rows may leave out altogether: a row
        with all fields, or with all but these, is well formed.
    """

    name: str
    columns: Mapping[str, str] = field(default_factory=dict)
    signature: tuple[str, ...] = ()
    time_formats: tuple[str, ...] = ()
    station_types: Mapping[str, int] = field(default_factory=dict)
    no_nav_status_types: tuple[str, ...] = ()
    optional_tail: tuple[str, ...] = ()


GENERIC_NAME = "generic"

GENERIC = CsvFormat(
    name=GENERIC_NAME,
    station_types={"basestation": 4, "aton": 21, "aidtonavigation": 21},
    no_nav_status_types=("classb", "b"),
)
"""Any CSV: columns from the caller's mapping, or found by their usual names."""


@dataclass(frozen=True)
class Layout:
    """Where each canonical value is in the rows of one file."""

    format: CsvFormat
    header: tuple[str, ...]
    index: dict[str, int]  # canonical key -> 0-based field position

    @property
    def n_fields(self) -> int:
        """Fields of a well-formed row."""
        return len(self.header)

    @property
    def n_fields_short(self) -> int:
        """Fields of a well-formed row that leaves out the format's optional last columns."""
        tail = self.format.optional_tail
        names = tuple(normalise(c) for c in self.header[len(self.header) - len(tail) :])
        return len(self.header) - len(tail) if tail and names == tail else len(self.header)


def suggest_mapping(found: Mapping[str, str], missing: Sequence[str]) -> str:
    """The ``mapping={...}`` and CLI hint of an error message.

    >>> print(suggest_mapping({"mmsi": "MMSI", "ts": "Time", "lon": "LON"}, ["lat"]))
    Use format="generic" with mapping={"mmsi": "MMSI", "ts": "Time", "lat": COLUMN, "lon": "LON"} (CLI: --format generic --map lat=COLUMN)
    """  # noqa: E501
    items = []
    for key in dict.fromkeys((*REQUIRED_KEYS, *missing)):
        if key in missing:
            items.append(f'"{key}": COLUMN')
        elif key in found:
            items.append(f'"{key}": "{found[key]}"')
    flags = " ".join(f"--map {k}=COLUMN" for k in missing)
    return (
        f'Use format="generic" with mapping={{{", ".join(items)}}} (CLI: --format generic {flags})'
    )


def _find(header: Sequence[str], name: str) -> int | None:
    """Position of column ``name``: exact match first, then normalised."""
    if name in header:
        return list(header).index(name)
    wanted = normalise(name)
    for i, column in enumerate(header):
        if normalise(column) == wanted:
            return i
    return None


def resolve_layout(
    header: Sequence[str],
    fmt: CsvFormat,
    mapping: Mapping[str, str | None] | None = None,
) -> Layout:
    """Find each canonical key's column in ``header`` for ``fmt`` and the caller's ``mapping``.

    ``mapping`` entries replace the format's defaults (``None`` drops a default). For the
    generic format, keys without a mapping are looked up by their usual names.
    Raises :class:`CsvFormatError` naming the missing column and how to map it.
    """
    mapping = dict(mapping or {})
    unknown = sorted(set(mapping) - set(KEYS))
    if unknown:
        raise CsvFormatError(
            f"mapping key(s) {unknown} are not columns seawatch reads; use keys among {list(KEYS)}"
        )
    header = tuple(header)
    index: dict[str, int] = {}
    missing: list[str] = []
    for key, column in fmt.columns.items():
        if key in mapping:
            continue
        i = _find(header, column)
        if i is not None:
            index[key] = i
        elif key in REQUIRED_KEYS:
            missing.append(key)
    if fmt.name == GENERIC_NAME:
        normalised = [normalise(c) for c in header]
        for key, spellings in SYNONYMS.items():
            if key in index or key in mapping:
                continue
            for spelling in spellings:
                if normalise(spelling) in normalised:
                    index[key] = normalised.index(normalise(spelling))
                    break
    for key, mapped in mapping.items():
        if mapped is None:
            continue
        i = _find(header, mapped)
        if i is None:
            found = {k: header[j] for k, j in index.items()}
            raise CsvFormatError(
                f"column {mapped!r} (mapped to {key!r}) missing; found: {list(header)}. "
                + suggest_mapping(found, [key])
            )
        index[key] = i
        if key in missing:
            missing.remove(key)
    found = {k: header[j] for k, j in index.items()}
    if missing:
        expected = fmt.columns[missing[0]]
        raise CsvFormatError(
            f"column {expected!r} missing; found: {list(header)}. "
            + suggest_mapping(found, missing)
        )
    absent = [k for k in REQUIRED_KEYS if k not in index]
    if absent:
        raise CsvFormatError(
            f"no column for {absent} (the {fmt.name} format needs mmsi, ts, lat and lon); "
            f"found: {list(header)}. " + suggest_mapping(found, absent)
        )
    return Layout(format=fmt, header=header, index=index)
