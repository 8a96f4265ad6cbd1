"""Pass 2 of a scenario: the rows to write, in blocks of time over all tracks.

Each block's reports are emitted again (the reports pass 1 chose to garble come as keys),
with GNSS jitter, duplicate copies from a second station and the identity reports; the
rows are sorted by receive time, ready for :mod:`seawatch.sim.output` to encode.

In the messy profile (:mod:`seawatch.sim.artefacts`) the rows also carry ``clock_ts``, the
time the station's clock stamped (the tag block's ``c:``; rows stay in the order of their
true receive time ``ts``), the outliers' wrong values, and no copy that would arrive in a
hole between capture files.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from seawatch import schema
from seawatch.io import identity
from seawatch.sim.artefacts import ArtefactPlan
from seawatch.sim.emit import Positions, emit_positions, emit_statics, jitter, outlier_values
from seawatch.sim.plan import Plan
from seawatch.sim.truth_pass import ProgressFn, tracks_per_block
from seawatch.sim.world import World

OUTPUT_BLOCK_S = 3600
"""Longest time block of the output pass (shorter for big fleets, see :func:`_block_s`)."""
OUTPUT_BLOCK_ROWS = 400_000
"""Position rows an output block aims at (they are sorted and encoded together)."""


def _block_s(plan: Plan) -> int:
    """Output block length: about OUTPUT_BLOCK_ROWS rows (a class A vessel underway reports
    every 10 s x thinning; with noise about a quarter of reports are heard), 5 min to
    OUTPUT_BLOCK_S."""
    per_hour = plan.n_tracks * 3600.0 / (10.0 * plan.thinning) * (0.25 if plan.noise else 1.0)
    seconds = 3600.0 * OUTPUT_BLOCK_ROWS / max(per_hour, 1.0)
    return int(min(max(seconds // 300 * 300, 300), OUTPUT_BLOCK_S))


@dataclass
class Block:
    """Rows of one time block, ready to write (both sorted by receive time)."""

    positions: pl.DataFrame  # POSITIONS columns + track, garbled, copy (+ clock_ts: messy)
    statics: pl.DataFrame  # VESSELS columns + track, garbled, copy (+ clock_ts: messy)
    counts: dict[str, int]
    window: tuple[int, int] = (0, 0)  # [w0, w1) seconds from the start


def _position_rows(plan: Plan, w: World, p: Positions) -> pl.DataFrame:
    """Written rows of received reports ``p``: the first copy, and a second one when heard
    twice (same content, 0-5 s later, other station)."""
    if not p.t.size:  # (a frame built from no reports would broadcast its scalars to a row)
        return _empty_rows(schema.POSITIONS, plan)
    fleet = plan.fleet
    lat, lon = jitter(plan, w, p)
    two = np.flatnonzero(p.station2 >= 0)
    idx = np.r_[np.arange(p.t.size), two]
    copy = np.r_[np.zeros(p.t.size, np.int8), np.ones(two.size, np.int8)]
    t = np.r_[p.t, p.t[two] + p.delay2[two]]
    station = np.r_[p.station, p.station2[two]]
    tr = p.track[idx]
    cls_b = fleet.cls[tr] == "B"
    ts_s = plan.start_s + t
    sent_s = plan.start_s + p.t[idx]
    names = pl.Series("source", plan.stations, dtype=pl.String)
    lat, lon, sog = lat[idx], lon[idx], p.sog[idx]
    art = plan.artefacts
    if art is not None and p.outlier.size and p.outlier.any():
        bad = np.flatnonzero(p.outlier[idx] & (copy == 0))
        lat[bad], lon[bad], sog[bad], _ = outlier_values(plan.seed, tr[bad], p.t[idx][bad],
                                                         lat[bad], lon[bad], sog[bad])
    frame = pl.DataFrame({
        "mmsi": fleet.mmsi[tr],
        "ts": pl.Series(ts_s * 1_000_000).cast(schema.TS),
        "lat": lat, "lon": lon,
        "sog": sog.astype(np.float32), "cog": p.cog[idx].astype(np.float32),
        "heading": pl.Series(p.heading[idx], dtype=pl.Int16).set(pl.Series(cls_b), None),
        "nav_status": pl.Series(p.nav[idx], dtype=pl.Int8).set(pl.Series(cls_b), None),
        "msg_type": np.where(cls_b, 18, 1).astype(np.int8),
        "source": names.gather(station.astype(np.int64)),
        "accuracy": fleet.accuracy[tr],
        "second": (sent_s % 60).astype(np.int8),
        "mmsi_valid": True,
        "track": tr, "t": t, "garbled": p.garbled[idx], "copy": copy,
    })
    if art is None:
        return frame
    return _messy(frame, art, plan.start_s, station)


def _messy(frame: pl.DataFrame, art: ArtefactPlan, start_s: int, station: np.ndarray
           ) -> pl.DataFrame:
    """Rows of the messy profile: ``clock_ts`` as the station's clock says, and without the
    copies that would arrive in a hole between capture files."""
    off = art.clock_offset(station) * 1_000_000
    frame = frame.with_columns(clock_ts=(pl.col("ts").cast(pl.Int64) + pl.Series(off))
                               .cast(schema.TS))
    if art.holes.size:
        frame = frame.filter(pl.Series(~art.in_hole(frame["t"].to_numpy())))
    return frame


def _static_rows(plan: Plan, s: Any) -> pl.DataFrame:
    fleet = plan.fleet
    sel = np.flatnonzero(s.received)
    if plan.artefacts is not None and not sel.size:
        return _empty_rows(schema.VESSELS, plan)
    two = sel[s.station2[sel] >= 0]
    idx = np.r_[sel, two]
    copy = np.r_[np.zeros(sel.size, np.int8), np.ones(two.size, np.int8)]
    t = np.r_[s.t[sel], s.t[two] + s.delay2[two]]
    station = np.r_[s.station[sel], s.station2[two]]
    tr = s.track[idx]
    part = s.part[idx]
    cls_a = fleet.cls[tr] == "A"
    part_a = ~cls_a & (part == 0)
    part_b = ~cls_a & (part == 1)
    dest_idx = plan.legs.dest[s.leg[idx]].astype(np.int64)
    dests = pl.Series([*plan.legs.destinations, None], dtype=pl.String)
    names = pl.Series(plan.stations, dtype=pl.String)

    def ident(values: list[Any], dtype: type[pl.DataType], keep: np.ndarray) -> pl.Series:
        return pl.Series(values, dtype=dtype).gather(tr).set(pl.Series(~keep), None)

    imo = pl.Series(fleet.imo).gather(tr)
    frame = pl.DataFrame({
        "mmsi": fleet.mmsi[tr],
        "ts": pl.Series((plan.start_s + t) * 1_000_000).cast(schema.TS),
        "imo": imo.set(pl.Series(~cls_a | (fleet.imo[tr] < 0)), None),
        "callsign": ident(fleet.callsign, pl.String, cls_a | part_b),
        "name": ident(fleet.name, pl.String, cls_a | part_a),
        "ship_type": ident(fleet.ship_type.tolist(), pl.Int16, cls_a | part_b),
        "length": ident(fleet.length.tolist(), pl.Float32, cls_a | part_b),
        "width": ident(fleet.width.tolist(), pl.Float32, cls_a | part_b),
        "draught": ident(fleet.draught.tolist(), pl.Float32, cls_a).fill_nan(None),
        "destination": dests.gather(np.where(dest_idx < 0, len(plan.legs.destinations),
                                             dest_idx)).set(pl.Series(~cls_a), None),
        "msg_type": np.where(cls_a, 5, 24).astype(np.int8),
        "source": names.gather(station.astype(np.int64)),
        "track": tr, "t": t, "garbled": s.garbled[idx], "copy": copy,
    }).with_columns(
        identity.flag_from_mmsi(pl.col("mmsi")),
        identity.ship_type_label(pl.col("ship_type")),
        identity.mmsi_is_valid(pl.col("mmsi")),
    )
    if plan.artefacts is None:
        return frame
    if plan.artefacts.identity is not None:
        from seawatch.sim.plant.identities import apply_to_statics

        frame = apply_to_statics(frame, plan.artefacts.identity)
    return _messy(frame, plan.artefacts, plan.start_s, station)


def iter_blocks(plan: Plan, w: World, garbled: np.ndarray, block_s: int | None = None,
                on_progress: ProgressFn | None = None,
                outliers: np.ndarray | None = None) -> Iterator[Block]:
    """Pass 2: the rows of each time block of ``block_s`` seconds (default
    :func:`_block_s`), in time order; ``garbled`` (and ``outliers``, messy profile) are the
    report keys of pass 1. Blocks also end where a hole between capture files starts or
    ends, so that every block belongs to one file."""
    block_s = block_s or _block_s(plan)
    legs = plan.legs
    per_chunk = tracks_per_block(plan, block_s)
    for w0, w1 in _windows(plan, block_s):
        live = np.flatnonzero((legs.t1 > w0) & (legs.t0 < w1))
        pos_parts, sta_parts = [], []
        counts = {"received": 0, "garbled": 0}
        for a in range(0, plan.n_tracks, per_chunk):
            lo, hi = np.searchsorted(legs.track[live], [a, a + per_chunk])
            idx = live[lo:hi]
            if not idx.size:
                continue
            q = emit_positions(plan, w, idx, w0, w1, garbled_keys=garbled,
                               outlier_keys=outliers)
            counts["received"] += q.t.size
            counts["garbled"] += int(q.garbled.sum())
            pos_parts.append(_position_rows(plan, w, q))
            sta_parts.append(_static_rows(plan, emit_statics(plan, idx, w0, w1)))
        pos = pl.concat(pos_parts).sort("ts", "copy", "mmsi", "t", maintain_order=True) \
            if pos_parts else _empty_rows(schema.POSITIONS, plan)
        sta = pl.concat(sta_parts, how="diagonal_relaxed").sort(
            "ts", "copy", "mmsi", "t", maintain_order=True) if sta_parts else \
            _empty_rows(schema.VESSELS, plan)
        if on_progress:
            on_progress("output", w1, plan.duration)
        yield Block(pos, sta, counts, (w0, w1))


def _windows(plan: Plan, block_s: int) -> Iterator[tuple[int, int]]:
    """[w0, w1) of each output block: ``block_s`` long, also cut at the holes' ends."""
    cuts = sorted({round(c) for c in (plan.artefacts.cuts if plan.artefacts else [])
                   if 0 < c < plan.duration})
    for w0 in range(0, plan.duration, block_s):
        w1 = min(w0 + block_s, plan.duration)
        inner = [c for c in cuts if w0 < c < w1]
        yield from zip([w0, *inner], [*inner, w1], strict=True)


def _empty_rows(table: dict[str, pl.DataType], plan: Plan | None = None) -> pl.DataFrame:
    extra: dict[str, Any] = {"track": pl.Int64, "t": pl.Int64, "garbled": pl.Boolean,
                             "copy": pl.Int8}
    if plan is not None and plan.artefacts is not None:
        extra["clock_ts"] = schema.TS
    return pl.DataFrame(schema={**table, **extra})
