"""Benchmark: track splitting and stop detection of seawatch against MovingPandas, and
ingest + detect of a large simulated day with its peak memory.

Part A puts the same simulated positions (``seawatch.sim.simulate``, noise off, about 1 M) through
seawatch and through the equivalent MovingPandas steps, the baseline a Python user has today:

- split by observation gap: ``ObservationGapSplitter(tc).split(gap=12 h)`` against seawatch
  ``segment`` + ``detect_gaps`` (gap events of more than 12 h);
- split by speed: ``SpeedSplitter(tc).split(speed=0, duration=24 h, max_speed=25 kn)`` (drop
  positions whose speed from the previous one is over 25 kn, split at 24 h without a position)
  against seawatch ``segment`` (implied-speed split at 25 kn, new segment after 24 h);
- stop detection: ``TrajectoryStopDetector(tc).get_stop_segments(max_diameter=7,408 m,
  min_duration=2 h)`` (7,408 m = 2 kn for 2 h) against seawatch ``detect_loitering`` on the
  segmented table (runs under 2 kn for at least 2 h, with distance to shore and port for each
  position of a run; the encounter check is skipped and no vessel is excluded by type).

MovingPandas works on a ``TrajectoryCollection`` built from a GeoDataFrame; building it is
part of what a user pays, so its totals are given with and without it. MovingPandas handles a
few thousand points per second, so by default it gets a random subset of whole vessels
(``--mp-points``) and its times are scaled linearly to the full data (the output says so).

Part B writes a simulated day of ``--big`` positions to NMEA files (in blocks of vessels, so
memory stays bounded; ``--nmea-dir`` keeps them for later runs), and the same lines
concatenated into one file. Then, for the many files and for the one file (``--inputs``), a
child process ingests them into a new store (``Store.ingest``, what ``seawatch ingest``
runs) and runs ``detect_store`` (what ``seawatch detect`` runs, in chunks of
``--chunk-positions``), and reports the wall time of each step and the child's peak resident
memory of each phase: the ingest, then the detection alone (the peak is reset in between
where Linux allows it, ``/proc/self/clear_refs``; otherwise the second figure is the peak of
both). Writing the files is a phase too (the parent's peak). The script exits non-zero,
saying which, when a phase peaks above ``--max-rss`` MB or a child does not finish.

Run: ``python bench/detect.py [--vessels 870] [--mp-points 200000] [--big 5000000]``
(``--skip-a --big 50000000`` for the 50 M-position figures; ``--big 0`` skips part B,
``--skip-a`` part A). Needs ``movingpandas`` (the ``bench`` extra) for part A.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

KN_MS = 1852.0 / 3600.0
"""One knot in metres per second."""
GAP = timedelta(hours=12)
"""Observation gap: seawatch ``detect_gaps(min_gap_h=12)`` default, GFW pipe-gaps."""
MAX_SPEED_KN = 25.0
"""Implied-speed split: seawatch ``segment(max_speed_kn=25)`` default, GFW gpsdio-segment."""
SEGMENT_GAP = timedelta(hours=24)
"""A segment ends after this long without a position: seawatch ``segment(max_gap_h=24)``."""
STOP_DURATION = timedelta(hours=2)
"""Stop / loitering minimum duration: seawatch ``detect_loitering(min_duration="2h")``."""
STOP_DIAMETER_M = 2.0 * KN_MS * STOP_DURATION.total_seconds()
"""The farthest a vessel under 2 kn gets in 2 h (7,408 m): MovingPandas' stop diameter."""


def simulate(seed: int, hours: float, vessels: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Noise-free positions and identity reports of a simulated scenario."""
    from seawatch.sim import simulate as simulate_scenario

    s = simulate_scenario(seed=seed, hours=hours, vessels=vessels, noise=False)
    return s.positions, s.vessels


def timed(func: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = func()
    return time.perf_counter() - start, out


# --------------------------------------------------------------------------------------------
# Part A: seawatch against MovingPandas on the same positions


def bench_seawatch(positions: pl.DataFrame, runs: int) -> tuple[dict[str, float], dict[str, int]]:
    """Best-of-``runs`` seconds of segment, detect_gaps, detect_loitering; and their counts."""
    from seawatch.detect.gap import detect_gaps
    from seawatch.detect.loitering import detect_loitering
    from seawatch.tracks import segment

    no_encounters = pl.DataFrame()
    # warm-up: numba compiles or loads its cache, shore and port indexes load
    small = segment(positions.head(20_000))
    detect_gaps(small)
    detect_loitering(small, encounters=no_encounters)

    best: dict[str, float] = {}
    counts: dict[str, int] = {}
    for _ in range(runs):
        t_seg, segmented = timed(lambda: segment(positions))
        t_gap, gaps = timed(lambda: detect_gaps(segmented))  # noqa: B023 (called at once)
        t_loit, loit = timed(
            lambda: detect_loitering(segmented, encounters=no_encounters)  # noqa: B023
        )
        for key, value in (("segment", t_seg), ("gaps", t_gap), ("loitering", t_loit)):
            best[key] = min(best.get(key, float("inf")), value)
        counts = {
            "segments": segmented["segment_id"].n_unique(),
            "gaps": gaps.height,
            "loitering": loit.height,
        }
    return best, counts


def mp_subset(positions: pl.DataFrame, points: int, seed: int = 0) -> pl.DataFrame:
    """Whole vessels, in random order, until at least ``points`` positions (all if fewer)."""
    if points >= positions.height:
        return positions
    sizes = positions.group_by("mmsi").len().sort("mmsi")
    order = np.random.default_rng(seed).permutation(sizes.height)
    cum = np.cumsum(sizes["len"].to_numpy()[order])
    take = order[: int(np.searchsorted(cum, points)) + 1]
    keep = sizes["mmsi"].to_numpy()[take].tolist()
    return positions.filter(pl.col("mmsi").is_in(keep))


def bench_movingpandas(positions: pl.DataFrame) -> tuple[dict[str, float], dict[str, int]]:
    """Seconds of each MovingPandas step on ``positions`` (one run), and their counts."""
    import geopandas as gpd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the optional Stone Soup smoother is not needed
        import movingpandas as mpd

    # naive UTC times, as MovingPandas asks (it drops the time zone with a warning otherwise)
    frame = positions.select(
        "mmsi", pl.col("ts").dt.replace_time_zone(None), "lat", "lon", "sog"
    ).to_pandas()
    t_gdf, gdf = timed(
        lambda: gpd.GeoDataFrame(
            frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs="EPSG:4326"
        )
    )
    t_tc, tc = timed(lambda: mpd.TrajectoryCollection(gdf, traj_id_col="mmsi", t="ts"))
    t_gap, gaps = timed(lambda: mpd.ObservationGapSplitter(tc).split(gap=GAP))
    t_speed, speed = timed(
        lambda: mpd.SpeedSplitter(tc).split(
            speed=0.0, duration=SEGMENT_GAP, max_speed=MAX_SPEED_KN * KN_MS
        )
    )
    t_stop, stops = timed(
        lambda: mpd.TrajectoryStopDetector(tc).get_stop_segments(
            max_diameter=STOP_DIAMETER_M, min_duration=STOP_DURATION
        )
    )
    seconds = {
        "geodataframe": t_gdf,
        "collection": t_tc,
        "gaps": t_gap,
        "speed": t_speed,
        "stops": t_stop,
    }
    counts = {
        "trajectories": len(tc),
        "gap_pieces": len(gaps),
        "speed_pieces": len(speed),
        "stops": len(stops),
    }
    return seconds, counts


def part_a(args: argparse.Namespace) -> None:
    t_sim, (positions, _) = timed(lambda: simulate(args.seed, args.hours, args.vessels))
    n = positions.height
    print(
        f"part A: simulate(seed={args.seed}, hours={args.hours:g}, "
        f"vessels={args.vessels}) = {n:,} positions of {positions['mmsi'].n_unique():,} "
        f"MMSIs ({t_sim:.1f} s)"
    )

    sw, sw_counts = bench_seawatch(positions, args.runs)
    subset = mp_subset(positions.sort("mmsi", "ts"), args.mp_points)
    m = subset.height
    scale = n / m
    print(
        f"MovingPandas on {m:,} positions of {subset['mmsi'].n_unique():,} MMSIs"
        + (f" (random whole vessels), times scaled x{scale:.2f} to {n:,}" if m < n else "")
    )
    mp_raw, mp_counts = bench_movingpandas(subset)
    mp = {k: v * scale for k, v in mp_raw.items()}

    print(f"seawatch counts: {sw_counts}")
    print(f"MovingPandas counts (subset): {mp_counts}")
    print(f"MovingPandas GeoDataFrame from pandas: {mp['geodataframe']:.2f} s (not counted)")
    rows = [
        (
            "split by gap",
            sw["segment"] + sw["gaps"],
            "segment + detect_gaps",
            mp["gaps"],
            "ObservationGapSplitter",
        ),
        ("split by speed", sw["segment"], "segment", mp["speed"], "SpeedSplitter"),
        (
            "stop detection",
            sw["loitering"],
            "detect_loitering",
            mp["stops"],
            "TrajectoryStopDetector",
        ),
    ]
    sw_total = sw["segment"] + sw["gaps"] + sw["loitering"]
    mp_steps = mp["gaps"] + mp["speed"] + mp["stops"]
    print(f"\n{'step':<32}{'seawatch':>20}{'MovingPandas':>22}{'ratio':>9}")
    for name, s, s_what, p, p_what in rows:
        print(
            f"{name:<16}{'':16}{s:>8.2f} s {n / s / 1e6:>6.2f} M/s"
            f"{p:>10.1f} s {n / p / 1e3:>6.1f} k/s{p / s:>8.0f}x"
        )
        print(f"  {s_what} vs {p_what}")
    print(
        f"{'all three, without collection':<32}{sw_total:>8.2f} s {n / sw_total / 1e6:>6.2f} M/s"
        f"{mp_steps:>10.1f} s {n / mp_steps / 1e3:>6.1f} k/s{mp_steps / sw_total:>8.0f}x"
    )
    with_tc = mp_steps + mp["collection"]
    print(
        f"{'all three, with collection':<32}{sw_total:>8.2f} s {n / sw_total / 1e6:>6.2f} M/s"
        f"{with_tc:>10.1f} s {n / with_tc / 1e3:>6.1f} k/s{with_tc / sw_total:>8.0f}x"
    )
    print(
        f"(seawatch: segment {sw['segment']:.2f} s, detect_gaps {sw['gaps']:.2f} s, "
        f"detect_loitering {sw['loitering']:.2f} s, best of {args.runs}; MovingPandas: "
        f"TrajectoryCollection {mp['collection']:.1f} s, one run; target ratio >= 100x)"
    )


# --------------------------------------------------------------------------------------------
# Part B: ingest + detect of a large simulated day


def write_day(
    directory: Path, target: int, block_vessels: int, hours: float
) -> tuple[list[Path], int, int]:
    """NMEA files of one simulated period, ``block_vessels`` vessels each, >= ``target`` positions.

    Each block is its own noise-free ``simulate`` run (seed 1000 + block); an MMSI already used
    by an earlier block is left out of a later one, so no two vessels share an MMSI by
    accident. Returns the files, positions and vessels written.
    """
    from seawatch.io.nmea.encode import write_nmea

    files: list[Path] = []
    used: set[int] = set()
    total = 0
    block = 0
    while total < target:
        positions, vessels = simulate(1000 + block, hours, block_vessels)
        fresh = sorted(set(positions["mmsi"].unique().to_list()) - used)
        positions = positions.filter(pl.col("mmsi").is_in(fresh))
        vessels = vessels.filter(pl.col("mmsi").is_in(fresh))
        if total + positions.height > target:  # last block: only the vessels needed
            sizes = positions.group_by("mmsi", maintain_order=True).len()
            need = int(np.searchsorted(np.cumsum(sizes["len"].to_numpy()), target - total)) + 1
            keep = sizes["mmsi"].head(need).to_list()
            positions = positions.filter(pl.col("mmsi").is_in(keep))
            vessels = vessels.filter(pl.col("mmsi").is_in(keep))
        used.update(positions["mmsi"].unique().to_list())
        path = directory / f"day-{block:03d}.nmea"
        write_nmea(path, positions, vessels)
        files.append(path)
        total += positions.height
        block += 1
        print(
            f"  wrote {path.name}: {positions.height:,} positions (total {total:,} / {target:,})",
            flush=True,
        )
    return files, total, len(used)


def concatenate(files: list[Path], target: Path) -> Path:
    """The lines of ``files``, in order, as one file (every file ends with a newline)."""
    with open(target, "wb") as out:
        for path in files:
            with open(path, "rb") as src:
                shutil.copyfileobj(src, out, 16 << 20)
    return target


def peak_mb() -> float:
    """Peak resident memory (MB) of this process since it started or since reset_peak()."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> bool:
    """Reset the peak to the current RSS (Linux >= 4.0: 5 to clear_refs); False if it cannot."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


CHILD = (
    "import json, sys, time\n"
    "from pathlib import Path\n"
    + inspect.getsource(peak_mb)
    + inspect.getsource(reset_peak)
    + """
from seawatch.detect.run import detect_store
from seawatch.store import Store

store_dir, chunk, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
start = time.perf_counter()
store = Store(store_dir, create=True)
reports = store.ingest([Path(f) for f in files])
ingest_s = time.perf_counter() - start
positions = store.positions().select("mmsi").collect().height
print(json.dumps({
    "ingest_s": ingest_s, "ingest_peak_mb": peak_mb(), "positions": positions,
    "memory_limit": store.settings.memory_limit, "merge_rows": store.settings.merge_rows,
    "read_s": sum(r.seconds for r in reports),
    "commit_s": sum({r.snapshot: r.commit_seconds for r in reports}.values()),
    "added": sum(r.rows_added["positions"] for r in reports),
    "duplicates": sum(r.duplicates["positions"] for r in reports),
}), flush=True)
separate = reset_peak()
start = time.perf_counter()
events = detect_store(store, chunk_positions=chunk or None)
info = store.events_info() or {}
print(json.dumps({
    "detect_s": time.perf_counter() - start, "peak_mb": peak_mb(), "detect_peak_only": separate,
    "events": events.group_by("type").len().sort("type").rows(),
    "steps_s": info.get("seconds"), "chunks": info.get("chunks"),
    "chunk_positions": info.get("chunk_positions"),
}), flush=True)
"""
)


def run_child(
    store: Path, files: list[Path], timeout: float | None, chunk: int = 0
) -> tuple[dict[str, Any], str]:
    """Ingest + detect in a child process: its results (as far as it got) and how it ended.
    ``chunk``: ``detect_store(chunk_positions=)`` (0: its default)."""
    argv = [sys.executable, "-c", CHILD, str(store), str(chunk), *map(str, files)]
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, env={**os.environ}, timeout=timeout
        )
        out, ended = proc.stdout, "ok" if proc.returncode == 0 else f"exit {proc.returncode}"
        if proc.returncode != 0:
            print(proc.stderr[-4000:], file=sys.stderr)
    except subprocess.TimeoutExpired as exc:
        raw = exc.stdout or b""
        out = raw.decode() if isinstance(raw, bytes) else raw
        ended = f"timed out after {timeout:g} s"
    res: dict[str, Any] = {}
    for line in out.splitlines():
        if "{" in line:  # anything a library drew before it on the line is left out
            res.update(json.loads(line[line.index("{"):]))
    return res, ended


def ingest_and_detect(
    label: str, root: Path, files: list[Path], total: int, args: argparse.Namespace
) -> list[str]:
    """One child run over ``files`` into a fresh store; prints its figures and returns what
    went wrong (a phase over ``--max-rss``, a child that did not finish)."""
    from seawatch.store.ingest import memory_bytes

    store = root / f"store-{label.split()[0]}"
    shutil.rmtree(store, ignore_errors=True)
    print(f"\n{label}:", flush=True)
    start = time.perf_counter()
    load_before = os.getloadavg()[0]
    res, ended = run_child(store, files, args.timeout, args.chunk_positions)
    wall = time.perf_counter() - start
    load_after = os.getloadavg()[0]
    shutil.rmtree(store, ignore_errors=True)
    failures = []
    if "ingest_s" not in res:
        return [f"{label}: ingest did not finish ({ended}, {wall:.0f} s)"]
    n = res["positions"]
    print(
        f"ingest:  {res['ingest_s']:8.1f} s (reading and staging {res['read_s']:.1f} s, "
        f"merging and commit {res['commit_s']:.1f} s)  {total / res['ingest_s']:,.0f} positions/s  "
        f"peak {res['ingest_peak_mb']:,.0f} MB  ({n:,} positions stored, "
        f"{res['duplicates']:,} duplicates; merge: memory_limit "
        f"{memory_bytes(res['memory_limit']) / 1e9:.2f} GB, at most {res['merge_rows']:,} rows "
        "at once)",
        flush=True,
    )
    if res["ingest_peak_mb"] > args.max_rss:
        failures.append(
            f"{label}: the ingest peaked at {res['ingest_peak_mb']:,.0f} MB "
            f"> --max-rss {args.max_rss:,.0f} MB"
        )
    if "detect_s" not in res:
        failures.append(f"{label}: detect did not finish ({ended}, child ran {wall:.0f} s)")
        return failures
    both = res["ingest_s"] + res["detect_s"]
    what = "peak (detect alone)" if res.get("detect_peak_only") else "peak (ingest + detect)"
    print(
        f"detect:  {res['detect_s']:8.1f} s  {n / res['detect_s']:,.0f} positions/s  "
        f"{what} {res['peak_mb']:,.0f} MB"
    )
    print(f"  steps (s): {res['steps_s']}")
    print(f"  chunks: {res['chunks']} of about {res['chunk_positions']:,} positions")
    print(f"  events: {dict(res['events'])}")
    print(f"total:   {both:8.1f} s ({both / 60:.1f} min; child process {wall:.0f} s with start-up)")
    print(f"load average (1 min) of the machine: {load_before:.1f} before, {load_after:.1f} after")
    if res["peak_mb"] > args.max_rss:
        failures.append(
            f"{label}: detection peaked at {res['peak_mb']:,.0f} MB > --max-rss "
            f"{args.max_rss:,.0f} MB"
        )
    print(
        "target for 50 M positions: ingest + detect < 15 min and < 8 GB "
        f"(linear estimate from this run: {both * 50e6 / total / 60:.1f} min)",
        flush=True,
    )
    return failures


def part_b(args: argparse.Namespace) -> None:
    print(
        f"\npart B: a simulated {args.hours:g} h of {args.big:,} positions, "
        f"{args.block_vessels} vessels per block; phases must peak under {args.max_rss:,.0f} MB"
    )
    if args.workdir:
        Path(args.workdir).mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        root = Path(tmp)
        nmea = Path(args.nmea_dir) if args.nmea_dir else root / "nmea"
        nmea.mkdir(parents=True, exist_ok=True)
        listing = nmea / f"day-{args.big}-{args.block_vessels}-{args.hours:g}.json"
        reset_peak()
        if listing.exists():
            kept = json.loads(listing.read_text())
            files, total = [nmea / f for f in kept["files"]], kept["total"]
            print(
                f"reusing {total:,} positions of {kept['vessels']:,} vessels in {len(files)} "
                f"NMEA files listed in {listing}"
            )
        else:
            t_write, (files, total, vessels) = timed(
                lambda: write_day(nmea, args.big, args.block_vessels, args.hours)
            )
            listing.write_text(json.dumps(
                {"files": [f.name for f in files], "total": total, "vessels": vessels}
            ))
            size = sum(f.stat().st_size for f in files)
            print(
                f"wrote {total:,} positions of {vessels:,} vessels in {len(files)} NMEA files, "
                f"{size / 1e9:.2f} GB, in {t_write:.0f} s; peak {peak_mb():,.0f} MB"
            )
            if peak_mb() > args.max_rss:
                failures.append(f"writing the files peaked at {peak_mb():,.0f} MB")
        if args.inputs in ("many", "both"):
            failures += ingest_and_detect(
                f"{len(files)} block file(s)", root, files, total, args
            )
        if args.inputs in ("one", "both"):
            one = concatenate(files, root / "day-all.nmea")
            failures += ingest_and_detect(
                "1 file (the same lines concatenated)", root, [one], total, args
            )
            one.unlink()
    if failures:
        sys.exit("part B FAILED:\n  " + "\n  ".join(failures))
    print(f"\npart B: every phase finished under {args.max_rss:,.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1, help="simulation seed of part A")
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours")
    parser.add_argument(
        "--vessels",
        type=int,
        default=870,
        help="vessels of part A (870 x 24 h gives about 1 M positions)",
    )
    parser.add_argument("--runs", type=int, default=3, help="timed runs of seawatch (best kept)")
    parser.add_argument(
        "--mp-points",
        type=int,
        default=200_000,
        help="positions given to MovingPandas (whole vessels); times scaled",
    )
    parser.add_argument("--skip-a", action="store_true", help="skip part A")
    parser.add_argument(
        "--big",
        type=int,
        default=5_000_000,
        help="positions of part B (0 skips it; 50000000 for the target figure)",
    )
    parser.add_argument(
        "--block-vessels",
        type=int,
        default=1000,
        help="vessels simulated and written per NMEA file in part B",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where part B writes its files and store (default: system temp)",
    )
    parser.add_argument(
        "--chunk-positions",
        type=int,
        default=0,
        help="positions per chunk of detect_store (0: its default)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds allowed for each of part B's ingest + detect children",
    )
    parser.add_argument(
        "--inputs",
        choices=("many", "one", "both"),
        default="both",
        help="part B ingests the day from its many block files, from one file of the same "
        "lines, or both (default)",
    )
    parser.add_argument(
        "--max-rss",
        type=float,
        default=8000.0,
        help="MB: part B fails if a phase (writing, ingest, detection) peaks above this "
        "(default 8000, the 50 M target)",
    )
    parser.add_argument(
        "--nmea-dir",
        type=Path,
        default=None,
        help="keep part B's NMEA files here and reuse them on later runs of the same --big, "
        "--block-vessels and --hours (default: written afresh under --workdir, deleted after)",
    )
    args = parser.parse_args()
    if not args.skip_a:
        part_a(args)
    if args.big > 0:
        part_b(args)


if __name__ == "__main__":
    main()
