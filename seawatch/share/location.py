"""Where a store's operational state lives, told without loading the database layer.

:mod:`seawatch.share.db` opens the state through SQLAlchemy, a quarter to half a second of
imports; a command that only needs to know whether a store has a state at all (``seawatch
detect`` before raising alerts, ``seawatch info`` and ``events`` before recording a read)
asks :func:`has_state` here first and loads the database layer only when the answer is yes.

>>> import tempfile
>>> from pathlib import Path
>>> store = Path(tempfile.mkdtemp())
>>> has_state(store, environ={})
False
>>> has_state(store, environ={ENV_VAR: "postgresql://host/db"})
True
>>> _ = (store / STATE_FILENAME).write_bytes(b"")
>>> has_state(store, environ={})
True
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

ENV_VAR = "SEAWATCH_DB"
"""Environment variable naming the state database URL (e.g. a PostgreSQL server)."""
STATE_FILENAME = "state.db"
"""Name of the SQLite state file inside a store directory."""


def has_state(store: Path, environ: Mapping[str, str] | None = None) -> bool:
    """Whether the store at ``store`` has a state: ``SEAWATCH_DB`` names a database (in
    ``environ``, default the process's environment), or ``state.db`` is in the store."""
    env = os.environ if environ is None else environ
    return bool(env.get(ENV_VAR, "").strip()) or (store / STATE_FILENAME).is_file()
