"""Fixtures of the sharing tests: every ``state`` test runs on SQLite and on PostgreSQL.

The PostgreSQL variant needs a server: set ``SEAWATCH_TEST_PG`` to a URL whose role may
create databases (``.ci/pg-setup.sh`` prints one), e.g.
``postgresql+psycopg://seawatch:seawatch@127.0.0.1:5432/seawatch_test``. The session creates
a fresh database beside it (dropped at the end), migrates one schema once and empties it
between tests; tests that need an empty database get a schema of their own.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from seawatch.share import passwords
from seawatch.share.db import State, open_state
from tests.share.data import reset_tables

PG_ENV = "SEAWATCH_TEST_PG"
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(autouse=True)
def fast_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap scrypt parameters for speed (one test checks the real ones explicitly)."""
    monkeypatch.setattr(passwords, "SCRYPT_N", 2**10)


@pytest.fixture(autouse=True)
def no_env_db(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests say where the state is; a developer's SEAWATCH_DB must not leak in."""
    monkeypatch.delenv("SEAWATCH_DB", raising=False)


def _with_schema(url: str, schema: str) -> str:
    parsed = sa.make_url(url)
    return parsed.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of a fresh PostgreSQL database for this test session (dropped afterwards)."""
    base = os.environ.get(PG_ENV, "").strip()
    if not base:
        pytest.skip(
            f"PostgreSQL variant skipped: set {PG_ENV} (e.g. postgresql+psycopg://seawatch:"
            "seawatch@127.0.0.1:5432/seawatch_test; .ci/pg-setup.sh starts a server)"
        )
    name = f"seawatch_share_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL at {PG_ENV} unreachable: {str(exc.orig).strip()[:200]}")
    except sa.exc.ProgrammingError:  # no CREATEDB: isolate by schemas in the given database
        admin.dispose()
        yield base
        return
    try:
        yield sa.make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        _drop_database(admin, name)
        admin.dispose()


def _drop_database(admin: sa.Engine, name: str, tries: int = 20) -> None:
    """Drop a test database; retried, because FORCE cannot end an autovacuum worker that a
    non-superuser role does not own (it finishes within moments)."""
    for attempt in range(tries):
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except sa.exc.DBAPIError as exc:
            if attempt == tries - 1:
                warnings.warn(f"could not drop test database {name}: {exc.orig}", stacklevel=1)
                return
            time.sleep(0.25)


@pytest.fixture
def pg_schema_url(pg_url: str) -> Iterator[str]:
    """A URL whose ``search_path`` is a new, empty schema (dropped after the test)."""
    schema = f"t_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield _with_schema(pg_url, schema)
    finally:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/state.db"
    return str(request.getfixturevalue("pg_schema_url"))


@pytest.fixture(scope="session")
def pg_shared(pg_url: str) -> Iterator[State]:
    """One migrated PostgreSQL schema for the session (emptied between tests)."""
    schema = f"s_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    state = open_state(_with_schema(pg_url, schema))
    try:
        yield state
    finally:
        state.close()
        try:  # best effort: the session's database is dropped anyway
            with engine.connect() as conn:
                conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        except sa.exc.DBAPIError:
            pass
        engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite state file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "state.db"
    open_state(f"sqlite:///{path}").close()
    return path


@pytest.fixture(params=BACKENDS)
def state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[State]:
    """A migrated, empty state on each backend."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copyfile(template, tmp_path / "state.db")
        st = State(f"sqlite:///{tmp_path / 'state.db'}")
    else:
        shared: State = request.getfixturevalue("pg_shared")
        reset_tables(shared)
        st = State(shared.url)
    assert st.revision() is not None
    yield st
    st.close()

