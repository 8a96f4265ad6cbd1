"""Detection quality: ``seawatch eval`` of the detectors on simulated scenarios of several seeds.

For each seed a scenario is simulated (``write_scenario``, noise on: jitter, reception range,
satellite passes, duplicates, garbled lines), its NMEA is ingested into a new store exactly as
``seawatch ingest`` does, every detector runs with its defaults and the scenario's zones and
ports (``detect_store``, what ``seawatch detect --zones --ports`` runs), and the events are
scored against the scenario's truth with the matching rule of ``seawatch eval`` (same type,
same vessel or pair, spans overlapping with one hour of slack, one to one). Hard negatives are
in every scenario and are not in the truth, so a detection of one counts as a false positive.

The seeds are not used anywhere else (no detector parameter was tuned on them); pass others
with ``--seeds``. Prints one table per seed and the totals per type over all seeds, then, over
all seeds, the truth events found per planted behaviour (e.g. encounters after sailing in
company apart from plain transshipments) and the hard negatives detected per kind (each one a
false alarm), and exits non-zero when a type's pooled F1 is below ``--min-f1``.

Run: ``python bench/quality.py [--seeds 3 17 29 41 53] [--hours 36] [--vessels 400]
[--json scores.json]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import polars as pl

from seawatch import evaluate
from seawatch.detect.run import detect_store
from seawatch.geo import load_ports, load_zones
from seawatch.sim import write_scenario
from seawatch.store import Store


def run_seed(seed: int, hours: float, vessels: int, work: Path
             ) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    """Simulate, ingest, detect and score one seed; return (scores per type, found per
    behaviour, timings)."""
    t0 = time.perf_counter()
    paths = write_scenario(work / "scenario", seed=seed, hours=hours, vessels=vessels, csv=False)
    t1 = time.perf_counter()
    store = Store(work / "store")
    store.ingest([paths["nmea"]])
    t2 = time.perf_counter()
    events = detect_store(store, zones=load_zones(paths["zones"]), ports=load_ports(paths["ports"]))
    t3 = time.perf_counter()
    truth = evaluate.read_events(paths["truth"])
    scores = evaluate.score(truth, events, timedelta(hours=1))
    found = pl.concat([behaviours(truth, events, "scenario", "truth"),
                       behaviours(pl.read_parquet(paths["negatives"]), events, "negative",
                                  "negative")])
    positions = json.loads(paths["scenario"].read_text())["counts"].get("positions_written")
    return scores, found, {"simulate_s": t1 - t0, "ingest_s": t2 - t1, "detect_s": t3 - t2,
                           "positions": positions}


def behaviours(reference: pl.DataFrame, events: pl.DataFrame, key: str, kind: str
               ) -> pl.DataFrame:
    """Per event type and behaviour (``details[key]``: the planted scenario of a truth event,
    ``"unplanted"`` for one nobody planted; the name of a hard negative), how many there are
    and how many a detection matches (the rule of ``seawatch eval``)."""
    matched = evaluate.match(reference, events, timedelta(hours=1))["truth_idx"].to_list()
    name = pl.col("details").str.json_path_match(f"$.{key}").fill_null("unplanted")
    return (reference.with_row_index("i").select(
                "type", name.alias("behaviour"), pl.col("i").is_in(matched).alias("hit"))
            .group_by("type", "behaviour").agg(pl.len().alias("n"), pl.col("hit").sum())
            .with_columns(pl.lit(kind).alias("kind")).sort("type", "behaviour"))


def pooled(per_seed: list[pl.DataFrame]) -> pl.DataFrame:
    """Counts summed over seeds per type, precision/recall/F1 recomputed from the sums."""
    total = (pl.concat(per_seed).group_by("type")
             .agg(pl.col("n_truth", "n_pred", "tp", "fp", "fn").sum()).sort("type"))
    p = pl.when(pl.col("n_pred") > 0).then(pl.col("tp") / pl.col("n_pred")).otherwise(
        pl.when(pl.col("n_truth") == 0).then(1.0).otherwise(0.0))
    r = pl.when(pl.col("n_truth") > 0).then(pl.col("tp") / pl.col("n_truth")).otherwise(
        pl.when(pl.col("n_pred") == 0).then(1.0).otherwise(0.0))
    total = total.with_columns(p.alias("precision"), r.alias("recall"))
    f1 = pl.when(pl.col("precision") + pl.col("recall") > 0).then(
        2 * pl.col("precision") * pl.col("recall") / (pl.col("precision") + pl.col("recall"))
    ).otherwise(0.0)
    return total.with_columns(f1.alias("f1"))


def show(title: str, scores: pl.DataFrame) -> None:
    print(f"\n{title}")
    print(f"{'type':<16}{'truth':>7}{'pred':>7}{'tp':>6}{'fp':>5}{'fn':>5}"
          f"{'precision':>11}{'recall':>8}{'F1':>7}")
    for row in scores.iter_rows(named=True):
        print(f"{row['type']:<16}{row['n_truth']:>7}{row['n_pred']:>7}{row['tp']:>6}"
              f"{row['fp']:>5}{row['fn']:>5}{row['precision']:>11.3f}{row['recall']:>8.3f}"
              f"{row['f1']:>7.3f}")


def show_behaviours(found: list[pl.DataFrame]) -> None:
    total = (pl.concat(found).group_by("kind", "type", "behaviour")
             .agg(pl.col("n", "hit").sum()).sort("kind", "type", "behaviour",
                                                  descending=[True, False, False]))
    print(f"\n{'':<9}{'type':<16}{'behaviour':<34}{'n':>6}{'detected':>10}")
    for row in total.iter_rows(named=True):
        print(f"{row['kind']:<9}{row['type']:<16}{row['behaviour']:<34}{row['n']:>6}"
              f"{row['hit']:>10}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[3, 17, 29, 41, 53])
    ap.add_argument("--hours", type=float, default=36.0)
    ap.add_argument("--vessels", type=int, default=400)
    ap.add_argument("--min-f1", type=float, default=0.95)
    ap.add_argument("--json", type=Path, help="write per-seed and pooled scores here")
    args = ap.parse_args(argv)

    per_seed, found = [], []
    report: dict = {"hours": args.hours, "vessels": args.vessels, "seeds": {}}
    for seed in args.seeds:
        with tempfile.TemporaryDirectory(prefix=f"seawatch-quality-{seed}-") as tmp:
            scores, by_behaviour, timing = run_seed(seed, args.hours, args.vessels, Path(tmp))
        per_seed.append(scores)
        found.append(by_behaviour)
        report["seeds"][seed] = {"timing": timing, "scores": scores.to_dicts(),
                                 "behaviours": by_behaviour.to_dicts()}
        show(f"seed {seed}: {args.hours:g} h, {args.vessels} vessels, "
             f"{timing['positions']:,} positions (simulate {timing['simulate_s']:.0f} s, "
             f"ingest {timing['ingest_s']:.0f} s, detect {timing['detect_s']:.0f} s)", scores)
    total = pooled(per_seed)
    report["pooled"] = total.to_dicts()
    show(f"all seeds ({', '.join(map(str, args.seeds))}) pooled", total)
    print("\ntruth events found per planted behaviour, hard negatives detected (false alarms)"
          ", all seeds:")
    show_behaviours(found)
    worst = total.filter(pl.col("f1") < args.min_f1)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
    if worst.height:
        print(f"\nF1 below {args.min_f1:g}: {', '.join(worst['type'].to_list())}")
        return 1
    print(f"\nevery type: F1 >= {args.min_f1:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
