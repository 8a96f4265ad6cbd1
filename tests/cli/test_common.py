"""What every command shares: errors mapped once (one line and the error's exit code; a bug
keeps its traceback), help that names values instead of Python types, the command list."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from seawatch import errors
from seawatch.cli import app
from seawatch.cli.common import Command, new_app

RAW_TYPE = re.compile(r"<(?:bool|str|int|float|path|list\[\w+\])>")


def tiny_app(raise_: BaseException) -> Any:
    """An application with one command, ``fail``, that raises ``raise_``."""
    tiny = new_app(name="tiny")

    def fail() -> None:
        """Raise."""
        raise raise_

    def ok() -> None:
        """Succeed."""

    tiny.command("fail", cls=Command)(fail)
    tiny.command("ok", cls=Command)(ok)
    return tiny


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (errors.InvalidValue("bad value for [gap] min_duration"), 2),
        (errors.NotFound("no store at x"), 2),
        (errors.Unavailable("busy"), 2),
        (errors.InputError("cannot read x.nmea"), 1),
    ],
)
def test_a_seawatch_error_is_one_line_with_its_exit_code(error, code):
    result = CliRunner().invoke(tiny_app(error), ["fail"])
    assert result.exit_code == code
    assert result.stderr == f"error: {error}\n"  # brackets kept: the message is escaped
    assert result.stdout == ""


def test_a_bug_keeps_its_traceback():
    result = CliRunner().invoke(tiny_app(ValueError("a bug")), ["fail"])
    assert isinstance(result.exception, ValueError)  # not turned into a one-liner
    assert "error:" not in result.output


def test_an_unusable_state_database_is_one_line():
    unreachable = sa.exc.OperationalError("SELECT 1", {}, Exception("connection refused\nmore"))
    result = CliRunner().invoke(tiny_app(unreachable), ["fail"])
    assert result.exit_code == 2
    assert result.stderr == "error: cannot use the state database: connection refused\n"


def test_errors_of_a_command_group_are_mapped_too(tmp_path: Path):
    result = CliRunner().invoke(app, ["agency", "list", "--store", str(tmp_path)],
                                env={"SEAWATCH_DB": ""})
    assert result.exit_code == 2
    assert result.stderr.startswith("error: no state at ") and "init-state" in result.stderr


def test_seawatch_help_lists_every_command():
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    commands = result.stdout[result.stdout.index("Commands"):]
    listed = re.findall(r"^│ ([a-z-]+) ", commands, re.MULTILINE)
    assert listed == ["ingest", "info", "demo", "sim", "detect", "events", "identity", "watch",
                      "serve", "eval", "live", "replay", "version", "init-state", "agency",
                      "user", "token", "grant", "marking", "audit", "alerts", "watchlist",
                      "traffic"]


def every_command(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    import typer

    names = []
    command = typer.main.get_command(group) if isinstance(group, typer.Typer) else group
    for name, sub in command.commands.items():
        names.append((*prefix, name))
        if hasattr(sub, "commands"):
            names += every_command(sub, (*prefix, name))
    return names


def test_help_names_values_not_python_types():
    commands = every_command(app)
    assert ("user", "add") in commands and ("ingest",) in commands
    for path in [(), *commands]:
        result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, path
        assert not RAW_TYPE.search(result.stdout), (path, RAW_TYPE.search(result.stdout))
        usage = next(line for line in result.stdout.splitlines() if "Usage:" in line)
        assert "{" not in usage, (path, usage)  # PATHS..., not typer's {paths}...
    ingest_help = CliRunner().invoke(app, ["ingest", "--help"], env={"COLUMNS": "200"}).stdout
    assert "--store -s DIR" in " ".join(ingest_help.replace("│", " ").split())
    assert "created if absent" in ingest_help
    assert "Usage: seawatch ingest [OPTIONS] PATHS..." in ingest_help
    user_add = CliRunner().invoke(app, ["user", "add", "--help"], env={"COLUMNS": "200"}).stdout
    assert "Usage: seawatch user add [OPTIONS] USERNAME" in user_add


def test_info_help_does_not_promise_to_create_the_store():
    text = CliRunner().invoke(app, ["info", "--help"], env={"COLUMNS": "200"}).stdout
    assert "created if absent" not in text and "made by seawatch ingest" in text


@pytest.mark.parametrize("command", ["serve", "events", "demo"])
def test_help_paragraphs_wrap_to_the_terminal(command):
    """At 80 columns a paragraph of the help fills its lines: the docstring's own line breaks
    once left a line of one word after every full one."""
    text = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "80"}).stdout
    free = text[text.index("Usage:"):text.index("╭")].splitlines()[1:]
    paragraphs = "\n".join(line.strip() for line in free).strip().split("\n\n")
    assert len(paragraphs) >= 2
    for paragraph in paragraphs:
        lines = paragraph.splitlines()
        assert all(len(line) >= 60 for line in lines[:-1]), (command, lines)


def test_a_compile_notice_shows_on_stderr():
    import logging

    tiny = new_app(name="tiny")

    def compile_() -> None:
        """Log what seawatch.io.jit logs on a first compile."""
        logging.getLogger("seawatch.jit").info("compiling the NMEA decoder: first run only")

    tiny.command("compile", cls=Command)(compile_)
    tiny.command("other", cls=Command)(lambda: None)
    result = CliRunner().invoke(tiny, ["compile"])
    assert result.exit_code == 0, result.output
    assert result.stderr == "compiling the NMEA decoder: first run only ...\n"
    assert result.stdout == ""
