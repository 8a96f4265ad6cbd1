"""Benchmark: how fast ``seawatch sim`` writes a scenario, and its peak memory.

For each size (1 M and 10 M positions a day; 50 M with ``--big``) a child process runs
``write_scenario`` (truth, NMEA and CSV written, noise on, full ITU reporting rates:
``--thinning 1``) for a day with as many vessels as that size needs, and reports wall time,
positions written per second and its peak resident memory (``ru_maxrss`` of the child, so
sizes do not share a high-water mark). The baseline is seawatch's own NMEA decoder
streaming the file just written (``iter_nmea``): the ratio says how many times faster than
it can be read back the scenario is generated, i.e. whether the simulator can keep up with
a benchmark of the decoder.

Run: ``python bench/sim.py [--big] [--thinning 1] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, resource, sys, time
from seawatch.sim import write_scenario
from seawatch.sim.world import world
world().shore_km([0.0], [-85.0])  # one-off index builds, not part of the rate
out, vessels, thinning = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
t = time.perf_counter()
paths = write_scenario(out, seed=1, hours=24.0, vessels=vessels, thinning=thinning)
seconds = time.perf_counter() - t
counts = json.load(open(paths["scenario"]))["counts"]
print(json.dumps({"seconds": seconds, "positions": counts["positions_written"],
                  "lines": counts["lines"], "tracks": counts["tracks"],
                  "nmea_bytes": __import__("os").path.getsize(paths["nmea"]),
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

DECODE = """
import json, sys, time
from seawatch.io.nmea import iter_nmea
t = time.perf_counter()
n = sum(r.positions.height for r in iter_nmea(sys.argv[1]))
print(json.dumps({"seconds": time.perf_counter() - t, "positions": n}))
"""


def _child(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True,
                         text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def calibrate(thinning: int) -> float:
    """Positions written per vessel-day (a 300-vessel day)."""
    with tempfile.TemporaryDirectory() as d:
        r = _child(CHILD, d, "300", str(thinning))
    return r["positions"] / 300.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--big", action="store_true", help="also a 50 M-position day")
    ap.add_argument("--thinning", type=int, default=1,
                    help="reporting-interval thinning (1: full ITU rates)")
    ap.add_argument("--keep", type=Path, help="write the scenarios here instead of a temp dir")
    args = ap.parse_args()
    sizes = [1_000_000, 10_000_000] + ([50_000_000] if args.big else [])
    per_vessel = calibrate(args.thinning)
    print(f"calibration: {per_vessel:,.0f} positions per vessel-day "
          f"(thinning {args.thinning}, noise on)")
    print(f"{'target':>11} {'vessels':>8} {'positions':>12} {'seconds':>8} {'pos/s':>10} "
          f"{'peak MB':>8} {'NMEA GB':>8} {'decode pos/s':>13} {'ratio':>6}")
    for size in sizes:
        vessels = max(50, round(size / per_vessel))
        with tempfile.TemporaryDirectory(dir=args.keep) as d:
            t = time.perf_counter()
            r = _child(CHILD, d, str(vessels), str(args.thinning))
            wall = time.perf_counter() - t
            dec = _child(DECODE, str(Path(d) / "traffic.nmea"))
        rate = r["positions"] / r["seconds"]
        drate = dec["positions"] / dec["seconds"]
        print(f"{size:>11,} {vessels:>8,} {r['positions']:>12,} {r['seconds']:>8.1f} "
              f"{rate:>10,.0f} {r['maxrss_mb']:>8.0f} {r['nmea_bytes'] / 1e9:>8.2f} "
              f"{drate:>13,.0f} {rate / drate:>6.2f}", flush=True)
        del wall


if __name__ == "__main__":
    main()
