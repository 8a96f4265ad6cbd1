"""Pass 1 of a scenario: its events, from the reports of blocks of whole tracks.

Each block of tracks is emitted over the whole period (:func:`seawatch.sim.emit.emit_positions`);
what a decoder will read goes through the event definitions (:mod:`seawatch.sim.truth`), and
pairs of tracks meet through the 10-minute grid samples kept from every block. Planted
behaviours are then matched to the events (:func:`match_intents`), spoofing events come from
the planted identity thefts and jumps, and the reports chosen to be garbled are handed to
the output pass (:mod:`seawatch.sim.output_pass`) as keys. In the messy profile the truth
also knows what the artefacts explain (:mod:`seawatch.sim.truth.artefacts`), and the
outliers' keys go to the output pass too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from seawatch import schema
from seawatch.geo.geodesy import haversine_km, speed_kn
from seawatch.sim import truth as T
from seawatch.sim.emit import Positions, emit_positions, report_keys
from seawatch.sim.plan import Plan
from seawatch.sim.truth import artefacts as TA
from seawatch.sim.world import World

BLOCK_REPORTS = 600_000
"""Reports a block of either pass may send at most (about 300 bytes each while emitted)."""

ProgressFn = Callable[[str, int, int], None]
"""``on_progress(stage, done, total)``, called as the passes advance."""


def tracks_per_block(plan: Plan, seconds: float) -> int:
    """Tracks whose reports over ``seconds`` make about :data:`BLOCK_REPORTS` (a class A
    vessel underway reports every 10 s x thinning)."""
    per_track = seconds / (10.0 * plan.thinning) + 1.0
    return max(1, int(BLOCK_REPORTS // per_track))


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
    outliers: np.ndarray | None = None  # report keys of the outliers (messy profile), sorted


def derive_truth(plan: Plan, w: World, *, collect: bool = False,
                 on_progress: ProgressFn | None = None) -> TruthPass:
    """Pass 1: events of the whole scenario (and its decodable positions if ``collect``)."""
    fleet = plan.fleet
    n = plan.n_tracks
    per_block = tracks_per_block(plan, plan.duration)
    raws: list[pl.DataFrame] = []
    loiter: list[pl.DataFrame] = []
    samples: list[pl.DataFrame] = []
    kept: list[Positions] = []
    garbled: list[np.ndarray] = []
    outliers: list[np.ndarray] = []
    art = plan.artefacts
    extra_negatives: list[TA.Negative] = []
    spoofed = {t for i in plan.intents if i["type"] == "spoofing" for t in i["tracks"]}
    counts: dict[str, Any] = {"reports": 0, "received": 0, "garbled": 0, "duplicated": 0}
    if art is not None:
        counts["outliers"] = 0
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
        gaps = T.gaps(tab, w)
        if art is not None:
            counts["outliers"] += int(p.outlier.sum())
            outliers.append(report_keys(p.track[p.outlier], p.t[p.outlier]))
            gaps, explained = TA.coverage_gaps(gaps, d, art, plan.passes)
            extra_negatives += explained
            extra_negatives += TA.outlier_negatives(d, plan.seed, w)
            extra_negatives += TA.station_negatives(p, art, spoofed)
        raws += [T.zone_events(tab, w.zones), T.port_visits(tab, w), gaps,
                 T.fishing_in_zone(tab, fleet, w)]
        loiter.append(T.loitering_candidates(tab, fleet, w))
        samples.append(T.grid_samples(tab, plan.start_s))
        if on_progress:
            on_progress("truth", b, n)
    pieces = T.encounter_pieces(_take_all(samples), fleet.mmsi, w)
    enc = T.encounters(pieces, plan.start_s, w)
    if art is not None:
        enc = TA.exclude_events(enc, art)
    raws.append(enc)
    raws.append(T.drop_overlapping(pl.concat(loiter) if loiter else T.empty_raw(), enc,
                                   fleet.mmsi))
    raws.append(_spoofing(plan, w))
    if art is not None and art.identity is not None:
        from seawatch.sim.truth.identity import identity_events

        raws.append(identity_events(plan, w, _emit_tracks))
    raw = pl.concat([r for r in raws if r.height], how="vertical") if any(
        r.height for r in raws) else T.empty_raw()
    if art is not None:
        raw = TA.exclude_events(raw, art)
    raw, missing = match_intents(raw, plan.intents, plan.negatives)
    counts["planted_missing"] = missing
    truth = T.to_events(raw, fleet.mmsi, plan.start_s)
    negatives = _negatives(plan, extra_negatives)
    keys = np.sort(np.concatenate(garbled)) if garbled else np.empty(0, np.int64)
    out_keys = None
    if art is not None:
        out_keys = np.sort(np.concatenate(outliers)) if outliers else np.empty(0, np.int64)
    return TruthPass(truth, negatives, kept, counts, keys, out_keys)


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
        if it["kind"] in ("shared_mmsi", "shared_identity"):
            imp = tracks[it["tracks"][1]]
            own = tracks[it["tracks"][0]]
            if not imp.t.size or not own.t.size:
                continue
            s, e = int(imp.t[0]), int(imp.t[-1])
            if it["kind"] == "shared_identity":  # both transmit all along: while both heard
                s, e = max(s, int(own.t[0])), min(e, int(own.t[-1]))
            j = np.clip(np.searchsorted(own.t, imp.t), 0, own.t.size - 1)
            sep = haversine_km(imp.lat, imp.lon, own.lat[j], own.lon[j])
            lat, lon = float(imp.lat[0]), float(imp.lon[0])
            details = {"kind": it["kind"], "tracks": 2,
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
    return T.raw_events({"type": "spoofing", "track": [r["track"] for r in rows],
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


def _negatives(plan: Plan, extra: list[dict[str, Any]] | None = None) -> pl.DataFrame:
    """The hard negatives planted, then those the artefacts of the messy profile leave
    (``details.reason``)."""
    rows = plan.negatives + (extra or [])
    if not rows:
        return schema.empty(schema.EVENTS)
    raw = T.raw_events({
        "type": [r["type"] for r in rows], "track": [r["tracks"][0] for r in rows],
        "other_track": [r["tracks"][1] if len(r["tracks"]) > 1 else None for r in rows],
        "start_s": [int(r["t0"]) for r in rows], "end_s": [int(r["t1"]) for r in rows],
        "lat": [r["lat"] for r in rows], "lon": [r["lon"] for r in rows],
        "zone": [r.get("zone") for r in rows],
        "details": [{"negative": r["name"], **r.get("params", {})} for r in rows],
    }, len(rows))
    return T.to_events(raw, plan.fleet.mmsi, plan.start_s).with_columns(
        pl.col("lat", "lon").fill_nan(None), score=pl.lit(0.0))
