"""Dark-vessel events on simulated scenarios: what the gap envelopes raise, and whether it holds.

For each seed a scenario of the chosen profile (``clean`` or ``messy``, as
``bench/quality.py``) is simulated, ingested and run through every detector with its defaults
(``detect_store`` with the scenario's zones, ports and installations). Prints, per seed, the
gaps (with their median envelope area) and the ``dark_rendezvous``, ``loiter_gap_loiter``
and ``dark_near_encounter`` events, and how many of them rest on a planted gap (a truth
``gap`` event of the vessel overlapping the event's gap): the simulator plants no meeting
while dark, so a rendezvous of two vessels that did not both go dark by the scenario's
design is an alert an officer would clear for nothing.

Run: ``python bench/dark.py [--seeds 3 17] [--hours 36] [--vessels 400] [--profile messy]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.quality import profiles  # noqa: E402
from seawatch import evaluate  # noqa: E402
from seawatch.detect.run import detect_store  # noqa: E402
from seawatch.geo import load_ports, load_zones  # noqa: E402
from seawatch.geo.installations import load_installations  # noqa: E402
from seawatch.sim import write_scenario  # noqa: E402
from seawatch.sim.scenario import nmea_files  # noqa: E402
from seawatch.store import Store  # noqa: E402

DARK = ("dark_rendezvous", "loiter_gap_loiter", "dark_near_encounter")

VARIANTS: dict[str, dict[str, object]] = {
    "rdv_instant": {"max_apart_km": float("inf"), "max_apart_h": float("inf"),
                           "with_outages": True,
                           "min_meet_h": 0.0, "step_h": 0.25},
    "rdv_stay_2h": {"max_apart_km": float("inf"), "max_apart_h": float("inf"),
                        "with_outages": True},
    "rdv_together": {"with_outages": True},
}
"""``dark_rendezvous`` with its rules added one at a time (the last row is the defaults):
the time-sliced test at an instant (``min_meet_h`` 0), with a 2 h stay, with the vessels
going dark or coming back together; the defaults also leave out silences with an outage."""


def rendezvous_variants(events: pl.DataFrame) -> dict[str, int]:
    """How many ``dark_rendezvous`` each of :data:`VARIANTS` raises on the run's gaps."""
    from seawatch.detect.dark_rendezvous import DarkRendezvousParams, detect_dark_rendezvous
    from seawatch.detect.detector import Context

    context = Context(gaps=events.filter(pl.col("type") == "gap"))
    return {name: detect_dark_rendezvous(context, DarkRendezvousParams(**kw)).height  # type: ignore[arg-type]
            for name, kw in VARIANTS.items()}


def run(seed: int, hours: float, vessels: int, artefacts: dict[str, float], work: Path
        ) -> dict[str, object]:
    paths = write_scenario(work / "scenario", seed=seed, hours=hours, vessels=vessels,
                           csv=False, artefacts=artefacts or None)
    store = Store(work / "store")
    store.ingest(nmea_files(paths) + ([paths["export"]] if "export" in paths else []))
    fixed = load_installations(paths["installations"]) if "installations" in paths else None
    events = detect_store(store, zones=load_zones(paths["zones"]),
                          ports=load_ports(paths["ports"]), installations=fixed)
    truth = evaluate.read_events(paths["truth"])
    planted = truth.filter(pl.col("type") == "gap").select("mmsi", "start", "end")
    gaps = events.filter(pl.col("type") == "gap")
    details = gaps["details"].str.json_decode().struct.unnest() if gaps.height else None
    gap_ids = set()
    if gaps.height:
        hit = gaps.join(planted, on="mmsi", suffix="_t").filter(
            (pl.col("start") <= pl.col("end_t")) & (pl.col("start_t") <= pl.col("end")))
        gap_ids = set(hit["event_id"])
    out: dict[str, object] = {
        "seed": seed, "gaps": gaps.height, "gaps_planted": len(gap_ids),
        "median_envelope_km2": None if details is None
        else details["envelope_area_km2"].median(),
    }
    out.update(rendezvous_variants(events))
    for kind in DARK:
        found = events.filter(pl.col("type") == kind)
        members = found["details"].str.json_decode().struct.unnest() if found.height else None
        out[kind] = found.height
        if members is not None:
            cols = [c for c in ("gap_event_id", "other_gap_event_id") if c in members.columns]
            on_planted = members.select(
                pl.all_horizontal(pl.col(c).is_in(sorted(gap_ids)) for c in cols)).to_series()
            out[f"{kind}_on_planted_gaps"] = int(on_planted.sum())
            for row in found.iter_rows(named=True):
                print(f"  seed {seed} {kind}: {row['mmsi']} {row['other_mmsi']} "
                      f"{row['start']} -> {row['end']} {row['details']}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[3, 17])
    ap.add_argument("--hours", type=float, default=36.0)
    ap.add_argument("--vessels", type=int, default=400)
    ap.add_argument("--profile", default="messy")
    args = ap.parse_args(argv)
    (name, artefacts), = profiles([args.profile])
    rows = []
    for seed in args.seeds:
        with tempfile.TemporaryDirectory(prefix=f"seawatch-dark-{seed}-") as tmp:
            rows.append(run(seed, args.hours, args.vessels, artefacts, Path(tmp)))
    with pl.Config(tbl_cols=20, tbl_width_chars=200):
        print(f"profile {name}:")
        print(pl.DataFrame(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
