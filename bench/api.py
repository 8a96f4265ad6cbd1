"""Benchmark: the HTTP API over a large store (bbox + time-window queries, vessels, tracks,
events) and the time to the first full map render.

The store: ``--store DIR`` uses an existing one; otherwise ``--build N`` positions (default
50,000,000) are simulated and written into ``--workdir`` (kept, so a second run with the same
``--build`` reuses it). Building runs in a child process:

- a simulated day (24 h from 2026-01-15 12:00 UTC) in blocks of ``--block-vessels`` vessels,
  each block one ``seawatch.sim.simulate(seed=1000 + k, hours=24, vessels=..., noise=False)`` run
  (noise-free positions and identity reports; an MMSI already used by an earlier block is
  left out of later ones; the last block keeps only the vessels needed to reach N);
- written through the store's public ingest path for tables, ``Store.ingest_results``, as
  ``ReadResult`` chunks of ONE input (staged block by block, merged once per day: dedup,
  sort, zstd Parquet), without encoding and decoding NMEA;
- then ``detect_store`` (all detectors, as ``seawatch detect``) so that ``/events`` has rows;
  ``--no-detect`` skips it.

Then the real app (``seawatch.api.app.create_app``) is served by uvicorn in a thread
(``seawatch.api.server.ServerThread``) and timed with real HTTP requests (``httpx``):

- ``GET /api/v1/positions?bbox=&start=&end=&limit=1000``: boxes of 0.5, 2 and 5 degrees
  centred on random vessel positions (where the traffic is), windows of 1 h, 6 h and 24 h
  starting at random times of the data;
- ``GET /api/v1/vessels?format=geojson`` (all vessels, what the map loads);
- ``GET /api/v1/vessels/{mmsi}/track`` (default window: the vessel's last 24 h);
- ``GET /api/v1/events?bbox=&start=&end=``.

Each kind is timed once right after the server starts (cold: caches and the query index not
built yet) and then ``--queries`` times (warm); p50/p95/max are printed with the ratio to the
200 ms target. ``--plain`` also times the positions queries with the query index disabled
(the plain scan of the store, as before the index).

Last, the map: a headless Chromium (``tests.web.cdp``: SwiftShader software WebGL) opens
``/`` with a fresh profile and waits for ``window.seawatch.ready`` (every vessel is in the
map's source and the map is idle after drawing it), ``--map-runs`` times against the warm
server (its caches built as ``seawatch serve`` builds them at start), and once against a
freshly started server whose caches are cold. Each load prints when each API request of the
page started and ended.

Partner (``--partner N``, default 16; ``--partner-only`` runs nothing else): the same store
served with access control (``auth="required"``) to a partner agency holding two grants that
release positions -- the Galapagos Marine Reserve (a polygon) over the whole data, and a box
off the mainland over the first half of the data -- through an API token of its viewer. In
``--partner-bursts`` bursts (the first on cold caches), N threads at once send one request
each: half ``GET /api/v1/stats``, half ``GET /api/v1/positions?limit=1000`` (the first page,
a 2-degree box, a 6-hour window, a page at a random offset, in turn). Printed: p50/p95/max
per kind and overall, refusals (503), and the growth of the process's peak resident memory
over its resident memory before the first burst (and, sampled every 2 ms, how much of it is
private memory and how much the memory-mapped files of the query index). Targets: p95 < 1 s,
growth < 300 MB, on a store of 10 M positions (``--build 10000000``).

Memory: the peak resident memory of each phase (Linux ``VmHWM``, reset between phases) and
the resident memory after it, split into private memory and memory-mapped files (the query
index; page cache the OS can reclaim). With ``--json FILE`` every figure is written there.

Run from the repository root: ``python bench/api.py [--build 50000000] [--workdir DIR]``.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # ``tests.web.cdp`` is imported from the repository root
    sys.path.insert(0, str(ROOT))

TARGET_MS = 200.0
"""Target p95 latency of a bbox + time-window query."""
BOX_DEG = (0.5, 2.0, 5.0)
"""Side of the square boxes queried."""
WINDOW_H = (1, 6, 24)
"""Length of the time windows queried."""
MAP_VESSELS = 20_000
"""The map must draw at least this many vessels."""
PARTNER_TARGET_MS = 1000.0
"""Target p95 latency of a burst of concurrent partner requests."""
PARTNER_RSS_MB = 300.0
"""Target: growth of the peak resident memory during the partner bursts."""
PARTNER_BOX = (-82.0, -4.0, -79.0, 0.0)
"""Box of the partner's second grant (off the mainland), with the first half of the data."""


def make_app(store_dir: Path) -> Any:
    """``create_app`` over the store; where the app has access control, in its one-user
    local mode (``auth="local"``: requests from this machine act as the host agency's
    read-only analyst, who sees the whole store), so the figures include its checks and
    audit log but need no login."""
    import inspect

    from seawatch.api.app import create_app

    if "auth" in inspect.signature(create_app).parameters:
        return create_app(store_dir, auth="local")
    return create_app(store_dir)


def log(message: str) -> None:
    load = os.getloadavg()
    stamp = datetime.now().strftime("%H:%M:%S")
    print(f"[{stamp} load {load[0]:.1f}] {message}", flush=True)


# --------------------------------------------------------------------------------------------
# building the store (in a child process)


def blocks(target: int, block_vessels: int, hours: float,
           mmsi_blocks: list[list[int]]) -> Iterator[Any]:
    """``ReadResult`` chunks of a simulated period, one per block of vessels (the MMSIs of
    each block are appended to ``mmsi_blocks``)."""
    from collections import Counter

    from seawatch import schema
    from seawatch.io.result import ReadResult
    from seawatch.sim import simulate

    used: set[int] = set()
    total = 0
    block = 0
    started = time.perf_counter()
    while total < target:
        scenario = simulate(seed=1000 + block, hours=hours, vessels=block_vessels, noise=False)
        positions, vessels = scenario.positions, scenario.vessels
        fresh = pl.Series(sorted(set(positions["mmsi"].unique().to_list()) - used))
        positions = positions.filter(pl.col("mmsi").is_in(fresh.implode()))
        if total + positions.height > target:  # last block: only the vessels needed
            sizes = positions.group_by("mmsi", maintain_order=True).len()
            need = int(np.searchsorted(np.cumsum(sizes["len"].to_numpy()), target - total)) + 1
            fresh = sizes["mmsi"].head(need)
            positions = positions.filter(pl.col("mmsi").is_in(fresh.implode()))
        vessels = vessels.filter(pl.col("mmsi").is_in(fresh.implode()))
        mmsis = positions["mmsi"].unique().sort().to_list()
        used.update(mmsis)
        mmsi_blocks.append(mmsis)
        total += positions.height
        block += 1
        rate = total / (time.perf_counter() - started)
        left = (target - total) / rate if total < target else 0.0
        log(f"  block {block}: {positions.height:,} positions, {vessels.height:,} identity "
            f"reports (total {total:,} / {target:,}, {len(used):,} vessels; "
            f"about {left / 60:.0f} min of simulation left)")
        yield ReadResult(
            positions=schema.conform(positions, schema.POSITIONS),
            vessels=schema.conform(vessels, schema.VESSELS),
            stats=Counter({"input_bytes": positions.height}),
            sources=[f"simulate_traffic seed {1000 + block - 1}"],
        )


def build_store(store_dir: Path, target: int, block_vessels: int, hours: float,
                detect: bool, detect_blocks: int) -> dict[str, Any]:
    """Simulate, ingest (one input, ``Store.ingest_results``) and detect; return the figures."""
    from seawatch.store import Store

    info: dict[str, Any] = {"target": target, "block_vessels": block_vessels, "hours": hours}
    store = Store(store_dir, create=True)
    label = f"simulate_traffic blocks target={target} vessels={block_vessels} hours={hours}"
    sha = hashlib.sha256(label.encode()).hexdigest()
    started = time.perf_counter()
    mmsi_blocks: list[list[int]] = []
    chunks = blocks(target, block_vessels, hours, mmsi_blocks)
    report = store.ingest_results(
        chunks, name="simulated-day", sha256=sha, size=target,
    )
    info["ingest_s"] = time.perf_counter() - started
    info["ingest_peak_mb"] = peak_mb()
    info["positions"] = report.rows_added["positions"]
    info["identity_rows"] = report.rows_added["vessels"]
    log(f"ingested {info['positions']:,} positions in {info['ingest_s']:.0f} s "
        f"(simulation included), peak {info['ingest_peak_mb']:,.0f} MB")
    if detect:
        started = time.perf_counter()
        events = detect_in_blocks(store, mmsi_blocks, detect_blocks)
        info["detect_s"] = time.perf_counter() - started
        info["events"] = events
        info["detect_vessel_batches"] = -(-len(mmsi_blocks) // detect_blocks)
        info["detect_peak_mb"] = peak_mb()
        log(f"detected {events:,} events in {info['detect_s']:.0f} s, "
            f"peak {info['detect_peak_mb']:,.0f} MB")
    store_info = store.info()
    info["vessels"] = store_info["vessels"]
    info["size_bytes"] = store_info["size_bytes"]
    info["built_at"] = datetime.now(UTC).isoformat()
    return info


def detect_in_blocks(store: Any, mmsi_blocks: list[list[int]], per_batch: int) -> int:
    """All detectors (``detect_all``, as ``seawatch detect``) over the vessels of
    ``per_batch`` simulation blocks at a time, the events written as one table.

    ``detect_store`` reads every position at once (about 10 GB at 50 M positions); batches of
    simulated vessels keep memory to a few GB. Events between vessels of different
    simulation blocks (chance encounters, not planted ones) are not detected.
    """
    from seawatch.detect.run import POSITION_COLUMNS, detect_all

    identity = store.latest_identity()
    parts = []
    for i in range(0, len(mmsi_blocks), per_batch):
        mmsis = [m for block in mmsi_blocks[i:i + per_batch] for m in block]
        positions = (store.positions(mmsi=mmsis).select(list(POSITION_COLUMNS))
                     .collect().sort("mmsi", "ts"))
        vessels = identity.filter(pl.col("mmsi").is_in(pl.Series(mmsis).implode()))
        events = detect_all(positions, vessels)
        parts.append(events)
        log(f"  detection batch {i // per_batch + 1}: {positions.height:,} positions, "
            f"{events.height:,} events")
        del positions
    events = pl.concat(parts) if parts else pl.DataFrame()
    store.write_events(events, {"note": f"bench/api.py: detect_all per {per_batch} "
                                        "simulation blocks of vessels"})
    return events.height


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ensure_store(args: argparse.Namespace) -> tuple[Path, dict[str, Any]]:
    """The store to benchmark and how it was built (building it when needed)."""
    if args.store is not None:
        return args.store, {"how": f"existing store {args.store}"}
    workdir: Path = args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    suffix = "" if args.detect else "-nodetect"
    store_dir = workdir / f"store-{args.build}{suffix}"
    done = workdir / f"store-{args.build}{suffix}.json"
    if done.is_file() and store_dir.is_dir():
        info = json.loads(done.read_text())
        log(f"reusing {store_dir} (built {info.get('built_at')})")
        return store_dir, info
    if store_dir.exists():
        import shutil

        log(f"removing the unfinished {store_dir}")
        shutil.rmtree(store_dir)
    log(f"building {store_dir}: {args.build:,} simulated positions (child process)")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--build-child", str(store_dir),
           "--build", str(args.build), "--block-vessels", str(args.block_vessels),
           "--hours", str(args.hours), "--detect-blocks", str(args.detect_blocks)]
    if not args.detect:
        cmd.append("--no-detect")
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("BUILD ")]
    if proc.returncode != 0 or not lines:
        sys.exit(f"building the store failed (exit {proc.returncode})")
    info = json.loads(lines[-1][len("BUILD "):])
    done.write_text(json.dumps(info, indent=1))
    return store_dir, info


# --------------------------------------------------------------------------------------------
# timing the API


def percentiles(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms)
    return {"n": len(a), "p50": float(np.percentile(a, 50)), "p95": float(np.percentile(a, 95)),
            "max": float(a.max()), "mean": float(a.mean())}


def timed_get(client: Any, url: str, params: dict[str, Any] | None = None) -> tuple[float, Any]:
    start = time.perf_counter()
    response = client.get(url, params=params)
    body = response.content
    ms = (time.perf_counter() - start) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} {params}: {response.status_code} {body[:300]!r}")
    return ms, response


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Workload:
    """Random realistic queries over the store (fixed seed)."""

    def __init__(self, base: str, client: Any, seed: int) -> None:
        self.client = client
        self.base = base
        stats = client.get(base + "/api/v1/stats").json()
        self.first = datetime.fromisoformat(stats["first_ts"].replace("Z", "+00:00"))
        self.last = datetime.fromisoformat(stats["last_ts"].replace("Z", "+00:00"))
        self.stats = stats
        self.rng = np.random.default_rng(seed)
        self._vessels: pl.DataFrame | None = None

    @property
    def vessels(self) -> pl.DataFrame:
        if self._vessels is None:
            doc = self.client.get(self.base + "/api/v1/vessels?format=geojson").json()
            props = [f["properties"] for f in doc["features"]]
            self._vessels = pl.DataFrame(
                {"mmsi": [p["mmsi"] for p in props], "lat": [p["lat"] for p in props],
                 "lon": [p["lon"] for p in props]}
            )
        return self._vessels

    def positions_params(self, box: float, hours: int) -> dict[str, Any]:
        v = self.vessels
        i = int(self.rng.integers(v.height))
        lat, lon = float(v["lat"][i]), float(v["lon"][i])
        # centre near a vessel, jittered by up to half a box
        lat += float(self.rng.uniform(-box / 2, box / 2))
        lon += float(self.rng.uniform(-box / 2, box / 2))
        span = (self.last - self.first).total_seconds() - hours * 3600
        start = self.first + timedelta(seconds=float(self.rng.uniform(0, max(span, 0.0))))
        start = start.replace(microsecond=0)
        bbox = (lon - box / 2, lat - box / 2, lon + box / 2, lat + box / 2)
        return {
            "bbox": ",".join(f"{x:.4f}" for x in bbox),
            "start": iso(start),
            "end": iso(start + timedelta(hours=hours)),
            "limit": 1000,
        }

    def events_params(self) -> dict[str, Any]:
        p = self.positions_params(float(self.rng.choice(BOX_DEG)),
                                  int(self.rng.choice(WINDOW_H)))
        return {"bbox": p["bbox"], "start": p["start"], "end": p["end"]}

    def mmsi(self) -> int:
        return int(self.vessels["mmsi"][int(self.rng.integers(self.vessels.height))])


def run_kinds(work: Workload, n: int, label: str,
              results: dict[str, dict[str, Any]], positions_only: bool = False) -> None:
    """Time ``n`` queries of every kind (positions: ``n`` per box size and window)."""
    base = work.base + "/api/v1"
    for box in BOX_DEG:
        for hours in WINDOW_H:
            ms, totals = [], []
            for _ in range(n):
                params = work.positions_params(box, hours)
                t, r = timed_get(work.client, base + "/positions", params)
                ms.append(t)
                totals.append(r.json()["total"])
            key = f"{label}positions {box:g} deg {hours} h"
            results[key] = {**percentiles(ms), "rows_median": float(np.median(totals))}
            show(key, results[key])
    if positions_only:
        return
    kinds: dict[str, Callable[[], tuple[str, dict[str, Any] | None]]] = {
        "vessels geojson": lambda: ("/vessels", {"format": "geojson"}),
        "track": lambda: (f"/vessels/{work.mmsi()}/track", None),
        "events bbox+window": lambda: ("/events", work.events_params()),
    }
    for name, make in kinds.items():
        ms = []
        for _ in range(n):
            path, params = make()
            t, _ = timed_get(work.client, base + path, params)
            ms.append(t)
        results[label + name] = percentiles(ms)
        show(label + name, results[label + name])


def show(name: str, r: dict[str, Any]) -> None:
    extra = f"  rows (median) {r['rows_median']:>11,.0f}" if "rows_median" in r else ""
    print(f"  {name:<34} n={r['n']:<4} p50 {r['p50']:8.1f} ms  p95 {r['p95']:8.1f} ms  "
          f"max {r['max']:8.1f} ms  p95/target {r['p95'] / TARGET_MS:5.2f}{extra}", flush=True)


def cold_requests(work: Workload) -> dict[str, float]:
    """The first request of each kind on a freshly started server (ms)."""
    base = work.base + "/api/v1"
    out = {}
    t, _ = timed_get(work.client, base + "/vessels", {"format": "geojson"})
    out["vessels geojson"] = t
    t, _ = timed_get(work.client, base + "/positions", work.positions_params(2.0, 6))
    out["positions 2 deg 6 h"] = t
    t, _ = timed_get(work.client, base + f"/vessels/{work.mmsi()}/track")
    out["track"] = t
    t, _ = timed_get(work.client, base + "/events", work.events_params())
    out["events bbox+window"] = t
    return out


def memory() -> dict[str, float]:
    """This process's memory now (MB): resident (``VmRSS``), of which private (``RssAnon``)
    and memory-mapped files (``RssFile``: the query index, page cache shared with the OS),
    and the peak resident since :func:`reset_peak` (``VmHWM``)."""
    out: dict[str, float] = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key = line.split(":")[0]
            if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                out[key] = int(line.split()[1]) / 1024
    return out


def reset_peak() -> None:
    """Start a new peak-resident-memory measurement (Linux ``clear_refs``)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def show_memory(phase: str, figures: dict[str, Any]) -> None:
    m = memory()
    figures.setdefault("memory", {})[phase] = m
    print(f"  memory after {phase}: resident {m.get('VmRSS', 0):,.0f} MB (private "
          f"{m.get('RssAnon', 0):,.0f}, mapped files {m.get('RssFile', 0):,.0f}), peak "
          f"{m.get('VmHWM', 0):,.0f} MB", flush=True)
    reset_peak()


# --------------------------------------------------------------------------------------------
# the map


def map_render(url: str, vessels: int, timeout: float) -> dict[str, float]:
    """Open the map in a fresh headless Chromium; seconds until all vessels are drawn."""
    from tests.web.cdp import Browser

    with Browser(timeout=max(timeout, 30.0)) as browser:
        start = time.perf_counter()
        browser.send("Page.navigate", url=url)
        browser.wait_for("window.seawatch && window.seawatch.ready === true", timeout=timeout,
                         interval=0.02)
        wall = time.perf_counter() - start
        inner = browser.evaluate("window.seawatch.readyAt")
        drawn = browser.evaluate("window.seawatch.state.sources.vessels.features.length")
        rendered = browser.evaluate(
            "window.seawatch.map.queryRenderedFeatures({layers: ['vessels']}).length"
        )
        # where the time went: each API request's start and end on the page's clock (ms)
        requests = browser.evaluate(
            "performance.getEntriesByType('resource').filter(e => e.name.includes('/api/'))"
            ".map(e => [e.name.split('/api/v1/')[1].split('?')[0], Math.round(e.startTime),"
            " Math.round(e.responseEnd), e.encodedBodySize, e.decodedBodySize])"
        )
        errors = browser.errors()
    if drawn != vessels:
        raise RuntimeError(f"the map holds {drawn} vessels, the API {vessels}")
    return {"wall_s": wall, "page_s": (inner or float("nan")) / 1000, "vessels": drawn,
            "rendered_in_view": rendered, "errors": len(errors), "requests": requests}


# --------------------------------------------------------------------------------------------

# --------------------------------------------------------------------------------------------
# a partner agency: concurrent requests through its grants


def make_partner_app(store_dir: Path, workdir: Path) -> tuple[Any, str, dict[str, Any]]:
    """The app over the store with access control, a fresh sharing state in ``workdir``
    (host ECU-NAVY, partner USAF-PARTNER with two grants that release positions) and the
    partner viewer's API token."""
    from seawatch.api.app import create_app
    from seawatch.share.accounts import add_agency, add_user, init_state
    from seawatch.share.db import open_state, utcnow
    from seawatch.share.grants import create_grant
    from seawatch.share.tokens import create_token
    from seawatch.store import Store

    path = workdir / f"partner-state-{os.getpid()}.db"
    path.unlink(missing_ok=True)
    state = open_state(f"sqlite:///{path}")
    init_state(state, "ECU-NAVY")
    add_agency(state, "USAF-PARTNER")
    add_user(state, "partner-viewer", agency="USAF-PARTNER", role="partner_viewer",
             password="bench partner viewer password")
    info = Store(store_dir, create=False).info()
    first, last = info["first_ts"], info["last_ts"]
    middle = first + (last - first) / 2
    now = utcnow()
    grants = [
        create_grant(state, grantor="ECU-NAVY", grantee="USAF-PARTNER",
                     expires_at=now + timedelta(days=1), zone="Galápagos Marine Reserve",
                     include_positions=True, note="bench: a zone, all the data"),
        create_grant(state, grantor="ECU-NAVY", grantee="USAF-PARTNER",
                     expires_at=now + timedelta(days=1), bbox=list(PARTNER_BOX),
                     include_positions=True, data_start=first, data_end=middle,
                     note="bench: a box, the first half of the data"),
    ]
    token = create_token(state, "partner-viewer", name="bench").token
    described = [{"area": g.area_text(), "data_start": str(g.data_start),
                  "data_end": str(g.data_end)} for g in grants]
    return create_app(store_dir, state=state), token, {"grants": described, "state": path}


def partner_requests(n: int, rng: np.random.Generator,
                     total: int) -> list[tuple[str, str, dict[str, Any]]]:
    """``n`` requests of a burst: ``(kind, path, params)``, half statistics, half pages of
    1,000 positions, in turn: the first page, a 2-degree box, a 6-hour window, a page at a
    random offset."""
    out: list[tuple[str, str, dict[str, Any]]] = []
    for i in range(n):
        if i % 2 == 0:
            out.append(("stats", "/api/v1/stats", {}))
            continue
        kind = (i // 2) % 4
        if kind == 0:
            out.append(("positions", "/api/v1/positions", {"limit": 1000}))
        elif kind == 1:
            lon = float(rng.uniform(PARTNER_BOX[0], PARTNER_BOX[2] - 2))
            lat = float(rng.uniform(PARTNER_BOX[1], PARTNER_BOX[3] - 2))
            out.append(("positions", "/api/v1/positions",
                        {"limit": 1000, "bbox": f"{lon:.3f},{lat:.3f},{lon + 2:.3f},"
                                                f"{lat + 2:.3f}"}))
        elif kind == 2:
            out.append(("positions", "/api/v1/positions", {"limit": 1000, "start": "START",
                                                           "hours": 6}))
        else:
            offset = int(rng.integers(0, max(total - 1000, 1)))
            out.append(("positions", "/api/v1/positions", {"limit": 1000, "offset": offset}))
    return out


def run_partner(args: argparse.Namespace, store_dir: Path, figures: dict[str, Any]) -> None:
    """Bursts of ``args.partner`` concurrent requests of one partner viewer (see the
    module's docstring); figures into ``figures["partner"]``."""
    log(f"partner: {args.partner} concurrent requests per burst, {args.partner_bursts} bursts")
    app, token, described = make_partner_app(store_dir, args.workdir)
    state_file: Path = described.pop("state")
    try:
        _run_partner(args, store_dir, figures, app, token, described)
    finally:
        app.state.share.engine.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{state_file}{suffix}").unlink(missing_ok=True)


def _run_partner(args: argparse.Namespace, store_dir: Path, figures: dict[str, Any], app: Any,
                 token: str, described: dict[str, Any]) -> None:
    """:func:`run_partner` once the app is made."""
    import threading

    import httpx

    from seawatch.api.server import ServerThread

    query = app.state.query
    out: dict[str, Any] = {**described, "concurrent": args.partner,
                           "bursts": args.partner_bursts}
    headers = {"Authorization": f"Bearer {token}"}
    rng = np.random.default_rng(args.seed)
    with ServerThread(app=app) as server, httpx.Client(
            timeout=600, headers=headers,
            limits=httpx.Limits(max_connections=args.partner * 2)) as client:
        index = query.position_index
        index.start()
        if not index.wait(args.index_timeout):
            log("partner: the query index is not ready; the plain scans answer")
        out["index_ready"] = index.ready()
        host_stats = store_span(store_dir)
        first = datetime.fromisoformat(host_stats["first_ts"].replace("Z", "+00:00"))
        span_h = max((datetime.fromisoformat(host_stats["last_ts"].replace("Z", "+00:00"))
                      - first).total_seconds() / 3600 - 6, 0.0)
        gc.collect()
        before = memory()
        reset_peak()
        sampled = {"VmRSS": 0.0, "RssAnon": 0.0, "RssFile": 0.0}
        sampling = threading.Event()

        def sample() -> None:  # the split of the peak: private memory, mapped index files
            while not sampling.is_set():
                for key, value in memory().items():
                    if key in sampled:
                        sampled[key] = max(sampled[key], value)
                time.sleep(0.002)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        out["load_start"] = os.getloadavg()
        results: list[tuple[int, str, float, int]] = []  # burst, kind, ms, status
        released = 0
        for burst in range(args.partner_bursts):
            plan = partner_requests(args.partner, rng, max(released, 1))
            for _, _, params in plan:
                if params.get("start") == "START":
                    start = first + timedelta(hours=float(rng.uniform(0, span_h)))
                    params["start"] = iso(start)
                    params["end"] = iso(start + timedelta(hours=params.pop("hours")))
            gate = threading.Barrier(len(plan))
            lock = threading.Lock()

            def send(kind: str, path: str, params: dict[str, Any], burst: int = burst,
                     gate: threading.Barrier = gate, lock: threading.Lock = lock) -> None:
                gate.wait()
                started = time.perf_counter()
                response = client.get(server.url + path, params=params)
                _ = response.content
                ms = (time.perf_counter() - started) * 1000
                with lock:
                    results.append((burst, kind, ms, response.status_code))

            threads = [threading.Thread(target=send, args=item) for item in plan]
            started = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - started
            if burst == 0:
                stats = client.get(server.url + "/api/v1/stats").json()
                released = int(stats["positions"])
                out["released"] = {k: stats[k] for k in ("positions", "vessels", "first_ts",
                                                         "last_ts")}
                log(f"partner: the grants release {released:,} positions of "
                    f"{stats['vessels']:,} vessels")
            mine = [r for r in results if r[0] == burst]
            log(f"  burst {burst + 1}{' (cold)' if burst == 0 else ''}: {wall * 1000:.0f} ms "
                f"wall, slowest {max(r[2] for r in mine):.0f} ms, statuses "
                f"{sorted({r[3] for r in mine})}")
        after = memory()
        sampling.set()
        sampler.join()
        out["load_end"] = os.getloadavg()
    growth = after.get("VmHWM", 0.0) - before.get("VmRSS", 0.0)
    out["rss_before_mb"] = before.get("VmRSS")
    out["peak_mb"] = after.get("VmHWM")
    out["peak_growth_mb"] = growth
    out["sampled_peak_growth_mb"] = {
        k: sampled[k] - before.get(k, 0.0) for k in ("VmRSS", "RssAnon", "RssFile")}
    ok = [r for r in results if r[3] == 200]
    out["refused"] = sum(1 for r in results if r[3] == 503)
    out["errors"] = sum(1 for r in results if r[3] not in (200, 503))
    table: dict[str, Any] = {}
    for label, rows in (("all", ok), ("stats", [r for r in ok if r[1] == "stats"]),
                        ("positions", [r for r in ok if r[1] == "positions"]),
                        ("cold burst", [r for r in ok if r[0] == 0]),
                        ("warm bursts", [r for r in ok if r[0] > 0])):
        if rows:
            table[label] = percentiles([r[2] for r in rows])
    out["latency_ms"] = table
    figures["partner"] = out
    print("\npartner bursts")
    for label, r in table.items():
        print(f"  {label:<12} n={r['n']:<4} p50 {r['p50']:8.1f} ms  p95 {r['p95']:8.1f} ms  "
              f"max {r['max']:8.1f} ms  p95/target {r['p95'] / PARTNER_TARGET_MS:5.2f}")
    print(f"  refused (503): {out['refused']}, other errors: {out['errors']}")
    split = out["sampled_peak_growth_mb"]
    print(f"  resident before {out['rss_before_mb']:,.0f} MB, peak {out['peak_mb']:,.0f} MB: "
          f"growth {growth:,.0f} MB (target {PARTNER_RSS_MB:.0f} MB: ratio "
          f"{growth / PARTNER_RSS_MB:.2f}); sampled every 2 ms, the peaks grew by "
          f"{split['RssAnon']:,.0f} MB of private memory and {split['RssFile']:,.0f} MB of "
          f"memory-mapped index files (page cache)")
    print(f"  load average {tuple(round(x, 2) for x in out['load_start'])} at start, "
          f"{tuple(round(x, 2) for x in out['load_end'])} at the end; {os.cpu_count()} CPUs")


def store_span(store_dir: Path) -> dict[str, Any]:
    """The host's view of the store's time span (ISO text)."""
    from seawatch.store import Store
    from seawatch.units import format_time

    info = Store(store_dir, create=False).info()
    return {"first_ts": format_time(info["first_ts"]), "last_ts": format_time(info["last_ts"])}



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=None, help="an existing store to use")
    parser.add_argument("--build", type=int, default=50_000_000,
                        help="positions to simulate when no --store is given")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/seawatch-bench-api"),
                        help="where built stores are kept (reused by a later run)")
    parser.add_argument("--block-vessels", type=int, default=1000,
                        help="vessels per simulated block")
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours")
    parser.add_argument("--no-detect", dest="detect", action="store_false",
                        help="do not run detection on a built store")
    parser.add_argument("--detect-blocks", type=int, default=4,
                        help="simulation blocks of vessels per detection batch")
    parser.add_argument("--queries", type=int, default=40,
                        help="warm queries per kind (and per box size and window)")
    parser.add_argument("--plain", type=int, default=0,
                        help="also time this many positions queries per box and window with "
                        "the query index disabled (the plain scan)")
    parser.add_argument("--map-runs", type=int, default=3, help="warm map loads")
    parser.add_argument("--no-map", dest="map", action="store_false", help="skip the map")
    parser.add_argument("--seed", type=int, default=7, help="seed of the random queries")
    parser.add_argument("--index-timeout", type=float, default=1800.0,
                        help="seconds to wait for the query index")
    parser.add_argument("--rebuild-index", action="store_true",
                        help="delete the store's query index first (time its build)")
    parser.add_argument("--partner", type=int, default=16,
                        help="concurrent requests per burst of the partner phase (0: skip it)")
    parser.add_argument("--partner-bursts", type=int, default=6,
                        help="bursts of the partner phase (the first on cold caches)")
    parser.add_argument("--partner-only", action="store_true",
                        help="run only the partner phase (no host queries, no map)")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument("--build-child", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.build_child is not None:
        info = build_store(args.build_child, args.build, args.block_vessels, args.hours,
                           args.detect, args.detect_blocks)
        print("BUILD " + json.dumps(info), flush=True)
        return
    run(args)


def run(args: argparse.Namespace) -> None:
    import httpx

    from seawatch.api.server import ServerThread

    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    store_dir, built = ensure_store(args)
    figures: dict[str, Any] = {"store": str(store_dir), "built": built,
                               "load_start": os.getloadavg(), "cpus": os.cpu_count()}
    if args.partner_only:
        args.workdir.mkdir(parents=True, exist_ok=True)
        run_partner(args, store_dir, figures)
        if args.json is not None:
            args.json.write_text(json.dumps(figures, indent=1, default=str))
        return
    results: dict[str, dict[str, Any]] = {}
    from seawatch.store.posindex import INDEX_FOLDER

    index_dir = store_dir / INDEX_FOLDER
    if args.rebuild_index and index_dir.exists():
        import shutil

        log(f"deleting {index_dir}")
        shutil.rmtree(index_dir)
    figures["index_on_disk_at_start"] = index_dir.exists()

    # ---- cold server: first request of each kind, then the index, then warm queries
    reset_peak()
    log("starting the server (caches cold, query index not built)")
    started = time.perf_counter()
    app = make_app(store_dir)
    query = app.state.query
    with ServerThread(app=app) as server, httpx.Client(timeout=600) as client:
        figures["app_start_s"] = time.perf_counter() - started
        work = Workload(server.url, client, args.seed)
        stats = work.stats
        figures["stats"] = {k: stats[k] for k in ("positions", "vessels", "events", "first_ts",
                                                  "last_ts", "size_bytes", "days")}
        log(f"store: {stats['positions']:,} positions, {stats['vessels']:,} vessels, "
            f"{stats['events']:,} events, {stats['size_bytes'] / 1e9:.2f} GB, "
            f"{stats['first_ts']} to {stats['last_ts']}")
        cold = cold_requests(work)
        figures["cold_ms"] = cold
        for name, ms in cold.items():
            print(f"  cold {name:<29} {ms:10.1f} ms", flush=True)
        index = getattr(query, "position_index", None)
        if index is not None:
            log("waiting for the query index")
            t0 = time.perf_counter()
            index.start()
            if not index.wait(args.index_timeout):
                log("the query index is not ready; timing the fallback")
            figures["index_wait_s"] = time.perf_counter() - t0
            figures["index"] = index.describe()
            log(f"query index: {figures['index']}")
        gc.collect()
        show_memory("cold requests and the index build", figures)
        log(f"warm: {args.queries} queries per kind")
        run_kinds(work, args.queries, "", results)
        show_memory("warm queries", figures)
        if args.plain:
            log(f"plain scan (index disabled): {args.plain} queries per box and window")
            saved = query.use_position_index
            query.use_position_index = False
            try:
                run_kinds(work, args.plain, "plain ", results, positions_only=True)
            finally:
                query.use_position_index = saved
            show_memory("plain-scan queries", figures)
        all_ms_p95 = max(r["p95"] for k, r in results.items() if k.startswith("positions "))
        figures["positions_worst_p95_ms"] = all_ms_p95
        if args.map:
            query.warm()  # what `seawatch serve` does at start: land, zones, vessels, stats
            n_map = work.vessels.height
            if n_map < MAP_VESSELS:
                log(f"only {n_map:,} vessels with a position (< {MAP_VESSELS:,})")
            runs = []
            for i in range(args.map_runs):
                r = map_render(server.url + "/", n_map, timeout=600)
                runs.append(r)
                log(f"map (warm server) run {i + 1}: all {r['vessels']:,} vessels drawn in "
                    f"{r['wall_s']:.2f} s from navigation ({r['page_s']:.2f} s page clock), "
                    f"{r['rendered_in_view']:,} in view")
                show_requests(r)
            figures["map_warm"] = runs
            show_memory("map loads (warm server)", figures)
    figures["results"] = results

    if args.map:
        log("map against a freshly started server (caches cold)")
        app2 = make_app(store_dir)
        with ServerThread(app=app2) as server2:
            r = map_render(server2.url + "/", n_map, timeout=900)
        figures["map_cold"] = r
        log(f"map (cold server): all {r['vessels']:,} vessels drawn in {r['wall_s']:.2f} s")
        show_requests(r)
        show_memory("map load (cold server, two apps in the process)", figures)
    if args.partner:
        args.workdir.mkdir(parents=True, exist_ok=True)
        run_partner(args, store_dir, figures)
    figures["load_end"] = os.getloadavg()
    figures["peak_rss_mb"] = max(
        [m.get("VmHWM", 0.0) for m in figures.get("memory", {}).values()] or [peak_mb()]
    )
    summary(figures)
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=1, default=str))


def show_requests(r: dict[str, Any]) -> None:
    for name, start, end, encoded, decoded in r["requests"]:
        print(f"    {name:<24} {start:>6} ms -> {end:>6} ms  {encoded / 1e6:6.2f} MB on the wire, "
              f"{decoded / 1e6:6.2f} MB", flush=True)


def summary(f: dict[str, Any]) -> None:
    print("\nsummary")
    s = f["stats"]
    print(f"  store: {s['positions']:,} positions, {s['vessels']:,} vessels, "
          f"{s['events']:,} events, {s['size_bytes'] / 1e9:.2f} GB; built: "
          f"{f['built'].get('how', 'simulate_traffic blocks + Store.ingest_results')}")
    if "index" in f:
        ix = f["index"]
        print(f"  query index: {ix['rows']:,} rows, {ix['groups']:,} groups, "
              f"{ix['bytes'] / 1e9:.2f} GB on disk, ready {f['index_wait_s']:.0f} s after the "
              f"first request (on disk at start: {f['index_on_disk_at_start']})")
    results = f["results"]
    print(f"\n  | query | rows matched (median) | p50 | p95 | max | p95 / {TARGET_MS:.0f} ms "
          "| plain scan p50 / p95 |")
    print("  |---|---|---|---|---|---|---|")
    for key, r in results.items():
        if key.startswith("plain "):
            continue
        plain = results.get("plain " + key)
        rows = f"{r['rows_median']:,.0f}" if "rows_median" in r else ""
        ps = f"{plain['p50']:,.0f} / {plain['p95']:,.0f} ms" if plain else ""
        print(f"  | {key} | {rows} | {r['p50']:.1f} ms | {r['p95']:.1f} ms | {r['max']:.0f} ms "
              f"| {r['p95'] / TARGET_MS:.2f} | {ps} |")
    print("\n  first request of each kind on a freshly started server: " + ", ".join(
        f"{k} {v:,.0f} ms" for k, v in f["cold_ms"].items()))
    worst = f["positions_worst_p95_ms"]
    print(f"  positions bbox+window, worst p95 over box sizes and windows: {worst:.1f} ms "
          f"(target {TARGET_MS:.0f} ms: ratio {worst / TARGET_MS:.2f})")
    if "map_warm" in f:
        walls = [r["wall_s"] for r in f["map_warm"]]
        print(f"  map: {f['map_warm'][0]['vessels']:,} vessels drawn in "
              f"{np.median(walls):.2f} s (median of {len(walls)}: "
              f"{', '.join(f'{w:.2f}' for w in walls)} s; warm server); "
              f"{f['map_cold']['wall_s']:.2f} s on a cold server")
    print(f"  load average {tuple(round(x, 2) for x in f['load_start'])} at start, "
          f"{tuple(round(x, 2) for x in f['load_end'])} at the end; {f['cpus']} CPUs; "
          f"peak RSS of the whole run {f['peak_rss_mb']:,.0f} MB")
    for phase, m in f.get("memory", {}).items():
        print(f"  memory, {phase}: peak {m.get('VmHWM', 0):,.0f} MB; then resident "
              f"{m.get('VmRSS', 0):,.0f} MB = private {m.get('RssAnon', 0):,.0f} + mapped files "
              f"{m.get('RssFile', 0):,.0f}")


if __name__ == "__main__":
    main()
