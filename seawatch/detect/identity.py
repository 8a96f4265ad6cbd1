"""A vessel's identity over time, and its events: ``identity_change``, ``invalid_identity``.

**History** (:func:`identity_history`): per MMSI, each value its static reports (messages
5, 19, 24 A/B, CSV static columns: the ``vessels`` table) gave to the name, call sign, IMO
number, ship type and dimensions, and the flag of its MID (ITU-R M.585, ``seawatch/data/
mid.csv``), with when it was first and last seen and in how many stored reports (the store
keeps the first of each distinct report per UTC day, :mod:`seawatch.store.dedup`).

**identity_change** (:func:`detect_identity_changes`): the name, call sign, IMO number or
ship type changed, and the new value is an identity, not a garbled report. Real feeds carry
static reports garbled in the air with a valid checksum (one wrong character of a name, a
wrong bit of a number), seen once; so a new value counts only when

- it is seen in at least ``min_reports`` stored reports (a garbled report is one; the same
  garbling twice is as unlikely as a checksum collision), and
- the value it replaces is not seen again after it (a vessel that goes back to its old
  name did not change it: alternating identities are two transmitters on one MMSI, the
  ``spoofing`` detector's), and
- for the name and call sign, it differs from the old value by at least ``min_edit``
  characters (a one-character difference is what one garbled six-bit character gives);
  spacing, case, punctuation and AIS padding (``@``) are not differences; and
- the MMSI is one a ship may hold (:func:`mmsi_problems`): a placeholder such as
  413000000 is shared by many vessels, whose names are not one vessel's changes; and
- for the ship type, it is another kind of vessel (fishing, towing, cargo, tanker, ...:
  the codes of one ITU-R M.1371 group, 70-79 for cargo, are one kind; 30-39 and 50-59 are
  each their own), and ``0`` (not available) is no value.

The old value is the vessel's first value or the last one before that met these tests.
Changes of one vessel first seen within ``group_window`` of each other (a renamed vessel
usually changes name and call sign together) are one event, from the first to the last
change seen; ``lat``/``lon`` are the vessel's position nearest the first.

**invalid_identity** (:func:`detect_invalid_identities`): a vessel transmitting positions
under an MMSI that cannot be a ship's (ITU-R M.585): ``0``; a placeholder left in a
transponder (``placeholder_mmsis``: 123456789, 111111111, ...); fewer than nine digits;
nine digits whose MID is not allocated (``unallocated_mid``) or whose format is no station
type (``format``); or an IMO number whose check digit is wrong (IMO Resolution A.1117(30)),
seen in ``min_reports`` reports. An invalid MMSI heard fewer than ``min_positions`` times is
more likely garbled in the air than configured, and fishing-gear buoys (9-digit MMSIs
starting with 9 outside the ITU series) are not vessels (``ignore_gear``). One event per
MMSI, from its first to its last position.

Both read the identity reports from the pipeline's context (:class:`~seawatch.detect.
detector.Context` ``identities``: the store's whole ``vessels`` table) and report only the
vessels of the positions they are given, so a store read in chunks of vessels gives each
event once. Everything is Polars over the reports (a few per vessel and day), with the edit
distances of the candidate changes from ``rapidfuzz``.

Examples
--------
>>> import polars as pl
>>> from datetime import datetime, timedelta, UTC
>>> t0 = datetime(2026, 1, 15, tzinfo=UTC)
>>> reports = pl.DataFrame({"mmsi": [735000001] * 4,
...     "ts": [t0 + timedelta(hours=h) for h in (0, 5, 20, 30)],
...     "name": ["OCEAN STAR", "OCEAN STAP", "SEA WOLF", "SEA WOLF"]})
>>> h = identity_history(reports)
>>> h.filter(pl.col("field") == "name").select("value", "reports").rows()
[('OCEAN STAR', 1), ('OCEAN STAP', 1), ('SEA WOLF', 2)]
>>> track = pl.DataFrame({"mmsi": [735000001] * 2, "ts": [t0, t0 + timedelta(hours=30)],
...                       "lat": [-1.0, -1.5], "lon": [-85.0, -85.5]})
>>> ev = detect_identity_changes(track, reports)
>>> change = json.loads(ev["details"][0])["changes"][0]
>>> ev["start"][0] == t0 + timedelta(hours=20), change["old"], change["new"]
(True, 'OCEAN STAR', 'SEA WOLF')
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl

from seawatch import schema
from seawatch.detect.detector import Context, Detector
from seawatch.detect.events import empty_events, to_events
from seawatch.io.identity import flag_from_mmsi, mid_of, mid_table, ship_type_labels
from seawatch.params import Codes, Count, Duration, Flag, Params, param, resolve
from seawatch.units import parse_duration

CHANGE_FIELDS: tuple[str, ...] = ("name", "callsign", "imo", "ship_type")
"""The identity fields whose change is an ``identity_change``."""
HISTORY_FIELDS: tuple[str, ...] = (*CHANGE_FIELDS, "dimensions", "flag")
"""The fields of :func:`identity_history`."""
HISTORY: dict[str, pl.DataType] = {
    "mmsi": pl.Int64(),
    "field": pl.String(),
    "value": pl.String(),
    "label": pl.String(),
    "first_seen": schema.TS,
    "last_seen": schema.TS,
    "reports": pl.UInt32(),
    "days": pl.UInt32(),
}
"""Columns of :func:`identity_history`: one row per MMSI, field and value."""


class IdentityParams(Params):
    """Parameters of ``identity_change`` and ``invalid_identity`` (docs/detectors.md,
    *identity_change / invalid_identity*)."""

    min_reports: Count = param(
        2,
        "A new name, call sign, IMO number or ship type (or a wrong IMO check digit) counts "
        "only when seen in at least this many stored identity reports (the store keeps the "
        "first of each distinct report per UTC day): a report garbled in the air is seen once.",
        "seawatch: real feeds carry static reports garbled with a valid checksum; "
        "GFW's vessel identity work keeps only identities seen repeatedly",
    )
    min_edit: Count = param(
        2,
        "A new name or call sign must differ from the old one in at least this many "
        "characters (Levenshtein distance, after normalising case, spacing, punctuation and "
        "'@' padding): one wrong character is what a garbled six-bit character gives.",
        "ITU-R M.1371 six-bit text; seawatch",
    )
    group_window: Duration = param(
        "6h",
        "Changes of one vessel's fields first seen within this of each other are one event.",
        "seawatch: a class B vessel sends its name (24 A) and its call sign (24 B) apart",
    )
    placeholder_mmsis: Codes = param(
        [123456789, 111111111, 222222222, 333333333, 444444444, 555555555, 666666666,
         777777777, 888888888, 999999999, 987654321, 12345678, 1234567, 1193046],
        "MMSIs that transponders are shipped or misconfigured with (invalid_identity).",
        "ITU-R M.585; seen in real feeds (GFW's identity work lists them as invalid)",
    )
    min_positions: Count = param(
        5,
        "An invalid MMSI raises invalid_identity only when it sent at least this many "
        "positions: one or two reports are more likely a garbled MMSI (a bit error with a "
        "valid checksum) than a transmitter.",
        "seawatch: the AISHub sample (3 minutes) has 60 invalid MMSIs heard once or twice",
    )
    ignore_gear: Flag = param(
        True,
        "Leave out nine-digit MMSIs that start with 9 outside the ITU series (970-974 "
        "SART/MOB/EPIRB, 98 craft, 99 aids): fishing-gear buoys (net locators) use them; "
        "they are not vessels.",
        "seawatch: the AISHub sample's 900xxxxxx-961xxxxxx class B transmitters",
    )


_NOT_NAME = r"[^A-Z0-9]+"
VESSEL_PREFIX = r"^(?:[FMSR] V|M T|M Y|FV|MV) "
"""A prefix that says what kind of vessel, not which (``F/V``, ``F.V.``, ``FV``, ``M/V``,
``MV``, ``M/T``, ``S/V``, ``R/V``, ``M/Y``), once punctuation is spaces."""


def normalise_name(text: pl.Expr) -> pl.Expr:
    """Names and call signs as compared: upper case, ``@`` padding and punctuation as
    spaces, spaces collapsed and trimmed, a leading vessel-kind prefix (``F/V``, ``M/V``,
    ..., :data:`VESSEL_PREFIX`) dropped; empty is null.

    >>> pl.select(normalise_name(pl.Series([" Ocean  star@@@", "F/V Ocean-Star", "MV X", ""]))
    ...           ).to_series().to_list()
    ['OCEAN STAR', 'OCEAN STAR', 'X', None]
    """
    out = (
        text.cast(pl.String)
        .str.to_uppercase()
        .str.replace_all(_NOT_NAME, " ")
        .str.strip_chars()
        .str.replace(VESSEL_PREFIX, "")
    )
    return pl.when(out.str.len_chars() > 0).then(out).otherwise(None)


def ship_kind(code: pl.Expr) -> pl.Expr:
    """The kind of vessel an ITU ship-and-cargo code declares, as the code standing for it.

    Codes 30-39 and 50-59 are each a kind of their own (fishing, towing, ..., pilot, tug);
    in 20-29 and 60-99 the tens are the kind (70-79 cargo); 0 (not available) is null.

    >>> pl.select(ship_kind(pl.Series([0, 30, 52, 74, 89, 120]))).to_series().to_list()
    [None, 30, 52, 70, 80, 120]
    """
    c = code.cast(pl.Int64)
    grouped = ((c >= 20) & (c < 30)) | ((c >= 40) & (c < 50)) | ((c >= 60) & (c < 100))
    return (
        pl.when(c.is_null() | (c <= 0)).then(None)
        .when(grouped).then((c // 10) * 10)
        .otherwise(c)
    )


def imo_is_valid(imo: pl.Expr) -> pl.Expr:
    """True where a seven-digit IMO number's check digit is right (IMO A.1117(30)): the
    first six digits weighted 7, 6, 5, 4, 3, 2, summed, modulo 10 is the seventh.

    >>> pl.select(imo_is_valid(pl.Series([9074729, 9074728, 123]))).to_series().to_list()
    [True, False, False]
    """
    n = imo.cast(pl.Int64)
    digits = [(n // 10**k) % 10 for k in range(6, 0, -1)]
    total = sum((w * d for w, d in zip(range(7, 1, -1), digits, strict=True)), pl.lit(0))
    return (n >= 1_000_000) & (n <= 9_999_999) & ((total % 10) == (n % 10))


def _values(vessels: pl.DataFrame) -> pl.DataFrame:
    """The identity reports in long form: ``mmsi``, ``ts``, ``field``, ``value``, ``label``
    (``ts`` null when the reports have none, e.g. a table of latest identities)."""
    cols = vessels.columns
    v = vessels.select(
        pl.col("mmsi").cast(pl.Int64),
        pl.col("ts").cast(schema.TS) if "ts" in cols else pl.lit(None, schema.TS).alias("ts"),
        *[pl.col(c) if c in cols else pl.lit(None).alias(c)
          for c in ("name", "callsign", "imo", "ship_type", "length", "width", "flag")],
    )
    labels = ship_type_labels()
    kind = ship_kind(pl.col("ship_type"))
    length, width = pl.col("length").cast(pl.Float64), pl.col("width").cast(pl.Float64)
    dims = pl.when((length > 0) & (width > 0)).then(
        pl.format("{} x {} m", length.round(1), width.round(1)))
    imo = pl.col("imo").cast(pl.Int64)
    flag = pl.coalesce(pl.col("flag").cast(pl.String), flag_from_mmsi(pl.col("mmsi")))
    fields = {
        "name": (normalise_name(pl.col("name")), pl.lit(None, pl.String)),
        "callsign": (pl.col("callsign").cast(pl.String).str.to_uppercase()
                     .str.replace_all(r"[^A-Z0-9]", "").replace("", None),
                     pl.lit(None, pl.String)),
        "imo": (pl.when(imo > 0).then(imo.cast(pl.String)), pl.lit(None, pl.String)),
        "ship_type": (kind.cast(pl.String),
                      kind.replace_strict(list(labels), list(labels.values()), default=None,
                                          return_dtype=pl.String)),
        "dimensions": (dims, pl.lit(None, pl.String)),
        "flag": (flag, pl.lit(None, pl.String)),
    }
    frames = [
        v.select("mmsi", "ts", pl.lit(name).alias("field"), value.alias("value"),
                 label.alias("label"))
        for name, (value, label) in fields.items()
    ]
    return pl.concat(frames).drop_nulls(["value", "mmsi"])


def identity_history(vessels: pl.DataFrame, mmsi: int | None = None) -> pl.DataFrame:
    """Every value each identity field took, per MMSI, with when it was seen.

    Parameters
    ----------
    vessels
        Identity reports (:data:`seawatch.schema.VESSELS`: ``mmsi``, ``ts`` and any of
        ``name``, ``callsign``, ``imo``, ``ship_type``, ``length``, ``width``, ``flag``),
        e.g. ``store.vessels().collect()``.
    mmsi
        Only this vessel.

    Returns
    -------
    polars.DataFrame
        :data:`HISTORY`: ``field`` one of :data:`HISTORY_FIELDS`; ``value`` as compared
        (names normalised, :func:`normalise_name`; the ship type as its kind,
        :func:`ship_kind`, with its ``label``; dimensions ``"L x W m"``; the flag of the
        MID, ISO 3166 alpha-3), ``first_seen``/``last_seen``, ``reports`` (stored reports
        carrying it) and ``days`` (UTC days it was seen); sorted by ``mmsi``, field order,
        ``first_seen``.
    """
    if mmsi is not None:
        vessels = vessels.filter(pl.col("mmsi") == mmsi)
    if vessels.height == 0:
        return pl.DataFrame(schema=HISTORY)
    order = {f: k for k, f in enumerate(HISTORY_FIELDS)}
    return (
        _values(vessels)
        .group_by("mmsi", "field", "value")
        .agg(
            pl.col("label").first(),
            pl.col("ts").min().alias("first_seen"),
            pl.col("ts").max().alias("last_seen"),
            pl.len().alias("reports"),
            pl.col("ts").dt.date().n_unique().alias("days"),
        )
        .with_columns(pl.col("field").replace_strict(order, return_dtype=pl.Int64).alias("_o"))
        .sort("mmsi", "_o", "first_seen", "value")
        .select([pl.col(c).cast(t) for c, t in HISTORY.items()])
    )


def identity_changes(vessels: pl.DataFrame, params: IdentityParams | None = None,
                     **overrides: Any) -> pl.DataFrame:
    """The accepted changes of :data:`CHANGE_FIELDS` (module docstring), one row each.

    Returns
    -------
    polars.DataFrame
        ``mmsi``, ``field``, ``old``, ``new``, ``label`` (of a new ship type), ``ts`` (the
        new value first seen), ``old_last_seen``, ``reports`` (of the new value),
        ``edit`` (Levenshtein distance of names and call signs, null otherwise); sorted by
        ``mmsi``, ``ts``.
    """
    p = resolve(IdentityParams, params, overrides, "identity_changes()")
    hist = identity_history(vessels).filter(pl.col("field").is_in(list(CHANGE_FIELDS)))
    out_schema = pl.Schema({"mmsi": pl.Int64(), "field": pl.String(), "old": pl.String(),
                            "new": pl.String(), "label": pl.String(), "ts": schema.TS,
                            "old_last_seen": schema.TS, "reports": pl.UInt32(),
                            "edit": pl.Int64()})
    if hist.height == 0:
        return pl.DataFrame(schema=out_schema)
    g = ["mmsi", "field"]
    hist = hist.sort("mmsi", "field", "first_seen", "value").with_columns(
        pl.int_range(pl.len()).over(g).alias("rank"))
    anchor = (pl.col("reports") >= p.min_reports) | (pl.col("rank") == 0)
    # the last accepted value before each one (its first value counts as accepted)
    hist = hist.with_columns(
        pl.when(anchor).then(pl.col("value")).shift(1).forward_fill().over(g).alias("old"),
        pl.when(anchor).then(pl.col("last_seen")).shift(1).forward_fill().over(g)
        .alias("old_last_seen"),
    )
    cand = hist.filter(
        (pl.col("rank") > 0)
        & (pl.col("reports") >= p.min_reports)
        & pl.col("old").is_not_null()
        & (pl.col("old") != pl.col("value"))
        & (pl.col("old_last_seen") < pl.col("first_seen"))
    )
    if cand.height == 0:
        return pl.DataFrame(schema=out_schema)
    text = cand["field"].is_in(["name", "callsign"]).to_numpy()
    edit = np.full(cand.height, -1, dtype=np.int64)
    if text.any():
        from rapidfuzz.distance import Levenshtein

        olds, news = cand["old"].to_list(), cand["value"].to_list()
        for k in np.flatnonzero(text):  # a few candidates, not positions
            edit[k] = Levenshtein.distance(olds[k], news[k])
    cand = cand.with_columns(pl.Series("edit", edit).replace(-1, None))
    cand = cand.filter(pl.col("edit").is_null() | (pl.col("edit") >= p.min_edit))
    return cand.select(
        "mmsi", "field", "old", pl.col("value").alias("new"), "label",
        pl.col("first_seen").alias("ts"), "old_last_seen", "reports", "edit",
    ).cast(out_schema).sort("mmsi", "ts", "field")


FIELD_WEIGHT: dict[str, float] = {"name": 0.6, "callsign": 0.5, "imo": 0.8, "ship_type": 0.4}
"""How much a change of each field says on its own; an event's score is
``1 - prod(1 - weight)`` over the fields it changed (name and call sign together: 0.8)."""


def _located(events: pl.DataFrame, positions: pl.DataFrame) -> pl.DataFrame:
    """``events`` (``mmsi``, ``start``) with ``lat``/``lon`` of the vessel's position nearest
    in time to ``start``."""
    pos = (positions.select(pl.col("mmsi").cast(pl.Int64), pl.col("ts").cast(schema.TS),
                            pl.col("lat").cast(pl.Float64), pl.col("lon").cast(pl.Float64))
           .drop_nulls().sort("ts"))
    return events.sort("start").join_asof(
        pos, left_on="start", right_on="ts", by="mmsi", strategy="nearest",
        check_sortedness=False,
    ).drop("ts")


def _chunk_reports(table: pl.DataFrame, identities: pl.DataFrame | None) -> pl.DataFrame | None:
    if identities is None or identities.height == 0 or table.height == 0:
        return None
    mmsis = table.get_column("mmsi").unique().cast(pl.Int64)
    return identities.filter(pl.col("mmsi").cast(pl.Int64).is_in(mmsis.implode()))


def detect_identity_changes(
    positions: pl.DataFrame,
    identities: pl.DataFrame | None,
    *,
    params: IdentityParams | None = None,
    **overrides: Any,
) -> pl.DataFrame:
    """``identity_change`` events of the vessels of ``positions`` (module docstring).

    Parameters
    ----------
    positions
        Positions (``mmsi``, ``ts``, ``lat``, ``lon``) of the vessels to judge: an event is
        raised only for these MMSIs, placed at their position nearest the change.
    identities
        Identity reports (:data:`seawatch.schema.VESSELS`), every one, not the latest
        (``store.vessels().collect()``).
    params, **overrides
        :class:`IdentityParams`.

    Returns
    -------
    polars.DataFrame
        Events (:data:`seawatch.schema.EVENTS`): ``start``/``end`` the first and the last
        change of the episode first seen, ``score`` from :data:`FIELD_WEIGHT`, ``details``
        ``{"fields", "changes": [{"field", "old", "new", "label", "first_seen",
        "old_last_seen", "reports", "edit"}]}``.
    """
    p = resolve(IdentityParams, params, overrides, "detect_identity_changes()")
    reports = _chunk_reports(positions, identities)
    if reports is None:
        return empty_events()
    # an MMSI no ship may hold is shared by many transmitters: its "changes" are vessels
    valid = mmsi_problems(pl.col("mmsi"), list(p.placeholder_mmsis)).is_null()
    changes = identity_changes(reports.filter(valid), params=p)
    if changes.height == 0:
        return empty_events()
    window_us = parse_duration(p.group_window) // timedelta(microseconds=1)
    new_episode = (
        (pl.col("mmsi") != pl.col("mmsi").shift(1))
        | ((pl.col("ts") - pl.col("ts").shift(1)).dt.total_microseconds() > window_us)
    ).fill_null(True)
    changes = changes.with_columns(new_episode.cum_sum().alias("episode"))
    rows: list[dict[str, Any]] = []
    for (mmsi, _), group in changes.group_by("mmsi", "episode", maintain_order=True):
        items = group.to_dicts()  # the few changes of one episode
        fields = list(dict.fromkeys(c["field"] for c in items))
        score = 1.0 - float(np.prod([1.0 - FIELD_WEIGHT[f] for f in fields]))
        for c in items:
            for k in ("ts", "old_last_seen"):
                c[k] = c[k].isoformat().replace("+00:00", "Z")
            c["first_seen"] = c.pop("ts")
            c.pop("mmsi"), c.pop("episode")
        rows.append({
            "mmsi": mmsi, "start": group["ts"].min(), "end": group["ts"].max(),
            "score": round(score, 3),
            "details": json.dumps({"fields": fields, "changes": items}, separators=(",", ":")),
        })
    raw = pl.DataFrame(rows, schema={"mmsi": pl.Int64, "start": schema.TS, "end": schema.TS,
                                     "score": pl.Float64, "details": pl.String})
    return to_events(_located(raw, positions), "identity_change")


REASON_SCORE: dict[str, float] = {
    "zero": 1.0, "placeholder": 1.0, "short": 0.9, "format": 0.8, "unallocated_mid": 0.8,
    "imo_check_digit": 0.5,
}
"""Score of each reason of ``invalid_identity`` (an event's score is its highest)."""


def mmsi_problems(mmsi: pl.Expr, placeholders: list[int]) -> pl.Expr:
    """Why an MMSI that sends positions cannot be a ship's, or null (ITU-R M.585).

    ``placeholder``: one of ``placeholders``, or a MID followed by six zeros (a default
    many transponders share: 412000000, 413000000); ``short``: fewer than nine digits;
    ``format``: nine digits of no station type; ``unallocated_mid``: a station type whose
    MID is not in the table (``seawatch/data/mid.csv``).

    >>> m = pl.Series([0, 123456789, 413000000, 2470123, 200000001, 199000001, 735057000,
    ...                970012345])
    >>> pl.select(mmsi_problems(m, [123456789])).to_series().to_list()
    ['zero', 'placeholder', 'placeholder', 'short', 'unallocated_mid', 'format', None, None]
    """
    m = mmsi.cast(pl.Int64)
    ship_format = (m >= 200_000_000) & (m < 800_000_000)
    device = (m >= 970_000_000) & (m < 975_000_000) & (((m // 1_000_000) % 2) == 0)
    allocated = mid_of(m).is_in(list(mid_table())).fill_null(False)
    known_format = (ship_format | ((m >= 800_000_000) & (m < 900_000_000))
                    | ((m >= 980_000_000) & (m < 1_000_000_000))
                    | ((m >= 111_000_000) & (m < 112_000_000)))
    return (
        pl.when(m == 0).then(pl.lit("zero"))
        .when(m.is_in(placeholders) | (ship_format & (m % 1_000_000 == 0)))
        .then(pl.lit("placeholder"))
        .when(m < 100_000_000).then(pl.lit("short"))
        .when(m >= 1_000_000_000).then(pl.lit("format"))
        .when(device | allocated).then(None)
        .when(known_format).then(pl.lit("unallocated_mid"))
        .otherwise(pl.lit("format"))
    )


def is_gear(mmsi: pl.Expr) -> pl.Expr:
    """Nine-digit MMSIs starting with 9 outside the ITU series (970-974, 98, 99): what
    fishing-gear buoys transmit under.

    >>> pl.select(is_gear(pl.Series([900232211, 961040311, 970012345, 992351000]))
    ...           ).to_series().to_list()
    [True, True, False, False]
    """
    m = mmsi.cast(pl.Int64)
    return ((m >= 900_000_000) & (m < 970_000_000)) | ((m >= 975_000_000) & (m < 980_000_000))


def detect_invalid_identities(
    positions: pl.DataFrame,
    identities: pl.DataFrame | None = None,
    *,
    params: IdentityParams | None = None,
    **overrides: Any,
) -> pl.DataFrame:
    """``invalid_identity`` events: one per MMSI of ``positions`` that cannot be a ship's.

    Returns
    -------
    polars.DataFrame
        Events (:data:`seawatch.schema.EVENTS`) from the MMSI's first to its last position,
        at its first position; ``score`` the highest of :data:`REASON_SCORE`; ``details``
        ``{"reasons", "mid", "flag", "imo" (a wrong one, or null), "positions"}``.
    """
    p = resolve(IdentityParams, params, overrides, "detect_invalid_identities()")
    if positions.height == 0:
        return empty_events()
    per = (
        positions.select(pl.col("mmsi").cast(pl.Int64), pl.col("ts").cast(schema.TS),
                         pl.col("lat").cast(pl.Float64), pl.col("lon").cast(pl.Float64))
        .drop_nulls(["mmsi", "ts"]).sort("mmsi", "ts")
        .group_by("mmsi", maintain_order=True)
        .agg(pl.col("ts").first().alias("start"), pl.col("ts").last().alias("end"),
             pl.col("lat").first(), pl.col("lon").first(), pl.len().alias("positions"))
        .with_columns(mmsi_problems(pl.col("mmsi"), list(p.placeholder_mmsis)).alias("why"))
        .with_columns(pl.when(pl.col("positions") >= p.min_positions).then(pl.col("why")))
    )
    if p.ignore_gear:
        per = per.filter(~is_gear(pl.col("mmsi")))
    reports = _chunk_reports(positions, identities)
    bad_imo = pl.DataFrame(schema={"mmsi": pl.Int64, "imo": pl.Int64})
    if reports is not None and "imo" in reports.columns:
        bad_imo = (
            reports.select(pl.col("mmsi").cast(pl.Int64), pl.col("imo").cast(pl.Int64))
            .filter((pl.col("imo") > 0) & ~imo_is_valid(pl.col("imo")))
            .group_by("mmsi", "imo").len()
            .filter(pl.col("len") >= p.min_reports)
            .sort("mmsi", "len", "imo", descending=[False, True, False])
            .group_by("mmsi", maintain_order=True).agg(pl.col("imo").first())
        )
    per = per.join(bad_imo, on="mmsi", how="left")
    reasons = pl.concat_list(
        pl.col("why"), pl.when(pl.col("imo").is_not_null()).then(pl.lit("imo_check_digit"))
    ).list.drop_nulls()
    per = per.with_columns(reasons.alias("reasons")).filter(pl.col("reasons").list.len() > 0)
    if per.height == 0:
        return empty_events()
    score = pl.col("reasons").list.eval(
        pl.element().replace_strict(REASON_SCORE, return_dtype=pl.Float64)).list.max()
    raw = per.with_columns(
        score.alias("score"),
        pl.struct(
            pl.col("reasons"),
            mid_of(pl.col("mmsi")).alias("mid"),
            flag_from_mmsi(pl.col("mmsi")).alias("flag"),
            pl.col("imo"),
            pl.col("positions"),
        ).struct.json_encode().alias("details"),
    )
    return to_events(raw, "invalid_identity")


def detect_identity(table: pl.DataFrame, params: IdentityParams,
                    context: Context) -> pl.DataFrame:
    """Both identity event types of a chunk of positions (the pipeline's step)."""
    reports = context.identities if context.identities is not None else context.vessels
    return pl.concat([
        detect_identity_changes(table, reports, params=params),
        detect_invalid_identities(table, reports, params=params),
    ])


DETECTOR = Detector(
    name="identity",
    event_types=("identity_change", "invalid_identity"),
    params=IdentityParams,
    detect=detect_identity,
    needs=frozenset({"identities"}),
)
"""The ``identity`` step of the pipeline."""
