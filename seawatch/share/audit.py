"""The audit log: every read and write, hash-chained so that any later change shows.

Each entry holds ``seq`` (1, 2, 3, ... without gaps), ``ts``, the user (``actor``) and its
agency, the ``action`` (a :data:`~seawatch.share.roles.POLICY` action or a CLI command), the
``resource`` (path or object), the request's parameters (``params``, secrets redacted), the
result ``status`` and the client address. Its hash is

    ``hash = sha256(prev_hash || canonical_json(entry))``

where ``prev_hash`` is the previous entry's hash (64 zeros for the first),
``canonical_json`` is JSON with sorted keys, no spaces, UTF-8, times as
``YYYY-MM-DDTHH:MM:SS.ffffffZ``, and ``||`` is concatenation of the hex digest's ASCII with
the JSON bytes. A one-row table ``audit_head`` holds the last ``seq`` and hash.

Appends are serialised: on PostgreSQL by ``SELECT ... FOR UPDATE`` on the head row, on SQLite
by the database write lock taken at the start of the transaction (``BEGIN IMMEDIATE``). The
entry and the new head commit together, so concurrent writers (threads or processes) always
extend one chain.

:func:`verify` recomputes the chain and names the **first** bad entry: a missing ``seq``
(deleted), a ``prev_hash`` that does not match the previous entry's hash (inserted,
reordered, or a neighbour re-hashed), a hash that does not match the entry's content
(edited), or a chain whose end disagrees with the head row (entries deleted from the end or
appended behind seawatch's back). Someone able to rewrite the whole table *and* the head
could forge a consistent chain (cut the tail and move the head back, or recompute every hash
from some entry on); :func:`verify` therefore also checks the signed checkpoints of the head
that :mod:`seawatch.share.checkpoints` keeps outside the database (written by ``seawatch
serve`` every 15 minutes and when it stops, and by every command that appends), and an
``anchor`` copied by hand when given.

Secrets never enter the log: :func:`redact` replaces the value of any key containing
``token``, ``password``, ``passwd``, ``secret``, ``authorization``, ``cookie``, ``csrf`` or
``session`` (any case, at any depth) and any ``sw_...`` token found in text.

Examples
--------
>>> redact({"bbox": "-92,-2,-88,1", "Authorization": "Bearer sw_x", "q": {"password": "p"}})
{'bbox': '-92,-2,-88,1', 'Authorization': '[redacted]', 'q': {'password': '[redacted]'}}
>>> canonical_json({"b": 1, "a": "é"})
'{"a":"é","b":1}'
"""

from __future__ import annotations

import getpass
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from seawatch.share.bounds import bounded_text
from seawatch.share.db import as_utc, utcnow
from seawatch.share.models import GENESIS_HASH, AuditHead, AuditRow
from seawatch.share.roles import LOCAL_OPERATOR

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.share.checkpoints import Checkpoint
    from seawatch.share.db import State
    from seawatch.share.roles import Principal

SECRET_KEYS: tuple[str, ...] = (
    "token", "password", "passwd", "secret", "authorization", "cookie", "csrf", "session",
)
"""Parameter keys whose values are never recorded (substring match, any case)."""
REDACTED = "[redacted]"
_TOKEN_TEXT = re.compile(r"sw_[A-Za-z0-9_-]{20,}")
VERIFY_BATCH = 2000
"""Entries read per round trip by :func:`verify`."""
COLUMN_CHARS: dict[str, int] = {"actor": 128, "agency": 64, "action": 64, "status": 32,
                                "client": 255}
"""Widths of the audit table's short columns: :func:`record` cuts a longer value to them (a
database that enforces widths would otherwise refuse the entry, and the request with it)."""
RESOURCE_CHARS = 1000
"""Longest resource (path or object) recorded."""


def redact(value: Any) -> Any:
    """``value`` with secrets replaced by ``'[redacted]'`` (see :data:`SECRET_KEYS`)."""
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            lowered = str(key).lower()
            out[str(key)] = REDACTED if any(k in lowered for k in SECRET_KEYS) else redact(item)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return _TOKEN_TEXT.sub("sw_" + REDACTED, value)
    if isinstance(value, datetime):
        return format_ts(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value)


def local_actor() -> str:
    """The actor of a change made on this machine's command line: ``local:<os user>``
    (``local`` where the operating system has no name for the user, as in some containers).

    >>> local_actor().startswith("local")
    True
    """
    try:
        return f"local:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (containers)
        return LOCAL_OPERATOR


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace (the form that is hashed)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def format_ts(value: datetime) -> str:
    """A time as hashed: UTC, microseconds, ``Z``."""
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class AuditEntry:
    """One audit entry."""

    seq: int
    ts: datetime
    actor: str | None
    agency: str | None
    action: str
    resource: str
    params: dict[str, Any]
    status: str
    client: str | None
    prev_hash: str
    hash: str


def _content(seq: int, ts: datetime, actor: str | None, agency: str | None, action: str,
             resource: str, params: str, status: str, client: str | None) -> dict[str, Any]:
    return {
        "seq": seq, "ts": format_ts(ts), "actor": actor, "agency": agency, "action": action,
        "resource": resource, "params": params, "status": status, "client": client,
    }


def entry_hash(prev_hash: str, content: Mapping[str, Any]) -> str:
    """``sha256(prev_hash || canonical_json(content))`` as hex."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_json(content).encode()).hexdigest()


def _row_hash(row: AuditRow) -> str:
    return entry_hash(
        row.prev_hash,
        _content(row.seq, row.ts, row.actor, row.agency, row.action, row.resource, row.params,
                 row.status, row.client),
    )


def _entry(row: AuditRow) -> AuditEntry:
    try:
        params = json.loads(row.params)
    except ValueError:
        params = {"_unparsable": row.params}
    return AuditEntry(
        row.seq, row.ts, row.actor, row.agency, row.action, row.resource, params, row.status,
        row.client, row.prev_hash, row.hash,
    )


def record(
    state: State,
    action: str,
    *,
    principal: Principal | None = None,
    actor: str | None = None,
    agency: str | None = None,
    resource: str = "",
    params: Mapping[str, Any] | None = None,
    status: str | int = "ok",
    client: str | None = None,
    now: datetime | None = None,
) -> AuditEntry:
    """Append one entry to the audit log.

    Parameters
    ----------
    action
        What was done: the route's policy action (``'data.read'``) or a command
        (``'grant.create'``).
    principal
        The caller; gives ``actor`` and ``agency`` (else pass them, e.g. an unknown
        username on a failed login; None for anonymous).
    resource
        What it was done to: the path (``/api/v1/events``) or object (``grant:12``).
    params
        Query or body parameters (the scope asked for); redacted with :func:`redact`.
    status
        The result: HTTP status (``200``, ``403``) or a word (``'ok'``, ``'denied'``).
    client
        Client address.

    Returns
    -------
    AuditEntry
        The entry as stored, with its ``seq`` and ``hash``.
    """
    when = utcnow(now)
    if principal is not None:
        actor = actor or principal.username
        agency = agency or principal.agency
    actor, agency, client = (_cut(v, COLUMN_CHARS[k]) for k, v in
                             (("actor", actor), ("agency", agency), ("client", client)))
    action = _cut(action, COLUMN_CHARS["action"]) or ""
    status = _cut(str(status), COLUMN_CHARS["status"]) or ""
    resource = _cut(resource, RESOURCE_CHARS) or ""
    text = canonical_json(redact(dict(params or {})))
    with state.write() as s:
        if s.get_bind().dialect.name == "postgresql":
            s.execute(sa.text("SET LOCAL lock_timeout = '30s'"))
        head = s.execute(
            sa.select(AuditHead).where(AuditHead.id == 1).with_for_update()
        ).scalar_one()
        seq = head.seq + 1
        content = _content(seq, when, actor, agency, action, resource, text, str(status),
                           client)
        digest = entry_hash(head.hash, content)
        row = AuditRow(
            seq=seq, ts=when, actor=actor, agency=agency, action=action, resource=resource,
            params=text, status=str(status), client=client, prev_hash=head.hash, hash=digest,
        )
        s.add(row)
        head.seq, head.hash = seq, digest
        s.flush()
        return _entry(row)


def _cut(value: str | None, chars: int) -> str | None:
    """``value`` cut to ``chars`` with NUL shown as U+FFFD (a database may refuse NUL, and
    the entry must still be written: it records what was asked, as near as it can)."""
    return value[:chars].replace("\x00", "\ufffd") if value is not None else None


def head(state: State) -> tuple[int, str]:
    """The audit head: the last ``seq`` (0 for an empty log) and its hash."""
    with state.read() as s:
        row = s.get(AuditHead, 1)
        return (row.seq, row.hash) if row is not None else (0, GENESIS_HASH)


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :func:`verify`; true when the chain is intact.

    ``checkpoints`` counts the signed checkpoints checked, ``checkpoint`` is the newest of
    them and ``checkpoint_path`` the file read (None: the state keeps none).
    """

    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None
    checkpoints: int = 0
    checkpoint: Checkpoint | None = None
    checkpoint_path: Path | None = None

    def __bool__(self) -> bool:
        return self.ok


def verify(
    state: State,
    *,
    anchor: tuple[int, str] | None = None,
    checkpoints: bool | Path = True,
    environ: Mapping[str, str] | None = None,
) -> VerifyResult:
    """Recompute the whole chain; report the first entry that breaks it.

    Parameters
    ----------
    anchor
        ``(seq, hash)`` recorded earlier (from a previous verify): the entry ``seq`` must
        still have that hash.
    checkpoints
        Check the signed checkpoints of :mod:`seawatch.share.checkpoints` (True: the
        state's checkpoint file; a path: that file; False: none). Each checkpointed entry
        must still have its hash, and the log must reach the newest checkpoint.
    environ
        Environment to read the checkpoint settings from (default ``os.environ``).

    Returns
    -------
    VerifyResult
        ``ok``; the number of entries; the head; the checkpoints checked; and for a broken
        chain ``first_bad_seq`` and ``problem`` in words.
    """
    from seawatch.share.checkpoints import CheckpointError, checkpoint_path, read_checkpoints

    path: Path | None = None
    marks: list[Checkpoint] = []
    file_problem: str | None = None
    if checkpoints is not False:
        path = checkpoint_path(state, environ) if checkpoints is True else Path(checkpoints)
        if path is not None:
            try:
                marks = read_checkpoints(path, environ)
            except CheckpointError as exc:
                file_problem = str(exc)
    result = _verify_chain(state, anchor, marks)
    if result.ok and file_problem is not None:
        result = replace(result, ok=False, problem=file_problem)
    newest = max(marks, key=lambda c: c.seq, default=None)
    return replace(result, checkpoints=len(marks), checkpoint=newest, checkpoint_path=path)


def _verify_chain(
    state: State, anchor: tuple[int, str] | None, marks: list[Checkpoint]
) -> VerifyResult:
    wanted: dict[int, list[Checkpoint]] = {}
    for mark in marks:
        wanted.setdefault(mark.seq, []).append(mark)
    last_good_mark = 0
    with state.read() as s:
        head = s.get(AuditHead, 1)
        head_seq, head_hash = (head.seq, head.hash) if head is not None else (0, GENESIS_HASH)
        expected, prev, count = 1, GENESIS_HASH, 0
        after = None
        while True:
            query = sa.select(AuditRow).order_by(AuditRow.seq).limit(VERIFY_BATCH)
            if after is not None:
                query = query.where(AuditRow.seq > after)
            rows = list(s.scalars(query))
            if not rows:
                break
            for row in rows:
                problem = _check_row(row, expected, prev)
                if problem is not None:
                    bad = min(row.seq, expected)
                    return VerifyResult(False, count, head_seq, head_hash, bad, problem)
                if anchor is not None and row.seq == anchor[0] and row.hash != anchor[1]:
                    return VerifyResult(
                        False, count, head_seq, head_hash, row.seq,
                        f"entry {row.seq} does not match the recorded anchor hash "
                        "(the chain was rewritten from here or earlier)",
                    )
                for mark in wanted.get(row.seq, ()):
                    if row.hash != mark.hash:
                        since = (f" (after entry {last_good_mark}, which an earlier "
                                 "checkpoint confirms)" if last_good_mark else "")
                        return VerifyResult(
                            False, count, head_seq, head_hash, last_good_mark + 1,
                            f"entry {row.seq} does not match {mark.describe()}: the log was "
                            f"rewritten at or before entry {row.seq}{since}",
                        )
                    last_good_mark = row.seq
                expected, prev, count = row.seq + 1, row.hash, count + 1
            after = rows[-1].seq
            s.expunge_all()
        last = expected - 1
        if head is None:
            return VerifyResult(False, count, 0, GENESIS_HASH, 1, "the audit head row is missing")
        if head_seq != last or head_hash != prev:
            if head_seq > last:
                problem = (
                    f"the log ends at entry {last} but the head says {head_seq}: entries "
                    f"{last + 1}..{head_seq} were deleted"
                )
            elif head_seq < last:
                problem = (
                    f"entries {head_seq + 1}..{last} were added behind seawatch's back "
                    f"(the head says the log ends at {head_seq})"
                )
            else:
                problem = f"entry {last}'s hash differs from the head's (the head was altered)"
            return VerifyResult(False, count, head_seq, head_hash, min(head_seq, last) + 1, problem)
        if anchor is not None and anchor[0] > last:
            return VerifyResult(
                False, count, head_seq, head_hash, last + 1,
                f"anchor entry {anchor[0]} is beyond the end of the log ({last})",
            )
        beyond = [m for m in marks if m.seq > last]
        if beyond:
            mark = max(beyond, key=lambda m: m.seq)
            return VerifyResult(
                False, count, head_seq, head_hash, last + 1,
                f"the log ends at entry {last} but {mark.describe()} records entry "
                f"{mark.seq}: entries {last + 1}..{mark.seq} (at least) were cut and the "
                "head moved back",
            )
    return VerifyResult(True, count, head_seq, head_hash)


def _check_row(row: AuditRow, expected: int, prev: str) -> str | None:
    if row.seq > expected:
        missing = (
            f"entry {expected} is" if row.seq == expected + 1
            else f"entries {expected}..{row.seq - 1} are"
        )
        return f"{missing} missing (deleted): the log jumps to {row.seq}"
    if row.seq < expected:
        return f"entry {row.seq} is out of sequence (inserted)"
    if row.prev_hash != prev:
        return (
            f"entry {row.seq} does not link to entry {row.seq - 1} (prev_hash mismatch): "
            "inserted, reordered, or a neighbour was re-hashed"
        )
    if _row_hash(row) != row.hash:
        return f"entry {row.seq} does not match its hash (edited)"
    return None


def show(
    state: State,
    *,
    user: str | None = None,
    agency: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = 100,
    newest_first: bool = True,
) -> list[AuditEntry]:
    """Audit entries matching every filter given.

    Raises
    ------
    InvalidInput
        A filter longer than its column or holding a control character.

    Parameters
    ----------
    user, agency
        Exact actor / agency.
    action
        Exact action, or a prefix ending in ``*`` (``'grant.*'``).
    since, until
        ``since <= ts < until`` (UTC; naive is UTC).
    limit
        At most this many (None: all).
    newest_first
        Order by ``seq`` descending (default) or ascending.
    """
    for name, value in (("user", user), ("agency", agency), ("action", action)):
        if value is not None:
            bounded_text(value, name, COLUMN_CHARS["actor" if name == "user" else name])
    query = sa.select(AuditRow)
    if user is not None:
        query = query.where(AuditRow.actor == user)
    if agency is not None:
        query = query.where(AuditRow.agency == agency)
    if action is not None:
        if action.endswith("*"):
            prefix = action[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(AuditRow.action.like(prefix + "%", escape="\\"))
        else:
            query = query.where(AuditRow.action == action)
    if since is not None:
        query = query.where(AuditRow.ts >= as_utc(since))
    if until is not None:
        query = query.where(AuditRow.ts < as_utc(until))
    query = query.order_by(AuditRow.seq.desc() if newest_first else AuditRow.seq)
    if limit is not None:
        query = query.limit(int(limit))
    with state.read() as s:
        return [_entry(r) for r in s.scalars(query)]


__all__ = [
    "AuditEntry",
    "VerifyResult",
    "canonical_json",
    "entry_hash",
    "head",
    "record",
    "redact",
    "show",
    "verify",
]
