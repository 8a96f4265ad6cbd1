"""What every ``seawatch`` command shares: the consoles, the progress bars, the store options,
reading a store, a zones file or a ports file, and the one place where errors become a line.

Errors are mapped once, by :class:`Group` (the class of the application and of every command
group): a :class:`~seawatch.errors.SeawatchError` raised anywhere in a command ends it with
``error: <message>`` on stderr and the error's :attr:`~seawatch.errors.SeawatchError.exit_code`;
so does a state database that cannot be used. Any other exception is a bug and keeps its
traceback. Commands therefore raise the kinds of :mod:`seawatch.errors` and catch nothing.

Examples
--------
>>> from seawatch.errors import NotFound
>>> user_error(NotFound("no store at x")).exit_code
2
>>> user_error(ValueError("a bug")) is None
True
"""

from __future__ import annotations

import inspect
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console, ConsoleDimensions
from rich.markup import escape
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from seawatch.errors import InvalidValue, NotFound, SeawatchError

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl
    from rich.progress import Progress, TaskID

    from seawatch.geo.zones import Zone
    from seawatch.store import Store

LOG_WIDTH = 120
"""Width of results written to a file or a pipe when ``COLUMNS`` does not say one."""


class ResultConsole(Console):
    """A console as wide as ``$COLUMNS`` when it is set, else as the terminal, else
    :data:`LOG_WIDTH` (a log file or a pipe), read at each print: a command run with
    ``COLUMNS=80`` prints for 80 columns (:func:`seawatch.cli.tables.print_table`)."""

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        if self._width is None and not self.is_terminal and "COLUMNS" not in os.environ:
            return ConsoleDimensions(LOG_WIDTH, size.height)
        return size

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size


console = ResultConsole(stderr=False, soft_wrap=True)
"""Results on stdout."""
err = Console(stderr=True, soft_wrap=True)
"""Progress, notes and errors on stderr (soft wrap: errors stay whole lines in logs)."""

DEFAULT_STORE = Path("seawatch-store")
"""Store directory when ``--store`` is not given."""

StoreOpt = Annotated[
    Path,
    typer.Option("--store", "-s", metavar="DIR", help="Store directory (created if absent).",
                 show_default=True),
]
"""``--store`` of a command that creates the store when it is absent (``ingest``)."""
ExistingStoreOpt = Annotated[
    Path,
    typer.Option("--store", "-s", metavar="DIR", help="Store directory (made by seawatch ingest)."),
]
"""``--store`` of a command that reads an existing store."""


# --- errors: mapped once ------------------------------------------------------------------


def user_error(exc: BaseException) -> SeawatchError | None:
    """The error a user reads for ``exc``, or None when ``exc`` is a bug.

    A :class:`~seawatch.errors.SeawatchError` is itself; a state database that cannot be used
    (SQLAlchemy's ``OperationalError``: server unreachable, file locked or unreadable) becomes
    :func:`seawatch.share.db.database_error`. Everything else is None.
    """
    if isinstance(exc, SeawatchError):
        return exc
    sa_exc = sys.modules.get("sqlalchemy.exc")  # not loaded: not a database error
    if sa_exc is not None and isinstance(exc, sa_exc.OperationalError):
        from seawatch.share.db import database_error

        return database_error(exc)
    return None


def print_error(error: SeawatchError) -> None:
    """``error: <message>`` on stderr (the message is escaped: ``[gap]`` stays visible)."""
    err.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False)


_VALUE_NAMES = {"str": "TEXT", "int": "INTEGER", "float": "FLOAT", "Path": "PATH"}


def _value_name(param: TyperOption) -> str:
    """What a value of ``param`` is called in the help: its metavar, else a name for its
    Python type (TEXT, INTEGER, FLOAT, PATH; one item's name for a list)."""
    if param.metavar is not None:
        return param.metavar
    python = param.bare_type().removeprefix("list[").removesuffix("]")
    return _VALUE_NAMES.get(python, python.upper())


class _Argument(TyperArgument):
    """A positional argument whose help shows its name and text, not a Python type, and
    whose usage line names it as command lines do (``PATHS...``, not ``{paths}...``)."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None

    def _usage_display_name(self) -> str:
        name = self.metavar or (self.name or "").upper()
        name = name if self.required else f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")


class _Option(TyperOption):
    """An option whose help names its value (``DIR``, ``TEXT``), or nothing for a flag."""

    def display_type_rich(self, ctx: Any) -> str | None:
        if self.is_flag or self.count:
            return None
        return _value_name(self) + ("..." if self.nargs != 1 else "")


def _named_values(params: list[Any]) -> list[Any]:
    # typer builds its own parameter classes, whose help prints Python types (``<bool>``,
    # ``<list[Path]>``) and offers no setting against it; these subclasses change only what
    # the help shows. (``ctx`` below is typer's click context.)
    for param in params:
        if type(param) is TyperArgument:
            param.__class__ = _Argument
        elif type(param) is TyperOption:
            param.__class__ = _Option
    return params


def reflow(text: str | None) -> str | None:
    r"""A command's docstring as its help shows it: each paragraph one line, which the help
    wraps to the terminal (typer keeps the docstring's own line breaks, so at 80 columns a
    line of 95 characters ends in a line of one word).

    >>> reflow("Serve a store.\n\n    Every request needs a token\n    or a login.\n")
    'Serve a store.\n\nEvery request needs a token or a login.'
    """
    if not text:
        return text
    paragraphs = re.split(r"\n\s*\n", inspect.cleandoc(text))
    return "\n\n".join(" ".join(paragraph.split()) for paragraph in paragraphs)


class Command(TyperCommand):
    """A ``seawatch`` command (``app.command(cls=Command)``): its help names values, and its
    paragraphs wrap to the terminal (:func:`reflow`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = reflow(self.help)

    def get_params(self, ctx: Any) -> list[Any]:
        return _named_values(super().get_params(ctx))


class Group(TyperGroup):
    """The application and each command group (:func:`new_app`): maps the errors of every
    command below it once (:func:`user_error`, :func:`print_error`), and its help names
    values."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _named_values(super().get_params(ctx))

    def invoke(self, ctx: Any) -> Any:
        show_compile_notices()
        try:
            return super().invoke(ctx)
        except Exception as exc:
            error = user_error(exc)
            if error is None:
                raise
            print_error(error)
            raise typer.Exit(error.exit_code) from None


def new_app(**settings: Any) -> typer.Typer:
    """A Typer application or command group whose class is :class:`Group`."""
    return typer.Typer(cls=Group, no_args_is_help=True, add_completion=False, **settings)


# --- stores, zones and ports files --------------------------------------------------------


def open_store(path: Path) -> Store:
    """The existing store at ``path`` (:class:`~seawatch.errors.NotFound` naming how to make
    one; :class:`~seawatch.store.StoreError` when it is damaged or newer)."""
    from seawatch.store import Store

    if not (path / "seawatch-store.json").is_file():
        raise NotFound(f"no store at {path}; create one with: seawatch ingest FILE --store {path}")
    return Store(path, create=False)


def read_zones_file(path: Path) -> list[Zone]:
    """The zones of a user's file (GeoJSON; Shapefile/GeoPackage with pyogrio), at least one.

    Raises
    ------
    NotFound
        No such file.
    InvalidValue
        The file cannot be read as zones (the reader's reason is in the message), or holds
        none.
    """
    from seawatch.geo import load_zones

    if not path.is_file():
        raise NotFound(f"no such zones file: {path}")
    try:
        zones = load_zones(path)
    except (ValueError, ImportError, OSError, KeyError) as exc:  # what the readers raise
        raise InvalidValue(f"cannot use zones file {path}: {exc}") from exc
    if not zones:
        raise InvalidValue(f"zones file {path} holds no zones")
    return zones


def read_ports_file(path: Path) -> pl.DataFrame:
    """The ports of a user's CSV (name,lat,lon) or GeoJSON points file.

    Raises
    ------
    NotFound
        No such file.
    InvalidValue
        The file cannot be read as ports (the reader's reason is in the message).
    """
    from seawatch.geo import load_ports

    if not path.is_file():
        raise NotFound(f"no such ports file: {path}")
    try:
        return load_ports(path)
    except (ValueError, OSError, KeyError) as exc:  # what the reader raises
        raise InvalidValue(f"cannot use ports file {path}: {exc}") from exc


# --- progress bars and notices ------------------------------------------------------------


class _NoticeHandler(logging.Handler):
    """Prints a log record on stderr, above any progress bar being drawn there."""

    def emit(self, record: logging.LogRecord) -> None:
        err.print(f"[dim]{escape(record.getMessage())} ...[/]", highlight=False)


def show_compile_notices() -> None:
    """Show on stderr the line :mod:`seawatch.io.jit` logs when numba compiles a kernel on a
    first run (``compiling the NMEA decoder (framing): first run only, ...``), so no step
    sits silent while it compiles. Idempotent."""
    logger = logging.getLogger("seawatch.jit")
    if not any(isinstance(h, _NoticeHandler) for h in logger.handlers):
        logger.addHandler(_NoticeHandler())
        logger.setLevel(logging.INFO)



def file_progress() -> Progress:
    """Progress bars of files read (bytes, speed, time left), on stderr."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    return Progress(
        TextColumn("[bold blue]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    )


@contextmanager
def sim_progress() -> Iterator[Callable[[str, int, int], None]]:
    """Progress bars of the simulator's stages; yields its ``on_progress`` callback."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(TextColumn("[bold blue]{task.description}"), BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=err) as progress:
        tasks: dict[str, TaskID] = {}

        def on_progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                label = {"plan": "simulate: plan", "truth": "simulate: truth (tracks)",
                         "output": "simulate: output (seconds)"}.get(stage, stage)
                tasks[stage] = progress.add_task(label, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        yield on_progress
