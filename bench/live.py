"""Benchmark: ``seawatch live`` fed over UDP at a fixed rate -- latency, loss, memory.

A ``seawatch live --listen udp://127.0.0.1:PORT`` subprocess (fsync on, the service's
defaults but for :data:`DEFAULT_SETTINGS` and ``--set`` given here) receives single-sentence
AIS position reports, one datagram each, at ``--rate`` messages per second for
``--seconds``; then, on the same service, short steps at ``--steps`` (default 10k, 20k, 50k,
100k msg/s, ``--step-seconds`` each) find the rate where loss starts. Every sentence is
unique (its own vessel position) and carries its index in its tag block
(``\\s:bench,c:<time>,n:<index>*hh\\``), so the bench can tell which sentence reached which
stage and when:

- **logged**: the sentence's record is in the write-ahead log. The bench reads the log's
  segment files as they grow (every ``POLL_S``); a batch is written and fsynced in one step,
  so this is the moment of its write, the fsync following within milliseconds (the service
  acknowledges after the fsync).
- **in the store**: the compaction holding the sentence's record is committed, as a reader
  sees it -- a :class:`seawatch.store.Store` opened afterwards (``seawatch serve``'s
  ``/api/v1/positions`` reads the same snapshot). The bench polls the store's manifest for the
  ``live:`` entries (:func:`seawatch.live.compact.compacted_ranges`) and maps each range back
  to the sentences of its records; at the end the store's position rows are counted too.
- **event on the API** (:class:`ApiProbe`, with ``--api``, the default of the command): a
  ``seawatch serve --auth local`` subprocess on the store, polled every :data:`API_POLL_S`
  for ``GET /api/v1/events`` of the zone crossings. In the main run, :data:`PLANT_PER_S`
  sentences a second are **planted**: :data:`PLANTED` vessels each stepping, every
  ``PLANTED / PLANT_PER_S`` seconds, from one side of the shipped zone
  :data:`PLANT_ZONE`'s boundary to the other (a few hundred metres: one vessel's track, as
  the segmenter sees it), so that each of their sentences after the first makes a
  ``zone_entry`` or ``zone_exit``; an event is mapped back to its sentence by vessel and
  time. This is the issue's "arrival to event visible" latency: through the hot path
  (``seawatch.live.hot``) before the store, or the store's detection run without it.
  A :class:`Probe` is polled with the others and returns ``(indices, when)`` of the
  sentences it saw reach its stage (``when`` one time, or one per index).

Latency is from the send time of a sentence (the bench's clock at ``sendto``; the service
runs on the same machine) to the poll that found it at a stage, so it is exact up to
``POLL_S`` for "logged" and ``STORE_POLL_S`` for "in the store". Lost = sent and never
logged (UDP on one machine loses nothing on the wire: a loss is a datagram the kernel
dropped because the service fell behind, or one it refused, ``dropped_records``). Resident
memory of the service is sampled from ``/proc/PID/status`` every second; growth is the
lowest sample of the last tenth of the main run against the lowest of the tenth after
warm-up (``--warmup`` seconds): the memory kept between compactions, whose peaks (printed
as the maximum) would otherwise decide the figure by where they fall. The service's child
processes (the hot path's, ``[live] hot_process``) are sampled beside it and their maximum
printed apart.

Targets (issue 15): p99 < 1 s, no loss at 10,000 msg/s, memory growth < 5 % after warm-up.
The machine's load average is printed before and after: the figures depend on it.

Run: ``python bench/live.py [--rate 10000] [--seconds 600] [--steps 10000,20000,50000,100000]
[--step-seconds 10] [--set KEY=VALUE ...] [--json OUT] [--no-api]``; ``--seconds 30`` is a
quick run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

POLL_S = 0.005
"""How often the log's segment files are read for new records."""
STORE_POLL_S = 0.25
"""How often the store's manifest is read for new compactions."""
RSS_EVERY_S = 1.0
CHUNK_S = 1.0
"""Sentences are made one second of traffic at a time, ahead of sending."""
VESSELS = 5000
DEFAULT_SETTINGS = ["compact_every_s=10"]
"""The bench compacts every 10 s (the service's default is 60 s) so that a short run sees
several compactions; a later ``--set compact_every_s=...`` wins."""
PLANTED = 100
"""Vessels of the planted zone crossings (MMSIs from :data:`PLANT_MMSI`)."""
PLANT_PER_S = 50
"""Planted sentences a second (of the main run's rate): each vessel steps every 2 s."""
PLANT_MMSI = 735_100_000
PLANT_ZONE = "Ecuador territorial sea"
"""The shipped zone whose boundary the planted vessels cross (near the bench's traffic)."""
PLANT_STEP_DEG = 0.002
"""How far (degrees of longitude) either side of the boundary a planted vessel steps."""
API_POLL_S = 0.05
"""How often the API probe asks ``/api/v1/events``."""
TARGET_P99_S = 1.0
TARGET_GROWTH = 0.05
_INDEX = re.compile(rb",n:(\d+)\*")


# -- traffic ---------------------------------------------------------------------------------
def _xor_rows(a: np.ndarray) -> np.ndarray:
    return np.bitwise_xor.reduce(a, axis=1)


@dataclass
class Plant:
    """The planted zone crossings of one phase: sentence ``first + m * every`` is planted;
    its vessel is ``m % PLANTED``, its step ``m // PLANTED`` (inside the zone when odd)."""

    first: int
    count: int
    every: int
    places: np.ndarray
    """(PLANTED, 3): latitude, longitude inside, longitude outside, per vessel."""

    def of(self, i: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Which of the sentences ``i`` are planted, and their MMSI, latitude, longitude."""
        m, r = np.divmod(i - self.first, self.every)
        hit = (r == 0) & (m >= 0) & (i < self.first + self.count)
        j, k = m % PLANTED, m // PLANTED
        lat = self.places[j, 0] + k * 1e-5  # every position its own (the store keeps all)
        lon = np.where(k % 2 == 1, self.places[j, 1], self.places[j, 2])
        return hit, PLANT_MMSI + j, lat, lon

    def crossings(self, t0: float, rate: float) -> dict[tuple[int, int], int]:
        """(MMSI, epoch second) -> the sentence whose position makes the crossing (each
        planted one but a vessel's first)."""
        i = np.arange(self.first, self.first + self.count, self.every, dtype=np.int64)
        m = (i - self.first) // self.every
        keep = m >= PLANTED
        i, m = i[keep], m[keep]
        second = np.floor(t0 + i / rate).astype(np.int64)
        return {(int(PLANT_MMSI + a), int(b)): int(c)
                for a, b, c in zip(m % PLANTED, second, i, strict=True)}


def boundary_places(n: int) -> np.ndarray:
    """``n`` places on :data:`PLANT_ZONE`'s western boundary between 1.9 and 1.1 S: the
    latitude, a longitude :data:`PLANT_STEP_DEG` inside the zone and one outside."""
    import shapely

    from seawatch.geo import default_zones

    zone = next(z for z in default_zones() if z.name == PLANT_ZONE).geometry
    out = []
    for lat in np.linspace(-1.9, -1.1, n):
        lons = np.arange(-84.0, -79.0, 0.005)
        inside = shapely.contains_xy(zone, lons, np.full(lons.size, lat))
        first = int(np.argmax(inside))  # the westernmost point inside
        lo, hi = lons[first - 1], lons[first]
        for _ in range(40):
            mid = (lo + hi) / 2
            lo, hi = (lo, mid) if shapely.contains_xy(zone, mid, lat) else (mid, hi)
        out.append((lat, hi + PLANT_STEP_DEG, lo - PLANT_STEP_DEG))
    places = np.array(out)
    assert shapely.contains_xy(zone, places[:, 1], places[:, 0]).all()
    assert not shapely.contains_xy(zone, places[:, 2], places[:, 0]).any()
    return places


def sentences(first: int, n: int, t0: float, rate: float,
              plant: Plant | None = None) -> list[bytes]:
    """Sentences ``first .. first + n - 1``: one position report each, every vessel moving
    along its own line (unique positions: the store keeps every one), tag block with the
    sentence's time (seconds) and index; the planted ones (``plant``) crossing a zone."""
    import polars as pl

    from seawatch.io.nmea.encode import encode_lines

    i = np.arange(first, first + n, dtype=np.int64)
    vessel, k = i % VESSELS, i // VESSELS
    ts = (t0 + i / rate) * 1e6
    mmsi = 735_000_000 + vessel
    lat = -2.0 + (vessel % 100) * 0.02 + k * 2e-5
    lon = -82.0 + (vessel // 100) * 0.02 + k * 1e-5
    if plant is not None:
        hit, p_mmsi, p_lat, p_lon = plant.of(i)
        mmsi, lat, lon = (np.where(hit, a, b) for a, b in
                          ((p_mmsi, mmsi), (p_lat, lat), (p_lon, lon)))
    frame = pl.DataFrame({
        "mmsi": mmsi, "ts": ts.astype(np.int64), "lat": lat, "lon": lon,
        "sog": np.full(n, 9.0), "cog": np.full(n, 26.0), "msg_type": np.ones(n, np.int64),
    }).with_columns(pl.col("ts").cast(pl.Datetime("us", "UTC")))
    lines = encode_lines(frame, None, tag_blocks=False).splitlines(keepends=True)
    # tag blocks of one width, their checksums computed on the whole array
    bodies = np.array([b"s:bench,c:%010d,n:%010d" % (int(t // 1e6), j)
                       for t, j in zip(ts, i, strict=True)])
    width = bodies.dtype.itemsize
    sums = _xor_rows(np.frombuffer(bodies.tobytes(), np.uint8).reshape(n, width))
    return [b"\\" + body + b"*%02X\\" % s + line
            for body, s, line in zip(bodies.tolist(), sums.tolist(), lines, strict=True)]


# -- stages ----------------------------------------------------------------------------------
class Probe(Protocol):
    """A stage a sentence reaches: :meth:`poll` returns the indices of the sentences seen
    there since the last poll (and the moment they were seen)."""

    name: str

    def poll(self) -> tuple[np.ndarray, float]: ...


@dataclass
class WalProbe:
    """Sentences whose record is in the log (the segment files read as they grow)."""

    folder: Path
    name: str = "logged"
    segment: int = -1
    offset: int = 0
    records: list[tuple[tuple[int, int], np.ndarray]] = field(default_factory=list)
    """(position after the record, its sentence indices), kept until the store has it."""
    missed_segments: int = 0

    def poll(self) -> tuple[np.ndarray, float]:
        from seawatch.live.wal import HEADER, scan

        got: list[np.ndarray] = []
        now = time.monotonic()
        segments = sorted(int(p.stem) for p in self.folder.glob("*.wal"))
        for seq in segments:  # the rest of the segment read last, then any newer ones
            if seq < self.segment:
                continue
            if seq > self.segment:
                if self.segment >= 0 and seq > self.segment + 1:
                    self.missed_segments += seq - self.segment - 1
                self.segment, self.offset = seq, HEADER.size
            try:
                with open(self.folder / f"{seq:016d}.wal", "rb") as fh:
                    fh.seek(self.offset)
                    data = fh.read()
            except FileNotFoundError:
                self.missed_segments += 1
                continue
            done = 0
            for stop, record in scan(data, 0, len(data)):
                idx = np.array(_INDEX.findall(record.data), dtype=bytes).astype(np.int64)
                self.records.append(((seq, self.offset + stop), idx))
                got.append(idx)
                done = stop
            self.offset += done
        return (np.concatenate(got) if got else np.empty(0, np.int64)), now


@dataclass
class StoreProbe:
    """Sentences whose compaction is committed to the store."""

    store: Path
    wal: WalProbe
    wal_id: str | None = None
    name: str = "in the store"
    committed: tuple[int, int] = (0, 0)

    def poll(self) -> tuple[np.ndarray, float]:
        from seawatch.live.compact import compacted_ranges
        from seawatch.store import Store

        now = time.monotonic()
        if self.wal_id is None:
            with contextlib.suppress(OSError):
                self.wal_id = (self.wal.folder / "WAL-ID").read_text().strip()
            if self.wal_id is None:
                return np.empty(0, np.int64), now
        try:
            ranges = compacted_ranges(Store(self.store), self.wal_id)
        except Exception:
            return np.empty(0, np.int64), now
        if not ranges:
            return np.empty(0, np.int64), now
        end = max(e for _, e in ranges)
        self.committed = (end.segment, end.offset)
        got = [idx for pos, idx in self.wal.records if pos <= self.committed]
        self.wal.records = [(pos, idx) for pos, idx in self.wal.records if pos > self.committed]
        return (np.concatenate(got) if got else np.empty(0, np.int64)), now


class ApiProbe:
    """Planted sentences whose zone crossing ``GET /api/v1/events`` of a ``seawatch serve``
    lists (polled every :data:`API_POLL_S` in a thread of its own; each event timed when
    the answer listing it came)."""

    name = "event on the API"

    def __init__(self, url: str, crossings: dict[tuple[int, int], int]) -> None:
        self.url = url
        self.crossings = crossings
        self.found: list[tuple[int, float]] = []
        self.seen: set[int] = set()
        self.errors = 0
        self.request_s: list[float] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        import urllib.parse
        import urllib.request
        from datetime import UTC, datetime

        while not self.stop.is_set():
            since = datetime.fromtimestamp(time.time() - 120, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            query = urllib.parse.urlencode({"type": "zone_entry,zone_exit", "zone": PLANT_ZONE,
                                            "start": since, "limit": 10_000})
            asked = time.monotonic()
            try:
                with urllib.request.urlopen(f"{self.url}/api/v1/events?{query}",
                                            timeout=10) as answer:
                    items = json.load(answer)["items"]
                self.request_s.append(time.monotonic() - asked)
            except (OSError, ValueError):
                self.errors += 1
                time.sleep(API_POLL_S)
                continue
            now = time.monotonic()
            got = []
            for e in items:
                when = datetime.fromisoformat(e["start"].replace("Z", "+00:00")).timestamp()
                i = self.crossings.get((int(e["mmsi"]), int(when)))
                if i is not None and i not in self.seen:
                    self.seen.add(i)
                    got.append((i, now))
            with self.lock:
                self.found.extend(got)
            time.sleep(API_POLL_S)

    def poll(self) -> tuple[np.ndarray, Any]:
        with self.lock:
            found, self.found = self.found, []
        return (np.array([i for i, _ in found], dtype=np.int64),
                np.array([t for _, t in found], dtype=float))

    def close(self) -> None:
        self.stop.set()
        self.thread.join(15)


def start_server(store: Path, work: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes],
                                                                         str, Any]:
    """``seawatch serve --auth local`` on ``store`` (a free port of 127.0.0.1), once it
    answers."""
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = open(work / "serve.log", "wb")  # noqa: SIM115 - closed by the caller
    proc = subprocess.Popen(
        [sys.executable, "-c", "from seawatch.cli import main; main()", "serve", "--store",
         str(store), "--port", str(port), "--auth", "local"], env=env, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/v1/events?limit=1", timeout=5):
                return proc, url, out
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("seawatch serve did not start: "
                                 + (work / "serve.log").read_text()) from None
            time.sleep(0.2)


# -- the run ---------------------------------------------------------------------------------
@dataclass
class Phase:
    rate: float
    seconds: float
    first: int = 0
    sent: int = 0
    send_s: float = 0.0


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def children_rss_kib(pid: int) -> int:
    """The resident memory of the processes ``pid`` started (the hot path's, with ``[live]
    hot_process``), summed; 0 without."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:  # field 4 of stat, after the command's parenthesis: the parent's pid
            parent = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid:
            total += rss_kib(int(entry)) or 0
    return total


def send_phase(sock: socket.socket, address: Any, phase: Phase, sent_at: np.ndarray,
               t0: float, plant: Plant | None = None) -> None:
    """Send ``phase.rate`` sentences a second for ``phase.seconds``; their send times (the
    monotonic clock) into ``sent_at``."""
    total = int(phase.rate * phase.seconds)
    per_chunk = max(int(phase.rate * CHUNK_S), 1)
    made: queue.Queue[list[bytes]] = queue.Queue(maxsize=3)

    def make() -> None:
        for a in range(0, total, per_chunk):
            made.put(sentences(phase.first + a, min(per_chunk, total - a), t0, phase.rate,
                               plant))

    maker = threading.Thread(target=make, daemon=True)
    maker.start()
    lines: list[bytes] = []
    base = 0  # index (in the phase) of lines[0]
    done = 0
    started = time.monotonic()
    while done < total:
        due = min(int((time.monotonic() - started) * phase.rate) + 1, total)
        while done < due:
            if done - base >= len(lines):
                base += len(lines)
                lines = made.get()
            upto = min(due, base + len(lines))
            now = time.monotonic()
            for k in range(done - base, upto - base):
                sock.sendto(lines[k], address)
            sent_at[phase.first + done : phase.first + upto] = now
            done = upto
        time.sleep(0.001)
    phase.sent = total
    phase.send_s = time.monotonic() - started


def percentiles(values: np.ndarray) -> tuple[float, float, float]:
    if values.size == 0:
        return float("nan"), float("nan"), float("nan")
    p50, p99 = np.percentile(values, [50, 99])
    return float(p50), float(p99), float(values.max())


def run(rate: float, seconds: float, steps: list[float], step_seconds: float,
        settings: list[str], warmup: float, probes: list[Probe] | None = None,
        quiet: bool = False, api: bool = False, detect: bool = True) -> dict[str, Any]:
    """One benchmark run (see the module docstring); the figures as a dict. ``detect``
    False runs the service with ``--no-detect`` (the compaction path alone)."""
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    work = Path(tempfile.mkdtemp(prefix="seawatch-live-bench-"))
    store = work / "store"
    live = store / "live"
    phases = [Phase(rate, seconds)] + [Phase(r, step_seconds) for r in steps]
    first = 0
    for ph in phases:
        ph.first = first
        first += int(ph.rate * ph.seconds)
    total = first
    sent_at = np.full(total, np.nan)
    seen: dict[str, np.ndarray] = {}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-c", "from seawatch.cli import main; main()", "live", "--store",
           str(store), "--listen", "udp://127.0.0.1:0", "--set", "status_every_s=1"]
    for s in settings:
        cmd += ["--set", s]
    if not detect:
        cmd.append("--no-detect")
    log = open(work / "live.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=log)
    load_before = os.getloadavg()
    plant = Plant(0, int(rate * seconds), max(int(rate / PLANT_PER_S), 1),
                  boundary_places(PLANTED)) if api else None
    server: subprocess.Popen[bytes] | None = None
    server_log = None
    api_probe: ApiProbe | None = None
    rss: list[tuple[float, int]] = []
    runs: dict[str, dict[float, dict[str, Any]]] = {"compaction": {}, "detection": {}}
    child_rss: list[int] = []  # the service's children (the hot path's process)
    stop = threading.Event()
    try:
        deadline = time.monotonic() + 120
        address = None
        while address is None:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"seawatch live did not start: {(work / 'live.log').read_text()}")
            with contextlib.suppress(OSError, ValueError, KeyError, IndexError):
                st = json.loads((live / "status.json").read_text())
                host, port = st["feeds"][0]["address"].rsplit("/", 1)[1].rsplit(":", 1)
                address = (host, int(port))
            time.sleep(0.05)
        wal = WalProbe(live / "wal")
        if plant is not None:
            server, url, server_log = start_server(store, work, env)
        t0 = time.time()
        if plant is not None:
            api_probe = ApiProbe(url, plant.crossings(t0, rate))
        all_probes: list[Probe] = [wal, StoreProbe(store, wal), *(probes or []),
                                   *([api_probe] if api_probe is not None else [])]
        for p in all_probes:
            seen[p.name] = np.full(total, np.nan)
        started = time.monotonic()

        def watch() -> None:
            next_store = 0.0
            next_rss = 0.0
            while not stop.is_set():
                now = time.monotonic()
                for p in all_probes:
                    if isinstance(p, WalProbe | ApiProbe) or now >= next_store:
                        idx, when = p.poll()
                        arr = seen[p.name]
                        if isinstance(when, np.ndarray):  # one time per index
                            keep = (idx >= 0) & (idx < total)
                            idx, when = idx[keep], when[keep]
                            fresh = np.isnan(arr[idx])
                            arr[idx[fresh]] = when[fresh]
                            continue
                        idx = idx[(idx >= 0) & (idx < total)]
                        new = idx[np.isnan(arr[idx])]
                        arr[new] = when
                if now >= next_store:
                    next_store = now + STORE_POLL_S
                if now >= next_rss:
                    next_rss = now + RSS_EVERY_S
                    kib = rss_kib(proc.pid)
                    if kib is not None:
                        rss.append((now - started, kib))
                        child_rss.append(children_rss_kib(proc.pid))
                    _note_runs(live / "status.json", runs, now - started)
                time.sleep(POLL_S)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        main_end = 0.0
        for ph in phases:
            say(f"sending {ph.rate:,.0f} msg/s for {ph.seconds:g} s ...")
            send_phase(sock, address, ph, sent_at, t0, plant if ph is phases[0] else None)
            # drain: until the log has every sentence of the phase or nothing new for 3 s
            last, quiet_since = -1, time.monotonic()
            while time.monotonic() - quiet_since < 3:
                got = int(np.count_nonzero(~np.isnan(
                    seen["logged"][ph.first : ph.first + ph.sent])))
                if got == ph.sent:
                    break
                if got != last:
                    last, quiet_since = got, time.monotonic()
                time.sleep(0.05)
            t0 += ph.seconds  # the next phase's sentence times follow on
            if ph is phases[0]:
                main_end = time.monotonic() - started
        # the store: wait for a compaction that covers everything logged
        compact_every = _setting(settings, "compact_every_s", 60.0)
        deadline = time.monotonic() + compact_every + 60
        logged = ~np.isnan(seen["logged"])
        while time.monotonic() < deadline:
            if not np.any(logged & np.isnan(seen["in the store"])):
                break
            time.sleep(0.1)
        stop.set()
        watcher.join(10)
        sock.close()
        status = json.loads((live / "status.json").read_text())
    finally:
        stop.set()
        if api_probe is not None:
            api_probe.close()
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(60)
            except subprocess.TimeoutExpired:
                server.kill()
        if server_log is not None:
            server_log.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(300)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()
    load_after = os.getloadavg()
    rows = _store_rows(store)

    out: dict[str, Any] = {
        "rate": rate, "seconds": seconds, "settings": settings, "main_end_s": main_end,
        "load_before": load_before, "load_after": load_after, "phases": [],
        "dropped_records": status.get("dropped_records"), "store_rows": rows,
        "compactions": status.get("compactions"), "last_compaction": status.get("last_compaction"),
        "sent_total": int(np.count_nonzero(~np.isnan(sent_at))),
        "hot": status.get("hot"),
        "planted_crossings": 0 if plant is None else len(plant.crossings(t0, rate)),
        "api_errors": 0 if api_probe is None else api_probe.errors,
        "api_request_s": None if api_probe is None or not api_probe.request_s else
        percentiles(np.array(api_probe.request_s)),
    }
    for k, ph in enumerate(phases):
        sl = slice(ph.first, ph.first + ph.sent)
        row: dict[str, Any] = {"rate": ph.rate, "seconds": ph.seconds, "sent": ph.sent,
                               "send_rate": ph.sent / ph.send_s if ph.send_s else 0.0}
        for name, arr in seen.items():
            lat = arr[sl] - sent_at[sl]
            got = ~np.isnan(lat)
            p50, p99, worst = percentiles(lat[got])
            row[name] = {"count": int(got.sum()), "p50_s": p50, "p99_s": p99, "max_s": worst}
        row["lost"] = ph.sent - row["logged"]["count"]
        out["phases"].append(row)
        if k == 0:
            out["main"] = row
    out["loss_starts_at"] = next((p["rate"] for p in out["phases"][1:] if p["lost"] > 0), None)
    out["rss"] = _rss_summary(rss, warmup, main_end)
    out["detect"] = detect
    out["runs"] = {k: sorted(v.values(), key=lambda r: r["at_s"]) for k, v in runs.items()}
    out["children_rss_max_mib"] = round(max(child_rss, default=0) / 1024, 1)
    return out


def _note_runs(status_file: Path, runs: dict[str, dict[float, dict[str, Any]]],
               at_s: float) -> None:
    """The last compaction and detection run of ``status.json``, each once (by when it
    finished): lines and seconds of each compaction, positions read and seconds of each
    detection run, and when the bench saw it (seconds into the run)."""
    with contextlib.suppress(OSError, ValueError):
        st = json.loads(status_file.read_text())
        last = st.get("last_compaction") or {}
        if last.get("finished_at"):
            runs["compaction"].setdefault(last["finished_at"], {
                "at_s": round(at_s, 1), "lines": last.get("lines"),
                "seconds": last.get("seconds")})
        det = st.get("detection") or {}
        run_ = det.get("last") or det
        if isinstance(run_, dict) and run_.get("finished_at"):
            runs["detection"].setdefault(run_["finished_at"], {
                "at_s": round(at_s, 1), "positions": run_.get("positions"),
                "seconds": run_.get("seconds")})


def _early_late(values: list[dict[str, Any]], key: str = "seconds") -> tuple[float, float]:
    """Mean of ``key`` over the first and the last fifth of some runs (at least 3 each)."""
    xs = [float(v[key]) for v in values if v.get(key) is not None]
    if not xs:
        return float("nan"), float("nan")
    k = max(3, len(xs) // 5)
    return float(np.mean(xs[:k])), float(np.mean(xs[-k:]))


def default_warmup(seconds: float, settings: list[str]) -> float:
    """A fifth of the run, at least two and a half compaction intervals (the first
    compactions load the decoder and the store's engine: memory grows then, once)."""
    return max(seconds / 5, 2.5 * _setting(settings, "compact_every_s", 60.0))


def _setting(settings: list[str], key: str, default: float) -> float:
    for s in settings:
        k, _, v = s.partition("=")
        if k.strip() == key:
            default = float(v)  # the last one given wins, as for seawatch live
    return default


def _store_rows(store: Path) -> int | None:
    import polars as pl

    from seawatch.store import Store

    with contextlib.suppress(Exception):
        return int(Store(store).positions().select(pl.len()).collect().item())
    return None


def _rss_summary(rss: list[tuple[float, int]], warmup: float, end: float) -> dict[str, Any]:
    if not rss:
        return {}
    t = np.array([a for a, _ in rss])
    kib = np.array([b for _, b in rss], float)
    main = t <= end
    span = max(end - warmup, 1.0)
    after = main & (t >= warmup) & (t < warmup + span / 10)
    last = main & (t >= end - span / 10)
    # the floor of each window: the memory kept between compactions (each one peaks while it
    # runs and gives most of it back)
    base = float(kib[after].min()) if after.any() else float("nan")
    final = float(kib[last].min()) if last.any() else float("nan")
    return {"samples": [(round(float(a), 1), round(b / 1024, 1)) for a, b in rss],
            "warmup_s": warmup, "after_warmup_mib": base / 1024,
            "end_mib": final / 1024, "max_mib": float(kib.max()) / 1024,
            "growth": (final - base) / base if base else float("nan")}


def report(out: dict[str, Any]) -> str:
    """The figures as text, with the ratios against the targets."""
    lines = [f"load average before {out['load_before'][0]:.2f}, after "
             f"{out['load_after'][0]:.2f} (1 min)"]
    head = (f"{'rate msg/s':>11} {'sent':>10} {'sent/s':>9} {'lost':>7} | "
            f"{'logged p50':>10} {'p99':>7} {'max':>7} | {'store p50':>9} {'p99':>7} {'max':>7}")
    lines.append(head)
    for p in out["phases"]:
        lg, st = p["logged"], p["in the store"]
        lines.append(f"{p['rate']:>11,.0f} {p['sent']:>10,} {p['send_rate']:>9,.0f} "
                     f"{p['lost']:>7,} | {lg['p50_s']:>10.3f} {lg['p99_s']:>7.3f} "
                     f"{lg['max_s']:>7.3f} | {st['p50_s']:>9.2f} {st['p99_s']:>7.2f} "
                     f"{st['max_s']:>7.2f}")
    m = out["main"]
    lines.append(f"store rows at the end: {out['store_rows']:,} of {out['sent_total']:,} sent; "
                 f"dropped by the service: {out['dropped_records']}")
    last = out.get("last_compaction") or {}
    lines.append(f"compactions: {out.get('compactions')}, the last {last.get('lines', 0):,} "
                 f"lines in {last.get('seconds', 0):.1f} s")
    if ApiProbe.name in m:
        a = m[ApiProbe.name]
        lines.append(f"sent -> event on the API (planted zone crossings, main run): p50 "
                     f"{a['p50_s']:.3f} s, p99 {a['p99_s']:.3f} s, max {a['max_s']:.3f} s; "
                     f"{a['count']:,} of {out['planted_crossings']:,} seen "
                     f"(target p99 < {TARGET_P99_S:g} s: {a['p99_s'] / TARGET_P99_S:.2f} of "
                     f"it); API errors {out['api_errors']}")
        if out.get("api_request_s"):
            r50, r99, rmax = out["api_request_s"]
            lines.append(f"GET /api/v1/events answered in p50 {r50:.3f} s, p99 {r99:.3f} s, "
                         f"max {rmax:.3f} s")
        lines.append(f"hot path: {out.get('hot')}")
    p99 = m["logged"]["p99_s"]
    lines.append(f"target p99 < {TARGET_P99_S:g} s (sent -> logged): {p99:.3f} s "
                 f"({p99 / TARGET_P99_S:.2f} of the target)")
    sp99 = m["in the store"]["p99_s"]
    lines.append(f"sent -> in the store p99: {sp99:.2f} s ({sp99 / TARGET_P99_S:.1f}x the 1 s "
                 "target: bounded by compact_every_s, see docs/live.md)")
    lines.append(f"lost at {m['rate']:,.0f} msg/s: {m['lost']:,} (target 0)")
    start = out["loss_starts_at"]
    if len(out["phases"]) > 1:
        lines.append("loss starts at: " + (f"{start:,.0f} msg/s" if start else
                                           "no loss at any step"))
    for kind, runs in (out.get("runs") or {}).items():
        if runs:
            early, late = _early_late(runs)
            lines.append(f"{kind}: {len(runs)} runs seen, {early:.2f} s each early (first "
                         f"fifth), {late:.2f} s late (last fifth)")
    r = out["rss"]
    if r:
        lines.append(f"RSS floor after warm-up ({r['warmup_s']:g} s) {r['after_warmup_mib']:.1f} "
                     f"MiB, at the end {r['end_mib']:.1f} MiB, max {r['max_mib']:.1f} MiB: growth "
                     f"{r['growth'] * 100:+.1f} % (target < {TARGET_GROWTH * 100:g} %: "
                     f"{r['growth'] / TARGET_GROWTH:.2f} of it)")
    if out.get("children_rss_max_mib"):
        lines.append(f"the service's child processes (the hot path's): RSS max "
                     f"{out['children_rss_max_mib']:.1f} MiB (not in the figures above)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=float, default=10_000, help="msg/s of the main run")
    ap.add_argument("--seconds", type=float, default=600, help="length of the main run")
    ap.add_argument("--steps", default="10000,20000,50000,100000",
                    help="rates of the loss steps after the main run (comma-separated; "
                    "empty: none)")
    ap.add_argument("--step-seconds", type=float, default=10)
    ap.add_argument("--warmup", type=float, default=None,
                    help="seconds before memory is compared (default: a fifth of the run, at "
                    "least two and a half compaction intervals)")
    ap.add_argument("--set", dest="settings", action="append", default=[],
                    metavar="KEY=VALUE", help="a parameter of seawatch live (docs/live.md)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--no-api", dest="api", action="store_false",
                    help="no planted zone crossings and no seawatch serve (no 'event on the "
                    "API' row)")
    ap.add_argument("--no-detect", dest="detect", action="store_false",
                    help="run the service without incremental detection (the compaction path "
                    "alone)")
    args = ap.parse_args(argv)
    steps = [float(s) for s in args.steps.split(",") if s.strip()]
    settings = [*DEFAULT_SETTINGS, *args.settings]
    warmup = args.warmup if args.warmup is not None else default_warmup(args.seconds, settings)
    out = run(args.rate, args.seconds, steps, args.step_seconds, settings, warmup,
              api=args.api, detect=args.detect)
    print(report(out))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=float))


if __name__ == "__main__":
    main()
