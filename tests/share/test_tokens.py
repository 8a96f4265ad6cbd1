"""API tokens: lifecycle (expiry, revocation, a disabled user) and who may manage them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from seawatch.share.accounts import set_disabled
from seawatch.share.db import State
from seawatch.share.errors import AuthenticationError, Forbidden, InvalidInput
from seawatch.share.tokens import authenticate_token, create_token, list_tokens, revoke_token
from tests.share.data import PARTNER, T0, principal, setup_agencies


def test_token_lifecycle(state: State) -> None:
    setup_agencies(state)
    new = create_token(state, "af-viewer", expires_at=T0 + timedelta(days=30), now=T0)
    assert new.token.startswith("sw_") and len(new.token) == 46
    who = authenticate_token(state, new.token, client="10.1.1.1", now=T0 + timedelta(hours=1))
    assert (who.username, who.agency, who.role, who.auth_method) == (
        "af-viewer", PARTNER, "partner_viewer", "token"
    )
    assert not who.is_host
    info = list_tokens(state, "af-viewer")[0]
    assert info.last_used_at == T0 + timedelta(hours=1) and info.status(T0) == "active"
    # expiry takes effect at the next call
    with pytest.raises(AuthenticationError):
        authenticate_token(state, new.token, now=T0 + timedelta(days=30))
    assert list_tokens(state)[0].status(T0 + timedelta(days=31)) == "expired"
    # revocation too
    other = create_token(state, "af-viewer", now=T0)
    authenticate_token(state, other.token, now=T0)
    revoked = revoke_token(state, other.id, now=T0 + timedelta(minutes=5))
    assert revoked.revoked_at == T0 + timedelta(minutes=5)
    with pytest.raises(AuthenticationError, match="revoked"):
        authenticate_token(state, other.token, now=T0 + timedelta(minutes=6))
    with pytest.raises(AuthenticationError):
        authenticate_token(state, "sw_" + "A" * 43, now=T0)
    with pytest.raises(InvalidInput, match="in the past"):
        create_token(state, "af-viewer", expires_at=T0 - timedelta(days=1), now=T0)
    # a disabled user's token stops working
    third = create_token(state, "af-viewer", now=T0)
    set_disabled(state, "af-viewer")
    with pytest.raises(AuthenticationError):
        authenticate_token(state, third.token, now=T0)


def test_token_permissions(state: State) -> None:
    setup_agencies(state)
    viewer = principal(state, "af-viewer")
    create_token(state, "af-viewer", principal=viewer)  # own token
    with pytest.raises(Forbidden):
        create_token(state, "navy-admin", principal=viewer)
    with pytest.raises(Forbidden, match="other agencies"):
        create_token(state, "navy-watch", principal=principal(state, "af-admin"))
    create_token(state, "af-viewer", principal=principal(state, "af-admin"))
    create_token(state, "af-viewer", principal=principal(state, "navy-admin"))
