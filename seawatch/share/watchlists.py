"""Watchlists: vessels of interest, imported from CSV or JSON, marked and shared like events.

A **watchlist** belongs to an agency and lists vessels by any of name, IMO number, call
sign, MMSI and flag, each entry with its source and the reason it is listed; the list has a
name, a source (the IUU list of an RFMO, a national list of interest, ...) and a marking
(TLP 2.0 level and releasable-to list, :mod:`seawatch.share.markings`). ``seawatch detect``
matches every list's entries against the vessels' identities
(:mod:`seawatch.detect.watchlist`: ``watchlist_hit`` events), and an alert rule with a
``watchlist_id`` alerts on the events of the vessels its list matched
(:func:`watchlist_mmsis`).

**Files** (:func:`read_watchlist_file`): CSV with a header, or JSON (a list of objects, or an
object with ``entries`` and optionally ``name``, ``source``, ``description``). Columns or
keys, any case, with the usual variants: ``name`` (``vessel_name``, ``vessel``), ``imo``
(``imo_number``; an ``IMO`` prefix is dropped), ``callsign`` (``call_sign``, ``ircs``),
``mmsi``, ``flag``, ``list`` (``list_name``, ``watchlist``), ``source``, ``reason``
(``notes``). Every entry needs at least one of name, IMO, call sign, MMSI; a file whose
``list`` column names several lists gives one watchlist each.

**Who sees a list** (:func:`visible`): the host agency sees every list; another agency sees
its own and those of an agency that grants it access (a live grant, :mod:`seawatch.share.
grants`) whose ``max_marking`` reaches the list's marking, which is releasable to it (RED
needs it named) and whose event types are all or include ``watchlist_hit``: the grant that
shares the hits shares the list. Importing and deleting lists is the alert rules' right
(``alert.rule``: admins and analysts, :data:`seawatch.share.roles.POLICY`), for the caller's
own agency.

Examples
--------
>>> rows = parse_rows([{"Vessel Name": "F/V Hai Feng 8", "IMO": "IMO 9074729",
...                     "Call Sign": "hp-1234", "List": "IUU"}], where="x.csv")
>>> rows[0]["name"], rows[0]["imo"], rows[0]["callsign"], rows[0]["list"]
('F/V Hai Feng 8', 9074729, 'HP-1234', 'IUU')
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from seawatch.share.bounds import LABEL_CHARS, TEXT_CHARS, bounded_text, shown
from seawatch.share.db import utcnow
from seawatch.share.errors import Conflict, Forbidden, InvalidInput, NotFound
from seawatch.share.markings import TLP, Marking
from seawatch.share.models import Agency, WatchlistEntryRow, WatchlistRow
from seawatch.share.roles import ALERT_RULE, Principal, changed_by, require

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl
    from sqlalchemy.orm import Session

    from seawatch.share.db import State
    from seawatch.share.policy import Access

ALIASES: dict[str, str] = {
    "name": "name", "vessel_name": "name", "vessel": "name", "ship_name": "name",
    "imo": "imo", "imo_number": "imo", "imo_no": "imo",
    "callsign": "callsign", "call_sign": "callsign", "ircs": "callsign",
    "mmsi": "mmsi", "flag": "flag", "flag_state": "flag",
    "list": "list", "list_name": "list", "watchlist": "list",
    "source": "source", "reason": "reason", "notes": "reason",
}
"""Column (or key) of a file -> entry field, after lower-casing and spaces as ``_``."""
ENTRY_FIELDS: tuple[str, ...] = ("name", "imo", "callsign", "mmsi", "flag", "source", "reason")
"""The fields of an entry."""
WATCHLIST_HIT = "watchlist_hit"
"""The event type that shares a list along with it (a grant's event types)."""
MAX_ENTRIES = 100_000
"""Most entries one import reads (a national list has hundreds, a global IUU list ~300)."""


@dataclass(frozen=True)
class Watchlist:
    """One watchlist as stored, with its entries when asked for."""

    id: int
    name: str
    source: str
    description: str
    owner: str
    marking: Marking
    created_at: datetime
    created_by: str
    updated_at: datetime
    entries: int = 0
    rows: tuple[dict[str, Any], ...] = field(default=(), repr=False)

    def as_json(self, with_entries: bool = False) -> dict[str, Any]:
        """A JSON-able dict (times as ISO 8601 UTC)."""
        out: dict[str, Any] = {
            "id": self.id, "name": self.name, "source": self.source,
            "description": self.description, "owner_agency": self.owner,
            "marking": self.marking.level.label,
            "releasable_to": list(self.marking.releasable_to),
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
            "created_by": self.created_by,
            "updated_at": self.updated_at.isoformat().replace("+00:00", "Z"),
            "entries": self.entries,
        }
        if with_entries:
            out["items"] = list(self.rows)
        return out


# --- files --------------------------------------------------------------------------------


def _key(text: str) -> str:
    return re.sub(r"[\s/-]+", "_", str(text).strip().lower())


def _digits(value: Any, what: str, where: str, low: int, high: int) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = re.sub(r"^\s*(IMO|MMSI)[\s:#]*", "", str(value), flags=re.IGNORECASE).strip()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    if not text.isdigit() or not low <= int(text) <= high:
        raise InvalidInput(f"{where}: {what} {shown(value)} is not a number of "
                           f"{len(str(low))}-{len(str(high))} digits")
    return int(text)


def _text(value: Any, what: str, where: str, chars: int) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return bounded_text(text, f"{where}: {what}", chars) or None


def parse_rows(rows: Iterable[Mapping[str, Any]], where: str) -> list[dict[str, Any]]:
    """Entries from rows of a file (column names as :data:`ALIASES`), checked.

    Raises
    ------
    InvalidInput
        A row without any identifier, an IMO that is not 7 digits, an MMSI that is not a
        number of at most 9 digits, no known column at all, or more than
        :data:`MAX_ENTRIES` rows; the message names the row.
    """
    out: list[dict[str, Any]] = []
    for k, row in enumerate(rows, start=1):
        if k > MAX_ENTRIES:
            raise InvalidInput(f"{where}: more than {MAX_ENTRIES:,} entries")
        fields: dict[str, Any] = {}
        for column, value in row.items():
            name = ALIASES.get(_key(column))
            if name is not None and name not in fields:
                fields[name] = value
        at = f"{where} entry {k}"
        entry = {
            "name": _text(fields.get("name"), "name", at, 128),
            "imo": _digits(fields.get("imo"), "IMO", at, 1_000_000, 9_999_999),
            "callsign": (_text(fields.get("callsign"), "call sign", at, 32) or "").upper()
            or None,
            "mmsi": _digits(fields.get("mmsi"), "MMSI", at, 0, 999_999_999),
            "flag": _text(fields.get("flag"), "flag", at, 64),
            "list": _text(fields.get("list"), "list name", at, LABEL_CHARS),
            "source": _text(fields.get("source"), "source", at, TEXT_CHARS) or "",
            "reason": _text(fields.get("reason"), "reason", at, TEXT_CHARS) or "",
        }
        if not any(entry[f] is not None for f in ("name", "imo", "callsign", "mmsi")):
            raise InvalidInput(f"{at}: no name, IMO, call sign or MMSI (columns found: "
                               f"{', '.join(map(str, row)) or 'none'})")
        out.append(entry)
    return out


def read_watchlist_file(path: str | Path) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The entries of a CSV or JSON file and the list's attributes a JSON object gives
    (``name``, ``source``, ``description``).

    Raises
    ------
    InvalidInput
        The file is missing, neither CSV with a header nor JSON of entries, or an entry is
        bad (:func:`parse_rows`).
    """
    p = Path(path)
    if not p.is_file():
        raise InvalidInput(f"{p}: no such file")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{p}: cannot read it as UTF-8 text ({exc})") from exc
    attrs: dict[str, str] = {}
    if text.lstrip()[:1] in ("[", "{"):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{p}: not valid JSON ({exc.msg}, line {exc.lineno})") from exc
        if isinstance(doc, dict):
            attrs = {k: str(doc[k]) for k in ("name", "source", "description")
                     if doc.get(k) is not None}
            doc = doc.get("entries")
        if not isinstance(doc, list) or not all(isinstance(r, dict) for r in doc):
            raise InvalidInput(f"{p}: JSON must be a list of entries (objects) or an object "
                               "with 'entries'")
        return parse_rows(doc, p.name), attrs
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not any(_key(c) in ALIASES for c in reader.fieldnames):
        raise InvalidInput(f"{p}: a CSV needs a header with at least one of name, imo, "
                           f"callsign, mmsi; found: {reader.fieldnames}")
    return parse_rows(reader, p.name), attrs


# --- store --------------------------------------------------------------------------------


def _loads(text: str | None) -> list[str]:
    return list(json.loads(text)) if text else []


def _watchlist(row: WatchlistRow, entries: int = 0,
               rows: Sequence[WatchlistEntryRow] = ()) -> Watchlist:
    return Watchlist(
        id=row.id, name=row.name, source=row.source, description=row.description,
        owner=row.owner.name,
        marking=Marking(TLP.parse(row.marking), tuple(_loads(row.releasable_to)),
                        row.owner.name),
        created_at=row.created_at, created_by=row.created_by, updated_at=row.updated_at,
        entries=entries,
        rows=tuple({"id": e.id, **{f: getattr(e, f) for f in ENTRY_FIELDS}} for e in rows),
    )


def _owner(s: Session, principal: Principal | None) -> Agency:
    from seawatch.share.accounts import find_agency

    if principal is not None:
        return find_agency(s, principal.agency)
    host = s.scalar(sa.select(Agency).where(Agency.is_host.is_(True)))
    if host is None:
        from seawatch.share.errors import NotInitialised

        raise NotInitialised("the state has no host agency: run `seawatch init-state` first")
    return host


def import_watchlists(
    state: State,
    entries: Sequence[Mapping[str, Any]],
    *,
    name: str | None = None,
    source: str = "",
    description: str = "",
    marking: str | TLP | None = None,
    releasable_to: Iterable[str] = (),
    replace: bool = False,
    principal: Principal | None = None,
    now: datetime | None = None,
) -> list[Watchlist]:
    """Store entries (:func:`parse_rows`) as watchlists of the caller's agency.

    Parameters
    ----------
    name
        The list's name; default: each entry's ``list`` (one watchlist per name).
    source, description
        The list's source and description (``source`` also fills entries without one).
    marking, releasable_to
        The list's TLP level (default: the store's default marking) and releasable-to
        agencies (names of existing agencies).
    replace
        Replace the entries of a list of that name owned by the caller's agency (else a
        name already taken is a :class:`Conflict`).

    Raises
    ------
    InvalidInput
        No entries, an entry without a list name and no ``name``, a bad marking.
    Forbidden
        The caller's role may not (``alert.rule``), or the list to replace is another's.
    """
    from seawatch.share.accounts import find_agency

    if principal is not None:
        require(principal, ALERT_RULE)
    if not entries:
        raise InvalidInput("no entries to import")
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for e in entries:
        key = name or e.get("list")
        if not key:
            raise InvalidInput("an entry names no list: give the list's name (--name)")
        groups.setdefault(bounded_text(str(key).strip(), "list name", LABEL_CHARS), []).append(e)
    when = utcnow(now)
    by = changed_by(principal)
    names = list(dict.fromkeys(str(a).strip() for a in releasable_to if str(a).strip()))
    out: list[Watchlist] = []
    with state.write() as s:
        level = TLP.parse(marking) if marking is not None else None
        owner = _owner(s, principal)
        for agency in names:
            find_agency(s, agency)
        for list_name, rows in groups.items():
            row = s.scalar(sa.select(WatchlistRow).where(WatchlistRow.name == list_name))
            if row is not None:
                if not replace:
                    raise Conflict(f"a watchlist named {list_name!r} exists already (import "
                                   "with --replace to replace its entries)")
                if row.owner_agency_id != owner.id:
                    raise Forbidden(f"watchlist {list_name!r} belongs to {row.owner.name}")
                s.execute(sa.delete(WatchlistEntryRow).where(
                    WatchlistEntryRow.watchlist_id == row.id))
                row.updated_at, row.updated_by = when, by
                if source:
                    row.source = source
                if description:
                    row.description = description
                if level is not None:
                    row.marking = level.label
                if names:
                    row.releasable_to = json.dumps(names)
            else:
                row = WatchlistRow(
                    name=list_name, source=source, description=description,
                    owner_agency_id=owner.id,
                    marking=(level or _default_level(s)).label,
                    releasable_to=json.dumps(names), created_at=when, created_by=by,
                    updated_at=when, updated_by=by,
                )
                s.add(row)
                s.flush()
            s.execute(sa.insert(WatchlistEntryRow), [
                {"watchlist_id": row.id, **{f: e.get(f) for f in ENTRY_FIELDS},
                 "source": e.get("source") or source, "reason": e.get("reason") or ""}
                for e in rows])
            s.flush()
            s.refresh(row)
            out.append(_watchlist(row, len(rows)))
    return out


def _default_level(s: Session) -> TLP:
    from seawatch.share.markings import DEFAULT_MARKING, DEFAULT_MARKING_KEY
    from seawatch.share.models import Setting

    value = s.get(Setting, DEFAULT_MARKING_KEY)
    return TLP.parse(value.value) if value is not None else DEFAULT_MARKING


def visible(access: Access | None, wl: Watchlist) -> bool:
    """Whether the caller may see the list (module docstring); None is the local operator."""
    if access is None or access.full or wl.owner == access.agency:
        return True
    for g in access.grants:
        if g.grantee != access.agency or g.grantor != wl.owner or not g.is_live(access.now):
            continue
        if g.event_types is not None and WATCHLIST_HIT not in g.event_types:
            continue
        if wl.marking.level <= g.max_marking and wl.marking.releasable(access.agency):
            return True
    return False


def _counts(s: Session) -> dict[int, int]:
    rows = s.execute(sa.select(WatchlistEntryRow.watchlist_id, sa.func.count())
                     .group_by(WatchlistEntryRow.watchlist_id)).all()
    return {int(wid): int(n) for wid, n in rows}


def list_watchlists(state: State, access: Access | None = None) -> list[Watchlist]:
    """The lists the caller sees, by id."""
    with state.read() as s:
        counts = _counts(s)
        rows = s.scalars(sa.select(WatchlistRow).order_by(WatchlistRow.id)).all()
        lists = [_watchlist(r, counts.get(r.id, 0)) for r in rows]
    return [w for w in lists if visible(access, w)]


def _find(s: Session, ref: int | str) -> WatchlistRow:
    text = str(ref).strip()
    if text.isdigit() and len(text) <= 18:
        row = s.get(WatchlistRow, int(text))
    else:
        row = s.scalar(sa.select(WatchlistRow).where(WatchlistRow.name == text))
    if row is None:
        raise NotFound(f"no watchlist {shown(ref)}; see `seawatch watchlist list`")
    return row


def get_watchlist(state: State, ref: int | str, access: Access | None = None) -> Watchlist:
    """One list (by id or name) with its entries; a list the caller may not see is a
    :class:`NotFound` like an unknown one."""
    with state.read() as s:
        row = _find(s, ref)
        entries = s.scalars(sa.select(WatchlistEntryRow).where(
            WatchlistEntryRow.watchlist_id == row.id).order_by(WatchlistEntryRow.id)).all()
        wl = _watchlist(row, len(entries), entries)
    if not visible(access, wl):
        raise NotFound(f"no watchlist {shown(ref)}; see `seawatch watchlist list`")
    return wl


def delete_watchlist(state: State, ref: int | str, principal: Principal | None = None) -> int:
    """Delete a list and its entries; returns its id. Only its agency may (``alert.rule``)."""
    if principal is not None:
        require(principal, ALERT_RULE)
    with state.write() as s:
        row = _find(s, ref)
        if principal is not None and row.owner.name != principal.agency:
            raise Forbidden(f"watchlist {row.name!r} belongs to {row.owner.name}")
        wid = row.id
        s.execute(sa.delete(WatchlistEntryRow).where(WatchlistEntryRow.watchlist_id == wid))
        s.delete(row)
    return wid


def watchlist_entries(state: State) -> pl.DataFrame:
    """Every entry of every list, as the detector reads them
    (:data:`seawatch.detect.watchlist.ENTRY_COLUMNS`)."""
    from seawatch.detect.watchlist import entry_table

    with state.read() as s:
        rows = s.execute(sa.select(
            WatchlistEntryRow.id.label("entry_id"), WatchlistEntryRow.watchlist_id,
            WatchlistRow.name.label("list_name"), WatchlistEntryRow.source,
            WatchlistEntryRow.name, WatchlistEntryRow.imo, WatchlistEntryRow.callsign,
            WatchlistEntryRow.mmsi, WatchlistEntryRow.flag, WatchlistEntryRow.reason,
        ).join(WatchlistRow, WatchlistRow.id == WatchlistEntryRow.watchlist_id)
            .order_by(WatchlistEntryRow.id)).mappings().all()
    return entry_table([dict(r) for r in rows] or [])


def stored_entries(store: str | Path) -> pl.DataFrame | None:
    """Every entry of the state of the store at ``store`` (``SEAWATCH_DB``, or the store's
    ``state.db``), as :func:`watchlist_entries`; None when the store has no state."""
    from seawatch.share.db import open_state
    from seawatch.share.location import has_state

    if not has_state(Path(store)):
        return None
    state = open_state(store, create_store=False)
    try:
        return watchlist_entries(state)
    finally:
        state.close()


def file_entries(path: str | Path, watchlist_id: int = -1, first_entry: int = 1
                 ) -> pl.DataFrame:
    """The entries of a watchlist file, as the detector reads them, without storing them
    (``seawatch detect --watchlist``): list id ``watchlist_id``, entries numbered from
    ``first_entry``, the list's name the file's ``list`` column, its JSON ``name`` or the
    file name."""
    from seawatch.detect.watchlist import entry_table

    rows, attrs = read_watchlist_file(path)
    name = attrs.get("name") or Path(path).stem
    return entry_table([{**r, "entry_id": first_entry + i, "watchlist_id": watchlist_id,
                         "list_name": r["list"] or name,
                         "source": r["source"] or attrs.get("source", "")}
                        for i, r in enumerate(rows)])


def watchlist_mmsis(state: State | None, events: pl.DataFrame,
                    ids: Iterable[int]) -> dict[int, set[int]]:
    """The vessels on each list of ``ids``: the MMSIs of the ``watchlist_hit`` events of
    ``events`` that name it, and the MMSIs its entries give (an alert rule's
    ``watchlist_id``)."""
    import polars as pl

    wanted = sorted({int(i) for i in ids})
    out: dict[int, set[int]] = {i: set() for i in wanted}
    if not wanted:
        return out
    if events.height and "details" in events.columns:
        hits = (events.filter(pl.col("type") == WATCHLIST_HIT)
                .select("mmsi", pl.col("details").str.json_path_match("$.watchlist_ids")
                        .str.json_decode(pl.List(pl.Int64)).alias("ids"))
                .explode("ids").drop_nulls())
        for mmsi, wid in hits.iter_rows():
            if wid in out:
                out[wid].add(int(mmsi))
    if state is not None:
        with state.read() as s:
            listed = s.execute(sa.select(WatchlistEntryRow.watchlist_id, WatchlistEntryRow.mmsi)
                               .where(WatchlistEntryRow.watchlist_id.in_(wanted),
                                      WatchlistEntryRow.mmsi.is_not(None))).all()
        for wid, mmsi in listed:
            if mmsi is not None:
                out[wid].add(int(mmsi))
    return out


__all__ = [
    "ALIASES",
    "ENTRY_FIELDS",
    "Watchlist",
    "delete_watchlist",
    "file_entries",
    "get_watchlist",
    "import_watchlists",
    "list_watchlists",
    "parse_rows",
    "read_watchlist_file",
    "stored_entries",
    "visible",
    "watchlist_entries",
    "watchlist_mmsis",
]
