"""Passwords, tokens, sessions with CSRF, throttling: no secret in the database."""

from __future__ import annotations

from datetime import timedelta

import pytest

from seawatch.share import auth
from seawatch.share.accounts import add_user, set_disabled, set_password
from seawatch.share.auth import (
    FAILURE_WINDOW,
    LOCKOUT,
    MAX_FAILURES,
    SESSION_IDLE,
    SESSION_TTL,
    authenticate_password,
    authenticate_request,
    authenticate_token,
    create_session,
    create_token,
    end_session,
    hash_password,
    list_tokens,
    login,
    revoke_token,
    verify_csrf,
    verify_password,
    verify_session,
)
from seawatch.share.db import State
from seawatch.share.errors import AuthenticationError, Forbidden, InvalidInput, RateLimited
from tests.share.data import HOST, PARTNER, T0, all_text, principal, setup_agencies

PASSWORD = "correct horse battery staple"


def test_real_scrypt_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "SCRYPT_N", 2**15)
    encoded = hash_password(PASSWORD)
    assert encoded.startswith("scrypt$n=32768,r=8,p=1$")
    assert verify_password(PASSWORD, encoded)
    assert not verify_password(PASSWORD + "x", encoded)
    assert hash_password(PASSWORD) != encoded  # per-password salt
    assert not auth.needs_rehash(encoded)
    assert auth.needs_rehash(hash_password(PASSWORD, n=2**10))
    assert not verify_password(PASSWORD, "md5$whatever") and not verify_password(PASSWORD, None)


def test_no_secret_in_database(state: State) -> None:
    setup_agencies(state)
    add_user(state, "pw-user", agency=HOST, role="analyst", password=PASSWORD)
    token = create_token(state, "pw-user", now=T0).token
    _, session = login(state, "pw-user", PASSWORD, client="10.0.0.9", now=T0)
    text = all_text(state)
    for secret in (PASSWORD, token, token[3:], session.session_id, session.csrf_token):
        assert secret not in text
    assert auth.hash_secret(token) in text  # only the hash
    assert "scrypt$" in text
    assert token not in repr(create_token(state, "pw-user"))  # not in reprs (logs) either


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


def test_authenticate_request(state: State) -> None:
    setup_agencies(state)
    token = create_token(state, "navy-watch", now=T0).token
    who = authenticate_request(state, method="POST", authorization=f"Bearer {token}", now=T0)
    assert who is not None and who.is_host and who.auth_method == "token"  # no CSRF for tokens
    assert authenticate_request(state, method="GET", now=T0) is None  # anonymous
    with pytest.raises(AuthenticationError, match="Bearer"):
        authenticate_request(state, method="GET", authorization=f"Basic {token}", now=T0)


def test_password_rate_limit_per_user(state: State) -> None:
    setup_agencies(state)
    set_password(state, "navy-analyst", PASSWORD)
    for k in range(MAX_FAILURES):
        with pytest.raises(AuthenticationError) as info:
            authenticate_password(state, "navy-analyst", "wrong password!",
                                  client=f"10.9.0.{k}", now=T0 + timedelta(seconds=k))
        assert not isinstance(info.value, RateLimited)
    # locked now, even with the right password and from a fresh address
    locked_at = T0 + timedelta(seconds=MAX_FAILURES - 1)
    with pytest.raises(RateLimited) as info:
        authenticate_password(state, "navy-analyst", PASSWORD, client="10.9.9.9",
                              now=locked_at + timedelta(minutes=1))
    assert 0 < info.value.retry_after <= LOCKOUT.total_seconds()
    # unlocked after the lockout
    who = authenticate_password(state, "navy-analyst", PASSWORD, client="10.9.9.9",
                                now=locked_at + LOCKOUT + timedelta(seconds=1))
    assert who.username == "navy-analyst" and who.auth_method == "password"


def test_failures_outside_the_window_do_not_add_up(state: State) -> None:
    setup_agencies(state)
    set_password(state, "navy-analyst", PASSWORD)
    when = T0
    for _ in range(3 * MAX_FAILURES):  # slow guessing: one failure per window
        with pytest.raises(AuthenticationError) as info:
            authenticate_password(state, "navy-analyst", "nope nope nope", now=when)
        assert not isinstance(info.value, RateLimited)
        when += FAILURE_WINDOW / (MAX_FAILURES - 1) + timedelta(seconds=1)
    assert authenticate_password(state, "navy-analyst", PASSWORD, now=when)


def test_bad_tokens_lock_the_address(state: State) -> None:
    setup_agencies(state)
    good = create_token(state, "navy-watch", now=T0).token
    for k in range(MAX_FAILURES):
        with pytest.raises(AuthenticationError):
            authenticate_token(state, f"sw_guess{k:040d}", client="203.0.113.7", now=T0)
    with pytest.raises(RateLimited):
        authenticate_token(state, good, client="203.0.113.7", now=T0 + timedelta(minutes=1))
    # another address is not affected
    assert authenticate_token(state, good, client="198.51.100.1", now=T0).username == "navy-watch"
    # unknown usernames count too (no enumeration through the lock), per address as well
    for _ in range(MAX_FAILURES):
        with pytest.raises(AuthenticationError):
            authenticate_password(state, "nobody", "whatever whatever", client="192.0.2.1",
                                  now=T0)
    with pytest.raises(RateLimited):
        authenticate_password(state, "navy-watch", "whatever whatever", client="192.0.2.1",
                              now=T0)
    # after the window the address works again
    assert authenticate_token(
        state, good, client="203.0.113.7", now=T0 + LOCKOUT + timedelta(seconds=1)
    ).username == "navy-watch"
