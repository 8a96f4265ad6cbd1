"""Truth of the ``identity`` artefact (:mod:`seawatch.sim.plant.identities`): the planted
identity changes, watchlisted vessels, invalid MMSIs and type liars that reach the data.

What reaches the data is decided from the reports as emitted (decodable positions, static
reports received and not garbled, first copies), with the definitions of
docs/detectors.md:

- ``identity_change``: for its name or its call sign, the vessel's old value reached the
  data before the change and the new one after it in at least two reports the store keeps
  (distinct contents per UTC day: ``min_reports``); the event is from the first report
  with a new value that did to the last such first report;
- ``watchlist_hit``: the listed vessel's positions reached the data (and, listed by IMO or
  name, a static report carrying it did); from its first to its last position;
- ``invalid_identity``: at least five positions reached the data (``min_positions``); from
  the first to the last;
- ``type_mismatch``: the window the liar worked its area, placed at its position halfway.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from seawatch.sim.truth.events import empty_raw, raw_events

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.sim.emit import Positions
    from seawatch.sim.plan import Plan
    from seawatch.sim.world import World

MIN_REPORTS = 2
"""Stored reports a new identity needs (``[identity] min_reports``)."""
MIN_POSITIONS = 5
"""Positions an invalid MMSI needs (``[identity] min_positions``)."""
CONTENT = ("imo", "callsign", "name", "ship_type", "length", "width", "draught", "destination")
"""What makes two static reports distinct for the store (``seawatch.store.dedup``)."""


def _statics(plan: Plan, tracks: list[int]) -> pl.DataFrame:
    """Received, not garbled, first copies of the static reports of ``tracks``, as written."""
    from seawatch.sim.emit import emit_statics
    from seawatch.sim.output_pass import _static_rows

    idx = np.flatnonzero(np.isin(plan.legs.track, np.asarray(tracks, np.int64)))
    if not idx.size:
        return pl.DataFrame()
    rows = _static_rows(plan, emit_statics(plan, idx, 0, plan.duration))
    return rows.filter(~pl.col("garbled") & (pl.col("copy") == 0))


def _at(p: Positions, t: float) -> tuple[float, float]:
    k = int(np.clip(np.searchsorted(p.t, t), 0, p.t.size - 1))
    return float(p.lat[k]), float(p.lon[k])


def identity_events(plan: Plan, w: World,
                    emit_tracks: Callable[[Plan, World, list[int]], dict[int, Positions]]
                    ) -> pl.DataFrame:
    """Raw truth events (:func:`seawatch.sim.truth.events.raw_events`) of the identity
    artefact; ``emit_tracks`` gives the decodable reports of whole tracks."""
    art = plan.artefacts
    ident = None if art is None else art.identity
    if ident is None:
        return empty_raw()
    tracks = ([c["track"] for c in ident.changes] + [x["track"] for x in ident.listed]
              + [x["track"] for x in ident.invalid] + list(ident.liars))
    pos = emit_tracks(plan, w, tracks)
    statics = _statics(plan, [c["track"] for c in ident.changes]
                       + [x["track"] for x in ident.listed])
    rows: list[dict[str, Any]] = []

    def add(typ: str, track: int, s: float, e: float, where: tuple[float, float],
            **details: Any) -> None:
        rows.append({"type": typ, "track": track, "start_s": int(s), "end_s": int(e),
                     "lat": where[0], "lon": where[1], "details": details})

    for c in ident.changes:
        p = pos.get(c["track"])
        if p is None or not p.t.size or statics.height == 0:
            continue
        mine = statics.filter(pl.col("track") == c["track"]).sort("t")
        seen: dict[str, float] = {}
        for field in ("name", "callsign"):  # (a class B vessel sends them apart)
            old = mine.filter((pl.col("t") < c["t"]) & pl.col(field).is_not_null()
                              & (pl.col(field) != c[field]))
            new = mine.filter((pl.col("t") >= c["t"]) & (pl.col(field) == c[field]))
            kept = new.with_columns(pl.col("ts").dt.date().alias("day")).unique(
                ["day", *CONTENT])
            if old.height and kept.height >= MIN_REPORTS:
                seen[field] = float(new["t"][0])
        if not seen:
            continue
        t = min(seen.values())
        add("identity_change", c["track"], t, max(seen.values()), _at(p, t),
            fields=sorted(seen), new_name=c["name"])
    for x in ident.listed:
        p = pos.get(x["track"])
        if p is None or not p.t.size:
            continue
        if x["by"] != "mmsi":
            mine = statics.filter(pl.col("track") == x["track"]) if statics.height else statics
            field = "imo" if x["by"] == "imo" else "name"
            if mine.height == 0 or mine[field].drop_nulls().len() == 0:
                continue
        add("watchlist_hit", x["track"], float(p.t[0]), float(p.t[-1]),
            (float(p.lat[-1]), float(p.lon[-1])), by=x["by"])
    for x in ident.invalid:
        p = pos.get(x["track"])
        if p is None or p.t.size < MIN_POSITIONS:
            continue
        add("invalid_identity", x["track"], float(p.t[0]), float(p.t[-1]),
            (float(p.lat[0]), float(p.lon[0])), kind=x["kind"])
    for track in ident.liars:
        p = pos.get(track)
        window = next((i for i in plan.intents if i["type"] == "type_mismatch"
                       and i["tracks"] == [track]), None)
        if p is None or not p.t.size or window is None:
            continue
        t0, t1 = float(window["t0"]), float(window["t1"])
        add("type_mismatch", track, t0, t1, _at(p, (t0 + t1) / 2))
    if not rows:
        return empty_raw()
    return raw_events({k: [r[k] for r in rows] for k in
                       ("type", "track", "start_s", "end_s", "lat", "lon", "details")},
                      len(rows))
