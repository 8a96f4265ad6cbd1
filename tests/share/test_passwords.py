"""scrypt password hashes: the real parameters, salts, rehash, no match without a hash."""

from __future__ import annotations

import pytest

from seawatch.share import passwords
from seawatch.share.passwords import hash_password, verify_password

PASSWORD = "correct horse battery staple"

def test_real_scrypt_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "SCRYPT_N", 2**15)
    encoded = hash_password(PASSWORD)
    assert encoded.startswith("scrypt$n=32768,r=8,p=1$")
    assert verify_password(PASSWORD, encoded)
    assert not verify_password(PASSWORD + "x", encoded)
    assert hash_password(PASSWORD) != encoded  # per-password salt
    assert not passwords.needs_rehash(encoded)
    assert passwords.needs_rehash(hash_password(PASSWORD, n=2**10))
    assert not verify_password(PASSWORD, "md5$whatever") and not verify_password(PASSWORD, None)
