"""The command line and the audit log: reads of a store's data (``events``, ``info``) are
audited like the API's when the store has a state (and make none when it has not), and
``audit verify`` catches a consistent rewrite of the log with no anchor kept by hand."""

from __future__ import annotations

import shutil
from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from seawatch.cli import app
from seawatch.share.audit import show, verify
from seawatch.share.db import open_state
from seawatch.store import Store


def invoke(*args: object, env: dict[str, str] | None = None):
    result = CliRunner().invoke(app, [str(a) for a in args], env=env)
    assert "Traceback" not in result.output
    return result


def test_events_and_info_are_audited_reads(store_dir, sharing, tmp_path):
    from seawatch.share.audit import head

    state = open_state(store_dir)
    before = head(state)[0]
    out = tmp_path / "encounters.csv"
    result = invoke("events", "--store", store_dir, "--type", "encounter", "--out", out)
    assert result.exit_code == 0, result.output
    assert invoke("info", "--store", store_dir, "--quarantine").exit_code == 0
    read, export = show(state, limit=2)
    assert export.seq == before + 1 and read.seq == before + 2
    assert (export.action, export.resource, export.client) == ("data.export", "cli:events",
                                                               "cli")
    assert export.actor.startswith("local") and export.params["type"] == ["encounter"]
    assert export.params["rows"] == sum(1 for _ in out.open()) - 1  # the file's data rows
    assert (read.action, read.resource, read.params) == ("data.read", "cli:info",
                                                         {"quarantine": True})
    checked = verify(state)
    assert checked.ok and checked.checkpoint.seq == read.seq  # checkpointed after the read
    state.close()


def test_a_store_without_a_state_gets_none(tmp_path, monkeypatch):
    monkeypatch.delenv("SEAWATCH_DB", raising=False)
    Store(tmp_path / "plain")
    assert invoke("info", "--store", tmp_path / "plain").exit_code == 0
    assert not (tmp_path / "plain" / "state.db").exists()
    # a state elsewhere (SEAWATCH_DB) is the store's state: its reads are recorded there
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    state = open_state(url)
    assert invoke("info", "--store", tmp_path / "plain",
                  env={"SEAWATCH_DB": url}).exit_code == 0
    (entry,) = show(state)
    assert (entry.action, entry.resource) == ("data.read", "cli:info")
    assert not (tmp_path / "plain" / "state.db").exists()
    state.close()


def _init(store: Path) -> None:
    assert invoke("init-state", "--store", store, "--host-agency", "ECU-NAVY").exit_code == 0
    for name in ("A1", "A2", "A3", "A4", "A5"):
        assert invoke("agency", "add", name, "--store", store).exit_code == 0


def test_verify_catches_a_cut_tail_with_the_head_moved_back(tmp_path):
    store = tmp_path / "store"
    _init(store)
    engine = sa.create_engine(f"sqlite:///{store / 'state.db'}")
    with engine.begin() as conn:  # cut entries 5-6 and move the head back: a consistent log
        conn.execute(sa.text("DELETE FROM audit_log WHERE seq > 4"))
        conn.execute(sa.text("UPDATE audit_head SET seq = 4, hash = (SELECT hash FROM "
                             "audit_log WHERE seq = 4)"))
    engine.dispose()
    assert invoke("audit", "verify", "--store", store, "--no-checkpoints").exit_code == 0
    result = invoke("audit", "verify", "--store", store)
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "TAMPERED" in text and "first bad entry 5" in text
    assert "the log ends at entry 4" in text and "records entry 6" in text


def test_verify_catches_a_recomputed_chain(tmp_path):
    from seawatch.share.audit import _content, entry_hash
    from seawatch.share.models import AuditRow

    store = tmp_path / "store"
    _init(store)
    state = open_state(store)
    with state.write() as s:  # rename A2 in entry 3 and recompute every hash from there
        rows = list(s.scalars(sa.select(AuditRow).order_by(AuditRow.seq)))
        prev = rows[1].hash
        for row in rows[2:]:
            if row.seq == 3:
                row.resource = "agency:EVIL"
            row.prev_hash = prev
            row.hash = prev = entry_hash(prev, _content(
                row.seq, row.ts, row.actor, row.agency, row.action, row.resource, row.params,
                row.status, row.client))
        s.execute(sa.text("UPDATE audit_head SET hash = :h"), {"h": prev})
    state.close()
    assert invoke("audit", "verify", "--store", store, "--no-checkpoints").exit_code == 0
    result = invoke("audit", "verify", "--store", store)
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "entry 3 does not match the signed checkpoint" in text and "after entry 2" in text


def test_verify_reports_checkpoints_and_their_absence(tmp_path):
    store = tmp_path / "store"
    _init(store)
    result = invoke("audit", "verify", "--store", store)
    assert result.exit_code == 0
    assert "signed checkpoints: 6 checked, the newest" in " ".join(result.output.split())
    lines = store / "state-audit-checkpoints.jsonl"
    assert len(lines.read_text().splitlines()) == 6 and (store / "audit.key").is_file()
    copy = tmp_path / "copy"
    shutil.copytree(store, copy)
    lines.unlink()  # deleting the checkpoints is visible, not silent
    result = invoke("audit", "verify", "--store", store)
    assert result.exit_code == 0 and "no signed checkpoint yet" in result.output
    written = invoke("audit", "checkpoint", "--store", store)
    assert written.exit_code == 0 and "checkpoint of entry 6" in written.output
    # the database replaced by a fresh one: its log is shorter than the checkpoints say
    for name in ("state.db", "state.db-wal", "state.db-shm"):
        (copy / name).unlink(missing_ok=True)
    _init(copy)
    invoke("user", "list", "--store", copy)  # 7 entries now, the old checkpoints say 6 ...
    shutil.copy(lines, copy / "state-audit-checkpoints.jsonl")
    with (copy / "state-audit-checkpoints.jsonl").open("a") as handle:
        handle.write((store / "state-audit-checkpoints.jsonl").read_text())
    result = invoke("audit", "verify", "--store", copy)  # ... and of other hashes
    assert result.exit_code == 1
    assert "does not match the signed checkpoint" in " ".join(result.output.split())
