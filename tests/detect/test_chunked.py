"""``detect_store`` in chunks of vessels gives the events of the whole table, at any size."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from seawatch import schema
from seawatch.detect.chunks import POSITION_COLUMNS, mmsi_chunks
from seawatch.detect.config import DetectConfig
from seawatch.detect.ports import port_table
from seawatch.detect.registry import DETECTED_TYPES
from seawatch.detect.run import detect_all, detect_store
from seawatch.geo import load_ports, load_zones
from seawatch.sim import write_scenario
from seawatch.store import Store

IDENTITY_TYPES = {"identity_change", "invalid_identity", "type_mismatch", "watchlist_hit"}
"""Event types the clean simulator never gives (none of its vessels is planted for them)."""
DARK_ORDER = ["dark_rendezvous", "loiter_gap_loiter", "dark_near_encounter"]
DARK_TYPES = set(DARK_ORDER)
ROUTE_TYPES = {"route_anomaly"}
"""A day of 400 vessels is a traffic picture just short of ``min_picture_duration`` (24 h):
no lanes, no route anomaly; tests/detect/test_route_anomaly.py runs it chunked."""

ANCHORAGES = DetectConfig.from_dict(
    {"ports": {"min_vessels": 2, "min_duration": 2, "known_port_km": 0}}
)
"""Anchorages inferred from 400 vessels, kept even beside the listed ports (the simulator's
vessels anchor by those only, which ``known_port_km`` would drop)."""


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> tuple[Store, dict[str, Path]]:
    """A simulated day of 400 vessels with every event type, ingested into a store."""
    root = tmp_path_factory.mktemp("chunked")
    paths = write_scenario(root / "scenario", seed=3, hours=24, vessels=400, csv=False)
    store = Store(root / "store", create=True)
    store.ingest([paths["nmea"]])
    return store, paths


def as_set(events: pl.DataFrame) -> pl.DataFrame:
    return events.sort(events.columns, nulls_last=True)


@pytest.mark.parametrize(
    ("config", "chunk"),
    [(None, 3_000), (None, 40_000), (ANCHORAGES, 7_000)],
    ids=["default-3k", "default-40k", "anchorages-7k"],
)
def test_chunked_events_equal_the_whole_table(scenario, config, chunk):
    store, paths = scenario
    zones, ports = load_zones(paths["zones"]), load_ports(paths["ports"])
    positions = store.positions().select(list(POSITION_COLUMNS)).collect()
    vessels = store.latest_identity()
    whole = detect_all(positions, vessels, zones=zones, ports=ports, config=config)
    # every step is exercised, but the identity events (planted off the clean profile only:
    # tests/sim, docs/sim.md) and the dark-vessel compounds (the simulator plants no vessel
    # that goes dark beside another; tests/detect/test_envelope.py runs them chunked)
    assert set(whole["type"]) == set(DETECTED_TYPES) - IDENTITY_TYPES - DARK_TYPES - ROUTE_TYPES
    if config is ANCHORAGES:
        inferred = port_table(positions, None, config).filter(pl.col("source") == "inferred")
        assert inferred.height >= 10
        assert whole.filter(pl.col("details").str.contains("inferred anchorage")).height > 0
    chunked = detect_store(store, zones=zones, ports=ports, config=config, chunk_positions=chunk)
    info = store.events_info()
    assert info is not None
    assert info["chunks"] == len(mmsi_chunks(positions.group_by("mmsi").len("n"), chunk)) > 1
    assert chunked.columns == list(schema.EVENTS)
    assert as_set(chunked).equals(as_set(whole))
    assert as_set(store.events().collect()).equals(as_set(whole))


def test_progress_per_chunk_and_run_info(scenario):
    store, _ = scenario
    calls: list[tuple[str, int, int]] = []
    detect_store(store, chunk_positions=30_000, progress=lambda *a: calls.append(a))
    info = store.events_info()
    assert info is not None
    chunks = info["chunks"]
    counts = store.positions().group_by("mmsi").len("n").collect()
    assert chunks == len(mmsi_chunks(counts, 30_000)) >= 4
    assert info["chunk_positions"] == 30_000
    total = calls[0][2]
    assert all(c[2] == total for c in calls)
    assert [c[1] for c in calls] == list(range(total + 1))
    assert calls[-1] == ("done", total, total)
    steps = [c[0] for c in calls[:-1]]
    assert steps[:chunks] == ["anchorages"] * chunks
    assert steps[chunks] == "traffic"  # one picture of every chunk, before any is judged
    per_chunk = ["read", "segment", "spoofing", "gap", "encounter", "loitering", "zone"]
    per_chunk += ["fishing_in_zone", "port_visit", "route_anomaly", "identity",
                  "type_mismatch", "watchlist", *DARK_ORDER]
    combined = ["gap", "encounter", "loitering", *DARK_ORDER]
    assert steps[chunks + 1:-len(combined)] == per_chunk * chunks
    assert steps[-len(combined):] == combined
    assert steps.count("segment") == chunks
    seconds = info["seconds"]
    assert {"anchorages", "read", "segment", "encounter", "port_visit", "total"} <= set(seconds)
    assert info["positions"] == store.positions().select(pl.len()).collect().item()
    assert info["vessels"] == store.positions().select(pl.col("mmsi").n_unique()).collect().item()
