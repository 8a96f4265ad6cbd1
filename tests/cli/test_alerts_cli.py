"""``seawatch alerts``: rules, alerts raised by ``seawatch detect`` (twice: no duplicate),
the life cycle and a hand-over from the command line, each step in the audit log."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from seawatch.cli import app
from seawatch.share.alerts import list_alerts
from seawatch.share.audit import show, verify
from seawatch.share.db import open_state
from seawatch.store import Store
from tests.detect.test_run import chunk, scenario


def invoke(*args: object, code: int = 0):
    result = CliRunner().invoke(app, [str(a) for a in args], env={"SEAWATCH_DB": ""})
    assert result.exit_code == code, (args, result.output, result.exception)
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def store_dir(tmp_path):
    frame, vessels = scenario()
    path = tmp_path / "store"
    Store(path).ingest_results([chunk(frame, vessels)], name="one", sha256="a" * 64, size=1)
    return path


def test_alerts_round_trip(store_dir) -> None:
    s = ("--store", store_dir)
    invoke("init-state", "--host-agency", "ECU-NAVY", *s)
    invoke("user", "add", "navy-watch", "--agency", "ECU-NAVY", "--role", "watch_officer",
           "--no-password", *s)
    invoke("user", "add", "navy-analyst", "--agency", "ECU-NAVY", "--role", "analyst",
           "--no-password", *s)
    added = invoke("alerts", "rule", "add", "ports", "--types", "port_visit,fishing_in_zone",
                   *s)
    assert "alert rule 1 'ports' of ECU-NAVY: types port_visit,fishing_in_zone" in added.output
    invoke("alerts", "rule", "add", "typo", "--types", "piracy", *s, code=2)
    first = invoke("detect", *s)
    events = Store(store_dir).events().collect()
    wanted = events.filter(events["type"].is_in(["port_visit", "fishing_in_zone"])).height
    assert wanted > 1
    assert f"alerts: {wanted} new, 0 updated" in first.output
    second = invoke("detect", *s)  # the same events again: no duplicate
    assert f"alerts: 0 new, 0 updated (their event changed), {wanted} unchanged" in \
        second.output
    listed = invoke("alerts", "list", "--open", *s)
    assert f"{wanted} alerts" in listed.output and "port_visit" in listed.output
    state = open_state(store_dir)
    ids = [a.id for a in list_alerts(state)]
    assert len(ids) == wanted
    first_id, other = ids[0], ids[1]
    assert "acknowledged" in invoke("alerts", "ack", first_id, *s).output
    again = invoke("alerts", "ack", first_id, *s, code=2)
    assert "is acknowledged: cannot acknowledge" in again.output
    out = invoke("alerts", "assign", first_id, "--to", "navy-watch", "--watch", "night",
                 *s).output
    assert "assigned to navy-watch, watch night" in out
    invoke("alerts", "assign", other, "--to", "navy-watch", "--watch", "night", *s)
    invoke("alerts", "close", first_id, "--reason", "bored", *s, code=2)
    closed = invoke("alerts", "close", first_id, "--reason", "legitimate_activity", "--note",
                    "licensed vessel", *s)
    assert "closed" in closed.output
    assert "legitimate_activity" in invoke("alerts", "show", first_id, *s).output
    assert "assigned" in invoke("alerts", "reopen", first_id, *s).output
    handed = invoke("alerts", "handover", "--from-watch", "night", "--to-watch", "day",
                    "--to-user", "navy-analyst", "--note", "two open", *s)
    assert "handed 2 open alerts over to watch day and user navy-analyst" in handed.output
    day = invoke("alerts", "list", "--watch", "day", "--assigned", "navy-analyst", *s)
    assert "2 alerts" in day.output
    assert re.search(r"ports", invoke("alerts", "rule", "list", *s).output)
    steps = [(e.action, e.params.get("verb"), e.params.get("from"), e.params.get("to"))
             for e in show(state, action="alert.*", newest_first=False, limit=None)]
    assert steps == [
        ("alert.rule", "add", None, None),
        ("alert.raise", None, None, None),
        ("alert.raise", None, None, None),
        ("alert.acknowledge", "acknowledge", "new", "acknowledged"),
        ("alert.assign", "assign", "acknowledged", "assigned"),
        ("alert.assign", "assign", "new", "assigned"),
        ("alert.close", "close", "assigned", "closed"),
        ("alert.close", "reopen", "closed", "assigned"),
        ("alert.assign", "handover", None, None),
    ]
    close = next(e for e in show(state, action="alert.close") if e.params["verb"] == "close")
    assert close.params["reason"] == "legitimate_activity" and close.resource == \
        f"alert:{first_id}"
    assert verify(state).ok
    removed = invoke("alerts", "rule", "remove", "ports", *s)
    assert f"its {wanted} alerts" in removed.output
    assert list_alerts(state) == []
    state.close()


def test_detect_without_state_or_rules_raises_nothing(store_dir) -> None:
    assert "alerts:" not in invoke("detect", "--store", store_dir).output
    assert not (store_dir / "state.db").exists()
    invoke("init-state", "--host-agency", "ECU-NAVY", "--store", store_dir)
    assert "alerts:" not in invoke("detect", "--store", store_dir).output
