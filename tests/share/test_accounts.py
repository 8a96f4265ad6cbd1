"""Agencies, users, roles and who may manage them."""

from __future__ import annotations

import pytest

from seawatch.share.accounts import (
    add_agency,
    add_user,
    host_agency,
    init_state,
    list_agencies,
    list_users,
    set_disabled,
)
from seawatch.share.db import State
from seawatch.share.errors import Conflict, Forbidden, InvalidInput, NotFound, NotInitialised
from seawatch.share.markings import TLP, default_marking
from tests.share.data import COAST_GUARD, HOST, PARTNER, principal, setup_agencies


def test_init_state_sets_one_host(state: State) -> None:
    with pytest.raises(NotInitialised, match="init-state"):
        host_agency(state)
    info = init_state(state, HOST, default_marking="GREEN")
    assert info.is_host and host_agency(state).name == HOST
    assert default_marking(state) is TLP.GREEN
    init_state(state, HOST)  # idempotent: the default marking stays
    assert default_marking(state) is TLP.GREEN
    init_state(state, HOST, default_marking="AMBER+STRICT")
    assert default_marking(state) is TLP.AMBER_STRICT
    with pytest.raises(Conflict, match="host agency is ECU-NAVY"):
        init_state(state, "OTHER")
    with pytest.raises(Conflict, match="one host"):
        add_agency(state, "OTHER", host=True)


def test_agencies_and_users(state: State) -> None:
    setup_agencies(state)
    assert list_agencies(state)[0].name == HOST
    with pytest.raises(Conflict, match="exists already"):
        add_agency(state, COAST_GUARD)
    with pytest.raises(InvalidInput, match="bad agency name"):
        add_agency(state, "no spaces please")
    with pytest.raises(Conflict, match="exists already"):
        add_user(state, "NAVY-ADMIN", agency=HOST, role="admin")  # usernames are lower-cased
    with pytest.raises(NotFound, match="unknown agency 'NOPE'"):
        add_user(state, "x", agency="NOPE", role="admin")
    with pytest.raises(InvalidInput, match="unknown role"):
        add_user(state, "x", agency=HOST, role="superuser")
    with pytest.raises(InvalidInput, match="too short"):
        add_user(state, "x", agency=HOST, role="analyst", password="short")
    users = {u.username: u for u in list_users(state)}
    assert users["af-viewer"].agency == PARTNER and users["af-viewer"].role == "partner_viewer"
    assert not users["af-viewer"].has_password
    assert {u.agency for u in list_users(state, agency=COAST_GUARD)} == {COAST_GUARD}


def test_who_may_manage(state: State) -> None:
    setup_agencies(state)
    navy_admin = principal(state, "navy-admin")
    cg_admin = principal(state, "cg-admin")
    cg_watch = principal(state, "cg-watch")
    assert navy_admin.is_host_admin and not cg_admin.is_host_admin
    add_agency(state, "NEW-AGENCY", principal=navy_admin)
    with pytest.raises(Forbidden, match="host agency's admins"):
        add_agency(state, "ROGUE", principal=cg_admin)
    add_user(state, "cg-new", agency=COAST_GUARD, role="analyst", principal=cg_admin)
    add_user(state, "af-new", agency=PARTNER, role="partner_viewer", principal=navy_admin)
    with pytest.raises(Forbidden, match="may not manage users of PARTNER-AF"):
        add_user(state, "af-rogue", agency=PARTNER, role="admin", principal=cg_admin)
    with pytest.raises(Forbidden, match="watch_officer"):
        add_user(state, "cg-other", agency=COAST_GUARD, role="admin", principal=cg_watch)
    # a non-host admin lists only its own agency
    assert {u.agency for u in list_users(state, principal=cg_admin)} == {COAST_GUARD}
    assert set(u.agency for u in list_users(state, principal=navy_admin)) > {COAST_GUARD}
    assert set_disabled(state, "cg-new", principal=cg_admin).disabled
