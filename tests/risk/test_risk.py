"""Explainable risk: signals, weights from the model, the noisy-OR, the breakdown, the day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from seawatch import schema
from seawatch.params import ConfigError
from seawatch.risk import (
    RiskParams,
    event_risk,
    load_risk_params,
    parameter_table,
    vessel_risk,
    watch_list,
)

DOCS = Path(__file__).resolve().parents[2] / "docs"
T0 = datetime(2026, 3, 1, 6, tzinfo=UTC)


def events(*rows: tuple[str, str, int, int | None, float | None, float]) -> pl.DataFrame:
    """(event_id, type, mmsi, other_mmsi, score, hours after T0) -> an events table."""
    frame = pl.DataFrame(
        {
            "event_id": [r[0] for r in rows],
            "type": [r[1] for r in rows],
            "mmsi": [r[2] for r in rows],
            "other_mmsi": [r[3] for r in rows],
            "start": [T0 + timedelta(hours=r[5]) for r in rows],
            "end": [T0 + timedelta(hours=r[5] + 1) for r in rows],
            "score": [r[4] for r in rows],
        },
        schema_overrides={"other_mmsi": pl.Int64, "score": pl.Float64},
    )
    return schema.conform(frame, schema.EVENTS)


def test_every_event_type_has_a_weight_and_plain_crossings_weigh_nothing():
    weights = RiskParams().weights()
    assert set(weights) == set(schema.EVENT_TYPES)
    assert all(0.0 <= w <= 1.0 for w in weights.values())
    assert weights["zone_entry"] == weights["zone_exit"] == weights["port_visit"] == 0.0
    assert weights["watchlist_hit"] > weights["encounter"] > weights["gap"] > 0


def test_a_pair_event_counts_for_both_vessels_and_zero_weights_give_no_row():
    ev = events(("e", "encounter", 1, 2, 1.0, 0), ("z", "zone_entry", 3, None, 1.0, 0))
    per_event = event_risk(ev)
    assert sorted(per_event["mmsi"]) == [1, 2]
    assert per_event["risk"].to_list() == [0.6, 0.6]
    ranked = vessel_risk(ev)
    assert 3 not in ranked["mmsi"].to_list()


def test_noisy_or_over_signals_with_the_breakdown_strongest_first():
    ev = events(
        ("g", "gap", 1, None, 0.5, 0),
        ("w", "watchlist_hit", 1, None, 1.0, 1),
        ("i", "invalid_identity", 1, None, None, 2),  # no score: counts as 1
    )
    row = vessel_risk(ev).row(0, named=True)
    expected = 1 - (1 - 0.9) * (1 - 0.3) * (1 - 0.175)
    assert row["risk"] == pytest.approx(expected, abs=1e-6)
    assert [b["signal"] for b in row["breakdown"]] == ["watchlist_hit", "invalid_identity", "gap"]
    assert [b["events"] for b in row["breakdown"]] == [["w"], ["i"], ["g"]]
    assert 0.0 < row["risk"] < 1.0


def test_repeated_events_of_one_signal_count_only_the_strongest():
    many = [(f"g{i}", "gap", 1, None, 0.5 + i / 100, i) for i in range(10)]
    ranked = vessel_risk(events(*many), RiskParams(max_events_per_signal=2))
    (b,) = ranked["breakdown"][0]
    assert b["count"] == 10
    assert b["events"] == ["g9", "g8"]  # the two strongest
    assert b["contribution"] == pytest.approx(1 - (1 - 0.35 * 0.59) * (1 - 0.35 * 0.58), abs=1e-6)


def test_a_rendezvous_outranks_many_border_crossings_and_port_calls():
    crossings = [(f"z{i}", t, 2, None, 1.0, i) for i in range(40)
                 for t in ("zone_entry", "zone_exit", "port_visit")]
    ev = events(("d", "dark_rendezvous", 7, 8, 0.9, 0), *[(f"{a}{b}", *r)
                for b, (a, *r) in enumerate(crossings)])
    ranked = vessel_risk(ev)
    assert ranked["mmsi"].to_list() == [7, 8]


def test_weights_come_from_a_toml_risk_table_checked_as_every_config(tmp_path):
    path = tmp_path / "risk.toml"
    path.write_text("[risk]\nzone_entry = 0.05\nmax_events_per_signal = 1\n")
    params = load_risk_params(path)
    assert params.zone_entry == 0.05 and params.max_events_per_signal == 1
    assert params.gap == RiskParams().gap
    ranked = vessel_risk(events(("z", "zone_entry", 5, None, 1.0, 0)), params)
    assert ranked.select("mmsi", "risk").rows() == [(5, 0.05)]
    path.write_text("[risk]\ngapp = 0.1\n")
    with pytest.raises(ConfigError, match="gapp"):
        load_risk_params(path)
    assert load_risk_params(None) == RiskParams()


def test_the_watch_list_is_the_day_asked_default_the_latest_ordered_and_cut():
    ev = events(
        ("old", "watchlist_hit", 1, None, 1.0, -48),
        ("a", "encounter", 2, 3, 1.0, 0),
        ("b", "gap", 4, None, 1.0, 2),
    )
    ranked, day = watch_list(ev)
    assert day == date(2026, 3, 1)
    assert ranked["mmsi"].to_list() == [2, 3, 4]
    ranked, _ = watch_list(ev, top=1)
    assert ranked["mmsi"].to_list() == [2]
    ranked, _ = watch_list(ev, day=date(2026, 2, 27))
    assert ranked["mmsi"].to_list() == [1]
    names = pl.DataFrame({"mmsi": [2], "name": ["CARRIER"]})
    ranked, _ = watch_list(ev, vessels=names)
    assert ranked["name"].to_list() == ["CARRIER", None, None]


def test_no_events_no_vessels():
    empty = schema.empty(schema.EVENTS)
    assert vessel_risk(empty).height == 0
    ranked, day = watch_list(empty)
    assert ranked.height == 0 and day is None


def test_docs_risk_md_has_the_models_table():
    text = (DOCS / "risk.md").read_text(encoding="utf-8")
    assert parameter_table() in text, "docs/risk.md lacks or has a stale table of [risk]"
