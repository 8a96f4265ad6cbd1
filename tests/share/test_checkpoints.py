"""Signed checkpoints of the audit head: a consistent rewrite of the log (tail cut and head
moved back, or the chain recomputed from some entry on) passes the hash chain but not the
checkpoints; forged, edited or foreign checkpoint lines and careless keys are refused."""

from __future__ import annotations

import json
import stat
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from seawatch.share.audit import _content, entry_hash, head, record, verify
from seawatch.share.checkpoints import (
    ENV_CHECKPOINTS,
    ENV_KEY,
    ENV_KEY_FILE,
    KEY_FILENAME,
    Checkpointer,
    CheckpointError,
    checkpoint_path,
    load_key,
    read_checkpoints,
    write_checkpoint,
)
from seawatch.share.db import State
from seawatch.share.models import AuditRow
from tests.share.data import T0, all_text


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    """Checkpoints in a file of the test's own (both backends alike)."""
    return {ENV_CHECKPOINTS: str(tmp_path / "checkpoints" / "audit.jsonl")}


def _fill(state: State, n: int, start: int = 0) -> None:
    for k in range(start, start + n):
        record(state, "data.read", actor="af-viewer", agency="PARTNER-AF",
               resource="/api/v1/events", params={"page": k}, status=200, client="10.0.0.1",
               now=T0 + timedelta(seconds=k))


def _sql(state: State, statement: str, **params: object) -> None:
    with state.write() as s:
        s.execute(sa.text(statement), params)


def _cut_tail(state: State, keep: int) -> None:
    """What a forger with SQL access does: delete the newest entries and move the head
    back to the last one kept (the chain then verifies)."""
    with state.write() as s:
        kept = s.get(AuditRow, keep)
        assert kept is not None
        last_hash = kept.hash
    _sql(state, "DELETE FROM audit_log WHERE seq > :k", k=keep)
    _sql(state, "UPDATE audit_head SET seq = :k, hash = :h", k=keep, h=last_hash)


def _rewrite_from(state: State, first: int) -> None:
    """Change entry ``first`` and recompute every hash from it on, and the head."""
    _sql(state, "UPDATE audit_log SET resource = '/nothing/to/see' WHERE seq = :k", k=first)
    with state.write() as s:
        rows = list(s.scalars(sa.select(AuditRow).where(AuditRow.seq >= first)
                              .order_by(AuditRow.seq)))
        prev = s.get(AuditRow, first - 1).hash if first > 1 else "0" * 64
        for row in rows:
            row.prev_hash = prev
            row.hash = entry_hash(prev, _content(row.seq, row.ts, row.actor, row.agency,
                                                 row.action, row.resource, row.params,
                                                 row.status, row.client))
            prev = row.hash
    _sql(state, "UPDATE audit_head SET hash = :h", h=prev)


def test_checkpoints_are_written_when_the_head_moves(state: State, environ) -> None:
    assert write_checkpoint(state, environ=environ) is None  # an empty log: nothing
    _fill(state, 5)
    first = write_checkpoint(state, by="cli", now=T0, environ=environ)
    assert first is not None and (first.seq, first.hash) == head(state) and first.line == 1
    again = write_checkpoint(state, environ=environ)
    assert again is not None and again.line == 1  # unchanged head: no new line
    _fill(state, 2, start=5)
    second = write_checkpoint(state, by="serve", environ=environ)
    assert second is not None and (second.seq, second.line, second.by) == (7, 2, "serve")
    path = Path(environ[ENV_CHECKPOINTS])
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [c["seq"] for c in lines] == [5, 7]
    assert set(lines[0]) == {"v", "alg", "key", "seq", "hash", "at", "by", "sig"}
    result = verify(state, environ=environ)
    assert result.ok and result.checkpoints == 2 and result.checkpoint.seq == 7
    assert result.checkpoint_path == path


def test_a_cut_tail_with_the_head_moved_back_is_caught(state: State, environ) -> None:
    _fill(state, 8)
    write_checkpoint(state, environ=environ)
    _cut_tail(state, keep=6)
    assert verify(state, checkpoints=False).ok  # the chain alone cannot tell
    result = verify(state, environ=environ)
    assert not result.ok and result.first_bad_seq == 7
    assert "the log ends at entry 6" in result.problem
    assert "records entry 8" in result.problem and "were cut" in result.problem


def test_a_chain_recomputed_from_some_entry_on_is_caught(state: State, environ) -> None:
    _fill(state, 4)
    write_checkpoint(state, environ=environ)
    _fill(state, 4, start=4)
    write_checkpoint(state, environ=environ)
    _rewrite_from(state, 6)
    assert verify(state, checkpoints=False).ok  # a consistent forgery
    result = verify(state, environ=environ)
    assert not result.ok and result.first_bad_seq == 5
    assert "entry 8 does not match the signed checkpoint" in result.problem
    assert "after entry 4" in result.problem
    _rewrite_from(state, 2)  # now before the first checkpoint as well
    result = verify(state, environ=environ)
    assert not result.ok and "entry 4 does not match" in result.problem
    assert result.first_bad_seq == 1


def test_forged_and_foreign_checkpoint_lines_are_refused(state: State, environ,
                                                         tmp_path: Path) -> None:
    _fill(state, 3)
    write_checkpoint(state, environ=environ)
    path = Path(environ[ENV_CHECKPOINTS])
    good = path.read_text()
    line = json.loads(good)

    def check(text: str, words: str, env: dict[str, str] | None = None) -> None:
        path.write_text(text)
        result = verify(state, environ=env or environ)
        assert not result.ok and words in (result.problem or ""), result.problem
        with pytest.raises(CheckpointError, match=words):
            read_checkpoints(path, env or environ)

    check(json.dumps({**line, "seq": 2}) + "\n", "does not match its signature")
    check(good + "not json\n", "line 2 of")
    check(good + json.dumps({"seq": 1}) + "\n", "is not an audit checkpoint")
    check(good, "signed with another key", {**environ, ENV_KEY: "k" * 40})
    path.write_text(good)
    (path.parent / KEY_FILENAME).unlink()
    check(good, "key is missing")
    path.write_text("")
    assert verify(state, environ=environ).ok  # no checkpoint yet: nothing to contradict


def test_the_key_stays_out_of_the_database_and_private(state: State, environ) -> None:
    _fill(state, 2)
    checkpoint = write_checkpoint(state, environ=environ)
    key_file = checkpoint.path.parent / KEY_FILENAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert len(key) == 64 and key not in all_text(state)
    key_file.chmod(0o644)
    with pytest.raises(CheckpointError, match="chmod 600"):
        load_key(checkpoint.path, environ=environ)
    result = verify(state, environ=environ)
    assert not result.ok and "may be read by others" in result.problem


def test_a_key_from_the_environment(state: State, environ, tmp_path: Path) -> None:
    _fill(state, 2)
    with pytest.raises(CheckpointError, match="too short"):
        write_checkpoint(state, environ={**environ, ENV_KEY: "short"})
    secret = {**environ, ENV_KEY: "s3cret-" * 6}
    checkpoint = write_checkpoint(state, environ=secret)
    assert not (checkpoint.path.parent / KEY_FILENAME).exists()  # nothing on disk
    assert verify(state, environ=secret).ok
    assert not verify(state, environ=environ).ok  # without the key: cannot be checked
    named = tmp_path / "elsewhere.key"
    with pytest.raises(CheckpointError, match="does not exist"):
        load_key(checkpoint.path, environ={ENV_KEY_FILE: str(named)})
    named.write_text("n" * 40)
    named.chmod(0o600)
    assert load_key(checkpoint.path, environ={ENV_KEY_FILE: str(named)}) == b"n" * 40


def test_the_checkpointer_runs_while_serving_and_at_the_end(state: State, environ,
                                                            monkeypatch) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    _fill(state, 2)
    path = Path(environ[ENV_CHECKPOINTS])
    checkpointer = Checkpointer(state, interval=timedelta(seconds=0.05)).start()
    try:
        deadline = time.monotonic() + 20
        while not path.is_file() or not path.read_text():
            assert time.monotonic() < deadline, "no periodic checkpoint"
            time.sleep(0.02)
        _fill(state, 3, start=2)
    finally:
        final = checkpointer.stop()
    assert final is not None and final.seq == 5 and final.by == "serve"
    assert verify(state).checkpoint.seq == 5
    monkeypatch.setenv(ENV_KEY, "short")  # a failing checkpoint is logged, never raised
    assert Checkpointer(state).checkpoint() is None


def test_where_checkpoints_go(tmp_path: Path) -> None:
    sqlite = State(f"sqlite:///{tmp_path / 'state.db'}")
    assert checkpoint_path(sqlite, {}) == tmp_path / "state-audit-checkpoints.jsonl"
    assert checkpoint_path(sqlite, {ENV_CHECKPOINTS: str(tmp_path / "x.jsonl")}) == \
        tmp_path / "x.jsonl"
    assert checkpoint_path(State("sqlite://"), {}) is None
    pg = State("postgresql+psycopg://u:secret@db.example/seawatch")
    assert checkpoint_path(pg, {}) is None  # no store known: nowhere
    pg.home = tmp_path
    named = checkpoint_path(pg, {})
    assert named.parent == tmp_path and named.name.startswith("audit-checkpoints-")
    other = State("postgresql+psycopg://u:secret@db.example/another")
    other.home = tmp_path
    assert checkpoint_path(other, {}) != named  # one file per database
    for st in (sqlite, pg, other):
        st.close()
