"""Fixtures of the command-line tests, shared with the layers the commands drive.

``seawatch serve`` and ``demo`` run on the API tests' detected store with its sharing state
(:mod:`tests.api.conftest`); the sharing commands run on the sharing tests' empty databases,
SQLite and PostgreSQL (:mod:`tests.share.conftest`), with the same cheap scrypt and without a
developer's ``SEAWATCH_DB``.
"""

from __future__ import annotations

from tests.api.conftest import (  # noqa: F401  (fixtures)
    admin_headers,
    fast_scrypt_and_no_env_db,
    sharing,
    store_dir,
)
from tests.share.conftest import (  # noqa: F401  (fixtures)
    empty_url,
    fast_scrypt,
    no_env_db,
    pg_schema_url,
    pg_url,
)
