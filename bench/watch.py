"""Watch-list precision: do the planted offenders of the messy simulator rank first?

For each seed a messy scenario is simulated, ingested and detected exactly as
``bench/quality.py --profiles messy`` does (``run`` below); the events are ranked by
:func:`seawatch.risk.vessel_risk` (default weights), over the whole scenario and per UTC day
(:func:`seawatch.risk.watch_list`). An *offender* is a vessel of a truth event that a planted
behaviour produced (``details.planted``) of a type whose weight is above 0 (encounters,
loitering, gaps, fishing in a closed zone, spoofing, ...; plain zone crossings and port
visits are ordinary traffic). Precision@K is the share of the K highest-risk vessels that
are offenders (K = 20, or fewer when fewer vessels have any risk), and the number of
offenders is printed beside it (the best precision@K possible is min(1, offenders / K)),
with, as a baseline over the whole scenario, the precision@K of the vessels ordered by their
number of events of any type.

Profiles: ``messy`` (every artefact of the messy profile) and ``messy+identity`` (with the
identity artefact too: identity changers, watchlisted vessels and their look-alikes, invalid
MMSIs, type liars, its ``watchlist.csv`` given to detection).

Run: ``python bench/watch.py [--seeds 41 53] [--hours 36] [--vessels 400] [--top 20]
[--profiles messy messy+identity]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import polars as pl

from seawatch import evaluate
from seawatch.detect.run import detect_store
from seawatch.geo import load_ports, load_zones
from seawatch.geo.installations import load_installations
from seawatch.risk import RiskParams, vessel_risk, watch_list
from seawatch.share.watchlists import file_entries
from seawatch.sim import write_scenario
from seawatch.sim.artefacts import ARTEFACTS, PROFILES
from seawatch.sim.scenario import nmea_files
from seawatch.store import Store


def offenders(truth: pl.DataFrame, params: RiskParams) -> set[int]:
    """Vessels of planted truth events of a type that weighs in the risk."""
    weighed = [t for t, w in params.weights().items() if w > 0]
    planted = truth.filter(
        pl.col("type").is_in(weighed)
        & pl.col("details").str.json_path_match("$.planted").eq("true"))
    ids = pl.concat([planted["mmsi"], planted["other_mmsi"].drop_nulls()])
    return set(ids.to_list())


def precision(ranked: pl.DataFrame, bad: set[int], top: int) -> tuple[float, int]:
    head = ranked.head(top)["mmsi"].to_list()
    return (sum(m in bad for m in head) / len(head) if head else float("nan")), len(head)


def run(seed: int, hours: float, vessels: int, work: Path,
        profile: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    names = PROFILES["messy"] + (PROFILES["identity"] if profile == "messy+identity" else ())
    artefacts = {a: ARTEFACTS[a].default for a in names}
    paths = write_scenario(work / "scenario", seed=seed, hours=hours, vessels=vessels,
                           csv=False, artefacts=artefacts)
    store = Store(work / "store")
    store.ingest(nmea_files(paths) + ([paths["export"]] if "export" in paths else []))
    fixed = load_installations(paths["installations"]) if "installations" in paths else None
    listed = file_entries(paths["watchlist"]) if "watchlist" in paths else None
    events = detect_store(store, zones=load_zones(paths["zones"]),
                          ports=load_ports(paths["ports"]), installations=fixed,
                          watchlists=listed)
    return events, evaluate.read_events(paths["truth"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[41, 53])
    ap.add_argument("--hours", type=float, default=36.0)
    ap.add_argument("--vessels", type=int, default=400)
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--profiles", nargs="+", default=["messy"],
                    choices=["messy", "messy+identity"],
                    help="messy (docs/sim.md), or with the identity artefact and its "
                    "watchlist.csv as well")
    args = ap.parse_args(argv)
    params = RiskParams()
    rows = []
    for profile, seed in [(p, s) for p in args.profiles for s in args.seeds]:
        with tempfile.TemporaryDirectory(prefix=f"seawatch-watch-{seed}-") as tmp:
            events, truth = run(seed, args.hours, args.vessels, Path(tmp), profile)
        bad = offenders(truth, params)
        ranked = vessel_risk(events, params)
        p, k = precision(ranked, bad, args.top)
        # the baseline: vessels by their number of events of any type (what a list of every
        # event, EEZ crossings included, puts first)
        counted = pl.concat([events["mmsi"], events["other_mmsi"].drop_nulls()]).value_counts(
            sort=True).sort(["count", "mmsi"], descending=[True, False])
        base, _ = precision(counted, bad, args.top)
        rows.append({"profile": profile, "seed": seed, "window": "all", "offenders": len(bad),
                     "at_risk": ranked.height, "k": k, "precision": p,
                     "by_event_count": base})
        days = events["start"].dt.date().unique().sort().to_list()
        for day in days:
            daily, _ = watch_list(events, day, None, params)
            p, k = precision(daily, bad, args.top)
            rows.append({"profile": profile, "seed": seed, "window": str(day),
                         "offenders": len(bad), "at_risk": daily.height, "k": k, "precision": p,
                         "by_event_count": None})
        misses = ranked.head(args.top).filter(~pl.col("mmsi").is_in(sorted(bad)))
        for r in misses.to_dicts():
            why = ", ".join(f"{b['signal']} {b['contribution']:.2f}" for b in r["breakdown"])
            print(f"seed {seed}: not planted in the top {args.top}: {r['mmsi']} "
                  f"risk {r['risk']:.3f} ({why})")
    table = pl.DataFrame(rows)
    with pl.Config(tbl_rows=-1, tbl_cols=-1):
        print(table)
    print(json.dumps(rows, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
