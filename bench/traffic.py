"""Benchmark: how long the traffic picture (``seawatch traffic build``) takes to build.

Times :func:`seawatch.traffic.density.build_store_picture` over a store's positions (read
in chunks of whole vessels, H3 index of every position, counts per cell and type group),
and, on its own, the H3 indexing (:func:`seawatch.traffic.density.cells_of`: h3 4.x has no
call over arrays, so it is h3's ``latlng_to_cell`` mapped over the coordinates). Prints
positions per second and the time a 50 M-position day would take **extrapolated linearly**
from that rate (not measured at 50 M: the machine the figure was taken on is named with it
in docs/benchmarks.md).

Run: ``python bench/traffic.py STORE [--resolution 6] [--runs 3]`` on a store made, for
instance, with ``seawatch sim --vessels 1500 --hours 24 --thinning 1 --out DIR`` and
``seawatch ingest --store STORE DIR/traffic.nmea``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

TARGET = 50_000_000
"""Positions of the day the issue's target names (50 M in under 5 minutes)."""


def main() -> None:
    from seawatch.store import Store
    from seawatch.traffic.density import build_store_picture, cells_of

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("store", type=Path)
    ap.add_argument("--resolution", type=int, default=6)
    ap.add_argument("--runs", type=int, default=3, help="timed runs (best kept)")
    args = ap.parse_args()
    store = Store(args.store, create=False)
    best = float("inf")
    picture = None
    for _ in range(args.runs):
        t = time.perf_counter()
        picture = build_store_picture(store, args.resolution)
        best = min(best, time.perf_counter() - t)
    assert picture is not None
    positions = store.positions().select("lat", "lon").collect()
    lat, lon = positions["lat"].to_numpy(), positions["lon"].to_numpy()
    t = time.perf_counter()
    cells_of(lat, lon, args.resolution)
    h3_s = time.perf_counter() - t
    rate = picture.positions / best
    print(json.dumps({
        "positions": picture.positions,
        "cells": picture.cells.height,
        "hours": round(picture.hours, 2),
        "resolution": args.resolution,
        "build_s": round(best, 3),
        "positions_per_s": round(rate),
        "h3_positions_per_s": round(positions.height / h3_s),
        "extrapolated_50M_s": round(TARGET / rate, 1),
        "group_vessels": picture.group_vessels,
    }))


if __name__ == "__main__":
    main()
