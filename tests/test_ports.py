"""The port helpers of the tests (:mod:`tests.ports`) and the server thread's own socket: a
port is held from the moment it is chosen, or a command that lost it is run again."""

from __future__ import annotations

import socket
import urllib.request

import pytest

from seawatch.api.server import ServerThread, bind_socket
from seawatch.store import Store
from tests.ports import ATTEMPTS, on_a_free_port, port_from_os, says_port_busy


def test_server_thread_holds_its_port_from_the_start(tmp_path):
    Store(tmp_path / "s")
    server = ServerThread(tmp_path / "s", auth="local")
    try:
        with socket.socket() as other, pytest.raises(OSError):
            other.bind(("127.0.0.1", server.port))  # nobody can take it before it serves
        server.start()
        with urllib.request.urlopen(server.url + "/api/v1/stats", timeout=10) as response:
            assert response.status == 200
    finally:
        server.stop()
    with bind_socket("127.0.0.1", server.port):  # and it is given back when it stops
        pass


def test_a_command_that_lost_its_port_runs_again_on_another():
    seen: list[int] = []

    def run(port: int) -> str:
        seen.append(port)
        if len(seen) == 1:
            return f"error: cannot listen on 127.0.0.1:{port} (Address already in use)"
        return "serving"

    assert on_a_free_port(run, says_port_busy) == "serving"
    assert len(seen) == 2 and all(p > 0 for p in seen)


def test_every_port_taken_fails_the_test_and_names_them():
    with pytest.raises(AssertionError, match="every port tried was taken"):
        on_a_free_port(lambda port: "[Errno 98] address already in use", says_port_busy)
    assert ATTEMPTS > 1


def test_a_port_from_the_os_can_be_bound():
    with bind_socket("127.0.0.1", port_from_os()) as sock:
        assert sock.getsockname()[1] > 0
