"""``seawatch`` commands of the sharing layer: init-state, agency, user, token, grant, marking
and audit.

Every command takes ``--store DIR`` (the state is ``DIR/state.db``) and ``--db URL``, which
defaults to the ``SEAWATCH_DB`` environment variable (a PostgreSQL server) and wins over the
store. Commands run as the local operator, who may do everything (whoever can run them can
read the database anyway); every change they make and every listing they show is recorded in
the audit log with the operating-system user as actor (``local:<user>``,
:func:`record_change`, :func:`record_read`), and the new head is then checkpointed outside
the database (:mod:`seawatch.share.checkpoints`). The store commands that read data
(``events``, ``info``) record their reads too when the store has a state
(:func:`record_store_read`). Errors are one line on stderr (exit 2,
:mod:`seawatch.cli.common`); ``audit verify`` exits 1 on a broken chain or checkpoint.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from seawatch.cli.common import DEFAULT_STORE, Command, err, new_app, read_zones_file
from seawatch.cli.tables import print_table
from seawatch.errors import InvalidValue
from seawatch.share.roles import (
    AGENCY_LIST,
    AUDIT_READ,
    GRANT_LIST,
    TOKEN_MANAGE,
    USER_LIST,
)
from seawatch.units import parse_when

MARKING_LIST = "marking.list"
"""Audit action of ``seawatch marking list`` (the API has no such listing, so POLICY has no
action for it)."""

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.share.db import State

out = Console(soft_wrap=True, markup=False, width=None if Console().is_terminal else 200)
"""Results (no markup: names, descriptions and parameters print as they are)."""

StoreOpt = Annotated[
    Path,
    typer.Option("--store", "-s", metavar="DIR",
                 help="Store directory (the state is DIR/state.db)."),
]
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db", envvar="SEAWATCH_DB", show_envvar=True, metavar="URL",
        help="State database URL (e.g. postgresql+psycopg://user:pw@host/db); wins over --store.",
    ),
]


def _fmt(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else "-"


def _open(store: Path, db: str | None, *, create: bool = False) -> State:
    from seawatch.share.db import STATE_FILENAME, open_state
    from seawatch.share.errors import NotInitialised

    if db:
        state = open_state(db)
        if store.is_dir():  # where a PostgreSQL state keeps its audit checkpoints
            state.home = store.absolute()
        return state
    if not create and not (store / STATE_FILENAME).is_file():
        raise NotInitialised(
            f"no state at {store / STATE_FILENAME}: run `seawatch init-state --store {store} "
            "--host-agency NAME` first (or set SEAWATCH_DB)"
        )
    return open_state(store)


def record_change(state: State, action: str, resource: str, params: dict[str, Any]) -> None:
    """Append a change made from the command line to the audit log (actor ``local:<user>``,
    client ``cli``), then checkpoint the new head (:func:`checkpoint`)."""
    from seawatch.share.audit import local_actor, record

    record(state, action, actor=local_actor(), resource=resource, params=params, status="ok",
           client="cli")
    checkpoint(state)


def record_read(state: State, action: str, resource: str, params: dict[str, Any]) -> None:
    """Append a read made from the command line (a listing, an export) to the audit log, as
    the API records its reads, before the data is shown; then checkpoint."""
    record_change(state, action, resource, params)


def record_store_read(store: Path, action: str, resource: str, params: dict[str, Any]) -> None:
    """:func:`record_read` for a command that reads a store's data (``events``, ``info``),
    when the store has a state (``SEAWATCH_DB``, or ``state.db`` in the store); a store
    without one gets none made and nothing recorded."""
    from seawatch.share.location import has_state

    if not has_state(store):  # the database layer (SQLAlchemy) is not even loaded
        return
    from seawatch.share.db import open_state

    state = open_state(store, create_store=False)
    try:
        record_read(state, action, resource, params)
    finally:
        state.close()


def checkpoint(state: State) -> None:
    """Checkpoint the audit head outside the database; a failure is a warning (the change
    is made and recorded; ``seawatch audit verify`` will say what is wrong)."""
    from seawatch.share.checkpoints import write_checkpoint

    try:
        write_checkpoint(state, by="cli")
    except (OSError, InvalidValue) as exc:
        err.print(f"warning: audit checkpoint not written: {exc}", highlight=False,
                  markup=False)


def _table(*columns: str) -> Table:
    table = Table(*columns, show_lines=False, header_style="bold")
    return table


# --- init-state ---------------------------------------------------------------------------


def init_state_cmd(
    host_agency: Annotated[
        str, typer.Option("--host-agency", help="The host agency (owner of the store's data).")
    ],
    store: StoreOpt = DEFAULT_STORE,
    db: DbOpt = None,
    description: Annotated[str, typer.Option(help="Description of the host agency.")] = "",
    default_marking: Annotated[
        str | None,
        typer.Option(help="Default TLP marking of unmarked events, alerts and zones "
                     "(AMBER for a new state; unchanged when omitted)."),
    ] = None,
) -> None:
    """Create (or upgrade) the operational state and set the host agency (idempotent)."""
    from seawatch.share.accounts import init_state
    from seawatch.share.markings import default_marking as current_default

    state = _open(store, db, create=True)
    host = init_state(state, host_agency, description=description,
                      default_marking=default_marking)
    level = current_default(state).label
    record_change(state, "state.init", f"agency:{host.name}",
            {"host_agency": host.name, "default_marking": level})
    out.print(f"state ready at {state!r}: host agency {host.name}, default marking "
              f"{level}", highlight=False)


# --- agency -------------------------------------------------------------------------------

agency_app = new_app(help="Agencies (owners of data, holders of users and grants).")


@agency_app.command("add", cls=Command)
def agency_add(
    name: Annotated[str, typer.Argument(help="Agency name, e.g. ECU-CG.")],
    store: StoreOpt = DEFAULT_STORE,
    db: DbOpt = None,
    host: Annotated[bool, typer.Option("--host", help="Make it the store's host agency.")] = False,
    description: Annotated[str, typer.Option(help="What the agency is.")] = "",
) -> None:
    """Add an agency."""
    from seawatch.share.accounts import add_agency

    state = _open(store, db, create=host)
    agency = add_agency(state, name, description=description, host=host)
    record_change(state, "agency.manage", f"agency:{agency.name}",
            {"name": agency.name, "host": host, "description": description})
    out.print(f"added agency {agency.name}" + (" (host)" if host else ""), highlight=False)


@agency_app.command("list", cls=Command)
def agency_list(store: StoreOpt = DEFAULT_STORE, db: DbOpt = None) -> None:
    """List agencies."""
    from seawatch.share.accounts import list_agencies

    state = _open(store, db)
    rows = list_agencies(state)
    record_read(state, AGENCY_LIST, "agencies", {"rows": len(rows)})
    table = _table("name", "host", "description", "created")
    for a in rows:
        table.add_row(a.name, "yes" if a.is_host else "", a.description, _fmt(a.created_at))
    print_table(table, out)


# --- user ---------------------------------------------------------------------------------

user_app = new_app(help="Users (one agency and one role each).")


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise InvalidValue("no password on standard input")
        return password
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@user_app.command("add", cls=Command)
def user_add(
    username: Annotated[str, typer.Argument(help="Login name (lower case).")],
    agency: Annotated[str, typer.Option("--agency", help="The user's agency.")],
    role: Annotated[
        str, typer.Option("--role", help="admin, analyst, watch_officer or partner_viewer.")
    ],
    store: StoreOpt = DEFAULT_STORE,
    db: DbOpt = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="No password: the user signs in with tokens.")
    ] = False,
) -> None:
    """Add a user (asks for the password twice unless --password-stdin or --no-password)."""
    from seawatch.share.accounts import add_user
    from seawatch.share.roles import ROLES

    if role not in ROLES:
        raise InvalidValue(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    if password_stdin and no_password:
        raise InvalidValue("give --password-stdin or --no-password, not both")
    state = _open(store, db)
    password = None if no_password else _read_password(password_stdin)
    user = add_user(state, username, agency=agency, role=role, password=password)
    record_change(state, "user.manage", f"user:{user.username}",
            {"username": user.username, "agency": user.agency, "role": user.role,
             "sign_in": "password" if password is not None else "tokens only"})
    out.print(f"added user {user.username} ({user.role}, {user.agency})", highlight=False)


@user_app.command("list", cls=Command)
def user_list(
    store: StoreOpt = DEFAULT_STORE,
    db: DbOpt = None,
    agency: Annotated[str | None, typer.Option(help="Only this agency's users.")] = None,
) -> None:
    """List users."""
    from seawatch.share.accounts import list_users

    state = _open(store, db)
    rows = list_users(state, agency=agency)
    record_read(state, USER_LIST, "users", {"agency": agency, "rows": len(rows)})
    table = _table("username", "agency", "role", "password", "disabled", "created")
    for u in rows:
        table.add_row(u.username, u.agency, u.role, "yes" if u.has_password else "no",
                      "yes" if u.disabled else "", _fmt(u.created_at))
    print_table(table, out)


def _set_disabled(username: str, store: Path, db: str | None, disabled: bool) -> None:
    from seawatch.share.accounts import set_disabled

    state = _open(store, db)
    user = set_disabled(state, username, disabled)
    record_change(state, "user.manage", f"user:{user.username}", {"disabled": disabled})
    out.print(f"{'disabled' if disabled else 'enabled'} user {user.username}",
              highlight=False)


@user_app.command("disable", cls=Command)
def user_disable(
    username: str, store: StoreOpt = DEFAULT_STORE, db: DbOpt = None
) -> None:
    """Disable a user: its tokens and sessions stop working at once."""
    _set_disabled(username, store, db, True)


@user_app.command("enable", cls=Command)
def user_enable(
    username: str, store: StoreOpt = DEFAULT_STORE, db: DbOpt = None
) -> None:
    """Enable a disabled user again."""
    _set_disabled(username, store, db, False)


@user_app.command("passwd", cls=Command)
def user_passwd(
    username: str,
    store: StoreOpt = DEFAULT_STORE,
    db: DbOpt = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Set a user's password."""
    from seawatch.share.accounts import set_password

    state = _open(store, db)
    set_password(state, username, _read_password(password_stdin))
    record_change(state, "user.manage", f"user:{username.lower()}", {"change": "new password"})
    out.print(f"password set for {username.lower()}", highlight=False)


@user_app.command("unlock", cls=Command)
def user_unlock(
    username: Annotated[str, typer.Argument(help="User to unlock.")],
    store: StoreOpt = DEFAULT_STORE,
    db: DbOpt = None,
    address: Annotated[
        str | None, typer.Option(help="Also unlock this client address.")
    ] = None,
) -> None:
    """Clear a user's (and optionally an address's) failed-login lock."""
    from seawatch.share.auth import clear_failures

    state = _open(store, db)
    clear_failures(state, username=username, client=address)
    record_change(state, "user.manage", f"user:{username.lower()}",
            {"unlock": True, "address": address})
    out.print(f"unlocked {username.lower()}" + (f" and {address}" if address else ""),
              highlight=False)


# --- token --------------------------------------------------------------------------------

token_app = new_app(help="API tokens (shown once, stored only as a hash).")


@token_app.command("create", cls=Command)
def token_create(
    user: Annotated[str, typer.Option("--user", help="The token's user.")],
    store: StoreOpt = DEFAULT_STORE,
    db: DbOpt = None,
    expires: Annotated[
        str | None,
        typer.Option(help="Expiry: a duration (30d, 12h) or a time (ISO 8601); none: never."),
    ] = None,
    name: Annotated[str, typer.Option(help="A label for the token.")] = "",
) -> None:
    """Create an API token and print it ONCE on stdout (notes go to stderr)."""
    from seawatch.share.auth import create_token

    expires_at = parse_when(expires, "--expires") if expires else None
    state = _open(store, db)
    new = create_token(state, user, name=name, expires_at=expires_at)
    record_change(state, "token.manage", f"token:{new.id}",
            {"user": new.username, "expires_at": _fmt(new.expires_at), "name": name})
    err.print(f"token {new.id} for {new.username}, expires {_fmt(new.expires_at)}; "
              "it is shown only now: store it safely", highlight=False, markup=False)
    print(new.token)


@token_app.command("revoke", cls=Command)
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="Token id (see `token list`).")],
    store: StoreOpt = DEFAULT_STORE,
    db: DbOpt = None,
) -> None:
    """Revoke a token at once."""
    from seawatch.share.auth import revoke_token

    state = _open(store, db)
    info = revoke_token(state, token_id)
    record_change(state, "token.manage", f"token:{info.id}", {"revoke": True})
    out.print(f"revoked token {info.id} of {info.username} ({_fmt(info.revoked_at)})",
              highlight=False)


@token_app.command("list", cls=Command)
def token_list(
    store: StoreOpt = DEFAULT_STORE,
    db: DbOpt = None,
    user: Annotated[str | None, typer.Option(help="Only this user's tokens.")] = None,
) -> None:
    """List tokens (never the tokens themselves)."""
    from seawatch.share.auth import list_tokens

    state = _open(store, db)
    rows = list_tokens(state, user)
    record_read(state, TOKEN_MANAGE, "tokens", {"user": user, "rows": len(rows)})
    table = _table("id", "user", "agency", "name", "status", "created", "expires", "last used")
    for t in rows:
        table.add_row(str(t.id), t.username, t.agency, t.name, t.status(), _fmt(t.created_at),
                      _fmt(t.expires_at), _fmt(t.last_used_at))
    print_table(table, out)


# --- grant --------------------------------------------------------------------------------

grant_app = new_app(help="Grants: scoped, time-limited read access for another agency.")


@grant_app.command("create", cls=Command)
def grant_create(
    grantor: Annotated[str, typer.Option("--from", help="Owning agency giving access.")],
    grantee: Annotated[str, typer.Option("--to", help="Agency receiving access.")],
    until: Annotated[
        str, typer.Option("--until", help="Expiry: a time (ISO 8601) or a duration (24h, 7d).")
    ],
    store: StoreOpt = DEFAULT_STORE,
    db: DbOpt = None,
    zone: Annotated[
        str | None, typer.Option(help="Area: a zone name ('Galápagos Marine Reserve').")
    ] = None,
    bbox: Annotated[
        str | None, typer.Option(help="Area: min_lon,min_lat,max_lon,max_lat.")
    ] = None,
    zones_file: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="Zones file (GeoJSON, ...) to look --zone up in "
                     "(default: the shipped Ecuador zones)."),
    ] = None,
    types: Annotated[
        str | None, typer.Option(help="Event types, comma-separated (default: all).")
    ] = None,
    max_marking: Annotated[
        str, typer.Option(help="Highest TLP marking released: CLEAR, GREEN, AMBER, "
                          "AMBER+STRICT or RED.")
    ] = "AMBER",
    positions: Annotated[
        bool, typer.Option("--positions", help="Also release positions (tracks) in scope.")
    ] = False,
    data_start: Annotated[
        str | None, typer.Option(help="Data window start (ISO 8601 or a duration ago: -7d).")
    ] = None,
    data_end: Annotated[str | None, typer.Option(help="Data window end (ISO 8601).")] = None,
    note: Annotated[str, typer.Option(help="Why (kept with the grant).")] = "",
) -> None:
    """Grant an agency read access to a scope until a time."""
    from seawatch.share.grants import create_grant

    now = datetime.now(UTC)
    expires = parse_when(until, "--until", now)
    start = None if data_start is None else parse_when(data_start, "--data-start", now)
    end = None if data_end is None else parse_when(data_end, "--data-end", now)
    zone_list = None if zones_file is None else read_zones_file(zones_file)
    type_list = [t for t in (types or "").split(",") if t.strip()]
    state = _open(store, db)
    grant = create_grant(
        state, grantor=grantor, grantee=grantee, expires_at=expires,
        max_marking=max_marking, zone=zone, bbox=bbox, zones=zone_list,
        event_types=type_list, include_positions=positions, data_start=start,
        data_end=end, note=note, now=now,
    )
    record_change(state, "grant.create", f"grant:{grant.id}", _grant_params(grant))
    out.print(
        f"grant {grant.id}: {grant.grantor} → {grant.grantee}, {grant.area_text()}, "
        f"types {','.join(grant.event_types) if grant.event_types else 'all'}, "
        f"up to TLP:{grant.max_marking.label}, until {_fmt(grant.expires_at)}",
        highlight=False,
    )


def _grant_params(grant: Any) -> dict[str, Any]:
    return {
        "from": grant.grantor, "to": grant.grantee, "area": grant.area_text(),
        "types": list(grant.event_types or []), "max_marking": grant.max_marking.label,
        "positions": grant.include_positions, "data_start": _fmt(grant.data_start),
        "data_end": _fmt(grant.data_end), "until": _fmt(grant.expires_at),
    }


@grant_app.command("revoke", cls=Command)
def grant_revoke(
    grant_id: Annotated[int, typer.Argument(help="Grant id (see `grant list`).")],
    store: StoreOpt = DEFAULT_STORE,
    db: DbOpt = None,
) -> None:
    """Revoke a grant at once."""
    from seawatch.share.grants import revoke_grant

    state = _open(store, db)
    grant = revoke_grant(state, grant_id)
    record_change(state, "grant.revoke", f"grant:{grant.id}", {"revoke": True})
    out.print(f"revoked grant {grant.id} ({grant.grantor} → {grant.grantee}) at "
              f"{_fmt(grant.revoked_at)}", highlight=False)


@grant_app.command("list", cls=Command)
def grant_list(
    store: StoreOpt = DEFAULT_STORE,
    db: DbOpt = None,
    agency: Annotated[
        str | None, typer.Option(help="Only grants this agency gave or received.")
    ] = None,
    live: Annotated[bool, typer.Option("--live", help="Only grants live now.")] = False,
) -> None:
    """List grants with their status."""
    from seawatch.share.grants import list_grants

    now = datetime.now(UTC)
    state = _open(store, db)
    rows = list_grants(state, agency=agency, live_at=now if live else None)
    record_read(state, GRANT_LIST, "grants", {"agency": agency, "live": live,
                                              "rows": len(rows)})
    table = _table("id", "from", "to", "area", "types", "max", "positions", "data window",
                   "until", "status", "created by")
    for g in rows:
        window = f"{_fmt(g.data_start)} .. {_fmt(g.data_end)}"
        table.add_row(
            str(g.id), g.grantor, g.grantee, g.area_text(),
            ",".join(g.event_types) if g.event_types else "all", g.max_marking.label,
            "yes" if g.include_positions else "", window, _fmt(g.expires_at), g.status(now),
            g.created_by + (f" (revoked by {g.revoked_by})" if g.revoked_by else ""),
        )
    print_table(table, out)


# --- marking ------------------------------------------------------------------------------

marking_app = new_app(help="TLP 2.0 markings of events, alerts, zones and exports.")


@marking_app.command("set", cls=Command)
def marking_set(
    level: Annotated[str, typer.Option("--level", help="CLEAR, GREEN, AMBER, AMBER+STRICT, RED.")],
    store: StoreOpt = DEFAULT_STORE,
    db: DbOpt = None,
    event: Annotated[str | None, typer.Option(help="Event id.")] = None,
    alert: Annotated[str | None, typer.Option(help="Alert id.")] = None,
    zone: Annotated[str | None, typer.Option(help="Zone name.")] = None,
    export: Annotated[str | None, typer.Option(help="Export id.")] = None,
    releasable_to: Annotated[
        str | None, typer.Option(help="Agencies it may be released to, comma-separated.")
    ] = None,
    owner: Annotated[str | None, typer.Option(help="Owning agency (default: unchanged).")] = None,
) -> None:
    """Set the marking of one object."""
    from seawatch.share.markings import set_marking

    chosen = [(k, v) for k, v in
              (("event", event), ("alert", alert), ("zone", zone), ("export", export))
              if v is not None]
    if len(chosen) != 1:
        raise InvalidValue("give exactly one of --event, --alert, --zone, --export")
    kind, object_id = chosen[0]
    names = [n for n in (releasable_to or "").split(",") if n.strip()]
    state = _open(store, db)
    marking = set_marking(state, kind, object_id, level, releasable_to=names, owner=owner)
    record_change(state, "marking.set", f"{kind}:{object_id}",
            {"level": marking.level.label, "releasable_to": list(marking.releasable_to),
             "owner": marking.owner})
    out.print(f"{kind} {object_id}: TLP:{marking.level.label}, owner {marking.owner}"
              + (f", releasable to {', '.join(marking.releasable_to)}"
                 if marking.releasable_to else ""), highlight=False)


@marking_app.command("list", cls=Command)
def marking_list(
    store: StoreOpt = DEFAULT_STORE,
    db: DbOpt = None,
    kind: Annotated[str | None, typer.Option(help="event, alert, zone or export.")] = None,
) -> None:
    """List explicit markings (unmarked objects have the store's default)."""
    from seawatch.share.markings import default_marking, list_markings

    state = _open(store, db)
    rows = list_markings(state, kind)
    default = default_marking(state)
    record_read(state, MARKING_LIST, "markings", {"kind": kind, "rows": len(rows)})
    err.print(f"default marking: TLP:{default.label}", highlight=False, markup=False)
    table = _table("kind", "id", "level", "releasable to", "owner", "set by", "set at")
    for k, oid, m in rows:
        table.add_row(k, oid, m.level.label, ", ".join(m.releasable_to), m.owner, m.set_by,
                      _fmt(m.set_at))
    print_table(table, out)


# --- audit --------------------------------------------------------------------------------

audit_app = new_app(help="The hash-chained audit log.")


@audit_app.command("verify", cls=Command)
def audit_verify(
    store: StoreOpt = DEFAULT_STORE,
    db: DbOpt = None,
    anchor: Annotated[
        str | None,
        typer.Option(help="SEQ:HASH printed by an earlier verify: that entry must be unchanged."),
    ] = None,
    checkpoints: Annotated[
        bool,
        typer.Option("--checkpoints/--no-checkpoints",
                     help="Also check the signed checkpoints of the head kept outside the "
                     "database (see docs/sharing.md)."),
    ] = True,
) -> None:
    """Verify the audit chain and its signed checkpoints; exit 1 naming the first bad entry
    when it was tampered with."""
    from seawatch.share.audit import verify

    pair = None
    if anchor is not None:
        seq, _, digest = anchor.partition(":")
        if not seq.strip().isdigit() or len(digest.strip()) != 64:
            raise InvalidValue(f"bad --anchor {anchor[:80]!r}: give SEQ:HASH (64 hex digits)")
        pair = (int(seq), digest.strip().lower())
    result = verify(_open(store, db), anchor=pair, checkpoints=checkpoints)
    if result.ok:
        out.print(f"audit log intact: {result.entries} entries; head "
                  f"{result.head_seq}:{result.head_hash}", highlight=False)
        if not checkpoints:
            return
        if result.checkpoint is not None:
            out.print(f"signed checkpoints: {result.checkpoints} checked, the newest of "
                      f"{_fmt(result.checkpoint.at)} at entry {result.checkpoint.seq} "
                      f"({result.checkpoint_path})", highlight=False)
        elif result.checkpoint_path is not None:
            err.print(f"note: no signed checkpoint yet in {result.checkpoint_path}: a "
                      "consistent rewrite of the whole log would not show (`seawatch audit "
                      "checkpoint` writes one)", highlight=False, markup=False)
        else:
            err.print("note: this state keeps no signed checkpoints (a PostgreSQL state "
                      "without a store directory): set SEAWATCH_AUDIT_CHECKPOINTS to a file",
                      highlight=False, markup=False)
        return
    where = f"first bad entry {result.first_bad_seq}: " if result.first_bad_seq else ""
    err.print(f"[bold red]audit log TAMPERED:[/] {where}{escape(result.problem or '')}",
              highlight=False)
    raise typer.Exit(1)


@audit_app.command("checkpoint", cls=Command)
def audit_checkpoint(store: StoreOpt = DEFAULT_STORE, db: DbOpt = None) -> None:
    """Checkpoint the audit head now: a signed line outside the database that `audit
    verify` checks (serve and every command that writes do it on their own)."""
    from seawatch.share.checkpoints import write_checkpoint

    state = _open(store, db)
    written = write_checkpoint(state, by="cli")
    if written is None:
        raise InvalidValue("nothing to checkpoint: the audit log is empty, or this state "
                           "keeps no checkpoints (set SEAWATCH_AUDIT_CHECKPOINTS)")
    out.print(f"checkpoint of entry {written.seq} ({written.hash}) in {written.path}",
              highlight=False)


@audit_app.command("show", cls=Command)
def audit_show(
    store: StoreOpt = DEFAULT_STORE,
    db: DbOpt = None,
    user: Annotated[str | None, typer.Option(help="Only this actor.")] = None,
    agency: Annotated[str | None, typer.Option(help="Only this agency.")] = None,
    action: Annotated[
        str | None, typer.Option(help="Only this action (a trailing * matches a prefix).")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="From this time (ISO 8601, or a duration ago: 24h).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Before this time (ISO 8601).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
) -> None:
    """Show audit entries, newest first."""
    from seawatch.share.audit import canonical_json, show

    now = datetime.now(UTC)
    since_at = None
    if since is not None:
        since_at = parse_when(since, "--since", now, past=True)
    until_at = parse_when(until, "--until", now) if until is not None else None
    state = _open(store, db)
    rows = show(state, user=user, agency=agency, action=action, since=since_at,
                until=until_at, limit=limit)
    record_read(state, AUDIT_READ, "audit", {
        "user": user, "agency": agency, "action": action, "since": _fmt(since_at),
        "until": _fmt(until_at), "limit": limit, "rows": len(rows)})
    table = _table("seq", "time", "user", "agency", "action", "resource", "params", "status",
                   "client")
    for e in rows:
        table.add_row(str(e.seq), _fmt(e.ts), e.actor or "-", e.agency or "-", e.action,
                      e.resource, canonical_json(e.params), e.status, e.client or "-")
    print_table(table, out)


# --- wiring -------------------------------------------------------------------------------

COMMANDS: dict[str, Callable[..., None]] = {"init-state": init_state_cmd}
"""Top-level commands :func:`register` adds."""
GROUPS: dict[str, typer.Typer] = {
    "agency": agency_app,
    "user": user_app,
    "token": token_app,
    "grant": grant_app,
    "marking": marking_app,
    "audit": audit_app,
}
"""Command groups :func:`register` adds."""


def register(app: typer.Typer) -> None:
    """Add the sharing commands to ``app`` (``seawatch init-state``, ``seawatch grant ...``)."""
    for name, function in COMMANDS.items():
        app.command(name, cls=Command)(function)
    for name, group in GROUPS.items():
        app.add_typer(group, name=name)


def make_app() -> typer.Typer:
    """A stand-alone application with just these commands."""
    app = new_app(name="seawatch")
    register(app)
    return app
