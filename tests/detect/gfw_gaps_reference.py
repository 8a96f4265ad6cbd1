"""Load GFW pipe-gaps sample messages (``shared/data/reference/gfw-gaps``) as positions."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import polars as pl

from seawatch import schema


def _records(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        text = fh.read().strip()
    if text.startswith("["):
        return list(json.loads(text))
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def load_messages(path: Path) -> pl.DataFrame:
    """The file's messages as a positions table (plus ``msgid``), whatever its layout:
    a JSON array or NDJSON; timestamps in epoch seconds or "YYYY-MM-DD HH:MM:SS UTC";
    numbers possibly as strings."""
    rows = []
    for r in _records(path):
        ts = r["timestamp"]
        if isinstance(ts, str):
            ts = ts.replace(" UTC", "+00:00")
            t = pl.Series([ts]).str.to_datetime(time_zone="UTC", time_unit="us")[0]
        else:
            t = pl.Series([round(float(ts) * 1e6)]).cast(schema.TS)[0]
        rows.append(
            {
                "mmsi": int(r["ssvid"]),
                "ts": t,
                "lat": None if r.get("lat") is None else float(r["lat"]),
                "lon": None if r.get("lon") is None else float(r["lon"]),
                "sog": None if r.get("speed_knots") is None else float(r["speed_knots"]),
                "source": r.get("receiver_type"),
                "msgid": r.get("msgid"),
            }
        )
    frame = pl.DataFrame(
        rows,
        schema_overrides={"ts": schema.TS, "lat": pl.Float64, "lon": pl.Float64, "sog": pl.Float64},
    )
    return schema.conform(frame, schema.POSITIONS).with_columns(frame["msgid"])
