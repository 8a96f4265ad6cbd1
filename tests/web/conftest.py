"""Fixtures of the web map tests: a small store, the real API app served by uvicorn in a
background thread, and one headless Chromium for the session.

The browser tests skip when Chromium is absent (``/usr/bin/chromium``, or the path in
``SEAWATCH_CHROMIUM``). Screenshots go to a temporary folder, or to the folder named by
``SEAWATCH_SCREENSHOTS`` (``SEAWATCH_SCREENSHOTS=docs/screenshots`` regenerates the docs').
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.web.cdp import CHROMIUM, Browser

SCENARIO = {"seed": 2, "hours": 6, "vessels": 40}
"""Small but varied: 6 h is the least that holds an encounter and a loitering (with port
visits and zone crossings), so the evidence of a pair is tested too. Its planted position
jump is a single report: an outlier, not spoofing, since issue 12."""

GAP_SCENARIO = {"seed": 2, "hours": 20, "vessels": 40}
"""The shortest scenario the simulator plants an AIS gap in (a dark run needs 18 h), for the
tests of how a gap is drawn; about 8 s to build."""


@dataclass(frozen=True)
class Server:
    """The API app running on ``url`` (``http://127.0.0.1:PORT/``)."""

    url: str
    host: str

    def get(self, path: str) -> Any:
        """JSON of ``GET path`` (relative to the root, no leading slash)."""
        with urllib.request.urlopen(self.url + path, timeout=30) as response:
            return json.load(response)


def build_store(root: Path, scenario: dict[str, Any]) -> Path:
    """A store of a simulated scenario under ``root``, ingested and with detection run."""
    from seawatch.detect.run import detect_store
    from seawatch.sim import write_scenario
    from seawatch.store import Store

    paths = write_scenario(root / "scenario", csv=False, **scenario)
    store = Store(root / "store")
    store.ingest([paths["nmea"]])
    detect_store(store)
    return root / "store"


@contextlib.contextmanager
def serve(store: Path) -> Iterator[Server]:
    """``seawatch.api.app.create_app`` over ``store`` in local mode, served by uvicorn in a
    thread on a socket bound before the server starts (no port to race for)."""
    uvicorn = pytest.importorskip("uvicorn")
    from seawatch.api.app import create_app
    from seawatch.api.server import UVICORN_SETTINGS, bind_socket, uvicorn_server

    sock = bind_socket("127.0.0.1", 0)
    host = f"127.0.0.1:{sock.getsockname()[1]}"
    # the settings `seawatch serve` runs with (no proxy headers believed, no server header)
    app = create_app(store, auth="local")
    config = uvicorn.Config(app, log_level="warning", **UVICORN_SETTINGS)
    uv = uvicorn_server(config, app)  # ends the map's live streams when it stops
    thread = threading.Thread(
        target=lambda: asyncio.run(uv.serve(sockets=[sock])), name="seawatch-web", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    try:
        yield Server(url=f"http://{host}/", host=host)
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="session")
def web_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of a simulated scenario, ingested and with detection run."""
    return build_store(tmp_path_factory.mktemp("web-store"), SCENARIO)


@pytest.fixture(scope="session")
def server(web_store: Path) -> Iterator[Server]:
    """The API app over the web store, served by uvicorn on a free port."""
    with serve(web_store) as running:
        yield running


@pytest.fixture(scope="session")
def gap_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The API app over a store of :data:`GAP_SCENARIO` (which holds an AIS gap)."""
    with serve(build_store(tmp_path_factory.mktemp("web-gap-store"), GAP_SCENARIO)) as running:
        yield running


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the session (killed at the end)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (install chromium to run the web tests)")
    with Browser() as b:
        yield b


@pytest.fixture
def page(browser: Browser, server: Server) -> Browser:
    """The map loaded afresh, ready (data loaded and drawn), with empty records."""
    browser.reset()
    browser.navigate(server.url)
    browser.wait_for("window.seawatch && window.seawatch.ready === true", timeout=60)
    return browser


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: ``$SEAWATCH_SCREENSHOTS`` or a temporary folder."""
    wanted = os.environ.get("SEAWATCH_SCREENSHOTS")
    if wanted:
        path = Path(wanted)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("screenshots")
