"""``seawatch alerts``: the watch's alerts and their rules (:mod:`seawatch.share.alerts`).

``seawatch alerts list|show|ack|assign|close|reopen|handover`` and ``seawatch alerts rule
add|list|remove``. As the other commands of the state database
(:mod:`seawatch.cli.share`) they take ``--store DIR`` and ``--db URL`` (``SEAWATCH_DB``), run
as the local operator on the host agency's alerts, and record every step and every listing
in the audit log (actor ``local:<os user>``). ``seawatch detect`` raises the alerts of its
events (:func:`raise_for_store`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from seawatch.cli.common import DEFAULT_STORE, Command, err, new_app
from seawatch.cli.share import (
    DbOpt,
    StoreOpt,
    _fmt,
    _open,
    _table,
    out,
    record_change,
    record_read,
)
from seawatch.cli.tables import print_table
from seawatch.share.roles import ALERT_ACK, ALERT_ASSIGN, ALERT_CLOSE, ALERT_RULE, READ
from seawatch.units import parse_when

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.share.alerts import Alert

alerts_app = new_app(help="Alerts (one per rule and event) and the watch's workflow.")
rule_app = new_app(help="Alert rules: which events raise an alert.")
alerts_app.add_typer(rule_app, name="rule")


def _split(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def _alert_line(a: Alert) -> str:
    vessels = str(a.mmsi) + (f"+{a.other_mmsi}" if a.other_mmsi is not None else "")
    who = f", assigned to {a.assigned_to}" if a.assigned_to else ""
    watch = f", watch {a.watch}" if a.watch else ""
    return (f"alert {a.id} ({a.rule}): {a.event_type} {vessels} at {_fmt(a.event_start)}, "
            f"{a.state}{who}{watch}")


# --- alerts -------------------------------------------------------------------------------


@alerts_app.command("list", cls=Command)
def alerts_list(
    store: StoreOpt = DEFAULT_STORE,
    db: DbOpt = None,
    state_: Annotated[
        str | None, typer.Option("--state", help="States, comma-separated: new, "
                                 "acknowledged, assigned, closed (default: all).")
    ] = None,
    open_: Annotated[bool, typer.Option("--open", help="Only alerts not closed.")] = False,
    rule: Annotated[str | None, typer.Option(help="Rule id or name.")] = None,
    type_: Annotated[str | None, typer.Option("--type", help="Event types, comma-separated.")]
    = None,
    assigned: Annotated[str | None, typer.Option(help="Assigned to this user.")] = None,
    watch: Annotated[str | None, typer.Option(help="On this watch.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Events ending at or after this (ISO 8601 or 24h ago).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many rows.")] = 100,
) -> None:
    """List alerts, newest event first."""
    from seawatch.share.alerts import OPEN_STATES, alert_page

    states = list(OPEN_STATES) if open_ else _split(state_) or None
    start = None if since is None else parse_when(since, "--since", past=True)
    state = _open(store, db)
    total, rows = alert_page(state, None, limit=limit, states=states, rule=rule,
                             types=_split(type_) or None, assigned_to=assigned, watch=watch,
                             start=start)
    record_read(state, READ, "alerts", {"state": states, "rule": rule, "type": type_,
                                        "assigned": assigned, "watch": watch, "since": since,
                                        "rows": total})
    err.print(f"{total:,} alert{'s' * (total != 1)}"
              + (f" (first {limit:,} shown)" if total > limit else ""), highlight=False,
              markup=False)
    table = _table("id", "rule", "type", "vessels", "start", "end", "zone", "score", "state",
                   "assigned", "watch")
    for a in rows:
        table.add_row(
            str(a.id), a.rule, a.event_type,
            str(a.mmsi) + (f" {a.other_mmsi}" if a.other_mmsi is not None else ""),
            _fmt(a.event_start), _fmt(a.event_end), a.zone or "",
            "" if a.score is None else f"{a.score:.2f}", a.state, a.assigned_to or "",
            a.watch or "",
        )
    print_table(table, out)


@alerts_app.command("show", cls=Command)
def alerts_show(
    alert_id: Annotated[int, typer.Argument(help="Alert id (see `alerts list`).")],
    store: StoreOpt = DEFAULT_STORE,
    db: DbOpt = None,
) -> None:
    """Show one alert: its event, rule and life cycle."""
    from seawatch.share.alerts import get_alert

    state = _open(store, db)
    a = get_alert(state, alert_id)
    record_read(state, READ, f"alert:{a.id}", {})
    for key, value in a.as_json().items():
        out.print(f"{key:16} {'-' if value is None or value == '' else value}", highlight=False)


def _step(store: Path, db: str | None, action: str, alert_id: int, verb: str,
          run: Any, **extra: Any) -> None:
    from seawatch.share.alerts import get_alert, transition_params

    state = _open(store, db)
    before = get_alert(state, alert_id).state
    after = run(state)
    record_change(state, action, f"alert:{after.id}",
                  transition_params(before, after, verb=verb, **extra))
    out.print(_alert_line(after), highlight=False)


@alerts_app.command("ack", cls=Command)
def alerts_ack(
    alert_id: Annotated[int, typer.Argument(help="Alert id.")],
    store: StoreOpt = DEFAULT_STORE,
    db: DbOpt = None,
) -> None:
    """Acknowledge a new alert."""
    from seawatch.share.alerts import acknowledge

    _step(store, db, ALERT_ACK, alert_id, "acknowledge",
          lambda state: acknowledge(state, alert_id))


@alerts_app.command("assign", cls=Command)
def alerts_assign(
    alert_id: Annotated[int, typer.Argument(help="Alert id.")],
    user: Annotated[str, typer.Option("--to", help="User to assign it to.")],
    store: StoreOpt = DEFAULT_STORE,
    db: DbOpt = None,
    watch: Annotated[str | None, typer.Option(help="Watch (shift) it is on.")] = None,
) -> None:
    """Assign an open alert to a user (of the alert's agency, who may act on alerts)."""
    from seawatch.share.alerts import assign

    _step(store, db, ALERT_ASSIGN, alert_id, "assign",
          lambda state: assign(state, alert_id, user, watch=watch), user=user, watch=watch)


@alerts_app.command("close", cls=Command)
def alerts_close(
    alert_id: Annotated[int, typer.Argument(help="Alert id.")],
    reason: Annotated[str, typer.Option(help="resolved, false_positive, legitimate_activity, "
                                        "duplicate, referred or no_action.")],
    store: StoreOpt = DEFAULT_STORE,
    db: DbOpt = None,
    note: Annotated[str, typer.Option(help="What was found or done.")] = "",
) -> None:
    """Close an open alert with a reason and a note."""
    from seawatch.share.alerts import close

    _step(store, db, ALERT_CLOSE, alert_id, "close",
          lambda state: close(state, alert_id, reason, note), reason=reason, note=note)


@alerts_app.command("reopen", cls=Command)
def alerts_reopen(
    alert_id: Annotated[int, typer.Argument(help="Alert id.")],
    store: StoreOpt = DEFAULT_STORE,
    db: DbOpt = None,
) -> None:
    """Reopen a closed alert."""
    from seawatch.share.alerts import reopen

    _step(store, db, ALERT_CLOSE, alert_id, "reopen", lambda state: reopen(state, alert_id))


@alerts_app.command("handover", cls=Command)
def alerts_handover(
    store: StoreOpt = DEFAULT_STORE,
    db: DbOpt = None,
    from_watch: Annotated[str | None, typer.Option(help="Open alerts of this watch.")] = None,
    from_user: Annotated[str | None, typer.Option(help="Open alerts assigned to this user.")]
    = None,
    to_watch: Annotated[str | None, typer.Option(help="Watch taking them over.")] = None,
    to_user: Annotated[str | None, typer.Option(help="User taking them over.")] = None,
    note: Annotated[str, typer.Option(help="Hand-over note (what the next watch should know).")]
    = "",
) -> None:
    """Hand the open alerts of a watch or user over to another watch or user."""
    from seawatch.share.alerts import handover

    state = _open(store, db)
    moved = handover(state, from_watch=from_watch, from_user=from_user, to_watch=to_watch,
                     to_user=to_user, note=note)
    record_change(state, ALERT_ASSIGN, "alerts:handover", {
        "verb": "handover", "from_watch": from_watch, "from_user": from_user,
        "to_watch": moved.to_watch, "to_user": moved.to_user, "note": note,
        "alerts": list(moved.alert_ids)})
    n = len(moved.alert_ids)
    target = " and ".join(x for x in (moved.to_watch and f"watch {moved.to_watch}",
                                       moved.to_user and f"user {moved.to_user}") if x)
    out.print(f"handed {n} open alert{'s' * (n != 1)} over to {target}", highlight=False)


# --- rules --------------------------------------------------------------------------------


@rule_app.command("add", cls=Command)
def rule_add(
    name: Annotated[str, typer.Argument(help="Rule name (unique).")],
    store: StoreOpt = DEFAULT_STORE,
    db: DbOpt = None,
    types: Annotated[str | None, typer.Option(help="Event types, comma-separated (default: "
                                              "all).")] = None,
    zones: Annotated[str | None, typer.Option(help="Zone names, comma-separated (the zones "
                                              "detection ran with; default: anywhere).")]
    = None,
    mmsi: Annotated[str | None, typer.Option(help="Watchlist: MMSIs, comma-separated "
                                             "(either vessel of an event).")] = None,
    min_score: Annotated[float | None, typer.Option(min=0.0, max=1.0,
                                                    help="Minimum event score.")] = None,
    vessel_types: Annotated[str | None, typer.Option(help="Ship type codes (30) or labels "
                                                     "(Fishing), comma-separated.")] = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Create it disabled.")] = False,
    note: Annotated[str, typer.Option(help="What the rule is for.")] = "",
    watchlist: Annotated[str | None, typer.Option(
        help="A shared watchlist (id or name, `seawatch watchlist list`): either vessel of "
        "an event on it.")] = None,
) -> None:
    """Add an alert rule of the host agency."""
    from seawatch.share.alerts import add_rule

    state = _open(store, db)
    listed = None
    if watchlist is not None:
        from seawatch.share.watchlists import get_watchlist

        listed = get_watchlist(state, watchlist).id
    r = add_rule(state, name, event_types=_split(types), zones=_split(zones),
                 mmsis=_split(mmsi), watchlist_id=listed, min_score=min_score,
                 vessel_types=_split(vessel_types), enabled=not disabled, note=note)
    record_change(state, ALERT_RULE, f"alert-rule:{r.id}", {"verb": "add", **_rule_params(r)})
    out.print(f"alert rule {r.id} {r.name!r} of {r.agency}: {_criteria(r)}", highlight=False)


def _rule_params(r: Any) -> dict[str, Any]:
    data = r.as_json()
    return {k: data[k] for k in ("name", "event_types", "zones", "mmsis", "watchlist_id",
                                 "min_score", "vessel_types", "enabled")}


def _criteria(r: Any) -> str:
    parts = [
        f"types {','.join(r.event_types)}" if r.event_types else "any type",
        f"zones {','.join(r.zones)}" if r.zones else "",
        f"{len(r.mmsis)} watched vessel{'s' * (len(r.mmsis) != 1)}" if r.mmsis else "",
        f"watchlist {r.watchlist_id}" if r.watchlist_id is not None else "",
        f"score >= {r.min_score:g}" if r.min_score is not None else "",
        f"vessel types {','.join(str(t) for t in r.vessel_types)}" if r.vessel_types else "",
        "" if r.enabled else "disabled",
    ]
    return ", ".join(p for p in parts if p)


@rule_app.command("list", cls=Command)
def rule_list(store: StoreOpt = DEFAULT_STORE, db: DbOpt = None) -> None:
    """List alert rules."""
    from seawatch.share.alerts import list_rules

    state = _open(store, db)
    rows = list_rules(state)
    record_read(state, READ, "alert-rules", {"rows": len(rows)})
    table = _table("id", "name", "agency", "criteria", "enabled", "updated", "by")
    for r in rows:
        table.add_row(str(r.id), r.name, r.agency, _criteria(r), "yes" if r.enabled else "no",
                      _fmt(r.updated_at), r.updated_by)
    print_table(table, out)


@rule_app.command("remove", cls=Command)
def rule_remove(
    rule: Annotated[str, typer.Argument(help="Rule id or name.")],
    store: StoreOpt = DEFAULT_STORE,
    db: DbOpt = None,
) -> None:
    """Remove an alert rule and its alerts."""
    from seawatch.share.alerts import get_rule, remove_rule

    state = _open(store, db)
    r = get_rule(state, rule)
    gone = remove_rule(state, r.id)
    record_change(state, ALERT_RULE, f"alert-rule:{r.id}",
                  {"verb": "remove", "name": r.name, "alerts_removed": gone})
    out.print(f"removed alert rule {r.id} {r.name!r} and its {gone:,} alert"
              f"{'s' * (gone != 1)}", highlight=False)
