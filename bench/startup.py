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

Every timed run is warm (numba's cache filled, the file in the page cache, the modules'
bytecode compiled: the bench compiles it first and clears ``PYTHONDONTWRITEBYTECODE`` for its
children, as an installed package has it); the best and the
median wall time of ``--runs`` runs are printed with the CPU seconds (user + system, of the
process and its children) of the best, and the machine's load before and after, since the
figures depend on it.

``--breakdown`` then says where the seconds of ``seawatch ingest CAPTURE --detect`` go: import
time by package (``python -X importtime``, each module's own time counted to its top-level
package), the kernels numba loads from its cache (``NUMBA_DEBUG_CACHE``) and the steps of one
process timed inside it: the command line's imports, the decoder's import (numba's start and
the kernels it loads), ``read_nmea``'s first call against a second one, the store's imports,
the ingest (reading, merge and write), the detection's imports and the detection.

``--demo`` instead times ``seawatch demo --no-serve`` on an empty numba cache (the first run
of a new install) in a pseudo-terminal, as a user sees it, and prints its wall time (target
< 60 s on the 2-core reference machine) and the longest time no new text appeared (target
< 2 s: compiles and long steps must say what is happening).

Run: ``python bench/startup.py [--runs 5] [--vessels 630] [--capture FILE] [--breakdown]
[--demo]``.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
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


CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
"""The children's environment: bytecode is read and written as by an installed package
(without it every process compiles the seawatch modules it imports from source)."""


def timed(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall, cpu) seconds of one process run to its end (it must succeed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True, cwd=ROOT, env=env or CHILD_ENV, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def report(label: str, results: list[tuple[float, float]]) -> tuple[float, float]:
    """Print the best wall time (with its CPU time) and the median wall time of ``results``
    ((wall, cpu) of each run); the best is returned."""
    wall, cpu = min(results)
    median = statistics.median(w for w, _ in results)
    print(f"{label:44s} {wall:6.2f} s wall (median {median:6.2f}) {cpu:6.2f} s cpu "
          f"(best of {len(results)})")
    return wall, cpu


def best(label: str, runs: int, make: Callable[[], list[str]]) -> tuple[float, float]:
    """Best wall time (and its CPU time) of ``runs`` runs of ``make()``'s command; the median
    is printed beside it."""
    return report(label, [timed(make()) for _ in range(runs)])


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} CPUs)"


def simulate(out: Path, vessels: int) -> Path:
    subprocess.run(seawatch("sim", "--out", out, "--hours", 48, "--vessels", vessels,
                            "--no-csv"), check=True, cwd=ROOT, env=CHILD_ENV,
                   stdout=subprocess.DEVNULL)
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
                   env=CHILD_ENV, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)  # warm-up
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
    wall, _ = report("seawatch ingest, then seawatch detect", two)
    print(f"ingest + detect in one process: {both:.2f} s (target < 2 s warm, "
          f"{both / 2:.1f}x the target); {wall - both:+.2f} s against two processes")


PACKAGES = {"typer": "typer, rich, click", "rich": "typer, rich, click",
            "click": "typer, rich, click", "llvmlite": "numba", "pydantic_core": "pydantic",
            "annotated_types": "pydantic", "_duckdb": "duckdb"}
"""Top-level modules counted together in the import breakdown."""

PHASES = r"""
import sys, time
capture, store = sys.argv[1], sys.argv[2]
marks = [("start", time.perf_counter())]
def mark(name):
    marks.append((name, time.perf_counter()))
import seawatch.cli
mark("command line (typer, rich, the seawatch.cli modules)")
import polars, duckdb, pyarrow, pyarrow.parquet, pyarrow.compute
mark("polars, duckdb, pyarrow")
import numba
mark("numba's import")
import seawatch.io.nmea.reader as reader
mark("the decoder's import (numba's start: its registries, scipy for BLAS; eager kernels)")
reader.read_nmea(capture)
mark("read_nmea, first call (the lazily loaded kernels too)")
reader.read_nmea(capture)
mark("read_nmea, second call")
from seawatch.store import Store
mark("seawatch.store's imports")
Store(store).ingest([capture])
mark("Store.ingest (reading again, merge and write)")
from seawatch.detect.run import detect_store
from seawatch.detect.config import load_config
cfg = load_config(None)
mark("detection's imports (detectors, parameter models)")
detect_store(Store(store, create=False), config=cfg)
mark("detect_store (geography, kernels, detectors, writing)")
for (_, a), (name, b) in zip(marks, marks[1:]):
    print(f"  {b - a:6.2f} s  {name}")
print(f"  {marks[-1][1] - marks[0][1]:6.2f} s  in all, after Python's own start")
"""
"""A child that times the steps of an ingest and a detection in one process."""


def breakdown(capture: Path, work: Path) -> None:
    """Where the time of ``seawatch ingest CAPTURE --detect`` goes (see the module's
    docstring)."""
    env = {**CHILD_ENV, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    store = work / "store-breakdown"
    shutil.rmtree(store, ignore_errors=True)
    done = subprocess.run([sys.executable, "-X", "importtime", *seawatch(
        "ingest", capture, "--store", store, "--detect")[1:]], cwd=ROOT, env=env, check=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    own: dict[str, float] = {}
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \| +(\S+)", line)
        if match:
            top = match[2].split(".")[0]
            group = PACKAGES.get(top, top)
            own[group] = own.get(group, 0.0) + int(match[1]) / 1e6
    total = sum(own.values())
    print(f"imports of seawatch ingest --detect: {total:.2f} s under -X importtime; by package "
          "(a module's own time: numba's start and the kernels loaded at import count to the "
          "module that triggers them):")
    for name, seconds in sorted(own.items(), key=lambda kv: -kv[1])[:14]:
        print(f"  {seconds:6.2f} s  {name}")
    mine = sorted(((int(m[1]) / 1e6, m[2]) for m in re.finditer(
        r"import time:\s+(\d+) \|\s+\d+ \| +(seawatch\S*)", done.stderr)), reverse=True)
    print("  of which seawatch's modules: " + ", ".join(
        f"{name} {seconds:.2f}" for seconds, name in mine[:6]))
    shutil.rmtree(store, ignore_errors=True)
    done = subprocess.run(seawatch("ingest", capture, "--store", store, "--detect"), cwd=ROOT,
                          env={**env, "NUMBA_DEBUG_CACHE": "1"}, check=True,
                          capture_output=True, text=True)
    loaded: dict[str, list[str]] = {}
    saved = 0
    for line in done.stdout.splitlines():
        match = re.match(r"\[cache\] data (loaded|saved) \w+ .*/([\w.]+)-\d+\.py", line)
        if match and match[1] == "saved":
            saved += 1
        elif match:
            module, _, function = match[2].rpartition(".")
            loaded.setdefault(module, []).append(function)
    print(f"numba: {sum(map(len, loaded.values()))} kernels loaded from the cache, {saved} "
          "compiled and saved (0: the cache hits)")
    for module, functions in loaded.items():
        print(f"  {module}: {len(functions)} ({', '.join(functions)})")
    shutil.rmtree(store, ignore_errors=True)
    print("steps of one process (read_nmea twice, then an ingest and a detection):")
    subprocess.run([sys.executable, "-c", PHASES, str(capture), str(store)], cwd=ROOT,
                   env=env, check=True)


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
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each command")
    parser.add_argument("--vessels", type=int, default=630,
                        help="vessels of the simulated 48 h capture (630: ~0.5 M sentences)")
    parser.add_argument("--capture", type=Path, help="an NMEA capture instead of simulating")
    parser.add_argument("--breakdown", action="store_true",
                        help="then say where the seconds of ingest --detect go")
    parser.add_argument("--demo", action="store_true",
                        help="time the demo's first run on an empty numba cache instead")
    args = parser.parse_args()
    print(load())
    if "PYTHONDONTWRITEBYTECODE" in os.environ:
        print("PYTHONDONTWRITEBYTECODE is set here: cleared for the timed processes")
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "seawatch")],
                   check=True, env=CHILD_ENV, stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.demo:
            bench_demo(work)
        else:
            capture = args.capture or simulate(work / "sim", args.vessels)
            bench_ingest(capture, work, args.runs)
            if args.breakdown:
                print(load())
                breakdown(capture, work)
    print(load())


if __name__ == "__main__":
    main()
