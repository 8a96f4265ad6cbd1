"""Benchmark: NMEA decoding throughput of seawatch against pyais, and seawatch's peak memory.

Both decoders read the same real capture (the AISHub sample in ../shared/data, repeated to
make a file long enough to time) to fully decoded fields: pyais through its documented
``FileReaderStream`` + ``decode()`` (the baseline a Python user has today), seawatch through
``read_nmea`` to Polars tables. Then seawatch streams a file of a few million sentences in a
child process, to report its peak resident memory (bounded by the chunk size, not the file).

Run: ``python bench/decode.py [--repeat 10] [--big-repeat 40]``; prints figures and ratios.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT.parent / "shared" / "data" / "ais-nmea" / "aishub-sample" / "ais-nmea-sample.log"
DEFAULT_TIME = "2015-10-06T00:00:00Z"


def make_file(sample: Path, repeat: int, out: Path) -> int:
    data = sample.read_bytes()
    with out.open("wb") as f:
        for _ in range(repeat):
            f.write(data)
    return data.count(b"!AIVDM") * repeat


def bench_seawatch(path: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one ``read_nmea`` of ``path``."""
    from seawatch.io.nmea import read_nmea

    start, cpu = time.perf_counter(), time.process_time()
    read_nmea(path, default_time=DEFAULT_TIME)
    return time.perf_counter() - start, time.process_time() - cpu


def bench_pyais(path: Path) -> tuple[float, int]:
    from pyais import FileReaderStream

    start = time.perf_counter()
    n = 0
    for msg in FileReaderStream(str(path)):
        try:
            msg.decode()
            n += 1
        except Exception:
            pass
    return time.perf_counter() - start, n


CHILD = """
import resource, sys, time
from seawatch.io.nmea import iter_nmea
start = time.perf_counter()
rows = 0
for chunk in iter_nmea(sys.argv[1], default_time=sys.argv[2]):
    rows += chunk.positions.height
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{elapsed} {rows} {peak}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="copies of the sample to time")
    parser.add_argument("--big-repeat", type=int, default=40, help="copies for the memory run")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each decoder")
    args = parser.parse_args()
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"({os.cpu_count()} CPUs)")
    if not SAMPLE.exists():
        sys.exit(f"sample not found: {SAMPLE} (the shared data directory must be beside the repo)")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sample.nmea"
        sentences = make_file(SAMPLE, args.repeat, path)
        print(f"input: {SAMPLE.name} x {args.repeat} = {sentences:,} sentences, "
              f"{path.stat().st_size / 1e6:.1f} MB")
        bench_seawatch(path)  # warm-up: numba compiles or loads its cache
        sw, sw_cpu = min(bench_seawatch(path) for _ in range(args.runs))
        py_time, py_msgs = bench_pyais(path)
        sw_rate = sentences / sw
        py_rate = sentences / py_time
        print(f"seawatch: {sw:.3f} s  {sw_rate:,.0f} sentences/s (best of {args.runs}; "
              f"{sw_cpu:.3f} s of CPU, {sentences / sw_cpu:,.0f} sentences per CPU second)")
        print(f"pyais:    {py_time:.3f} s  {py_rate:,.0f} sentences/s ({py_msgs:,} messages)")
        print(f"ratio seawatch/pyais: {sw_rate / py_rate:.1f}x (target >= 10x)")

        big = Path(tmp) / "big.nmea"
        big_sentences = make_file(SAMPLE, args.big_repeat, big)
        size_mb = big.stat().st_size / 1e6
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(big), DEFAULT_TIME],
            check=True, capture_output=True, text=True, env={**os.environ},
        ).stdout.split()
        elapsed, rows, peak_mb = float(out[0]), int(out[1]), float(out[2])
        print(f"streamed {big_sentences:,} sentences ({size_mb:.0f} MB) in {elapsed:.2f} s "
              f"({big_sentences / elapsed:,.0f} sentences/s), {rows:,} positions")
        print(f"peak memory: {peak_mb:,.0f} MB (target < 2,000 MB, independent of file size)")


if __name__ == "__main__":
    main()
