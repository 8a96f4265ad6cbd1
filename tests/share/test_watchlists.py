"""Watchlists in the state: files, import, who sees them, deletion, and the alert rules'
``watchlist_id`` (SQLite always, PostgreSQL when ``SEAWATCH_TEST_PG`` is set)."""

from __future__ import annotations

import json
from datetime import timedelta

import polars as pl
import pytest

from seawatch.share import alerts
from seawatch.share.db import State
from seawatch.share.errors import Conflict, Forbidden, InvalidInput, NotFound
from seawatch.share.grants import create_grant
from seawatch.share.policy import access_for
from seawatch.share.watchlists import (
    delete_watchlist,
    get_watchlist,
    import_watchlists,
    list_watchlists,
    parse_rows,
    read_watchlist_file,
    watchlist_entries,
    watchlist_mmsis,
)
from tests.share.data import HOST, PARTNER, T0, events_frame, principal, setup_agencies

CSV = """Vessel Name,IMO,Call Sign,MMSI,Flag,List,Source,Reason
F/V HAI FENG 8,IMO 9074729,hp-1234,,Panama,IUU,SPRFMO,fishing without licence
OCEAN STAR 7,,,735000003,ECU,interest,,
,9176187,,,,IUU,,
"""


def test_read_csv_and_json(tmp_path):
    path = tmp_path / "lists.csv"
    path.write_text(CSV)
    rows, attrs = read_watchlist_file(path)
    assert attrs == {}
    assert [(r["name"], r["imo"], r["callsign"], r["mmsi"], r["list"]) for r in rows] == [
        ("F/V HAI FENG 8", 9074729, "HP-1234", None, "IUU"),
        ("OCEAN STAR 7", None, None, 735000003, "interest"),
        (None, 9176187, None, None, "IUU"),
    ]
    doc = {"name": "mine", "source": "navy", "entries": [{"mmsi": "735000009", "reason": "x"}]}
    (tmp_path / "l.json").write_text(json.dumps(doc))
    rows, attrs = read_watchlist_file(tmp_path / "l.json")
    assert attrs == {"name": "mine", "source": "navy"} and rows[0]["mmsi"] == 735000009


@pytest.mark.parametrize(
    ("row", "message"),
    [({"flag": "PAN"}, "no name, IMO, call sign or MMSI"),
     ({"imo": "12345"}, "IMO '12345' is not a number of 7-7 digits"),
     ({"mmsi": "abc"}, "MMSI 'abc'"),
     ({"name": "A\x00B"}, "control character")],
)
def test_bad_entries_say_which(row, message):
    with pytest.raises(InvalidInput, match=message):
        parse_rows([{"name": "OK"}, row], where="f.csv")


def test_bad_files(tmp_path):
    (tmp_path / "a.csv").write_text("foo,bar\n1,2\n")
    with pytest.raises(InvalidInput, match="needs a header"):
        read_watchlist_file(tmp_path / "a.csv")
    (tmp_path / "b.json").write_text('{"x": 1}')
    with pytest.raises(InvalidInput, match="list of entries"):
        read_watchlist_file(tmp_path / "b.json")
    with pytest.raises(InvalidInput, match="no such file"):
        read_watchlist_file(tmp_path / "none.csv")


def test_import_one_list_per_name_replace_and_delete(state: State, tmp_path):
    setup_agencies(state)
    path = tmp_path / "lists.csv"
    path.write_text(CSV)
    rows, _ = read_watchlist_file(path)
    made = import_watchlists(state, rows, source="navy", marking="GREEN", now=T0)
    assert [(w.name, w.entries, w.owner, w.marking.level.label) for w in made] == [
        ("IUU", 2, HOST, "GREEN"), ("interest", 1, HOST, "GREEN")]
    with pytest.raises(Conflict, match="exists already"):
        import_watchlists(state, rows[:1], name="IUU")
    again = import_watchlists(state, rows[:1], name="IUU", replace=True)
    assert again[0].entries == 1 and again[0].marking.level.label == "GREEN"
    shown = get_watchlist(state, "IUU")
    assert shown.rows[0]["source"] == "SPRFMO" and shown.rows[0]["reason"] == \
        "fishing without licence"
    entries = watchlist_entries(state)
    assert entries.height == 2 and set(entries["list_name"]) == {"IUU", "interest"}
    assert delete_watchlist(state, "IUU") == shown.id
    with pytest.raises(NotFound):
        get_watchlist(state, shown.id)
    assert [w.name for w in list_watchlists(state)] == ["interest"]
    with pytest.raises(InvalidInput, match="names no list"):
        import_watchlists(state, [{"name": "X", "list": None}])


def test_who_sees_and_who_changes(state: State):
    setup_agencies(state)
    import_watchlists(state, [{"name": "OCEAN STAR 7"}], name="amber", marking="AMBER")
    import_watchlists(state, [{"name": "SEA WOLF"}], name="red", marking="RED")
    viewer = principal(state, "af-viewer")
    partner = access_for(state, viewer, now=T0)
    assert list_watchlists(state, partner) == []
    with pytest.raises(NotFound):
        get_watchlist(state, "amber", partner)
    create_grant(state, grantor=HOST, grantee=PARTNER, expires_at=T0 + timedelta(days=2),
                 max_marking="AMBER", event_types=["gap"], now=T0 - timedelta(hours=1))
    assert list_watchlists(state, access_for(state, viewer, now=T0)) == []  # not its hits
    create_grant(state, grantor=HOST, grantee=PARTNER, expires_at=T0 + timedelta(days=2),
                 max_marking="RED", event_types=["watchlist_hit"],
                 now=T0 - timedelta(hours=1))
    seen = [w.name for w in list_watchlists(state, access_for(state, viewer, now=T0))]
    assert seen == ["amber"]  # RED needs the partner named
    admin = principal(state, "af-admin")
    with pytest.raises(Forbidden):
        import_watchlists(state, [{"name": "X"}], name="x", principal=viewer)
    mine = import_watchlists(state, [{"name": "MINE ONE"}], name="af", principal=admin)
    assert mine[0].owner == PARTNER
    with pytest.raises(Forbidden, match="belongs to ECU-NAVY"):
        delete_watchlist(state, "amber", admin)
    with pytest.raises(Forbidden, match="belongs to ECU-NAVY"):
        import_watchlists(state, [{"name": "X"}], name="amber", replace=True, principal=admin)
    host_view = access_for(state, principal(state, "navy-analyst"), now=T0)
    assert len(list_watchlists(state, host_view)) == 3


def test_alert_rules_with_a_watchlist(state: State):
    setup_agencies(state)
    (wl,) = import_watchlists(state, [{"mmsi": 735000003}, {"name": "SEA WOLF"}], name="w")
    hit = {"watchlist_ids": [wl.id], "hits": []}
    events = events_frame([
        {"event_id": "h", "type": "watchlist_hit", "mmsi": 735000001,
         "details": json.dumps(hit)},
        {"event_id": "g1", "type": "gap", "mmsi": 735000001},
        {"event_id": "g2", "type": "gap", "mmsi": 735000002},
        {"event_id": "e", "type": "encounter", "mmsi": 735000002, "other_mmsi": 735000003},
    ])
    assert watchlist_mmsis(state, events, [wl.id, 99]) == {wl.id: {735000001, 735000003},
                                                           99: set()}
    rule = alerts.add_rule(state, "listed gaps", event_types=["gap", "encounter"],
                           watchlist_id=wl.id)
    alerts.add_rule(state, "unknown list", watchlist_id=99)
    result = alerts.raise_alerts(state, events, now=T0)
    raised = {(a.rule, a.event_id) for a in alerts.list_alerts(state)}
    assert raised == {(rule.name, "g1"), (rule.name, "e")} and result.new == 2
    pairs = alerts.match_events(events, [rule])
    assert pairs.height == 0  # without the lists' vessels a list rule matches nothing
    assert pl.Series(alerts.match_events(events, [rule], None, {wl.id: {735000002}})
                     ["event_id"]).to_list() == ["g2", "e"]
