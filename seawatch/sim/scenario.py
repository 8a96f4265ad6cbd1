"""Scenarios: simulate in memory (:func:`simulate`) or stream to files (:func:`write_scenario`).

A scenario is made in two passes over a :class:`~seawatch.sim.plan.Plan`:

1. **truth**, in blocks of tracks over the whole period: emit each block's reports
   (:func:`seawatch.sim.emit.emit_positions`), keep what a decoder will read, and apply the
   event definitions (:mod:`seawatch.sim.truth`); pairs of tracks meet through 10-minute
   grid samples kept from every block;
2. **output**, in blocks of time over all tracks: emit the block's reports again (the
   reports pass 1 chose to garble are handed over as keys), add GNSS jitter, duplicates
   and line noise, and write NMEA and CSV.

Both passes hold one block at a time (:data:`BLOCK_REPORTS` reports), and the output pass
encodes and writes a block in parts (:data:`seawatch.sim.output.ENCODE_MESSAGES` messages,
:data:`CSV_ROWS` rows), so memory does not grow with the number of positions written. Kept
over the whole period are the plan (legs), the events, the keys of the garbled reports and
the 10-minute grid samples (about 40 bytes per track and 10 minutes with positions), whose
close pairs :func:`seawatch.sim.truth.encounter_pieces` lists in batches of bounded size.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from seawatch import schema
from seawatch.geo.geodesy import haversine_km, speed_kn
from seawatch.io import identity
from seawatch.sim import truth as T
from seawatch.sim.emit import Positions, emit_positions, emit_statics, jitter, report_keys
from seawatch.sim.legs import DEFAULT_THINNING
from seawatch.sim.plan import Plan, build_plan
from seawatch.sim.world import World, world

DEFAULT_START = datetime(2026, 1, 15, 12, tzinfo=UTC)
"""Start of the simulated period unless another is given (noon UTC, so that a day-long
scenario has a midnight in the middle for events to straddle)."""

BLOCK_REPORTS = 600_000
"""Reports a block of either pass may send at most (about 300 bytes each while emitted)."""
OUTPUT_BLOCK_S = 3600
"""Longest time block of the output pass (shorter for big fleets, see :func:`_block_s`)."""
OUTPUT_BLOCK_ROWS = 400_000
"""Position rows an output block aims at (they are sorted and encoded together)."""
CSV_ROWS = 100_000
"""CSV rows formatted at a time."""

ProgressFn = Callable[[str, int, int], None]


@dataclass
class Scenario:
    """A simulated scenario in memory.

    Attributes
    ----------
    positions
        What a decoder reads, noise-free: one row per report that reaches the data (not
        garbled), exact coordinates, ``source`` = the first station that heard it;
        ``schema.POSITIONS`` columns, sorted by time then MMSI.
    vessels
        Identity reports (messages 5, 24 A / B) that reach the data, ``schema.VESSELS``.
    truth
        Events (``schema.EVENTS``): the definitions of ``docs/detectors.md`` applied to
        ``positions``; planted ones have ``details.planted`` true.
    negatives
        Hard negatives (``schema.EVENTS``; ``type`` is what they must not be detected as).
    observed
        The positions as written (GNSS jitter, duplicate copies from a second station),
        without the garbled reports: what ``read_nmea`` returns, up to row order.
    """

    positions: pl.DataFrame
    vessels: pl.DataFrame
    truth: pl.DataFrame
    negatives: pl.DataFrame
    observed: pl.DataFrame
    zones: list[Any]
    ports: pl.DataFrame
    parameters: dict[str, Any]
    counts: dict[str, Any]
    plan: Plan = field(repr=False)


def _start_seconds(start: datetime) -> int:
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    return math.floor(start.timestamp())


def _plan(seed: int, hours: float, vessels: int, start: datetime, noise: bool, thinning: int,
          plant: bool) -> Plan:
    return build_plan(seed, hours, vessels, _start_seconds(start), noise=noise,
                      thinning=thinning, plant=plant)


# -- pass 1: the truth -------------------------------------------------------------------------
def _tracks_per_block(plan: Plan, seconds: float) -> int:
    """Tracks whose reports over ``seconds`` make about :data:`BLOCK_REPORTS` (a class A
    vessel underway reports every 10 s x thinning)."""
    per_track = seconds / (10.0 * plan.thinning) + 1.0
    return max(1, int(BLOCK_REPORTS // per_track))


def _block_s(plan: Plan) -> int:
    """Output block length: about OUTPUT_BLOCK_ROWS rows (a class A vessel underway reports
    every 10 s x thinning; with noise about a quarter of reports are heard), 5 min to
    OUTPUT_BLOCK_S."""
    per_hour = plan.n_tracks * 3600.0 / (10.0 * plan.thinning) * (0.25 if plan.noise else 1.0)
    seconds = 3600.0 * OUTPUT_BLOCK_ROWS / max(per_hour, 1.0)
    return int(min(max(seconds // 300 * 300, 300), OUTPUT_BLOCK_S))


def _track_table(p: Positions) -> T.Track:
    return T.Track(track=p.track, t=p.t, lat=p.lat, lon=p.lon, sog=p.sog, mask=p.mask,
                   port_km=p.port_km)


def _emit_tracks(plan: Plan, w: World, tracks: list[int]) -> dict[int, Positions]:
    """Decodable reports of whole tracks."""
    wanted = np.unique(np.asarray(tracks, np.int64))
    if not wanted.size:
        return {}
    idx = np.flatnonzero(np.isin(plan.legs.track, wanted))
    p = emit_positions(plan, w, idx, 0, plan.duration)
    p = p.take(p.decodable)
    lo = np.searchsorted(p.track, wanted, side="left")
    hi = np.searchsorted(p.track, wanted, side="right")
    return {int(tr): p.take(np.arange(a, b)) for tr, a, b in zip(wanted, lo, hi, strict=True)}


@dataclass
class TruthPass:
    truth: pl.DataFrame
    negatives: pl.DataFrame
    positions: list[Positions]
    counts: dict[str, Any]
    garbled: np.ndarray  # report keys of the garbled reports, sorted


def derive_truth(plan: Plan, w: World, *, collect: bool = False,
                 on_progress: ProgressFn | None = None) -> TruthPass:
    """Pass 1: events of the whole scenario (and its decodable positions if ``collect``)."""
    fleet = plan.fleet
    n = plan.n_tracks
    per_block = _tracks_per_block(plan, plan.duration)
    raws: list[pl.DataFrame] = []
    loiter: list[pl.DataFrame] = []
    samples: list[pl.DataFrame] = []
    kept: list[Positions] = []
    garbled: list[np.ndarray] = []
    counts = {"reports": 0, "received": 0, "garbled": 0, "duplicated": 0}
    for a in range(0, n, per_block):
        b = min(n, a + per_block)
        p = emit_positions(plan, w, plan.legs.of_tracks(a, b), 0, plan.duration)
        counts["reports"] += p.sent
        counts["received"] += p.t.size
        counts["garbled"] += int(p.garbled.sum())
        counts["duplicated"] += int((p.station2 >= 0).sum())
        garbled.append(report_keys(p.track[p.garbled], p.t[p.garbled]))
        d = p.take(p.decodable)
        if collect:
            kept.append(d)
        tab = _track_table(d).take(~d.jump)
        raws += [T.zone_events(tab, w.zones), T.port_visits(tab, w), T.gaps(tab, w),
                 T.fishing_in_zone(tab, fleet, w)]
        loiter.append(T.loitering_candidates(tab, fleet, w))
        samples.append(T.grid_samples(tab, plan.start_s))
        if on_progress:
            on_progress("truth", b, n)
    pieces = T.encounter_pieces(_take_all(samples), fleet.mmsi, w)
    enc = T.encounters(pieces, plan.start_s, w)
    raws.append(enc)
    raws.append(T.drop_overlapping(pl.concat(loiter) if loiter else T.empty_raw(), enc,
                                   fleet.mmsi))
    raws.append(_spoofing(plan, w))
    raw = pl.concat([r for r in raws if r.height], how="vertical") if any(
        r.height for r in raws) else T.empty_raw()
    raw, missing = match_intents(raw, plan.intents, plan.negatives)
    counts["planted_missing"] = missing
    truth = T.to_events(raw, fleet.mmsi, plan.start_s)
    negatives = _negatives(plan)
    keys = np.sort(np.concatenate(garbled)) if garbled else np.empty(0, np.int64)
    return TruthPass(truth, negatives, kept, counts, keys)


def _take_all(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """The frames concatenated, the list emptied: passed straight to a call, the callee
    holds the only reference and can let it go once it is done with it."""
    out = pl.concat(frames) if frames else pl.DataFrame()
    frames.clear()
    return out


def _spoofing(plan: Plan, w: World) -> pl.DataFrame:
    """Spoofing events of the planted identity thefts and position jumps, as emitted."""
    rows = []
    for it in plan.intents:
        if it["type"] != "spoofing":
            continue
        tracks = _emit_tracks(plan, w, it["tracks"])
        if it["kind"] == "shared_mmsi":
            imp = tracks[it["tracks"][1]]
            own = tracks[it["tracks"][0]]
            if not imp.t.size:
                continue
            s, e = int(imp.t[0]), int(imp.t[-1])
            j = np.clip(np.searchsorted(own.t, imp.t), 0, own.t.size - 1)
            sep = haversine_km(imp.lat, imp.lon, own.lat[j], own.lon[j])
            lat, lon = float(imp.lat[0]), float(imp.lon[0])
            details = {"kind": "shared_mmsi", "tracks": 2,
                       "max_separation_km": round(float(sep.max()), 1)}
        else:
            p = tracks[it["tracks"][0]]
            jumps = np.flatnonzero(p.jump)
            if not jumps.size:
                continue
            s, e = int(p.t[jumps[0]]), int(p.t[jumps[-1]])
            before = max(jumps[0] - 1, 0)
            km = haversine_km(p.lat[before], p.lon[before], p.lat[jumps], p.lon[jumps])
            kn = speed_kn(km, np.maximum(p.t[jumps] - p.t[before], 1))
            lat, lon = float(p.lat[jumps[0]]), float(p.lon[jumps[0]])
            details = {"kind": "position_jump", "tracks": 1,
                       "max_separation_km": round(float(km.max()), 1),
                       "max_implied_speed_kn": round(float(kn.max()), 1),
                       "positions": int(jumps.size)}
        rows.append({"track": it["tracks"][0], "start_s": s, "end_s": e, "lat": lat,
                     "lon": lon, "details": details})
    if not rows:
        return T.empty_raw()
    return T._events({"type": "spoofing", "track": [r["track"] for r in rows],
                      "start_s": [r["start_s"] for r in rows],
                      "end_s": [r["end_s"] for r in rows], "lat": [r["lat"] for r in rows],
                      "lon": [r["lon"] for r in rows],
                      "details": [r["details"] for r in rows]}, len(rows))


def match_intents(raw: pl.DataFrame, intents: list[dict[str, Any]],
                  negatives: list[dict[str, Any]] | None = None
                  ) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """Mark the events that planted behaviours produced; return (events, intents missed).

    An intent matches an event of its type, vessel(s) (and zone, if it names one) whose
    span overlaps the intent's window. Matched events get ``planted: true`` and the
    intent's parameters in ``details``; all others get ``planted: false``. An
    ``incidental`` intent (what a planted behaviour brings along, e.g. the fishing around a
    meeting in the reserve, whose episodes depend on speeds and reception) marks every
    event it matches and is never missing. Gaps get
    ``intentional`` (planted AIS switch-off or not); events of a vessel that also acts a
    hard negative get ``hard_negative_vessel`` (its name), e.g. the zone crossings of a
    ship that skirts another zone.
    """
    if raw.height == 0:
        return raw, [dict(i) for i in intents if i["type"] != "spoofing"]
    details = [json.loads(d) for d in raw["details"].to_list()]
    neg_of = {t: n["name"] for n in negatives or [] for t in n["tracks"]}
    tracks_ = raw["track"].to_list()
    others_ = raw["other_track"].to_list()
    for d, a, b in zip(details, tracks_, others_, strict=True):
        d.setdefault("planted", False)
        hit = neg_of.get(a) or (neg_of.get(b) if b is not None else None)
        if hit:
            d["hard_negative_vessel"] = hit
    typ = raw["type"].to_list()
    tr = raw["track"].to_list()
    other = raw["other_track"].to_list()
    s = raw["start_s"].to_list()
    e = raw["end_s"].to_list()
    zone = raw["zone"].to_list()
    missing = []
    for it in intents:
        want = set(it["tracks"][:2]) if it["type"] == "encounter" else {it["tracks"][0]}
        hits = []
        for i in range(raw.height):
            if typ[i] != it["type"]:
                continue
            have = {tr[i], other[i]} if other[i] is not None else {tr[i]}
            if have != want or (it.get("zone") and zone[i] != it["zone"]):
                continue
            if s[i] <= it["t1"] and e[i] >= it["t0"]:
                hits.append(i)
                if not it.get("incidental"):
                    break
        if not hits:
            if not it.get("incidental"):
                missing.append({k: v for k, v in it.items() if k != "params"} | {
                    "params": it.get("params", {})})
            continue
        for hit in hits:
            details[hit]["planted"] = True
            details[hit]["scenario"] = it.get("name", it["type"])
            details[hit]["planted_params"] = it.get("params", {})
    for d, t in zip(details, typ, strict=True):
        if t == "gap":
            d["intentional"] = bool(d["planted"])
    return raw.with_columns(details=pl.Series([json.dumps(d, sort_keys=True)
                                               for d in details], dtype=pl.String)), missing


def _negatives(plan: Plan) -> pl.DataFrame:
    rows = plan.negatives
    if not rows:
        return schema.empty(schema.EVENTS)
    raw = T._events({
        "type": [r["type"] for r in rows], "track": [r["tracks"][0] for r in rows],
        "other_track": [r["tracks"][1] if len(r["tracks"]) > 1 else None for r in rows],
        "start_s": [int(r["t0"]) for r in rows], "end_s": [int(r["t1"]) for r in rows],
        "lat": [r["lat"] for r in rows], "lon": [r["lon"] for r in rows],
        "zone": [r.get("zone") for r in rows],
        "details": [{"negative": r["name"], **r.get("params", {})} for r in rows],
    }, len(rows))
    return T.to_events(raw, plan.fleet.mmsi, plan.start_s).with_columns(
        pl.col("lat", "lon").fill_nan(None), score=pl.lit(0.0))


# -- pass 2: the output --------------------------------------------------------------------------
@dataclass
class Block:
    """Rows of one time block, ready to write (both sorted by receive time)."""

    positions: pl.DataFrame  # POSITIONS columns + track, garbled, copy
    statics: pl.DataFrame  # VESSELS columns + track, garbled, copy
    counts: dict[str, int]


def _position_rows(plan: Plan, w: World, p: Positions) -> pl.DataFrame:
    """Written rows of received reports ``p``: the first copy, and a second one when heard
    twice (same content, 0-5 s later, other station)."""
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
    return pl.DataFrame({
        "mmsi": fleet.mmsi[tr],
        "ts": pl.Series(ts_s * 1_000_000).cast(schema.TS),
        "lat": lat[idx], "lon": lon[idx],
        "sog": p.sog[idx].astype(np.float32), "cog": p.cog[idx].astype(np.float32),
        "heading": pl.Series(p.heading[idx], dtype=pl.Int16).set(pl.Series(cls_b), None),
        "nav_status": pl.Series(p.nav[idx], dtype=pl.Int8).set(pl.Series(cls_b), None),
        "msg_type": np.where(cls_b, 18, 1).astype(np.int8),
        "source": names.gather(station.astype(np.int64)),
        "accuracy": fleet.accuracy[tr],
        "second": (sent_s % 60).astype(np.int8),
        "mmsi_valid": True,
        "track": tr, "t": t, "garbled": p.garbled[idx], "copy": copy,
    })


def _static_rows(plan: Plan, s: Any) -> pl.DataFrame:
    fleet = plan.fleet
    sel = np.flatnonzero(s.received)
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

    def ident(values: list, dtype: pl.DataType, keep: np.ndarray) -> pl.Series:
        return pl.Series(values, dtype=dtype).gather(tr).set(pl.Series(~keep), None)

    imo = pl.Series(fleet.imo).gather(tr)
    return pl.DataFrame({
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


def iter_blocks(plan: Plan, w: World, garbled: np.ndarray, block_s: int | None = None,
                on_progress: ProgressFn | None = None) -> Iterator[Block]:
    """Pass 2: the rows of each time block of ``block_s`` seconds (default
    :func:`_block_s`), in time order; ``garbled`` are the report keys of pass 1."""
    block_s = block_s or _block_s(plan)
    legs = plan.legs
    per_chunk = _tracks_per_block(plan, block_s)
    for w0 in range(0, plan.duration, block_s):
        w1 = min(w0 + block_s, plan.duration)
        live = np.flatnonzero((legs.t1 > w0) & (legs.t0 < w1))
        pos_parts, sta_parts = [], []
        counts = {"received": 0, "garbled": 0}
        for a in range(0, plan.n_tracks, per_chunk):
            lo, hi = np.searchsorted(legs.track[live], [a, a + per_chunk])
            idx = live[lo:hi]
            if not idx.size:
                continue
            q = emit_positions(plan, w, idx, w0, w1, garbled_keys=garbled)
            counts["received"] += q.t.size
            counts["garbled"] += int(q.garbled.sum())
            pos_parts.append(_position_rows(plan, w, q))
            sta_parts.append(_static_rows(plan, emit_statics(plan, idx, w0, w1)))
        pos = pl.concat(pos_parts).sort("ts", "copy", "mmsi", "t", maintain_order=True) \
            if pos_parts else _empty_rows(schema.POSITIONS)
        sta = pl.concat(sta_parts, how="diagonal_relaxed").sort(
            "ts", "copy", "mmsi", "t", maintain_order=True) if sta_parts else \
            _empty_rows(schema.VESSELS)
        if on_progress:
            on_progress("output", w1, plan.duration)
        yield Block(pos, sta, counts)


def _empty_rows(table: dict[str, pl.DataType]) -> pl.DataFrame:
    extra = {"track": pl.Int64, "t": pl.Int64, "garbled": pl.Boolean, "copy": pl.Int8}
    return pl.DataFrame(schema={**table, **extra})


# -- public API -------------------------------------------------------------------------------
def simulate(
    seed: int,
    hours: float,
    vessels: int,
    *,
    start: datetime = DEFAULT_START,
    noise: bool = True,
    thinning: int = DEFAULT_THINNING,
    plant: bool = True,
) -> Scenario:
    """Simulate a scenario in memory: positions, identities, truth and hard negatives.

    Parameters
    ----------
    seed
        Seed; the same arguments give identical frames.
    hours
        Length of the period.
    vessels
        Vessels at sea (background and planted; spoofing impostors come on top).
    start
        Start of the period (UTC; a naive datetime is taken as UTC).
    noise
        Reception model, duplicates, GNSS jitter and garbled lines (see ``docs/sim.md``);
        without it every report is heard once and written exactly.
    thinning
        Factor the ITU dynamic reporting intervals are stretched by (1: full rate).
    plant
        Plant behaviours and hard negatives (False: background traffic only).

    Returns
    -------
    Scenario

    Examples
    --------
    >>> s = simulate(seed=3, hours=1.0, vessels=20)
    >>> s.positions.columns == list(schema.POSITIONS), s.truth.columns == list(schema.EVENTS)
    (True, True)
    >>> simulate(seed=3, hours=1.0, vessels=20).positions.equals(s.positions)
    True
    """
    w = world()
    plan = _plan(seed, hours, vessels, start, noise, thinning, plant)
    tp = derive_truth(plan, w, collect=True)
    observed, statics, counts = [], [], {"lines_garbled": 0}
    for block in iter_blocks(plan, w, tp.garbled):
        observed.append(block.positions.filter(~pl.col("garbled")))
        statics.append(block.statics.filter(~pl.col("garbled")))
    positions = _noise_free(plan, tp.positions)
    obs = schema.conform(pl.concat(observed), schema.POSITIONS) if observed else \
        schema.empty(schema.POSITIONS)
    ves = pl.concat(statics, how="diagonal_relaxed") if statics else pl.DataFrame()
    ves = schema.conform(ves.filter(pl.col("copy") == 0), schema.VESSELS) if ves.height \
        else schema.empty(schema.VESSELS)
    counts = _counts(plan, tp, positions, obs)
    return Scenario(
        positions=positions, vessels=ves, truth=tp.truth, negatives=tp.negatives,
        observed=obs, zones=w.zones, ports=w.ports, parameters=_parameters(plan),
        counts=counts, plan=plan,
    )


def _noise_free(plan: Plan, parts: list[Positions]) -> pl.DataFrame:
    if not parts:
        return schema.empty(schema.POSITIONS)
    p = Positions(**{k: np.concatenate([getattr(x, k) for x in parts])
                     for k, v in parts[0].__dict__.items() if isinstance(v, np.ndarray)})
    fleet = plan.fleet
    cls_b = fleet.cls[p.track] == "B"
    names = pl.Series("source", plan.stations, dtype=pl.String)
    frame = pl.DataFrame({
        "mmsi": fleet.mmsi[p.track],
        "ts": pl.Series((plan.start_s + p.t) * 1_000_000).cast(schema.TS),
        "lat": p.lat, "lon": p.lon,
        "sog": p.sog.astype(np.float32), "cog": p.cog.astype(np.float32),
        "heading": pl.Series(p.heading, dtype=pl.Int16).set(pl.Series(cls_b), None),
        "nav_status": pl.Series(p.nav, dtype=pl.Int8).set(pl.Series(cls_b), None),
        "msg_type": np.where(cls_b, 18, 1).astype(np.int8),
        "source": names.gather(p.station.astype(np.int64)),
        "accuracy": fleet.accuracy[p.track],
        "second": ((plan.start_s + p.t) % 60).astype(np.int8),
        "mmsi_valid": True,
        "_track": p.track,
    })
    return schema.conform(frame.sort("ts", "mmsi", "_track"), schema.POSITIONS)


def _parameters(plan: Plan) -> dict[str, Any]:
    from seawatch.sim import emit, output, reception
    from seawatch.sim.legs import ITU_INTERVAL_S, STATIC_INTERVAL_S

    return {
        "seed": plan.seed,
        "start": datetime.fromtimestamp(plan.start_s, UTC).isoformat().replace("+00:00", "Z"),
        "hours": plan.duration / 3600.0,
        "vessels": int(plan.parameters["background_vessels"]
                       + plan.parameters["planted_vessels"]),
        "tracks": plan.n_tracks,
        "noise": plan.noise,
        "thinning": plan.thinning,
        "itu_interval_s": {k: list(v) for k, v in ITU_INTERVAL_S.items()},
        "static_interval_s": STATIC_INTERVAL_S,
        "stations": plan.stations,
        "satellite_passes": int(plan.passes.shape[0]),
        "garble_rate": emit.GARBLE_RATE if plan.noise else 0.0,
        "shuffle_rate": output.SHUFFLE_RATE if plan.noise else 0.0,
        "jitter_m": emit.JITTER_M if plan.noise else 0.0,
        "p_receiver": reception.P_MAX,
        "p_satellite": reception.P_SATELLITE,
        **plan.parameters,
    }


def _counts(plan: Plan, tp: TruthPass, positions: pl.DataFrame | None,
            observed: pl.DataFrame | None) -> dict[str, Any]:
    truth = tp.truth
    out: dict[str, Any] = {
        "tracks": plan.n_tracks,
        "reports_sent": tp.counts["reports"],
        "reports_received": tp.counts["received"],
        "reports_garbled": tp.counts["garbled"],
        "reports_duplicated": tp.counts["duplicated"],
        "truth": dict(sorted(truth.group_by("type").len().iter_rows())) if truth.height else {},
        "truth_planted": dict(sorted(
            truth.filter(pl.col("details").str.contains('"planted": true'))
            .group_by("type").len().iter_rows())) if truth.height else {},
        "negatives": dict(sorted(tp.negatives.group_by("type").len().iter_rows()))
        if tp.negatives.height else {},
        "planted_missing": tp.counts["planted_missing"],
    }
    if positions is not None:
        out["positions"] = positions.height
    if observed is not None:
        out["positions_written"] = observed.height
    return out


def write_scenario(
    out_dir: str | Path,
    seed: int,
    hours: float,
    vessels: int,
    *,
    start: datetime = DEFAULT_START,
    noise: bool = True,
    thinning: int = DEFAULT_THINNING,
    plant: bool = True,
    csv: bool = True,
    on_progress: ProgressFn | None = None,
) -> dict[str, Path]:
    """Simulate a scenario and write it, streamed in bounded memory.

    Files: ``traffic.nmea`` (NMEA 0183 with tag blocks ``s:<station>,c:<unix time>``),
    ``traffic.csv`` (MarineCadastre columns; the positions a decoder reads, one per report,
    with GNSS jitter), ``zones.geojson``, ``ports.csv``, ``truth.parquet`` and
    ``truth.json`` (events), ``negatives.parquet`` (hard negatives) and ``scenario.json``
    (parameters and counts). Parameters as for :func:`simulate`; ``csv`` False skips the
    CSV; ``on_progress(stage, done, total)`` is called as the passes advance.

    Returns
    -------
    dict[str, Path]
        Keys ``nmea``, ``csv`` (when written), ``zones``, ``ports``, ``truth``,
        ``truth_json``, ``negatives``, ``scenario``.

    Examples
    --------
    >>> import tempfile
    >>> paths = write_scenario(tempfile.mkdtemp(), seed=3, hours=0.5, vessels=10)
    >>> sorted(paths)
    ['csv', 'negatives', 'nmea', 'ports', 'scenario', 'truth', 'truth_json', 'zones']
    """
    from seawatch.geo import zones_to_geojson
    from seawatch.sim.output import csv_frame, write_nmea_block

    started = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if on_progress:
        on_progress("plan", 0, 1)
    w = world()
    plan = _plan(seed, hours, vessels, start, noise, thinning, plant)
    if on_progress:
        on_progress("plan", 1, 1)
    tp = derive_truth(plan, w, on_progress=on_progress)
    paths = {"nmea": out / "traffic.nmea", "zones": out / "zones.geojson",
             "ports": out / "ports.csv", "truth": out / "truth.parquet",
             "truth_json": out / "truth.json", "negatives": out / "negatives.parquet",
             "scenario": out / "scenario.json"}
    if csv:
        paths["csv"] = out / "traffic.csv"
    fleet = plan.fleet
    ident = pl.DataFrame({
        "track": np.arange(plan.n_tracks), "name": fleet.name, "imo": fleet.imo,
        "callsign": fleet.callsign, "ship_type": fleet.ship_type.astype(np.int64),
        "length": fleet.length, "width": fleet.width,
        "draught": pl.Series(fleet.draught).fill_nan(None), "cls": fleet.cls.tolist(),
    })
    written = {"lines": 0, "lines_garbled": 0, "positions_written": 0, "csv_rows": 0}
    csv_fh = paths["csv"].open("wb") if csv else None
    try:
        with paths["nmea"].open("wb") as nmea_fh:
            first = True
            for block in iter_blocks(plan, w, tp.garbled, on_progress=on_progress):
                pos, sta = block.positions, block.statics
                lines, garbled = write_nmea_block(
                    nmea_fh, pos, sta,
                    (pos["track"].to_numpy(), pos["t"].to_numpy() * 2 + pos["copy"].to_numpy()),
                    pos["garbled"].to_numpy(),
                    (sta["track"].to_numpy(), sta["t"].to_numpy() * 2 + 1),
                    sta["garbled"].to_numpy(), plan.seed, plan.noise)
                written["lines"] += lines
                written["lines_garbled"] += garbled
                good = pos.filter(~pl.col("garbled"))
                written["positions_written"] += good.height
                if csv_fh is not None:
                    rows = good.filter(pl.col("copy") == 0)
                    for a in range(0, max(rows.height, 1), CSV_ROWS):
                        part = rows.slice(a, CSV_ROWS)
                        part = part.hstack(ident.drop("track")[part["track"].to_numpy()])
                        csv_frame(part).write_csv(csv_fh, include_header=first and not a)
                    written["csv_rows"] += rows.height
                first = False
    finally:
        if csv_fh is not None:
            csv_fh.close()
    paths["zones"].write_text(json.dumps(zones_to_geojson(w.zones)) + "\n", encoding="utf-8")
    w.ports.write_csv(paths["ports"])
    tp.truth.write_parquet(paths["truth"])
    _write_events_json(tp.truth, paths["truth_json"])
    tp.negatives.write_parquet(paths["negatives"])
    counts = _counts(plan, tp, None, None) | written
    counts["seconds"] = round(time.perf_counter() - started, 2)
    doc = {"parameters": _parameters(plan), "counts": counts,
           "files": {k: p.name for k, p in paths.items()}}
    paths["scenario"].write_text(json.dumps(doc, indent=2, default=str) + "\n",
                                 encoding="utf-8")
    return paths


JSON_ROWS = 10_000
"""Events turned into JSON at a time."""


def _write_events_json(events: pl.DataFrame, path: Path) -> None:
    """Events as a JSON list of objects, times in ISO 8601 UTC, ``details`` as JSON text.

    The text is ``json.dumps(rows, indent=1)``, written :data:`JSON_ROWS` rows at a time
    (an element of a list indented by one is the element alone with a space before each
    line).
    """
    frame = events.with_columns(
        pl.col("start").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        pl.col("end").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    with path.open("w", encoding="utf-8") as fh:
        if frame.height == 0:
            fh.write("[]\n")
            return
        fh.write("[\n")
        for a in range(0, frame.height, JSON_ROWS):
            rows = frame.slice(a, JSON_ROWS).to_dicts()
            text = ",\n".join(" " + json.dumps(r, indent=1).replace("\n", "\n ") for r in rows)
            fh.write((",\n" if a else "") + text)
        fh.write("\n]\n")
