"""Bounds on what enters the state: every text and time a user gives is checked before it
reaches the database, on SQLite and PostgreSQL alike (PostgreSQL refuses NUL characters and
values wider than their columns with errors of its own, which became 500s)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from seawatch.share.accounts import add_agency, add_user, init_state
from seawatch.share.audit import record, show, verify
from seawatch.share.auth import authenticate_password, create_token
from seawatch.share.bounds import (
    EARLIEST_TIME,
    ID_CHARS,
    LABEL_CHARS,
    LATEST_TIME,
    TEXT_CHARS,
    bounded_text,
    bounded_time,
)
from seawatch.share.db import State
from seawatch.share.errors import AuthenticationError, InvalidInput, NotFound
from seawatch.share.grants import create_grant, list_grants
from seawatch.share.markings import set_marking
from seawatch.share.passwords import MAX_PASSWORD_LENGTH, check_password_strength
from tests.share.data import HOST, PARTNER, T0, setup_agencies

FAR = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
"""The last instant ``datetime`` holds: a microsecond more overflows."""


def test_bounded_text_and_time() -> None:
    assert bounded_text("a\tb\nc", "note", 10, multiline=True) == "a\tb\nc"
    for bad, words in (("x" * 11, "11 characters long; at most 10"),
                       ("a\nb", "control character (U+000A"),
                       ("a\x00b", "U+0000"), ("\x1b[31m", "U+001B")):
        with pytest.raises(InvalidInput, match=re.escape(words)):
            bounded_text(bad, "name", 10)
    with pytest.raises(InvalidInput, match="must be text"):
        bounded_text(7, "name", 10)  # type: ignore[arg-type]
    assert bounded_time(EARLIEST_TIME, "t") == EARLIEST_TIME
    for bad in (LATEST_TIME, FAR, datetime(1, 1, 1), EARLIEST_TIME - timedelta(seconds=1)):
        with pytest.raises(InvalidInput, match="give a real time"):
            bounded_time(bad, "t")


def test_grants_refuse_unbounded_times_and_text(state: State) -> None:
    setup_agencies(state)
    base = {"grantor": HOST, "grantee": PARTNER, "expires_at": T0 + timedelta(days=1),
            "now": T0}
    for changes, words in (
        ({"expires_at": FAR}, "grant expiry 9999-12-31T23:59:59Z is after 3000-01-01"),
        ({"data_end": FAR}, "data_end 9999-12-31"),
        ({"data_start": datetime(1, 1, 1, tzinfo=UTC)}, "data_start 1-01-01"),
        ({"note": "n" * (TEXT_CHARS + 1)}, f"note is {TEXT_CHARS + 1} characters"),
        ({"note": "a\x00b"}, "note holds a control character"),
        ({"zone": "z" * (ID_CHARS + 1)}, "zone is 256 characters"),
        ({"zone": "Gal\x00"}, "zone holds a control character"),
        ({"event_types": ["x" * 10_000]}, "unknown event type"),
    ):
        with pytest.raises(InvalidInput, match=words) as caught:
            create_grant(state, **{**base, **changes})
        assert len(str(caught.value)) < 400  # one readable line, not the value back
    for name in ("PARTNER\x00", "P" * 100):
        with pytest.raises(NotFound, match="unknown agency"):
            create_grant(state, **{**base, "grantee": name})
        with pytest.raises(NotFound, match="unknown agency"):
            list_grants(state, agency=name)
    grant = create_grant(state, **{**base, "note": "joint patrol\nsecond line\tok",
                                   "data_end": datetime(2999, 12, 31, tzinfo=UTC)})
    assert grant.note == "joint patrol\nsecond line\tok"


def test_accounts_tokens_and_markings_refuse_unbounded_text(state: State) -> None:
    with pytest.raises(InvalidInput, match="description is"):
        init_state(state, HOST, description="d" * (TEXT_CHARS + 1))
    setup_agencies(state)
    with pytest.raises(InvalidInput, match="description holds a control character"):
        add_agency(state, "NEW", description="a\x00")
    with pytest.raises(InvalidInput, match="bad agency name 'x") as caught:
        add_agency(state, "x" * 100_000)
    assert len(str(caught.value)) < 300
    with pytest.raises(InvalidInput, match="token name is 129 characters"):
        create_token(state, "navy-admin", name="t" * (LABEL_CHARS + 1))
    with pytest.raises(InvalidInput, match="token expiry 9999"):
        create_token(state, "navy-admin", expires_at=FAR)
    with pytest.raises(NotFound, match="unknown user"):
        create_token(state, "navy\x00admin")
    with pytest.raises(InvalidInput, match="event id is 256 characters"):
        set_marking(state, "event", "e" * (ID_CHARS + 1), "RED")
    with pytest.raises(InvalidInput, match="event id holds a control character"):
        set_marking(state, "event", "ev\x00", "RED")
    with pytest.raises(NotFound, match="unknown agency"):
        set_marking(state, "event", "ev-1", "RED", releasable_to=["PARTNER\x00"])
    with pytest.raises(InvalidInput, match="password too long"):
        check_password_strength("p" * (MAX_PASSWORD_LENGTH + 1))
    with pytest.raises(InvalidInput, match="password too long"):
        add_user(state, "long-pw", agency=HOST, role="analyst",
                 password="p" * (MAX_PASSWORD_LENGTH + 1))


def test_a_login_with_an_impossible_username_is_a_failure_not_an_error(state: State) -> None:
    setup_agencies(state)
    for name in ("navy\x00admin", "n" * 5000):
        with pytest.raises(AuthenticationError, match="invalid credentials"):
            authenticate_password(state, name, "whatever password", client="10.0.0.5")
    with pytest.raises(AuthenticationError):
        authenticate_password(state, "navy-admin", "p" * 100_000, client="10.0.0.6")


def test_the_audit_records_and_filters_any_text(state: State) -> None:
    entry = record(state, "x" * 100, actor="a\x00" * 100, agency="g" * 100,
                   resource="/api/v1/x\x00y" + "r" * 5000, status="s" * 50,
                   client="c" * 300, params={"q": "\x00"})
    assert entry.actor == ("a\ufffd" * 64)[:128] and len(entry.agency) == 64
    assert (len(entry.action), len(entry.status), len(entry.client)) == (64, 32, 255)
    assert entry.resource.startswith("/api/v1/x\ufffdy") and len(entry.resource) == 1000
    assert verify(state, checkpoints=False).ok and show(state)[0].params == {"q": "\x00"}
    for name in ("user", "agency", "action"):
        with pytest.raises(InvalidInput, match=f"{name} holds a control character"):
            show(state, **{name: "a\x00"})
        with pytest.raises(InvalidInput, match=f"{name} is"):
            show(state, **{name: "a" * 200})
