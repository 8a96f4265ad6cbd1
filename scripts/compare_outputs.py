"""Snapshot what seawatch gives its users, and compare two snapshots byte for byte.

A refactor must not change behaviour. This script drives seawatch from the outside, as a user
does (the ``seawatch`` command and the HTTP API of ``seawatch serve``), so it runs unchanged
before and after code moves:

    python scripts/compare_outputs.py snapshot /tmp/before      # on the old commit
    python scripts/compare_outputs.py snapshot /tmp/after       # on the new one
    python scripts/compare_outputs.py compare /tmp/before /tmp/after

A snapshot holds, for two simulated scenarios (NMEA and CSV) and every real capture in
``../shared/data`` that ingests: the ingest summary, ``info`` and ``info --quarantine``, the
events of ``detect`` exported as CSV, GeoJSON and Parquet; and for one scenario the answers of
the REST and OGC API to the host's admin and to a partner with a grant. What changes from run
to run (timings, the snapshot's own directory, the server's port, the times the store and the
audit record, tokens) is masked before comparing; everything else must be equal.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent.parent
SHARED = HERE.parent / "shared" / "data"
SEAWATCH = Path(sys.executable).with_name("seawatch")

REAL = [
    # (name, files under ../shared/data, extra ingest options)
    ("aishub", ["ais-nmea/aishub-sample/ais-nmea-sample.log"], ["--time", "2024-05-01T00:00:00Z"]),
    ("dma-aislib", ["ais-nmea/dma-aislib/stream_example.txt", "ais-nmea/dma-aislib/ais250.txt",
                    "ais-nmea/dma-aislib/replay_dump.txt"], ["--time", "2024-05-01T00:00:00Z"]),
    ("kystverket", ["ais-nmea/kystverket/norwegian.raw"], []),
    ("gpsd", ["ais-nmea/gpsd/ais-nmea.log"], ["--time", "2024-05-01T00:00:00Z"]),
    ("aisdb", ["ais-csv/aisdb/test_data_20210701.csv"], []),
    ("aisdb-noaa", ["ais-csv/aisdb/test_data_noaa_20230101.csv"], []),
    ("aisdb-nm4", ["ais-csv/aisdb/test_data_20211101.nm4"], []),
    ("dma-aisdk", ["ais-csv/dma-aisdk/aisdk_20180601_head.csv",
                   "ais-csv/dma-aisdk/test_aisdk_20180208_sample.csv"], []),
    ("gfw-encounters", ["reference/gfw-encounters/input_positions.csv"], []),
]

SCENARIOS = [
    # (name, seed, hours, vessels)
    ("sim3", 3, 6.0, 40),
    ("sim17", 17, 12.0, 150),
]

MASKS = [
    (re.compile(r"^.*━.*$\n?", re.MULTILINE), ""),  # progress bars
    (re.compile(r"[─═│┃┏┓┗┛┡┩└┘┌┐├┤┬┴┼╇╈╭╮╯╰]+"), " "),  # table rules
    (re.compile(r"[ \t]+"), " "),
    (re.compile(r"\b\d+\.\d\d [\d,]+ ?$", re.MULTILINE), "<secs> <rate>"),  # ingest table
    (re.compile(r"seconds per step:.*"), "seconds per step: <volatile>"),
    (re.compile(r"\d+(?:\.\d+)? ?(?:s|ms)\b"), "<secs>"),
    (re.compile(r"[\d,]+(?:\.\d+)? ?(?:lines|rows|sentences)/s"), "<rate>"),
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:<port>"),
    (re.compile(r"sw_[A-Za-z0-9_\-]+"), "<token>"),
    (re.compile(r'"(ingested_at|created_at|detected_at|generated_at|written_at|timeStamp|at|time|seconds|'
                r'total|size_bytes)":\s*("[^"]*"|[\d.]+)'), r'"\1": <volatile>'),
    (re.compile(r"size bytes [\d,]+"), "size bytes <volatile>"),
]
"""What changes from run to run, masked before comparing (in this order)."""


def run(args: list[str], out: Path, name: str, cwd: Path | None = None) -> str:
    """Run ``seawatch ARGS``; write its exit code, stdout and stderr to ``out/name.txt``."""
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    done = subprocess.run([str(SEAWATCH), *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=1800)
    text = f"$ seawatch {' '.join(args)}\nexit {done.returncode}\n--- stdout\n{done.stdout}" \
           f"--- stderr\n{done.stderr}"
    (out / f"{name}.txt").write_text(text, encoding="utf-8")
    return done.stdout


def export_events(store: Path, out: Path, name: str) -> None:
    for suffix in ("csv", "geojson", "parquet"):
        run(["events", "--store", str(store), "--out", str(out / f"{name}.events.{suffix}")],
            out, f"{name}.events-{suffix}")


def snapshot_store(store: Path, out: Path, name: str, ingest: list[str],
                   detect: list[str]) -> None:
    run(["ingest", *ingest, "--store", str(store)], out, f"{name}.ingest")
    run(["info", "--store", str(store)], out, f"{name}.info")
    run(["info", "--store", str(store), "--quarantine"], out, f"{name}.quarantine")
    run(["detect", "--store", str(store), *detect], out, f"{name}.detect")
    export_events(store, out, name)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def snapshot_api(store: Path, out: Path) -> None:
    """The REST and OGC answers of one store to the host's admin and to a partner."""
    import httpx

    def cli(*args: str, stdin: str | None = None) -> str:
        done = subprocess.run([str(SEAWATCH), *args, "--store", str(store)], input=stdin,
                              capture_output=True, text=True, check=True)
        return done.stdout.strip()

    cli("init-state", "--host-agency", "ECU-NAVY")
    cli("agency", "add", "PARTNER-AF")
    cli("user", "add", "admin", "--agency", "ECU-NAVY", "--role", "admin", "--no-password")
    cli("user", "add", "liaison", "--agency", "PARTNER-AF", "--role", "partner_viewer",
        "--no-password")
    tokens = {"admin": cli("token", "create", "--user", "admin"),
              "partner": cli("token", "create", "--user", "liaison")}
    cli("grant", "create", "--from", "ECU-NAVY", "--to", "PARTNER-AF",
        "--zone", "Galápagos Marine Reserve", "--types", "encounter,loitering,gap",
        "--positions", "--max-marking", "AMBER", "--until", "30d")
    events = pl.read_parquet(out / "sim3.events.parquet")
    first = events.row(0, named=True)
    mmsi = first["mmsi"]
    event_id = first["event_id"]
    t0 = events["start"].min().strftime("%Y-%m-%dT%H:%M:%SZ")
    urls = [
        "/api/v1/stats", "/api/v1/vessels?limit=1000", f"/api/v1/vessels/{mmsi}",
        f"/api/v1/vessels/{mmsi}/track", "/api/v1/positions?limit=500",
        "/api/v1/positions?bbox=-92,-2,-88,1&limit=200", "/api/v1/events?limit=1000",
        f"/api/v1/events/{event_id}", "/api/v1/zones", "/api/v1/export/events?format=csv",
        "/api/v1/export/events?format=geojson", "/api/v1/export/events?format=kml",
        "/api/v1/export/events?format=parquet", "/api/v1/export/vessels?format=csv",
        "/api/v1/export/positions?format=csv", f"/api/v1/events?type=encounter&start={t0}",
        "/ogc", "/ogc/conformance", "/ogc/collections", "/ogc/collections/events",
        "/ogc/collections/events/items?limit=100", "/ogc/collections/vessels/items?limit=100",
        "/ogc/collections/positions/items?limit=100&bbox=-92,-2,-88,1",
        f"/ogc/collections/events/items/{event_id}", "/ogc/collections/zones/items",
        "/api/v1/events?limit=abc", "/api/v1/vessels/12", "/ogc/collections/nope/items",
    ]
    port = free_port()
    server = subprocess.Popen([str(SEAWATCH), "serve", "--store", str(store), "--port",
                               str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                httpx.get(base + "/ogc/conformance", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        for who, token in tokens.items():
            api = out / f"api-{who}"
            api.mkdir()
            for k, url in enumerate(urls):
                r = httpx.get(base + url, headers={"Authorization": f"Bearer {token}"},
                              timeout=120)
                kind = r.headers.get("content-type", "").split(";")[0]
                body = r.content
                if kind.endswith("parquet") or url.endswith("parquet"):
                    (api / f"{k:02d}.parquet").write_bytes(body)
                    body = b"<parquet>"
                (api / f"{k:02d}.txt").write_bytes(
                    f"GET {url}\nstatus {r.status_code}\ncontent-type {kind}\n".encode()
                    + body)
    finally:
        server.terminate()
        server.wait(30)


def snapshot(out: Path, quick: bool) -> None:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    work = out / "work"
    scenarios = SCENARIOS[:1] if quick else SCENARIOS
    for name, seed, hours, vessels in scenarios:
        scen = work / name
        print(f"{name}: simulate", flush=True)
        run(["sim", "--out", str(scen), "--seed", str(seed), "--hours", str(hours),
             "--vessels", str(vessels)], out, f"{name}.sim")
        detect = ["--zones", str(scen / "zones.geojson"), "--ports", str(scen / "ports.csv")]
        snapshot_store(work / f"{name}-nmea", out, name, [str(scen / "traffic.nmea")], detect)
        snapshot_store(work / f"{name}-csv", out, f"{name}-csv", [str(scen / "traffic.csv")],
                       detect)
        run(["eval", "--truth", str(scen / "truth.parquet"), "--events",
             str(out / f"{name}.events.csv")], out, f"{name}.eval")
    if SHARED.is_dir():
        for name, files, options in REAL if not quick else REAL[:3]:
            print(f"{name}: ingest + detect", flush=True)
            paths = [str(SHARED / f) for f in files]
            snapshot_store(work / name, out, name, [*paths, *options], [])
    else:
        print(f"{SHARED} absent: real captures left out", flush=True)
    print("api", flush=True)
    snapshot_api(work / "sim3-nmea", out)
    shutil.rmtree(work)


def normalise(path: Path, root: Path) -> bytes:
    if path.suffix == ".parquet":
        frame = pl.read_parquet(path)
        return frame.write_ndjson().encode() + str(frame.schema).encode()
    text = path.read_bytes().decode("utf-8", errors="replace")
    text = text.replace(str(root), "<OUT>")
    for pattern, repl in MASKS:
        text = pattern.sub(repl, text)
    return text.encode()


def compare(a: Path, b: Path) -> int:
    files_a = {p.relative_to(a) for p in a.rglob("*") if p.is_file()}
    files_b = {p.relative_to(b) for p in b.rglob("*") if p.is_file()}
    bad = 0
    for rel in sorted(files_a ^ files_b):
        print(f"only in {'first' if rel in files_a else 'second'}: {rel}")
        bad += 1
    for rel in sorted(files_a & files_b):
        x, y = normalise(a / rel, a), normalise(b / rel, b)
        if x != y:
            bad += 1
            print(f"DIFFERS: {rel}")
            lx, ly = x.decode().splitlines(), y.decode().splitlines()
            import difflib

            for line in list(difflib.unified_diff(lx, ly, lineterm="", n=0))[:20]:
                print("   ", line[:200])
    digest = hashlib.sha256(b"".join(normalise(a / r, a) for r in sorted(files_a))).hexdigest()
    print(f"{len(files_a & files_b)} outputs compared, {bad} differ (first: {digest[:12]})")
    return 1 if bad else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("snapshot", help="write a snapshot of every output")
    s.add_argument("out", type=Path)
    s.add_argument("--quick", action="store_true", help="one scenario, three real captures")
    c = sub.add_parser("compare", help="compare two snapshots; exit 1 when any output differs")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    args = parser.parse_args()
    if args.cmd == "snapshot":
        snapshot(args.out.resolve(), args.quick)
        return 0
    return compare(args.a.resolve(), args.b.resolve())


if __name__ == "__main__":
    sys.exit(main())
