"""Authentication: who is calling. The one import for the API and the command line.

Secrets never reach the database or the logs in clear. Each topic has its module, and this
one checks credentials with them and re-exports their public names (the scrypt parameters
stay in :mod:`seawatch.share.passwords`, where the hashing reads them):

=====================================  =====================================================
:mod:`seawatch.share.passwords`        scrypt hashes of passwords, the shortest accepted
:mod:`seawatch.share.tokens`           API tokens (``sw_...``), stored as SHA-256
:mod:`seawatch.share.sessions`         web sessions of the map, with CSRF protection
:mod:`seawatch.share.throttle`         locks after repeated failures, per user and address
this module                            a password login (:func:`authenticate_password`,
                                       :func:`login`) and one HTTP request
                                       (:func:`authenticate_request`)
=====================================  =====================================================

Examples
--------
>>> import tempfile
>>> from seawatch.share.accounts import add_user, init_state
>>> from seawatch.share.db import open_state
>>> state = open_state(tempfile.mkdtemp())
>>> _ = init_state(state, "ECU-NAVY")
>>> _ = add_user(state, "ana", agency="ECU-NAVY", role="analyst")
>>> token = create_token(state, "ana").token
>>> authenticate_request(state, method="GET", authorization=f"Bearer {token}").username
'ana'
>>> authenticate_request(state, method="GET") is None  # no credentials: anonymous
True
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from seawatch.share.accounts import principal_of
from seawatch.share.bounds import USERNAME
from seawatch.share.db import utcnow
from seawatch.share.errors import AuthenticationError, Forbidden
from seawatch.share.models import User
from seawatch.share.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    check_password_strength,
    hash_password,
    needs_rehash,
    verify_password,
)
from seawatch.share.roles import Principal
from seawatch.share.sessions import (
    BAD_CREDENTIALS,
    CSRF_COOKIE,
    CSRF_HEADER,
    SAFE_METHODS,
    SESSION_COOKIE,
    SESSION_IDLE,
    SESSION_TTL,
    NewSession,
    create_session,
    end_session,
    purge_sessions,
    verify_csrf,
    verify_session,
)
from seawatch.share.throttle import (
    FAILURE_WINDOW,
    LOCKOUT,
    MAX_FAILURES,
    check_not_locked,
    clear_failures,
    locked_until,
    record_failure,
)
from seawatch.share.tokens import (
    LAST_USE_RESOLUTION,
    TOKEN_PREFIX,
    NewToken,
    TokenInfo,
    authenticate_token,
    bearer_token,
    create_token,
    hash_secret,
    list_tokens,
    new_token,
    revoke_token,
)

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.share.db import State

__all__ = [
    "CSRF_COOKIE",
    "CSRF_HEADER",
    "FAILURE_WINDOW",
    "LAST_USE_RESOLUTION",
    "LOCKOUT",
    "MAX_FAILURES",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "SAFE_METHODS",
    "SESSION_COOKIE",
    "SESSION_IDLE",
    "SESSION_TTL",
    "TOKEN_PREFIX",
    "NewSession",
    "NewToken",
    "TokenInfo",
    "authenticate_password",
    "authenticate_request",
    "authenticate_token",
    "bearer_token",
    "check_password_strength",
    "clear_failures",
    "create_session",
    "create_token",
    "end_session",
    "hash_password",
    "hash_secret",
    "list_tokens",
    "locked_until",
    "login",
    "needs_rehash",
    "new_token",
    "purge_sessions",
    "record_failure",
    "revoke_token",
    "verify_csrf",
    "verify_password",
    "verify_session",
]


def authenticate_password(
    state: State, username: str, password: str, *, client: str | None = None,
    now: datetime | None = None,
) -> Principal:
    """Check a username and password (a login), with throttling.

    Raises
    ------
    RateLimited
        The user or the client address is locked (HTTP 429, ``Retry-After``).
    AuthenticationError
        Wrong password, unknown or disabled user (one message for all: no user enumeration).
    """
    when = utcnow(now)
    name = username.strip().lower()
    if not USERNAME.match(name):  # no user has it: not looked up, counted for the address
        name = ""
    check_not_locked(state, name or None, client, when)
    with state.read() as s:
        user = s.scalar(sa.select(User).where(User.username == name)) if name else None
        encoded = user.password_hash if user is not None else None
        ok = (len(password) <= MAX_PASSWORD_LENGTH and verify_password(password, encoded)
              and user is not None and not user.disabled)
        principal = principal_of(s, user, "password") if ok and user is not None else None
    if principal is None:
        record_failure(state, username=name or None, client=client, now=when)
        raise AuthenticationError(BAD_CREDENTIALS)
    clear_failures(state, username=name)
    return principal


def login(
    state: State, username: str, password: str, *, client: str | None = None,
    now: datetime | None = None,
) -> tuple[Principal, NewSession]:
    """Password login that opens a session: :func:`authenticate_password` then
    :func:`~seawatch.share.sessions.create_session`."""
    principal = authenticate_password(state, username, password, client=client, now=now)
    new = create_session(state, principal, client=client, now=now)
    return Principal(
        principal.user_id, principal.username, principal.agency, principal.role, "session",
        principal.is_host,
    ), new


def authenticate_request(
    state: State,
    *,
    method: str,
    authorization: str | None = None,
    session_id: str | None = None,
    csrf_token: str | None = None,
    client: str | None = None,
    now: datetime | None = None,
) -> Principal | None:
    """Authenticate one HTTP request: the whole check the API's dependency needs.

    A bearer token wins over a session cookie. A session on a state-changing method
    (not GET/HEAD/OPTIONS) must carry its CSRF token in :data:`CSRF_HEADER`; token requests
    need none (a browser never sends a bearer token by itself).

    Parameters
    ----------
    method
        HTTP method.
    authorization
        The ``Authorization`` header.
    session_id
        The :data:`SESSION_COOKIE` cookie.
    csrf_token
        The :data:`CSRF_HEADER` header.
    client
        Client address (for throttling and the audit log).

    Returns
    -------
    Principal or None
        None when the request carries no credentials at all (anonymous: only ``public``
        routes will accept it).

    Raises
    ------
    AuthenticationError (401), RateLimited (429), Forbidden (403, CSRF)
    """
    when = utcnow(now)
    if authorization is not None and authorization.strip():
        token = bearer_token(authorization)
        if token is None:
            record_failure(state, client=client, now=when)
            raise AuthenticationError("Authorization must be 'Bearer <token>'")
        return authenticate_token(state, token, client=client, now=when)
    if session_id:
        check_not_locked(state, None, client, when)
        principal = verify_session(state, session_id, now=when)
        if method.upper() not in SAFE_METHODS and not verify_csrf(
            state, session_id, csrf_token, now=when
        ):
            raise Forbidden(f"missing or wrong {CSRF_HEADER} header for this session")
        return principal
    return None
