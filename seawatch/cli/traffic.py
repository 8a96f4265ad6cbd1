"""``seawatch traffic build``: the traffic picture of a store (:mod:`seawatch.traffic.density`),
written as ``traffic.parquet`` in the store folder (docs/store.md, *traffic*)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from seawatch.cli.common import DEFAULT_STORE, Command, console, new_app

traffic_app = new_app(help="The traffic picture: vessels per H3 cell and type group.")


@traffic_app.command("build", cls=Command)
def traffic_build(
    store: Annotated[Path, typer.Option("--store", "-s", help="Store directory.",
                                        exists=True, file_okay=False)] = DEFAULT_STORE,
    resolution: Annotated[int, typer.Option(
        min=0, max=15, help="H3 resolution of the cells (6: about 36 km²).")] = 6,
) -> None:
    """Count the vessels and positions of each type group per H3 cell, over every position
    of the store, and write the picture beside the events."""
    from seawatch.store import Store
    from seawatch.traffic.density import build_store_picture, store_picture_path, write_picture

    opened = Store(store, create=False)
    t0 = time.perf_counter()
    picture = build_store_picture(opened, resolution)
    path = write_picture(picture, store_picture_path(opened))
    seconds = time.perf_counter() - t0
    groups = ", ".join(f"{g} {n}" for g, n in picture.group_vessels.items()) or "none"
    console.print(
        f"{picture.cells.height} cells at resolution {resolution} from {picture.positions} "
        f"positions ({picture.hours:.1f} h; vessels: {groups}) in {seconds:.1f} s -> {path}"
    )
