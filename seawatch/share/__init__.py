"""Host-controlled sharing: agencies, users, credentials, markings, grants, policy, audit.

Cooperation is under the host nation's control, time-limited and confidential. The host
agency owns the store's data; every other agency sees what it owns or what a live grant gives
it, and nothing more; every read and write is appended to a hash-chained audit log.

=====================================  =====================================================
:mod:`seawatch.share.db`               :func:`open_state` / :class:`State`: SQLite or
                                       PostgreSQL through SQLAlchemy, Alembic migrations
:mod:`seawatch.share.location`         :func:`has_state`: whether a store has a state,
                                       without loading SQLAlchemy
:mod:`seawatch.share.accounts`         agencies (one host), users, roles
:mod:`seawatch.share.auth`             authentication: a password login, one HTTP request;
                                       the one import for the four modules below
:mod:`seawatch.share.passwords`        passwords (scrypt hashes, shortest accepted)
:mod:`seawatch.share.tokens`           API tokens (``sw_...``, stored as SHA-256)
:mod:`seawatch.share.sessions`         web sessions of the map, with CSRF protection
:mod:`seawatch.share.throttle`         locks after repeated failed authentications
:mod:`seawatch.share.markings`         TLP 2.0 markings, releasable-to, export banners
:mod:`seawatch.share.grants`           scoped, expiring, revocable read grants
:mod:`seawatch.share.policy`           :class:`Principal`, :data:`POLICY`, :func:`access_for`
                                       and the frame filters of :class:`Access`
:mod:`seawatch.share.alerts`           alert rules, the matcher, alerts and their life
                                       cycle (``docs/alerts.md``)
:mod:`seawatch.share.audit`            hash-chained audit log: record, verify, show
:mod:`seawatch.share.checkpoints`      signed checkpoints of the audit head, kept outside
                                       the database; checked by ``verify``
:mod:`seawatch.share.bounds`           bounds on every text and time entering the state
=====================================  =====================================================

Nothing heavy is imported by ``import seawatch.share``; names load on first use. The
``seawatch`` commands of this layer are :mod:`seawatch.cli.share`.

See ``docs/sharing.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.share.db import State, open_state
    from seawatch.share.policy import POLICY, Access, Principal, access_for

_LAZY = {
    "State": "seawatch.share.db",
    "open_state": "seawatch.share.db",
    "POLICY": "seawatch.share.roles",
    "Principal": "seawatch.share.roles",
    "Access": "seawatch.share.policy",
    "access_for": "seawatch.share.policy",
}

__all__ = ["POLICY", "Access", "Principal", "State", "access_for", "open_state"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'seawatch.share' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
