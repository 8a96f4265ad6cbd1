"""The background server starts, answers and stops."""

from __future__ import annotations

import json
import urllib.request

from seawatch.api.server import ServerThread


def test_server_thread_starts_and_stops(store_dir):
    with ServerThread(store_dir) as server:
        with urllib.request.urlopen(server.url + "/ogc/conformance", timeout=10) as r:
            assert "conformsTo" in json.load(r)
        thread = server._thread
    assert not thread.is_alive()
