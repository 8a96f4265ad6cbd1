"""Errors of the sharing layer, each mapping to one HTTP status for the API.

Every message says what was wrong and, where it helps, what to do; none carries a secret.

>>> AuthenticationError("bad token").status
401
>>> RateLimited("locked", retry_after=120).retry_after
120
"""

from __future__ import annotations


class ShareError(Exception):
    """Base class: a request to the sharing layer that cannot be done as asked."""

    status: int = 400
    """HTTP status the API should answer with."""


class InvalidInput(ShareError, ValueError):
    """A malformed value: unknown role or level, bad time, empty name, ..."""

    status = 400


class NotFound(ShareError, LookupError):
    """An agency, user, token, grant or audit entry that does not exist."""

    status = 404


class Conflict(ShareError):
    """The thing exists already (duplicate agency or user) or the store has its host agency."""

    status = 409


class AuthenticationError(ShareError):
    """No valid credentials: unknown or expired token, bad password, ended session.

    The message is deliberately the same for an unknown user and a wrong password.
    """

    status = 401


class RateLimited(AuthenticationError):
    """Too many failed authentications for this user or client address."""

    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        """Seconds until the lock ends (send as ``Retry-After``)."""


class Forbidden(ShareError, PermissionError):
    """Authenticated, but the role or agency may not do this (or the CSRF token is wrong)."""

    status = 403


class NotInitialised(ShareError):
    """The state has no host agency yet: run ``seawatch init-state`` first."""

    status = 503


def error_headers(exc: ShareError) -> dict[str, str]:
    """HTTP headers to send with the error response of ``exc``.

    >>> error_headers(RateLimited("locked", retry_after=90))
    {'Retry-After': '90'}
    >>> error_headers(AuthenticationError("no"))
    {'WWW-Authenticate': 'Bearer'}
    """
    if isinstance(exc, RateLimited):
        return {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, AuthenticationError):
        return {"WWW-Authenticate": "Bearer"}
    return {}
