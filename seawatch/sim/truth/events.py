"""The raw event table of the truth, and :class:`Track`, the positions every definition reads.

Raw events are rows of track numbers and seconds from the scenario start
(:data:`RAW_SCHEMA`); :func:`to_events` turns them into ``schema.EVENTS`` rows (MMSIs,
times, event ids).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from seawatch import schema


@dataclass
class Track:
    """Positions of whole tracks, sorted by track then time (seconds from the start)."""

    track: np.ndarray
    t: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    sog: np.ndarray
    mask: np.ndarray
    port_km: np.ndarray

    @property
    def n(self) -> int:
        return int(self.t.size)

    def take(self, sel: np.ndarray) -> Track:
        return Track(**{k: v[sel] for k, v in self.__dict__.items()})

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(first row, last row) of each run of one track (same order as the tracks)."""
        if not self.n:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        new = np.r_[True, self.track[1:] != self.track[:-1]]
        first = np.flatnonzero(new)
        last = np.r_[first[1:] - 1, self.n - 1]
        return first, last


def raw_events(rows: dict[str, Any], n: int) -> pl.DataFrame:
    """Frame of n raw events: track(s), start/end seconds, lat, lon, zone, details dicts."""
    base = {
        "type": pl.Series(rows["type"] if isinstance(rows["type"], list)
                          else [rows["type"]] * n, dtype=pl.String),
        "track": pl.Series(np.asarray(rows["track"], np.int64)),
        "other_track": pl.Series(rows.get("other_track", [None] * n), dtype=pl.Int64),
        "start_s": pl.Series(np.asarray(rows["start_s"], np.int64)),
        "end_s": pl.Series(np.asarray(rows["end_s"], np.int64)),
        "lat": pl.Series(np.asarray(rows["lat"], np.float64)),
        "lon": pl.Series(np.asarray(rows["lon"], np.float64)),
        "zone": pl.Series(rows.get("zone", [None] * n), dtype=pl.String),
        "details": pl.Series([json.dumps(d, sort_keys=True) for d in rows["details"]],
                             dtype=pl.String),
    }
    return pl.DataFrame(base)


RAW_SCHEMA = {"type": pl.String, "track": pl.Int64, "other_track": pl.Int64,
              "start_s": pl.Int64, "end_s": pl.Int64, "lat": pl.Float64, "lon": pl.Float64,
              "zone": pl.String, "details": pl.String}


def empty_raw() -> pl.DataFrame:
    return pl.DataFrame(schema=RAW_SCHEMA)


def to_events(raw: pl.DataFrame, mmsi: np.ndarray, start_s: int) -> pl.DataFrame:
    """Raw events (tracks, seconds) as ``schema.EVENTS`` rows, sorted, with event ids."""
    from seawatch.detect.events import to_events as conform

    if raw.height == 0:
        return schema.empty(schema.EVENTS)
    other = raw["other_track"].to_numpy()
    has_other = ~raw["other_track"].is_null().to_numpy()
    other_mmsi = np.where(has_other, mmsi[np.where(has_other, other, 0).astype(np.int64)], 0)
    frame = raw.with_columns(
        mmsi=pl.Series(mmsi[raw["track"].to_numpy()]),
        other_mmsi=pl.Series(other_mmsi).set(pl.Series(~has_other), None),
        start=((pl.col("start_s") + start_s) * 1_000_000).cast(schema.TS),
        end=((pl.col("end_s") + start_s) * 1_000_000).cast(schema.TS),
        score=pl.lit(1.0),
    )
    parts = [conform(frame.filter(pl.col("type") == typ), typ)
             for typ in sorted(set(frame["type"].to_list()))]
    return pl.concat(parts).sort("start", "type", "mmsi", "other_mmsi", nulls_last=True)
