"""Fixtures of the API tests: one small detected store per session, an in-process client,
an empty store, and a real uvicorn server on a free port of 127.0.0.1."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.api_store import build_store


def pytest_configure(config: pytest.Config) -> None:
    # Starlette's TestClient warns that it will move from httpx to httpx2; httpx is what
    # the test extra installs.
    config.addinivalue_line(
        "filterwarnings", "ignore:Using `httpx` with `starlette.testclient`"
    )


@pytest.fixture(scope="session")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of 6 h of simulated traffic with its events detected."""
    return build_store(tmp_path_factory.mktemp("api"))


@pytest.fixture(scope="session")
def app(store_dir: Path):
    from seawatch.api import create_app

    return create_app(store_dir)


@pytest.fixture(scope="session")
def client(app):
    """In-process client; server exceptions come back as responses (as over HTTP)."""
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="session")
def store(store_dir: Path):
    from seawatch.store import Store

    return Store(store_dir, create=False)


@pytest.fixture
def empty_client(tmp_path: Path):
    """A client over a new store holding nothing yet."""
    from fastapi.testclient import TestClient

    from seawatch.api import create_app
    from seawatch.store import Store

    Store(tmp_path / "empty")
    with TestClient(create_app(tmp_path / "empty"), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="session")
def live_server(app) -> Iterator[str]:
    """A real uvicorn server in a background thread; yields its base URL."""
    from seawatch.api.server import ServerThread

    saved = {k: os.environ.get(k) for k in ("NO_PROXY", "no_proxy")}
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    server = ServerThread(app=app).start()
    try:
        yield server.url
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
