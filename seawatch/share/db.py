"""Operational state: one SQL database through SQLAlchemy 2, its schema kept by Alembic.

The embedded default is a SQLite file beside the Parquet data, ``<store>/state.db``; a server
deployment points ``SEAWATCH_DB`` (or an explicit URL) at PostgreSQL. The same code and the
same migrations run on both: times are stored as timezone-aware UTC (``timestamptz`` on
PostgreSQL, ISO text normalised to UTC on SQLite) and no statement uses SQLite-only SQL.

:func:`open_state` is the entry point: it resolves where the state lives, upgrades the schema
to the newest migration (idempotent) and returns a :class:`State`, a small facade holding the
engine and two session factories, :meth:`State.read` and :meth:`State.write`.

Examples
--------
>>> import tempfile
>>> state = open_state(tempfile.mkdtemp())
>>> state.url.startswith("sqlite:///") and state.url.endswith("state.db")
True
>>> state.revision() == HEAD_REVISION
True
>>> state.close()
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.orm import Session, sessionmaker

from seawatch.share.errors import DatabaseUnavailable, InvalidInput
from seawatch.share.location import ENV_VAR, STATE_FILENAME

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
"""Alembic script folder shipped in the package."""
VERSION_TABLE = "seawatch_state_version"
"""Alembic's version table (named so it cannot clash with another application's)."""
HEAD_REVISION = "0003"
"""Newest migration; :meth:`State.revision` equals it after :func:`open_state`."""
SQLITE_BUSY_TIMEOUT_S = 30.0
"""How long a SQLite writer waits for another writer before giving up."""
_PG_MIGRATION_LOCK = 0x5EA_3A7C4
"""PostgreSQL advisory lock key serialising concurrent schema upgrades."""


# --- time --------------------------------------------------------------------------------


def utcnow(now: datetime | None = None) -> datetime:
    """The current time, timezone-aware UTC; or ``now`` as aware UTC when given.

    Every function of the sharing layer takes ``now=`` (None: the current time) so that tests
    can fix the clock; this is how each of them reads it.

    >>> utcnow(datetime(2026, 1, 15, 12)).isoformat()
    '2026-01-15T12:00:00+00:00'
    >>> utcnow().tzinfo is UTC
    True
    """
    return as_utc(now) if now is not None else datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken as UTC.

    >>> as_utc(datetime(2026, 1, 15, 12)).isoformat()
    '2026-01-15T12:00:00+00:00'
    """
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back as an aware UTC datetime.

    PostgreSQL keeps ``timestamptz``; SQLite has no time type, so the value is stored as naive
    UTC text and given its zone back when read. Naive input is taken as UTC.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # defensive: SQLite text not parsed by the driver
            value = datetime.fromisoformat(value)
        return as_utc(value)


# --- where the state lives ----------------------------------------------------------------


def is_url(target: str | os.PathLike[str]) -> bool:
    """True when ``target`` is a database URL rather than a store directory.

    >>> is_url("postgresql+psycopg://u:p@host/db"), is_url("/data/store")
    (True, False)
    """
    return isinstance(target, str) and "://" in target


def resolve_url(
    target: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> str:
    """The database URL for a store directory or an explicit URL.

    Parameters
    ----------
    target
        A database URL (``sqlite:///path``, ``postgresql+psycopg://...``) used as given, or a
        store directory. For a directory, ``SEAWATCH_DB`` wins when set; otherwise the state is
        the SQLite file ``<store>/state.db``.
    environ
        Environment to read ``SEAWATCH_DB`` from (default ``os.environ``).

    Raises
    ------
    InvalidInput
        Neither a target nor ``SEAWATCH_DB``.

    Examples
    --------
    >>> resolve_url("/srv/store", environ={})
    'sqlite:////srv/store/state.db'
    >>> resolve_url("/srv/store", environ={"SEAWATCH_DB": "postgresql+psycopg://h/db"})
    'postgresql+psycopg://h/db'
    """
    env = os.environ if environ is None else environ
    if target is not None and is_url(target):
        return str(target)
    from_env = env.get(ENV_VAR, "").strip()
    if from_env:
        return from_env
    if target is None:
        raise InvalidInput(f"no state given: pass --store DIR or set {ENV_VAR} to a database URL")
    path = Path(target).expanduser().absolute() / STATE_FILENAME
    return f"sqlite:///{path}"


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with seawatch's connection settings.

    SQLite: foreign keys on, WAL journal (readers do not block the writer), a busy timeout of
    :data:`SQLITE_BUSY_TIMEOUT_S`, and real transactions (SQLAlchemy's recommended pysqlite
    recipe: the driver's own implicit ``BEGIN`` is turned off and every transaction starts with
    an explicit ``BEGIN``, or ``BEGIN IMMEDIATE`` for :meth:`State.write` sessions, so two
    writers are serialised from their first statement). PostgreSQL: pre-ping pooled
    connections.

    Raises
    ------
    InvalidInput
        ``url`` is not a URL SQLAlchemy can use (unknown database or driver).

    >>> make_engine("nope://host/db")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    seawatch.share.errors.InvalidInput: cannot use the state database URL: Can't load plugin...
    """
    try:
        parsed = sa.make_url(url)
        parsed.get_dialect()
    except sa.exc.ArgumentError as exc:  # unparsable URL, unknown database or driver
        raise InvalidInput(f"cannot use the state database URL: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        memory = parsed.database in (None, "", ":memory:")
        kwargs: dict[str, Any] = {
            "connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}
        }
        if memory:
            kwargs["poolclass"] = sa.pool.StaticPool
        else:
            Path(parsed.database or "").parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, **kwargs)
        _sqlite_events(engine, wal=not memory)
        return engine
    return sa.create_engine(parsed, pool_pre_ping=True)


def _sqlite_events(engine: Engine, *, wal: bool) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        if wal:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("seawatch_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())


# --- migrations ---------------------------------------------------------------------------


def alembic_config(connection: Connection | None = None) -> Any:
    """An Alembic ``Config`` built in code, pointing at the package's migrations.

    With ``connection`` the migrations run on it (``env.py`` reads it from
    ``config.attributes``). Developers make a new revision with
    ``alembic.command.revision(alembic_config(conn), message=..., autogenerate=True)``.
    """
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("version_table", VERSION_TABLE)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(target: str | Engine, revision: str = "head") -> None:
    """Upgrade the state schema to ``revision`` (default: the newest); idempotent.

    Parameters
    ----------
    target
        A database URL or an engine made by :func:`make_engine`.
    revision
        Alembic revision to upgrade to.

    Notes
    -----
    Concurrent upgrades are serialised: a PostgreSQL advisory lock, or SQLite's write lock
    (``BEGIN IMMEDIATE``). The whole upgrade is one transaction on both backends (their DDL
    is transactional), so a failed migration leaves the schema as it was.
    """
    from alembic import command

    engine = make_engine(target) if isinstance(target, str) else target
    try:
        with engine.execution_options(seawatch_begin="IMMEDIATE").begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            command.upgrade(alembic_config(conn), revision)
    finally:
        if isinstance(target, str):
            engine.dispose()


def current_revision(engine: Engine) -> str | None:
    """The schema's Alembic revision, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


# --- the facade ---------------------------------------------------------------------------


class State:
    """Operational state of one store: agencies, users, credentials, markings, grants, audit.

    Parameters
    ----------
    url
        Database URL.
    engine
        Engine to use (default: :func:`make_engine` of ``url``).

    Notes
    -----
    Use :meth:`read` for queries and :meth:`write` for changes; both are context managers
    that commit on success and roll back on an exception. A ``State`` is safe to share
    between threads (each ``with`` block has its own session and connection).
    """

    def __init__(self, url: str, engine: Engine | None = None) -> None:
        self.url = url
        self.engine = engine if engine is not None else make_engine(url)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(
            self.engine.execution_options(seawatch_begin="IMMEDIATE"), expire_on_commit=False
        )
        self._cache: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.home: Path | None = None
        """The store directory this state serves, when known (:func:`open_state` of a
        directory, or the application serving it): where a PostgreSQL state keeps its audit
        checkpoints (:mod:`seawatch.share.checkpoints`)."""

    def __repr__(self) -> str:
        return f"State({self.engine.url.render_as_string(hide_password=True)!r})"

    @property
    def dialect(self) -> str:
        """``'sqlite'`` or ``'postgresql'``."""
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries (committed at the end, so it holds no locks after)."""
        with self._read.begin() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session for changes; on SQLite it takes the database write lock at once."""
        with self._write.begin() as session:
            yield session

    def revision(self) -> str | None:
        """The schema's migration revision."""
        return current_revision(self.engine)

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()


def open_state(
    target: str | os.PathLike[str] | None = None,
    *,
    migrate: bool = True,
    create_store: bool = True,
) -> State:
    """Open (and create or upgrade) the operational state of a store.

    Parameters
    ----------
    target
        A store directory (state in ``<store>/state.db`` unless ``SEAWATCH_DB`` is set) or a
        database URL. None: ``SEAWATCH_DB``.
    migrate
        Upgrade the schema to the newest migration first (idempotent; cheap when current).
    create_store
        When the state goes into a directory that is not a seawatch store yet, make it one
        (a new or empty directory), so the Parquet store can live beside ``state.db``.

    Returns
    -------
    State
    """
    url = resolve_url(target)
    in_store = target is not None and not is_url(target) and url == resolve_url(target, environ={})
    if in_store and create_store:
        _ensure_store_dir(Path(target))  # type: ignore[arg-type]
    engine = make_engine(url)
    if migrate:
        upgrade(engine)
    state = State(url, engine)
    if target is not None and not is_url(target):
        state.home = Path(target).expanduser().absolute()
    return state


def database_error(exc: sa.exc.OperationalError) -> DatabaseUnavailable:
    """The one line a user reads when the state database cannot be used: the first line of
    the driver's message, without SQLAlchemy's statement and background link.

    >>> raw = sa.exc.OperationalError("SELECT 1", {}, Exception("unable to open file\\nmore"))
    >>> str(database_error(raw))
    'cannot use the state database: unable to open file'
    """
    first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    return DatabaseUnavailable(f"cannot use the state database: {first}")


def _ensure_store_dir(path: Path) -> None:
    from seawatch.store.layout import MARKER

    path = path.expanduser().absolute()
    if (path / MARKER).is_file():
        return
    from seawatch.store import Store
    from seawatch.store.layout import StoreError

    try:
        Store(path, create=True)
    except StoreError as exc:
        raise InvalidInput(str(exc)) from exc
