"""Read AIS CSV exports into the canonical tables, in batches of bounded size.

One batch goes: lines -> fields (``lines.split_fields``) -> text columns by the file's
``Layout`` -> parsed values (``values``) -> quarantine of bad rows -> positions, stations and
distinct vessel identities. Every step is a Polars expression over whole columns; Python only
loops over the (few) quarantined rows it records as samples.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import polars as pl

from seawatch import schema
from seawatch.io import identity, plausible
from seawatch.io.csv import values
from seawatch.io.csv.dma import DMA
from seawatch.io.csv.generic import (
    GENERIC,
    IDENTITY_KEYS,
    CsvFormat,
    CsvFormatError,
    Layout,
    normalise,
    resolve_layout,
    suggest_mapping,
)
from seawatch.io.csv.lines import iter_line_batches, split_fields
from seawatch.io.csv.marinecadastre import MARINECADASTRE
from seawatch.io.quarantine import QuarantineLog, Reason
from seawatch.io.result import ReadResult
from seawatch.io.sources import truncation_note

FORMATS: dict[str, CsvFormat] = {f.name: f for f in (MARINECADASTRE, DMA, GENERIC)}
"""Named formats, by the name ``format=`` takes."""

_DTYPES: dict[str, pl.DataType] = {**schema.POSITIONS, **schema.VESSELS}

DEFAULT_BATCH_ROWS = 1_000_000
"""Lines per batch of :func:`iter_csv` (about 120 MB of MarineCadastre text)."""


def parse_header(line: str) -> list[str]:
    """Column names of a header line (quoted names allowed), stripped of spaces.

    >>> parse_header(',# Timestamp, Type of mobile ,"MMSI"')
    ['', '# Timestamp', 'Type of mobile', 'MMSI']
    """
    row = next(csv.reader([line]), [])
    return [name.strip() for name in row]


def sniff_format(header: list[str], mapping: Mapping[str, str | None] | None = None) -> CsvFormat:
    """The format of a file from its column names (``format="auto"``).

    A named format is chosen when its signature columns are present (``BaseDateTime`` for
    MarineCadastre, ``Type of mobile`` for DMA); otherwise the generic format, if a mapping is
    given or the usual column names cover mmsi, ts, lat and lon. Raises
    :class:`CsvFormatError` when it cannot tell.

    >>> sniff_format(["MMSI", "BaseDateTime", "LAT", "LON"]).name
    'marinecadastre'
    >>> sniff_format(["mmsi", "timestamp", "latitude", "longitude"]).name
    'generic'
    """
    names = {normalise(c) for c in header}
    for fmt in (MARINECADASTRE, DMA):
        if fmt.signature and all(s in names for s in fmt.signature):
            return fmt
    if mapping:
        return GENERIC
    try:
        resolve_layout(header, GENERIC)
    except CsvFormatError:
        raise CsvFormatError(
            f"cannot tell the CSV format from its header; found: {header}. Known formats: "
            f"marinecadastre (MMSI,BaseDateTime,LAT,LON,...), dma (# Timestamp,Type of mobile,"
            f"MMSI,...). " + suggest_mapping({}, ["mmsi", "ts", "lat", "lon"])
        ) from None
    return GENERIC


@dataclass
class _State:
    """What carries from one batch of a file to the next."""

    layout: Layout | None = None
    seen_identities: pl.DataFrame | None = None
    latest_us: int = 0
    """The latest plausible time (:func:`seawatch.io.plausible.latest_time_us`)."""


def _record(log: QuarantineLog, reason: Reason, rows: pl.DataFrame, file_name: str) -> None:
    """Count ``rows`` (line_no, raw) under ``reason`` and keep as many samples as the log wants."""
    if not rows.height:
        return
    keep = min(rows.height, max(log.wants_sample(reason), 0))
    for line_no, raw in rows.select("line_no", "raw").head(keep).iter_rows():
        log.add(reason, file_name, line_no, raw)
    log.add_count(reason, rows.height - keep)


def _text_columns(good: pl.DataFrame, layout: Layout) -> pl.DataFrame:
    """line_no, raw and one String column per mapped key: stripped, null where empty."""
    fields = pl.col("_fields")
    frame = good.select(
        "line_no",
        "raw",
        *(
            fields.list.get(i, null_on_oob=True).alias(f"_s_{key}")
            for key, i in layout.index.items()
        ),
    )
    exprs = []
    for key in layout.index:
        column = frame.get_column(f"_s_{key}")
        value = pl.col(column.name)
        padded = (
            column.str.starts_with(" ")
            | column.str.ends_with(" ")
            | column.str.starts_with("\t")
            | column.str.ends_with("\t")
        ).any()
        if padded:  # stripping costs; most exports have no padding
            value = value.str.strip_chars()
        exprs.append(pl.when(value.str.len_bytes() > 0).then(value).alias(column.name))
    return frame.with_columns(exprs)


def _text(frame: pl.DataFrame, key: str) -> pl.Series:
    name = f"_s_{key}"
    if name in frame.columns:
        return frame.get_column(name)
    return pl.repeat(None, frame.height, dtype=pl.String, eager=True).alias(name)


def _parse(frame: pl.DataFrame, layout: Layout, time_format: str | None) -> pl.DataFrame:
    """Parsed canonical values beside the text columns."""
    fmt = layout.format

    def each(key: str, parse: Callable[[pl.Expr], pl.Expr]) -> pl.Series:
        if key not in layout.index:  # not in this file: nulls, without parsing anything
            dtype = _DTYPES.get(key, pl.Float64())
            return pl.repeat(None, frame.height, dtype=dtype, eager=True).alias(key)
        return values.by_distinct(_text(frame, key), parse).alias(key)

    ts = values.parse_time(_text(frame, "ts"), formats=fmt.time_formats, time_format=time_format)
    size = {k: each(k, values.number) for k in ("to_bow", "to_stern", "to_port", "to_starboard")}
    length = pl.coalesce(
        each("length", values.positive),
        pl.when((size["to_bow"] + size["to_stern"]) > 0).then(size["to_bow"] + size["to_stern"]),
    )
    width = pl.coalesce(
        each("width", values.positive),
        pl.when((size["to_port"] + size["to_starboard"]) > 0).then(
            size["to_port"] + size["to_starboard"]
        ),
    )
    mobile = _text(frame, "mobile_type")
    station = values.by_distinct(mobile, lambda m: values.lookup(values.text(m), fmt.station_types))
    no_status = values.by_distinct(
        mobile,
        lambda m: values.normalised(values.text(m)).is_in(list(fmt.no_nav_status_types)),
    ).fill_null(False)
    nav_status = each("nav_status", values.nav_status)
    return frame.with_columns(
        ts,
        values.integers(_text(frame, "mmsi")).alias("mmsi"),
        pl.select(values.number(pl.lit(_text(frame, "lat")))).to_series().alias("lat"),
        pl.select(values.number(pl.lit(_text(frame, "lon")))).to_series().alias("lon"),
        each("sog", values.sog),
        each("cog", values.cog),
        each("heading", values.heading),
        pl.when(pl.lit(no_status)).then(None).otherwise(pl.lit(nav_status)).alias("nav_status"),
        each("imo", values.imo),
        each("callsign", values.text),
        each("name", values.text),
        each("ship_type", values.ship_type),
        length.cast(pl.Float32).alias("length"),
        width.cast(pl.Float32).alias("width"),
        each("draught", values.positive),
        each("destination", values.text),
        station.cast(pl.Int8).alias("_station"),
    )


def _vessels(positions: pl.DataFrame, state: _State, source: str) -> pl.DataFrame:
    """One row per distinct identity of each MMSI, the first time it was seen."""
    key = ["mmsi", *IDENTITY_KEYS]
    rows = (
        positions.select("mmsi", "ts", *IDENTITY_KEYS)
        .filter(pl.any_horizontal(pl.col(k).is_not_null() for k in IDENTITY_KEYS))
        .sort("ts", maintain_order=True)
        .unique(subset=key, keep="first", maintain_order=True)
    )
    if state.seen_identities is not None and rows.height:
        rows = rows.join(state.seen_identities, on=key, how="anti", nulls_equal=True)
    if rows.height:
        new_keys = rows.select(key)
        state.seen_identities = (
            new_keys
            if state.seen_identities is None
            else pl.concat([state.seen_identities, new_keys])
        )
    mmsi = pl.col("mmsi")
    return schema.conform(
        rows.with_columns(
            identity.flag_from_mmsi(mmsi),
            identity.ship_type_label(pl.col("ship_type")),
            identity.mmsi_is_valid(mmsi),
            pl.lit(0, pl.Int8).alias("msg_type"),
            pl.lit(source).alias("source"),
        ),
        schema.VESSELS,
    )


_TEXT_COLUMNS = ("callsign", "name", "destination")
"""The free-text columns a CSV row fills (capped at :data:`plausible.MAX_TEXT_CHARS`)."""


def _cap_texts(frame: pl.DataFrame, result: ReadResult) -> pl.DataFrame:
    """Cut text longer than :data:`plausible.MAX_TEXT_CHARS`; count the rows cut
    (``stats["text_capped"]``)."""
    limit = plausible.MAX_TEXT_CHARS
    long = pl.any_horizontal(pl.col(c).str.len_chars() > limit for c in _TEXT_COLUMNS)
    n = int(frame.select(long.fill_null(False).sum()).item())
    if not n:
        return frame
    result.stats["text_capped"] += n
    return frame.with_columns(pl.col(c).str.slice(0, limit) for c in _TEXT_COLUMNS)


def _count_implausible(frame: pl.DataFrame, layout: Layout, result: ReadResult) -> None:
    """Count the speeds, courses and headings nulled as out of range (not the "not available"
    values): ``stats["implausible_sog"]`` ... (see :mod:`seawatch.io.plausible`)."""
    for key, parse, not_available in (("sog", values.sog, values.SOG_NOT_AVAILABLE),
                                      ("cog", values.cog, values.COG_NOT_AVAILABLE),
                                      ("heading", values.heading,
                                       values.HEADING_NOT_AVAILABLE)):
        if key not in layout.index:
            continue
        check = functools.partial(values.implausible, parse=parse, not_available=not_available)
        odd = values.by_distinct(_text(frame, key), check)
        result.stats[f"implausible_{key}"] += int(odd.fill_null(False).sum())


def _read_batch(
    lines: pl.DataFrame,
    state: _State,
    *,
    file_name: str,
    source: str,
    time_format: str | None,
    result: ReadResult,
) -> None:
    """Decode one batch of data lines (``line_no``, ``raw``) into ``result``."""
    layout = state.layout
    assert layout is not None
    log = result.quarantine_log
    lines = lines.filter(pl.col("raw").str.strip_chars().str.len_bytes() > 0)
    result.stats["rows"] += lines.height
    if not lines.height:
        return
    lines = lines.with_columns(split_fields(lines.get_column("raw")).alias("_fields"))
    n_fields = pl.col("_fields").list.len()
    well_formed = (n_fields == layout.n_fields) | (n_fields == layout.n_fields_short)
    _record(log, Reason.BAD_ROW, lines.filter(~well_formed), file_name)
    frame = _parse(_text_columns(lines.filter(well_formed), layout), layout, time_format)
    frame = _cap_texts(frame, result)
    _count_implausible(frame, layout, result)

    unreadable = (
        pl.col("mmsi").is_null()
        | (pl.col("mmsi") < 0)
        | pl.col("ts").is_null()
        | (pl.col("_s_lat").is_not_null() & pl.col("lat").is_null())
        | (pl.col("_s_lon").is_not_null() & pl.col("lon").is_null())
    )
    lat, lon = pl.col("lat"), pl.col("lon")
    # AIS began in the 1990s, and no report comes from the future (seawatch.io.plausible): a
    # time before 1990 or after the reading machine's clock is a corrupt field, not a report
    seconds = pl.col("ts").dt.epoch("s")
    impossible = (
        (lat.is_not_null() & (lat != values.NOT_AVAILABLE_LAT) & ~lat.is_between(-90.0, 90.0))
        | (lon.is_not_null() & (lon != values.NOT_AVAILABLE_LON) & ~lon.is_between(-180.0, 180.0))
        | ~seconds.is_between(schema.MIN_EPOCH_S, schema.MAX_EPOCH_S, closed="left")
        | (pl.col("ts").dt.epoch("us") > state.latest_us)
    )
    frame = frame.with_columns(unreadable.alias("_bad"), impossible.alias("_impossible"))
    _record(log, Reason.BAD_ROW, frame.filter(pl.col("_bad")), file_name)
    _record(
        log,
        Reason.IMPOSSIBLE_VALUE,
        frame.filter(~pl.col("_bad") & pl.col("_impossible")),
        file_name,
    )
    frame = frame.filter(~pl.col("_bad") & ~pl.col("_impossible")).with_columns(
        pl.when(lat != values.NOT_AVAILABLE_LAT).then(lat).alias("lat"),
        pl.when(lon != values.NOT_AVAILABLE_LON).then(lon).alias("lon"),
    )

    is_station = pl.col("_station").is_not_null()
    moving = frame.filter(~is_station)
    positions = schema.conform(
        moving.with_columns(
            pl.lit(0, pl.Int8).alias("msg_type"),
            pl.lit(source).alias("source"),
            identity.mmsi_is_valid(pl.col("mmsi")),
        ),
        schema.POSITIONS,
    )
    stations = schema.conform(
        frame.filter(is_station).with_columns(
            pl.col("_station").alias("msg_type"),
            pl.when(pl.col("_station") == 21).then(pl.col("name")).alias("name"),
            pl.lit(source).alias("source"),
        ),
        schema.STATIONS,
    )
    vessels = _vessels(moving, state, source)
    result.positions, result.stations, result.vessels = positions, stations, vessels
    result.stats["positions"] += positions.height
    result.stats["stations"] += stations.height
    result.stats["vessels"] += vessels.height


def iter_csv(
    path: str | PathLike[str],
    format: str = "auto",
    mapping: Mapping[str, str | None] | None = None,
    source: str | None = None,
    time_format: str | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> Iterator[ReadResult]:
    """Read an AIS CSV file in batches of at most ``batch_rows`` lines, with bounded memory.

    Takes the same arguments as :func:`read_csv`. Each batch is a :class:`ReadResult` whose
    ``stats`` hold ``input_bytes`` (the share of the file on disk the batch used; over all
    batches they add up to the file's size, so a caller can show progress), ``rows`` (data
    rows), ``lines`` (physical lines, header and blank lines included), ``positions``,
    ``stations`` and ``vessels``. A vessel identity appears in the batch where it is first
    seen only. An empty file yields one empty batch.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = pathlib.Path(tmp.name) / "two.csv"
    >>> _ = path.write_text("mmsi,ts,lat,lon\\n1,1700000000,1.0,2.0\\n2,1700000060,3.0,4.0\\n")
    >>> [b.positions.height for b in iter_csv(path, batch_rows=1)]
    [0, 1, 1]
    >>> tmp.cleanup()
    """
    path = Path(path)
    if format not in ("auto", *FORMATS):
        raise ValueError(f"format must be one of {['auto', *FORMATS]}; got {format!r}")
    file_name = path.name
    source = source if source is not None else file_name
    state = _State(latest_us=plausible.latest_time_us())
    yielded = False
    for batch in iter_line_batches(path, batch_rows):
        result = ReadResult(sources=[source])
        result.stats["input_bytes"] += batch.input_bytes
        result.stats["lines"] += batch.lines.height
        lines = batch.lines
        if batch.error is not None:  # the file broke off: what came before is kept
            last_line = int(batch.lines["line_no"][-1]) if batch.lines.height else 1
            result.quarantine_log.add(Reason.TRUNCATED, file_name, last_line,
                                      truncation_note(batch.error, batch.cut_bytes))
            result.stats["truncated"] += 1
        if state.layout is None:
            text = lines.get_column("raw")
            nonblank = text.str.strip_chars().str.len_bytes() > 0
            if not nonblank.any():
                yielded = True
                yield result
                continue
            at = int(nonblank.arg_true()[0])
            header = parse_header(text[at])
            try:
                fmt = sniff_format(header, mapping) if format == "auto" else FORMATS[format]
                state.layout = resolve_layout(header, fmt, mapping)
            except CsvFormatError as error:
                raise CsvFormatError(f"{file_name}: {error}") from None
            lines = lines.slice(at + 1)
        _read_batch(
            lines,
            state,
            file_name=file_name,
            source=source,
            time_format=time_format,
            result=result,
        )
        yielded = True
        yield result
    if not yielded:
        result = ReadResult(sources=[source])
        result.stats.update({"input_bytes": 0, "lines": 0, "rows": 0})
        yield result


def read_csv(
    path: str | PathLike[str],
    format: str = "auto",
    mapping: Mapping[str, str | None] | None = None,
    source: str | None = None,
    time_format: str | None = None,
) -> ReadResult:
    """Read an AIS CSV file (plain, ``.gz``, ``.bz2``, ``.zst`` or one-file ``.zip``).

    Parameters
    ----------
    path
        The file. Compression is recognised from its first bytes.
    format
        ``"auto"`` (from the header), ``"marinecadastre"``, ``"dma"`` or ``"generic"``.
    mapping
        Canonical key -> column name in the file, e.g. ``{"mmsi": "MMSI", "ts": "Time",
        "lat": "Latitude", "lon": "Longitude", "sog": "Speed"}``; required for columns the
        generic format cannot find by their usual names, and overrides a named format's
        columns (``None`` ignores one). Keys: see ``seawatch.io.csv.generic``.
    source
        The ``source`` of every row; the file's name by default.
    time_format
        strftime format of the time column (``"%d.%m.%Y %H:%M:%S"``). By default, integer
        times are epoch seconds (milliseconds from 1e11 up) and text is ISO 8601 (DMA files:
        ``dd/mm/yyyy HH:MM:SS``); all times are UTC unless the format reads an offset.

    Returns
    -------
    ReadResult
        ``positions``, ``vessels`` and ``stations`` with exactly the columns and types of
        ``seawatch.schema``; rows whose MMSI, time or position cannot be read are in
        ``quarantine`` (reason ``bad_row``), rows with a position off the globe too
        (``impossible_value``). ``stats`` as in :func:`iter_csv`.

    Raises
    ------
    CsvFormatError
        The header lacks a column the format needs, or ``format="auto"`` cannot tell the
        format. The message names the column and the mapping that would read the file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = pathlib.Path(tmp.name) / "ais.csv"
    >>> _ = path.write_text(
    ...     "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,"
    ...     "Status,Length,Width,Draft,Cargo,TransceiverClass\\n"
    ...     "735057000,2023-01-11T00:00:00,-0.95,-80.7,3.5,360.0,511,SAN JOSE,IMO9307839,"
    ...     "HC1234,30,7,25,8,3.5,,A\\n"
    ... )
    >>> result = read_csv(path)
    >>> result.positions.select("mmsi", "sog", "cog", "heading").row(0)
    (735057000, 3.5, None, None)
    >>> result.vessels.select("imo", "name", "flag", "ship_type_label").row(0)
    (9307839, 'SAN JOSE', 'ECU', 'Fishing')
    >>> tmp.cleanup()
    """
    batches = list(
        iter_csv(path, format=format, mapping=mapping, source=source, time_format=time_format)
    )
    result = ReadResult.concat(batches)
    result.sources = batches[0].sources if batches else []
    return result
