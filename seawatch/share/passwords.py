"""Passwords: scrypt hashes, their check in constant time, and the shortest password accepted.

Passwords are hashed with scrypt (``hashlib.scrypt``, standard library; RFC 7914), a
memory-hard KDF, with a random 16-byte salt per password and the parameters :data:`SCRYPT_N`
= 2^15, :data:`SCRYPT_R` = 8, :data:`SCRYPT_P` = 1 (32 MiB and about 50-100 ms per hash on a
server core; OWASP's minimum for scrypt is N=2^17 with r=8 p=1 *or* an equivalent trade-off,
and N=2^15 r=8 p=3 is in its list). The parameters are stored in the hash
(``scrypt$n=32768,r=8,p=1$salt$hash``), so raising them later re-hashes at next login.

Checking a login (with throttling) is :func:`seawatch.share.auth.authenticate_password`.

Examples
--------
>>> encoded = hash_password("correct horse battery")
>>> encoded.split("$")[0], "n=" in encoded.split("$")[1]  # scrypt$n=32768,r=8,p=1$salt$hash
('scrypt', True)
>>> verify_password("correct horse battery", encoded), verify_password("wrong", encoded)
(True, False)
>>> needs_rehash(encoded)
False
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from seawatch.share.errors import InvalidInput

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
MAX_PASSWORD_LENGTH = 1024
"""Longest password accepted (the login's request model says the same): scrypt reads all of
it, so a bound keeps one request from costing more than any real password."""

_DUMMY_HASH: dict[tuple[int, int, int], str] = {}


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

    >>> hash_password("pw", n=2**10).startswith("scrypt$n=1024,r=8,p=1$")
    True
    """
    n = SCRYPT_N if n is None else n
    r = SCRYPT_R if r is None else r
    p = SCRYPT_P if p is None else p
    salt = secrets.token_bytes(SALT_BYTES)
    key = _scrypt(password, salt, n, r, p, SCRYPT_DKLEN)
    return f"scrypt${_params(n, r, p)}${_b64(salt)}${_b64(key)}"


def _params(n: int, r: int, p: int) -> str:
    return f"n={n},r={r},p={p}"


def verify_password(password: str, encoded: str | None) -> bool:
    """Whether ``password`` matches ``encoded`` (constant-time comparison).

    A missing hash (a token-only user) still spends one hash computation, so the answer's
    timing does not reveal whether the user has a password.

    >>> verify_password("pw", None), verify_password("pw", "md5$whatever")
    (False, False)
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
    """Whether ``encoded`` was made with weaker parameters than the current ones.

    >>> needs_rehash(hash_password("pw", r=1))
    True
    """
    return not encoded.startswith(f"scrypt${_params(SCRYPT_N, SCRYPT_R, SCRYPT_P)}$")


def check_password_strength(password: str) -> None:
    """Refuse passwords shorter than :data:`MIN_PASSWORD_LENGTH` or longer than
    :data:`MAX_PASSWORD_LENGTH` (``InvalidInput``).

    >>> check_password_strength("short")
    Traceback (most recent call last):
    ...
    seawatch.share.errors.InvalidInput: password too short: use at least 12 characters
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"password too short: use at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(f"password too long: use at most {MAX_PASSWORD_LENGTH} characters")
