"""Vessels: the latest position of each vessel joined with its identity, search, one vessel's
record, and the all-vessels GeoJSON the map loads.

The builders take the :class:`~seawatch.api.query.StoreQuery` whose per-snapshot caches they
read (the latest identity, the events table); the query caches what they build.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import polars as pl

from seawatch import schema
from seawatch.export import VESSELS, to_records
from seawatch.store import bbox_filter
from seawatch.units import BBox

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.api.query import StoreQuery

VESSEL_FIELDS: tuple[str, ...] = (
    "mmsi",
    "name",
    "callsign",
    "imo",
    "ship_type",
    "ship_type_label",
    "flag",
    "cls",
    "ts",
    "lat",
    "lon",
    "sog",
    "cog",
    "heading",
)
"""Fields of a vessel in lists: identity, then the latest position."""

VESSEL_DETAIL_FIELDS: tuple[str, ...] = (
    *VESSEL_FIELDS,
    "length",
    "width",
    "draught",
    "destination",
    "mmsi_valid",
    "identity_ts",
)
"""Fields of one vessel (``/vessels/{mmsi}``): the list fields plus the rest of the identity."""

CLASS_A_MSG_TYPES = (1, 2, 3)
"""Position report types of class A transponders."""
CLASS_B_MSG_TYPES = (18, 19)
"""Position report types of class B transponders (27, long range, says neither)."""

VESSELS_MAX = 100_000
"""Largest page of vessels (the map loads every vessel in one GeoJSON request)."""
GZIP_LEVEL = 6
"""Compression of the cached all-vessels GeoJSON (compressed once per snapshot)."""


def build_latest(query: StoreQuery) -> pl.DataFrame:
    """One row per vessel with a position: the latest position and the identity.

    Columns :data:`VESSEL_DETAIL_FIELDS`, sorted by MMSI. ``flag`` comes from the identity
    reports, else from the MMSI's MID; ``cls`` is ``"A"`` or ``"B"`` from the type of the
    latest position report (else of any report), null when unknown.
    """
    from seawatch.io.identity import flag_from_mmsi

    motion = ("ts", "lat", "lon", "sog", "cog", "heading", "msg_type")
    last = pl.col("ts").arg_max()
    positions = (
        query.store.positions()
        .select("mmsi", *motion)
        .filter(
            pl.col("ts").is_not_null() & pl.col("lat").is_not_null()
            & pl.col("lon").is_not_null()
        )
        .group_by("mmsi")
        .agg(
            *[pl.col(c).get(last) for c in motion],
            pl.col("msg_type").is_in(CLASS_A_MSG_TYPES).any().alias("_any_a"),
            pl.col("msg_type").is_in(CLASS_B_MSG_TYPES).any().alias("_any_b"),
        )
        .collect()
    )
    identity = query.identity()
    frame = positions.join(identity, on="mmsi", how="left")
    return (
        frame.with_columns(
            class_expr().alias("cls"),
            pl.coalesce(pl.col("flag"), flag_from_mmsi(pl.col("mmsi"))).alias("flag"),
        )
        .select(VESSEL_DETAIL_FIELDS)
        .sort("mmsi")
    )


def class_expr() -> pl.Expr:
    """``"A"`` or ``"B"`` from the type of a vessel's latest position report
    (``msg_type``), else from whether any of its reports is of class A or B (``_any_a``,
    ``_any_b``); null when unknown.

    >>> frame = pl.DataFrame({"msg_type": [1, 27, 27], "_any_a": [True, False, False],
    ...                       "_any_b": [False, True, False]})
    >>> frame.select(class_expr().alias("cls"))["cls"].to_list()
    ['A', 'B', None]
    """
    msg = pl.col("msg_type")
    return (
        pl.when(msg.is_in(CLASS_A_MSG_TYPES)).then(pl.lit("A"))
        .when(msg.is_in(CLASS_B_MSG_TYPES)).then(pl.lit("B"))
        .when(pl.col("_any_a")).then(pl.lit("A"))
        .when(pl.col("_any_b")).then(pl.lit("B"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )


def identity_in_windows(query: StoreQuery, windows: pl.DataFrame) -> pl.DataFrame:
    """The latest identity of each MMSI of ``windows`` from its identity reports inside its
    windows only (:meth:`seawatch.store.Store.latest_identity` of those reports; ``ts``
    renamed ``identity_ts``).

    Parameters
    ----------
    windows
        ``mmsi``, ``start``, ``end``: inclusive bounds (null: open), any number of windows
        per MMSI (:func:`seawatch.api.scope.identity_windows`).
    """
    from seawatch.store.summary import latest_identity

    columns = list(schema.VESSELS)
    if windows.height == 0:
        return latest_identity(schema.empty(schema.VESSELS).lazy()).rename(
            {"ts": "identity_ts"})
    mmsis = windows["mmsi"].unique().to_list()
    inside = (
        (pl.col("start").is_null() | (pl.col("ts") >= pl.col("start")))
        & (pl.col("end").is_null() | (pl.col("ts") <= pl.col("end")))
    )
    first: datetime | None = None
    last: datetime | None = None
    if not windows["start"].null_count():
        first = windows["start"].min()  # type: ignore[assignment]
    if not windows["end"].null_count():
        end: datetime = windows["end"].max()  # type: ignore[assignment]
        last = end + timedelta(microseconds=1)

    def run() -> pl.DataFrame:
        reports = (query.store.vessels(mmsi=mmsis, start=first, end=last)
                   .join(windows.lazy(), on="mmsi", how="inner")
                   .filter(inside).select(columns))
        return latest_identity(reports)

    return query.retry(run).rename({"ts": "identity_ts"})


def select_vessels(frame: pl.DataFrame, q: str | None, bbox: BBox | None) -> pl.DataFrame:
    """Vessels of ``frame`` whose position lies in ``bbox`` and that match the search ``q``
    (see :func:`search`).

    >>> frame = pl.DataFrame({"mmsi": [1, 2], "name": ["A", "B"], "callsign": [None, None],
    ...                       "imo": [None, None], "lat": [0.0, 5.0], "lon": [0.0, 5.0]})
    >>> select_vessels(frame, None, (-1.0, -1.0, 1.0, 1.0))["mmsi"].to_list()
    [1]
    """
    if bbox is not None:
        frame = frame.filter(bbox_filter(bbox))
    if q:
        frame = search(frame, q)
    return frame


def all_vessels_geojson(frame: pl.DataFrame) -> str:
    """Every vessel of ``frame`` as a GeoJSON FeatureCollection (text): what the map loads,
    with the members of a page (``total``, ``limit``, ``offset``, ``next``)."""
    members = {"total": frame.height, "limit": VESSELS_MAX, "offset": 0, "next": None}
    return VESSELS.collection(frame, members)


def vessel_record(query: StoreQuery, mmsi: int) -> dict[str, Any] | None:
    """One vessel: identity, latest position and counts; None when the MMSI is unknown."""
    row = query.latest().filter(pl.col("mmsi") == mmsi)
    if row.height == 0:
        ident = query.identity().filter(pl.col("mmsi") == mmsi)
        if ident.height == 0:
            return None
        from seawatch.io.identity import flag_from_mmsi

        row = pl.DataFrame({"mmsi": [mmsi]}, schema={"mmsi": pl.Int64}).join(
            ident, on="mmsi", how="left"
        )
        row = row.with_columns(
            pl.coalesce(pl.col("flag"), flag_from_mmsi(pl.col("mmsi"))).alias("flag"),
            *[
                pl.lit(None, dtype=dtype).alias(c)
                for c, dtype in (
                    ("cls", pl.String()), ("ts", schema.TS), ("lat", pl.Float64()),
                    ("lon", pl.Float64()), ("sog", pl.Float32()), ("cog", pl.Float32()),
                    ("heading", pl.Int16()),
                )
            ],
        ).select(VESSEL_DETAIL_FIELDS)
    record = to_records(row)[0]
    counts = query.retry(
        lambda: query.store.positions(mmsi=mmsi)
        .select(
            pl.len().alias("positions"),
            pl.col("ts").min().alias("first_ts"),
            pl.col("ts").max().alias("last_ts"),
        )
        .collect()
    )
    record.update(to_records(counts)[0])
    events = query.events_table().filter(
        (pl.col("mmsi") == mmsi) | (pl.col("other_mmsi") == mmsi)
    )
    record["events"] = events.height
    return record


def identity_records(query: StoreQuery, mmsis: Sequence[int]) -> list[dict[str, Any]]:
    """Identity and latest position (list fields) of each MMSI, in the order given."""
    out = []
    for mmsi in mmsis:
        found = query.latest().filter(pl.col("mmsi") == mmsi).select(VESSEL_FIELDS)
        if found.height:
            out.append(to_records(found)[0])
            continue
        record: dict[str, Any] = dict.fromkeys(VESSEL_FIELDS)
        record["mmsi"] = mmsi
        ident = query.identity().filter(pl.col("mmsi") == mmsi)
        if ident.height:
            got = to_records(ident)[0]
            record.update({k: got[k] for k in VESSEL_FIELDS if k in got})
        if record.get("flag") is None:
            from seawatch.io.identity import flag_from_mmsi

            record["flag"] = pl.select(flag_from_mmsi(pl.lit(mmsi, pl.Int64))).item()
        out.append(record)
    return out


def search(frame: pl.DataFrame, q: str) -> pl.DataFrame:
    """Vessels matching ``q``, exact matches first, then by name and MMSI.

    ``q`` is an MMSI or IMO prefix (digits), or a case-insensitive substring of the name or
    the call sign.

    >>> frame = pl.DataFrame({"mmsi": [735057000, 224000001], "name": ["MANTA I", "ALBA"],
    ...                       "callsign": ["HC1", None], "imo": [9000001, None]})
    >>> search(frame, "manta")["mmsi"].to_list(), search(frame, "2240")["mmsi"].to_list()
    ([735057000], [224000001])
    """
    text = q.strip().lower()
    if not text:
        return frame
    digits = text.removeprefix("imo").strip()
    name = pl.col("name").str.to_lowercase()
    callsign = pl.col("callsign").str.to_lowercase()
    match = name.str.contains(text, literal=True).fill_null(False) | callsign.str.contains(
        text, literal=True
    ).fill_null(False)
    exact = (name == text).fill_null(False) | (callsign == text).fill_null(False)
    if digits.isdigit() and digits.isascii():
        mmsi = pl.col("mmsi").cast(pl.String)
        imo = pl.col("imo").cast(pl.String)
        match = match | mmsi.str.starts_with(digits) | imo.str.starts_with(digits).fill_null(False)
        exact = exact | (mmsi == digits) | (imo == digits).fill_null(False)
    rank = pl.when(exact).then(0).when(name.str.starts_with(text).fill_null(False)).then(1)
    return (
        frame.filter(match)
        .with_columns(rank.otherwise(2).alias("_rank"))
        .sort(["_rank", "name", "mmsi"], nulls_last=True)
        .drop("_rank")
    )
