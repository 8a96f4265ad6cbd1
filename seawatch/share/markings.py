"""TLP 2.0 markings: how far an object may travel, who may receive it, and who owns it.

Every event, alert, zone and export carries a marking: a Traffic Light Protocol 2.0 level
(FIRST, 2022), a releasable-to list of agencies and the owning agency. Objects without a row in
the ``markings`` table have the store's default: level ``default_marking`` (AMBER unless the
host chose otherwise at ``init-state``), no releasable-to list, owned by the host agency.

What each level means for a partner that received the data through a grant:

================  ===========================================================================
``CLEAR``         No limit on disclosure by the recipient. Still shown to a partner only
                  inside a live grant: the grant decides what a partner sees, the marking what
                  it may do with it.
``GREEN``         The recipient may share it within its community (other agencies of the
                  cooperation), not publicly.
``AMBER``         Limited disclosure: within the recipient agency and its clients, on a
                  need-to-know basis.
``AMBER+STRICT``  Only within the recipient agency itself.
``RED``           Named recipients only, no further disclosure: a partner sees a RED object only
                  when its agency is named in the object's releasable-to list *and* its grant
                  reaches RED; an empty releasable-to list never releases a RED object.
================  ===========================================================================

A grant releases an object when the object's level is at most the grant's ``max_marking``
and its releasable-to list is empty (releasable to any grantee in scope) or names the grantee.

Examples
--------
>>> TLP.parse("amber+strict") > TLP.AMBER
True
>>> str(highest(["GREEN", "RED", "AMBER"]))
'RED'
>>> export_banner(Marking(TLP.AMBER, ("FAE",), "ECU-NAVY"))  # doctest: +ELLIPSIS
'TLP:AMBER // owner ECU-NAVY // releasable to FAE // Limited disclosure...'
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from seawatch.share.bounds import ID_CHARS, bounded_text, shown
from seawatch.share.db import utcnow
from seawatch.share.errors import Forbidden, InvalidInput
from seawatch.share.models import MARKING_KINDS, Agency, MarkingRow, Setting
from seawatch.share.roles import MARKING_SET, Principal, changed_by, require

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl
    from sqlalchemy.orm import Session

    from seawatch.share.db import State


class TLP(enum.IntEnum):
    """Traffic Light Protocol 2.0 levels, ordered from least to most restricted."""

    CLEAR = 0
    GREEN = 1
    AMBER = 2
    AMBER_STRICT = 3
    RED = 4

    @property
    def label(self) -> str:
        """The level as TLP 2.0 writes it (``'AMBER+STRICT'``)."""
        return self.name.replace("_", "+")

    def __str__(self) -> str:
        return self.label

    @classmethod
    def parse(cls, value: str | TLP) -> TLP:
        """A level from text: ``'amber+strict'``, ``'AMBER_STRICT'``, ``'TLP:RED'``, ...

        Raises
        ------
        InvalidInput
            Not a TLP 2.0 level (``WHITE`` is TLP 1.0: say ``CLEAR``).
        """
        if isinstance(value, TLP):
            return value
        text = str(value).strip().upper().removeprefix("TLP:").replace("+", "_").replace(" ", "_")
        try:
            return cls[text]
        except KeyError:
            hint = " (TLP 2.0 renamed WHITE to CLEAR)" if text == "WHITE" else ""
            raise InvalidInput(
                f"unknown marking {shown(value)}{hint}; use one of {', '.join(LEVELS)}"
            ) from None


LEVELS: tuple[str, ...] = tuple(level.label for level in TLP)
"""Level labels in order: CLEAR, GREEN, AMBER, AMBER+STRICT, RED."""
MEANING: dict[TLP, str] = {
    TLP.CLEAR: "Disclosure is not limited.",
    TLP.GREEN: "Limited disclosure: recipients may share it within their community, "
    "not publicly.",
    TLP.AMBER: "Limited disclosure: recipients may share it only within their organisation "
    "and its clients, on a need-to-know basis.",
    TLP.AMBER_STRICT: "Limited disclosure: recipients may share it only within their "
    "organisation.",
    TLP.RED: "For the named recipients only: no further disclosure.",
}
"""What each level allows a recipient to do (TLP 2.0 wording, shortened)."""
DEFAULT_MARKING = TLP.AMBER
"""Default level of unmarked objects until the host sets another (``default_marking``)."""
DEFAULT_MARKING_KEY = "default_marking"
"""Settings key of the store's default level."""


def highest(levels: Iterable[str | TLP]) -> TLP:
    """The most restrictive of ``levels`` (CLEAR for none)."""
    return max((TLP.parse(v) for v in levels), default=TLP.CLEAR)


@dataclass(frozen=True)
class Marking:
    """A marking: TLP level, releasable-to agencies (empty: any grantee in scope), owner.

    Parameters
    ----------
    level
        TLP 2.0 level.
    releasable_to
        Agency names the object may be released to; empty means releasable to every grantee
        whose grant covers it (never for RED: RED needs named recipients).
    owner
        Owning agency (for an export of several owners' rows, their names joined by ``+``).
    """

    level: TLP
    releasable_to: tuple[str, ...] = ()
    owner: str = ""
    set_by: str = ""
    set_at: datetime | None = field(default=None, compare=False)

    def releasable(self, agency: str) -> bool:
        """Whether a grant may release the object to ``agency`` (its level aside)."""
        if agency in self.releasable_to:
            return True
        return not self.releasable_to and self.level < TLP.RED


# --- default level ------------------------------------------------------------------------


def default_marking(state: State) -> TLP:
    """The store's default level for unmarked events, alerts, zones (and positions)."""
    with state.read() as s:
        value = s.get(Setting, DEFAULT_MARKING_KEY)
    return TLP.parse(value.value) if value is not None else DEFAULT_MARKING


def set_default_marking(state: State, level: str | TLP) -> TLP:
    """Set the store's default level (the host's choice at ``init-state``)."""
    parsed = TLP.parse(level)
    with state.write() as s:
        row = s.get(Setting, DEFAULT_MARKING_KEY)
        if row is None:
            s.add(Setting(key=DEFAULT_MARKING_KEY, value=parsed.label))
        else:
            row.value = parsed.label
    return parsed


# --- per-object markings ------------------------------------------------------------------


def _check_kind(kind: str) -> str:
    if kind not in MARKING_KINDS:
        raise InvalidInput(f"unknown object kind {shown(kind)}; use one of "
                           f"{', '.join(MARKING_KINDS)}")
    return kind


def _agency(s: Session, name: str) -> Agency:
    from seawatch.share.accounts import find_agency  # (accounts imports this module)

    return find_agency(s, name)


def _host(s: Session) -> Agency:
    from seawatch.share.errors import NotInitialised

    host = s.scalar(sa.select(Agency).where(Agency.is_host.is_(True)))
    if host is None:
        raise NotInitialised("the store has no host agency yet: run `seawatch init-state`")
    return host


def set_marking(
    state: State,
    kind: str,
    object_id: str,
    level: str | TLP,
    *,
    releasable_to: Sequence[str] = (),
    owner: str | None = None,
    principal: Principal | None = None,
    now: datetime | None = None,
) -> Marking:
    """Mark one object (replacing its marking).

    Parameters
    ----------
    kind
        ``'event'``, ``'alert'``, ``'zone'`` or ``'export'``.
    object_id
        The object's id (``event_id``, alert id, zone name, export id).
    level
        TLP 2.0 level.
    releasable_to
        Agencies it may be released to (each must exist); empty: any grantee in scope.
    owner
        Owning agency; default: the current owner, or the host for a new marking.
    principal
        The caller (None: the local operator). Needs ``marking.set`` and must belong to the
        owning agency (both current and new), or be a host agency admin.

    Raises
    ------
    InvalidInput, NotFound, Forbidden
    """
    _check_kind(kind)
    parsed = TLP.parse(level)
    object_id = bounded_text(str(object_id).strip(), f"{kind} id", ID_CHARS)
    if not object_id:
        raise InvalidInput(f"{kind} id must not be empty")
    names = tuple(dict.fromkeys(n.strip() for n in releasable_to if n.strip()))
    when = utcnow(now)
    with state.write() as s:
        for name in names:
            _agency(s, name)
        row = s.scalar(
            sa.select(MarkingRow).where(MarkingRow.kind == kind, MarkingRow.object_id == object_id)
        )
        current_owner = row.owner if row is not None else _host(s)
        new_owner = _agency(s, owner) if owner is not None else current_owner
        if principal is not None:
            require(principal, MARKING_SET)
            mine = {current_owner.name, new_owner.name} == {principal.agency}
            if not (mine or principal.is_host_admin):
                raise Forbidden(
                    f"{kind} {object_id!r} is owned by {current_owner.name}; only its own "
                    "agency (or the host's admins) may mark it"
                )
        by = changed_by(principal)
        if row is None:
            row = MarkingRow(kind=kind, object_id=object_id, owner_agency_id=new_owner.id)
            s.add(row)
        row.level = parsed.label
        row.releasable_to = json.dumps(list(names))
        row.owner_agency_id = new_owner.id
        row.set_by = by
        row.set_at = when
        return Marking(parsed, names, new_owner.name, by, when)


def get_marking(state: State, kind: str, object_id: str) -> Marking:
    """The marking of one object (the store's default when it has none)."""
    _check_kind(kind)
    with state.read() as s:
        row = s.scalar(
            sa.select(MarkingRow).where(
                MarkingRow.kind == kind, MarkingRow.object_id == str(object_id)
            )
        )
        if row is not None:
            return _from_row(row)
        host = _host(s)
        default = s.get(Setting, DEFAULT_MARKING_KEY)
    level = TLP.parse(default.value) if default is not None else DEFAULT_MARKING
    return Marking(level, (), host.name)


def _from_row(row: MarkingRow) -> Marking:
    return Marking(
        TLP.parse(row.level), tuple(json.loads(row.releasable_to)), row.owner.name, row.set_by,
        row.set_at,
    )


def list_markings(state: State, kind: str | None = None) -> list[tuple[str, str, Marking]]:
    """Every explicit marking as ``(kind, object_id, marking)``, by kind then id."""
    query = sa.select(MarkingRow).order_by(MarkingRow.kind, MarkingRow.object_id)
    if kind is not None:
        query = query.where(MarkingRow.kind == _check_kind(kind))
    with state.read() as s:
        return [(r.kind, r.object_id, _from_row(r)) for r in s.scalars(query)]


# --- markings on frames -------------------------------------------------------------------

MARKING_COLUMNS: tuple[str, ...] = ("marking", "releasable_to", "owner_agency")
"""Columns :func:`attach_markings` adds: level label, list of agency names, owner name."""


def markings_frame(state: State, kind: str = "event") -> pl.DataFrame:
    """The explicit markings of one kind as a frame.

    Columns ``object_id`` (str), ``marking`` (str label), ``releasable_to`` (list[str]),
    ``owner_agency`` (str).
    """
    import polars as pl

    rows = list_markings(state, kind)
    return pl.DataFrame(
        {
            "object_id": [r[1] for r in rows],
            "marking": [r[2].level.label for r in rows],
            "releasable_to": [list(r[2].releasable_to) for r in rows],
            "owner_agency": [r[2].owner for r in rows],
        },
        schema={
            "object_id": pl.String(),
            "marking": pl.String(),
            "releasable_to": pl.List(pl.String()),
            "owner_agency": pl.String(),
        },
    )


def attach_markings(
    state: State,
    frame: pl.DataFrame,
    kind: str = "event",
    id_column: str | None = None,
    *,
    defaults: tuple[TLP, str] | None = None,
) -> pl.DataFrame:
    """``frame`` with its objects' markings joined as columns :data:`MARKING_COLUMNS`.

    Objects without a marking get the store's default level, an empty releasable-to list and
    the host agency as owner. Existing marking columns are replaced.

    Parameters
    ----------
    frame
        Any frame with an id column (events: ``event_id``; zones: ``name``).
    kind
        Marking kind of the rows.
    id_column
        Column holding the object id (default: ``event_id`` for events, ``alert_id`` for
        alerts, ``name`` for zones, ``export_id`` for exports).
    defaults
        ``(default level, host agency name)``; read from the state when None.
    """
    import polars as pl

    _check_kind(kind)
    column = id_column or {"event": "event_id", "alert": "alert_id", "zone": "name"}.get(
        kind, "export_id"
    )
    if column not in frame.columns:
        raise InvalidInput(f"column {column!r} missing; found: {frame.columns}")
    if defaults is None:
        defaults = (default_marking(state), host_agency_name(state))
    level, host = defaults
    marks = markings_frame(state, kind)
    base = frame.drop([c for c in MARKING_COLUMNS if c in frame.columns])
    joined = base.join(
        marks.rename({"object_id": "__object_id"}),
        left_on=pl.col(column).cast(pl.String),
        right_on="__object_id",
        how="left",
        maintain_order="left",
    )
    if "__object_id" in joined.columns:
        joined = joined.drop("__object_id")
    return joined.with_columns(
        pl.col("marking").fill_null(level.label),
        pl.col("releasable_to").fill_null(pl.lit([], dtype=pl.List(pl.String()))),
        pl.col("owner_agency").fill_null(host),
    )


def host_agency_name(state: State) -> str:
    """Name of the store's host agency (raises ``NotInitialised`` before ``init-state``)."""
    with state.read() as s:
        return _host(s).name


def level_rank(column: str = "marking") -> pl.Expr:
    """Polars expression: a marking label column as its TLP rank (0 CLEAR … 4 RED).

    Unknown labels rank as RED (fail closed).
    """
    import polars as pl

    mapping = {level.label: int(level) for level in TLP}
    return (
        pl.col(column)
        .replace_strict(mapping, default=int(TLP.RED), return_dtype=pl.Int8)
        .fill_null(int(TLP.RED))
    )


# --- exports ------------------------------------------------------------------------------


def export_marking(frame: pl.DataFrame) -> Marking:
    """The marking an export of ``frame``'s rows must carry.

    The highest level among the rows; releasable to the agencies every row with a list
    allows (intersection of the non-empty lists); owners joined by ``+``. ``frame`` needs the
    columns of :func:`attach_markings`.
    """
    if frame.height == 0 or "marking" not in frame.columns:
        return Marking(TLP.CLEAR if frame.height == 0 else DEFAULT_MARKING)
    level = highest(frame.get_column("marking").unique().to_list())
    allowed: set[str] | None = None
    for names in frame.get_column("releasable_to").unique().to_list():  # distinct lists only
        if names:
            allowed = set(names) if allowed is None else allowed & set(names)
    owners = sorted(set(frame.get_column("owner_agency").drop_nulls().to_list()))
    return Marking(level, tuple(sorted(allowed or ())), "+".join(owners))


def export_banner(marking: Marking, *, recipient: str | None = None) -> str:
    """The one-line banner to print at the top and bottom of an export (CSV comment, KML
    description, report header)."""
    parts = [f"TLP:{marking.level.label}"]
    if marking.owner:
        parts.append(f"owner {marking.owner}")
    if marking.releasable_to:
        parts.append("releasable to " + ", ".join(marking.releasable_to))
    if recipient:
        parts.append(f"released to {recipient}")
    parts.append(MEANING[marking.level])
    return " // ".join(parts)


def export_metadata(
    marking: Marking, *, recipient: str | None = None, generated_at: datetime | None = None
) -> dict[str, Any]:
    """Marking metadata to embed in an export (GeoJSON ``properties``, Parquet key-value
    metadata, a JSON sidecar)."""
    when = utcnow(generated_at)
    return {
        "tlp": marking.level.label,
        "tlp_version": "2.0",
        "releasable_to": list(marking.releasable_to),
        "owner": marking.owner,
        "recipient": recipient,
        "generated_at": when.isoformat().replace("+00:00", "Z"),
        "banner": export_banner(marking, recipient=recipient),
    }
