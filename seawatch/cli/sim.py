"""``seawatch sim``: simulated traffic off Ecuador with planted behaviours and ground truth."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from seawatch.cli.common import console, err, sim_progress
from seawatch.cli.tables import print_table
from seawatch.errors import InvalidValue


def sim(
    out: Annotated[
        Path,
        typer.Option("--out", "-o", metavar="DIR", help="Directory to write the scenario to."),
    ],
    seed: Annotated[int, typer.Option(help="Seed: the same options give the same files.")] = 1,
    hours: Annotated[float, typer.Option(help="Hours of traffic to simulate.")] = 24.0,
    vessels: Annotated[int, typer.Option(help="Vessels at sea (planted ones included).")] = 500,
    start: Annotated[
        str | None,
        typer.Option(metavar="TIME",
                     help="Start of the period, ISO 8601 UTC (default: 2026-01-15T12:00:00Z)."),
    ] = None,
    noise: Annotated[
        bool,
        typer.Option("--noise/--no-noise",
                     help="Reception model, duplicates, GNSS jitter, shuffled and garbled lines."),
    ] = True,
    csv: Annotated[
        bool, typer.Option("--csv/--no-csv", help="Also write traffic.csv (MarineCadastre).")
    ] = True,
    thinning: Annotated[
        int, typer.Option(help="Stretch ITU-R M.1371 dynamic reporting intervals by this.")
    ] = 6,
    profile: Annotated[
        str,
        typer.Option(metavar="NAME",
                     help="clean (a well-run receiver network), messy (every artefact of "
                          "real feeds at its default strength) or identity (identity "
                          "changes, a watchlist and look-alikes; see docs/sim.md)."),
    ] = "clean",
    artefacts: Annotated[
        str | None,
        typer.Option(metavar="LIST",
                     help="Artefacts to add, comma-separated, each optionally =STRENGTH: "
                          "clock, duplicates, outliers, outage, file_holes, shared_identity, "
                          "sparse_export, moored, platform, identity (e.g. "
                          "clock=1800,outliers)."),
    ] = None,
) -> None:
    """Simulate traffic off Ecuador with planted behaviours and ground truth.

    Writes traffic.nmea, traffic.csv, zones.geojson, ports.csv, truth.parquet, truth.json,
    negatives.parquet and scenario.json into OUT; see docs/sim.md. With --profile messy or
    --artefacts, the artefacts of real feeds are laid over the traffic (file_holes writes
    traffic-1.nmea, traffic-2.nmea, ...; sparse_export adds traffic-daily.csv; platform adds
    installations.geojson) and negatives.parquet says which alerts must not appear.
    """
    import json

    from seawatch.units import parse_time

    if not hours > 0:
        raise InvalidValue(f"--hours must be positive, got {hours:g}")
    if vessels < 0:
        raise InvalidValue(f"--vessels must be zero or more, got {vessels}")
    if thinning < 1:
        raise InvalidValue(f"--thinning must be 1 or more, got {thinning}")
    if out.exists() and not out.is_dir():
        raise InvalidValue(f"--out {out} exists and is not a directory")
    from seawatch.sim import DEFAULT_START, write_scenario
    from seawatch.sim.artefacts import parse_artefacts

    chosen = parse_artefacts(artefacts, profile=profile)
    if chosen and not noise:
        raise InvalidValue("--profile messy and --artefacts need the reception model: "
                           "leave --noise on")

    begin = parse_time(start, "--start") if start is not None else DEFAULT_START
    started = time.perf_counter()
    console.print(f"[bold]seawatch sim[/]: {vessels} vessels, {hours:g} h from "
                  f"{begin.isoformat()}, seed {seed}, noise {'on' if noise else 'off'}"
                  + (f", artefacts {', '.join(chosen)}" if chosen else "") + f" -> {out}")
    with sim_progress() as on_progress:
        paths = write_scenario(out, seed, hours, vessels, start=begin, noise=noise,
                               thinning=thinning, csv=csv, on_progress=on_progress,
                               artefacts=chosen or None)
    doc = json.loads(paths["scenario"].read_text(encoding="utf-8"))
    counts = doc["counts"]
    table = Table(title=f"Scenario in {out}")
    table.add_column("what")
    table.add_column("count", justify="right")
    for key in ("tracks", "positions_written", "lines", "lines_garbled"):
        table.add_row(key.replace("_", " "), f"{counts.get(key, 0):,}")
    for typ, n in counts["truth"].items():
        planted = counts["truth_planted"].get(typ, 0)
        table.add_row(f"truth: {typ}", f"{n:,}" + (f" ({planted} planted)" if planted else ""))
    for typ, n in counts["negatives"].items():
        table.add_row(f"hard negatives: {typ}", f"{n:,}")
    for reason, n in counts.get("negatives_by_reason", {}).items():  # the messy profile
        table.add_row(f"must not alert: {reason}", f"{n:,}")
    print_table(table)
    for miss in counts.get("planted_missing", []):
        err.print(f"[yellow]warning:[/] planted {miss['type']} ({miss.get('name')}) not found "
                  "in the positions; it is not in the truth")
    console.print("files: " + ", ".join(p.name for p in paths.values()))
    console.print(f"done in {time.perf_counter() - started:.1f} s")
