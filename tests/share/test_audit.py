"""The hash-chained audit log: appends, redaction, tamper detection, concurrency, queries."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from seawatch.share.audit import (
    _content,
    canonical_json,
    entry_hash,
    record,
    redact,
    show,
    verify,
)
from seawatch.share.auth import create_token
from seawatch.share.db import State
from seawatch.share.models import GENESIS_HASH, AuditRow
from seawatch.share.roles import Principal
from tests.share.data import HOST, PARTNER, T0, all_text, setup_agencies

VIEWER = Principal(7, "af-viewer", PARTNER, "partner_viewer")


def _fill(state: State, n: int = 8) -> None:
    for k in range(n):
        record(state, "data.read", principal=VIEWER, resource="/api/v1/events",
               params={"bbox": "-92,-2,-88,1", "page": k}, status=200, client="10.0.0.1",
               now=T0 + timedelta(seconds=k))


def _sql(state: State, statement: str, **params: object) -> None:
    with state.write() as s:
        s.execute(sa.text(statement), params)


def _row(state: State, seq: int) -> dict[str, object]:
    with state.read() as s:
        row = s.get(AuditRow, seq)
        assert row is not None
        return {c.name: getattr(row, c.name) for c in AuditRow.__table__.columns}


def test_record_and_chain(state: State) -> None:
    e1 = record(state, "data.read", principal=VIEWER, resource="/api/v1/events",
                params={"type": "encounter"}, status=200, client="10.0.0.1", now=T0)
    e2 = record(state, "grant.create", actor="local:root", resource="grant:1", now=T0)
    assert (e1.seq, e2.seq) == (1, 2)
    assert e1.prev_hash == GENESIS_HASH and e2.prev_hash == e1.hash
    assert (e1.actor, e1.agency, e1.status, e1.params) == (
        "af-viewer", PARTNER, "200", {"type": "encounter"}
    )
    content = _content(1, T0, "af-viewer", PARTNER, "data.read", "/api/v1/events",
                       canonical_json({"type": "encounter"}), "200", "10.0.0.1")
    assert e1.hash == entry_hash(GENESIS_HASH, content)
    result = verify(state)
    assert result.ok and result.entries == 2 and (result.head_seq, result.head_hash) == (2, e2.hash)
    assert verify(state, anchor=(1, e1.hash)).ok
    assert not verify(state, anchor=(1, "f" * 64)).ok


def test_empty_log_verifies(state: State) -> None:
    result = verify(state)
    assert result.ok and result.entries == 0 and result.head_seq == 0


def test_secrets_never_recorded(state: State) -> None:
    setup_agencies(state)
    token = create_token(state, "af-viewer").token
    params = {
        "token": token, "password": "hunter2hunter2", "Authorization": f"Bearer {token}",
        "Cookie": "seawatch_session=sessionvalue42", "X-CSRF-Token": "csrfvalue", "nested": {
            "api_token": token, "list": [{"new_password": "pw-in-list"}]},
        "q": f"free text with {token} inside", "bbox": "-92,-2,-88,1",
    }
    entry = record(state, "data.read", principal=VIEWER, params=params, now=T0)
    text = all_text(state)
    for secret in (token, token[3:], "hunter2hunter2", "csrfvalue", "pw-in-list", "sessionvalue42"):
        assert secret not in text
    assert entry.params["bbox"] == "-92,-2,-88,1"
    assert entry.params["Authorization"] == "[redacted]"
    assert redact({"Session_ID": "x"}) == {"Session_ID": "[redacted]"}


@pytest.mark.parametrize(
    ("tamper", "first_bad", "words"),
    [
        ("edit", 3, "edited"),
        ("edit_rehashed", 4, "does not link"),
        ("delete", 3, "missing"),
        ("delete_range", 3, "entries 3..5 are missing"),
        ("delete_last", 8, "deleted"),
        ("insert", 3, "entry 3"),
        ("append", 9, "behind seawatch's back"),
        ("reorder", 3, "entry 3"),
        ("renumber_after_delete", 3, "entry 3"),
        ("head", 9, "head"),
    ],
)
def test_tampering_is_caught_at_the_first_bad_entry(
    state: State, tamper: str, first_bad: int, words: str
) -> None:
    _fill(state)
    assert verify(state).ok
    if tamper == "edit":
        _sql(state, "UPDATE audit_log SET status = '403' WHERE seq = 3")
    elif tamper == "edit_rehashed":  # forger recomputes the edited entry's own hash
        row = _row(state, 3)
        content = _content(3, row["ts"], row["actor"], row["agency"], row["action"],  # type: ignore[arg-type]
                           row["resource"], '{"bbox":"everything"}', row["status"],  # type: ignore[arg-type]
                           row["client"])  # type: ignore[arg-type]
        _sql(state, "UPDATE audit_log SET params = :p, hash = :h WHERE seq = 3",
             p='{"bbox":"everything"}', h=entry_hash(str(row["prev_hash"]), content))
    elif tamper == "delete":
        _sql(state, "DELETE FROM audit_log WHERE seq = 3")
    elif tamper == "delete_range":
        _sql(state, "DELETE FROM audit_log WHERE seq BETWEEN 3 AND 5")
    elif tamper == "delete_last":
        _sql(state, "DELETE FROM audit_log WHERE seq = 8")
    elif tamper == "insert":  # make room at 3 and slip in an entry
        _sql(state, "UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 3")
        _sql(state, "UPDATE audit_log SET seq = seq - 999 WHERE seq >= 1000")
        prev = _row(state, 2)["hash"]
        _sql(state, "INSERT INTO audit_log (seq, ts, actor, agency, action, resource, params, "
             "status, client, prev_hash, hash) VALUES (3, :ts, 'ghost', :ag, 'data.read', "
             "'/api/v1/positions', '{}', '200', '10.6.6.6', :prev, :h)",
             ts=T0, ag=HOST, prev=prev, h="ab" * 32)
    elif tamper == "append":  # a perfect new entry, but the head was not moved
        last = _row(state, 8)
        content = _content(9, T0, "ghost", HOST, "data.read", "/x", "{}", "200", None)
        _sql(state, "INSERT INTO audit_log (seq, ts, actor, agency, action, resource, params, "
             "status, client, prev_hash, hash) VALUES (9, :ts, 'ghost', :ag, 'data.read', "
             "'/x', '{}', '200', NULL, :prev, :h)",
             ts=T0, ag=HOST, prev=last["hash"], h=entry_hash(str(last["hash"]), content))
    elif tamper == "reorder":  # swap entries 3 and 5
        _sql(state, "UPDATE audit_log SET seq = 1003 WHERE seq = 3")
        _sql(state, "UPDATE audit_log SET seq = 3 WHERE seq = 5")
        _sql(state, "UPDATE audit_log SET seq = 5 WHERE seq = 1003")
    elif tamper == "renumber_after_delete":  # delete 3 and close the gap
        _sql(state, "DELETE FROM audit_log WHERE seq = 3")
        _sql(state, "UPDATE audit_log SET seq = seq + 1000 WHERE seq > 3")
        _sql(state, "UPDATE audit_log SET seq = seq - 1001 WHERE seq > 1000")
        _sql(state, "UPDATE audit_head SET seq = 7")
    elif tamper == "head":
        _sql(state, "UPDATE audit_head SET hash = :h", h="cd" * 32)
    result = verify(state)
    assert not result.ok and not bool(result)
    assert result.first_bad_seq == first_bad, result.problem
    assert words in (result.problem or ""), result.problem


def _hammer(url: str, worker: int, n: int, errors: list[BaseException]) -> None:
    state = State(url)  # one engine per thread, like separate API processes
    try:
        for k in range(n):
            record(state, "data.read", actor=f"w{worker}", resource=f"/r/{k}")
    except BaseException as exc:  # pragma: no cover - reported below
        errors.append(exc)
    finally:
        state.close()


def test_concurrent_appends_keep_one_chain(state: State) -> None:
    workers, each = 6, 15
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=_hammer, args=(state.url, w, each, errors))
        for w in range(workers)
    ]
    shared = [threading.Thread(target=_fill, args=(state, 5)) for _ in range(2)]  # one State
    for t in threads + shared:
        t.start()
    for t in threads + shared:
        t.join()
    assert errors == []
    result = verify(state)
    assert result.ok, result.problem
    assert result.entries == workers * each + 10 == result.head_seq
    entries = show(state, limit=None, newest_first=False)
    assert [e.seq for e in entries] == list(range(1, result.entries + 1))


def test_show_filters(state: State) -> None:
    _fill(state, 3)
    record(state, "grant.create", actor="local:root", resource="grant:1",
           now=T0 + timedelta(hours=1))
    record(state, "grant.revoke", actor="navy-admin", agency=HOST, resource="grant:1",
           now=T0 + timedelta(hours=2))
    assert [e.seq for e in show(state)] == [5, 4, 3, 2, 1]
    assert [e.seq for e in show(state, limit=2)] == [5, 4]
    assert [e.seq for e in show(state, user="af-viewer")] == [3, 2, 1]
    assert [e.seq for e in show(state, agency=HOST)] == [5]
    assert [e.seq for e in show(state, action="grant.*")] == [5, 4]
    assert [e.seq for e in show(state, action="grant.create")] == [4]
    assert [e.seq for e in show(state, since=T0 + timedelta(seconds=1),
                                until=T0 + timedelta(hours=2))] == [4, 3, 2]
    assert show(state, action="data_read") == []  # '_' is not a wildcard
