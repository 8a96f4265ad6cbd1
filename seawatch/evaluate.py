"""Score detected events against ground truth: precision, recall and F1 per event type.

Matching rule (documented in ``docs/evaluation.md``):

- a prediction can match a truth event only if both have the same ``type`` and the same
  vessel(s): the same ``mmsi`` for single-vessel events, the same unordered pair
  (``mmsi``, ``other_mmsi``) for pair events such as encounters;
- their time spans must overlap once each is widened by ``slack`` (default one hour) on both
  sides, i.e. ``pred.start <= truth.end + slack`` and ``pred.end >= truth.start - slack``;
- matching is one to one: each truth event is matched by at most one prediction and each
  prediction matches at most one truth event. Among candidates, pairs with the largest time
  overlap (then the closest start) are matched first. A second prediction of an episode that
  is already matched is a false positive, as DESIGN.md asks: every duplicate is one more alert
  an officer must clear.

Examples
--------
>>> import polars as pl
>>> from datetime import datetime, timedelta, UTC
>>> t0 = datetime(2026, 1, 15, tzinfo=UTC)
>>> truth = pl.DataFrame({"type": ["gap"], "mmsi": [735000001],
...                       "start": [t0], "end": [t0 + timedelta(hours=14)]})
>>> preds = pl.DataFrame({"type": ["gap", "gap"], "mmsi": [735000001, 735000001],
...                       "start": [t0, t0 + timedelta(hours=1)],
...                       "end": [t0 + timedelta(hours=14), t0 + timedelta(hours=3)]})
>>> row = score(truth, preds).row(0, named=True)
>>> row["tp"], row["fp"], row["fn"], round(row["f1"], 3)
(1, 1, 0, 0.667)
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import polars as pl

from seawatch import schema
from seawatch.errors import InvalidValue

DEFAULT_SLACK = timedelta(hours=1)

SCORE_COLUMNS = ("type", "n_truth", "n_pred", "tp", "fp", "fn", "precision", "recall", "f1")


class EventsFileError(InvalidValue):
    """An events or truth file cannot be read as events."""


def read_events(path: str | Path) -> pl.DataFrame:
    """Read an events table in seawatch.schema.EVENTS from any file seawatch writes.

    Formats, told by the file's content (its suffix is only a hint): CSV with ISO 8601 times
    (``seawatch events --out x.csv``), Parquet (``x.parquet``, the simulator's
    ``truth.parquet``), a JSON list of events (the simulator's ``truth.json``), a GeoJSON
    FeatureCollection of events (``seawatch events --out x.geojson``, the API's export), whose
    feature properties are the events, and KML (``seawatch events --out x.kml``, the API's
    export), whose Placemarks carry every column in their ``ExtendedData``. Only ``type``,
    ``mmsi``, ``start`` and ``end`` are required; other columns are kept when present and
    null otherwise.

    Raises
    ------
    EventsFileError
        The file is missing, is none of these formats, or lacks a required column; the
        message says which and what is expected.
    """
    path = Path(path)
    if not path.is_file():
        raise EventsFileError(f"{path}: no such file")
    try:
        with path.open("rb") as f:
            head = f.read(64).lstrip()
        if head.startswith(b"PAR1"):
            frame = pl.read_parquet(path)
        elif head[:1] in (b"[", b"{"):
            frame = _json_events(json.loads(path.read_text(encoding="utf-8")), path)
        elif head[:1] == b"<":
            frame = _kml_events(path)
        else:
            frame = pl.read_csv(path, infer_schema_length=0)
    except EventsFileError:
        raise
    except (OSError, pl.exceptions.PolarsError, json.JSONDecodeError, ValueError,
            ElementTree.ParseError) as exc:
        raise EventsFileError(
            f"{path}: cannot read events ({str(exc).splitlines()[0][:200]}); seawatch reads "
            "CSV, Parquet, a JSON list of events, a GeoJSON FeatureCollection or KML"
        ) from exc
    missing = [c for c in ("type", "mmsi", "start", "end") if c not in frame.columns]
    if missing:
        raise EventsFileError(
            f"{path}: column(s) {missing} missing; found: {frame.columns}. An events file needs "
            "at least type, mmsi, start, end (and other_mmsi for pair events)."
        )
    return _as_events(frame, str(path))


def _json_events(doc: Any, path: Path) -> pl.DataFrame:
    """Events of a JSON list of objects or of a GeoJSON FeatureCollection's properties."""
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        rows = [f.get("properties") or {} for f in doc.get("features") or []
                if isinstance(f, dict)]
    elif isinstance(doc, list):
        rows = doc
    else:
        raise EventsFileError(
            f"{path}: JSON that is neither a list of events nor a GeoJSON FeatureCollection"
        )
    if not all(isinstance(r, dict) for r in rows):
        raise EventsFileError(f"{path}: every event must be a JSON object")
    columns = list(dict.fromkeys(k for r in rows for k in r))
    # Each column as text (details as JSON text): no type guessed from the first rows.
    data = {c: [_json_text(r.get(c)) for r in rows] for c in columns}
    return pl.DataFrame(data, schema=dict.fromkeys(columns, pl.String))


def _kml_events(path: Path) -> pl.DataFrame:
    """Events of a KML document: one per Placemark, its columns the ``<Data name="...">``
    of its ``ExtendedData`` (as :func:`seawatch.export.kml_text` writes them), as text."""
    rows: list[dict[str, str | None]] = []
    root = None
    for event, element in ElementTree.iterparse(path, events=("start", "end")):
        if root is None:
            root = _local(element.tag)
            if root != "kml":
                raise EventsFileError(f"{path}: XML whose root is <{root}>, not KML")
        if event != "end" or _local(element.tag) != "Placemark":
            continue
        row: dict[str, str | None] = {}
        for data in element.iter():
            if _local(data.tag) == "Data" and data.get("name"):
                value = next((v.text for v in data if _local(v.tag) == "value"), None)
                row[str(data.get("name"))] = value or None  # an empty value is a null
        rows.append(row)
        element.clear()
    columns = list(dict.fromkeys(k for r in rows for k in r)) or ["type", "mmsi", "start", "end"]
    data = {c: [r.get(c) for r in rows] for c in columns}
    return pl.DataFrame(data, schema=dict.fromkeys(columns, pl.String))


def _local(tag: str) -> str:
    """An XML tag without its namespace (``{http://www.opengis.net/kml/2.2}Data`` → Data)."""
    return tag.rpartition("}")[2]


def _json_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _as_events(frame: pl.DataFrame, where: str = "events") -> pl.DataFrame:
    exprs: list[pl.Expr] = []
    for name in ("start", "end"):
        dtype = frame.schema[name]
        if dtype == pl.String:
            exprs.append(
                pl.col(name).str.to_datetime(time_unit="us", time_zone="UTC", strict=False)
            )
    if exprs:
        frame = frame.with_columns(exprs)
    out = schema.conform(frame, schema.EVENTS)
    bad = out.filter(pl.col("start").is_null() | pl.col("end").is_null() | pl.col("mmsi").is_null())
    if bad.height:
        raise EventsFileError(
            f"{where}: {bad.height} event(s) with an unreadable mmsi, start or end "
            "(times must be ISO 8601, e.g. 2026-01-15T03:00:00Z)"
        )
    return out.with_columns(pl.col("type").str.to_lowercase())


def _key(frame: pl.DataFrame) -> pl.DataFrame:
    """Add the vessel key: mmsi alone, or the ordered pair for pair events."""
    a = pl.col("mmsi")
    b = pl.col("other_mmsi")
    return frame.with_columns(
        pl.when(b.is_null()).then(a).otherwise(pl.min_horizontal(a, b)).alias("_k1"),
        pl.when(b.is_null()).then(pl.lit(None, pl.Int64)).otherwise(pl.max_horizontal(a, b))
        .alias("_k2"),
    )


def match(
    truth: pl.DataFrame, predicted: pl.DataFrame, slack: timedelta = DEFAULT_SLACK
) -> pl.DataFrame:
    """One-to-one matches: a frame of (``truth_idx``, ``pred_idx``, ``type``).

    Indices are row positions in the given frames.
    """
    t = _key(_as_events(truth)).with_row_index("truth_idx")
    p = _key(_as_events(predicted)).with_row_index("pred_idx")
    cand = t.join(p, on=["type", "_k1", "_k2"], how="inner", nulls_equal=True, suffix="_p")
    cand = cand.filter(
        (pl.col("start_p") <= pl.col("end") + slack) & (pl.col("end_p") >= pl.col("start") - slack)
    ).with_columns(
        overlap=(pl.min_horizontal("end", "end_p") - pl.max_horizontal("start", "start_p")),
        start_diff=(pl.col("start_p") - pl.col("start")).abs(),
    ).sort(["overlap", "start_diff", "truth_idx", "pred_idx"], descending=[True, False, False,
                                                                              False])
    # Greedy one-to-one assignment over candidate pairs (events are few: thousands, not
    # millions), largest overlap first.
    used_t: set[int] = set()
    used_p: set[int] = set()
    rows: list[tuple[int, int, str]] = []
    for ti, pi, typ in cand.select("truth_idx", "pred_idx", "type").iter_rows():
        if ti in used_t or pi in used_p:
            continue
        used_t.add(ti)
        used_p.add(pi)
        rows.append((ti, pi, typ))
    return pl.DataFrame(rows, schema={"truth_idx": pl.UInt32, "pred_idx": pl.UInt32,
                                      "type": pl.String}, orient="row")


def score(
    truth: pl.DataFrame, predicted: pl.DataFrame, slack: timedelta = DEFAULT_SLACK
) -> pl.DataFrame:
    """Precision, recall and F1 per event type (every type in either table), one row each."""
    truth = _as_events(truth)
    predicted = _as_events(predicted)
    matches = match(truth, predicted, slack)
    types = sorted(set(truth["type"].to_list()) | set(predicted["type"].to_list()))
    n_truth = dict(truth.group_by("type").len().iter_rows())
    n_pred = dict(predicted.group_by("type").len().iter_rows())
    n_tp = dict(matches.group_by("type").len().iter_rows()) if matches.height else {}
    rows = []
    for typ in types:
        nt, npred, tp = n_truth.get(typ, 0), n_pred.get(typ, 0), n_tp.get(typ, 0)
        precision = tp / npred if npred else (1.0 if nt == 0 else 0.0)
        recall = tp / nt if nt else (1.0 if npred == 0 else 0.0)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append((typ, nt, npred, tp, npred - tp, nt - tp, precision, recall, f1))
    return pl.DataFrame(
        rows,
        schema={"type": pl.String, "n_truth": pl.Int64, "n_pred": pl.Int64, "tp": pl.Int64,
                "fp": pl.Int64, "fn": pl.Int64, "precision": pl.Float64, "recall": pl.Float64,
                "f1": pl.Float64},
        orient="row",
    )


def overall(scores: pl.DataFrame) -> dict[str, Any]:
    """Micro-averaged figures over all types."""
    tp = int(scores["tp"].sum())
    fp = int(scores["fp"].sum())
    fn = int(scores["fn"].sum())
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": precision, "recall": recall, "f1": f1}


def report(scores: pl.DataFrame, slack: timedelta = DEFAULT_SLACK) -> dict[str, Any]:
    """The JSON document ``seawatch eval`` writes."""
    return {
        "slack_seconds": slack.total_seconds(),
        "matching": "same type and vessel(s); spans overlap with slack; one to one",
        "types": {r["type"]: {k: v for k, v in r.items() if k != "type"}
                  for r in scores.iter_rows(named=True)},
        "overall": overall(scores),
    }
