"""Input: decode AIS from NMEA captures and CSV exports into the canonical tables.

``iter_input`` picks the reader for a file by looking at its content (after decompression),
so users can hand seawatch whatever their receivers and authorities produce.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from seawatch.errors import InvalidValue
from seawatch.io.result import ReadResult

NMEA_FORMATS = ("nmea",)
NMEA_OPTIONS = ("line_spacing", "duration", "trust_bad_tagblocks")
"""Options of the NMEA reader that a CSV input ignores (it carries its own times)."""
CSV_FORMATS = ("csv", "marinecadastre", "dma", "generic")
FORMATS = NMEA_FORMATS + CSV_FORMATS

_SNIFF_BYTES = 64 * 1024
_NMEA_RE = re.compile(rb"![A-Z0-9]{2}VD[MO],")


class UnknownFormatError(InvalidValue):
    """seawatch cannot tell what kind of input a file is."""


def sniff_format(path: str | Path) -> str:
    """'nmea' or 'csv', from the first 64 KiB of the (decompressed) file."""
    from seawatch.io import sources

    with sources.open_binary(path) as (stream, _raw):
        head, error = sources.read_salvaging(stream, _SNIFF_BYTES)
    if error is not None and not head:  # (a file that breaks off later is read up to there)
        raise sources.InputError(f"{path}: cannot read ({error})")
    if _NMEA_RE.search(head):
        return "nmea"
    first = next((ln for ln in head.splitlines() if ln.strip()), b"")
    if first.count(b",") >= 3 or first.count(b";") >= 3 or first.count(b"\t") >= 3:
        return "csv"
    raise UnknownFormatError(
        f"{path}: neither NMEA AIS sentences (!AIVDM...) nor a CSV header in its first "
        f"{_SNIFF_BYTES // 1024} KiB. Pass --format nmea or --format csv (or one of "
        f"{', '.join(CSV_FORMATS[1:])}) if it is one of them."
    )


def iter_input(
    path: str | Path,
    *,
    format: str | None = None,
    default_time: datetime | str | None = None,
    source: str | None = None,
    **options: Any,
) -> Iterator[ReadResult]:
    """Read any supported input in chunks (bounded memory); yields :class:`ReadResult` s.

    ``format`` is one of ``nmea``, ``csv`` (auto-detect the CSV dialect), ``marinecadastre``,
    ``dma`` or ``generic`` (with ``mapping=``); by default it is sniffed from the content.
    ``default_time`` (with ``line_spacing`` or ``duration``) stamps NMEA files that carry no
    time, and CSV inputs ignore them (:data:`NMEA_OPTIONS`). Other options go to the reader.
    """
    fmt = (format or sniff_format(path)).lower()
    if fmt not in FORMATS:
        raise UnknownFormatError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "nmea":
        from seawatch.io.nmea import iter_nmea

        yield from iter_nmea(path, default_time=default_time, source=source, **options)
        return
    from seawatch.io.csv import iter_csv

    options = {k: v for k, v in options.items() if k not in NMEA_OPTIONS}
    csv_format = "auto" if fmt == "csv" else fmt
    yield from iter_csv(path, format=csv_format, source=source, **options)


def read_input(path: str | Path, **kwargs: Any) -> ReadResult:
    """Read a whole input (see :func:`iter_input`) into one :class:`ReadResult`."""
    return ReadResult.concat(list(iter_input(path, **kwargs)))
