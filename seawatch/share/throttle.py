"""Throttling of failed authentications, per username and per client address.

:data:`MAX_FAILURES` failed authentications (bad password, unknown or expired token) within
:data:`FAILURE_WINDOW` lock the username or the client address for :data:`LOCKOUT`; the
counters live in the database (table ``auth_throttle``) so every API process shares them.
While locked, every attempt is refused with :class:`~seawatch.share.errors.RateLimited`
without checking the credentials (:func:`check_not_locked`). A successful password login
clears the user's counter; an admin clears a lock with ``seawatch user unlock``.

Examples
--------
>>> import tempfile
>>> from seawatch.share.db import open_state
>>> state = open_state(tempfile.mkdtemp())
>>> for _ in range(MAX_FAILURES):
...     record_failure(state, username="ana")
>>> locked_until(state, username="ana") is not None
True
>>> clear_failures(state, username="ana")
>>> locked_until(state, username="ana") is None
True
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from seawatch.share.db import utcnow
from seawatch.share.errors import RateLimited
from seawatch.share.models import AuthThrottle

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.share.db import State

MAX_FAILURES = 5
"""Failed authentications allowed per user or address within :data:`FAILURE_WINDOW`."""
FAILURE_WINDOW = timedelta(minutes=5)
"""Window over which failures count."""
LOCKOUT = timedelta(minutes=15)
"""How long a user or address stays locked after :data:`MAX_FAILURES` failures."""


def _throttle_key(scope: str, key: str) -> str:
    return key.strip().lower()[:255] if scope == "user" else key.strip()[:255]


def locked_until(
    state: State, *, username: str | None = None, client: str | None = None,
    now: datetime | None = None,
) -> datetime | None:
    """When the lock on ``username`` or ``client`` ends (the later of the two), or None."""
    when = utcnow(now)
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


def check_not_locked(
    state: State, username: str | None, client: str | None, now: datetime
) -> None:
    """Raise :class:`~seawatch.share.errors.RateLimited` (with the seconds left) while
    ``username`` or ``client`` is locked."""
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
    when = utcnow(now)
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
