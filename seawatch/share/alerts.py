"""Alert rules, alerts and the watch's workflow.

An **alert rule** of an agency says which events deserve the watch's attention: event types,
zones (names of the zones the detection ran with: an event's ``zone``), a watchlist of MMSIs
(either vessel of an event), a minimum score and vessel types (ITU ship-and-cargo codes, e.g.
``30``, or the labels of the store's vessel table, ``ship_type_label``, e.g. ``Fishing``).
An empty criterion matches every event. :func:`match_events` matches an events table against
rules in a few vectorised Polars expressions per rule (no Python loop over events); it is a
pure function, called by ``seawatch detect`` (through :func:`raise_alerts`) and usable by an
incremental detector on each batch of new or updated events.

An **alert** is one (rule, event) pair: raising alerts again for the same events (detection
run again, an event that grew) updates the alert's copy of the event and never adds a second
alert. Events are keyed by their ``event_id``, which :mod:`seawatch.detect.events` derives
from what the event is (type, vessel(s), zone, start): the same event found by another run of
``seawatch detect`` has the same id, and an event that grows keeps its start and so its id.
The alert keeps a copy of the event's fields (type, vessels, start, end, position, zone,
score), refreshed at every raise, so it outlives a run that no longer finds its event.

The life cycle::

    new --acknowledge--> acknowledged --assign--> assigned --close--> closed
     |                                  ^  (new may be assigned at once; an assigned alert
     +----------- assign ---------------+   may be reassigned; any open alert may be closed)
    closed --reopen--> acknowledged (assigned when it still has an assignee)

A transition from a state that does not allow it is a :class:`Conflict` (HTTP 409); a close
reason outside :data:`CLOSE_REASONS` is an :class:`InvalidInput` (400). A re-raise never
changes the state: a closed alert whose event grew stays closed (its copy is updated).
:func:`handover` hands the open alerts of a watch (a named shift) or of a user to another
watch or user, with a note.

Who sees and acts: an alert belongs to its rule's agency, which acts on it (acknowledge,
assign, close, reopen); anyone else acting on an alert it can see gets
:class:`Forbidden`. Reading goes through the events' own policy
(:meth:`seawatch.share.policy.Access.filter_events`): a caller sees an alert exactly when it
may see the alert's event (the event's marking, its owner and the caller's live grants),
so an event's marking marks its alerts too.

Changes are recorded in the audit log by their callers, as every other change of the
sharing layer: the API's audit middleware (one entry per request, with the alert and its
states before and after) and the command line (:func:`seawatch.cli.share.record_change`).

Examples
--------
>>> from datetime import datetime, UTC
>>> import polars as pl
>>> events = pl.DataFrame({"event_id": ["a", "b"], "type": ["gap", "encounter"],
...     "mmsi": [1, 2], "other_mmsi": [None, 3], "zone": [None, "Reserve"],
...     "score": [0.9, 0.4]})
>>> rule = Rule(id=1, name="r", agency="A", event_types=("encounter",), zones=(),
...             mmsis=(), watchlist_id=None, min_score=None, vessel_types=(), enabled=True)
>>> match_events(events, [rule]).rows()
[(1, 'b')]
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from seawatch.share.bounds import bounded_text
from seawatch.share.db import utcnow
from seawatch.share.errors import Conflict, Forbidden, InvalidInput, NotFound
from seawatch.share.models import ALERT_STATES, Agency, AlertRow, AlertRuleRow, User
from seawatch.share.roles import ADMIN, ANALYST, WATCH_OFFICER, Principal, changed_by

if TYPE_CHECKING:  # pragma: no cover
    from pathlib import Path

    import polars as pl
    from sqlalchemy.orm import Session

    from seawatch.share.db import State
    from seawatch.share.policy import Access
    from seawatch.store import Store

NEW, ACKNOWLEDGED, ASSIGNED, CLOSED = ALERT_STATES
OPEN_STATES: tuple[str, ...] = (NEW, ACKNOWLEDGED, ASSIGNED)
"""States of an alert not closed yet (what a hand-over moves)."""
CLOSE_REASONS: tuple[str, ...] = (
    "resolved", "false_positive", "legitimate_activity", "duplicate", "referred", "no_action",
)
"""Why an alert was closed: the situation was dealt with; the detection was wrong; the
activity was real but lawful; another alert covers it; handed to another authority; nothing
to do (e.g. outside the watch's remit)."""
RULE_NAME_CHARS = 128
"""Longest rule name."""
NOTE_CHARS = 2000
"""Longest note (rule, close, hand-over)."""
WATCH_CHARS = 64
"""Longest watch (shift) name."""
LIST_MAX = 10_000
"""Most entries of one rule criterion (types, zones, MMSIs, vessel types)."""
ACTING_ROLES = frozenset({ADMIN, ANALYST, WATCH_OFFICER})
"""Roles an alert may be assigned to (those who may act on alerts)."""
RAISE_LOCK = 0x5EA_A1E27
"""PostgreSQL advisory lock key serialising :func:`raise_alerts` (a batch run and the live
service raising at once must not both insert the same new pair)."""
BY_EVENT_MAX = 2_000
"""Up to this many events, :func:`raise_alerts` reads the stored alerts of those events
(through the unique index on rule and event); with more, all the alerts of the rules."""
EVENT_COLUMNS: tuple[str, ...] = (
    "event_id", "type", "mmsi", "other_mmsi", "start", "end", "lat", "lon", "zone", "score",
)
"""Event columns an alert keeps (:data:`seawatch.schema.EVENTS` without ``details``)."""


# --- rules --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """An alert rule; an empty tuple (or None) criterion matches every event."""

    id: int
    name: str
    agency: str
    event_types: tuple[str, ...]
    zones: tuple[str, ...]
    mmsis: tuple[int, ...]
    watchlist_id: int | None
    min_score: float | None
    vessel_types: tuple[int | str, ...]
    enabled: bool
    note: str = ""
    created_at: datetime | None = None
    created_by: str = ""
    updated_at: datetime | None = None
    updated_by: str = ""

    def as_json(self) -> dict[str, Any]:
        """The rule as the API and the audit log write it."""
        from seawatch.units import format_time

        return {
            "id": self.id, "name": self.name, "agency": self.agency,
            "event_types": list(self.event_types), "zones": list(self.zones),
            "mmsis": list(self.mmsis), "watchlist_id": self.watchlist_id,
            "min_score": self.min_score, "vessel_types": list(self.vessel_types),
            "enabled": self.enabled, "note": self.note,
            "created_at": format_time(self.created_at), "created_by": self.created_by,
            "updated_at": format_time(self.updated_at), "updated_by": self.updated_by,
        }


def _loads(text: str | None) -> list[Any]:
    return list(json.loads(text)) if text else []


def _rule(row: AlertRuleRow) -> Rule:
    return Rule(
        id=row.id, name=row.name, agency=row.agency.name,
        event_types=tuple(_loads(row.event_types)), zones=tuple(_loads(row.zones)),
        mmsis=tuple(int(m) for m in _loads(row.mmsis)), watchlist_id=row.watchlist_id,
        min_score=row.min_score, vessel_types=tuple(_loads(row.vessel_types)),
        enabled=row.enabled, note=row.note, created_at=row.created_at,
        created_by=row.created_by, updated_at=row.updated_at, updated_by=row.updated_by,
    )


def _list(values: Iterable[Any] | None, name: str) -> list[Any]:
    out = list(dict.fromkeys(values or ()))
    if len(out) > LIST_MAX:
        raise InvalidInput(f"{name} has {len(out):,} entries; at most {LIST_MAX:,}")
    return out


def _check_types(types: Iterable[str] | None) -> list[str]:
    from seawatch.schema import EVENT_TYPES

    out = _list(types, "event types")
    bad = [t for t in out if t not in EVENT_TYPES]
    if bad:
        raise InvalidInput(f"unknown event type {bad[0]!r}; one of {', '.join(EVENT_TYPES)}")
    return out


def _check_mmsis(mmsis: Iterable[int | str] | None) -> list[int]:
    out = []
    for m in _list(mmsis, "watchlist"):
        try:
            value = int(str(m).strip())
        except ValueError:
            raise InvalidInput(f"watchlist entry {str(m)[:40]!r} is not an MMSI") from None
        if not 0 < value < 10**9:
            raise InvalidInput(f"watchlist entry {value} is not a 9-digit MMSI")
        out.append(value)
    return list(dict.fromkeys(out))


def _check_vessel_types(types: Iterable[int | str] | None) -> list[int | str]:
    out: list[int | str] = []
    for t in _list(types, "vessel types"):
        text = str(t).strip()
        if text.isdigit():
            code = int(text)
            if not 0 <= code <= 255:
                raise InvalidInput(f"vessel type {code} is not a ship type code (0-255)")
            out.append(code)
        else:
            out.append(bounded_text(text, "vessel type", 64))
    return list(dict.fromkeys(out))


def _check_zones(zones: Iterable[str] | None) -> list[str]:
    return [bounded_text(str(z), "zone", 255) for z in _list(zones, "zones")]


def _dumps(values: list[Any]) -> str | None:
    return json.dumps(values, ensure_ascii=False) if values else None


def _agency_row(s: Session, principal: Principal | None, agency: str | None) -> Agency:
    from seawatch.share.accounts import find_agency

    if principal is not None:
        if agency is not None and agency != principal.agency:
            raise Forbidden("alert rules are made for the caller's own agency")
        return find_agency(s, principal.agency)
    if agency is not None:
        return find_agency(s, agency)
    host = s.scalar(sa.select(Agency).where(Agency.is_host.is_(True)))
    if host is None:
        from seawatch.share.errors import NotInitialised

        raise NotInitialised("the state has no host agency: run `seawatch init-state` first")
    return host


def add_rule(
    state: State,
    name: str,
    *,
    event_types: Iterable[str] | None = None,
    zones: Iterable[str] | None = None,
    mmsis: Iterable[int | str] | None = None,
    watchlist_id: int | None = None,
    min_score: float | None = None,
    vessel_types: Iterable[int | str] | None = None,
    enabled: bool = True,
    note: str = "",
    agency: str | None = None,
    principal: Principal | None = None,
    now: datetime | None = None,
) -> Rule:
    """Create an alert rule.

    Parameters
    ----------
    name
        Unique name (at most :data:`RULE_NAME_CHARS` characters).
    event_types, zones, mmsis, vessel_types
        The criteria (see the module); empty or None: any.
    watchlist_id
        A shared watchlist (:mod:`seawatch.share.watchlists`): events of the vessels it
        matched (its ``watchlist_hit`` events) or its entries name by MMSI.
    min_score
        Keep events scoring at least this (0-1); None: any score.
    agency
        Owning agency (default: the principal's, or the host's for the local operator).
    principal
        Who makes it (None: the local operator).

    Raises
    ------
    InvalidInput
        A malformed criterion. Conflict: the name is taken.
    """
    when = utcnow(now)
    name = bounded_text(name.strip(), "rule name", RULE_NAME_CHARS)
    if not name:
        raise InvalidInput("a rule needs a name")
    if min_score is not None and not 0.0 <= float(min_score) <= 1.0:
        raise InvalidInput(f"min_score must lie in [0, 1], not {min_score}")
    by = changed_by(principal)
    with state.write() as s:
        owner = _agency_row(s, principal, agency)
        if s.scalar(sa.select(AlertRuleRow.id).where(AlertRuleRow.name == name)) is not None:
            raise Conflict(f"an alert rule named {name!r} exists already")
        row = AlertRuleRow(
            name=name, agency_id=owner.id, event_types=_dumps(_check_types(event_types)),
            zones=_dumps(_check_zones(zones)), mmsis=_dumps(_check_mmsis(mmsis)),
            watchlist_id=watchlist_id, min_score=min_score,
            vessel_types=_dumps(_check_vessel_types(vessel_types)), enabled=enabled,
            note=bounded_text(note, "note", NOTE_CHARS, multiline=True), created_at=when,
            created_by=by, updated_at=when, updated_by=by,
        )
        s.add(row)
        s.flush()
        s.refresh(row)
        return _rule(row)


def _is_id(text: str) -> bool:
    """Whether a rule reference is an id (digits within a database integer) or a name."""
    return text.isdigit() and len(text) <= 18


def _rule_row(s: Session, ref: int | str, principal: Principal | None) -> AlertRuleRow:
    query = sa.select(AlertRuleRow)
    if isinstance(ref, int) or _is_id(str(ref)):
        row = s.scalar(query.where(AlertRuleRow.id == int(ref)))
    else:
        row = s.scalar(query.where(AlertRuleRow.name == str(ref)))
    foreign = principal is not None and not principal.is_host and \
        row is not None and row.agency.name != principal.agency
    if row is None or foreign:
        raise NotFound(f"no alert rule {str(ref)[:130]!r}")
    return row


def get_rule(state: State, ref: int | str, principal: Principal | None = None) -> Rule:
    """A rule by id or name (a principal of an agency other than the host sees only its
    agency's rules; :func:`update_rule` and :func:`remove_rule` too)."""
    with state.read() as s:
        return _rule(_rule_row(s, ref, principal))


def list_rules(
    state: State, *, agency: str | None = None, enabled: bool | None = None
) -> list[Rule]:
    """The rules (of one agency, when given), by id."""
    query = sa.select(AlertRuleRow).join(Agency).order_by(AlertRuleRow.id)
    if agency is not None:
        query = query.where(Agency.name == agency)
    if enabled is not None:
        query = query.where(AlertRuleRow.enabled.is_(enabled))
    with state.read() as s:
        return [_rule(r) for r in s.scalars(query)]


_UNSET: Any = object()


def update_rule(
    state: State,
    ref: int | str,
    *,
    event_types: Iterable[str] | None = _UNSET,
    zones: Iterable[str] | None = _UNSET,
    mmsis: Iterable[int | str] | None = _UNSET,
    watchlist_id: int | None = _UNSET,
    min_score: float | None = _UNSET,
    vessel_types: Iterable[int | str] | None = _UNSET,
    enabled: bool = _UNSET,
    note: str = _UNSET,
    principal: Principal | None = None,
    now: datetime | None = None,
) -> Rule:
    """Change the given criteria of a rule (the others stay); its alerts stay as they are."""
    with state.write() as s:
        row = _rule_row(s, ref, principal)
        if event_types is not _UNSET:
            row.event_types = _dumps(_check_types(event_types))
        if zones is not _UNSET:
            row.zones = _dumps(_check_zones(zones))
        if mmsis is not _UNSET:
            row.mmsis = _dumps(_check_mmsis(mmsis))
        if watchlist_id is not _UNSET:
            row.watchlist_id = watchlist_id
        if min_score is not _UNSET:
            if min_score is not None and not 0.0 <= float(min_score) <= 1.0:
                raise InvalidInput(f"min_score must lie in [0, 1], not {min_score}")
            row.min_score = min_score
        if vessel_types is not _UNSET:
            row.vessel_types = _dumps(_check_vessel_types(vessel_types))
        if enabled is not _UNSET:
            row.enabled = bool(enabled)
        if note is not _UNSET:
            row.note = bounded_text(note, "note", NOTE_CHARS, multiline=True)
        row.updated_at = utcnow(now)
        row.updated_by = changed_by(principal)
        s.flush()
        return _rule(row)


def remove_rule(state: State, ref: int | str, principal: Principal | None = None) -> int:
    """Remove a rule and its alerts; returns how many alerts went with it."""
    with state.write() as s:
        row = _rule_row(s, ref, principal)
        result = s.execute(sa.delete(AlertRow).where(AlertRow.rule_id == row.id))
        s.delete(row)
        return int(getattr(result, "rowcount", 0) or 0)


# --- matching -----------------------------------------------------------------------------


def vessel_types_of(vessels: pl.DataFrame | None) -> pl.DataFrame | None:
    """``mmsi``, ``ship_type`` (Int64) and ``ship_type_label`` (lower case), one row per
    MMSI: the latest non-null values (``vessels`` may hold several reports per MMSI, in time
    order, e.g. the vessel table; ``Store.latest_identity()`` gives one row per MMSI)."""
    import polars as pl

    if vessels is None:
        return None
    cols = [c for c in ("ship_type", "ship_type_label") if c in vessels.columns]
    frame = vessels.select(
        pl.col("mmsi").cast(pl.Int64),
        (pl.col("ship_type").cast(pl.Int64) if "ship_type" in cols
         else pl.lit(None, dtype=pl.Int64).alias("ship_type")),
        (pl.col("ship_type_label").cast(pl.String).str.to_lowercase()
         if "ship_type_label" in cols else pl.lit(None, dtype=pl.String).alias("ship_type_label")),
    )
    return frame.group_by("mmsi", maintain_order=True).agg(
        pl.col("ship_type").drop_nulls().last(), pl.col("ship_type_label").drop_nulls().last()
    )


def match_events(
    events: pl.DataFrame,
    rules: Sequence[Rule],
    vessels: pl.DataFrame | None = None,
    watchlists: Mapping[int, set[int]] | None = None,
) -> pl.DataFrame:
    """The (rule, event) pairs to alert on: a pure, vectorised function.

    Parameters
    ----------
    events
        Events (:data:`seawatch.schema.EVENTS` columns; ``event_id``, ``type``, ``mmsi``,
        ``other_mmsi``, ``zone``, ``score`` are read).
    rules
        The rules; disabled ones match nothing.
    vessels
        Vessel identities with ``mmsi`` and ``ship_type`` and/or ``ship_type_label`` (the
        store's vessel table or ``Store.latest_identity()``), for rules with vessel types.
        Without it such rules match nothing (a vessel of unknown type is not of the type).
    watchlists
        The MMSIs of the vessels on each watchlist
        (:func:`seawatch.share.watchlists.watchlist_mmsis`), for rules with a
        ``watchlist_id``: either vessel of the event on the list. A rule whose list is
        not in it matches nothing.

    Returns
    -------
    polars.DataFrame
        ``rule_id`` (Int64) and ``event_id`` (String), one row per match, in rule order then
        event order. An event matches a rule when it passes every criterion the rule sets:
        its type among the rule's types, its ``zone`` among its zones, either vessel in its
        watchlist, its score at least the minimum (an event without a score fails a
        minimum), and either vessel's latest ship type code or label among its vessel types.
    """
    import polars as pl

    empty = pl.DataFrame(schema={"rule_id": pl.Int64, "event_id": pl.String})
    active = [r for r in rules if r.enabled]
    if events.height == 0 or not active:
        return empty
    frame = events
    types = vessel_types_of(vessels)
    if any(r.vessel_types for r in active) and types is not None:
        for side in ("mmsi", "other_mmsi"):
            renamed = types.rename({"mmsi": side, "ship_type": f"__code_{side}",
                                    "ship_type_label": f"__label_{side}"})
            frame = frame.join(renamed, on=side, how="left", maintain_order="left")
    parts = []
    for rule in active:
        conds: list[pl.Expr] = []
        if rule.event_types:
            conds.append(pl.col("type").is_in(list(rule.event_types)))
        if rule.zones:
            conds.append(pl.col("zone").is_in(list(rule.zones)))
        if rule.mmsis:
            watch = pl.Series(list(rule.mmsis), dtype=pl.Int64).implode()
            conds.append(pl.col("mmsi").is_in(watch) | pl.col("other_mmsi").is_in(watch))
        if rule.watchlist_id is not None:
            listed = (watchlists or {}).get(rule.watchlist_id, set())
            on_list = pl.Series(sorted(listed), dtype=pl.Int64).implode()
            conds.append(pl.col("mmsi").is_in(on_list) | pl.col("other_mmsi").is_in(on_list))
        if rule.min_score is not None:
            conds.append(pl.col("score") >= float(rule.min_score))
        if rule.vessel_types:
            if types is None:
                continue  # no identities: no vessel is known to be of the type
            codes = [int(t) for t in rule.vessel_types if isinstance(t, int)]
            labels = [str(t).lower() for t in rule.vessel_types if not isinstance(t, int)]
            sides = [pl.col(f"__code_{side}").is_in(codes) | pl.col(f"__label_{side}").is_in(
                labels) for side in ("mmsi", "other_mmsi")]
            conds.append(sides[0].fill_null(False) | sides[1].fill_null(False))
        # (no literal predicate: a rule without criteria keeps the frame as it is)
        kept = frame if not conds else frame.filter(
            pl.all_horizontal([c.fill_null(False) for c in conds]))
        parts.append(kept.select(pl.lit(rule.id, dtype=pl.Int64).alias("rule_id"),
                                 pl.col("event_id")))
    return pl.concat([empty, *parts])


# --- alerts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RaiseResult:
    """What :func:`raise_alerts` did: alerts added, alerts whose event changed, the rest."""

    new: int
    updated: int
    unchanged: int
    new_ids: tuple[int, ...] = ()

    def as_json(self) -> dict[str, int]:
        """Counts for the audit log."""
        return {"new": self.new, "updated": self.updated, "unchanged": self.unchanged}


_SNAPSHOT = {  # alert column -> event column
    "event_type": "type", "mmsi": "mmsi", "other_mmsi": "other_mmsi", "event_start": "start",
    "event_end": "end", "lat": "lat", "lon": "lon", "zone": "zone", "score": "score",
}


def raise_alerts(
    state: State,
    events: pl.DataFrame,
    *,
    rules: Sequence[Rule] | None = None,
    vessels: pl.DataFrame | None = None,
    now: datetime | None = None,
) -> RaiseResult:
    """Raise the alerts of ``events`` against ``rules`` (default: every enabled rule).

    Idempotent: an existing (rule, event) alert gets its copy of the event refreshed when
    the event changed (end, score, position) and keeps its state; nothing is duplicated
    (the pair is unique in the database too). One write transaction; concurrent raises are
    serialised (SQLite's write lock, a PostgreSQL advisory lock: :data:`RAISE_LOCK`).
    """
    import polars as pl

    when = utcnow(now)
    rule_list = list_rules(state, enabled=True) if rules is None else list(rules)
    listed = None
    if any(r.watchlist_id is not None for r in rule_list):
        from seawatch.share.watchlists import watchlist_mmsis

        listed = watchlist_mmsis(state, events, [r.watchlist_id for r in rule_list
                                                 if r.watchlist_id is not None])
    pairs = match_events(events, rule_list, vessels, listed)
    if pairs.height == 0:
        return RaiseResult(0, 0, 0)
    cols = [c for c in EVENT_COLUMNS if c in events.columns]
    rows = pairs.join(events.select(cols).unique("event_id", keep="last"), on="event_id",
                      how="left", maintain_order="left")
    for c in EVENT_COLUMNS:
        if c not in rows.columns:
            rows = rows.with_columns(pl.lit(None).alias(c))
    from seawatch.schema import EVENTS

    wanted = rows.rename({v: k for k, v in _SNAPSHOT.items()}).select(
        pl.col("rule_id").cast(pl.Int64), pl.col("event_id").cast(pl.String),
        *[pl.col(k).cast(EVENTS[v]) for k, v in _SNAPSHOT.items()],
    )
    snap_cols = list(_SNAPSHOT)
    with state.write() as s:
        if s.get_bind().dialect.name == "postgresql":  # SQLite: BEGIN IMMEDIATE serialises
            s.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": RAISE_LOCK})
        rule_ids = sorted(set(wanted["rule_id"].to_list()))
        event_ids = wanted["event_id"].unique().sort().to_list()
        columns = (AlertRow.id, AlertRow.rule_id, AlertRow.event_id,
                   *[getattr(AlertRow, c) for c in snap_cols])
        stored: list[Any] = []
        if len(event_ids) <= BY_EVENT_MAX:  # a few events (a live run): their alerts only
            for chunk in range(0, len(event_ids), 500):
                stored.extend(s.execute(sa.select(*columns).where(
                    AlertRow.rule_id.in_(rule_ids),
                    AlertRow.event_id.in_(event_ids[chunk:chunk + 500]))).all())
        else:
            for chunk in range(0, len(rule_ids), 500):
                stored.extend(s.execute(sa.select(*columns).where(
                    AlertRow.rule_id.in_(rule_ids[chunk:chunk + 500]))).all())
        existing = pl.DataFrame(
            stored, schema={"id": pl.Int64, "rule_id": pl.Int64, "event_id": pl.String,
                          **{c: wanted.schema[c] for c in snap_cols}}, orient="row")
        # the diff, column-wise: new pairs, pairs whose copy of the event changed, the rest
        fresh = wanted.join(existing.select("rule_id", "event_id"), on=["rule_id", "event_id"],
                            how="anti", nulls_equal=True)
        both = wanted.join(existing, on=["rule_id", "event_id"], how="inner", suffix="__old")
        differs = pl.any_horizontal(
            [pl.col(c).ne_missing(pl.col(f"{c}__old")) for c in snap_cols])
        changed = both.filter(differs).select("id", *snap_cols)
        new, updated = fresh.height, changed.height
        unchanged = both.height - updated
        if updated:
            s.execute(sa.update(AlertRow), changed.with_columns(
                pl.lit(when).alias("updated_at")).to_dicts())
        new_ids: list[int] = []
        if new:
            s.execute(sa.insert(AlertRow), fresh.with_columns(
                pl.lit(NEW).alias("state"), pl.lit(when).alias("raised_at"),
                pl.lit(when).alias("updated_at"), pl.lit("").alias("close_note"),
            ).to_dicts())
            s.flush()
            keys = (AlertRow.id, AlertRow.rule_id, AlertRow.event_id)
            if len(event_ids) <= BY_EVENT_MAX:
                rows_found: list[Any] = []
                for chunk in range(0, len(event_ids), 500):
                    rows_found.extend(s.execute(sa.select(*keys).where(
                        AlertRow.rule_id.in_(rule_ids),
                        AlertRow.event_id.in_(event_ids[chunk:chunk + 500]))).all())
            else:
                rows_found = list(s.execute(sa.select(*keys).where(
                    AlertRow.raised_at == when, AlertRow.rule_id.in_(rule_ids))).all())
            found = pl.DataFrame(rows_found, schema={
                "id": pl.Int64, "rule_id": pl.Int64, "event_id": pl.String}, orient="row")
            new_ids = sorted(found.join(fresh.select("rule_id", "event_id"),
                                        on=["rule_id", "event_id"])["id"].to_list())
    return RaiseResult(new, updated, unchanged, tuple(new_ids))


@dataclass(frozen=True)
class Alert:
    """One alert with its rule, its copy of the event and where it stands."""

    id: int
    rule_id: int
    rule: str
    agency: str
    event_id: str
    event_type: str
    mmsi: int | None
    other_mmsi: int | None
    event_start: datetime
    event_end: datetime | None
    lat: float | None
    lon: float | None
    zone: str | None
    score: float | None
    state: str
    raised_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    assigned_to: str | None
    assigned_at: datetime | None
    assigned_by: str | None
    watch: str | None
    closed_at: datetime | None
    closed_by: str | None
    close_reason: str | None
    close_note: str

    def as_json(self) -> dict[str, Any]:
        """The alert as the API writes it."""
        from seawatch.units import format_time

        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            out[name] = format_time(value) if isinstance(value, datetime) else value
        return out


ALERT_FIELDS: tuple[str, ...] = tuple(Alert.__dataclass_fields__)
"""Fields of an :class:`Alert` (and columns of :func:`alerts_frame`)."""


def _alert(row: AlertRow) -> Alert:
    values = {name: getattr(row, name) for name in ALERT_FIELDS
              if name not in ("rule", "agency")}
    return Alert(rule=row.rule.name, agency=row.rule.agency.name, **values)


def _query(
    *, states: Sequence[str] | None = None, rule: int | str | None = None,
    types: Sequence[str] | None = None, assigned_to: str | None = None,
    watch: str | None = None, start: datetime | None = None, end: datetime | None = None,
    agency: str | None = None,
) -> sa.Select[Any]:
    query = sa.select(AlertRow).join(AlertRuleRow).join(Agency)
    if states:
        bad = [x for x in states if x not in ALERT_STATES]
        if bad:
            raise InvalidInput(f"unknown alert state {bad[0]!r}; one of "
                               f"{', '.join(ALERT_STATES)}")
        query = query.where(AlertRow.state.in_(list(states)))
    if rule is not None:
        if isinstance(rule, int) or _is_id(str(rule)):
            query = query.where(AlertRow.rule_id == int(rule))
        else:
            query = query.where(AlertRuleRow.name == str(rule))
    if types:
        query = query.where(AlertRow.event_type.in_(list(types)))
    if assigned_to is not None:
        query = query.where(AlertRow.assigned_to == assigned_to)
    if watch is not None:
        query = query.where(AlertRow.watch == watch)
    if start is not None:  # events ending at or after start
        query = query.where(sa.func.coalesce(AlertRow.event_end, AlertRow.event_start) >= start)
    if end is not None:
        query = query.where(AlertRow.event_start < end)
    if agency is not None:
        query = query.where(Agency.name == agency)
    return query.order_by(AlertRow.event_start.desc(), AlertRow.id.desc())


def list_alerts(state: State, **filters: Any) -> list[Alert]:
    """Alerts, newest event first; ``filters``: ``states``, ``rule`` (id or name),
    ``types``, ``assigned_to``, ``watch``, ``start``/``end`` (the event overlaps them),
    ``agency`` (the rule's). No visibility filter: see :func:`visible_alerts` and
    :func:`alert_page`."""
    with state.read() as s:
        return [_alert(r) for r in s.scalars(_query(**filters))]


_KEY_COLUMNS = ("id", "event_id", "event_type", "mmsi", "other_mmsi", "event_start",
                "event_end", "lat", "lon")


def alert_page(
    state: State, access: Access | None, *, limit: int, offset: int = 0, **filters: Any
) -> tuple[int, list[Alert]]:
    """One page of the alerts ``access`` may see (None: all), newest event first, and how
    many it may see in all; ``filters`` as :func:`list_alerts`.

    The host's members see every alert: counted and paged in SQL. Another agency's
    visibility is the events' policy (:func:`visible_alerts`), applied column-wise to the
    few columns it needs of every candidate alert, before counting and paging; only the
    page's alerts are then read whole.
    """

    query = _query(**filters)
    with state.read() as s:
        if access is None or access.full:
            total = int(s.scalar(sa.select(sa.func.count()).select_from(
                query.order_by(None).subquery())) or 0)
            rows = s.scalars(query.limit(limit).offset(offset))
            return total, [_alert(r) for r in rows]
        keys = s.execute(query.with_only_columns(
            *[getattr(AlertRow, c) for c in _KEY_COLUMNS])).all()
        frame = alerts_frame_from_rows(keys)
        visible = access.filter_events(frame)["id"].to_list()
        page = visible[offset:offset + limit]
        found = {r.id: r for r in s.scalars(sa.select(AlertRow).where(AlertRow.id.in_(page)))}
        return len(visible), [_alert(found[i]) for i in page]


def alerts_frame_from_rows(rows: Sequence[Any]) -> pl.DataFrame:
    """:func:`alerts_frame` of rows of the :data:`_KEY_COLUMNS` (without the ORM)."""
    import polars as pl

    from seawatch.schema import TS

    schema: dict[str, Any] = {
        "id": pl.Int64, "event_id": pl.String, "event_type": pl.String, "mmsi": pl.Int64,
        "other_mmsi": pl.Int64, "event_start": TS, "event_end": TS, "lat": pl.Float64,
        "lon": pl.Float64,
    }
    frame = pl.DataFrame(list(rows), schema=schema, orient="row")
    return frame.with_columns(
        pl.col("event_type").alias("type"), pl.col("event_start").alias("start"),
        pl.col("event_end").alias("end"),
    )


def alerts_frame(alerts: Sequence[Alert]) -> pl.DataFrame:
    """Alerts as a Polars frame: ``id``, ``event_id``, their copy of the event, and the
    event columns the events' policy reads under their names (``type``, ``start``,
    ``end``; ``lat``, ``lon``)."""


    return alerts_frame_from_rows([tuple(getattr(a, c) for c in _KEY_COLUMNS)
                                   for a in alerts])


def visible_alerts(access: Access, alerts: Sequence[Alert]) -> list[Alert]:
    """The alerts whose event ``access`` may see, in their order: the events' own policy
    (:meth:`~seawatch.share.policy.Access.filter_events`, event markings joined by
    ``event_id``) applied to the alerts' copies of their events."""
    if access.full or not alerts:
        return list(alerts)
    keep = set(access.filter_events(alerts_frame(alerts))["id"].to_list())
    return [a for a in alerts if a.id in keep]


def get_alert(state: State, alert_id: int, access: Access | None = None) -> Alert:
    """One alert; with ``access``, one the caller may see (else :class:`NotFound`, as if it
    did not exist)."""
    with state.read() as s:
        row = s.get(AlertRow, alert_id)
        alert = None if row is None else _alert(row)
    if alert is None or (access is not None and not visible_alerts(access, [alert])):
        raise NotFound(f"no alert {alert_id}")
    return alert


# --- the life cycle -----------------------------------------------------------------------


def _acting(s: Session, alert_id: int, access: Access | None) -> AlertRow:
    """The alert row to change: visible to the caller and of the caller's agency."""
    row = s.get(AlertRow, alert_id, with_for_update={"of": AlertRow})
    if row is None:
        raise NotFound(f"no alert {alert_id}")
    if access is not None:
        if not visible_alerts(access, [_alert(row)]):
            raise NotFound(f"no alert {alert_id}")
        if row.rule.agency.name != access.agency:
            raise Forbidden(f"alert {alert_id} belongs to {row.rule.agency.name}; only its "
                            "agency acts on it")
    return row


def _require(row: AlertRow, allowed: Sequence[str], verb: str) -> None:
    if row.state not in allowed:
        raise Conflict(f"alert {row.id} is {row.state}: cannot {verb} it (only an alert "
                       f"that is {' or '.join(allowed)})")


def _principal(access: Access | None) -> Principal | None:
    return None if access is None else access.principal


def acknowledge(
    state: State, alert_id: int, *, access: Access | None = None, now: datetime | None = None
) -> Alert:
    """new → acknowledged (:class:`Conflict` from any other state)."""
    with state.write() as s:
        row = _acting(s, alert_id, access)
        _require(row, (NEW,), "acknowledge")
        row.state = ACKNOWLEDGED
        row.acknowledged_at = utcnow(now)
        row.acknowledged_by = changed_by(_principal(access))
        s.flush()
        return _alert(row)


def _assignee(s: Session, username: str, agency: str) -> str:
    from seawatch.share.accounts import find_user

    user: User = find_user(s, bounded_text(username, "user", 64))
    if user.agency.name != agency:
        raise InvalidInput(f"user {username!r} is not of {agency}, the alert's agency")
    if user.role not in ACTING_ROLES or user.disabled:
        raise InvalidInput(f"user {username!r} may not act on alerts (role {user.role}"
                           + (", disabled" if user.disabled else "") + ")")
    return user.username


def assign(
    state: State,
    alert_id: int,
    user: str,
    *,
    watch: str | None = None,
    access: Access | None = None,
    now: datetime | None = None,
) -> Alert:
    """new, acknowledged or assigned → assigned to ``user`` (a user of the alert's agency
    who may act on alerts), optionally on ``watch``; a new alert is acknowledged by it."""
    when = utcnow(now)
    by = changed_by(_principal(access))
    with state.write() as s:
        row = _acting(s, alert_id, access)
        _require(row, OPEN_STATES, "assign")
        row.assigned_to = _assignee(s, user, row.rule.agency.name)
        if row.state == NEW:
            row.acknowledged_at, row.acknowledged_by = when, by
        row.state = ASSIGNED
        row.assigned_at, row.assigned_by = when, by
        if watch is not None:
            row.watch = bounded_text(watch, "watch", WATCH_CHARS) or None
        s.flush()
        return _alert(row)


def close(
    state: State,
    alert_id: int,
    reason: str,
    note: str = "",
    *,
    access: Access | None = None,
    now: datetime | None = None,
) -> Alert:
    """Any open state → closed, with a reason of :data:`CLOSE_REASONS` and a note."""
    if reason not in CLOSE_REASONS:
        raise InvalidInput(f"unknown close reason {str(reason)[:40]!r}; one of "
                           f"{', '.join(CLOSE_REASONS)}")
    note = bounded_text(note, "note", NOTE_CHARS, multiline=True)
    with state.write() as s:
        row = _acting(s, alert_id, access)
        _require(row, OPEN_STATES, "close")
        row.state = CLOSED
        row.closed_at = utcnow(now)
        row.closed_by = changed_by(_principal(access))
        row.close_reason, row.close_note = reason, note
        s.flush()
        return _alert(row)


def reopen(
    state: State, alert_id: int, *, access: Access | None = None, now: datetime | None = None
) -> Alert:
    """closed → acknowledged, or assigned when it still has an assignee; the close reason
    and note are cleared (the audit log keeps them)."""
    with state.write() as s:
        row = _acting(s, alert_id, access)
        _require(row, (CLOSED,), "reopen")
        row.state = ASSIGNED if row.assigned_to else ACKNOWLEDGED
        if row.acknowledged_at is None:
            row.acknowledged_at = utcnow(now)
            row.acknowledged_by = changed_by(_principal(access))
        row.closed_at = row.closed_by = row.close_reason = None
        row.close_note = ""
        s.flush()
        return _alert(row)


@dataclass(frozen=True)
class Handover:
    """What :func:`handover` moved."""

    alert_ids: tuple[int, ...]
    to_watch: str | None
    to_user: str | None
    note: str


def handover(
    state: State,
    *,
    from_watch: str | None = None,
    from_user: str | None = None,
    to_watch: str | None = None,
    to_user: str | None = None,
    note: str = "",
    access: Access | None = None,
    now: datetime | None = None,
) -> Handover:
    """Hand the open alerts of a watch and/or a user over to another watch and/or user.

    The alerts of the caller's agency (the local operator: the host's) that are open and on
    ``from_watch`` and assigned to ``from_user`` (those given) move to ``to_watch`` and are
    assigned to ``to_user`` (those given; an alert given a user becomes ``assigned``).

    Raises
    ------
    InvalidInput
        Nothing to hand over from or to, or ``to_user`` may not take alerts.
    """
    if from_watch is None and from_user is None:
        raise InvalidInput("hand over from a watch or a user (or both)")
    if to_watch is None and to_user is None:
        raise InvalidInput("hand over to a watch or a user (or both)")
    note = bounded_text(note, "note", NOTE_CHARS, multiline=True)
    if to_watch is not None:
        to_watch = bounded_text(to_watch, "watch", WATCH_CHARS)
    when = utcnow(now)
    by = changed_by(_principal(access))
    with state.write() as s:
        agency = access.agency if access is not None else _agency_row(s, None, None).name
        query = _query(states=OPEN_STATES, watch=from_watch, assigned_to=from_user,
                       agency=agency).with_for_update(of=AlertRow)
        rows = list(s.scalars(query))
        user = None if to_user is None else _assignee(s, to_user, agency)
        for row in rows:
            if to_watch is not None:
                row.watch = to_watch
            if user is not None:
                if row.state == NEW:
                    row.acknowledged_at, row.acknowledged_by = when, by
                row.assigned_to, row.assigned_at, row.assigned_by = user, when, by
                row.state = ASSIGNED
        return Handover(tuple(sorted(r.id for r in rows)), to_watch, user, note)


def transition_params(before: str, after: Alert, **extra: Any) -> dict[str, Any]:
    """What the audit log keeps of one step: the alert, its event, states and extras."""
    return {"alert": after.id, "event": after.event_id, "rule": after.rule, "from": before,
            "to": after.state, **extra}


RAISE_ACTION = "alert.raise"
"""The audit action of raising a detection run's alerts (:func:`raise_for_store`)."""

Recorder = Callable[["State", str, str, dict[str, Any]], None]
"""Appends a change to the audit log: ``(state, action, resource, params)``."""


@dataclass
class Raised:
    """What a long-running raiser (``seawatch live``) raised last, so that each raise after
    the first reads only the events that are new or changed (:func:`raise_for_store`).

    Kept in memory: a restart starts empty, so its first raise covers the whole events
    table (a full reconciliation: events written by a run whose raise a crash cut off get
    their alerts then). A raise that fails leaves it as it was: the next one covers its
    events again.
    """

    events: pl.DataFrame | None = None
    """:data:`EVENT_COLUMNS` of the events of the last raise (None: raise everything)."""
    rules: tuple[Any, ...] | None = None
    """The enabled rules then (id, last change): another set raises everything again."""
    types: pl.DataFrame | None = None
    """The vessels' types then (rules with vessel types only): an event of a vessel whose
    type changed is raised again."""
    full: bool = True
    """Whether the last raise covered every event."""
    count: int = 0
    """How many events the last raise covered."""

    def changed(self, events: pl.DataFrame, rules: Sequence[Rule],
                types: pl.DataFrame | None) -> pl.DataFrame:
        """The rows of ``events`` to raise: all of them after a change of the rules (or
        before a first raise), else those new or changed since the last raise, and those
        of vessels whose type changed."""
        import polars as pl

        cols = [c for c in EVENT_COLUMNS if c in events.columns]
        self.full = self.events is None or self.rules != _rules_key(rules) or \
            list(self.events.columns) != cols
        if self.full or self.events is None:
            self.count = events.height
            return events
        delta = events.join(self.events, on=cols, how="anti", nulls_equal=True)
        if types is not None:
            before = self.types if self.types is not None else types.clear()
            moved = pl.concat([types.join(before, on=types.columns, how="anti",
                                          nulls_equal=True),
                               before.join(types, on=types.columns, how="anti",
                                           nulls_equal=True)])["mmsi"].unique().implode()
            retyped = events.filter(pl.col("mmsi").is_in(moved)
                                    | pl.col("other_mmsi").is_in(moved).fill_null(False))
            delta = pl.concat([delta, retyped]).unique("event_id", keep="first",
                                                       maintain_order=True)
        self.count = delta.height
        return delta

    def done(self, events: pl.DataFrame, rules: Sequence[Rule],
             types: pl.DataFrame | None) -> None:
        """A raise of ``events`` under ``rules`` succeeded."""
        self.events = events.select([c for c in EVENT_COLUMNS if c in events.columns])
        self.rules = _rules_key(rules)
        self.types = types


def _rules_key(rules: Sequence[Rule]) -> tuple[Any, ...]:
    return tuple((r.id, r.updated_at, r.enabled) for r in rules)


def raise_for_store(store: Path, st: Store, events: pl.DataFrame,
                    record: Recorder, raised: Raised | None = None) -> RaiseResult | None:
    """Raise the alerts of a detection run's ``events`` (``seawatch detect``'s, or each run
    of ``seawatch live``'s incremental detection) against the enabled rules, when the store
    ``st`` at ``store`` has a state (``SEAWATCH_DB`` or ``state.db``) with rules; the raise
    is recorded with ``record`` (the command line's or the live service's audit entry).
    None when there is no state or no enabled rule.

    With ``raised`` (:class:`Raised`, kept by the caller between raises) only the events
    new or changed since its last raise are raised (all of them at the first, or when the
    rules changed), and ``raised`` is updated: the live service's way, whose events table
    changes a little at each run. The result's counts are then those of the events raised.
    """
    import os
    from datetime import UTC

    from seawatch.share.db import ENV_VAR, STATE_FILENAME, open_state

    if not os.environ.get(ENV_VAR, "").strip() and not (store / STATE_FILENAME).is_file():
        return None
    state = open_state(store, create_store=False)
    try:
        rules = list_rules(state, enabled=True)
        if not rules:
            if raised is not None:
                raised.done(events, rules, None)
            return None
        vessels = st.latest_identity() if any(r.vessel_types for r in rules) else None
        delta = events
        types = None
        if raised is not None:
            types = vessel_types_of(vessels)
            delta = raised.changed(events, rules, types)
        result = raise_alerts(state, delta, rules=rules, vessels=vessels,
                              now=datetime.now(UTC))
        params: dict[str, Any] = {**result.as_json(), "rules": [r.id for r in rules],
                                  "events": delta.height}
        if raised is not None:
            params["of"] = events.height
            params["full"] = raised.full
            raised.done(events, rules, types)
        record(state, RAISE_ACTION, "alerts", params)
        return result
    finally:
        state.close()


__all__ = [
    "ALERT_STATES", "CLOSE_REASONS", "OPEN_STATES", "RAISE_ACTION", "Alert", "Handover",
    "RaiseResult", "Raised",
    "Rule", "acknowledge", "add_rule", "alert_page", "alerts_frame", "assign", "close", "get_alert",
    "get_rule", "handover", "list_alerts", "list_rules", "match_events", "raise_alerts",
    "raise_for_store", "remove_rule", "reopen", "transition_params", "update_rule",
    "visible_alerts",
]
