"""``seawatch watch``: today's watch list, the vessels ordered by risk (:mod:`seawatch.risk`)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from seawatch.cli.common import DEFAULT_STORE, ExistingStoreOpt, console, open_store
from seawatch.cli.share import record_store_read
from seawatch.cli.tables import print_table
from seawatch.errors import InvalidValue, Unavailable
from seawatch.share.roles import READ


def watch(
    store: ExistingStoreOpt = DEFAULT_STORE,
    top: Annotated[int, typer.Option("--top", "-n", min=1, help="Vessels listed.")] = 20,
    day: Annotated[
        str | None,
        typer.Option("--day", "-d", metavar="YYYY-MM-DD",
                     help="The UTC day (default: the day of the latest event)."),
    ] = None,
    reasons: Annotated[int, typer.Option("--reasons", min=1,
                                         help="Reasons shown per vessel.")] = 3,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", metavar="FILE", exists=True, dir_okay=False,
                     help="A TOML file whose [risk] table overrides the weights."),
    ] = None,
) -> None:
    """Today's watch list: the vessels of the day's events ordered by risk, each with its
    risk and its strongest reasons (signal, contribution, evidence events). See
    docs/risk.md for the signals and their weights."""
    from seawatch.risk import load_risk_params, watch_list, with_names

    try:
        wanted = date.fromisoformat(day) if day else None
    except ValueError:
        raise InvalidValue(f"--day must be a date YYYY-MM-DD, got {day!r}") from None
    params = load_risk_params(config)
    st = open_store(store)
    if st.events_info() is None:
        raise Unavailable(f"no events in {store} yet; run: seawatch detect --store {store}")
    events = st.events().collect()
    record_store_read(store, READ, "cli:watch", {"day": day, "top": top})
    ranked, shown_day = watch_list(events, wanted, top, params)
    if ranked.height == 0:
        console.print(f"no vessel at risk on {shown_day}", highlight=False)
        return
    ranked = with_names(ranked, st.vessels(mmsi=ranked["mmsi"].to_list()).collect())
    table = Table(title=f"Watch list {shown_day or ''} ({ranked.height} vessels)")
    for column in ("#", "mmsi", "name", "risk", "why"):
        table.add_column(column, justify="right" if column in ("#", "risk") else "left")
    for rank, row in enumerate(ranked.iter_rows(named=True), start=1):
        why = "; ".join(
            f"{b['signal']} {b['contribution']:.2f} ({b['count']}: {', '.join(b['events'][:2])})"
            for b in row["breakdown"][:reasons]
        )
        table.add_row(str(rank), str(row["mmsi"]), row["name"] or "", f"{row['risk']:.3f}", why)
    print_table(table)
