"""Signed checkpoints of the audit head, kept outside the database.

The hash chain of :mod:`seawatch.share.audit` shows any change to an entry, but someone who
can rewrite the whole table *and* its head row can forge a consistent chain (cut the tail and
move the head back, or recompute every hash from some entry on). A checkpoint is the head
``(seq, hash)`` at a moment, written to a file outside the database and signed with a key
the database never holds; :func:`seawatch.share.audit.verify` checks every checkpoint against
the chain, so such a rewrite is caught if it reaches back to any checkpoint.

Where
    The checkpoint file is ``$SEAWATCH_AUDIT_CHECKPOINTS`` when set; else, for a SQLite state,
    ``<name>-audit-checkpoints.jsonl`` beside the database file (``state.db`` gives
    ``state-audit-checkpoints.jsonl`` in the store); else (PostgreSQL) a file named after the
    database in the store directory the state serves (:attr:`State.home
    <seawatch.share.db.State.home>`); else nowhere (checkpoints are off and ``audit verify``
    says so).
The key
    ``$SEAWATCH_AUDIT_KEY`` (the secret itself, at least :data:`MIN_KEY_CHARS` characters);
    else the file ``$SEAWATCH_AUDIT_KEY_FILE``; else ``audit.key`` beside the checkpoint file,
    made on the first checkpoint with 32 random bytes and permissions 0600. A key file that
    others may read is refused.
Format
    One JSON object per line, appended (the history stays): ``v``, ``alg``
    (``HMAC-SHA256``), ``key`` (the first 16 hex digits of the key's SHA-256: which key
    signed), ``seq``, ``hash``, ``at`` (UTC), ``by`` (``serve``, ``cli``) and ``sig``, the
    HMAC-SHA256 of the canonical JSON of the other fields.
When
    ``seawatch serve`` every :data:`CHECKPOINT_INTERVAL` and when it stops
    (:class:`Checkpointer`); the command line after each command that appends to the log.
    A checkpoint is written only when the head moved since the last line.

What it cannot do: entries appended after the newest checkpoint can still be cut unnoticed
(at most :data:`CHECKPOINT_INTERVAL` of API traffic), and someone who can also replace the
checkpoint file with an older one of its own lines, or read the key, defeats it; keep the key
outside the store (``SEAWATCH_AUDIT_KEY``) and copy the checkpoint file elsewhere now and
then.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from seawatch.share.audit import record, verify
>>> from seawatch.share.db import open_state
>>> state = open_state(tempfile.mkdtemp())
>>> _ = record(state, "grant.create", actor="local:ana")
>>> written = write_checkpoint(state, by="cli")
>>> (written.seq, written.path.name)
(1, 'state-audit-checkpoints.jsonl')
>>> verify(state).checkpoints
1
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seawatch.share.db import utcnow
from seawatch.share.errors import InvalidInput

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.share.db import State

log = logging.getLogger("seawatch.share")

ENV_CHECKPOINTS = "SEAWATCH_AUDIT_CHECKPOINTS"
"""Environment variable naming the checkpoint file (wins over the default place)."""
ENV_KEY = "SEAWATCH_AUDIT_KEY"
"""Environment variable holding the signing key itself."""
ENV_KEY_FILE = "SEAWATCH_AUDIT_KEY_FILE"
"""Environment variable naming the key file."""
KEY_FILENAME = "audit.key"
"""The key file made beside the checkpoint file when no key is given."""
KEY_BYTES = 32
"""Random bytes of a key seawatch makes (256 bits, HMAC-SHA256's block-size class)."""
MIN_KEY_CHARS = 32
"""Shortest key accepted from ``SEAWATCH_AUDIT_KEY`` or a key file."""
CHECKPOINT_INTERVAL = timedelta(minutes=15)
"""How often ``seawatch serve`` checkpoints the head (when it moved): bounds how much of the
newest log a consistent rewrite could still remove unseen."""
ALGORITHM = "HMAC-SHA256"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Checkpoint:
    """One signed checkpoint: the head ``seq`` and ``hash`` at ``at``, line ``line`` of
    ``path``."""

    seq: int
    hash: str
    at: datetime
    by: str
    key_id: str
    path: Path
    line: int

    def describe(self) -> str:
        """The checkpoint in words, for messages."""
        return (f"the signed checkpoint of {self.at.strftime('%Y-%m-%dT%H:%M:%SZ')} "
                f"(line {self.line} of {self.path})")


class CheckpointError(InvalidInput):
    """A checkpoint file or key that cannot be used: a line that is not a checkpoint, a bad
    signature, a missing or unreadable key."""


# --- where --------------------------------------------------------------------------------


def checkpoint_path(state: State, environ: Mapping[str, str] | None = None) -> Path | None:
    """Where ``state``'s checkpoints go (see the module's description); None: nowhere.

    >>> from seawatch.share.db import State
    >>> str(checkpoint_path(State("sqlite:////srv/manta/state.db"), environ={}))
    '/srv/manta/state-audit-checkpoints.jsonl'
    >>> checkpoint_path(State("sqlite://"), environ={}) is None  # in memory
    True
    """
    env = os.environ if environ is None else environ
    named = env.get(ENV_CHECKPOINTS, "").strip()
    if named:
        return Path(named).expanduser().absolute()
    url = state.engine.url
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:"):
            return None
        db = Path(url.database).expanduser().absolute()
        return db.with_name(f"{db.stem}-audit-checkpoints.jsonl")
    home = getattr(state, "home", None)
    if home is None:
        return None
    plain = url.render_as_string(hide_password=True)
    digest = hashlib.sha256(plain.encode()).hexdigest()[:12]
    return Path(home).expanduser().absolute() / f"audit-checkpoints-{digest}.jsonl"


# --- the key ------------------------------------------------------------------------------


def key_id(key: bytes) -> str:
    """The first 16 hex digits of the key's SHA-256 (says which key signed, reveals none).

    >>> key_id(b"k" * 32)
    '5e318f8cf9cbe249'
    """
    return hashlib.sha256(key).hexdigest()[:16]


def load_key(path: Path, *, create: bool = False,
             environ: Mapping[str, str] | None = None) -> bytes | None:
    """The signing key for checkpoints at ``path`` (None: there is none and ``create`` is
    false).

    Raises
    ------
    CheckpointError
        A key shorter than :data:`MIN_KEY_CHARS`, a named key file that does not exist, or a
        key file that others may read.
    """
    env = os.environ if environ is None else environ
    secret = env.get(ENV_KEY, "")
    if secret:
        if len(secret.strip()) < MIN_KEY_CHARS:
            raise CheckpointError(f"{ENV_KEY} is too short: use at least {MIN_KEY_CHARS} "
                                  "random characters (e.g. `openssl rand -hex 32`)")
        return secret.strip().encode()
    named = env.get(ENV_KEY_FILE, "").strip()
    key_file = Path(named).expanduser() if named else path.parent / KEY_FILENAME
    if not key_file.exists():
        if named:
            raise CheckpointError(f"{ENV_KEY_FILE} names {key_file}, which does not exist")
        if not create:
            return None
        _make_key(key_file)
    return _read_key(key_file)


def _make_key(key_file: Path) -> None:
    key_file.parent.mkdir(parents=True, exist_ok=True)
    text = secrets.token_hex(KEY_BYTES) + "\n"
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _read_key(key_file: Path) -> bytes:
    if os.name == "posix":
        mode = key_file.stat().st_mode & 0o777
        if mode & 0o077:
            raise CheckpointError(
                f"the audit key file {key_file} may be read by others (mode {mode:o}): "
                f"`chmod 600 {key_file}`"
            )
    text = key_file.read_text().strip()
    if len(text) < MIN_KEY_CHARS:
        raise CheckpointError(f"the audit key file {key_file} holds fewer than "
                              f"{MIN_KEY_CHARS} characters")
    return text.encode()


# --- writing and reading ------------------------------------------------------------------


def _signed(fields: Mapping[str, Any], key: bytes) -> str:
    from seawatch.share.audit import canonical_json

    return hmac.new(key, canonical_json(dict(fields)).encode(), hashlib.sha256).hexdigest()


def write_checkpoint(
    state: State,
    *,
    by: str = "cli",
    path: Path | None = None,
    now: datetime | None = None,
    environ: Mapping[str, str] | None = None,
) -> Checkpoint | None:
    """Append the signed head of ``state``'s audit log to its checkpoint file.

    Parameters
    ----------
    by
        Who checkpoints (``serve``, ``cli``), kept in the line.
    path
        The checkpoint file (default :func:`checkpoint_path`).

    Returns
    -------
    Checkpoint or None
        The checkpoint written, or the last one when the head has not moved since; None
        when the state has nowhere to keep checkpoints or its log is empty.
    """
    from seawatch.share.audit import head

    target = path if path is not None else checkpoint_path(state, environ)
    if target is None:
        return None
    seq, digest = head(state)
    if seq == 0:
        return None
    key = load_key(target, create=True, environ=environ)
    assert key is not None  # create=True makes one
    when = utcnow(now)
    fields: dict[str, Any] = {
        "v": FORMAT_VERSION, "alg": ALGORITHM, "key": key_id(key), "seq": seq, "hash": digest,
        "at": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "by": by,
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    with os.fdopen(fd, "r+b") as handle:
        _lock(handle)
        lines = handle.read().splitlines()
        last = _last_checkpoint(lines, target)
        if last is not None and (last["seq"], last["hash"]) == (seq, digest):
            return _checkpoint(last, target, len(lines))
        text = json.dumps({**fields, "sig": _signed(fields, key)}, sort_keys=True,
                          separators=(",", ":"))
        handle.write(text.encode() + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    return _checkpoint(fields, target, len(lines) + 1)


def _lock(handle: Any) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: O_APPEND writes of one line
        return
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)


def _last_checkpoint(lines: list[bytes], path: Path) -> dict[str, Any] | None:
    for raw in reversed(lines):
        if raw.strip():
            try:
                value = json.loads(raw)
            except ValueError:
                return None
            return value if isinstance(value, dict) else None
    return None


def _checkpoint(fields: Mapping[str, Any], path: Path, line: int) -> Checkpoint:
    from seawatch.units import parse_time

    return Checkpoint(int(fields["seq"]), str(fields["hash"]), parse_time(str(fields["at"])),
                      str(fields.get("by", "")), str(fields["key"]), path, line)


def read_checkpoints(
    path: Path, environ: Mapping[str, str] | None = None
) -> list[Checkpoint]:
    """Every checkpoint of ``path``, each signature checked (an absent file: none).

    Raises
    ------
    CheckpointError
        A line that is not a checkpoint, a signature that does not match (the line was
        edited or forged, or signed with another key), or checkpoints without a key to
        check them with.
    """
    if not path.is_file():
        return []
    lines = path.read_bytes().splitlines()
    if not any(raw.strip() for raw in lines):
        return []
    key = load_key(path, environ=environ)
    if key is None:
        raise CheckpointError(
            f"{path} holds audit checkpoints but their key is missing "
            f"({path.parent / KEY_FILENAME}, {ENV_KEY} or {ENV_KEY_FILE}): they cannot be "
            "checked"
        )
    mine = key_id(key)
    out: list[Checkpoint] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        where = f"line {number} of {path}"
        try:
            fields = json.loads(raw)
            sig = fields.pop("sig")
            checkpoint = _checkpoint(fields, path, number)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise CheckpointError(f"{where} is not an audit checkpoint") from None
        if fields.get("key") != mine:
            raise CheckpointError(
                f"{where} was signed with another key ({fields.get('key')!s:.16}, this key is "
                f"{mine}): a forged line, or the wrong {ENV_KEY} / key file"
            )
        if not isinstance(sig, str) or not hmac.compare_digest(sig, _signed(fields, key)):
            raise CheckpointError(f"{where} does not match its signature (edited or forged)")
        out.append(checkpoint)
    return out


class Checkpointer:
    """Checkpoints a state's audit head every ``interval`` in a daemon thread, and once more
    when stopped (``seawatch serve`` runs one while it serves).

    A checkpoint that fails is logged, never raised: the server goes on, and the next one
    tries again.
    """

    def __init__(self, state: State, interval: timedelta = CHECKPOINT_INTERVAL,
                 by: str = "serve") -> None:
        self.state = state
        self.interval = interval
        self.by = by
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="seawatch-audit-checkpoint",
                                        daemon=True)

    def checkpoint(self) -> Checkpoint | None:
        """Checkpoint now (errors logged; None then)."""
        try:
            return write_checkpoint(self.state, by=self.by)
        except Exception:
            log.exception("cannot checkpoint the audit log")
            return None

    def _run(self) -> None:
        while not self._stop.wait(self.interval.total_seconds()):
            self.checkpoint()

    def start(self) -> Checkpointer:
        """Start the periodic checkpoints."""
        self._thread.start()
        return self

    def stop(self) -> Checkpoint | None:
        """Stop, and checkpoint a last time."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10.0)
        return self.checkpoint()


__all__ = [
    "CHECKPOINT_INTERVAL",
    "Checkpoint",
    "CheckpointError",
    "Checkpointer",
    "checkpoint_path",
    "load_key",
    "read_checkpoints",
    "write_checkpoint",
]
