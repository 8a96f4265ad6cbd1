"""The sharing commands through typer's CliRunner, on SQLite (--store) and PostgreSQL
(SEAWATCH_DB)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from seawatch.cli.share import make_app, register
from seawatch.share.audit import show
from seawatch.share.db import open_state
from seawatch.share.tokens import authenticate_token, hash_secret
from tests.share.data import all_text

PASSWORD = "a long enough password"


class Cli:
    """Runs commands against one state: ``--store`` for SQLite, ``SEAWATCH_DB`` for PG."""

    def __init__(self, store: Path, url: str | None) -> None:
        self.store, self.url = store, url
        self.runner = CliRunner()
        self.app = make_app()

    def __call__(self, *args: str, input: str | None = None, code: int = 0) -> object:
        env = {"SEAWATCH_DB": self.url, "SEAWATCH_AUDIT_CHECKPOINTS": str(
            self.store.parent / "pg-audit-checkpoints.jsonl")} if self.url else {
            "SEAWATCH_DB": ""}
        result = self.runner.invoke(self.app, [*args, "--store", str(self.store)], input=input,
                                    env=env)
        assert result.exit_code == code, (args, result.output, result.exception)
        assert "Traceback" not in result.output
        return result

    def state_url(self) -> str:
        return self.url or f"sqlite:///{self.store / 'state.db'}"


@pytest.fixture
def cli(empty_url: str, tmp_path: Path) -> Cli:
    store = tmp_path / "store"
    return Cli(store, None if empty_url.startswith("sqlite") else empty_url)


def test_register_adds_everything() -> None:
    import typer

    app = typer.Typer()
    register(app)
    names = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    assert names == {"init-state", "agency", "user", "token", "grant", "marking", "audit"}


def test_example_session(cli: Cli) -> None:
    """The session of docs/sharing.md: a partner gets AMBER encounters in the reserve."""
    out = cli("init-state", "--host-agency", "ECU-NAVY", "--description", "Armada").stdout
    assert "host agency ECU-NAVY" in out
    cli("init-state", "--host-agency", "ECU-NAVY")  # idempotent
    cli("agency", "add", "PARTNER-AF", "--description", "partner air force")
    cli("agency", "add", "ECU-CG")
    listing = cli("agency", "list").stdout
    assert "PARTNER-AF" in listing and "ECU-CG" in listing
    cli("user", "add", "af-liaison", "--agency", "PARTNER-AF", "--role", "partner_viewer",
        "--password-stdin", input=PASSWORD + "\n")
    cli("user", "add", "navy-admin", "--agency", "ECU-NAVY", "--role", "admin",
        input=f"{PASSWORD}\n{PASSWORD}\n")  # interactive: asked twice
    users = cli("user", "list").stdout
    assert "af-liaison" in users and "partner_viewer" in users
    result = cli("token", "create", "--user", "af-liaison", "--expires", "30d")
    token = result.stdout.strip()
    assert re.fullmatch(r"sw_[A-Za-z0-9_-]{43}", token)
    assert result.output.count(token) == 1 and token not in result.stderr
    grant = cli("grant", "create", "--from", "ECU-NAVY", "--to", "PARTNER-AF", "--zone",
                "Galápagos Marine Reserve", "--types", "encounter", "--max-marking", "AMBER",
                "--until", "24h").stdout
    assert "grant 1:" in grant and "Galápagos Marine Reserve" in grant and "AMBER" in grant
    assert "active" in cli("grant", "list").stdout
    cli("marking", "set", "--event", "ev-42", "--level", "RED", "--releasable-to", "PARTNER-AF")
    assert "ev-42" in cli("marking", "list").stdout
    # the database holds the token's hash, never the token or the password
    state = open_state(cli.state_url())
    text = all_text(state)
    assert token not in text and PASSWORD not in text and hash_secret(token) in text
    assert authenticate_token(state, token).username == "af-liaison"
    cli("token", "revoke", "1")
    with pytest.raises(Exception, match="revoked"):
        authenticate_token(state, token)
    cli("grant", "revoke", "1")
    assert "revoked" in cli("grant", "list").stdout
    # every change and every listing is on the audit log; the chain and its checkpoints
    # (one after each command, beside the state) verify
    shown = cli("audit", "show", "--action", "grant.*").stdout
    assert "grant.create" in shown and "grant.revoke" in shown and "grant.list" in shown
    reads = {e.action: e for e in show(state, limit=None) if e.resource in (
        "agencies", "users", "grants", "markings", "audit")}
    assert set(reads) == {"agency.list", "user.list", "grant.list", "marking.list",
                          "audit.read"}
    assert reads["audit.read"].params["action"] == "grant.*"
    assert reads["grant.list"].client == "cli" and reads["grant.list"].actor.startswith("local")
    verified = cli("audit", "verify").stdout
    assert "audit log intact: 17 entries" in verified  # 11 changes and 6 listings
    assert "signed checkpoints: 17 checked, the newest" in " ".join(verified.split())
    state.close()


def test_errors_are_one_line(cli: Cli) -> None:
    if cli.url is None:  # SQLite: commands other than init-state need an existing state
        assert "init-state" in cli("agency", "list", code=2).stderr
    cli("init-state", "--host-agency", "ECU-NAVY")
    cli("agency", "add", "FAE")
    assert "exists already" in cli("agency", "add", "FAE", code=2).stderr
    assert "unknown agency 'NOPE'" in cli(
        "user", "add", "x", "--agency", "NOPE", "--role", "admin", "--no-password", code=2
    ).stderr
    cli("user", "add", "bob", "--agency", "FAE", "--role", "analyst", "--no-password")
    assert "exists already" in cli(
        "user", "add", "bob", "--agency", "FAE", "--role", "analyst", "--no-password", code=2
    ).stderr
    assert "unknown role" in cli(
        "user", "add", "y", "--agency", "FAE", "--role", "boss", "--no-password", code=2
    ).stderr
    assert "too short" in cli(
        "user", "add", "z", "--agency", "FAE", "--role", "analyst", "--password-stdin",
        input="short\n", code=2,
    ).stderr
    assert "is not a time" in cli("grant", "create", "--from", "ECU-NAVY", "--to", "FAE",
                             "--until", "tomorrow-ish", code=2).stderr
    assert "not in the future" in cli("grant", "create", "--from", "ECU-NAVY", "--to", "FAE",
                                      "--until", "2001-01-01", code=2).stderr
    assert "unknown zone" in cli("grant", "create", "--from", "ECU-NAVY", "--to", "FAE",
                                 "--until", "1d", "--zone", "Atlantis", code=2).stderr
    assert "unknown grant id 7" in cli("grant", "revoke", "7", code=2).stderr
    assert "unknown token id 3" in cli("token", "revoke", "3", code=2).stderr
    assert "unknown marking" in cli("marking", "set", "--event", "e", "--level", "WHITE",
                                    code=2).stderr
    assert "exactly one" in cli("marking", "set", "--level", "RED", code=2).stderr
    assert "unknown user" in cli("token", "create", "--user", "ghost", code=2).stderr
    # bounds on every duration, time and text: one line each, never a traceback
    grant = ("grant", "create", "--from", "ECU-NAVY", "--to", "FAE")
    for args, words in (
        ((*grant, "--until", "9999999999d"), "--until '9999999999d' is too long a duration"),
        ((*grant, "--until", "9999-12-31T23:59:59Z"), "grant expiry 9999-12-31T23:59:59Z"),
        ((*grant, "--until", "1d", "--data-start", "-9999999999d"), "--data-start"),
        ((*grant, "--until", "1d", "--data-end", "9999-12-31"), "data_end 9999-12-31"),
        ((*grant, "--until", "1d", "--note", "n" * 5000), "note is 5000 characters long"),
        ((*grant, "--until", "1d", "--zone", "z" * 300), "zone is 300 characters long"),
        (("token", "create", "--user", "bob", "--expires", "9999999999d"), "too long"),
        (("token", "create", "--user", "bob", "--expires", "2000000d"), "token expiry"),
        (("token", "create", "--user", "bob", "--name", "t" * 200), "token name is 200"),
        (("agency", "add", "NEW", "--description", "d" * 3000), "description is 3000"),
        (("agency", "add", "N" * 5000), "bad agency name"),
        (("marking", "set", "--event", "e" * 300, "--level", "RED"), "event id is 300"),
    ):
        stderr = cli(*args, code=2).stderr
        assert words in stderr, (args, stderr)
        assert len(stderr.strip().splitlines()) == 1 and len(stderr) < 400, stderr


def test_audit_verify_names_first_bad_entry(cli: Cli) -> None:
    cli("init-state", "--host-agency", "ECU-NAVY")
    for name in ("A1", "A2", "A3", "A4"):
        cli("agency", "add", name)
    assert "5 entries" in cli("audit", "verify").stdout
    engine = sa.create_engine(cli.state_url())
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_log SET resource = 'agency:EVIL' WHERE seq = 3"))
    engine.dispose()
    result = cli("audit", "verify", code=1)
    assert "first bad entry 3" in result.stderr and "edited" in result.stderr
    shown = cli("audit", "show", "--limit", "2", "--action", "agency.manage").stdout
    assert "agency:A4" in shown and "agency:A3" in shown and "agency:A2" not in shown
