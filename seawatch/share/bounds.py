"""Bounds on what enters the operational state: how long each text may be, which characters
it may hold, and the range of every time.

Every function of :mod:`seawatch.share` that stores or looks up a user's text or time checks
it here, so the API and the command line refuse the same values with the same one-line
message (:class:`~seawatch.share.errors.InvalidInput`: HTTP 400, exit status 2), and nothing
reaches the database that it would refuse with an error of its own: a value wider than its
column, a NUL character (PostgreSQL text cannot hold one), or a time so near ``datetime``'s
limits that arithmetic on it (the end of a day, a microsecond after) overflows.

=========================  =====  ==========================================================
bound                      value  applies to
=========================  =====  ==========================================================
:data:`NAME_CHARS`         64     agency names, usernames (their patterns say so too)
:data:`LABEL_CHARS`        128    token names
:data:`ID_CHARS`           255    marked object ids, zone names
:data:`TEXT_CHARS`         2000   agency descriptions, grant notes
``MAX_PASSWORD_LENGTH``    1024   passwords (:mod:`seawatch.share.passwords`)
:data:`EARLIEST_TIME`      1970   grant and token times (expiry, data window)
:data:`LATEST_TIME`        3000   the same
=========================  =====  ==========================================================

Examples
--------
>>> bounded_text("joint patrol", "note", TEXT_CHARS)
'joint patrol'
>>> bounded_text("x" * 3000, "note", TEXT_CHARS)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
seawatch.share.errors.InvalidInput: note is 3000 characters long; at most 2000 are kept
>>> bounded_text("a\\x00b", "name", NAME_CHARS)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
seawatch.share.errors.InvalidInput: name holds a control character (U+0000)...
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from seawatch.share.db import as_utc
from seawatch.share.errors import InvalidInput

NAME_CHARS = 64
"""Longest agency name or username (the width of their columns)."""
AGENCY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
"""Agency names: letters, digits, ``_ . -``; up to :data:`NAME_CHARS` (e.g. ``ECU-NAVY``)."""
USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.@-]{0,63}$")
"""Usernames (lower-cased on input): letters, digits, ``_ . @ -``; up to :data:`NAME_CHARS`."""
LABEL_CHARS = 128
"""Longest token name (the width of its column)."""
ID_CHARS = 255
"""Longest id of a marked object, or zone name (the width of their columns)."""
TEXT_CHARS = 2000
"""Longest free text: an agency's description, a grant's note (as the API's models say)."""
EARLIEST_TIME = datetime(1970, 1, 1, tzinfo=UTC)
"""Earliest time a grant or token may name (AIS, and Unix time, start later)."""
LATEST_TIME = datetime(3000, 1, 1, tzinfo=UTC)
"""Latest time a grant or token may name: beyond any real expiry, and far from
``datetime``'s year 9999, so that the day's end or a microsecond after never overflows."""
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_IN_LINE = re.compile(r"[\x00-\x1f\x7f]")


def shown(value: object, chars: int = 60) -> str:
    """``value`` as it appears in a message: its ``repr``, cut to about ``chars``.

    >>> shown("x" * 100, 8)
    "'xxxxxxxx'…"
    """
    text = str(value)
    return repr(text[:chars]) + ("…" if len(text) > chars else "")


def bounded_text(value: str, name: str, max_chars: int, *, multiline: bool = False) -> str:
    """``value`` checked: at most ``max_chars`` characters and no control character (tab,
    line feed and carriage return allowed in ``multiline`` text).

    Raises
    ------
    InvalidInput
        Too long, not text, or holding a control character (NUL included).
    """
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text, not {type(value).__name__}")
    if len(value) > max_chars:
        raise InvalidInput(f"{name} is {len(value)} characters long; at most {max_chars} "
                           "are kept")
    found = (_CONTROL if multiline else _CONTROL_IN_LINE).search(value)
    if found is not None:
        raise InvalidInput(f"{name} holds a control character (U+{ord(found.group()):04X}): "
                           "use printable text")
    return value


def bounded_time(value: datetime, name: str) -> datetime:
    """``value`` as aware UTC, checked to lie in [:data:`EARLIEST_TIME`,
    :data:`LATEST_TIME`).

    >>> bounded_time(datetime(2026, 1, 15), "until").isoformat()
    '2026-01-15T00:00:00+00:00'
    >>> bounded_time(datetime(9999, 12, 31), "until")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    seawatch.share.errors.InvalidInput: until 9999-12-31T00:00:00Z is after 3000-01-01...
    """
    when = as_utc(value)
    text = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    if when < EARLIEST_TIME:
        raise InvalidInput(f"{name} {text} is before {EARLIEST_TIME:%Y-%m-%d}: give a real "
                           "time")
    if when >= LATEST_TIME:
        raise InvalidInput(f"{name} {text} is after {LATEST_TIME:%Y-%m-%d}: give a real "
                           "time")
    return when


__all__ = [
    "AGENCY_NAME",
    "EARLIEST_TIME",
    "ID_CHARS",
    "LABEL_CHARS",
    "LATEST_TIME",
    "NAME_CHARS",
    "TEXT_CHARS",
    "USERNAME",
    "bounded_text",
    "bounded_time",
    "shown",
]
