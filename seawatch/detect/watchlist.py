"""``watchlist_hit``: a vessel whose identity is on a watchlist.

A watchlist (:mod:`seawatch.share.watchlists` stores them; ``seawatch watchlist import``
reads CSV and JSON) lists vessels by any of name, IMO number, call sign, MMSI and flag, with
the list's name and source and each entry's reason. A vessel of the positions hits an entry
when

- its MMSI is the entry's, or
- an IMO number or call sign it reported is the entry's (exactly, call signs compared
  without case, spaces or punctuation), or
- a name it reported is the entry's written another way: both reduced to a key
  (:func:`name_key`: case, punctuation, ``@`` padding, spacing, a leading ``F/V``, ``M/V``,
  ... and the ``NO.`` before a number set aside: ``F/V Hai-Feng No.8`` is ``HAIFENG8``)
  and the keys equal; or, for keys of ``min_fuzzy_chars`` characters or more, at most
  ``max_name_edits`` characters apart (a misspelt long name) with the same numbers in both
  (digits and Roman numerals, :func:`vessel_numbers`: ``OCEAN STAR 3`` is not ``OCEAN STAR
  7``, nor ``ELIZABETH B II`` ``ELIZABETH III``: numbered sister ships are other vessels).
  Shorter names must be equal: one letter is the whole difference between ``DON PEDRO``
  and ``DONA PEDRO``, two vessels.

Every value the vessel reported counts (a renamed vessel still hits the entry of its old
name), except a name, call sign or IMO number seen in fewer than ``min_reports`` stored
reports beside another value: a report garbled in the air, not an identity
(:mod:`seawatch.detect.identity`).

One event per vessel with every entry it hits (``details.hits``, ``details.watchlist_ids``),
from its first to its last position, at the last; ``score`` is the best hit's:
``1 - prod(1 - weight)`` over the fields matched (MMSI 1.0, IMO 1.0, call sign 0.8, name
0.6 x ratio / 100). A hit whose entry gives a flag other than the MID's says
``flag_mismatch``: AIS carries no flag, and the list's is the declared one.

Matching is joins for the exact fields and the name keys, and one
``rapidfuzz.process.cdist`` (Levenshtein distance) of the vessels' distinct long keys
against the entries' (C, no Python loop over pairs).

Examples
--------
>>> import polars as pl
>>> from datetime import datetime, timedelta, UTC
>>> t0 = datetime(2026, 1, 15, tzinfo=UTC)
>>> track = pl.DataFrame({"mmsi": [412000123] * 3, "lat": [-2.0] * 3, "lon": [-86.0] * 3,
...                       "ts": [t0 + timedelta(hours=h) for h in range(3)]})
>>> reports = pl.DataFrame({"mmsi": [412000123] * 2, "ts": [t0, t0 + timedelta(hours=2)],
...                         "name": ["F/V Hai Feng-8", "HAI FENG 8"]})
>>> entries = entry_table([{"watchlist_id": 1, "list_name": "IUU", "name": "HAIFENG 8",
...                         "flag": "PAN", "reason": "IUU listed 2024"}])
>>> ev = detect_watchlist_hits(track, reports, entries)
>>> hit = json.loads(ev["details"][0])["hits"][0]
>>> hit["matched"], hit["flag_mismatch"], ev["score"][0]
({'name': 100.0}, True, 0.6)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import polars as pl

from seawatch import schema
from seawatch.detect.detector import Context, Detector
from seawatch.detect.events import empty_events, to_events
from seawatch.detect.identity import identity_history, normalise_name
from seawatch.io.identity import flag_from_mmsi
from seawatch.params import Count, Params, param, resolve

ENTRY_COLUMNS: dict[str, pl.DataType] = {
    "entry_id": pl.Int64(),
    "watchlist_id": pl.Int64(),
    "list_name": pl.String(),
    "source": pl.String(),
    "name": pl.String(),
    "imo": pl.Int64(),
    "callsign": pl.String(),
    "mmsi": pl.Int64(),
    "flag": pl.String(),
    "reason": pl.String(),
}
"""Columns of the watchlist entries the detector matches (:func:`entry_table`)."""

FIELD_WEIGHT: dict[str, float] = {"mmsi": 1.0, "imo": 1.0, "callsign": 0.8, "name": 0.6}
"""Weight of a match of each field; a name's is scaled by its ratio / 100."""


class WatchlistParams(Params):
    """Parameters of ``watchlist_hit`` (docs/detectors.md, *watchlist_hit*)."""

    max_name_edits: Count = param(
        1,
        "Most characters (Levenshtein distance) two name keys of min_fuzzy_chars or more "
        "may differ by and match; shorter keys must be equal.",
        "seawatch: the identity profile's fleet has DON PEDRO and DONA PEDRO, DON JACINTO "
        "and DONA JACINTO (keys of 8-11 characters one edit apart), two vessels each",
    )
    min_fuzzy_chars: Count = param(
        12,
        "Name keys shorter than this match only when equal.",
        "seawatch (as max_name_edits)",
    )
    min_reports: Count = param(
        2,
        "A name, call sign or IMO number seen in fewer stored reports than this, beside "
        "another value of the field, is a garbled report and matches nothing.",
        "seawatch (as [identity] min_reports)",
    )


def entry_table(entries: pl.DataFrame | Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """Watchlist entries (rows or a frame) with exactly :data:`ENTRY_COLUMNS` (missing
    columns null; ``entry_id`` the row number when absent).

    >>> entry_table([{"name": "A", "imo": "9074729"}]).select("entry_id", "imo").row(0)
    (0, 9074729)
    """
    frame = entries if isinstance(entries, pl.DataFrame) else pl.DataFrame(
        list(entries), infer_schema_length=None)
    if "entry_id" not in frame.columns:
        frame = frame.with_row_index("entry_id")
    cols = [pl.col(c).cast(t, strict=False) if c in frame.columns else pl.lit(None, t).alias(c)
            for c, t in ENTRY_COLUMNS.items()]
    return frame.select(cols)


def flag_code(text: pl.Expr) -> pl.Expr:
    """A flag as ISO 3166 alpha-3: three letters as given, else the territory named in the
    MID table (``Panama`` → ``PAN``), else null.

    >>> pl.select(flag_code(pl.Series(["pan", "Panama", "P"]))).to_series().to_list()
    ['PAN', 'PAN', None]
    """
    from importlib import resources

    text_mid = resources.files("seawatch.data").joinpath("mid.csv").read_text(encoding="utf-8")
    names = pl.read_csv(text_mid.encode()).select(
        pl.col("name").str.to_uppercase(), "iso_a3").unique("name")
    t = text.cast(pl.String).str.strip_chars().str.to_uppercase()
    by_name = t.replace_strict(names["name"].to_list(), names["iso_a3"].to_list(),
                               default=None, return_dtype=pl.String)
    return pl.when(t.str.contains(r"^[A-Z]{3}$")).then(t).otherwise(by_name)


def _callsign(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.String).str.to_uppercase().str.replace_all(r"[^A-Z0-9]", "").replace(
        "", None)


def vessel_numbers(text: pl.Expr) -> pl.Expr:
    """The numbers in a name, as text: digits and Roman numerals written as words (``II``,
    ``IV``), which number sister ships as digits do.

    >>> pl.select(vessel_numbers(pl.Series(["ELIZABETH B II", "LU RONG NO.12", "X 7"]))
    ...           ).to_series().to_list()
    ['II', '12', 'X 7']
    """
    words = normalise_name(text).str.split(" ")
    number = r"^(?:[0-9]+|[IVXLC]+)$"
    return words.list.eval(pl.element().filter(pl.element().str.contains(number))) \
        .list.join(" ")


def name_key(text: pl.Expr) -> pl.Expr:
    """A name as matched: :func:`~seawatch.detect.identity.normalise_name`, ``NO.`` before a
    number dropped, no spaces.

    >>> pl.select(name_key(pl.Series(["F/V Hai-Feng No.8", "HAIFENG 8", "m/v  Ocean Star"]))
    ...           ).to_series().to_list()
    ['HAIFENG8', 'HAIFENG8', 'OCEANSTAR']
    """
    return normalise_name(text).str.replace_all(r"\bNO (\d)", "$1").str.replace_all(" ", "")


def _trusted(history: pl.DataFrame, min_reports: int) -> pl.DataFrame:
    """The history rows to match: values seen ``min_reports`` times, or the only value."""
    n = pl.len().over("mmsi", "field")
    return history.filter((pl.col("reports") >= min_reports) | (n == 1))


def _name_pairs(names: pl.DataFrame, entries: pl.DataFrame, p: WatchlistParams) -> pl.DataFrame:
    """(``mmsi``, ``entry_id``, ``score``: the ratio of the keys, 0-100) of the name
    matches."""
    empty = pl.DataFrame(schema={"mmsi": pl.Int64, "entry_id": pl.Int64, "score": pl.Float64})
    listed = entries.select("entry_id", name_key(pl.col("name")).alias("n"),
                            vessel_numbers(pl.col("name")).alias("n_numbers")).filter(
        pl.col("n").str.len_chars() > 0)
    mine = names.select("mmsi", name_key(pl.col("value")).alias("value"),
                        vessel_numbers(pl.col("value")).alias("numbers")).filter(
        pl.col("value").str.len_chars() > 0)
    if mine.height == 0 or listed.height == 0:
        return empty
    pairs = [mine.join(listed, left_on="value", right_on="n").select(
        "mmsi", "entry_id", pl.lit(100.0).alias("score"))]
    long_mine = mine.filter(pl.col("value").str.len_chars() >= p.min_fuzzy_chars)
    long_listed = listed.filter(pl.col("n").str.len_chars() >= p.min_fuzzy_chars)
    if p.max_name_edits > 0 and long_mine.height and long_listed.height:
        from rapidfuzz import fuzz, process
        from rapidfuzz.distance import Levenshtein

        a = long_mine["value"].unique().sort().to_list()
        b = long_listed["n"].unique().sort().to_list()
        edits = process.cdist(a, b, scorer=Levenshtein.distance,
                              score_cutoff=p.max_name_edits, dtype=np.int32, workers=1)
        i, j = np.nonzero((edits <= p.max_name_edits) & (edits > 0))
        if i.size:
            close = pl.DataFrame({"value": [a[k] for k in i], "n": [b[k] for k in j]})
            close = close.with_columns(pl.Series("score", [
                round(fuzz.ratio(x, y), 1) for x, y in close.iter_rows()
            ], dtype=pl.Float64))  # the few close pairs
            pairs.append(close.join(long_mine, on="value").join(long_listed, on="n")
                         .filter(pl.col("numbers") == pl.col("n_numbers"))
                         .select("mmsi", "entry_id", "score"))
    return (pl.concat(pairs).group_by("mmsi", "entry_id").agg(pl.col("score").max())
            .select(pl.col("mmsi").cast(pl.Int64), "entry_id", pl.col("score")))


def match_entries(vessels: pl.DataFrame, identities: pl.DataFrame | None,
                  entries: pl.DataFrame, params: WatchlistParams | None = None,
                  **overrides: Any) -> pl.DataFrame:
    """Every (vessel, entry) hit, one row each.

    Parameters
    ----------
    vessels
        ``mmsi`` of the vessels to judge.
    identities
        Their identity reports (:data:`seawatch.schema.VESSELS`), or None.
    entries
        :func:`entry_table` rows.

    Returns
    -------
    polars.DataFrame
        ``mmsi``, ``entry_id``, ``mmsi_hit``, ``imo_hit``, ``callsign_hit`` (booleans),
        ``name_score`` (null without a name match), ``score``.
    """
    p = resolve(WatchlistParams, params, overrides, "match_entries()")
    mmsis = vessels.select(pl.col("mmsi").cast(pl.Int64)).unique()
    parts = [mmsis.join(entries.filter(pl.col("mmsi").is_not_null()), on="mmsi")
             .select("mmsi", "entry_id", pl.lit("mmsi").alias("field"), pl.lit(None, pl.Float64)
                     .alias("score"))]
    if identities is not None and identities.height:
        mine = identities.filter(pl.col("mmsi").cast(pl.Int64).is_in(mmsis["mmsi"].implode()))
        hist = _trusted(identity_history(mine).filter(
            pl.col("field").is_in(["name", "callsign", "imo"])), p.min_reports)
        imo = hist.filter(pl.col("field") == "imo").select(
            "mmsi", pl.col("value").cast(pl.Int64).alias("imo"))
        parts.append(imo.join(entries.filter(pl.col("imo").is_not_null()), on="imo").select(
            "mmsi", "entry_id", pl.lit("imo").alias("field"), pl.lit(None, pl.Float64)
            .alias("score")))
        calls = hist.filter(pl.col("field") == "callsign").select(
            "mmsi", pl.col("value").alias("cs"))
        listed = entries.select("entry_id", _callsign(pl.col("callsign")).alias("cs"))
        parts.append(calls.join(listed.drop_nulls(), on="cs").select(
            "mmsi", "entry_id", pl.lit("callsign").alias("field"), pl.lit(None, pl.Float64)
            .alias("score")))
        names = hist.filter(pl.col("field") == "name").select("mmsi", "value")
        parts.append(_name_pairs(names, entries, p).select(
            "mmsi", "entry_id", pl.lit("name").alias("field"), "score"))
    hits = pl.concat(parts).unique()
    if hits.height == 0:
        return pl.DataFrame(schema={"mmsi": pl.Int64, "entry_id": pl.Int64,
                                    "mmsi_hit": pl.Boolean, "imo_hit": pl.Boolean,
                                    "callsign_hit": pl.Boolean, "name_score": pl.Float64,
                                    "score": pl.Float64})
    weight = pl.col("field").replace_strict(FIELD_WEIGHT, return_dtype=pl.Float64) * pl.when(
        pl.col("field") == "name").then(pl.col("score") / 100.0).otherwise(1.0)
    return (
        hits.with_columns(weight.alias("w"))
        .group_by("mmsi", "entry_id")
        .agg(
            (pl.col("field") == "mmsi").any().alias("mmsi_hit"),
            (pl.col("field") == "imo").any().alias("imo_hit"),
            (pl.col("field") == "callsign").any().alias("callsign_hit"),
            pl.col("score").filter(pl.col("field") == "name").max().alias("name_score"),
            (1.0 - (1.0 - pl.col("w")).product()).round(3).alias("score"),
        )
        .sort("mmsi", "entry_id")
    )


def detect_watchlist_hits(
    positions: pl.DataFrame,
    identities: pl.DataFrame | None,
    entries: pl.DataFrame | None,
    *,
    params: WatchlistParams | None = None,
    **overrides: Any,
) -> pl.DataFrame:
    """``watchlist_hit`` events of the vessels of ``positions`` (module docstring).

    Returns
    -------
    polars.DataFrame
        Events (:data:`seawatch.schema.EVENTS`), one per vessel on any list; ``details``
        ``{"watchlist_ids", "vessel": {"flag"}, "hits": [{"watchlist_id", "list_name",
        "source", "entry_id", "reason", "entry": {...}, "matched": {"mmsi", "imo",
        "callsign": true, "name": ratio}, "score", "flag_mismatch"}]}``.
    """
    p = resolve(WatchlistParams, params, overrides, "detect_watchlist_hits()")
    if entries is None or entries.height == 0 or positions.height == 0:
        return empty_events()
    entries = entry_table(entries)
    seen = (
        positions.select(pl.col("mmsi").cast(pl.Int64), pl.col("ts").cast(schema.TS),
                         pl.col("lat").cast(pl.Float64), pl.col("lon").cast(pl.Float64))
        .drop_nulls().sort("mmsi", "ts")
        .group_by("mmsi", maintain_order=True)
        .agg(pl.col("ts").first().alias("start"), pl.col("ts").last().alias("end"),
             pl.col("lat").last(), pl.col("lon").last())
    )
    hits = match_entries(seen, identities, entries, params=p)
    if hits.height == 0:
        return empty_events()
    listed = entries.rename({c: f"entry_{c}" for c in ("name", "imo", "callsign", "mmsi",
                                                         "flag")})
    hits = hits.join(listed, on="entry_id").with_columns(
        flag_from_mmsi(pl.col("mmsi")).alias("vessel_flag"),
        flag_code(pl.col("entry_flag")).alias("entry_flag_code"),
    )
    rows: list[dict[str, Any]] = []
    for (mmsi,), group in hits.sort("mmsi", "score", "entry_id",
                                    descending=[False, True, False]).group_by(
            "mmsi", maintain_order=True):
        items = []
        for h in group.iter_rows(named=True):  # the few entries one vessel hits
            matched: dict[str, Any] = {k: True for k in ("mmsi", "imo", "callsign")
                                       if h[f"{k}_hit"]}
            if h["name_score"] is not None:
                matched["name"] = h["name_score"]
            items.append({
                "watchlist_id": h["watchlist_id"], "list_name": h["list_name"],
                "source": h["source"], "entry_id": h["entry_id"], "reason": h["reason"],
                "entry": {k: h[f"entry_{k}"] for k in ("name", "imo", "callsign", "mmsi",
                                                         "flag")},
                "matched": matched, "score": h["score"],
                "flag_mismatch": (h["entry_flag_code"] is not None
                                  and h["vessel_flag"] is not None
                                  and h["entry_flag_code"] != h["vessel_flag"]),
            })
        ids = sorted({i["watchlist_id"] for i in items if i["watchlist_id"] is not None})
        rows.append({"mmsi": mmsi, "score": items[0]["score"], "details": json.dumps(
            {"watchlist_ids": ids, "vessel": {"flag": group["vessel_flag"][0]},
             "hits": items}, separators=(",", ":"))})
    raw = pl.DataFrame(rows, schema={"mmsi": pl.Int64, "score": pl.Float64,
                                     "details": pl.String}).join(seen, on="mmsi")
    return to_events(raw, "watchlist_hit")


def detect_watchlist(table: pl.DataFrame, params: WatchlistParams,
                     context: Context) -> pl.DataFrame:
    """The pipeline's step: the chunk's vessels against the context's watchlists."""
    reports = context.identities if context.identities is not None else context.vessels
    return detect_watchlist_hits(table, reports, context.watchlists, params=params)


DETECTOR = Detector(
    name="watchlist",
    event_types=("watchlist_hit",),
    params=WatchlistParams,
    detect=detect_watchlist,
    needs=frozenset({"identities", "watchlists"}),
)
"""The ``watchlist`` step of the pipeline (no event without watchlists)."""

__all__ = ["DETECTOR", "ENTRY_COLUMNS", "WatchlistParams", "detect_watchlist_hits",
           "entry_table", "flag_code", "match_entries", "name_key", "vessel_numbers"]
