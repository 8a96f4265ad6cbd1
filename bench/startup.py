"""Benchmark: what one ``seawatch`` command costs from start to exit, against pyais.

A user runs ``seawatch ingest`` as a process, so its fixed costs count: starting Python,
imports, numba loading the compiled kernels from its cache, creating the store. This script
simulates a 48-hour capture of about 0.5 M sentences with ``seawatch sim`` (or uses
``--capture``), then times whole processes on it, each the best of ``--runs``:

1. ``seawatch ingest CAPTURE`` into a new store, against pyais's decode loop over the same file
   (``FileReaderStream`` + ``decode()``, also a whole process): the ratio, target >= 10x;
2. ``seawatch ingest CAPTURE --detect`` (ingest and detection in one process), target < 2 s
   warm, beside ``seawatch ingest`` then ``seawatch detect`` as two processes;
3. the fixed cost alone: ``seawatch ingest`` of a one-line capture, and ``seawatch --help``.

Every timed run is warm (numba's cache filled, the file in the page cache); wall and CPU
seconds (user + system, of the process and its children) are printed, with the machine's load
before and after, since the figures depend on it.

``--demo`` instead times ``seawatch demo --no-serve`` on an empty numba cache (the first run
of a new install) in a pseudo-terminal, as a user sees it, and prints its wall time (target
< 60 s on the 2-core reference machine) and the longest time no new text appeared (target
< 2 s: compiles and long steps must say what is happening).

Run: ``python bench/startup.py [--runs 3] [--vessels 630] [--capture FILE] [--demo]``.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PYAIS = """
import sys
from pyais import FileReaderStream
n = 0
for msg in FileReaderStream(sys.argv[1]):
    try:
        msg.decode()
        n += 1
    except Exception:
        pass
print(n)
"""

SEAWATCH = "import sys; from seawatch.cli import main; sys.argv[0] = 'seawatch'; main()"


def seawatch(*args: object) -> list[str]:
    """The command line of ``seawatch ARGS`` with this interpreter."""
    return [sys.executable, "-c", SEAWATCH, *map(str, args)]


def timed(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall, cpu) seconds of one process run to its end (it must succeed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def best(label: str, runs: int, make: Callable[[], list[str]]) -> tuple[float, float]:
    """Best wall time (and its CPU time) of ``runs`` runs of ``make()``'s command."""
    results = [timed(make()) for _ in range(runs)]
    wall, cpu = min(results)
    print(f"{label:44s} {wall:7.2f} s wall {cpu:7.2f} s cpu (best of {runs})")
    return wall, cpu


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} CPUs)"


def simulate(out: Path, vessels: int) -> Path:
    subprocess.run(seawatch("sim", "--out", out, "--hours", 48, "--vessels", vessels,
                            "--no-csv"), check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return out / "traffic.nmea"


def bench_ingest(capture: Path, work: Path, runs: int) -> None:
    sentences = capture.read_bytes().count(b"!")
    print(f"capture: {capture} ({sentences:,} sentences, {capture.stat().st_size / 1e6:.1f} MB)")
    counter = iter(range(10**6))

    def fresh_store() -> Path:
        path = work / f"store-{next(counter)}"
        shutil.rmtree(path, ignore_errors=True)
        return path

    subprocess.run(seawatch("ingest", capture, "--store", fresh_store()), check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # warm-up
    one_line = work / "one.nmea"
    one_line.write_bytes(capture.read_bytes().split(b"\n", 1)[0] + b"\n")
    best("seawatch --help", runs, lambda: seawatch("--help"))
    best("seawatch ingest, one line (fixed cost)", runs,
         lambda: seawatch("ingest", one_line, "--store", fresh_store()))
    sw_wall, _ = best("seawatch ingest", runs,
                      lambda: seawatch("ingest", capture, "--store", fresh_store()))
    py_wall, _ = best("pyais decode loop", max(1, runs - 1),
                      lambda: [sys.executable, "-c", PYAIS, str(capture)])
    print(f"ratio pyais / seawatch ingest: {py_wall / sw_wall:.1f}x (target >= 10x); "
          f"{sentences / sw_wall:,.0f} sentences/s for the whole process")
    both, _ = best("seawatch ingest --detect (one process)", runs,
                   lambda: seawatch("ingest", capture, "--store", fresh_store(), "--detect"))
    two = []
    for _ in range(runs):
        store = fresh_store()
        w1, c1 = timed(seawatch("ingest", capture, "--store", store))
        w2, c2 = timed(seawatch("detect", "--store", store))
        two.append((w1 + w2, c1 + c2))
    wall, cpu = min(two)
    print(f"{'seawatch ingest, then seawatch detect':44s} {wall:7.2f} s wall {cpu:7.2f} s cpu "
          f"(best of {runs})")
    print(f"ingest + detect in one process: {both:.2f} s (target < 2 s warm); "
          f"{wall - both:+.2f} s against two processes")


SPINNER = re.compile(r"[\u2800-\u28ff]")
TIMER = re.compile(r"\d+:\d\d:\d\d|-:--:--|[\d.,]+ ?[kMG]?B/s|\?")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def bench_demo(work: Path) -> None:
    """``seawatch demo --no-serve`` on an empty numba cache, in a pseudo-terminal."""
    import pty
    import select

    cache = work / "numba-cache"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "COLUMNS": "100"}
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: run the demo
        os.chdir(ROOT)
        os.execve(sys.executable, seawatch("demo", "--dir", work / "demo", "--no-serve"), env)
    seen: set[str] = set()
    last_new = start
    silences: list[tuple[float, float, str]] = []  # (seconds, from, the text before)
    previous = ""
    while True:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        now = time.perf_counter()
        text = ANSI.sub("", data.decode("utf-8", "replace"))
        for part in re.split(r"[\r\n]+", text):
            shown = TIMER.sub("", SPINNER.sub("", part)).strip()
            if shown and shown not in seen:
                seen.add(shown)
                silences.append((now - last_new, last_new - start, previous))
                last_new, previous = now, part.strip()
    _, status = os.waitpid(pid, 0)
    total = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"seawatch demo failed (status {status})")
    print(f"demo, first run on an empty numba cache: {total:.1f} s wall (target < 60 s)")
    print("longest times without new text (target < 2 s):")
    for seconds, at, after in sorted(silences, reverse=True)[:5]:
        print(f"  {seconds:5.1f} s from {at:5.1f} s, after {after[:80]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each command")
    parser.add_argument("--vessels", type=int, default=630,
                        help="vessels of the simulated 48 h capture (630: ~0.5 M sentences)")
    parser.add_argument("--capture", type=Path, help="an NMEA capture instead of simulating")
    parser.add_argument("--demo", action="store_true",
                        help="time the demo's first run on an empty numba cache instead")
    args = parser.parse_args()
    print(load())
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.demo:
            bench_demo(work)
        else:
            capture = args.capture or simulate(work / "sim", args.vessels)
            bench_ingest(capture, work, args.runs)
    print(load())


if __name__ == "__main__":
    main()
