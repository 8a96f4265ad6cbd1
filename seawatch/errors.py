"""The errors seawatch raises for a user to read: one base class that knows its exit code and
its HTTP status, so the command line and the API each translate them in one place.

Every package's errors subclass one of the kinds here (``seawatch.store.StoreError`` is a
:class:`SeawatchError`, ``seawatch.params.ConfigError``, the detector config's and every
parameter model's, an :class:`InvalidValue`, ...). A
message says what was wrong and, where it helps, what to do; none carries a secret.

=====================  =========  ===========  =============================================
class                  exit code  HTTP status  meaning
=====================  =========  ===========  =============================================
``SeawatchError``      2          500          could not be done (the base class)
``InvalidValue``       2          400          a value given by the user is not valid
``NotFound``           2          404          a thing named does not exist
``Conflict``           2          409          the thing exists already, or its state forbids it
``Unauthenticated``    2          401          no valid credentials
``RateLimited``        2          429          too many failed attempts; ``retry_after`` s
``Forbidden``          2          403          authenticated, but not allowed
``Unavailable``        2          503          not ready (set up missing, busy)
``InputError``         1          422          an input file cannot be read as data
=====================  =========  ===========  =============================================

Examples
--------
>>> try:
...     raise InvalidValue("bbox: min_lat 1 is above max_lat 0")
... except SeawatchError as exc:
...     print(exc.exit_code, exc.http_status, exc)
2 400 bbox: min_lat 1 is above max_lat 0
>>> isinstance(InvalidValue("x"), ValueError)  # callers that catch ValueError still work
True
>>> RateLimited("locked", retry_after=90).headers()
{'Retry-After': '90'}
"""

from __future__ import annotations


class SeawatchError(Exception):
    """Base class of the errors seawatch raises for its users."""

    exit_code: int = 2
    """Exit status of the command line when this error ends a command."""
    http_status: int = 500
    """HTTP status of the API's answer when a request ends in this error."""

    def headers(self) -> dict[str, str]:
        """HTTP headers to send with the error response (none by default)."""
        return {}


class InvalidValue(SeawatchError, ValueError):
    """A value given by the user (an argument, a config key, a request parameter, a field of
    a request body) is not valid; the message names it and says what is expected."""

    http_status = 400


class NotFound(SeawatchError, LookupError):
    """A thing named by the user (a vessel, an event, an agency, a grant) does not exist."""

    http_status = 404


class Conflict(SeawatchError):
    """The thing exists already, or its state does not allow what was asked."""

    http_status = 409


class Unauthenticated(SeawatchError):
    """No valid credentials: unknown or expired token, bad password, ended session."""

    http_status = 401

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class RateLimited(Unauthenticated):
    """Too many failed attempts from this user or client address."""

    http_status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        """Seconds until the lock ends (sent as ``Retry-After``)."""

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class Forbidden(SeawatchError, PermissionError):
    """Authenticated, but the role or agency may not do this."""

    http_status = 403


class Unavailable(SeawatchError):
    """Not ready to do this: a set-up step is missing, or another process holds the thing."""

    http_status = 503


class InputError(SeawatchError, OSError):
    """An input file cannot be read as the data it should hold."""

    exit_code = 1
    http_status = 422
