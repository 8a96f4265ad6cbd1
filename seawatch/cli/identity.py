"""``seawatch identity MMSI``: a vessel's identity history (:mod:`seawatch.detect.identity`)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from seawatch.cli.common import DEFAULT_STORE, ExistingStoreOpt, err, open_store
from seawatch.cli.share import record_store_read
from seawatch.cli.tables import print_table
from seawatch.errors import NotFound
from seawatch.share.roles import READ


def identity(
    mmsi: Annotated[int, typer.Argument(help="The vessel's MMSI.", min=0)],
    store: ExistingStoreOpt = DEFAULT_STORE,
) -> None:
    """Show every name, call sign, IMO number, ship type, dimensions and flag a vessel has
    reported, with when each was first and last seen."""
    import polars as pl

    from seawatch.detect.identity import IdentityParams, identity_history, mmsi_problems

    st = open_store(store)
    reports = st.vessels(mmsi=mmsi).collect()
    record_store_read(store, READ, "cli:identity", {"mmsi": mmsi})
    history = identity_history(reports, mmsi=mmsi)
    if history.height == 0:
        raise NotFound(f"no identity report of MMSI {mmsi} in {store}")
    problem = pl.select(mmsi_problems(pl.lit(mmsi, pl.Int64),
                                      list(IdentityParams().placeholder_mmsis))).item()
    if problem is not None:
        err.print(f"MMSI {mmsi} cannot be a ship's: {problem}", highlight=False, markup=False)
    table = Table(title=f"Identity of MMSI {mmsi}")
    for column in ("field", "value", "label", "first seen", "last seen", "reports", "days"):
        table.add_column(column, justify="right" if column in ("reports", "days") else "left")
    for row in history.iter_rows(named=True):
        table.add_row(row["field"], row["value"], row["label"] or "",
                      f"{row['first_seen']:%Y-%m-%d %H:%M:%S}Z",
                      f"{row['last_seen']:%Y-%m-%d %H:%M:%S}Z",
                      str(row["reports"]), str(row["days"]))
    print_table(table)
