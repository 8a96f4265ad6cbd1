"""Writers of whole tables: JSON records, GeoJSON, CSV, Parquet and KML.

Every writer takes a Polars frame (the result of any filtered query) and builds its text
column-wise with Polars string expressions: no per-row Python, so 100,000 features cost tens
of milliseconds. Times are written as ISO 8601 UTC text with ``Z`` (JSON, GeoJSON, CSV, KML)
or kept as UTC timestamps (Parquet). Columns named in ``raw_json`` hold JSON text (the events'
``details``) and are written as JSON values, not as strings.

Examples
--------
>>> import polars as pl
>>> frame = pl.DataFrame({"mmsi": [735057000], "lat": [-0.95], "lon": [-80.7]})
>>> records_json(frame)
'[{"mmsi":735057000,"lat":-0.95,"lon":-80.7}]'
>>> geojson_features(frame, id_column="mmsi")
'{"type":"Feature","id":735057000,"geometry":{"type":"Point","coordinates":[-80.7,-0.95]},\
"properties":{"mmsi":735057000,"lat":-0.95,"lon":-80.7}}'
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from seawatch.units import iso_utc

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

EXPORT_FORMATS: tuple[str, ...] = ("geojson", "csv", "parquet", "kml")
"""Formats of the export endpoints."""

_XML_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"


def with_iso_times(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every datetime column as ISO 8601 UTC text (naive ones taken as UTC)
    and NaN floats as null (JSON has no NaN)."""
    exprs = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Datetime):
            col = pl.col(name)
            if dtype.time_zone is None:
                col = col.dt.replace_time_zone("UTC")
            else:
                col = col.dt.convert_time_zone("UTC")
            exprs.append(iso_utc(col).alias(name))
        elif dtype in (pl.Float32, pl.Float64):
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
    body = ("{" + members + "}").str.join(",").item()
    return "[" + body + "]"


def _geometry(frame: pl.DataFrame) -> pl.Series:
    """Point geometry JSON of each row from ``lon``/``lat`` (``null`` where unknown)."""
    valid = (
        pl.col("lat").is_not_null()
        & pl.col("lon").is_not_null()
        & pl.col("lat").is_finite()
        & pl.col("lon").is_finite()
    )
    point = pl.struct(
        type=pl.lit("Point"), coordinates=pl.concat_list(pl.col("lon"), pl.col("lat"))
    ).struct.json_encode()
    return frame.select(pl.when(valid).then(point).otherwise(pl.lit("null")).alias("g")).to_series()


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
    return features.str.join(",\n").item()


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


def csv_bytes(frame: pl.DataFrame) -> bytes:
    """CSV with a header row; times as ISO 8601 UTC, JSON columns as JSON text, lists as
    comma-separated text.

    >>> import polars as pl
    >>> from datetime import datetime, UTC
    >>> csv_bytes(pl.DataFrame({"ts": [datetime(2026, 1, 15, tzinfo=UTC)]})).decode()
    'ts\\n2026-01-15T00:00:00Z\\n'
    """
    buffer = io.BytesIO()
    flatten_lists(with_iso_times(frame)).write_csv(buffer)
    return buffer.getvalue()


def parquet_bytes(frame: pl.DataFrame, metadata: Mapping[str, str] | None = None) -> bytes:
    """Parquet (zstd) of the frame as it is: times stay UTC timestamps. ``metadata`` goes
    into the file's key-value metadata (e.g. its TLP marking)."""
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd",
                        metadata=dict(metadata) if metadata else None)
    return buffer.getvalue()


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
    valid = (
        pl.col("lat").is_not_null()
        & pl.col("lon").is_not_null()
        & pl.col("lat").is_finite()
        & pl.col("lon").is_finite()
    )
    parts.append(
        pl.when(valid)
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
    placemarks = text.select(pl.concat_str(parts).str.join("\n")).item()
    return header + placemarks + "\n" + footer


def _escape(text: str) -> str:
    from xml.sax.saxutils import escape

    return escape(text, {'"': "&quot;"})
