"""Throttling: failed passwords lock the user, bad tokens lock the address, slow guessing does
not add up."""

from __future__ import annotations

from datetime import timedelta

import pytest

from seawatch.share.accounts import set_password
from seawatch.share.auth import authenticate_password
from seawatch.share.db import State
from seawatch.share.errors import AuthenticationError, RateLimited
from seawatch.share.throttle import FAILURE_WINDOW, LOCKOUT, MAX_FAILURES
from seawatch.share.tokens import authenticate_token, create_token
from tests.share.data import T0, setup_agencies

PASSWORD = "correct horse battery staple"

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
