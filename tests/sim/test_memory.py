"""Tests that the simulator streams in bounded memory without changing what it writes: the
encounter pair search in batches, the NMEA and CSV written in parts, the peak memory of a
many-vessel scenario."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from seawatch.geo.geodesy import haversine_km
from seawatch.sim import Scenario, output, write_scenario
from seawatch.sim import scenario as scenario_module
from seawatch.sim import truth as T
from seawatch.sim.truth.encounter import GridIndex
from seawatch.sim.world import world


def _samples(tracks: np.ndarray, k: np.ndarray, lat: np.ndarray, lon: np.ndarray,
             sog: np.ndarray | float = 0.5) -> pl.DataFrame:
    return pl.DataFrame({"k": k.astype(np.int64), "track": tracks.astype(np.int64),
                         "lat": lat, "lon": lon,
                         "sog": np.broadcast_to(np.asarray(sog, np.float64), k.shape).copy()})


def test_close_pairs_match_brute_force() -> None:
    rng = np.random.default_rng(5)
    n, steps = 400, 6
    k = rng.integers(0, steps, n) + 2_900_000
    track = rng.permutation(n)  # one sample per (track, k) at most
    lat = -1.0 + rng.normal(0, 0.004, n)  # a few km across: many pairs within 500 m
    lon = -81.0 + rng.normal(0, 0.004, n)
    mmsi = 200_000_000 + np.arange(n) // 2 * 2  # tracks 2i and 2i + 1 share an MMSI
    g = GridIndex(_samples(track, k, lat, lon), mmsi)
    got = set()
    for part in g.partitions(500):
        for i, j, d in g.close_pairs(97, part):
            got |= {(int(a), int(b), int(s), float(x))
                    for a, b, s, x in zip(g.track[i], g.track[j], g.k[i], d, strict=True)}
    a, b = np.triu_indices(n, 1)
    a, b = np.where(track[a] < track[b], a, b), np.where(track[a] < track[b], b, a)
    d = haversine_km(lat[a], lon[a], lat[b], lon[b]) * 1000.0
    ok = (k[a] == k[b]) & (mmsi[track[a]] != mmsi[track[b]]) & (d < T.ENCOUNTER_DISTANCE_M)
    want = {(int(x), int(y), int(s), float(e))
            for x, y, s, e in zip(track[a[ok]], track[b[ok]], k[a[ok]], d[ok], strict=True)}
    assert len(want) > 1000 and got == want


def test_encounter_pieces_do_not_depend_on_batches(scenario: Scenario) -> None:
    w = world()
    plan = scenario.plan
    pos = scenario.positions
    first = {m: i for i, m in reversed(list(enumerate(plan.fleet.mmsi.tolist())))}
    tr = np.array([first[m] for m in pos["mmsi"].to_list()], np.int64)
    t = pos["ts"].dt.epoch("s").to_numpy() - plan.start_s
    o = np.lexsort((t, tr))
    lat, lon = pos["lat"].to_numpy()[o], pos["lon"].to_numpy()[o]
    tab = T.Track(track=tr[o], t=t[o], lat=lat, lon=lon,
                  sog=pos["sog"].to_numpy().astype(np.float64)[o],
                  mask=w.zone_mask(lat, lon), port_km=w.port_km(lat, lon))
    samples = T.grid_samples(tab, plan.start_s)
    whole = T.encounter_pieces(samples, plan.fleet.mmsi, w)
    assert whole.height > 0
    assert T.encounter_pieces(samples, plan.fleet.mmsi, w, max_rows=64).equals(whole)


ANCHORAGE = """
import json, resource, sys
import numpy as np, polars as pl
from seawatch.sim import truth as T
from seawatch.sim.world import world
ships, steps = 300, 144  # a day
rng = np.random.default_rng(1)
k = np.repeat(np.arange(steps), ships) + 2_948_000
track = np.tile(np.arange(ships), steps)
lat = -0.93 + rng.normal(0, 0.0012, ships)[track] + rng.normal(0, 0.0001, k.size)
lon = -80.72 + rng.normal(0, 0.0012, ships)[track] + rng.normal(0, 0.0001, k.size)
s = pl.DataFrame({"k": k, "track": track, "lat": lat, "lon": lon, "sog": 0.1})
mmsi = 300_000_000 + np.arange(ships)
T.encounter_pieces(s.head(400), mmsi, world())  # load everything once
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
pieces = T.encounter_pieces(s, mmsi, world())
grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
print(json.dumps({"pieces": pieces.height, "grown_mb": grown}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss in KiB on Linux")
def test_a_crowded_anchorage_does_not_grow_the_pair_search() -> None:
    """300 ships at anchor off Manta for a day, nearly all pairs within 500 m at every step
    (6 M close pair-steps): the pairs' extents are kept, not their steps, so the search
    costs its batches (about 130 MB), not the 600 MB a list of every step's pairs took."""
    out = subprocess.run([sys.executable, "-c", ANCHORAGE], check=True, capture_output=True,
                         text=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["pieces"] == 0  # ships at anchor by a port: never an encounter
    assert r["grown_mb"] < 250, r


def test_nmea_and_csv_written_in_parts_are_the_same_bytes(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    args = {"seed": 4, "hours": 3.0, "vessels": 90, "thinning": 2}
    monkeypatch.setattr(output, "SHUFFLE_SPAN", 1024)
    monkeypatch.setattr(output, "ENCODE_MESSAGES", 1024)  # a run encoded at once
    whole = write_scenario(tmp_path / "whole", **args)
    monkeypatch.setattr(output, "ENCODE_MESSAGES", 64)
    monkeypatch.setattr(scenario_module, "CSV_ROWS", 100)
    parts = write_scenario(tmp_path / "parts", **args)
    doc = json.loads(whole["scenario"].read_text())
    assert doc["counts"]["lines"] > 3 * 1024  # several runs, many parts each
    for key in ("nmea", "csv"):
        assert whole[key].read_bytes() == parts[key].read_bytes(), key


CHILD = """
import json, os, sys
from seawatch.sim import write_scenario
# warm up first: a fresh checkout compiles the numba kernels on first use, and LLVM's
# compile-time memory is not the simulator's; then restart the high-water mark (Linux)
write_scenario(os.path.join(sys.argv[1], "warm"), seed=2, hours=0.5, vessels=30, thinning=1)
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
write_scenario(os.path.join(sys.argv[1], "big"), seed=2, hours=2.0, vessels=6000, thinning=1)
with open("/proc/self/status") as f:
    hwm_kb = int(f.read().split("VmHWM:")[1].split()[0])
print(json.dumps(hwm_kb / 1024))
"""


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
def test_a_many_vessel_scenario_streams_in_bounded_memory(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path)], check=True,
                         capture_output=True, text=True)
    peak_mb = json.loads(out.stdout.strip().splitlines()[-1])
    assert peak_mb < 800, peak_mb  # about 560 MB (world indexes about 270 MB)


def test_events_json_written_in_parts_is_json_dumps(written: dict[str, Path], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    truth = pl.read_parquet(written["truth"])
    rows = truth.with_columns(pl.col("start", "end").dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    want = json.dumps(rows.to_dicts(), indent=1) + "\n"
    assert written["truth_json"].read_text(encoding="utf-8") == want
    monkeypatch.setattr(scenario_module, "JSON_ROWS", 7)
    for frame in (truth, truth.head(0)):
        scenario_module._write_events_json(frame, tmp_path / "t.json")
        expect = want if frame.height else "[]\n"
        assert (tmp_path / "t.json").read_text(encoding="utf-8") == expect
