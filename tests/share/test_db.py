"""Operational state: URLs, migrations on both backends, UTC times, store directories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from seawatch.share.db import (
    HEAD_REVISION,
    STATE_FILENAME,
    VERSION_TABLE,
    State,
    current_revision,
    make_engine,
    open_state,
    resolve_url,
    upgrade,
)
from seawatch.share.errors import InvalidInput
from seawatch.share.models import Agency, AuditHead, Base
from tests.share.data import ALL_TABLES


def test_migrations_upgrade_from_empty_and_are_idempotent(empty_url: str) -> None:
    engine = make_engine(empty_url)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == HEAD_REVISION
    tables = set(sa.inspect(engine).get_table_names())
    assert set(ALL_TABLES) | {VERSION_TABLE} <= tables
    upgrade(engine)  # again: nothing to do, nothing breaks
    upgrade(empty_url)
    assert current_revision(engine) == HEAD_REVISION
    state = State(empty_url, engine)
    with state.read() as s:
        head = s.get(AuditHead, 1)
        assert head is not None and head.seq == 0 and head.hash == "0" * 64
    state.close()


def test_models_match_migrations(empty_url: str) -> None:
    """Autogenerate finds no difference between the models and the migrated schema."""
    state = open_state(empty_url)
    with state.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "version_table": VERSION_TABLE}
        )
        assert compare_metadata(context, Base.metadata) == []
    state.close()


def test_times_are_aware_utc_on_both_backends(state: State) -> None:
    local = datetime(2026, 1, 15, 7, 30, 0, 123456, tzinfo=timezone(timedelta(hours=-5)))
    with state.write() as s:
        s.add(Agency(name="A", description="", is_host=False, created_at=local))
    with state.read() as s:
        got = s.scalar(sa.select(Agency.created_at).where(Agency.name == "A"))
        later = s.scalar(
            sa.select(sa.func.count()).where(Agency.created_at > datetime(2026, 1, 15, 12, 30))
        )
    assert got == datetime(2026, 1, 15, 12, 30, 0, 123456, tzinfo=UTC)
    assert got is not None and got.tzinfo is not None and got.utcoffset() == timedelta(0)
    assert later == 1  # naive bound taken as UTC; comparison done in SQL


def test_resolve_url(tmp_path: Path) -> None:
    assert resolve_url(tmp_path, environ={}) == f"sqlite:///{tmp_path / STATE_FILENAME}"
    env = {"SEAWATCH_DB": "postgresql+psycopg://u:p@h/db"}
    assert resolve_url(tmp_path, environ=env) == env["SEAWATCH_DB"]
    assert resolve_url("sqlite:///x.db", environ=env) == "sqlite:///x.db"  # explicit wins
    assert resolve_url(None, environ=env) == env["SEAWATCH_DB"]
    with pytest.raises(InvalidInput, match="SEAWATCH_DB"):
        resolve_url(None, environ={})


def test_open_state_honours_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "elsewhere.db"
    monkeypatch.setenv("SEAWATCH_DB", f"sqlite:///{other}")
    state = open_state(tmp_path / "store")
    assert state.url == f"sqlite:///{other}" and other.is_file()
    assert not (tmp_path / "store").exists()  # the state is not in the store: left alone
    state.close()


def test_open_state_makes_store_directory(tmp_path: Path) -> None:
    from seawatch.store import Store

    state = open_state(tmp_path / "new")
    assert (tmp_path / "new" / STATE_FILENAME).is_file()
    state.close()
    Store(tmp_path / "new", create=False)  # a valid seawatch store beside state.db
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "notes.txt").write_text("x")
    with pytest.raises(InvalidInput, match="not a seawatch store"):
        open_state(junk)


def test_state_repr_hides_password() -> None:
    state = State("postgresql+psycopg://seawatch:s3cret@127.0.0.1/db")
    assert "s3cret" not in repr(state)
    state.close()


def test_write_rolls_back_on_error(state: State) -> None:
    with pytest.raises(RuntimeError), state.write() as s:
        s.add(Agency(name="B", description="", is_host=False, created_at=datetime.now(UTC)))
        s.flush()
        raise RuntimeError("boom")
    with state.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Agency)) == 0
