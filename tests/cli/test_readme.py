"""The README's usage section, tried as a new user would: its commands exist and run, the
first user is created before ``serve``, its stores stay out of the repository, and the slow
tests it documents exist."""

from __future__ import annotations

import itertools
import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import seawatch.cli.serve as cli_serve
from seawatch.cli import app

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
PASSWORD = "a long enough password for the tests"


def commands() -> list[str]:
    """The ``seawatch`` command lines of the README's shell blocks (continuations joined)."""
    blocks = re.findall(r"```bash\n(.*?)```", README, re.DOTALL)
    text = "\n".join(blocks).replace("\\\n", " ")
    return [" ".join(line.split()[1:]) for line in text.splitlines()
            if line.startswith(".venv/bin/seawatch ")]


def test_every_command_of_the_readme_exists_with_its_options():
    found = commands()
    assert len(found) >= 12
    for line in found:
        argv = shlex.split(line.replace("[", "").replace("]", ""))
        path = [a for a in argv if not a.startswith("-")][:2]
        name = path if path[:1] in (["user"], ["token"]) else path[:1]
        help_text = CliRunner().invoke(app, [*name, "--help"], env={"COLUMNS": "200"})
        assert help_text.exit_code == 0, line
        for option in (a.split("=")[0] for a in argv if a.startswith("--")):
            assert option in help_text.stdout, (line, option)


def test_the_first_user_is_created_before_serve_and_serve_then_starts(tmp_path, monkeypatch):
    """init-state, user add, token create, serve: run as written (the store moved to a
    temporary folder), serve gets past its check that somebody can log in."""
    from seawatch.share import passwords
    from seawatch.store import Store

    monkeypatch.setattr(passwords, "SCRYPT_N", 2**10)
    monkeypatch.delenv("SEAWATCH_DB", raising=False)
    served: list[int] = []
    monkeypatch.setattr(cli_serve, "_run_app",
                        lambda app, host, port, sock: served.append(port))
    # the README's port 8000 may be taken on this machine: that is not what is tried here
    monkeypatch.setattr(cli_serve, "_reserve_port", lambda host, port: socket.socket())
    found = commands()
    steps = [next(i for i, c in enumerate(found) if c.startswith(word))
             for word in ("init-state", "user add", "token create", "serve")]
    assert steps == sorted(steps), "the README creates the first user before serve"
    store = tmp_path / "store"
    Store(store)
    for index in steps:
        line = found[index].replace("~/seawatch/store", str(store))
        result = CliRunner().invoke(app, shlex.split(line), input=f"{PASSWORD}\n{PASSWORD}\n",
                                    env={"COLUMNS": "200"})
        assert result.exit_code == 0, (line, result.output)
    assert served == [8000]


def test_the_examples_keep_their_stores_out_of_the_repository():
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert "/seawatch-store/" in ignored and "/seawatch-demo/" in ignored  # the defaults
    for line in commands():
        argv = shlex.split(line.replace("[", "").replace("]", ""))
        for option, value in itertools.pairwise(argv):
            if option in ("--store", "--out", "--dir"):
                assert value.startswith("~/"), line


def test_the_example_detector_config_is_referenced():
    assert "docs/detect-config.toml" in README
    assert (ROOT / "docs" / "detect-config.toml").is_file()
    assert "detect-config.toml" in (ROOT / "docs" / "detect.md").read_text(encoding="utf-8")


def test_pytest_m_slow_collects_the_slow_tests():
    if "pytest -m slow" not in README:
        pytest.fail("the README no longer documents the slow tests")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q",
         "-m", "slow", "tests/evaluate"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    collected = [line for line in done.stdout.splitlines() if "::" in line]
    assert len(collected) >= 7 and all("test_quality.py" in c for c in collected)
