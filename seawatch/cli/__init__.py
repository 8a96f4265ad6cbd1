"""The ``seawatch`` command line: ingest AIS, inspect the store, detect, serve, run the demo.

One module per command group; this one builds the application from them:

=====================================  =====================================================
:mod:`seawatch.cli.common`             consoles, progress bars, store options, reading
                                       zones and ports files; errors mapped once
:mod:`seawatch.cli.tables`             tables printed whole at any width (boxed, compact
                                       or one block per row)
:mod:`seawatch.cli.ingest`             ``ingest``, ``info``
:mod:`seawatch.cli.detect`             ``detect``, ``events``, ``eval``
:mod:`seawatch.cli.identity`           ``identity`` (a vessel's identity history)
:mod:`seawatch.cli.watch`              ``watch`` (today's watch list, ordered by risk)
:mod:`seawatch.cli.serve`              ``serve``, ``demo``
:mod:`seawatch.cli.sim`                ``sim``
:mod:`seawatch.cli.live`               ``live``, ``replay``
:mod:`seawatch.cli.share`              ``init-state``, ``agency``, ``user``, ``token``,
                                       ``grant``, ``marking``, ``audit``
:mod:`seawatch.cli.alerts`             ``alerts`` (and ``alerts rule``)
:mod:`seawatch.cli.watchlist`          ``watchlist`` (import, list, show, delete)
:mod:`seawatch.cli.traffic`            ``traffic build`` (the traffic picture)
=====================================  =====================================================

Every long run shows a progress bar; every failure says what was wrong and what to do (one
line, ``error: ...``, :mod:`seawatch.cli.common`). Heavy modules (numba kernels, DuckDB,
SQLAlchemy) load inside the commands, so ``seawatch --help`` is quick.
"""

from __future__ import annotations

from collections.abc import Callable

from seawatch.cli import (
    alerts,
    detect,
    identity,
    ingest,
    live,
    serve,
    share,
    sim,
    traffic,
    watch,
    watchlist,
)
from seawatch.cli.common import Command, console, new_app

__all__ = ["app", "main"]

app = new_app(
    name="seawatch",
    help="Open, offline maritime domain awareness: ingest AIS, detect, serve the map.",
)


def version() -> None:
    """Print the seawatch version."""
    from seawatch import __version__

    console.print(__version__)


COMMANDS: dict[str, Callable[..., None]] = {
    "ingest": ingest.ingest,
    "info": ingest.info,
    "demo": serve.demo,
    "sim": sim.sim,
    "detect": detect.detect,
    "events": detect.events,
    "identity": identity.identity,
    "watch": watch.watch,
    "serve": serve.serve,
    "eval": detect.eval_,
    "live": live.live,
    "replay": live.replay,
    "version": version,
}
"""The top-level commands, in the order ``seawatch --help`` lists them (then the sharing
layer's, :func:`seawatch.cli.share.register`)."""

for _name, _function in COMMANDS.items():
    app.command(_name, cls=Command)(_function)
share.register(app)
app.add_typer(alerts.alerts_app, name="alerts")
app.add_typer(watchlist.watchlist_app, name="watchlist")
app.add_typer(traffic.traffic_app, name="traffic")


def main() -> None:
    """Run the command line (the ``seawatch`` script)."""
    app()
