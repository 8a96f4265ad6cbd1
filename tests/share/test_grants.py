"""Grants: creation rules, scope, expiry and revocation on record."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from seawatch.errors import InvalidValue
from seawatch.share.db import State
from seawatch.share.errors import Conflict, Forbidden, InvalidInput, NotFound
from seawatch.share.grants import (
    create_grant,
    get_grant,
    list_grants,
    live_grants,
    resolve_zone,
    revoke_grant,
)
from seawatch.share.markings import TLP
from tests.share.data import (
    COAST_GUARD,
    FISHERIES,
    HOST,
    INSIDE_RESERVE,
    OUTSIDE_RESERVE,
    PARTNER,
    T0,
    principal,
    setup_agencies,
)

RESERVE = "Galápagos Marine Reserve"


def test_zone_lookup_ignores_case_and_accents() -> None:
    assert resolve_zone("galapagos marine reserve").name == RESERVE
    with pytest.raises(NotFound, match="unknown zone"):
        resolve_zone("Atlantis")


def test_create_and_scope(state: State) -> None:
    setup_agencies(state)
    g = create_grant(
        state, grantor=HOST, grantee=PARTNER, zone="galapagos marine reserve",
        event_types=["encounter", "gap"], max_marking="AMBER",
        expires_at=T0 + timedelta(hours=24), data_start=T0 - timedelta(days=7), now=T0,
    )
    assert (g.grantor, g.grantee, g.zone_name, g.max_marking) == (HOST, PARTNER, RESERVE, TLP.AMBER)
    assert g.event_types == ("encounter", "gap") and g.created_by == "local"
    assert g.status(T0) == "active" and g.status(T0 + timedelta(hours=24)) == "expired"
    assert g.status(T0 - timedelta(seconds=1)) == "pending"
    lat = np.array([p[0] for p in INSIDE_RESERVE + OUTSIDE_RESERVE] + [np.nan])
    lon = np.array([p[1] for p in INSIDE_RESERVE + OUTSIDE_RESERVE] + [np.nan])
    inside = [True] * len(INSIDE_RESERVE) + [False] * len(OUTSIDE_RESERVE) + [False]
    assert get_grant(state, g.id).contains(lat, lon).tolist() == inside
    box = create_grant(state, grantor=HOST, grantee=PARTNER, bbox="170,-10,-170,10",
                       expires_at=T0 + timedelta(days=1), now=T0)
    assert box.contains(np.array([0.0, 0.0, 0.0]), np.array([175.0, -175.0, 0.0])).tolist() == [
        True, True, False,
    ]
    everywhere = create_grant(state, grantor=HOST, grantee=COAST_GUARD,
                              expires_at=T0 + timedelta(days=1), now=T0)
    assert everywhere.area_kind == "all" and everywhere.event_types is None


def test_create_validation(state: State) -> None:
    setup_agencies(state)
    until = T0 + timedelta(days=1)
    with pytest.raises(InvalidInput, match="not in the future"):
        create_grant(state, grantor=HOST, grantee=PARTNER, expires_at=T0, now=T0)
    with pytest.raises(InvalidInput, match="own data"):
        create_grant(state, grantor=HOST, grantee=HOST, expires_at=until, now=T0)
    with pytest.raises(InvalidInput, match="unknown event type"):
        create_grant(state, grantor=HOST, grantee=PARTNER, expires_at=until,
                     event_types=["smuggling"], now=T0)
    with pytest.raises(InvalidInput, match="not both"):
        create_grant(state, grantor=HOST, grantee=PARTNER, expires_at=until, zone=RESERVE,
                     bbox="-92,-2,-88,2", now=T0)
    with pytest.raises(InvalidValue, match="bbox"):
        create_grant(state, grantor=HOST, grantee=PARTNER, expires_at=until,
                     bbox="-92,-2,-88", now=T0)
    with pytest.raises(InvalidInput, match="after it ends"):
        create_grant(state, grantor=HOST, grantee=PARTNER, expires_at=until, now=T0,
                     data_start=T0, data_end=T0 - timedelta(days=1))
    with pytest.raises(NotFound, match="unknown agency"):
        create_grant(state, grantor=HOST, grantee="NOPE", expires_at=until, now=T0)
    with pytest.raises(InvalidInput, match="unknown marking"):
        create_grant(state, grantor=HOST, grantee=PARTNER, expires_at=until, now=T0,
                     max_marking="TOP-SECRET")


def test_only_the_owners_admins_grant(state: State) -> None:
    setup_agencies(state)
    until = T0 + timedelta(days=1)
    create_grant(state, grantor=HOST, grantee=PARTNER, expires_at=until, now=T0,
                 principal=principal(state, "navy-admin"))
    with pytest.raises(Forbidden, match="may not grant ECU-NAVY's data"):
        create_grant(state, grantor=HOST, grantee=PARTNER, expires_at=until, now=T0,
                     principal=principal(state, "cg-admin"))
    with pytest.raises(Forbidden, match="analyst"):
        create_grant(state, grantor=HOST, grantee=PARTNER, expires_at=until, now=T0,
                     principal=principal(state, "navy-analyst"))
    with pytest.raises(Forbidden, match="partner_viewer"):
        create_grant(state, grantor=PARTNER, grantee=HOST, expires_at=until, now=T0,
                     principal=principal(state, "af-viewer"))
    # an agency's admin may grant what that agency owns
    cg = create_grant(state, grantor=COAST_GUARD, grantee=FISHERIES, expires_at=until, now=T0,
                      principal=principal(state, "cg-admin"))
    with pytest.raises(Forbidden):
        revoke_grant(state, cg.id, principal=principal(state, "af-admin"))
    revoked = revoke_grant(state, cg.id, principal=principal(state, "navy-admin"), now=T0)
    assert revoked.revoked_by == "navy-admin"  # the host keeps control


def test_revoke_and_lists(state: State) -> None:
    setup_agencies(state)
    a = create_grant(state, grantor=HOST, grantee=PARTNER, expires_at=T0 + timedelta(days=2),
                     now=T0)
    b = create_grant(state, grantor=HOST, grantee=PARTNER, expires_at=T0 + timedelta(hours=1),
                     now=T0)
    c = create_grant(state, grantor=HOST, grantee=COAST_GUARD, expires_at=T0 + timedelta(days=2),
                     now=T0)
    assert [g.id for g in live_grants(state, PARTNER, T0)] == [a.id, b.id]
    assert [g.id for g in live_grants(state, PARTNER, T0 + timedelta(hours=2))] == [a.id]
    r = revoke_grant(state, a.id, now=T0 + timedelta(minutes=10))
    assert r.revoked_at == T0 + timedelta(minutes=10) and r.revoked_by == "local"
    assert [g.id for g in live_grants(state, PARTNER, T0 + timedelta(minutes=11))] == [b.id]
    with pytest.raises(Conflict, match="revoked"):
        revoke_grant(state, a.id)
    with pytest.raises(NotFound):
        revoke_grant(state, 9999)
    assert {g.id for g in list_grants(state)} == {a.id, b.id, c.id}  # rows stay on record
    assert {g.id for g in list_grants(state, agency=COAST_GUARD)} == {c.id}
    assert {g.id for g in list_grants(state, principal=principal(state, "af-viewer"))} == {
        a.id, b.id,
    }
    live = list_grants(state, live_at=T0 + timedelta(minutes=11))
    assert {g.id for g in live} == {b.id, c.id}
