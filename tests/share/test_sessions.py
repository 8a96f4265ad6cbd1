"""Web sessions with CSRF: login, idle timeout, absolute lifetime, logout."""

from __future__ import annotations

from datetime import timedelta

import pytest

from seawatch.share.accounts import set_password
from seawatch.share.auth import authenticate_request, login
from seawatch.share.db import State
from seawatch.share.errors import AuthenticationError, Forbidden
from seawatch.share.sessions import (
    SESSION_IDLE,
    SESSION_TTL,
    create_session,
    end_session,
    verify_csrf,
    verify_session,
)
from tests.share.data import T0, setup_agencies

PASSWORD = "correct horse battery staple"

def test_session_and_csrf(state: State) -> None:
    setup_agencies(state)
    set_password(state, "cg-watch", PASSWORD)
    who, new = login(state, "cg-watch", PASSWORD, client="10.0.0.5", now=T0)
    assert who.auth_method == "session" and new.expires_at == T0 + SESSION_TTL
    assert verify_session(state, new.session_id, now=T0 + timedelta(minutes=5)).username == (
        "cg-watch"
    )
    assert verify_csrf(state, new.session_id, new.csrf_token, now=T0)
    assert not verify_csrf(state, new.session_id, "forged", now=T0)
    assert not verify_csrf(state, new.session_id, None, now=T0)
    assert not verify_csrf(state, "not-a-session", new.csrf_token, now=T0)
    # request-level: GET without CSRF is fine, POST needs it
    kw = {"session_id": new.session_id, "client": "10.0.0.5", "now": T0}
    assert authenticate_request(state, method="GET", **kw) is not None  # type: ignore[arg-type]
    with pytest.raises(Forbidden, match="X-CSRF-Token"):
        authenticate_request(state, method="POST", **kw)  # type: ignore[arg-type]
    ok = authenticate_request(state, method="POST", csrf_token=new.csrf_token, **kw)  # type: ignore[arg-type]
    assert ok is not None and ok.username == "cg-watch"
    # idle timeout, then the absolute lifetime
    with pytest.raises(AuthenticationError):
        verify_session(state, new.session_id, now=T0 + timedelta(minutes=5) + SESSION_IDLE * 2)
    second = create_session(state, "cg-watch", now=T0)
    step = T0
    while step + SESSION_IDLE / 2 < T0 + SESSION_TTL:
        step += SESSION_IDLE / 2
        verify_session(state, second.session_id, now=step)
    with pytest.raises(AuthenticationError):
        verify_session(state, second.session_id, now=T0 + SESSION_TTL)
    # logout
    third = create_session(state, "cg-watch", now=T0)
    assert end_session(state, third.session_id, now=T0)
    assert not end_session(state, third.session_id, now=T0)
    with pytest.raises(AuthenticationError):
        verify_session(state, third.session_id, now=T0)
    assert not verify_csrf(state, third.session_id, third.csrf_token, now=T0)
