"""API tokens: created, listed, revoked, and checked on every request that carries one.

A token is ``sw_`` + ``secrets.token_urlsafe(32)`` (256 random bits); only its SHA-256
(:func:`hash_secret`) is stored. It is shown once, when created; it can expire and be revoked,
and its last use is kept. A fast hash suffices: the token has full entropy, unlike a password.
Session ids and CSRF tokens (:mod:`seawatch.share.sessions`) are random secrets of the same
size, stored the same way.

Examples
--------
>>> token = new_token()
>>> token.startswith("sw_") and len(token) == 46 and len(hash_secret(token)) == 64
True
>>> bearer_token("Bearer sw_abc"), bearer_token("Basic xyz"), bearer_token(None)
('sw_abc', None, None)
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from seawatch.share.accounts import find_user, principal_of
from seawatch.share.bounds import LABEL_CHARS, bounded_text, bounded_time
from seawatch.share.db import as_utc, utcnow
from seawatch.share.errors import AuthenticationError, Conflict, Forbidden, InvalidInput, NotFound
from seawatch.share.models import ApiToken, User
from seawatch.share.roles import TOKEN_MANAGE, TOKEN_SELF, Principal, changed_by, require
from seawatch.share.throttle import check_not_locked, record_failure

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.share.db import State

TOKEN_PREFIX = "sw_"
"""Prefix of API tokens, so a leaked one is recognisable (secret scanners, logs)."""
TOKEN_BYTES = 32
"""Random bytes in a token, session id or CSRF token (256 bits)."""
LAST_USE_RESOLUTION = timedelta(seconds=60)
"""A token's last use and a session's last activity are written at most this often (so a
busy client does not turn every read into a database write)."""


def hash_secret(secret: str) -> str:
    """SHA-256 (hex) of a token, session id or CSRF token: what the database keeps.

    >>> hash_secret("sw_x")[:12]
    '9be1dedbb381'
    """
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A new API token: ``sw_`` followed by 43 URL-safe characters (256 random bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


@dataclass(frozen=True)
class NewToken:
    """A token just created: :attr:`token` is shown once and never stored."""

    id: int
    username: str
    expires_at: datetime | None
    token: str = field(repr=False)


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed (no secret)."""

    id: int
    username: str
    agency: str
    name: str
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def status(self, now: datetime | None = None) -> str:
        """``'active'``, ``'expired'`` or ``'revoked'`` at ``now``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= utcnow(now):
            return "expired"
        return "active"


def _token_info(t: ApiToken) -> TokenInfo:
    return TokenInfo(
        t.id, t.user.username, t.user.agency.name, t.name, t.created_at, t.created_by,
        t.expires_at, t.revoked_at, t.last_used_at,
    )


def _check_token_owner(principal: Principal | None, user: User) -> None:
    if principal is None:
        return
    if principal.user_id == user.id:
        require(principal, TOKEN_SELF)
        return
    require(principal, TOKEN_MANAGE)
    if not (principal.agency == user.agency.name or principal.is_host_admin):
        raise Forbidden(f"an admin of {principal.agency} may not manage tokens of other agencies")


def create_token(
    state: State,
    username: str,
    *,
    name: str = "",
    expires_at: datetime | None = None,
    principal: Principal | None = None,
    now: datetime | None = None,
) -> NewToken:
    """Create an API token for ``username``; the returned token is its only copy.

    Parameters
    ----------
    name
        A label (``'qgis laptop'``; at most :data:`~seawatch.share.bounds.LABEL_CHARS`).
    expires_at
        When it stops working (None: until revoked; before
        :data:`~seawatch.share.bounds.LATEST_TIME`).
    principal
        The caller (None: the local operator): the user itself, or an admin of its agency.
    """
    when = utcnow(now)
    bounded_text(name, "token name", LABEL_CHARS)
    if expires_at is not None:
        expires_at = bounded_time(expires_at, "token expiry")
    if expires_at is not None and as_utc(expires_at) <= when:
        raise InvalidInput(f"token expiry {as_utc(expires_at).isoformat()} is in the past")
    token = new_token()
    with state.write() as s:
        user = find_user(s, username)
        _check_token_owner(principal, user)
        if user.disabled:
            raise Conflict(f"user {user.username!r} is disabled")
        row = ApiToken(
            user_id=user.id, token_hash=hash_secret(token), name=name, created_at=when,
            created_by=changed_by(principal),
            expires_at=as_utc(expires_at) if expires_at is not None else None,
        )
        s.add(row)
        s.flush()
        return NewToken(row.id, user.username, row.expires_at, token)


def revoke_token(
    state: State, token_id: int, *, principal: Principal | None = None,
    now: datetime | None = None,
) -> TokenInfo:
    """Revoke a token at once (idempotent: a revoked token stays revoked at its first time)."""
    when = utcnow(now)
    with state.write() as s:
        row = s.get(ApiToken, int(token_id))
        if row is None:
            raise NotFound(f"unknown token id {token_id}; see `seawatch token list`")
        _check_token_owner(principal, row.user)
        if row.revoked_at is None:
            row.revoked_at = when
            row.revoked_by = changed_by(principal)
        return _token_info(row)


def list_tokens(state: State, username: str | None = None) -> list[TokenInfo]:
    """Tokens (all, or one user's), newest first."""
    query = sa.select(ApiToken).order_by(ApiToken.id.desc())
    with state.read() as s:
        if username is not None:
            query = query.where(ApiToken.user_id == find_user(s, username).id)
        return [_token_info(t) for t in s.scalars(query)]


def authenticate_token(
    state: State, token: str, *, client: str | None = None, now: datetime | None = None
) -> Principal:
    """The principal of an API token (``Authorization: Bearer sw_...``); records last use.

    Raises
    ------
    RateLimited
        The client address is locked.
    AuthenticationError
        Unknown, revoked or expired token, or disabled user (counted as a failure of the
        client address).
    """
    when = utcnow(now)
    check_not_locked(state, None, client, when)
    token = (token or "").strip()
    principal = None
    token_id = None
    if token.startswith(TOKEN_PREFIX):
        with state.read() as s:
            row = s.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_secret(token)))
            live = (
                row is not None
                and row.revoked_at is None
                and (row.expires_at is None or row.expires_at > when)
                and not row.user.disabled
            )
            if live and row is not None:
                principal = principal_of(s, row.user, "token")
                stale = row.last_used_at is None or when - row.last_used_at >= LAST_USE_RESOLUTION
                token_id = row.id if stale else None
    if principal is not None and token_id is not None:
        with state.write() as s:
            s.execute(
                sa.update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=when)
            )
    if principal is None:
        record_failure(state, client=client, now=when)
        raise AuthenticationError("invalid, expired or revoked token")
    return principal


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None.

    >>> bearer_token("bearer  sw_abc "), bearer_token("Bearer ")
    ('sw_abc', None)
    """
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
