"""Authentication: password hashing, API tokens, web sessions with CSRF, and throttling.

Secrets never reach the database or the logs in clear:

- **Passwords** are hashed with scrypt (``hashlib.scrypt``, standard library; RFC 7914), a
  memory-hard KDF, with a random 16-byte salt per password and the parameters
  :data:`SCRYPT_N` = 2^15, :data:`SCRYPT_R` = 8, :data:`SCRYPT_P` = 1 (32 MiB and about 50-100 ms
  per hash on a server core; OWASP's minimum for scrypt is N=2^17 with r=8 p=1 *or* an
  equivalent trade-off, and N=2^15 r=8 p=3 is in its list). The parameters are stored in the
  hash (``scrypt$n=32768,r=8,p=1$salt$hash``), so raising them later re-hashes at next login.
- **API tokens** are ``sw_`` + ``secrets.token_urlsafe(32)`` (256 random bits); only their
  SHA-256 is stored. A token is shown once, when created; it can expire and be revoked, and
  its last use is kept. A fast hash suffices: the token has full entropy, unlike a password.
- **Web sessions** are server-side rows: the session id (the cookie :data:`SESSION_COOKIE`,
  HttpOnly) and a per-session CSRF token are random and stored only as SHA-256. A session
  ends :data:`SESSION_TTL` after login, after :data:`SESSION_IDLE` without use, at logout, or
  when its user is disabled. CSRF uses the synchroniser-token pattern: the CSRF token is
  bound to the session in the database; the browser gets it at login (response body and a
  readable cookie :data:`CSRF_COOKIE`) and must echo it in the :data:`CSRF_HEADER` header on
  every state-changing request; :func:`verify_csrf` compares its hash in constant time.
- **Throttling**: :data:`MAX_FAILURES` failed authentications (bad password, unknown or
  expired token) within :data:`FAILURE_WINDOW` lock the username or the client address for
  :data:`LOCKOUT`; the counters live in the database (table ``auth_throttle``) so every API
  process shares them. While locked, every attempt is refused with :class:`RateLimited`
  without checking the credentials. A successful password login clears the user's counter.

Examples
--------
>>> encoded = hash_password("correct horse battery")
>>> encoded.split("$")[0], "n=" in encoded.split("$")[1]  # scrypt$n=32768,r=8,p=1$salt$hash
('scrypt', True)
>>> verify_password("correct horse battery", encoded), verify_password("wrong", encoded)
(True, False)
>>> token = new_token()
>>> token.startswith("sw_") and len(token) == 46 and len(hash_secret(token)) == 64
True
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from seawatch.share.db import as_utc, utcnow
from seawatch.share.errors import (
    AuthenticationError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
)
from seawatch.share.models import Agency, ApiToken, AuthThrottle, User, WebSession
from seawatch.share.roles import TOKEN_MANAGE, TOKEN_SELF, Principal, require

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

    from seawatch.share.db import State

# --- parameters ---------------------------------------------------------------------------
SCRYPT_N = 2**15
"""scrypt CPU/memory cost (memory = 128 · N · r bytes = 32 MiB)."""
SCRYPT_R = 8
"""scrypt block size."""
SCRYPT_P = 1
"""scrypt parallelism."""
SCRYPT_DKLEN = 32
"""Derived key length, bytes."""
SALT_BYTES = 16
"""Random salt per password, bytes."""
MIN_PASSWORD_LENGTH = 12
"""Shortest password accepted (NIST SP 800-63B: at least 8; we ask 12)."""
TOKEN_PREFIX = "sw_"
"""Prefix of API tokens, so a leaked one is recognisable (secret scanners, logs)."""
TOKEN_BYTES = 32
"""Random bytes in a token, session id or CSRF token (256 bits)."""
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
MAX_FAILURES = 5
"""Failed authentications allowed per user or address within :data:`FAILURE_WINDOW`."""
FAILURE_WINDOW = timedelta(minutes=5)
"""Window over which failures count."""
LOCKOUT = timedelta(minutes=15)
"""How long a user or address stays locked after :data:`MAX_FAILURES` failures."""
LAST_USE_RESOLUTION = timedelta(seconds=60)
"""A token's last use and a session's last activity are written at most this often (so a
busy client does not turn every read into a database write)."""

_BAD_CREDENTIALS = "invalid credentials"
_DUMMY_HASH: dict[tuple[int, int, int], str] = {}


# --- hashing ------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=dklen,
        maxmem=256 * n * r + (1 << 20),
    )


def hash_password(
    password: str, *, n: int | None = None, r: int | None = None, p: int | None = None
) -> str:
    """scrypt hash of ``password`` with a new random salt: ``scrypt$n=..,r=..,p=..$salt$hash``.

    ``n``, ``r``, ``p`` default to :data:`SCRYPT_N`, :data:`SCRYPT_R`, :data:`SCRYPT_P`.
    """
    n = SCRYPT_N if n is None else n
    r = SCRYPT_R if r is None else r
    p = SCRYPT_P if p is None else p
    salt = secrets.token_bytes(SALT_BYTES)
    key = _scrypt(password, salt, n, r, p, SCRYPT_DKLEN)
    return f"scrypt$n={n},r={r},p={p}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, encoded: str | None) -> bool:
    """Whether ``password`` matches ``encoded`` (constant-time comparison).

    A missing hash (a token-only user) still spends one hash computation, so the answer's
    timing does not reveal whether the user has a password.
    """
    if not encoded:
        _dummy_verify(password)
        return False
    try:
        scheme, params, salt, key = encoded.split("$")
        values = dict(item.split("=") for item in params.split(","))
        n, r, p = int(values["n"]), int(values["r"]), int(values["p"])
    except (ValueError, KeyError):
        return False
    if scheme != "scrypt":
        return False
    expected = _unb64(key)
    got = _scrypt(password, _unb64(salt), n, r, p, len(expected))
    return hmac.compare_digest(got, expected)


def _dummy_verify(password: str) -> None:
    key = (SCRYPT_N, SCRYPT_R, SCRYPT_P)
    if key not in _DUMMY_HASH:
        _DUMMY_HASH[key] = hash_password("seawatch-dummy-password")
    verify_password(password, _DUMMY_HASH[key])


def needs_rehash(encoded: str) -> bool:
    """Whether ``encoded`` was made with weaker parameters than the current ones."""
    return not encoded.startswith(f"scrypt$n={SCRYPT_N},r={SCRYPT_R},p={SCRYPT_P}$")


def check_password_strength(password: str) -> None:
    """Refuse passwords shorter than :data:`MIN_PASSWORD_LENGTH` (``InvalidInput``)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"password too short: use at least {MIN_PASSWORD_LENGTH} characters")


def hash_secret(secret: str) -> str:
    """SHA-256 (hex) of a token, session id or CSRF token: what the database keeps."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A new API token: ``sw_`` followed by 43 URL-safe characters (256 random bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def _now(now: datetime | None) -> datetime:
    return as_utc(now) if now is not None else utcnow()


def _host_name(s: Session) -> str:
    return s.scalar(sa.select(Agency.name).where(Agency.is_host.is_(True))) or ""


def _principal(s: Session, user: User, method: str) -> Principal:
    host = _host_name(s)
    return Principal(user.id, user.username, user.agency.name, user.role, method,
                     user.agency.name == host)


def _find_user(s: Session, username: str) -> User:
    user = s.scalar(sa.select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound(f"unknown user {username!r}; see `seawatch user list`")
    return user


# --- throttling ---------------------------------------------------------------------------


def _throttle_key(scope: str, key: str) -> str:
    return key.strip().lower()[:255] if scope == "user" else key.strip()[:255]


def locked_until(
    state: State, *, username: str | None = None, client: str | None = None,
    now: datetime | None = None,
) -> datetime | None:
    """When the lock on ``username`` or ``client`` ends (the later of the two), or None."""
    when = _now(now)
    keys = [("user", username), ("address", client)]
    until: datetime | None = None
    with state.read() as s:
        for scope, key in keys:
            if not key:
                continue
            row = s.scalar(
                sa.select(AuthThrottle).where(
                    AuthThrottle.scope == scope, AuthThrottle.key == _throttle_key(scope, key)
                )
            )
            if row is not None and row.locked_until is not None and row.locked_until > when:
                until = row.locked_until if until is None else max(until, row.locked_until)
    return until


def _check_not_locked(
    state: State, username: str | None, client: str | None, now: datetime
) -> None:
    until = locked_until(state, username=username, client=client, now=now)
    if until is not None:
        seconds = max(1, int((until - now).total_seconds() + 0.999))
        raise RateLimited(
            f"too many failed authentications: try again in {seconds} s", retry_after=seconds
        )


def record_failure(
    state: State, *, username: str | None = None, client: str | None = None,
    now: datetime | None = None,
) -> None:
    """Count one failed authentication for ``username`` and ``client`` (locks at the limit)."""
    when = _now(now)
    for scope, key in (("user", username), ("address", client)):
        if not key:
            continue
        for attempt in range(3):  # a concurrent first insert of the same key: retry
            try:
                _bump(state, scope, _throttle_key(scope, key), when)
                break
            except IntegrityError:
                if attempt == 2:
                    raise


def _bump(state: State, scope: str, key: str, when: datetime) -> None:
    with state.write() as s:
        row = s.scalar(
            sa.select(AuthThrottle)
            .where(AuthThrottle.scope == scope, AuthThrottle.key == key)
            .with_for_update()
        )
        if row is None:
            row = AuthThrottle(scope=scope, key=key, failures=0, window_start=when)
            s.add(row)
        if row.locked_until is not None and row.locked_until > when:
            return  # already locked: the lock does not grow
        if when - row.window_start > FAILURE_WINDOW:
            row.failures, row.window_start = 0, when
        row.failures += 1
        if row.failures >= MAX_FAILURES:
            row.locked_until = when + LOCKOUT
            row.failures, row.window_start = 0, when


def clear_failures(state: State, *, username: str | None = None, client: str | None = None) -> None:
    """Forget the failures (and lock) of ``username`` and/or ``client`` (an admin's unlock)."""
    with state.write() as s:
        for scope, key in (("user", username), ("address", client)):
            if key:
                s.execute(
                    sa.delete(AuthThrottle).where(
                        AuthThrottle.scope == scope, AuthThrottle.key == _throttle_key(scope, key)
                    )
                )


# --- passwords ----------------------------------------------------------------------------


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
    when = _now(now)
    _check_not_locked(state, username, client, when)
    with state.read() as s:
        user = s.scalar(sa.select(User).where(User.username == username.strip().lower()))
        encoded = user.password_hash if user is not None else None
        ok = verify_password(password, encoded) and user is not None and not user.disabled
        principal = _principal(s, user, "password") if ok and user is not None else None
    if principal is None:
        record_failure(state, username=username, client=client, now=when)
        raise AuthenticationError(_BAD_CREDENTIALS)
    clear_failures(state, username=username)
    return principal


# --- tokens -------------------------------------------------------------------------------


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
        if self.expires_at is not None and self.expires_at <= _now(now):
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
        A label (``'qgis laptop'``).
    expires_at
        When it stops working (None: until revoked).
    principal
        The caller (None: the local operator): the user itself, or an admin of its agency.
    """
    when = _now(now)
    if expires_at is not None and as_utc(expires_at) <= when:
        raise InvalidInput(f"token expiry {as_utc(expires_at).isoformat()} is in the past")
    token = new_token()
    with state.write() as s:
        user = _find_user(s, username)
        _check_token_owner(principal, user)
        if user.disabled:
            raise Conflict(f"user {user.username!r} is disabled")
        row = ApiToken(
            user_id=user.id, token_hash=hash_secret(token), name=name, created_at=when,
            created_by=principal.username if principal is not None else "local",
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
    when = _now(now)
    with state.write() as s:
        row = s.get(ApiToken, int(token_id))
        if row is None:
            raise NotFound(f"unknown token id {token_id}; see `seawatch token list`")
        _check_token_owner(principal, row.user)
        if row.revoked_at is None:
            row.revoked_at = when
            row.revoked_by = principal.username if principal is not None else "local"
        return _token_info(row)


def list_tokens(state: State, username: str | None = None) -> list[TokenInfo]:
    """Tokens (all, or one user's), newest first."""
    query = sa.select(ApiToken).order_by(ApiToken.id.desc())
    with state.read() as s:
        if username is not None:
            query = query.where(ApiToken.user_id == _find_user(s, username).id)
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
    when = _now(now)
    _check_not_locked(state, None, client, when)
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
                principal = _principal(s, row.user, "token")
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


# --- web sessions -------------------------------------------------------------------------


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
    """Open a web session for a user (after :func:`authenticate_password`).

    Parameters
    ----------
    principal
        The authenticated principal, or a username.
    client
        Client address (kept with the session).
    ttl
        Absolute lifetime (default :data:`SESSION_TTL`).
    """
    when = _now(now)
    session_id = secrets.token_urlsafe(TOKEN_BYTES)
    csrf = secrets.token_urlsafe(TOKEN_BYTES)
    with state.write() as s:
        if isinstance(principal, Principal):
            user = s.get(User, principal.user_id)
            if user is None:
                raise NotFound(f"unknown user {principal.username!r}")
        else:
            user = _find_user(s, principal)
        if user.disabled:
            raise AuthenticationError(_BAD_CREDENTIALS)
        row = WebSession(
            session_hash=hash_secret(session_id), csrf_hash=hash_secret(csrf), user_id=user.id,
            created_at=when, expires_at=when + ttl, last_seen_at=when,
            client=(client or None) and client[:255],
        )
        s.add(row)
    return NewSession(when + ttl, session_id, csrf)


def login(
    state: State, username: str, password: str, *, client: str | None = None,
    now: datetime | None = None,
) -> tuple[Principal, NewSession]:
    """Password login that opens a session: :func:`authenticate_password` then
    :func:`create_session`."""
    principal = authenticate_password(state, username, password, client=client, now=now)
    new = create_session(state, principal, client=client, now=now)
    return Principal(
        principal.user_id, principal.username, principal.agency, principal.role, "session",
        principal.is_host,
    ), new


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
    when = _now(now)
    with state.read() as s:
        row = _live_session(s, session_id, when)
        if row is None:
            raise AuthenticationError("session expired or ended: log in again")
        principal = _principal(s, row.user, "session")
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
    when = _now(now)
    with state.read() as s:
        row = _live_session(s, session_id, when)
        if row is None:
            return False
        return hmac.compare_digest(row.csrf_hash, hash_secret(csrf_token))


def end_session(state: State, session_id: str, *, now: datetime | None = None) -> bool:
    """End a session (logout). Returns False when it was unknown or had ended already."""
    when = _now(now)
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
    cutoff = _now(now) - timedelta(days=1)
    with state.write() as s:
        result = s.execute(
            sa.delete(WebSession).where(
                sa.or_(WebSession.expires_at < cutoff, WebSession.ended_at < cutoff)
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


# --- one call for the API -----------------------------------------------------------------


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None.

    >>> bearer_token("Bearer sw_abc"), bearer_token("Basic xyz"), bearer_token(None)
    ('sw_abc', None, None)
    """
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


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
    when = _now(now)
    if authorization is not None and authorization.strip():
        token = bearer_token(authorization)
        if token is None:
            record_failure(state, client=client, now=when)
            raise AuthenticationError("Authorization must be 'Bearer <token>'")
        return authenticate_token(state, token, client=client, now=when)
    if session_id:
        _check_not_locked(state, None, client, when)
        principal = verify_session(state, session_id, now=when)
        if method.upper() not in SAFE_METHODS and not verify_csrf(
            state, session_id, csrf_token, now=when
        ):
            raise Forbidden(f"missing or wrong {CSRF_HEADER} header for this session")
        return principal
    return None
