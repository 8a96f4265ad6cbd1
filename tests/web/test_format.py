"""``format.js``: the one-line explanation and the figures table of every event type.

Run with node on the ``details`` the detectors write (samples of each type, as in
docs/detectors.md, and every event of the test store); skipped without node.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

FORMAT_JS = Path(__file__).resolve().parents[2] / "seawatch" / "web" / "static" / "format.js"

SAMPLES = [
    {
        "type": "encounter",
        "start": "2026-01-15T14:00:00Z",
        "end": "2026-01-15T17:50:00Z",
        "zone": None,
        "details": {
            "median_distance_m": 86.2,
            "duration_h": 3.833,
            "mmsi_median_speed_kn": 0.62,
            "other_median_speed_kn": 0.69,
            "distance_from_shore_km": 456.4,
            "distance_from_port_km": 483.35,
            "close_samples": 24,
            "pieces": 1,
        },
    },
    {
        "type": "loitering",
        "start": "2026-01-15T14:00:00Z",
        "end": "2026-01-15T20:13:00Z",
        "zone": None,
        "details": {
            "mean_speed_kn": 0.78,
            "duration_h": 6.217,
            "distance_from_shore_nm": 397.59,
            "distance_from_port_km": 742.8,
            "positions": 374,
        },
    },
    {
        "type": "gap",
        "start": "2026-01-15T16:13:10Z",
        "end": "2026-01-16T06:57:10Z",
        "zone": None,
        "details": {
            "gap_hours": 14.733,
            "distance_km": 326.0,
            "implied_speed_kn": 12.0,
            "off_distance_from_shore_km": 437.0,
            "positions_12h_before": 180,
            "likely_intentional": True,
            "off_lat": -2.7256,
            "off_lon": -84.9034,
            "on_lat": 0.148,
            "on_lon": -84.2397,
            "off_segment_id": 73517900000000,
            "on_segment_id": 73517900000000,
        },
    },
    {
        "type": "zone_entry",
        "start": "2026-01-15T16:13:10Z",
        "end": "2026-01-15T16:13:10Z",
        "zone": "Ecuador territorial sea",
        "details": {"zone_kind": "territorial_sea", "minutes_since_previous": 6.0},
    },
    {
        "type": "zone_exit",
        "start": "2026-01-15T16:13:10Z",
        "end": "2026-01-15T16:13:10Z",
        "zone": "Ecuador EEZ",
        "details": {"zone_kind": "eez", "minutes_since_previous": 1.0},
    },
    {
        "type": "fishing_in_zone",
        "start": "2026-01-15T12:00:00Z",
        "end": "2026-01-15T14:39:00Z",
        "zone": "Ecuador EEZ",
        "details": {
            "zone_kind": "eez",
            "zones": ["Ecuador EEZ"],
            "flag": "CHN",
            "zone_state": "ECU",
            "hours": 2.65,
            "median_speed_kn": 1.15,
            "positions": 160,
            "fishing_positions": 160,
        },
    },
    {
        "type": "port_visit",
        "start": "2026-01-15T12:00:10Z",
        "end": "2026-01-15T15:33:02Z",
        "zone": None,
        "details": {
            "port": "POSORJA",
            "port_kind": "anchorage",
            "distance_km": 0.808,
            "min_distance_km": 0.74,
            "duration_h": 3.5478,
            "positions": 79,
            "open": True,
            "open_start": True,
            "open_end": False,
        },
    },
    {
        "type": "spoofing",
        "start": "2026-01-15T12:00:10Z",
        "end": "2026-01-15T15:33:02Z",
        "zone": None,
        "details": {
            "kind": "shared_identity",
            "n_tracks": 2,
            "n_switches": 1138,
            "max_implied_speed_kn": 130072.5,
            "max_separation_km": 1605.962,
        },
    },
    {
        "type": "spoofing",
        "start": "2026-01-15T12:00:10Z",
        "end": "2026-01-15T12:30:02Z",
        "zone": None,
        "details": {
            "kind": "position_jump",
            "n_tracks": 2,
            "n_switches": 2,
            "max_implied_speed_kn": 812.7,
            "max_separation_km": 55.9,
        },
    },
    {
        "type": "route_anomaly",
        "start": "2026-01-15T12:00:10Z",
        "end": "2026-01-15T15:33:02Z",
        "zone": None,
        "details": {"some_new_figure_km": 3.5, "flagged": True},
    },
]

EXPECTED = {
    "encounter": "Two vessels within 86.2 m (median) for 3.8 h",
    "loitering": "averaging 0.78 kn for 6.2 h",
    "gap": "AIS silent for 14.7 h, going dark 437 km from shore",
    "zone_entry": "Entered Ecuador territorial sea (territorial sea).",
    "zone_exit": "Left Ecuador EEZ (EEZ).",
    "fishing_in_zone": "CHN-flagged fishing vessel at fishing speed for 2.6 h",
    "port_visit": "Stayed 3.5 h at POSORJA (anchorage)",
}

SCRIPT = """
import { explainEvent, detailRows } from %s;
let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", () => {
  const out = JSON.parse(input).map((e) => [explainEvent(e), detailRows(e.details, e.type)]);
  process.stdout.write(JSON.stringify(out));
});
"""


def explain(events: list[dict]) -> list[tuple[str, list[dict]]]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not installed")
    result = subprocess.run(
        [node, "--input-type=module", "-e", SCRIPT % json.dumps(FORMAT_JS.as_uri())],
        input=json.dumps(events).encode(),
        capture_output=True,
        timeout=60,
        check=True,
    )
    return [tuple(x) for x in json.loads(result.stdout)]


def check(event: dict, line: str, rows: list[dict]) -> None:
    assert line and line.endswith("."), line
    for bad in ("undefined", "NaN", "null", "[object"):
        assert bad not in line, line
    assert {r["key"] for r in rows} == set(event["details"])
    for row in rows:
        assert row["label"] and row["value"] not in ("", "undefined", "NaN"), row


def test_every_event_type_is_explained_with_units() -> None:
    for event, (line, rows) in zip(SAMPLES, explain(SAMPLES), strict=True):
        check(event, line, rows)
        if event["type"] in EXPECTED:
            assert EXPECTED[event["type"]] in line
    encounter = dict((r["key"], r["value"]) for r in explain(SAMPLES[:1])[0][1])
    assert encounter["median_distance_m"] == "86.2 m"
    assert encounter["distance_from_shore_km"] == "456 km"
    assert encounter["mmsi_median_speed_kn"] == "0.62 kn"
    assert encounter["duration_h"] == "3.83 h"
    gap = dict((r["key"], r["value"]) for r in explain(SAMPLES[2:3])[0][1])
    assert gap["likely_intentional"] == "yes"
    assert gap["off_lat"] == "-2.7256°"
    unknown = dict((r["key"], r["value"]) for r in explain(SAMPLES[-1:])[0][1])
    assert unknown == {"some_new_figure_km": "3.50 km", "flagged": "yes"}


def test_events_of_the_test_store_are_explained(web_store: Path) -> None:
    from seawatch.store import Store

    frame = Store(web_store).events().collect()
    events = [
        {
            "type": r["type"],
            "start": r["start"].isoformat(),
            "end": r["end"].isoformat(),
            "zone": r["zone"],
            "details": json.loads(r["details"] or "{}"),
        }
        for r in frame.iter_rows(named=True)
    ]
    assert events
    for event, (line, rows) in zip(events, explain(events), strict=True):
        check(event, line, rows)
