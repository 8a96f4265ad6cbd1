"""Helpers for the simulator tests: independent checks of events against positions."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from seawatch.geo.geodesy import haversine_km
from seawatch.sim import Scenario
from seawatch.sim import truth as T
from seawatch.sim.world import world

NM_KM = 1.852


def details(row: dict[str, Any]) -> dict[str, Any]:
    return json.loads(row["details"]) if row["details"] else {}


def track_of(positions: pl.DataFrame, mmsi: int, start: datetime | None = None,
             end: datetime | None = None) -> pl.DataFrame:
    """One MMSI's positions, sorted, optionally within [start, end]."""
    p = positions.filter(pl.col("mmsi") == mmsi)
    if start is not None:
        p = p.filter(pl.col("ts") >= start)
    if end is not None:
        p = p.filter(pl.col("ts") <= end)
    return p.sort("ts")


def km(lat0: Any, lon0: Any, lat1: Any, lon1: Any) -> np.ndarray:
    return haversine_km(lat0, lon0, lat1, lon1)


def on_grid(p: pl.DataFrame, start: datetime, end: datetime) -> tuple[np.ndarray, np.ndarray,
                                                                    np.ndarray]:
    """(grid seconds, lat, lon) of a track every 10 minutes in [start, end], linearly
    interpolated (NaN where the neighbouring positions are 1 h or more apart)."""
    t = p["ts"].dt.epoch("s").to_numpy()
    g0 = -(-int(start.timestamp()) // 600) * 600
    grid = np.arange(g0, int(end.timestamp()) + 1, 600)
    i = np.clip(np.searchsorted(t, grid, side="right") - 1, 0, t.size - 2)
    t0, t1 = t[i], t[i + 1]
    f = (grid - t0) / np.maximum(t1 - t0, 1)
    ok = (grid >= t0) & (grid <= t1) & ((t1 - t0) < 3600)
    lat = np.where(ok, p["lat"].to_numpy()[i] + f * np.diff(p["lat"].to_numpy())[i], np.nan)
    lon = np.where(ok, p["lon"].to_numpy()[i] + f * np.diff(p["lon"].to_numpy())[i], np.nan)
    return grid, lat, lon


def longest_run(mask: np.ndarray) -> int:
    """Length of the longest run of True."""
    best = run = 0
    for m in mask:
        run = run + 1 if m else 0
        best = max(best, run)
    return best


def spoofed_mmsis(s: Scenario) -> set[int]:
    f = s.plan.fleet
    return {int(f.mmsi[t]) for it in s.plan.intents if it["type"] == "spoofing"
            for t in it["tracks"]}


def dedup(observed: pl.DataFrame) -> pl.DataFrame:
    """Drop second copies (same MMSI, transmitted second and content, within 30 s)."""
    key = pl.struct("lat", "lon", "sog", "cog", "second")
    return observed.sort("mmsi", "ts").filter(
        ~((key == key.shift(1)).over("mmsi")
          & ((pl.col("ts") - pl.col("ts").shift(1)).over("mmsi") <= timedelta(seconds=30))
          ).fill_null(False))


def rederive(s: Scenario, positions: pl.DataFrame) -> pl.DataFrame:
    """The truth's definitions applied to other positions of the same scenario (one track
    per MMSI, spoofed MMSIs left out): what a detector following docs/detectors.md finds."""
    w = world()
    plan = s.plan
    fleet = plan.fleet
    skip = spoofed_mmsis(s)
    pos = positions.filter(~pl.col("mmsi").is_in(list(skip)))
    first_track: dict[int, int] = {}
    for i, m in enumerate(fleet.mmsi.tolist()):
        first_track.setdefault(m, i)
    tr = np.array([first_track[m] for m in pos["mmsi"].to_list()], np.int64)
    t = pos["ts"].dt.epoch("s").to_numpy() - plan.start_s
    order = np.lexsort((t, tr))
    lat = pos["lat"].to_numpy()[order]
    lon = pos["lon"].to_numpy()[order]
    tab = T.Track(track=tr[order], t=t[order], lat=lat, lon=lon,
                  sog=pos["sog"].to_numpy().astype(np.float64)[order],
                  mask=w.zone_mask(lat, lon), port_km=w.port_km(lat, lon))
    raws = [T.zone_events(tab, w.zones), T.port_visits(tab, w), T.gaps(tab, w),
            T.fishing_in_zone(tab, fleet, w)]
    pieces = T.encounter_pieces(T.grid_samples(tab, plan.start_s), fleet.mmsi, w)
    enc = T.encounters(pieces, plan.start_s, w)
    raws += [enc, T.drop_overlapping(T.loitering_candidates(tab, fleet, w), enc, fleet.mmsi)]
    raw = pl.concat([r for r in raws if r.height])
    return T.to_events(raw, fleet.mmsi, plan.start_s)


def event_keys(events: pl.DataFrame) -> set[tuple]:
    return set(events.select("type", "mmsi", "other_mmsi", "zone", "start", "end").iter_rows())


def planted_events(s: Scenario, typ: str) -> list[dict[str, Any]]:
    rows = s.truth.filter(pl.col("type") == typ).to_dicts()
    return [r for r in rows if details(r)["planted"]]


def negatives_named(s: Scenario, name: str) -> list[dict[str, Any]]:
    rows = [r for r in s.negatives.to_dicts() if details(r)["negative"] == name]
    assert rows, name
    return rows
