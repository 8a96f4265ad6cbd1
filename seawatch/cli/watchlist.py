"""``seawatch watchlist import|list|show|delete``: watchlists in the state database
(:mod:`seawatch.share.watchlists`).

Like the other commands of the state (:mod:`seawatch.cli.share`) they take ``--store DIR``
and ``--db URL`` (``SEAWATCH_DB``), run as the local operator on the host agency's lists and
record every change and every listing in the audit log. ``seawatch detect`` matches every
list (``watchlist_hit`` events).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from seawatch.cli.common import DEFAULT_STORE, Command, new_app
from seawatch.cli.share import DbOpt, StoreOpt, _fmt, _open, _table, out, record_change, record_read
from seawatch.cli.tables import print_table
from seawatch.share.roles import ALERT_RULE, READ

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

watchlist_app = new_app(help="Watchlists: vessels of interest matched by identity.")


def entries_for_detection(store: Path, files: list[Path]) -> pl.DataFrame | None:
    """The entries ``seawatch detect`` matches: every list of the store's state (when it
    has one) and those of ``files`` (entries numbered after the stored ones, list ids
    negative: -1 for the first file)."""
    import polars as pl

    from seawatch.share.location import has_state

    if not files and not has_state(Path(store)):  # no database layer to load for nothing
        return None
    from seawatch.share.watchlists import file_entries, stored_entries

    stored = stored_entries(store)
    frames = [] if stored is None else [stored]
    for k, path in enumerate(files, start=1):
        first = max((int(f["entry_id"].cast(pl.Int64).max() or 0) + 1  # type: ignore[arg-type]
                     for f in frames if f.height), default=1)
        frames.append(file_entries(path, watchlist_id=-k, first_entry=first))
    frames = [f for f in frames if f.height]
    return pl.concat(frames) if frames else None


@watchlist_app.command("import", cls=Command)
def watchlist_import(
    file: Annotated[Path, typer.Argument(help="CSV or JSON file of entries.", exists=True,
                                         dir_okay=False)],
    store: StoreOpt = DEFAULT_STORE,
    db: DbOpt = None,
    name: Annotated[str | None, typer.Option(
        help="The list's name (default: the file's 'list' column, its JSON 'name', or the "
        "file name).")] = None,
    source: Annotated[str, typer.Option(help="Where the list comes from.")] = "",
    description: Annotated[str, typer.Option(help="What the list is for.")] = "",
    marking: Annotated[str | None, typer.Option(
        help="TLP level: CLEAR, GREEN, AMBER, AMBER+STRICT, RED (default: the store's).")] = None,
    releasable_to: Annotated[str | None, typer.Option(
        "--releasable-to", help="Agencies it may be released to, comma-separated.")] = None,
    replace: Annotated[bool, typer.Option(
        "--replace", help="Replace the entries of the list of that name.")] = False,
) -> None:
    """Import a watchlist (or several: one per value of a 'list' column)."""
    from seawatch.share.watchlists import import_watchlists, read_watchlist_file

    rows, attrs = read_watchlist_file(file)
    has_lists = any(r["list"] for r in rows)
    list_name = name or (None if has_lists and all(r["list"] for r in rows)
                         else attrs.get("name") or file.stem)
    state = _open(store, db)
    made = import_watchlists(
        state, rows, name=list_name, source=source or attrs.get("source", ""),
        description=description or attrs.get("description", ""), marking=marking,
        releasable_to=[a for a in (releasable_to or "").split(",") if a.strip()],
        replace=replace)
    for wl in made:
        record_change(state, ALERT_RULE, f"watchlist:{wl.id}",
                      {"verb": "import", "name": wl.name, "entries": wl.entries,
                       "file": file.name, "marking": wl.marking.level.label})
        out.print(f"watchlist {wl.id} {wl.name!r}: {wl.entries:,} entries, "
                  f"TLP:{wl.marking.level.label}", highlight=False, markup=False)


@watchlist_app.command("list", cls=Command)
def watchlist_list(store: StoreOpt = DEFAULT_STORE, db: DbOpt = None) -> None:
    """List the watchlists."""
    from seawatch.share.watchlists import list_watchlists

    state = _open(store, db)
    lists = list_watchlists(state)
    record_read(state, READ, "watchlists", {"rows": len(lists)})
    table = _table("id", "name", "entries", "source", "owner", "marking", "releasable to",
                   "updated")
    for wl in lists:
        table.add_row(str(wl.id), wl.name, f"{wl.entries:,}", wl.source, wl.owner,
                      wl.marking.level.label, ", ".join(wl.marking.releasable_to),
                      _fmt(wl.updated_at))
    print_table(table, out)


@watchlist_app.command("show", cls=Command)
def watchlist_show(
    ref: Annotated[str, typer.Argument(help="Watchlist id or name.")],
    store: StoreOpt = DEFAULT_STORE,
    db: DbOpt = None,
) -> None:
    """Show a watchlist and its entries."""
    from seawatch.share.watchlists import get_watchlist

    state = _open(store, db)
    wl = get_watchlist(state, ref)
    record_read(state, READ, f"watchlist:{wl.id}", {})
    for key, value in wl.as_json().items():
        out.print(f"{key:14} {'-' if value in (None, '', []) else value}", highlight=False,
                  markup=False)
    table = _table("entry", "name", "imo", "callsign", "mmsi", "flag", "source", "reason")
    for e in wl.rows:
        table.add_row(*("" if e[k] is None else str(e[k]) for k in (
            "id", "name", "imo", "callsign", "mmsi", "flag", "source", "reason")))
    print_table(table, out)


@watchlist_app.command("delete", cls=Command)
def watchlist_delete(
    ref: Annotated[str, typer.Argument(help="Watchlist id or name.")],
    store: StoreOpt = DEFAULT_STORE,
    db: DbOpt = None,
) -> None:
    """Delete a watchlist and its entries."""
    from seawatch.share.watchlists import delete_watchlist

    state = _open(store, db)
    wid = delete_watchlist(state, ref)
    record_change(state, ALERT_RULE, f"watchlist:{wid}", {"verb": "delete", "ref": ref})
    out.print(f"watchlist {wid} deleted", highlight=False)
