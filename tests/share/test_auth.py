"""Authentication as a whole: no secret in the database, one check per HTTP request."""

from __future__ import annotations

import pytest

from seawatch.share.accounts import add_user
from seawatch.share.auth import authenticate_request, login
from seawatch.share.db import State
from seawatch.share.errors import AuthenticationError
from seawatch.share.tokens import create_token, hash_secret
from tests.share.data import HOST, T0, all_text, setup_agencies

PASSWORD = "correct horse battery staple"

def test_no_secret_in_database(state: State) -> None:
    setup_agencies(state)
    add_user(state, "pw-user", agency=HOST, role="analyst", password=PASSWORD)
    token = create_token(state, "pw-user", now=T0).token
    _, session = login(state, "pw-user", PASSWORD, client="10.0.0.9", now=T0)
    text = all_text(state)
    for secret in (PASSWORD, token, token[3:], session.session_id, session.csrf_token):
        assert secret not in text
    assert hash_secret(token) in text  # only the hash
    assert "scrypt$" in text
    assert token not in repr(create_token(state, "pw-user"))  # not in reprs (logs) either


def test_authenticate_request(state: State) -> None:
    setup_agencies(state)
    token = create_token(state, "navy-watch", now=T0).token
    who = authenticate_request(state, method="POST", authorization=f"Bearer {token}", now=T0)
    assert who is not None and who.is_host and who.auth_method == "token"  # no CSRF for tokens
    assert authenticate_request(state, method="GET", now=T0) is None  # anonymous
    with pytest.raises(AuthenticationError, match="Bearer"):
        authenticate_request(state, method="GET", authorization=f"Basic {token}", now=T0)
