"""Detection quality: ``seawatch eval`` of the detectors on simulated scenarios of several seeds.

For each seed a scenario is simulated (``write_scenario``, noise on: jitter, reception range,
satellite passes, duplicates, garbled lines), its NMEA is ingested into a new store exactly as
``seawatch ingest`` does, every detector runs with its defaults and the scenario's zones and
ports (``detect_store``, what ``seawatch detect --zones --ports`` runs; with the messy
profile's ``installations.geojson`` as ``--installations``), and the events are
scored against the scenario's truth with the matching rule of ``seawatch eval`` (same type,
same vessel or pair, spans overlapping with one hour of slack, one to one). Hard negatives are
in every scenario and are not in the truth, so a detection of one counts as a false positive.

The seeds are not used anywhere else (no detector parameter was tuned on them); pass others
with ``--seeds``. Prints one table per seed and the totals per type over all seeds, then, over
all seeds, the truth events found per planted behaviour (e.g. encounters after sailing in
company apart from plain transshipments) and the hard negatives detected per kind (each one a
false alarm), and exits non-zero when a type's pooled F1 is below ``--min-f1``.

Profiles (``--profiles``, docs/sim.md's messy profile): ``clean`` (the scenario above),
``each`` (one run per artefact of the messy profile, alone at its default strength),
``messy`` (every artefact of the messy profile together) and ``identity`` (the identity
artefact: identity changers, watchlisted vessels and their look-alikes, invalid MMSIs, type
liars; its ``watchlist.csv`` is given to detection as ``seawatch detect --watchlist``
would). A messy scenario's NMEA files (several, when the
capture has holes) and its daily export are ingested into one store, as a user would; its
negatives carry a ``reason`` (``outlier``, ``clock``, ``file_hole``, ...), and the false
alerts (those matching no truth event) that hit a negative are counted per reason (an alert
hits every negative of its type and vessel or pair whose span it overlaps, with the same hour
of slack; a shared identity's episode is in the truth, so its first alert is a true one and
only the others count). Prints, per profile, the
pooled F1 per type, then a table of F1 per type and profile and one of alerts on negatives
per reason and profile; exits non-zero when a type's pooled F1 is below ``--min-f1`` on the
clean profile or ``--min-f1-messy`` on another.

Run: ``python bench/quality.py [--seeds 3 17 29 41 53] [--hours 36] [--vessels 400]
[--profiles clean each messy] [--json scores.json]``.
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
from seawatch.geo.installations import load_installations
from seawatch.share.watchlists import file_entries
from seawatch.sim import write_scenario
from seawatch.sim.artefacts import ARTEFACTS, PROFILES
from seawatch.sim.scenario import nmea_files
from seawatch.store import Store

SLACK = timedelta(hours=1)
"""The matching slack of ``seawatch eval``."""


def profiles(names: list[str]) -> list[tuple[str, dict[str, float]]]:
    """(name, artefacts) of each run: ``clean``, ``each`` (one per artefact), ``messy``."""
    out: list[tuple[str, dict[str, float]]] = []
    for name in names:
        if name == "clean":
            out.append(("clean", {}))
        elif name == "each":
            out += [(a, {a: ARTEFACTS[a].default}) for a in PROFILES["messy"]]
        elif name == "messy":
            out.append(("messy", {a: ARTEFACTS[a].default for a in PROFILES["messy"]}))
        elif name in ARTEFACTS:
            out.append((name, {name: ARTEFACTS[name].default}))
        else:
            raise SystemExit(f"unknown profile {name!r}: clean, each, messy or an artefact "
                             f"({', '.join(ARTEFACTS)})")
    return out


def run_seed(seed: int, hours: float, vessels: int, work: Path,
             artefacts: dict[str, float] | None = None
             ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, dict]:
    """Simulate, ingest, detect and score one seed; return (scores per type, found per
    behaviour, alerts on negatives per reason, timings)."""
    t0 = time.perf_counter()
    paths = write_scenario(work / "scenario", seed=seed, hours=hours, vessels=vessels, csv=False,
                           artefacts=artefacts or None)
    t1 = time.perf_counter()
    store = Store(work / "store")
    inputs = nmea_files(paths) + ([paths["export"]] if "export" in paths else [])
    store.ingest(inputs)
    t2 = time.perf_counter()
    # the platforms a user would declare (the messy profile's installations.geojson)
    fixed = load_installations(paths["installations"]) if "installations" in paths else None
    # the generated watchlist a user would import (the identity profile's watchlist.csv)
    listed = file_entries(paths["watchlist"]) if "watchlist" in paths else None
    events = detect_store(store, zones=load_zones(paths["zones"]), ports=load_ports(paths["ports"]),
                          installations=fixed, watchlists=listed)
    t3 = time.perf_counter()
    truth = evaluate.read_events(paths["truth"])
    negatives = pl.read_parquet(paths["negatives"])
    scores = evaluate.score(truth, events, SLACK)
    found = pl.concat([behaviours(truth, events, "scenario", "truth"),
                       behaviours(negatives, events, "negative", "negative")])
    positions = json.loads(paths["scenario"].read_text())["counts"].get("positions_written")
    true_alerts = evaluate.match(truth, events, SLACK)["pred_idx"].to_list()
    false_alerts = events.with_row_index("i").filter(~pl.col("i").is_in(true_alerts))
    return scores, found, on_negatives(negatives, false_alerts.drop("i")), {
        "simulate_s": t1 - t0, "ingest_s": t2 - t1, "detect_s": t3 - t2,
        "positions": positions}


def on_negatives(negatives: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """False alerts (``events``: those matching no truth event) that hit a negative, per type
    and ``reason`` (``planted`` for the clean hard negatives): every alert of the negative's
    type and vessel or pair overlapping its span (with :data:`SLACK`) counts. (A shared
    identity's episode is in the truth: its first alert matches it, the others count.) The
    false alerts that hit no negative are counted under the reason ``none``."""
    schema = {"type": pl.String, "reason": pl.String, "negatives": pl.UInt32,
              "alerts": pl.Int64}
    ev = evaluate._key(events).with_row_index("e").select("e", "type", "_k1", "_k2", "start",
                                                           "end")
    neg = evaluate._key(negatives).with_row_index("i").with_columns(
        reason=pl.col("details").str.json_path_match("$.reason").fill_null("planted"))
    pairs = (neg.join(ev, on=["type", "_k1", "_k2"], how="inner", nulls_equal=True,
                      suffix="_e")
             .filter((pl.col("start_e") <= pl.col("end") + SLACK)
                     & (pl.col("end_e") >= pl.col("start") - SLACK)))
    hits = pairs.group_by("i").len("n")
    per_reason = (neg.join(hits, on="i", how="left")
                  .with_columns(alerts=pl.col("n").fill_null(0).cast(pl.Int64))
                  .group_by("type", "reason")
                  .agg(pl.len().alias("negatives"), pl.col("alerts").sum()))
    unexplained = (ev.filter(~pl.col("e").is_in(pairs["e"].implode()))
                   .group_by("type").agg(pl.len().cast(pl.Int64).alias("alerts"))
                   .with_columns(reason=pl.lit("none"), negatives=pl.lit(0, pl.UInt32)))
    return (pl.concat([per_reason.cast(schema),
                       unexplained.select(list(schema)).cast(schema)])
            .sort("type", "reason"))


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


def show_matrix(title: str, rows: pl.DataFrame, key: list[str], value: str,
                columns: list[str], fmt: str) -> None:
    """One line per ``key``, one column per profile."""
    print(f"\n{title}")
    width = max(9, *(len(c) + 2 for c in columns))
    print("".join(f"{k:<16}" for k in key) + "".join(f"{c:>{width}}" for c in columns))
    table = rows.pivot(on="profile", index=key, values=value).sort(key)
    for row in table.iter_rows(named=True):
        cells = ["-" if row.get(c) is None else format(row[c], fmt) for c in columns]
        print("".join(f"{row[k]:<16}" for k in key) + "".join(f"{c:>{width}}" for c in cells))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[3, 17, 29, 41, 53])
    ap.add_argument("--hours", type=float, default=36.0)
    ap.add_argument("--vessels", type=int, default=400)
    ap.add_argument("--profiles", nargs="+", default=["clean"],
                    help="clean, each (every artefact alone), messy (all), or artefact names")
    ap.add_argument("--min-f1", type=float, default=0.95)
    ap.add_argument("--min-f1-messy", type=float, default=0.9)
    ap.add_argument("--json", type=Path, help="write per-seed and pooled scores here")
    args = ap.parse_args(argv)

    report: dict = {"hours": args.hours, "vessels": args.vessels, "profiles": {}}
    f1_rows, negative_rows, failing = [], [], []
    runs = profiles(args.profiles)
    for name, artefacts in runs:
        per_seed, found, hit = [], [], []
        report["profiles"][name] = {"artefacts": artefacts, "seeds": {}}
        for seed in args.seeds:
            with tempfile.TemporaryDirectory(prefix=f"seawatch-quality-{seed}-") as tmp:
                scores, by_behaviour, on_neg, timing = run_seed(
                    seed, args.hours, args.vessels, Path(tmp), artefacts)
            per_seed.append(scores)
            found.append(by_behaviour)
            hit.append(on_neg)
            report["profiles"][name]["seeds"][seed] = {
                "timing": timing, "scores": scores.to_dicts(),
                "behaviours": by_behaviour.to_dicts(), "negatives": on_neg.to_dicts()}
            if len(runs) == 1:
                show(f"seed {seed}: {args.hours:g} h, {args.vessels} vessels, "
                     f"{timing['positions']:,} positions (simulate {timing['simulate_s']:.0f} s,"
                     f" ingest {timing['ingest_s']:.0f} s, detect {timing['detect_s']:.0f} s)",
                     scores)
        total = pooled(per_seed)
        negs = (pl.concat(hit).group_by("type", "reason")
                .agg(pl.col("negatives", "alerts").sum()).sort("type", "reason"))
        report["profiles"][name]["pooled"] = total.to_dicts()
        report["profiles"][name]["negatives"] = negs.to_dicts()
        show(f"profile {name}: seeds {', '.join(map(str, args.seeds))} pooled", total)
        if len(runs) == 1:
            print("\ntruth events found per planted behaviour, hard negatives detected (false "
                  "alarms), all seeds:")
            show_behaviours(found)
        f1_rows.append(total.select("type", "f1", pl.lit(name).alias("profile")))
        negative_rows.append(negs.with_columns(pl.lit(name).alias("profile")))
        floor = args.min_f1 if name == "clean" else args.min_f1_messy
        failing += [(name, t, floor) for t in total.filter(pl.col("f1") < floor)["type"]]
    names = [n for n, _ in runs]
    show_matrix("F1 per type and profile (pooled over the seeds)", pl.concat(f1_rows),
                ["type"], "f1", names, ".3f")
    negs = pl.concat(negative_rows)
    if negs.height:
        show_matrix("alerts on negatives per reason and profile (each one a false alarm)",
                    negs, ["type", "reason"], "alerts", names, "d")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
    if failing:
        print("\nF1 below the floor: " + ", ".join(f"{t} ({n} < {f:g})" for n, t, f in failing))
        return 1
    print(f"\nevery type: F1 >= {args.min_f1:g} (clean), >= {args.min_f1_messy:g} (others)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
