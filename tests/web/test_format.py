"""``format.js``: the one-line explanation and the figures table of every event type.

Run with node on the ``details`` the detectors write (samples of each type, as in
docs/detectors.md, and every event of the test store); skipped without node.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, datetime
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
            "sailed_in_company_before_h": 2.1,
            "sailed_in_company_after_h": 0.0,
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
            "slow_runs": 2,
            "stops": [
                {"start": "2026-01-15T14:00:00Z", "end": "2026-01-15T16:30:00Z",
                 "lat": -2.5, "lon": -86.25, "positions": 150, "mean_speed_kn": 0.8},
                {"start": "2026-01-15T17:10:00Z", "end": "2026-01-15T20:13:00Z",
                 "lat": -2.51, "lon": -86.24, "positions": 224, "mean_speed_kn": 0.77},
            ],
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
            "tracks": [
                {
                    "segment_id": 41244045300000,
                    "positions": 170,
                    "start": "2026-01-15T12:00:10Z",
                    "end": "2026-01-15T15:33:02Z",
                    "lat": -8.38753,
                    "lon": 76.62108,
                },
                {
                    "segment_id": 41244045300002,
                    "positions": 6,
                    "start": "2026-01-15T12:00:40Z",
                    "end": "2026-01-15T15:20:00Z",
                    "lat": -50.08401,
                    "lon": 76.62077,
                },
            ],
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
        "type": "identity_change",
        "start": "2026-01-16T01:46:55Z",
        "end": "2026-01-16T01:52:30Z",
        "zone": None,
        "details": {"fields": ["callsign", "name"], "changes": [
            {"field": "callsign", "old": "HDQPIT", "new": "HD3LCE", "label": None,
             "first_seen": "2026-01-16T01:46:55Z", "old_last_seen": "2026-01-15T13:52:55Z",
             "reports": 2, "edit": 4},
            {"field": "name", "old": "DONA CISNE 2", "new": "DON CARMEN", "label": None,
             "first_seen": "2026-01-16T01:52:30Z", "old_last_seen": "2026-01-15T15:34:30Z",
             "reports": 2, "edit": 7}]},
    },
    {
        "type": "invalid_identity",
        "start": "2026-01-15T12:00:00Z",
        "end": "2026-01-16T23:59:00Z",
        "zone": None,
        "details": {"reasons": ["unallocated_mid"], "mid": 200, "flag": None, "imo": None,
                    "positions": 39},
    },
    {
        "type": "type_mismatch",
        "start": "2026-01-15T14:00:00Z",
        "end": "2026-01-15T18:55:00Z",
        "zone": None,
        "details": {"ship_type": 70, "ship_type_label": "Cargo", "hours": 4.917,
                    "median_speed_kn": 3.0, "straightness": 0.012, "distance_km": 45.2,
                    "positions": 60},
    },
    {
        "type": "watchlist_hit",
        "start": "2026-01-15T12:00:00Z",
        "end": "2026-01-16T23:59:00Z",
        "zone": None,
        "details": {"watchlist_ids": [1], "vessel": {"flag": "CHN"}, "hits": [
            {"watchlist_id": 1, "list_name": "IUU", "source": "SPRFMO", "entry_id": 3,
             "reason": "IUU 2024", "entry": {"name": "HAI FENG 8", "imo": None,
                                              "callsign": None, "mmsi": None, "flag": "PAN"},
             "matched": {"name": 100.0}, "score": 0.6, "flag_mismatch": True}]},
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
    "encounter": "Two vessels within 86.2 m (median) for 3.8 h, at 0.62 and 0.69 kn, "
    "246 nm from shore, 261 nm from port.",
    "loitering": "averaging 0.78 kn for 6.2 h, alone, 398 nm from shore, 401 nm from port.",
    "gap": "AIS silent for 14.7 h, going dark 236 nm from shore, reappearing 176 nm away",
    "zone_entry": "Entered Ecuador territorial sea (territorial sea).",
    "zone_exit": "Left Ecuador EEZ (EEZ).",
    "fishing_in_zone": "CHN-flagged fishing vessel at fishing speed for 2.6 h",
    "port_visit": "Stayed 3.5 h at POSORJA (anchorage)",
    "identity_change": "Identity changed: call sign HDQPIT to HD3LCE, name DONA CISNE 2 to "
    "DON CARMEN",
    "invalid_identity": "MID 200, allocated to no country",
    "type_mismatch": "Declared Cargo yet worked an area for 4.9 h, at 3 kn",
    "watchlist_hit": "On IUU, matched by name (IUU 2024); listed under another flag",
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
    # one unit system in a sentence: nautical miles and knots at sea (metres only for the
    # separation of a pair, under a nautical mile), never kilometres
    assert not re.search(r"\d km\b", line), line
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
    assert encounter["mmsi_median_speed_kn"] == "0.62 kn"
    assert encounter["duration_h"] == "3.83 h"
    assert encounter["distance_from_shore_km"] == "246 nm (456 km)"
    assert encounter["sailed_in_company_before_h"] == "2.10 h"
    labels = dict((r["key"], r["label"]) for r in explain(SAMPLES[:1])[0][1])
    assert labels["sailed_in_company_before_h"] == "Sailed in company before"
    gap = dict((r["key"], r["value"]) for r in explain(SAMPLES[2:3])[0][1])
    assert gap["likely_intentional"] == "yes"
    assert gap["off_lat"] == "-2.7256°"
    assert gap["distance_km"] == "176 nm (326 km)"
    # tracks by number, not as raw ids (segment_id = mmsi * 100,000 + k)
    assert gap["off_segment_id"] == "track 1"
    assert gap["on_segment_id"] == "track 1 (the same track)"
    split = dict(SAMPLES[2], details={**SAMPLES[2]["details"], "on_segment_id": 73517900000001})
    rows = dict((r["key"], r["value"]) for r in explain([split])[0][1])
    assert rows["on_segment_id"] == "track 2 (a new track)"
    spoofing = dict((r["key"], r["value"]) for r in explain(SAMPLES[7:8])[0][1])
    assert spoofing["tracks"] == (
        "track 1: 170 reports, 2026-01-15T12:00:10Z to 2026-01-15T15:33:02Z; "
        "track 3: 6 reports, 2026-01-15T12:00:40Z to 2026-01-15T15:20:00Z"
    )
    loitering = dict((r["key"], r["value"]) for r in explain(SAMPLES[1:2])[0][1])
    assert loitering["stops"] == (
        "2026-01-15 14:00Z to 2026-01-15 16:30Z at 2.5000°S 86.2500°W (150 positions, 0.80 kn); "
        "2026-01-15 17:10Z to 2026-01-15 20:13Z at 2.5100°S 86.2400°W (224 positions, 0.77 kn)"
    )
    unknown = dict((r["key"], r["value"]) for r in explain(SAMPLES[-1:])[0][1])
    assert unknown == {"some_new_figure_km": "1.89 nm (3.50 km)", "flagged": "yes"}


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


TIME_SCRIPT = """
import { parseTimeInput, fmtInputTime } from %s;
let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", () => {
  const out = JSON.parse(input).map((t) => parseTimeInput(t));
  out.push(fmtInputTime(Date.UTC(2026, 0, 15, 13, 5, 59)));
  process.stdout.write(JSON.stringify(out));
});
"""


def test_time_window_fields_read_iso_8601_utc() -> None:
    """The time window fields take ISO 8601 in UTC and 24 h whatever the browser's locale,
    and say what is wrong with anything else."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not installed")
    good = {
        "": None,
        "2026-01-15": "2026-01-15T00:00:00",
        "2026-01-15 13:05": "2026-01-15T13:05:00",
        "2026-01-15T13:05:30Z": "2026-01-15T13:05:30",
        " 2026-01-15 23:59 UTC ": "2026-01-15T23:59:00",
    }
    bad = ["01/15/2026", "15/01/2026 13:05", "2026-01-15 1:05 PM", "2026-02-30", "2026-01-15 24:00",
           "2026-01-15 13:60", "yesterday"]
    result = subprocess.run(
        [node, "--input-type=module", "-e", TIME_SCRIPT % json.dumps(FORMAT_JS.as_uri())],
        input=json.dumps([*good, *bad]).encode(),
        capture_output=True,
        timeout=60,
        check=True,
    )
    *parsed, shown = json.loads(result.stdout)
    for (text, want), got in zip(good.items(), parsed, strict=False):
        ms = got.get("ms")
        iso = None if ms is None else datetime.fromtimestamp(ms / 1000, UTC).strftime(
            "%Y-%m-%dT%H:%M:%S")
        assert "error" not in got and iso == want, (text, got)
    for text, got in zip(bad, parsed[len(good):], strict=True):
        assert "ms" not in got, (text, got)
        assert "YYYY-MM-DD HH:MM (UTC, 24 h)" in got["error"], (text, got)
    assert shown == "2026-01-15 13:05"


WHY_SCRIPT = """
import { whyAlert } from %s;
let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", () => {
  process.stdout.write(JSON.stringify(JSON.parse(input).map((e) => whyAlert(e))));
});
"""


def why(events: list[dict]) -> list[dict]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not installed")
    result = subprocess.run(
        [node, "--input-type=module", "-e", WHY_SCRIPT % json.dumps(FORMAT_JS.as_uri())],
        input=json.dumps(events).encode(),
        capture_output=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


def check_why(said: dict) -> None:
    assert said["raised"], said
    for text in said["raised"] + said["lowered"]:
        assert text.endswith("."), text
        for bad in ("undefined", "NaN", "null", "[object"):
            assert bad not in text, text
        assert not re.search(r"\d km\b", text), text  # nautical miles at sea


def test_why_each_alert_was_raised_and_lowered() -> None:
    for said in why(SAMPLES):
        check_why(said)
    gap = dict(SAMPLES[2], score=0.25, details={
        **SAMPLES[2]["details"], "gap_hours": 14.2, "coverage": "heard",
        "feeds": ["st1", "st2"], "watched_h": 12, "outage_h": 2, "unknown_h": 0,
        "others_heard": 37, "likely_intentional": False})
    unknown = dict(SAMPLES[2], score=0.25, details={
        **SAMPLES[2]["details"], "coverage": "unknown",
        "coverage_note": "st1 heard no other vessel within 1 cell(s) of the last position "
                         "before or during the silence: coverage unknown"})
    loitering = dict(SAMPLES[1], score=0.19, details={
        # an older run: the merged stops counted (slow_runs), not listed
        **{k: v for k, v in SAMPLES[1]["details"].items() if k != "stops"},
        "duration_h": 9.0, "slow_runs": 3,
        "installation": {"name": "Amistad", "kind": "platform", "source": "p.geojson",
                         "distance_km": 0.4, "score_before": 0.75}})
    encounter = dict(SAMPLES[0], score=1.0, details={
        **SAMPLES[0]["details"], "merged_encounters": 3, "longest_gap_h": 5.5})
    spoofing = dict(SAMPLES[7], details={**SAMPLES[7]["details"], "outliers": 2})
    stops = [{"start": f"2026-01-15T{a}:00Z", "end": f"2026-01-15T{b}:00Z", "lat": -1.0,
              "lon": -85.0, "positions": 20, "mean_speed_kn": 0.5}
             for a, b in (("14:00", "16:00"), ("16:30", "19:00"), ("22:00", "23:00"))]
    listed = dict(SAMPLES[1], score=0.9, details={**SAMPLES[1]["details"], "stops": stops})
    said = why([gap, unknown, loitering, encounter, spoofing, listed])
    for s in said:
        check_why(s)
    g, u, lo, enc, sp, li = said
    assert li["lowered"][0].startswith("3 stops merged over 6.2 h (interrupted for at most "
                                       "3.0 h)")
    assert g["raised"][0] == ("AIS silent 14.2 h while 2 feeds (st1, st2) kept hearing 37 other "
                              "vessels around its last position in 12 of the silent hours.")
    assert any("2 h of the silence were a coverage outage" in s for s in g["lowered"])
    assert any(s.startswith("Not judged intentional") for s in g["lowered"])
    assert any(s.startswith("Coverage unknown: st1 heard no other vessel") for s in u["lowered"])
    assert any(s.startswith("Likely switched off on purpose") for s in u["raised"])
    assert lo["lowered"][0].startswith("3 stops merged over 9.0 h")
    assert lo["lowered"][1].startswith("At platform Amistad, 0.22 nm away")
    assert "from 0.75 to 0.19" in lo["lowered"][1]
    assert enc["lowered"][0] == ("3 meetings of the same pair merged into this one alert "
                                 "(at most 5.5 h apart).")
    assert sp["raised"][0].startswith("One MMSI on 2 tracks at once (two transmitters): "
                                      "1,138 impossible jumps")
    assert any("2 single reports" in s and "outliers" in s for s in sp["lowered"])


def test_why_degrades_when_details_are_missing() -> None:
    """A detector of another version may write fewer keys (or new ones): every type still
    says something, without undefined figures."""
    bare = [{"type": e["type"], "start": e["start"], "end": e["end"], "zone": e["zone"],
             "score": 0.5, "details": {}} for e in SAMPLES]
    bare.append({"type": "spoofing", "start": SAMPLES[0]["start"], "end": SAMPLES[0]["end"],
                 "zone": None, "score": 0.9, "details": {"kind": "a_new_kind", "n_switches": 3}})
    bare.append({"type": "a_new_type", "start": SAMPLES[0]["start"], "end": SAMPLES[0]["end"],
                 "zone": None, "score": 0.9, "details": None})
    said = why(bare)
    for s in said:
        check_why(s)
    assert said[-2]["raised"][0].startswith("A new kind: 3 impossible jumps")


def test_why_for_every_event_of_the_test_store(web_store: Path) -> None:
    from seawatch.store import Store

    frame = Store(web_store).events().collect()
    events = [
        {"type": r["type"], "start": r["start"].isoformat(), "end": r["end"].isoformat(),
         "zone": r["zone"], "score": r["score"], "details": json.loads(r["details"] or "{}")}
        for r in frame.iter_rows(named=True)
    ]
    for s in why(events):
        check_why(s)
