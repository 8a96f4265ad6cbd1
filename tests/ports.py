"""Ports for tests that start servers: no test depends on a port being free by chance.

- A server a test starts in its own process binds its socket itself, on port 0, and reports
  the port it got: :class:`seawatch.api.server.ServerThread` (and
  :func:`seawatch.api.server.bind_socket` for a uvicorn server built by hand).
- A command that takes ``--port`` (``seawatch serve``, ``seawatch demo``) binds the port it is
  given, so the test can only offer it one the operating system has just handed out; another
  program (a parallel test run, an outgoing connection given the same ephemeral port) may
  take it before the command binds it. :func:`on_a_free_port` then runs the command again on
  another port, up to :data:`ATTEMPTS` times, and fails only if every port was taken.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from seawatch.api.server import bind_socket

T = TypeVar("T")

ATTEMPTS = 5
"""Ports tried before a test gives up (each one taken by chance: vanishingly unlikely)."""
BUSY_WORDS = ("cannot listen on", "address already in use")
"""What ``seawatch serve`` (its own check, or uvicorn's bind) says when the port is taken."""


def port_from_os(host: str = "127.0.0.1") -> int:
    """A port the operating system handed out just now (released again: offer it to a
    command through :func:`on_a_free_port`, never on its own)."""
    with bind_socket(host, 0) as sock:
        return int(sock.getsockname()[1])


def says_port_busy(output: str) -> bool:
    """Whether a command's output says its port was taken (:data:`BUSY_WORDS`)."""
    text = " ".join(output.split()).lower()
    return any(words in text for words in BUSY_WORDS)


def on_a_free_port(run: Callable[[int], T], busy: Callable[[T], bool],
                   attempts: int = ATTEMPTS) -> T:
    """``run(port)`` on a port from the operating system, again on another while
    ``busy(result)`` says the port was taken; the first result that is not.

    Raises
    ------
    AssertionError
        Every one of ``attempts`` ports was taken.
    """
    tried = []
    for _ in range(attempts):
        port = port_from_os()
        tried.append(port)
        result = run(port)
        if not busy(result):
            return result
    raise AssertionError(f"every port tried was taken: {tried}")
