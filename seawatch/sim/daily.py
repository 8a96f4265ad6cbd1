"""The sparse daily export of the messy profile (``traffic-daily.csv``, artefact
``sparse_export`` of :mod:`seawatch.sim.artefacts`).

Some providers deliver one row per vessel per day. The export holds, for every vessel and
UTC day, its first report at or after a time of day drawn per (vessel, day)
(:func:`pick_times`, so two rows of a vessel are 0-48 h apart): for the vessels of the NMEA
feed, the first such report the feed logged (the same values, so the two files agree); for
the vessels seen only in the export (a share of the fleet no station hears), the first such
report they sent. A vessel is an MMSI, as the provider keys its rows: two ships sharing one
get one row a day between them. The rows are written in MarineCadastre's columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from seawatch import schema
from seawatch.sim import rand, reports
from seawatch.sim.plan import Plan

S_EXPORT = 70
"""Random stream of the export's times of day."""
DAY_S = 86400
ROW_COLUMNS = ("track", "mmsi", "ts", "lat", "lon", "sog", "cog", "heading", "nav_status")
"""Columns of an export row before the vessel's identity is joined."""


def pick_times(seed: int, track: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Unix seconds from which a vessel's row of a day is taken (``track``: the vessel's
    key, its MMSI; ``day``: days since 1970): midnight plus a time of day drawn per
    (vessel, day).

    >>> t = pick_times(1, np.array([3, 3]), np.array([20000, 20001]))
    >>> bool(((t >= 20000 * 86400) & (t < 20002 * 86400)).all())
    True
    """
    offset = np.floor(rand.uniform(seed, S_EXPORT, track, day) * DAY_S).astype(np.int64)
    out: np.ndarray = np.asarray(day, np.int64) * DAY_S + offset
    return out


class DailyExport:
    """Collects the export rows of the feed's vessels from the output blocks (time order)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.taken: set[int] = set()
        self.parts: list[pl.DataFrame] = []

    def add(self, rows: pl.DataFrame) -> None:
        """Offer one block's logged reports (first copies, sorted by true receive time)."""
        if rows.height == 0:
            return
        ts = rows["ts"].dt.epoch("s").to_numpy()
        mmsi = rows["mmsi"].to_numpy()  # a provider keys its rows by MMSI (a shared one: one)
        day = ts // DAY_S
        key = mmsi * 1_000_000 + day
        ok = ts >= pick_times(self.seed, mmsi, day)
        if self.taken:
            ok &= ~np.isin(key, np.fromiter(self.taken, np.int64, len(self.taken)))
        idx = np.flatnonzero(ok)
        if not idx.size:
            return
        _, first = np.unique(key[idx], return_index=True)
        chosen = np.sort(idx[first])
        self.taken.update(int(k) for k in key[chosen])
        self.parts.append(rows[chosen].select(ROW_COLUMNS))

    def frame(self) -> pl.DataFrame:
        """The rows collected so far."""
        if not self.parts:
            return pl.DataFrame(schema={c: schema.POSITIONS.get(c, pl.Int64)
                                        for c in ROW_COLUMNS})
        return pl.concat(self.parts)


def export_only_rows(plan: Plan, world: Any) -> pl.DataFrame:
    """Export rows of the vessels no station hears (:data:`ROW_COLUMNS`)."""
    art = plan.artefacts
    tracks = np.array(art.export_only if art is not None else [], np.int64)
    if not tracks.size:
        return DailyExport(plan.seed).frame()
    idx = np.flatnonzero(np.isin(plan.legs.track, tracks))
    tx = reports.position_times(plan.seed, plan.legs, plan.fleet, idx, 0, plan.duration,
                                plan.thinning)
    k = reports.kinematics(plan.seed, plan.legs, tx, world.on_land)
    cls_b = plan.fleet.cls[tx.track] == "B"
    frame = pl.DataFrame({
        "track": tx.track, "mmsi": plan.fleet.mmsi[tx.track],
        "ts": pl.Series((plan.start_s + tx.t) * 1_000_000).cast(schema.TS),
        "lat": k.lat, "lon": k.lon, "sog": k.sog.astype(np.float32),
        "cog": k.cog.astype(np.float32),
        "heading": pl.Series(k.heading, dtype=pl.Int16).set(pl.Series(cls_b), None),
        "nav_status": pl.Series(k.nav, dtype=pl.Int8).set(pl.Series(cls_b), None),
    }).sort("ts", "track")
    picker = DailyExport(plan.seed)
    picker.add(frame)
    return picker.frame()
