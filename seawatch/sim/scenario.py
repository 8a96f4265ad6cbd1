"""Scenarios: simulate in memory (:func:`simulate`) or stream to files (:func:`write_scenario`).

A scenario is made in two passes over a :class:`~seawatch.sim.plan.Plan`:

1. **truth** (:mod:`seawatch.sim.truth_pass`), in blocks of tracks over the whole period:
   emit each block's reports (:func:`seawatch.sim.emit.emit_positions`), keep what a
   decoder will read, and apply the event definitions (:mod:`seawatch.sim.truth`); pairs of
   tracks meet through 10-minute grid samples kept from every block;
2. **output** (:mod:`seawatch.sim.output_pass`), in blocks of time over all tracks: emit
   the block's reports again (the reports pass 1 chose to garble are handed over as keys),
   add GNSS jitter, duplicates and line noise, and write NMEA and CSV (here).

Both passes hold one block at a time (:data:`seawatch.sim.truth_pass.BLOCK_REPORTS`
reports), and the output pass
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
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import polars as pl

from seawatch import schema
from seawatch.sim.emit import Positions
from seawatch.sim.legs import DEFAULT_THINNING
from seawatch.sim.output_pass import iter_blocks
from seawatch.sim.plan import Plan, build_plan
from seawatch.sim.truth_pass import ProgressFn, TruthPass, derive_truth
from seawatch.sim.world import world

DEFAULT_START = datetime(2026, 1, 15, 12, tzinfo=UTC)
"""Start of the simulated period unless another is given (noon UTC, so that a day-long
scenario has a midnight in the middle for events to straddle)."""

CSV_ROWS = 100_000
"""CSV rows formatted at a time."""


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
          plant: bool, artefacts: Mapping[str, float] | None = None) -> Plan:
    return build_plan(seed, hours, vessels, _start_seconds(start), noise=noise,
                      thinning=thinning, plant=plant, artefacts=artefacts)


def _as_logged(rows: pl.DataFrame) -> pl.DataFrame:
    """Rows with the time their station's clock stamped (messy profile: ``clock_ts``)."""
    if "clock_ts" not in rows.columns:
        return rows
    return rows.with_columns(ts=pl.col("clock_ts")).drop("clock_ts")


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
    artefacts: Mapping[str, float] | None = None,
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
    artefacts
        Artefacts of real feeds and their strengths (:mod:`seawatch.sim.artefacts`, e.g.
        ``parse_artefacts(None, profile="messy")``); none by default (the clean profile).
        ``observed`` then carries the times the stations' clocks stamped, and the outliers.

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
    plan = _plan(seed, hours, vessels, start, noise, thinning, plant, artefacts)
    tp = derive_truth(plan, w, collect=True)
    observed, statics, counts = [], [], {"lines_garbled": 0}
    for block in iter_blocks(plan, w, tp.garbled, outliers=tp.outliers):
        observed.append(_as_logged(block.positions.filter(~pl.col("garbled"))))
        statics.append(_as_logged(block.statics.filter(~pl.col("garbled"))))
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
    arrays: dict[str, Any] = {k: np.concatenate([getattr(x, k) for x in parts])
                              for k, v in parts[0].__dict__.items() if isinstance(v, np.ndarray)}
    p = Positions(**arrays)
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
        **({"artefacts": plan.artefacts.strengths} if plan.artefacts is not None else {}),
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
    if "outliers" in tp.counts:  # the messy profile
        out["reports_outliers"] = tp.counts["outliers"]
        reasons = tp.negatives.select(pl.col("details").str.json_path_match("$.reason")
                                      .fill_null("planted")).to_series()
        out["negatives_by_reason"] = dict(sorted(reasons.value_counts().iter_rows()))
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
    artefacts: Mapping[str, float] | None = None,
) -> dict[str, Path]:
    """Simulate a scenario and write it, streamed in bounded memory.

    Files: ``traffic.nmea`` (NMEA 0183 with tag blocks ``s:<station>,c:<unix time>``),
    ``traffic.csv`` (MarineCadastre columns; the positions a decoder reads, one per report,
    with GNSS jitter), ``zones.geojson``, ``ports.csv``, ``truth.parquet`` and
    ``truth.json`` (events), ``negatives.parquet`` (hard negatives) and ``scenario.json``
    (parameters and counts). Parameters as for :func:`simulate`; ``csv`` False skips the
    CSV; ``on_progress(stage, done, total)`` is called as the passes advance.

    With ``artefacts`` (:mod:`seawatch.sim.artefacts`): ``file_holes`` writes the NMEA as
    ``traffic-1.nmea``, ``traffic-2.nmea``, ... (keys ``nmea_1``, ``nmea_2``, ...: see
    :func:`nmea_files`) with the holes between them; ``sparse_export`` adds
    ``traffic-daily.csv`` (key ``export``); ``platform`` adds ``installations.geojson``
    (key ``installations``); ``identity`` adds ``watchlist.csv`` (key ``watchlist``, the
    generated watchlist); ``scenario.json`` says what each artefact decided.

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
    plan = _plan(seed, hours, vessels, start, noise, thinning, plant, artefacts)
    art = plan.artefacts
    if on_progress:
        on_progress("plan", 1, 1)
    tp = derive_truth(plan, w, on_progress=on_progress)
    n_files = 1 + (len(art.holes) if art is not None else 0)
    nmea = {"nmea": out / "traffic.nmea"} if n_files == 1 else {
        f"nmea_{k}": out / f"traffic-{k}.nmea" for k in range(1, n_files + 1)}
    paths = {**nmea, "zones": out / "zones.geojson",
             "ports": out / "ports.csv", "truth": out / "truth.parquet",
             "truth_json": out / "truth.json", "negatives": out / "negatives.parquet",
             "scenario": out / "scenario.json"}
    if csv:
        paths["csv"] = out / "traffic.csv"
    daily = None
    if art is not None and art.on("sparse_export"):
        from seawatch.sim.daily import DailyExport

        paths["export"] = out / "traffic-daily.csv"
        daily = DailyExport(plan.seed)
    if art is not None and art.on("platform"):
        paths["installations"] = out / "installations.geojson"
    fleet = plan.fleet
    ident = pl.DataFrame({
        "track": np.arange(plan.n_tracks), "name": fleet.name, "imo": fleet.imo,
        "callsign": fleet.callsign, "ship_type": fleet.ship_type.astype(np.int64),
        "length": fleet.length, "width": fleet.width,
        "draught": pl.Series(fleet.draught).fill_nan(None), "cls": fleet.cls.tolist(),
    })
    written = {"lines": 0, "lines_garbled": 0, "positions_written": 0, "csv_rows": 0}
    csv_fh = paths["csv"].open("wb") if csv else None
    nmea_paths = list(nmea.values())
    nmea_fh: BinaryIO | None = None
    current = -1
    try:
        first = True
        for block in iter_blocks(plan, w, tp.garbled, on_progress=on_progress,
                                 outliers=tp.outliers):
            k = _file_of(plan, block.window[0])
            if k != current:
                if nmea_fh is not None:
                    nmea_fh.close()
                nmea_fh = nmea_paths[k].open("wb")
                current = k
            assert nmea_fh is not None
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
            if daily is not None:
                daily.add(good.filter(pl.col("copy") == 0))
            if csv_fh is not None:
                rows = _as_logged(good.filter(pl.col("copy") == 0))
                for a in range(0, max(rows.height, 1), CSV_ROWS):
                    part = rows.slice(a, CSV_ROWS)
                    part = part.hstack(ident.drop("track")[part["track"].to_numpy()])
                    csv_frame(part).write_csv(csv_fh, include_header=first and not a)
                written["csv_rows"] += rows.height
            first = False
        for path in nmea_paths[current + 1:]:  # files after the last block with rows
            path.write_bytes(b"")
    finally:
        if csv_fh is not None:
            csv_fh.close()
        if nmea_fh is not None:
            nmea_fh.close()
    if daily is not None:
        from seawatch.sim.daily import export_only_rows

        rows = pl.concat([daily.frame(), export_only_rows(plan, w)]).sort("ts", "mmsi")
        rows = rows.hstack(ident.drop("track")[rows["track"].to_numpy()])
        csv_frame(rows).write_csv(paths["export"])
        written["export_rows"] = rows.height
    if art is not None and art.identity is not None:
        from seawatch.sim.plant.identities import watchlist_frame

        paths["watchlist"] = out / "watchlist.csv"
        watchlist_frame(art.identity).write_csv(paths["watchlist"])
    if "installations" in paths and art is not None:
        paths["installations"].write_text(json.dumps(_installations(art)) + "\n",
                                          encoding="utf-8")
    paths["zones"].write_text(json.dumps(zones_to_geojson(w.zones)) + "\n", encoding="utf-8")
    w.ports.write_csv(paths["ports"])
    tp.truth.write_parquet(paths["truth"])
    _write_events_json(tp.truth, paths["truth_json"])
    tp.negatives.write_parquet(paths["negatives"])
    counts = _counts(plan, tp, None, None) | written
    counts["seconds"] = round(time.perf_counter() - started, 2)
    doc: dict[str, Any] = {"parameters": _parameters(plan), "counts": counts,
                           "files": {k: p.name for k, p in paths.items()}}
    if art is not None:
        doc["artefacts"] = art.describe(plan.stations, plan.start_s, fleet.mmsi)
    paths["scenario"].write_text(json.dumps(doc, indent=2, default=str) + "\n",
                                 encoding="utf-8")
    return paths


def nmea_files(paths: Mapping[str, Path]) -> list[Path]:
    """The NMEA files of a scenario written by :func:`write_scenario`, in time order.

    >>> nmea_files({"nmea_2": Path("b"), "zones": Path("z"), "nmea_1": Path("a")})
    [PosixPath('a'), PosixPath('b')]
    """
    if "nmea" in paths:
        return [paths["nmea"]]
    keys = sorted((k for k in paths if k.startswith("nmea_")), key=lambda k: int(k[5:]))
    return [paths[k] for k in keys]


def _file_of(plan: Plan, t: float) -> int:
    """Index of the NMEA file that holds time ``t``: the holes ended by then."""
    art = plan.artefacts
    if art is None or not art.holes.size:
        return 0
    return int((art.holes[:, 1] <= t).sum())


def _installations(art: Any) -> dict[str, Any]:
    """The platforms as a GeoJSON FeatureCollection of points (``name``, ``kind``)."""
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [p["lon"], p["lat"]]},
         "properties": {"name": p["name"], "kind": "platform"}}
        for p in art.platforms]}


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
