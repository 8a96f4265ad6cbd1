"""Alert rules, the matcher, idempotent raising, the life cycle, hand-over and who sees
what (SQLite always, PostgreSQL when ``SEAWATCH_TEST_PG`` is set)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from seawatch.share import alerts
from seawatch.share.alerts import Rule, match_events, raise_alerts
from seawatch.share.db import State
from seawatch.share.errors import Conflict, Forbidden, InvalidInput, NotFound
from seawatch.share.grants import create_grant
from seawatch.share.markings import set_marking
from seawatch.share.policy import access_for
from tests.share.data import (
    COAST_GUARD,
    HOST,
    PARTNER,
    T0,
    events_frame,
    principal,
    setup_agencies,
)


def rule(id: int = 1, **kw: object) -> Rule:
    base: dict[str, object] = {
        "id": id, "name": f"r{id}", "agency": HOST, "event_types": (), "zones": (),
        "mmsis": (), "watchlist_id": None, "min_score": None, "vessel_types": (),
        "enabled": True,
    }
    base.update(kw)
    return Rule(**base)  # type: ignore[arg-type]


EVENTS = events_frame([
    {"event_id": "a", "type": "encounter", "mmsi": 735000001, "other_mmsi": 412000001,
     "zone": "Galápagos Marine Reserve", "score": 0.9, "lat": -0.5, "lon": -90.5},
    {"event_id": "b", "type": "gap", "mmsi": 735000002, "score": 0.3, "lat": -2.0,
     "lon": -81.0},
    {"event_id": "c", "type": "loitering", "mmsi": 412000001, "score": None,
     "zone": "Ecuador EEZ", "lat": -1.0, "lon": -85.0},
    {"event_id": "d", "type": "fishing_in_zone", "mmsi": 735000003, "score": 0.7,
     "zone": "Galápagos Marine Reserve", "lat": -0.2, "lon": -91.0},
])
VESSELS = pl.DataFrame({
    "mmsi": [735000001, 412000001, 412000001, 735000003],
    "ship_type": [70, None, 30, 30],  # 412000001's latest non-null type is 30 (fishing)
    "ship_type_label": ["Cargo", None, "Fishing", "Fishing"],
})


# --- the matcher (pure) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        ({}, ["a", "b", "c", "d"]),
        ({"event_types": ("gap", "loitering")}, ["b", "c"]),
        ({"zones": ("Galápagos Marine Reserve",)}, ["a", "d"]),
        ({"mmsis": (412000001,)}, ["a", "c"]),  # either vessel of a pair
        ({"min_score": 0.5}, ["a", "d"]),  # no score fails a minimum
        ({"vessel_types": (30,)}, ["a", "c", "d"]),  # latest non-null code, either vessel
        ({"vessel_types": ("cargo",)}, ["a"]),  # labels, any case
        ({"vessel_types": (70,), "event_types": ("loitering",)}, []),
        ({"zones": ("Galápagos Marine Reserve",), "min_score": 0.8}, ["a"]),
        ({"enabled": False}, []),
    ],
)
def test_match_events_each_criterion(criteria: dict[str, object], expected: list[str]) -> None:
    pairs = match_events(EVENTS, [rule(**criteria)], VESSELS)
    assert pairs["event_id"].to_list() == expected
    assert pairs.schema == {"rule_id": pl.Int64, "event_id": pl.String}


def test_match_events_several_rules_and_no_vessels() -> None:
    pairs = match_events(EVENTS, [rule(1, event_types=("gap",)), rule(2, min_score=0.6),
                                  rule(3, vessel_types=(30,))])
    # without vessel identities a vessel-type rule matches nothing (type unknown)
    assert pairs.rows() == [(1, "b"), (2, "a"), (2, "d")]
    assert match_events(EVENTS.clear(), [rule()]).height == 0
    assert match_events(EVENTS, []).height == 0


def test_match_events_is_vectorised_on_a_large_table() -> None:
    n = 200_000
    rng = np.random.default_rng(3)
    big = pl.DataFrame({
        "event_id": [f"e{k}" for k in range(n)],
        "type": rng.choice(["gap", "encounter", "loitering"], n),
        "mmsi": rng.integers(735000000, 735001000, n),
        "other_mmsi": pl.Series([None] * n, dtype=pl.Int64),
        "zone": pl.Series([None] * n, dtype=pl.String),
        "score": rng.random(n),
    })
    import time

    started = time.perf_counter()
    pairs = match_events(big, [rule(1, event_types=("gap",), min_score=0.5),
                               rule(2, mmsis=tuple(range(735000000, 735000100))),
                               rule(3)])  # no criterion: every event (a literal filter
    # predicate, which Polars refuses on a frame this large: the matcher must not use one)
    assert time.perf_counter() - started < 5.0
    want = big.filter((pl.col("type") == "gap") & (pl.col("score") >= 0.5)).height + \
        big.filter(pl.col("mmsi") < 735000100).height + n
    assert pairs.height == want


# --- rules --------------------------------------------------------------------------------


def test_rules_crud_and_validation(state: State) -> None:
    setup_agencies(state)
    r = alerts.add_rule(state, "reserve", event_types=["encounter"], zones=["Reserve"],
                        mmsis=["735000001"], min_score=0.5, vessel_types=["30", "Fishing"],
                        now=T0)
    assert (r.agency, r.mmsis, r.vessel_types, r.created_by) == (
        HOST, (735000001,), (30, "Fishing"), "local")
    with pytest.raises(Conflict):
        alerts.add_rule(state, "reserve")
    with pytest.raises(InvalidInput, match="unknown event type"):
        alerts.add_rule(state, "x", event_types=["piracy"])
    with pytest.raises(InvalidInput, match="MMSI"):
        alerts.add_rule(state, "x", mmsis=["abc"])
    with pytest.raises(InvalidInput, match="min_score"):
        alerts.add_rule(state, "x", min_score=2)
    analyst = principal(state, "cg-admin")
    mine = alerts.add_rule(state, "cg rule", principal=analyst)
    assert mine.agency == COAST_GUARD and mine.created_by == "cg-admin"
    with pytest.raises(NotFound):  # another agency's rule is not there for it
        alerts.get_rule(state, r.id, analyst)
    changed = alerts.update_rule(state, "reserve", enabled=False, min_score=None,
                                 principal=principal(state, "navy-analyst"))
    assert not changed.enabled and changed.min_score is None and changed.zones == ("Reserve",)
    assert changed.updated_by == "navy-analyst"
    assert [x.name for x in alerts.list_rules(state, agency=HOST)] == ["reserve"]
    assert alerts.list_rules(state, enabled=True) == [mine]
    assert alerts.remove_rule(state, "cg rule") == 0
    assert [x.name for x in alerts.list_rules(state)] == ["reserve"]


# --- raising: idempotent ------------------------------------------------------------------


def test_raise_is_idempotent_and_updates_grown_events(state: State) -> None:
    setup_agencies(state)
    alerts.add_rule(state, "all")
    alerts.add_rule(state, "reserve", zones=["Galápagos Marine Reserve"])
    first = raise_alerts(state, EVENTS, now=T0)
    assert (first.new, first.updated, first.unchanged) == (6, 0, 0)
    assert len(first.new_ids) == 6
    again = raise_alerts(state, EVENTS, now=T0 + timedelta(hours=1))
    assert (again.new, again.updated, again.unchanged) == (0, 0, 6)
    a = alerts.list_alerts(state, rule="all", types=["encounter"])[0]
    alerts.acknowledge(state, a.id)
    grown = EVENTS.with_columns(
        pl.when(pl.col("event_id") == "a").then(pl.col("end") + timedelta(hours=2))
        .otherwise(pl.col("end")).alias("end"),
        pl.when(pl.col("event_id") == "a").then(0.95).otherwise(pl.col("score")).alias("score"),
    )
    third = raise_alerts(state, grown, now=T0 + timedelta(hours=2))
    assert (third.new, third.updated, third.unchanged) == (0, 2, 4)
    after = alerts.get_alert(state, a.id)
    assert after.state == "acknowledged"  # a re-raise never changes the state
    assert after.score == 0.95 and after.event_end == a.event_end + timedelta(hours=2)
    assert after.raised_at == a.raised_at and after.updated_at == T0 + timedelta(hours=2)
    assert len(alerts.list_alerts(state)) == 6
    # a rule removed takes its alerts with it
    assert alerts.remove_rule(state, "reserve") == 2
    assert len(alerts.list_alerts(state)) == 4


class _Identities:
    """The one thing :func:`alerts.raise_for_store` asks of a store: its vessels' types."""

    def __init__(self, vessels: pl.DataFrame) -> None:
        self.vessels = vessels

    def latest_identity(self) -> pl.DataFrame:
        return self.vessels


def test_a_raise_with_raised_reads_only_new_or_changed_events(tmp_path, monkeypatch) -> None:
    """The live service's raises: the first raises every event (a full reconciliation),
    the next ones only the events new or changed since, those of a vessel whose type
    changed (rules with vessel types), and all again once the rules change; a raise that
    fails leaves ``Raised`` as it was, so the next one covers its events."""
    from seawatch.share.accounts import init_state
    from seawatch.share.db import open_state

    store = tmp_path / "store"
    state = open_state(store)
    init_state(state, HOST)
    alerts.add_rule(state, "all")
    recorded: list[dict[str, object]] = []

    def record(_s: object, _a: str, _r: str, params: dict[str, object]) -> None:
        recorded.append(params)

    st: object = _Identities(VESSELS)
    raised = alerts.Raised()

    def raise_(events: pl.DataFrame) -> tuple[int, int, int]:
        r = alerts.raise_for_store(store, st, events, record, raised)  # type: ignore[arg-type]
        assert r is not None
        return r.new, r.updated, r.unchanged

    try:
        assert raise_(EVENTS) == (4, 0, 0) and raised.full and raised.count == 4
        assert raise_(EVENTS) == (0, 0, 0) and not raised.full and raised.count == 0
        grown = EVENTS.with_columns(
            pl.when(pl.col("event_id") == "b").then(pl.col("end") + timedelta(hours=1))
            .otherwise(pl.col("end")).alias("end"))
        more = pl.concat([grown, EVENTS.filter(pl.col("event_id") == "d").with_columns(
            pl.lit("e").alias("event_id"))])
        assert raise_(more) == (1, 1, 0) and raised.count == 2
        assert recorded[-1]["events"] == 2 and recorded[-1]["of"] == 5
        # a new rule: everything again, under every rule
        alerts.add_rule(state, "fishers", vessel_types=["Fishing"])
        assert raise_(more) == (4, 0, 5) and raised.full
        # a vessel whose type changed: its events again (735000003 is no fisher any more)
        st = _Identities(VESSELS.with_columns(
            pl.when(pl.col("mmsi") == 735000003).then(70).otherwise(pl.col("ship_type"))
            .alias("ship_type"),
            pl.when(pl.col("mmsi") == 735000003).then(pl.lit("Cargo"))
            .otherwise(pl.col("ship_type_label")).alias("ship_type_label")))
        assert raise_(more) == (0, 0, 2) and raised.count == 2  # d and e, unchanged
        # a failed raise: the next covers its events
        later = more.with_columns(pl.col("score") * 0.5)
        with monkeypatch.context() as m:
            def fail(*_a: object, **_k: object) -> None:
                raise OSError("database is locked")

            m.setattr(alerts, "raise_alerts", fail)
            with pytest.raises(OSError, match="locked"):
                alerts.raise_for_store(store, st, later, record, raised)  # type: ignore[arg-type]
        assert raise_(later) == (0, 5, 0) and raised.count == 4  # c has no score to halve
    finally:
        state.close()
    assert len({(a.rule_id, a.event_id) for a in alerts.list_alerts(open_state(store))}) == 9


# --- the life cycle -----------------------------------------------------------------------


def _one(state: State) -> int:
    setup_agencies(state)
    alerts.add_rule(state, "gaps", event_types=["gap"])
    raise_alerts(state, EVENTS, now=T0)
    (a,) = alerts.list_alerts(state)
    return a.id


def test_life_cycle_and_invalid_transitions(state: State) -> None:
    aid = _one(state)
    with pytest.raises(Conflict, match="is new: cannot reopen"):
        alerts.reopen(state, aid)
    a = alerts.acknowledge(state, aid, now=T0)
    assert (a.state, a.acknowledged_by) == ("acknowledged", "local")
    with pytest.raises(Conflict, match="is acknowledged: cannot acknowledge"):
        alerts.acknowledge(state, aid)
    with pytest.raises(InvalidInput, match="not of ECU-NAVY"):
        alerts.assign(state, aid, "cg-watch")
    from seawatch.share.accounts import add_user

    add_user(state, "navy-viewer", agency=HOST, role="partner_viewer")
    with pytest.raises(InvalidInput, match="may not act"):
        alerts.assign(state, aid, "navy-viewer")
    with pytest.raises(NotFound):
        alerts.assign(state, aid, "nobody")
    a = alerts.assign(state, aid, "navy-watch", watch="night")
    assert (a.state, a.assigned_to, a.watch) == ("assigned", "navy-watch", "night")
    a = alerts.assign(state, aid, "navy-analyst")  # reassigned
    assert (a.assigned_to, a.watch) == ("navy-analyst", "night")
    with pytest.raises(InvalidInput, match="close reason"):
        alerts.close(state, aid, "bored")
    a = alerts.close(state, aid, "false_positive", "AIS glitch")
    assert (a.state, a.close_reason, a.close_note) == ("closed", "false_positive", "AIS glitch")
    for step in (lambda: alerts.acknowledge(state, aid),
                 lambda: alerts.assign(state, aid, "navy-watch"),
                 lambda: alerts.close(state, aid, "resolved")):
        with pytest.raises(Conflict, match="is closed"):
            step()
    a = alerts.reopen(state, aid)
    assert (a.state, a.close_reason, a.close_note, a.assigned_to) == (
        "assigned", None, "", "navy-analyst")
    with pytest.raises(NotFound):
        alerts.acknowledge(state, 999_999)


def test_new_alert_may_be_assigned_or_closed_at_once(state: State) -> None:
    aid = _one(state)
    a = alerts.assign(state, aid, "navy-watch")
    assert a.state == "assigned" and a.acknowledged_by == "local"
    a = alerts.close(state, aid, "resolved")
    a = alerts.reopen(state, aid)
    assert a.state == "assigned"


def test_handover_moves_open_alerts_of_a_watch(state: State) -> None:
    setup_agencies(state)
    alerts.add_rule(state, "all")
    raise_alerts(state, EVENTS, now=T0)
    ids = [a.id for a in alerts.list_alerts(state)]
    for aid in ids[:3]:
        alerts.assign(state, aid, "navy-watch", watch="night")
    alerts.close(state, ids[0], "resolved")
    with pytest.raises(InvalidInput):
        alerts.handover(state, to_watch="day")
    with pytest.raises(InvalidInput):
        alerts.handover(state, from_watch="night")
    moved = alerts.handover(state, from_watch="night", to_watch="day", to_user="navy-analyst",
                            note="quiet night")
    assert moved.alert_ids == tuple(sorted(ids[1:3]))
    for a in alerts.list_alerts(state, watch="day"):
        assert (a.state, a.assigned_to) == ("assigned", "navy-analyst")
    assert alerts.get_alert(state, ids[0]).watch == "night"  # closed: stays
    assert alerts.handover(state, from_user="navy-watch", to_watch="x").alert_ids == ()


# --- who sees and acts --------------------------------------------------------------------


def test_partner_sees_alerts_of_events_it_may_see_and_acts_on_its_own(state: State) -> None:
    setup_agencies(state)
    alerts.add_rule(state, "all")
    raise_alerts(state, EVENTS, now=T0)
    partner = principal(state, "af-admin")
    by_event = {a.event_id: a for a in alerts.list_alerts(state)}
    none = access_for(state, partner, T0)
    assert alerts.visible_alerts(none, list(by_event.values())) == []
    with pytest.raises(NotFound):
        alerts.get_alert(state, by_event["a"].id, none)
    with pytest.raises(NotFound):  # unseen: as if it did not exist
        alerts.acknowledge(state, by_event["a"].id, access=none)
    create_grant(state, grantor=HOST, grantee=PARTNER, expires_at=T0 + timedelta(days=1),
                 event_types=["encounter", "gap"], max_marking="AMBER", now=T0)
    set_marking(state, "event", "b", "RED", owner=HOST)  # the gap: RED, not releasable
    access = access_for(state, partner, T0)
    seen = alerts.visible_alerts(access, list(by_event.values()))
    assert [a.event_id for a in seen] == ["a"]
    total, page = alerts.alert_page(state, access, limit=10)
    assert (total, [a.event_id for a in page]) == (1, ["a"])  # counted after the filter
    assert alerts.alert_page(state, access, limit=10, offset=1) == (1, [])
    everything = alerts.list_alerts(state)
    host_total, host_page = alerts.alert_page(state, None, limit=2, offset=1)
    assert host_total == 4 and host_page == everything[1:3]
    with pytest.raises(Forbidden, match="only its agency"):
        alerts.acknowledge(state, by_event["a"].id, access=access)
    assert alerts.get_alert(state, by_event["a"].id).state == "new"
    # a partner's own rule: its alerts are its own to act on
    alerts.add_rule(state, "af", event_types=["encounter"], principal=partner)
    raise_alerts(state, EVENTS, now=T0)
    own = alerts.list_alerts(state, rule="af")[0]
    assert alerts.acknowledge(state, own.id, access=access).acknowledged_by == "af-admin"
    host = access_for(state, principal(state, "navy-watch"), T0)
    assert len(alerts.visible_alerts(host, alerts.list_alerts(state))) == 5
    with pytest.raises(Forbidden):
        alerts.close(state, own.id, "resolved", access=host)


def test_concurrent_raises_neither_fail_nor_duplicate(state: State) -> None:
    """A batch run and the live service raising the same events at once."""
    from concurrent.futures import ThreadPoolExecutor

    setup_agencies(state)
    alerts.add_rule(state, "all")
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: raise_alerts(state, EVENTS), range(4)))
    assert sum(r.new for r in results) == 4
    assert sorted(r.unchanged for r in results) == [0, 4, 4, 4]
    assert len(alerts.list_alerts(state)) == 4


def test_a_state_of_revision_0001_is_upgraded_with_its_data(empty_url: str) -> None:
    import sqlalchemy as sa

    from seawatch.share.accounts import init_state, list_agencies
    from seawatch.share.db import HEAD_REVISION, State, make_engine, upgrade

    engine = make_engine(empty_url)
    upgrade(engine, "0001")
    assert "alerts" not in sa.inspect(engine).get_table_names()
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO agencies (name, description, is_host, created_at) "
                             "VALUES ('ECU-NAVY', '', true, :t)"), {"t": T0})
    upgrade(engine)
    state = State(empty_url, engine)
    assert state.revision() == HEAD_REVISION == "0003"
    assert [a.name for a in list_agencies(state)] == ["ECU-NAVY"]
    init_state(state, "ECU-NAVY")
    assert alerts.add_rule(state, "after upgrade").agency == "ECU-NAVY"
    state.close()
