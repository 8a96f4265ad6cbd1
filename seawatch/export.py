"""Exports of tables: JSON records, GeoJSON, CSV, Parquet and KML, with their marking.

The one place where events, positions and vessels become files or response bodies: the
command line's ``seawatch events --out`` (:func:`write_file`), the REST API's pages and
export endpoints and the OGC API's features (:mod:`seawatch.api`) all write through it.

Every writer takes a Polars frame (the result of any filtered query) and builds its text
column-wise with Polars string expressions: no per-row Python, so 100,000 features cost tens
of milliseconds. Times are written as ISO 8601 UTC text with ``Z`` (JSON, GeoJSON, CSV, KML)
or kept as UTC timestamps (Parquet). Columns named in ``raw_json`` hold JSON text (the events'
``details``) and are written as JSON values, not as strings.

A :class:`Layout` says how the rows of one table are written (the GeoJSON feature id, the
JSON columns, the KML name and times); :func:`render` writes a frame in one of
:data:`FORMATS` and attaches a marking to it: the dict of
:func:`seawatch.share.markings.export_metadata` (TLP level, owner, releasable-to, banner),
written as a ``marking`` column (CSV), a top-level ``marking`` member (GeoJSON), the
document's description (KML) or key-value metadata (Parquet).

Examples
--------
>>> import polars as pl
>>> frame = pl.DataFrame({"mmsi": [735057000], "lat": [-0.95], "lon": [-80.7]})
>>> records_json(frame)
'[{"mmsi":735057000,"lat":-0.95,"lon":-80.7}]'
>>> geojson_features(frame, id_column="mmsi")
'{"type":"Feature","id":735057000,"geometry":{"type":"Point","coordinates":[-80.7,-0.95]},\
"properties":{"mmsi":735057000,"lat":-0.95,"lon":-80.7}}'
>>> render(frame, "csv", POSITIONS, marking={"tlp": "GREEN", "banner": "TLP:GREEN"})
b'mmsi,lat,lon,marking\\n735057000,-0.95,-80.7,GREEN\\n'
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from seawatch.errors import InvalidValue
from seawatch.units import iso_utc

FORMATS: tuple[str, ...] = ("geojson", "csv", "parquet", "kml")
"""Formats :func:`render` writes (those of the API's export endpoints)."""

FILE_FORMATS: tuple[str, ...] = FORMATS
"""Formats of :func:`write_file` (``seawatch events --out``): every format of the API."""

MEDIA_TYPES: dict[str, str] = {
    "json": "application/json",
    "geojson": "application/geo+json",
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
    "kml": "application/vnd.google-earth.kml+xml",
}
"""Media type of each output format."""

SUFFIXES: dict[str, str] = {
    "geojson": "geojson",
    "csv": "csv",
    "parquet": "parquet",
    "kml": "kml",
    "json": "json",
}
"""File name suffix of each output format."""

FORMAT_OF_SUFFIX: dict[str, str] = {
    ".csv": "csv",
    ".geojson": "geojson",
    ".json": "geojson",
    ".parquet": "parquet",
    ".kml": "kml",
}
"""The format :func:`file_format` reads from an output file's suffix."""

MARKING_METADATA_KEY = "seawatch:marking"
"""Parquet key-value metadata key holding the marking (JSON); ``tlp`` holds its level."""

Marking = Mapping[str, Any]
"""A marking to attach to an export: the dict of
:func:`seawatch.share.markings.export_metadata` (keys used here: ``tlp``, ``banner``)."""

_XML_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"


@dataclass(frozen=True, eq=False)
class Layout:
    """How the rows of one table are written.

    Attributes
    ----------
    name
        The table (``events``, ``positions``, ``vessels``); the KML document is named after it.
    id_column
        Column giving each GeoJSON feature's ``id`` (None: features without ids).
    raw_json
        Columns of JSON text, written as JSON values.
    kml_name
        Each KML Placemark's name.
    kml_when
        Time column written as a KML ``<TimeStamp>``.
    kml_span
        Start and end columns written as a KML ``<TimeSpan>``.
    """

    name: str
    id_column: str | None
    raw_json: tuple[str, ...]
    kml_name: pl.Expr
    kml_when: str | None = None
    kml_span: tuple[str, str] | None = None

    def records(self, frame: pl.DataFrame) -> str:
        """The rows as a JSON array of objects (:func:`records_json`)."""
        return records_json(frame, raw_json=self.raw_json)

    def features(self, frame: pl.DataFrame, *, id_expr: pl.Expr | None = None) -> str:
        """The rows as GeoJSON Point features joined by commas (:func:`geojson_features`);
        ``id_expr`` computes the ids instead of :attr:`id_column`."""
        id_column = self.id_column if id_expr is None else None
        return geojson_features(frame, id_column=id_column, id_expr=id_expr,
                                raw_json=self.raw_json)

    def collection(self, frame: pl.DataFrame, members: Mapping[str, Any] | None = None, *,
                   ids: bool = True) -> str:
        """The rows as a GeoJSON FeatureCollection with extra top-level ``members``
        (:func:`geojson_points`); ``ids=False`` leaves the features without ids."""
        return geojson_points(frame, id_column=self.id_column if ids else None,
                              raw_json=self.raw_json, members=members)


EVENTS = Layout(
    "events", "event_id", ("details",),
    kml_name=pl.concat_str(pl.col("type"), pl.lit(" "), pl.col("mmsi").cast(pl.String)),
    kml_span=("start", "end"),
)
"""Events: feature id the event id, ``details`` a JSON object, KML spans start to end."""

POSITIONS = Layout("positions", None, (), kml_name=pl.col("mmsi").cast(pl.String),
                   kml_when="ts")
"""Positions: features without ids (OGC gives them one of its own), KML named by MMSI."""

VESSELS = Layout(
    "vessels", "mmsi", (),
    kml_name=pl.coalesce(pl.col("name"), pl.col("mmsi").cast(pl.String)), kml_when="ts",
)
"""Vessels: feature id the MMSI, KML named by the vessel's name (else its MMSI)."""

LAYOUTS: dict[str, Layout] = {layout.name: layout for layout in (EVENTS, POSITIONS, VESSELS)}
"""Every layout by its table's name."""


# --------------------------------------------------------------------------- one table


def render(
    frame: pl.DataFrame,
    fmt: str,
    layout: Layout,
    *,
    marking: Marking | None = None,
    feature_ids: bool = True,
    nan_as_null: bool = True,
) -> bytes:
    """One table in one export format, with its marking.

    Parameters
    ----------
    frame : polars.DataFrame
        The rows (any columns; ``lon``/``lat`` for GeoJSON and KML geometry).
    fmt : {"geojson", "csv", "parquet", "kml"}
        The format.
    layout : Layout
        How rows of this table are written (:data:`EVENTS`, :data:`POSITIONS`,
        :data:`VESSELS`).
    marking : mapping, optional
        The marking to attach (:data:`Marking`): a ``marking`` column with its TLP level
        (CSV, unless the rows carry one), the top-level ``marking`` member (GeoJSON), its
        banner as the document's description (KML), key-value metadata
        :data:`MARKING_METADATA_KEY` and ``tlp`` (Parquet).
    feature_ids : bool
        Give GeoJSON features the ids of ``layout``.
    nan_as_null : bool
        Write NaN floats of a CSV as empty fields (False: as ``NaN``).

    Raises
    ------
    seawatch.errors.InvalidValue
        ``fmt`` is not one of :data:`FORMATS`.

    Examples
    --------
    >>> import polars as pl
    >>> rows = pl.DataFrame({"mmsi": [1], "name": [None], "lat": [1.0], "lon": [2.0]})
    >>> render(rows, "geojson", VESSELS, marking={"tlp": "CLEAR"})[:54]
    b'{"type":"FeatureCollection","marking":{"tlp":"CLEAR"},'
    """
    if fmt == "csv":
        if marking and "marking" not in frame.columns:  # a CSV carries it on every row
            frame = frame.with_columns(pl.lit(marking["tlp"]).alias("marking"))
        return csv_bytes(frame, nan_as_null=nan_as_null)
    if fmt == "parquet":
        return parquet_bytes(frame, metadata=marking_metadata(marking))
    if fmt == "geojson":
        members = {"marking": marking} if marking else None
        return layout.collection(frame, members, ids=feature_ids).encode()
    if fmt == "kml":
        return kml_text(
            frame, title=f"seawatch {layout.name}", name=layout.kml_name, when=layout.kml_when,
            span=layout.kml_span, description=marking["banner"] if marking else None,
        ).encode()
    raise InvalidValue(f"unknown format {fmt!r}; valid: {', '.join(FORMATS)}")


def marking_metadata(marking: Marking | None) -> dict[str, str] | None:
    """The Parquet key-value metadata of a marking (None without one).

    >>> marking_metadata({"tlp": "AMBER"})
    {'seawatch:marking': '{"tlp": "AMBER"}', 'tlp': 'AMBER'}
    """
    if not marking:
        return None
    return {MARKING_METADATA_KEY: json.dumps(marking, ensure_ascii=False), "tlp": marking["tlp"]}


def file_format(path: Path, format: str | None) -> str:
    """The format of an export file: from its suffix (:data:`FORMAT_OF_SUFFIX`), or
    ``format`` when given (it must then agree with a suffix that names a format).

    Raises
    ------
    seawatch.errors.InvalidValue
        A format not in :data:`FILE_FORMATS`; no format given and a suffix that names none
        (nothing is written under a name that says another format); a format that
        contradicts the suffix.

    Examples
    --------
    >>> file_format(Path("events.json"), None), file_format(Path("x.txt"), " Parquet ")
    ('geojson', 'parquet')
    >>> file_format(Path("events.kml"), None)
    'kml'
    >>> file_format(Path("events.txt"), None)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    seawatch.errors.InvalidValue: cannot tell the format of events.txt from its suffix ...
    """
    suffix = path.suffix.lower()
    named = FORMAT_OF_SUFFIX.get(suffix)
    if format is None:
        if named is None:
            raise InvalidValue(
                f"cannot tell the format of {path.name} from its suffix {suffix or '(none)'!r};"
                f" name the file {_suffix_list()}, or give the format "
                f"({', '.join(FILE_FORMATS)})"
            )
        return named
    fmt = format.strip().lower()
    if fmt not in FILE_FORMATS:
        raise InvalidValue(f"unknown format {format!r}; valid: {', '.join(FILE_FORMATS)}")
    if named is not None and named != fmt:
        raise InvalidValue(
            f"format {fmt} does not match the file name {path.name} ({suffix} is {named}); "
            f"name the file .{SUFFIXES[fmt]} or leave the format out"
        )
    return fmt


def _suffix_list() -> str:
    suffixes = list(FORMAT_OF_SUFFIX)
    return ", ".join(suffixes[:-1]) + " or " + suffixes[-1]


def write_file(
    frame: pl.DataFrame,
    path: str | Path,
    format: str | None,
    layout: Layout,
    *,
    marking: Marking | None = None,
) -> str:
    """Write a table to a file as the command line does (``seawatch events --out``); return
    the format used.

    Parameters
    ----------
    frame : polars.DataFrame
        The rows (events: ``schema.EVENTS``).
    path : str or Path
        Output file (its folder is created).
    format : {"csv", "geojson", "parquet", "kml"}, optional
        Default: from the suffix (``.csv``, ``.geojson``/``.json``, ``.parquet``, ``.kml``;
        :func:`file_format`).
    layout : Layout
        How rows of this table are written.
    marking : mapping, optional
        A marking to attach, as in :func:`render`.

    Notes
    -----
    CSV: the columns as they are, times as ISO 8601 UTC (``2026-01-15T03:00:00Z``), JSON
    columns as JSON text, floats as Polars writes them (NaN as ``NaN``). GeoJSON: a
    FeatureCollection of Point features without ids, JSON columns as JSON values, ending
    with a newline. Parquet: the table as it is (times as UTC timestamps). KML: a Placemark
    per row, every column in its ExtendedData (:func:`kml_text`).

    Examples
    --------
    >>> import tempfile
    >>> rows = pl.DataFrame({"mmsi": [1], "lat": [None], "lon": [None], "details": ["{}"]})
    >>> out = Path(tempfile.mkdtemp()) / "events.geojson"
    >>> write_file(rows, out, None, EVENTS)
    'geojson'
    >>> print(out.read_text(), end="")
    {"type":"FeatureCollection","features":[
    {"type":"Feature","geometry":null,"properties":{"mmsi":1,"lat":null,"lon":null,"details":{}}}
    ]}
    """
    path = Path(path)
    fmt = file_format(path, format)
    body = render(frame, fmt, layout, marking=marking, feature_ids=False, nan_as_null=False)
    if fmt == "geojson":
        body += b"\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    return fmt


# --------------------------------------------------------------------------- JSON and GeoJSON


def with_iso_times(frame: pl.DataFrame, *, nan_as_null: bool = True) -> pl.DataFrame:
    """``frame`` with every datetime column as ISO 8601 UTC text (naive ones taken as UTC)
    and NaN floats as null (JSON has no NaN; ``nan_as_null=False`` keeps them).

    >>> with_iso_times(pl.DataFrame({"x": [float("nan")]}))["x"].to_list()
    [None]
    """
    exprs = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Datetime):
            col = pl.col(name)
            if dtype.time_zone is None:
                col = col.dt.replace_time_zone("UTC")
            else:
                col = col.dt.convert_time_zone("UTC")
            exprs.append(iso_utc(col).alias(name))
        elif nan_as_null and dtype in (pl.Float32, pl.Float64):
            exprs.append(pl.col(name).fill_nan(None))
    return frame.with_columns(exprs) if exprs else frame


def _members(frame: pl.DataFrame, columns: Sequence[str], raw_json: Sequence[str]) -> pl.Series:
    """Per row, the JSON object members of ``columns`` without braces (``"a":1,"b":"x"``)."""
    plain = [c for c in columns if c not in raw_json]
    parts: list[pl.Expr] = []
    if plain:
        encoded = pl.struct([pl.col(c) for c in plain]).struct.json_encode()
        parts.append(encoded.str.strip_prefix("{").str.strip_suffix("}"))
    for c in columns:
        if c in raw_json:
            key = json.dumps(c)
            parts.append(pl.lit(key + ":") + pl.col(c).fill_null("null"))
    if not parts:
        return pl.Series("m", [""] * frame.height, dtype=pl.String)
    return frame.select(pl.concat_str(parts, separator=",").alias("m")).to_series()


def records_json(frame: pl.DataFrame, raw_json: Sequence[str] = ()) -> str:
    """A JSON array of one object per row (text); times as ISO 8601 UTC.

    >>> import polars as pl
    >>> records_json(pl.DataFrame({"details": ['{"a": 1}'], "n": [1]}), raw_json=["details"])
    '[{"n":1,"details":{"a": 1}}]'
    """
    if frame.height == 0:
        return "[]"
    frame = with_iso_times(frame)
    members = _members(frame, frame.columns, raw_json)
    body: str = ("{" + members + "}").str.join(",").item()
    return "[" + body + "]"


def json_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` ready for Python's JSON encoder: times as ISO text, NaN as null, and float32
    values as the float64 nearest their shortest decimal form (11.6, not
    11.600000381469727).

    >>> json_safe(pl.DataFrame({"sog": [11.6]}, schema={"sog": pl.Float32}))["sog"].to_list()
    [11.6]
    """
    frame = with_iso_times(frame)
    f32 = [c for c, t in frame.schema.items() if t == pl.Float32]
    if not f32:
        return frame
    return frame.with_columns(pl.col(f32).cast(pl.String).cast(pl.Float64))


def to_records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts for Python's JSON encoder (:func:`json_safe`; for small results).

    >>> from datetime import datetime, UTC
    >>> to_records(pl.DataFrame({"ts": [datetime(2026, 1, 15, tzinfo=UTC)], "x": [None]}))
    [{'ts': '2026-01-15T00:00:00Z', 'x': None}]
    """
    return json_safe(frame).to_dicts()


def has_position() -> pl.Expr:
    """Whether a row has a usable position: ``lat`` and ``lon`` both finite (not null, not
    NaN); rows without one are written with no geometry."""
    return (
        pl.col("lat").is_not_null()
        & pl.col("lon").is_not_null()
        & pl.col("lat").is_finite()
        & pl.col("lon").is_finite()
    )


def point_json() -> pl.Expr:
    """A row's GeoJSON Point geometry (text) from ``lon``/``lat``, for rows with a position.

    The coordinates are written as Polars writes floats in JSON (the shortest text that
    reads back exactly), by string concatenation: four times faster than encoding a struct.

    >>> pl.DataFrame({"lon": [-80.7], "lat": [1e-07]}).select(point_json()).item()
    '{"type":"Point","coordinates":[-80.7,1e-7]}'
    """
    return pl.concat_str(
        pl.lit('{"type":"Point","coordinates":['),
        pl.col("lon").cast(pl.String),
        pl.lit(","),
        pl.col("lat").cast(pl.String),
        pl.lit("]}"),
    )


def _geometry(frame: pl.DataFrame) -> pl.Series:
    """Point geometry JSON of each row from ``lon``/``lat`` (``null`` where unknown)."""
    return frame.select(
        pl.when(has_position()).then(point_json()).otherwise(pl.lit("null")).alias("g")
    ).to_series()


def geojson_features(
    frame: pl.DataFrame,
    *,
    id_column: str | None = None,
    id_expr: pl.Expr | None = None,
    properties: Sequence[str] | None = None,
    raw_json: Sequence[str] = (),
) -> str:
    """GeoJSON Point features of the rows, joined by commas (text, no brackets).

    Parameters
    ----------
    frame : polars.DataFrame
        Rows with ``lon`` and ``lat`` columns (null or NaN: ``"geometry": null``).
    id_column : str, optional
        Column giving each feature's ``id`` (kept as a number or a string).
    id_expr : polars.Expr, optional
        An expression computing the ``id`` instead (e.g. MMSI and time of a position).
    properties : sequence of str, optional
        Columns written as properties (default: all, ``lat`` and ``lon`` included).
    raw_json : sequence of str
        Columns of JSON text written as JSON values.
    """
    if frame.height == 0:
        return ""
    if properties is None:
        properties = list(frame.columns)
    geometry = _geometry(frame)
    if id_expr is not None:
        frame = frame.with_columns(id_expr.alias("__id"))
        id_column = "__id"
    out = with_iso_times(frame)
    props = _members(out, list(properties), raw_json)
    head = pl.Series("h", ['{"type":"Feature",'] * frame.height, dtype=pl.String)
    if id_column is not None:
        ident = out.select(
            pl.struct(pl.col(id_column).alias("id")).struct.json_encode().str.strip_prefix("{")
            .str.strip_suffix("}")
        ).to_series()
        head = head + ident + ","
    features = head + '"geometry":' + geometry + ',"properties":{' + props + "}}"
    joined: str = features.str.join(",\n").item()
    return joined


def feature_collection(features: str, members: Mapping[str, Any] | None = None) -> str:
    """A FeatureCollection (text) of joined features, with extra top-level members.

    >>> feature_collection("", {"numberReturned": 0})
    '{"type":"FeatureCollection","numberReturned":0,"features":[]}'
    """
    extra = "".join(f"{_dumps(k)}:{_dumps(v)}," for k, v in (members or {}).items())
    body = "\n" + features + "\n" if features else ""
    return '{"type":"FeatureCollection",' + extra + '"features":[' + body + "]}"


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def geojson_points(
    frame: pl.DataFrame,
    *,
    id_column: str | None = None,
    raw_json: Sequence[str] = (),
    members: Mapping[str, Any] | None = None,
) -> str:
    """A FeatureCollection (text) of one Point per row; see :func:`geojson_features`.

    >>> import polars as pl
    >>> geojson_points(pl.DataFrame({"lat": [None], "lon": [1.0], "n": [1]}))
    '{"type":"FeatureCollection","features":[\\n{"type":"Feature","geometry":null,\
"properties":{"lat":null,"lon":1.0,"n":1}}\\n]}'
    """
    return feature_collection(
        geojson_features(frame, id_column=id_column, raw_json=raw_json), members
    )


# --------------------------------------------------------------------------- CSV and Parquet


def flatten_lists(frame: pl.DataFrame, separator: str = ",") -> pl.DataFrame:
    """``frame`` with every list column as text, its items joined by ``separator`` (for CSV
    and KML, which have no lists; e.g. an event's ``releasable_to``).

    >>> flatten_lists(pl.DataFrame({"to": [["A", "B"], []]}))["to"].to_list()
    ['A,B', '']
    """
    lists = [name for name, dtype in frame.schema.items() if isinstance(dtype, pl.List)]
    if not lists:
        return frame
    return frame.with_columns(
        pl.col(name).cast(pl.List(pl.String)).list.join(separator).alias(name) for name in lists
    )


def csv_bytes(frame: pl.DataFrame, *, nan_as_null: bool = True) -> bytes:
    """CSV with a header row; times as ISO 8601 UTC, JSON columns as JSON text, lists as
    comma-separated text, NaN as an empty field (``nan_as_null=False``: as ``NaN``).

    >>> import polars as pl
    >>> from datetime import datetime, UTC
    >>> csv_bytes(pl.DataFrame({"ts": [datetime(2026, 1, 15, tzinfo=UTC)]})).decode()
    'ts\\n2026-01-15T00:00:00Z\\n'
    """
    buffer = io.BytesIO()
    flatten_lists(with_iso_times(frame, nan_as_null=nan_as_null)).write_csv(buffer)
    return buffer.getvalue()


def parquet_bytes(frame: pl.DataFrame, metadata: Mapping[str, str] | None = None) -> bytes:
    """Parquet (zstd) of the frame as it is: times stay UTC timestamps. ``metadata`` goes
    into the file's key-value metadata (e.g. its TLP marking)."""
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd",
                        metadata=dict(metadata) if metadata else None)
    return buffer.getvalue()


# --------------------------------------------------------------------------- KML


def _xml(expr: pl.Expr) -> pl.Expr:
    """Text escaped for XML element content and attributes; control characters dropped."""
    return (
        expr.cast(pl.String)
        .str.replace_all(_XML_CONTROL, "")
        .str.replace_many(["&", "<", ">", '"'], ["&amp;", "&lt;", "&gt;", "&quot;"])
    )


def kml_text(
    frame: pl.DataFrame,
    *,
    title: str,
    name: pl.Expr,
    when: str | None = None,
    span: tuple[str, str] | None = None,
    description: str | None = None,
) -> str:
    """A KML 2.2 document with one Placemark per row.

    Parameters
    ----------
    frame : polars.DataFrame
        Rows with ``lon``/``lat`` (a Point; no geometry where unknown).
    title : str
        The document's name.
    name : polars.Expr
        Each Placemark's name.
    when : str, optional
        Time column written as ``<TimeStamp>``.
    span : (str, str), optional
        Start and end columns written as ``<TimeSpan>``.
    description : str, optional
        The document's ``<description>`` (e.g. its TLP marking banner).

    Notes
    -----
    Every column is also written as ``<ExtendedData>`` (times as ISO 8601 UTC), so a KML
    round-trips the table's values as text.

    Examples
    --------
    >>> import polars as pl
    >>> doc = kml_text(pl.DataFrame({"lat": [1.0], "lon": [2.0], "n": ["a&b"]}), title="t",
    ...                name=pl.col("n"))
    >>> "<name>a&amp;b</name>" in doc and "<coordinates>2.0,1.0</coordinates>" in doc
    True
    """
    header = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<kml xmlns="http://www.opengis.net/kml/2.2">\n<Document>\n'
        f"<name>{_escape(title)}</name>\n"
    )
    if description:
        header += f"<description>{_escape(description)}</description>\n"
    footer = "</Document>\n</kml>\n"
    if frame.height == 0:
        return header + footer
    names = frame.select(_xml(name).fill_null("").alias("__name")).to_series()
    text = flatten_lists(with_iso_times(frame)).with_columns(names)
    parts: list[pl.Expr] = [pl.lit("<Placemark><name>"), pl.col("__name"), pl.lit("</name>")]
    if when is not None:
        parts.append(
            pl.when(pl.col(when).is_not_null())
            .then(pl.lit("<TimeStamp><when>") + pl.col(when) + pl.lit("</when></TimeStamp>"))
            .otherwise(pl.lit(""))
        )
    if span is not None:
        begin, end = span
        parts.append(
            pl.lit("<TimeSpan>")
            + pl.when(pl.col(begin).is_not_null())
            .then(pl.lit("<begin>") + pl.col(begin) + pl.lit("</begin>"))
            .otherwise(pl.lit(""))
            + pl.when(pl.col(end).is_not_null())
            .then(pl.lit("<end>") + pl.col(end) + pl.lit("</end>"))
            .otherwise(pl.lit(""))
            + pl.lit("</TimeSpan>")
        )
    parts.append(pl.lit("<ExtendedData>"))
    for column in frame.columns:
        parts.append(
            pl.lit(f'<Data name="{_escape(column)}"><value>')
            + _xml(pl.col(column)).fill_null("")
            + pl.lit("</value></Data>")
        )
    parts.append(pl.lit("</ExtendedData>"))
    parts.append(
        pl.when(has_position())
        .then(
            pl.lit("<Point><coordinates>")
            + pl.col("lon").cast(pl.String)
            + pl.lit(",")
            + pl.col("lat").cast(pl.String)
            + pl.lit("</coordinates></Point>")
        )
        .otherwise(pl.lit(""))
    )
    parts.append(pl.lit("</Placemark>"))
    placemarks: str = text.select(pl.concat_str(parts).str.join("\n")).item()
    return header + placemarks + "\n" + footer


def _escape(text: str) -> str:
    from xml.sax.saxutils import escape

    return escape(text, {'"': "&quot;"})
