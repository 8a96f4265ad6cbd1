"""Real-data census: every detector on every real capture in ../shared/data, and which alerts
are false by the categories of issue 12.

Each capture is ingested as a user would (``seawatch ingest``; an NMEA file that carries no
time gets ``--time`` with ``--duration`` or ``--line-spacing``, see :data:`UNTIMED`) into a
store of its own, every detector runs with its defaults (``seawatch detect``), and each
alert is checked against the rules of docs/evaluation.md ("Real-data census"):

- ``outlier``: a ``spoofing`` alert whose impossible moves all come from lone reports that
  disagree with both neighbours while the neighbours agree (one garbled report, then back on
  track): without those reports the vessel's track in the alert's span is possible. Lone
  reports within ``jump_km`` of one another are a second transmitter heard once at a time,
  not outliers (:func:`explained_by_outliers`).
- ``sparse_export``: a ``gap`` of a vessel whose reports are, on median, :data:`SPARSE_H`
  hours or more apart: it is seen through a daily (or sampled) export, where a 12 h silence
  is the cadence of the data.
- ``file_hole``: another ``gap`` whose silence falls mostly (:data:`HOLE_SHARE`) where the
  whole store is silent for :data:`FEED_SILENCE_H` hours or more: no vessel was recorded
  (the hole between two capture files, a receiver outage).
- ``moored``: an ``encounter`` of two vessels that both stay within :data:`STATIONARY_M`
  metres of one point (:data:`STATIONARY_SHARE` of their reports within :data:`NEAR_EVENT_KM`
  of the encounter) for the whole encounter, :data:`NEAR_SHORE_KM` km or less from shore:
  moored or at anchor side by side in a harbour, port activity.
- ``fragment``: an alert of a ``spoofing``, ``loitering``, ``encounter`` or
  ``fishing_in_zone`` episode after its first: alerts of one type and one vessel (or pair)
  less than :data:`EPISODE_H` hours apart, end to next start, are one behaviour.

Captures: every NMEA file of ``ais-nmea/`` and ``ais-csv/`` (decoder corpora included: they
are real receptions), every CSV of ``ais-csv/``, each folder of them together as one store
(what ``seawatch ingest folder/*`` gives: holes between files), and the GFW segmenter's
regression fixture (9 days of real satellite AIS, 56 vessels) loaded as positions
(``tests/tracks/gfw_segment_reference.py``) and run through :func:`seawatch.detect.detect_all`.
``ais-edge-cases/`` is left out (malformed sentences, not captures).

Run: ``python bench/real_alerts.py [--data ../shared/data] [--only NAME ...] [--json out.json]``.
Prints one row per capture and event type with the alerts and the false ones per category,
then the totals per category.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: the repository's tests/ for the GFW loader
    sys.path.insert(0, str(ROOT))

from seawatch import schema  # noqa: E402
from seawatch.detect.run import detect_all, detect_store  # noqa: E402
from seawatch.detect.spoofing import SpoofingParams  # noqa: E402
from seawatch.geo.geodesy import haversine_km  # noqa: E402
from seawatch.geo.shore import distance_to_shore_km  # noqa: E402
from seawatch.store import Store  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
"""``shared/data`` beside the repository (read-only; see its SOURCES.md)."""

UNTIMED_START = "2020-01-01T00:00:00Z"
"""``--time`` given to an NMEA file that carries no time (any instant: only spans matter)."""
UNTIMED: dict[str, dict[str, str]] = {
    "ais-nmea-sample.log": {"duration": "3m"},
}
"""Reader options of untimed files: the AISHub sample is about 3 minutes of the feed
(SOURCES.md); the others get :data:`UNTIMED_SPACING`."""
UNTIMED_SPACING = {"line_spacing": "2ms"}
"""Lines of another untimed file are 2 ms apart: the AISHub sample's rate (85,187 lines in
about 3 minutes)."""

SPOOF = SpoofingParams()
"""The spoofing detector's defaults: what makes a move impossible (speed and distance)."""
FEED_SILENCE_H = 1.0
"""A stretch of at least this many hours with no position of any vessel is a hole in the
capture (between files, or an outage): a busy feed never falls silent that long."""
HOLE_SHARE = 0.5
"""A gap is ``file_hole`` when at least this share of its silence lies in such holes."""
SPARSE_H = 6.0
"""A vessel whose consecutive reports are on median this many hours apart or more is seen
through a sparse export (a daily row) or a sampler, not a live feed."""
STATIONARY_M = 500.0
"""An encounter vessel whose reports stay this close to its median position is moored or at
anchor (a swinging circle at anchor is a few hundred metres) ..."""
NEAR_EVENT_KM = 10.0
"""Only the reports this close to the encounter count (an MMSI two ships share has reports
of the other one far away) ..."""
STATIONARY_SHARE = 0.9
"""... for this share of its reports in the encounter (a garbled report thousands of km away
does not make a moored ship move)."""
NEAR_SHORE_KM = 5.0
"""... and an encounter this close to shore (the shipped world coast is 1:50m, so a harbour
basin can lie a few km from the drawn coastline) is in a harbour."""
EPISODE_H = 24.0
"""Alerts of one type and vessel or pair less than this many hours apart (end to next start)
are fragments of one behaviour."""
EPISODE_KM = 2.0 * 1.852 * EPISODE_H
"""... and, for a behaviour of one place (:data:`PLACE_TYPES`), the next alert starts less
than this far (km) from where the vessel was when the previous ended: 2 kn (the loitering
speed limit, GFW's definition) for :data:`EPISODE_H`, about 48 nm. A vessel found farther
than a loitering vessel drifts in a day has steamed to another place, and its stop there is
another behaviour (GFW's fixture: a carrier's stops 103-717 km apart after 8-41 h at
6.6-10 kn, each a possible rendezvous of its own)."""
PLACE_TYPES = ("loitering",)
"""Types whose episode is tied to one place (the other episode types are of one vessel or
pair wherever it goes: a pair's meetings, a shared MMSI, fishing along a zone)."""
EPISODE_TYPES = ("spoofing", "loitering", "encounter", "fishing_in_zone")
"""Types whose episodes should give one alert (a zone crossing, a port visit or a gap is one
event by nature)."""
CATEGORIES = ("outlier", "sparse_export", "file_hole", "moored", "fragment")
"""The census's categories of false alerts, in print order."""


# -- captures ----------------------------------------------------------------------------------
@dataclass
class Capture:
    """Real inputs detected together: files ingested into one store, or positions."""

    name: str
    paths: list[Path] = field(default_factory=list)
    load: Callable[[], pl.DataFrame] | None = None  # positions, when not files
    vessels: Callable[[], pl.DataFrame] | None = None  # identities beside ``load``

    def __str__(self) -> str:
        return self.name


def _is_capture(path: Path) -> bool:
    return path.is_file() and path.suffix not in (".chk", ".md", ".json", ".gz") and \
        not path.name.startswith(("LICENSE", "COPYING", "NOTICE"))


def captures(data: Path = DATA) -> list[Capture]:
    """Every real capture of ``data`` (see the module docstring), files first, then folders
    of several files, then the GFW fixture."""
    files = sorted(p for d in ("ais-nmea", "ais-csv") for p in (data / d).rglob("*")
                   if _is_capture(p))
    out = [Capture(str(p.relative_to(data)), [p]) for p in files]
    folders: dict[Path, list[Path]] = {}
    for p in files:
        folders.setdefault(p.parent, []).append(p)
    out += [Capture(str(d.relative_to(data)) + "/*", ps) for d, ps in sorted(folders.items())
            if len(ps) > 1]
    gfw = data / "reference" / "gfw-segment" / "regression"
    if gfw.is_dir():
        out.append(Capture("reference/gfw-segment/regression", load=lambda: gfw_positions(gfw),
                           vessels=lambda: gfw_vessels(gfw)))
    return out


def gfw_positions(folder: Path) -> pl.DataFrame:
    """The GFW regression fixture's position messages as a positions table."""
    from tests.tracks.gfw_segment_reference import load_regression

    return schema.conform(load_regression(folder), schema.POSITIONS)


GFW_STATIC_TYPES = ("AIS.5", "AIS.19", "AIS.24")
"""The fixture's messages that carry a ship type (static and voyage data, class B reports)."""


def gfw_vessels(folder: Path) -> pl.DataFrame:
    """The ship types the GFW fixture's static messages declare, one row per MMSI with its
    latest (what a store keeps from the same messages, ``Store.latest_identity()``): the
    fixture names them in words ("Fishing", "Cargo, all ships of this type"), read as ITU
    codes by the CSV readers' table."""
    import gzip

    from seawatch.io.csv.values import ship_type

    rows = []
    for path in sorted(folder.glob("regr_*.json.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                d = json.loads(line)
                if d["type"] in GFW_STATIC_TYPES and d.get("shiptype"):
                    rows.append({"mmsi": int(d["ssvid"]), "ts": d["timestamp"],
                                 "text": str(d["shiptype"]).split(",")[0]})
    if not rows:
        return schema.empty(schema.VESSELS)
    frame = (
        pl.DataFrame(rows)
        .with_columns(pl.col("ts").str.to_datetime(time_zone="UTC", time_unit="us"),
                      ship_type(pl.col("text")).alias("ship_type"))
        .drop_nulls("ship_type")
        .sort("mmsi", "ts")
        .group_by("mmsi", maintain_order=True)
        .last()  # one row per MMSI, its latest declared type (Store.latest_identity())
        .drop("text")
    )
    return schema.conform(frame, schema.VESSELS)


def _ingest(store: Store, path: Path) -> None:
    from seawatch.io.nmea.reader import NoTimeError

    try:
        store.ingest([path])
    except NoTimeError:
        options = UNTIMED.get(path.name, UNTIMED_SPACING)
        store.ingest([path], default_time=UNTIMED_START, **options)


def run_capture(capture: Capture, work: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(events, positions) of every detector on ``capture`` (defaults, as a user runs them)."""
    if capture.load is not None:
        positions = capture.load()
        vessels = capture.vessels() if capture.vessels is not None else None
        return detect_all(positions, vessels), positions
    store = Store(work / "store")
    for path in capture.paths:
        _ingest(store, path)
    positions = store.positions().collect()
    if positions.height == 0:  # identity or base-station messages only: nothing to detect
        return schema.empty(schema.EVENTS), positions
    return detect_store(store), positions


# -- classification ----------------------------------------------------------------------------
def _impossible(lat: np.ndarray, lon: np.ndarray, ts_s: np.ndarray, a: np.ndarray,
                b: np.ndarray) -> np.ndarray:
    """Whether the moves from reports ``a`` to ``b`` are impossible for one vessel (the
    spoofing detector's rule: faster than ``max_speed_kn`` over more than ``jump_km``)."""
    km = haversine_km(lat[a], lon[a], lat[b], lon[b])
    hours = np.maximum(np.abs(ts_s[b] - ts_s[a]), 1.0) / 3600.0
    return (km > SPOOF.jump_km) & (km / 1.852 / hours > SPOOF.max_speed_kn)


def explained_by_outliers(lat: np.ndarray, lon: np.ndarray, ts_s: np.ndarray) -> bool:
    """Whether every impossible move of one vessel's reports (in time order) comes from a
    lone report that disagrees with both neighbours while they agree, and that no other lone
    report repeats.

    A lone report within ``jump_km`` of another lone report is a second transmitter heard
    once at a time, not a garbled report: a bit error puts a report anywhere (6 km to 28
    degrees off), never twice at one place. Evidence (2026-12-07): the 4 alerts the rule
    without this clause still called outliers were all such transmitters -- in the AISHub
    sample 412123456 (a second ship moored at 24.4677 N 118.0648 E, heard 7 times between
    the first one's reports at 37.60 N 121.39 E), 111111111 and 201006210 (a second ship
    heard twice, 69 and 72 s apart, 0 and 14 m apart); in GFW's fixture 636018024 (a
    vessel at 24.79 S 42.51 W heard 4 times in 2 days, at most 15 km from where it was,
    between reports of the same MMSI sailing off Florida).

    >>> lat = np.array([0.0, 0.001, 3.0, 0.003, 0.004])  # the middle report is garbled
    >>> explained_by_outliers(lat, np.zeros(5), np.arange(5) * 60.0)
    True
    >>> lat = np.array([0.0, 0.001, 3.0, 3.001, 3.002])  # a jump that stays
    >>> explained_by_outliers(lat, np.zeros(5), np.arange(5) * 60.0)
    False
    >>> lat = np.array([0.0, 3.0, 0.002, 3.0, 0.004])  # a second ship, heard twice
    >>> explained_by_outliers(lat, np.zeros(5), np.arange(5) * 60.0)
    False
    """
    n = lat.size
    if n < 3:
        return False
    i = np.arange(1, n - 1)
    lone = (_impossible(lat, lon, ts_s, i - 1, i) & _impossible(lat, lon, ts_s, i, i + 1)
            & ~_impossible(lat, lon, ts_s, i - 1, i + 1))
    if not lone.any():
        return False
    at = i[lone]
    if at.size > 1:  # lone reports at one place are a second transmitter's, not outliers
        a, b = np.triu_indices(at.size, k=1)
        near = haversine_km(lat[at[a]], lon[at[a]], lat[at[b]], lon[at[b]]) <= SPOOF.jump_km
        partnered = np.zeros(at.size, bool)
        partnered[a[near]] = True
        partnered[b[near]] = True
        at = at[~partnered]
        if not at.size:
            return False
    keep = np.ones(n, bool)
    keep[at] = False
    k = np.flatnonzero(keep)
    return not _impossible(lat, lon, ts_s, k[:-1], k[1:]).any()


def _seconds(col: pl.Series) -> np.ndarray:
    return col.dt.epoch("us").to_numpy().astype(np.float64) / 1e6


def _feed_holes(positions: pl.DataFrame) -> np.ndarray:
    """(k, 2) seconds: stretches of :data:`FEED_SILENCE_H` or more with no position at all."""
    t = np.unique(_seconds(positions["ts"].drop_nulls()))
    if t.size < 2:
        return np.empty((0, 2))
    d = np.diff(t)
    big = np.flatnonzero(d >= FEED_SILENCE_H * 3600)
    return np.column_stack([t[big], t[big + 1]])


def _covered(a: float, b: float, holes: np.ndarray) -> float:
    if not holes.size:
        return 0.0
    return float(np.clip(np.minimum(holes[:, 1], b) - np.maximum(holes[:, 0], a), 0, None).sum())


def classify(events: pl.DataFrame, positions: pl.DataFrame) -> pl.DataFrame:
    """``events`` with ``false_by``: the census category that makes an alert false (one of
    :data:`CATEGORIES`), or null (see the module docstring for the rules).

    The first categories win over ``fragment``: an episode of alerts each false for another
    reason is counted under that reason.
    """
    if events.height == 0:
        return events.with_columns(false_by=pl.lit(None, pl.String))
    pos = positions.filter(pl.col("ts").is_not_null() & pl.col("lat").is_not_null()
                           & pl.col("lon").is_not_null()).sort("mmsi", "ts")
    by_mmsi = {k[0]: g for k, g in pos.group_by("mmsi")} if pos.height else {}
    holes = _feed_holes(pos)
    cadence = {m: float(np.median(np.diff(_seconds(g["ts"])))) / 3600.0
               for m, g in by_mmsi.items() if g.height > 1}
    out: list[str | None] = []
    for ev in events.iter_rows(named=True):
        t0 = ev["start"].timestamp()
        t1 = ev["end"].timestamp()
        mine = by_mmsi.get(ev["mmsi"])
        label = None
        if ev["type"] == "spoofing" and mine is not None:
            w = mine.filter(pl.col("ts").dt.epoch("us").is_between(
                int((t0 - 3600) * 1e6), int((t1 + 3600) * 1e6)))
            if explained_by_outliers(w["lat"].to_numpy(), w["lon"].to_numpy(),
                                     _seconds(w["ts"])):
                label = "outlier"
        elif ev["type"] == "gap":
            if cadence.get(ev["mmsi"], 0.0) >= SPARSE_H:
                label = "sparse_export"
            elif t1 > t0 and _covered(t0, t1, holes) >= HOLE_SHARE * (t1 - t0):
                label = "file_hole"
        elif ev["type"] == "encounter" and ev["other_mmsi"] is not None:
            label = "moored" if _moored(by_mmsi, ev, t0, t1) else None
        out.append(label)
    classified = events.with_columns(false_by=pl.Series(out, dtype=pl.String))
    return _fragments(classified, pos)


def _moored(by_mmsi: dict[Any, pl.DataFrame], ev: dict[str, Any], t0: float,
            t1: float) -> bool:
    for m in (ev["mmsi"], ev["other_mmsi"]):
        g = by_mmsi.get(m)
        if g is None:
            return False
        g = g.filter(pl.col("ts").dt.epoch("us").is_between(int(t0 * 1e6), int(t1 * 1e6)))
        if g.height == 0:
            return False
        lat, lon = g["lat"].to_numpy(), g["lon"].to_numpy()
        here = haversine_km(lat, lon, ev["lat"], ev["lon"]) <= NEAR_EVENT_KM
        if not here.any():
            return False
        lat, lon = lat[here], lon[here]
        far = haversine_km(lat, lon, np.median(lat), np.median(lon)) * 1000.0
        if np.quantile(far, STATIONARY_SHARE) > STATIONARY_M:
            return False
    shore = distance_to_shore_km(np.array([ev["lat"]]), np.array([ev["lon"]]))[0]
    return bool(shore <= NEAR_SHORE_KM)


def _where(events: pl.DataFrame, positions: pl.DataFrame, at: str) -> pl.DataFrame:
    """``(lat, lon)`` of each event's vessel at its ``at`` time: its last report then or
    before (null when none)."""
    keys = events.select(pl.col("mmsi").cast(pl.Int64), pl.col(at).alias("ts")).with_row_index()
    if positions.height == 0:
        return keys.select(lat=pl.lit(None, pl.Float64), lon=pl.lit(None, pl.Float64))
    reports = positions.select(pl.col("mmsi").cast(pl.Int64), "ts", "lat", "lon").sort("ts")
    found = keys.sort("ts").join_asof(reports, on="ts", by="mmsi", strategy="backward",
                                      check_sortedness=False)  # both sorted by ts above
    return found.sort("index").select("lat", "lon")


def _fragments(events: pl.DataFrame, positions: pl.DataFrame) -> pl.DataFrame:
    """Mark as ``fragment`` the alerts of an episode after its first (see
    :data:`EPISODE_H` and :data:`EPISODE_KM`), unless another category already explains
    them."""
    begin = _where(events, positions, "start")
    finish = _where(events, positions, "end")
    key = pl.struct("type", "mmsi", pl.col("other_mmsi").fill_null(-1))
    prev = events.with_columns(_lat1=finish["lat"], _lon1=finish["lon"]).select(
        gap=pl.col("start") - pl.col("end").shift(1).over(key, order_by="start"),
        lat=pl.col("_lat1").shift(1).over(key, order_by="start"),
        lon=pl.col("_lon1").shift(1).over(key, order_by="start"),
    )
    km = haversine_km(begin["lat"].to_numpy(), begin["lon"].to_numpy(),
                      prev["lat"].to_numpy(), prev["lon"].to_numpy())
    far = np.nan_to_num(km, nan=0.0) >= EPISODE_KM  # an unknown place is not another one
    frag = (events["type"].is_in(EPISODE_TYPES) & prev["gap"].is_not_null()
            & (prev["gap"] < timedelta(hours=EPISODE_H))
            & ~(events["type"].is_in(PLACE_TYPES) & pl.Series(far)))
    return events.with_columns(
        false_by=pl.when(pl.col("false_by").is_null() & frag).then(pl.lit("fragment"))
        .otherwise(pl.col("false_by")))


# -- census ------------------------------------------------------------------------------------
def census(chosen: Iterable[Capture], *, on_capture: Callable[[str, float], None] | None = None
           ) -> pl.DataFrame:
    """One row per capture and event type: ``alerts`` and the false ones per category (a
    capture without alerts gets one row of type ``-``)."""
    rows = []
    for capture in chosen:
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="seawatch-real-") as tmp:
            events, positions = run_capture(capture, Path(tmp))
        labelled = classify(events, positions)
        if labelled.height == 0:  # listed all the same: the capture was run
            rows.append({"capture": capture.name, "type": "-", "alerts": 0,
                         **dict.fromkeys(CATEGORIES, 0)})
        for (typ,), g in labelled.group_by("type", maintain_order=True):
            counts = dict(g.group_by("false_by").len().drop_nulls().iter_rows())
            rows.append({"capture": capture.name, "type": typ, "alerts": g.height,
                         **{c: int(counts.get(c, 0)) for c in CATEGORIES}})
        if on_capture:
            on_capture(capture.name, time.perf_counter() - started)
    schema_ = {"capture": pl.String, "type": pl.String, "alerts": pl.Int64,
               **{c: pl.Int64 for c in CATEGORIES}}
    return pl.DataFrame(rows, schema=schema_)


def show(table: pl.DataFrame) -> None:
    width = max([len("capture"), *(len(c) for c in table["capture"])]) + 2
    head = f"{'capture':<{width}}{'type':<17}{'alerts':>7}" + "".join(
        f"{c:>14}" for c in CATEGORIES)
    print(head)
    for r in table.iter_rows(named=True):
        print(f"{r['capture']:<{width}}{r['type']:<17}{r['alerts']:>7}"
              + "".join(f"{r[c]:>14}" for c in CATEGORIES))
    total = table.select(pl.col("alerts", *CATEGORIES).sum()).row(0, named=True)
    print(f"{'total':<{width}}{'':<17}{total['alerts']:>7}"
          + "".join(f"{total[c]:>14}" for c in CATEGORIES))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--only", nargs="+", help="captures whose name contains one of these")
    ap.add_argument("--json", type=Path, help="write the table here")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"no shared data at {args.data}", file=sys.stderr)
        return 2
    chosen = [c for c in captures(args.data)
              if not args.only or any(s in c.name for s in args.only)]

    def note(name: str, seconds: float) -> None:
        print(f"  {name}: {seconds:.1f} s", file=sys.stderr)

    table = census(chosen, on_capture=note)
    show(table)
    if args.json:
        args.json.write_text(json.dumps(table.to_dicts(), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
