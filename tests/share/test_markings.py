"""TLP 2.0 markings: order, parsing, storage, frames and export banners."""

from __future__ import annotations

import polars as pl
import pytest

from seawatch.share.db import State
from seawatch.share.errors import Forbidden, InvalidInput, NotFound
from seawatch.share.markings import (
    LEVELS,
    TLP,
    Marking,
    attach_markings,
    export_banner,
    export_marking,
    export_metadata,
    get_marking,
    highest,
    list_markings,
    set_default_marking,
    set_marking,
)
from tests.share.data import (
    COAST_GUARD,
    FISHERIES,
    HOST,
    PARTNER,
    T0,
    events_frame,
    principal,
    setup_agencies,
)


def test_levels_order_and_parse() -> None:
    assert LEVELS == ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")
    assert TLP.CLEAR < TLP.GREEN < TLP.AMBER < TLP.AMBER_STRICT < TLP.RED
    assert TLP.parse("TLP:AMBER+STRICT") is TLP.AMBER_STRICT
    assert TLP.parse("amber_strict") is TLP.AMBER_STRICT
    assert str(TLP.AMBER_STRICT) == "AMBER+STRICT"
    assert highest(["GREEN", "AMBER+STRICT", "AMBER"]) is TLP.AMBER_STRICT
    assert highest([]) is TLP.CLEAR
    with pytest.raises(InvalidInput, match="WHITE to CLEAR"):
        TLP.parse("WHITE")
    with pytest.raises(InvalidInput, match="unknown marking"):
        TLP.parse("PURPLE")


def test_releasable_semantics() -> None:
    assert Marking(TLP.AMBER).releasable(PARTNER)  # empty list: any grantee in scope
    assert Marking(TLP.AMBER, (COAST_GUARD,)).releasable(COAST_GUARD)
    assert not Marking(TLP.AMBER, (COAST_GUARD,)).releasable(PARTNER)
    assert not Marking(TLP.RED).releasable(PARTNER)  # RED: named recipients only
    assert Marking(TLP.RED, (PARTNER,)).releasable(PARTNER)


def test_set_get_and_attach(state: State) -> None:
    setup_agencies(state)
    assert get_marking(state, "event", "ev0") == Marking(TLP.AMBER, (), HOST)  # default
    set_default_marking(state, "GREEN")
    assert get_marking(state, "event", "nothing").level is TLP.GREEN
    m = set_marking(state, "event", "ev1", "RED", releasable_to=[PARTNER], now=T0)
    assert (m.level, m.releasable_to, m.owner) == (TLP.RED, (PARTNER,), HOST)
    set_marking(state, "event", "ev2", "AMBER+STRICT", owner=COAST_GUARD, now=T0)
    set_marking(state, "zone", "Galápagos Marine Reserve", "CLEAR", now=T0)
    with pytest.raises(NotFound, match="unknown agency"):
        set_marking(state, "event", "ev3", "RED", releasable_to=["NOPE"])
    with pytest.raises(InvalidInput, match="unknown object kind"):
        set_marking(state, "vessel", "1", "RED")
    assert [k for k, _, _ in list_markings(state)] == ["event", "event", "zone"]
    events = events_frame([{"event_id": f"ev{k}", "lat": 0.0, "lon": -90.0} for k in range(4)])
    joined = attach_markings(state, events)
    assert joined.columns[: len(events.columns)] == events.columns
    assert joined.get_column("event_id").to_list() == ["ev0", "ev1", "ev2", "ev3"]
    assert joined.get_column("marking").to_list() == ["GREEN", "RED", "AMBER+STRICT", "GREEN"]
    assert joined.get_column("owner_agency").to_list() == [HOST, HOST, COAST_GUARD, HOST]
    assert joined.get_column("releasable_to").to_list() == [[], [PARTNER], [], []]


def test_who_may_mark(state: State) -> None:
    setup_agencies(state)
    set_marking(state, "event", "cg-event", "AMBER", owner=COAST_GUARD)
    set_marking(state, "event", "cg-event", "RED", principal=principal(state, "cg-admin"))
    with pytest.raises(Forbidden, match="owned by ECU-CG"):
        set_marking(state, "event", "cg-event", "CLEAR", principal=principal(state, "fish-analyst"))
    with pytest.raises(Forbidden, match="watch_officer"):
        set_marking(state, "event", "cg-event", "CLEAR", principal=principal(state, "cg-watch"))
    with pytest.raises(Forbidden):  # an agency cannot take over another's object
        set_marking(state, "event", "navy-event", "CLEAR", owner=FISHERIES,
                    principal=principal(state, "fish-analyst"))
    set_marking(state, "event", "cg-event", "GREEN", principal=principal(state, "navy-admin"))
    assert get_marking(state, "event", "cg-event").level is TLP.GREEN


def test_export_marking_and_banner() -> None:
    frame = pl.DataFrame(
        {
            "marking": ["GREEN", "AMBER", "AMBER"],
            "releasable_to": [[], [PARTNER, COAST_GUARD], [PARTNER]],
            "owner_agency": [HOST, HOST, COAST_GUARD],
        }
    )
    m = export_marking(frame)
    assert m.level is TLP.AMBER and m.releasable_to == (PARTNER,)
    assert m.owner == f"{COAST_GUARD}+{HOST}"
    banner = export_banner(m, recipient=PARTNER)
    assert banner.startswith("TLP:AMBER // ") and "released to PARTNER-AF" in banner
    meta = export_metadata(m, recipient=PARTNER, generated_at=T0)
    assert meta["tlp"] == "AMBER" and meta["generated_at"] == "2026-01-15T12:00:00Z"
    assert meta["banner"] == banner
    assert export_marking(frame.head(0)).level is TLP.CLEAR
