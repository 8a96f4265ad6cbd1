"""Errors of the sharing layer: the kinds of :mod:`seawatch.errors`, under one base class.

Every message says what was wrong and, where it helps, what to do; none carries a secret.

>>> AuthenticationError("bad token").http_status
401
>>> RateLimited("locked", retry_after=120).headers()
{'Retry-After': '120'}
"""

from __future__ import annotations

from seawatch import errors


class ShareError(errors.SeawatchError):
    """Base class: a request to the sharing layer that cannot be done as asked."""

    http_status = 400


class InvalidInput(errors.InvalidValue, ShareError):
    """A malformed value: unknown role or level, bad time, empty name, ..."""


class NotFound(errors.NotFound, ShareError):
    """An agency, user, token, grant or audit entry that does not exist."""


class Conflict(errors.Conflict, ShareError):
    """The thing exists already (duplicate agency or user) or the store has its host agency."""


class AuthenticationError(errors.Unauthenticated, ShareError):
    """No valid credentials: unknown or expired token, bad password, ended session.

    The message is deliberately the same for an unknown user and a wrong password.
    """


class RateLimited(errors.RateLimited, AuthenticationError):
    """Too many failed authentications for this user or client address."""


class Forbidden(errors.Forbidden, ShareError):
    """Authenticated, but the role or agency may not do this (or the CSRF token is wrong)."""


class NotInitialised(errors.Unavailable, ShareError):
    """The state has no host agency yet: run ``seawatch init-state`` first."""


class DatabaseUnavailable(errors.Unavailable, ShareError):
    """The state database cannot be used: server unreachable, file locked or unreadable."""
