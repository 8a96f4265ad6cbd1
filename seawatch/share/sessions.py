"""Web sessions of the map, with CSRF protection.

Sessions are server-side rows: the session id (the cookie :data:`SESSION_COOKIE`, HttpOnly)
and a per-session CSRF token are random and stored only as SHA-256
(:func:`seawatch.share.tokens.hash_secret`). A session ends :data:`SESSION_TTL` after login,
after :data:`SESSION_IDLE` without use, at logout, or when its user is disabled. CSRF uses the
synchroniser-token pattern: the CSRF token is bound to the session in the database; the
browser gets it at login (response body and a readable cookie :data:`CSRF_COOKIE`) and must
echo it in the :data:`CSRF_HEADER` header on every state-changing request; :func:`verify_csrf`
compares its hash in constant time.

A password login that opens a session is :func:`seawatch.share.auth.login`.

Examples
--------
>>> import tempfile
>>> from seawatch.share.accounts import add_user, init_state
>>> from seawatch.share.db import open_state
>>> state = open_state(tempfile.mkdtemp())
>>> _ = init_state(state, "ECU-NAVY")
>>> _ = add_user(state, "ana", agency="ECU-NAVY", role="analyst")
>>> new = create_session(state, "ana")
>>> verify_session(state, new.session_id).username
'ana'
>>> verify_csrf(state, new.session_id, new.csrf_token), end_session(state, new.session_id)
(True, True)
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from seawatch.share.accounts import find_user, principal_of
from seawatch.share.db import utcnow
from seawatch.share.errors import AuthenticationError, NotFound
from seawatch.share.models import User, WebSession
from seawatch.share.roles import Principal
from seawatch.share.tokens import LAST_USE_RESOLUTION, TOKEN_BYTES, hash_secret

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

    from seawatch.share.db import State

SESSION_TTL = timedelta(hours=8)
"""Absolute lifetime of a web session (one watch)."""
SESSION_IDLE = timedelta(minutes=30)
"""A session unused this long ends."""
SESSION_COOKIE = "seawatch_session"
"""Cookie holding the session id (set HttpOnly, Secure, SameSite=Strict)."""
CSRF_COOKIE = "seawatch_csrf"
"""Readable cookie holding the session's CSRF token for the map's scripts."""
CSRF_HEADER = "X-CSRF-Token"
"""Header that must echo the CSRF token on state-changing requests of a session."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
"""HTTP methods that change nothing and need no CSRF token."""
BAD_CREDENTIALS = "invalid credentials"
"""The one message of a failed login: the same for an unknown user, a wrong password and a
disabled user (no user enumeration)."""


@dataclass(frozen=True)
class NewSession:
    """A session just created: set :attr:`session_id` as the HttpOnly cookie and give the
    browser :attr:`csrf_token`; neither is stored in clear."""

    expires_at: datetime
    session_id: str = field(repr=False)
    csrf_token: str = field(repr=False)


def create_session(
    state: State,
    principal: Principal | str,
    *,
    client: str | None = None,
    ttl: timedelta = SESSION_TTL,
    now: datetime | None = None,
) -> NewSession:
    """Open a web session for a user (after a password check).

    Parameters
    ----------
    principal
        The authenticated principal, or a username.
    client
        Client address (kept with the session).
    ttl
        Absolute lifetime (default :data:`SESSION_TTL`).
    """
    when = utcnow(now)
    session_id = secrets.token_urlsafe(TOKEN_BYTES)
    csrf = secrets.token_urlsafe(TOKEN_BYTES)
    with state.write() as s:
        if isinstance(principal, Principal):
            user = s.get(User, principal.user_id)
            if user is None:
                raise NotFound(f"unknown user {principal.username!r}")
        else:
            user = find_user(s, principal)
        if user.disabled:
            raise AuthenticationError(BAD_CREDENTIALS)
        row = WebSession(
            session_hash=hash_secret(session_id), csrf_hash=hash_secret(csrf), user_id=user.id,
            created_at=when, expires_at=when + ttl, last_seen_at=when,
            client=(client or None) and client[:255],
        )
        s.add(row)
    return NewSession(when + ttl, session_id, csrf)


def _live_session(s: Session, session_id: str, when: datetime) -> WebSession | None:
    if not session_id:
        return None
    row = s.scalar(
        sa.select(WebSession).where(WebSession.session_hash == hash_secret(session_id))
    )
    if row is None or row.ended_at is not None or row.expires_at <= when:
        return None
    if when - row.last_seen_at > SESSION_IDLE or row.user.disabled:
        return None
    return row


def verify_session(
    state: State, session_id: str, *, now: datetime | None = None
) -> Principal:
    """The principal of a session cookie; refreshes its idle timer (at most once a minute).

    Raises
    ------
    AuthenticationError
        Unknown, ended, expired or idle session, or disabled user.
    """
    when = utcnow(now)
    with state.read() as s:
        row = _live_session(s, session_id, when)
        if row is None:
            raise AuthenticationError("session expired or ended: log in again")
        principal = principal_of(s, row.user, "session")
        stale = when - row.last_seen_at >= LAST_USE_RESOLUTION
        row_id = row.id
    if stale:
        with state.write() as s:
            s.execute(
                sa.update(WebSession)
                .where(WebSession.id == row_id, WebSession.last_seen_at < when)
                .values(last_seen_at=when)
            )
    return principal


def verify_csrf(
    state: State, session_id: str, csrf_token: str | None, *, now: datetime | None = None
) -> bool:
    """Whether ``csrf_token`` is the CSRF token of the live session ``session_id``."""
    if not csrf_token:
        return False
    when = utcnow(now)
    with state.read() as s:
        row = _live_session(s, session_id, when)
        if row is None:
            return False
        return hmac.compare_digest(row.csrf_hash, hash_secret(csrf_token))


def end_session(state: State, session_id: str, *, now: datetime | None = None) -> bool:
    """End a session (logout). Returns False when it was unknown or had ended already."""
    when = utcnow(now)
    with state.write() as s:
        row = s.scalar(
            sa.select(WebSession).where(WebSession.session_hash == hash_secret(session_id or ""))
        )
        if row is None or row.ended_at is not None:
            return False
        row.ended_at = when
        return True


def purge_sessions(state: State, *, now: datetime | None = None) -> int:
    """Delete sessions that ended or expired more than a day ago; returns how many."""
    cutoff = utcnow(now) - timedelta(days=1)
    with state.write() as s:
        result = s.execute(
            sa.delete(WebSession).where(
                sa.or_(WebSession.expires_at < cutoff, WebSession.ended_at < cutoff)
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
