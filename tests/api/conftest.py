"""Fixtures of the API tests: one small detected store per session with its sharing state
(host agency ECU-NAVY, partner USAF-PARTNER, a user and an API token per role), an
in-process client authenticated as the host's admin, an empty store served in local mode,
and a real uvicorn server on a free port of 127.0.0.1."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.api.api_store import build_store

HOST = "ECU-NAVY"
PARTNER = "USAF-PARTNER"
PASSWORD = "correct horse battery staple"
"""Password of every test user."""
USERS: dict[str, tuple[str, str]] = {
    "admin": ("navy-admin", "admin"),
    "analyst": ("navy-analyst", "analyst"),
    "watch_officer": ("navy-watch", "watch_officer"),
    "partner_viewer": ("usaf-viewer", "partner_viewer"),
    "partner_admin": ("usaf-admin", "admin"),
}
"""Key → (username, role); the partner's users belong to USAF-PARTNER, the others to the host."""
PG_ENV = "SEAWATCH_TEST_PG"


def pytest_configure(config: pytest.Config) -> None:
    # Starlette's TestClient warns that it will move from httpx to httpx2; httpx is what
    # the test extra installs.
    config.addinivalue_line(
        "filterwarnings", "ignore:Using `httpx` with `starlette.testclient`"
    )


@pytest.fixture(scope="session", autouse=True)
def fast_scrypt_and_no_env_db() -> Iterator[None]:
    """Cheap scrypt for the test users' passwords; the tests say where the state lives."""
    from seawatch.share import passwords

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(passwords, "SCRYPT_N", 2**10)
        mp.delenv("SEAWATCH_DB", raising=False)
        yield


@dataclass
class Sharing:
    """A state set up for the tests: agencies, users and one API token per user."""

    state: object  # seawatch.share.db.State
    tokens: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        """``Authorization`` header of a user key of :data:`USERS`."""
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def setup_sharing(state) -> Sharing:
    """Host ECU-NAVY, partner USAF-PARTNER, third agency ECU-CG; :data:`USERS` with tokens."""
    from seawatch.share.accounts import add_agency, add_user, init_state
    from seawatch.share.auth import create_token

    init_state(state, HOST, description="Armada del Ecuador")
    add_agency(state, PARTNER, description="partner air force")
    add_agency(state, "ECU-CG", description="coast guard")
    tokens = {}
    for key, (username, role) in USERS.items():
        agency = PARTNER if key.startswith("partner") else HOST
        add_user(state, username, agency=agency, role=role, password=PASSWORD)
        tokens[key] = create_token(state, username, name="tests").token
    return Sharing(state, tokens)


@pytest.fixture(scope="session")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of 6 h of simulated traffic with its events detected."""
    return build_store(tmp_path_factory.mktemp("api"))


@pytest.fixture(scope="session")
def sharing(store_dir: Path) -> Sharing:
    """The session store's state (``<store>/state.db``) with agencies, users and tokens."""
    from seawatch.share.db import open_state

    return setup_sharing(open_state(store_dir))


@pytest.fixture(scope="session")
def app(store_dir: Path, sharing: Sharing):
    from seawatch.api import create_app

    return create_app(store_dir)


@pytest.fixture(scope="session")
def admin_headers(sharing: Sharing) -> dict[str, str]:
    return sharing.headers("admin")


@pytest.fixture(scope="session")
def client(app, admin_headers):
    """In-process client of the host's admin (a bearer token on every request); server
    exceptions come back as responses (as over HTTP)."""
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False, headers=admin_headers) as c:
        yield c


def make_client(app, **kwargs):
    """A TestClient, imported on use (its import warns that httpx2 will replace httpx)."""
    from fastapi.testclient import TestClient

    return TestClient(app, **kwargs)


def local_client(app, **kwargs):
    """A TestClient that looks like this machine (what local mode answers)."""
    from fastapi.testclient import TestClient

    kwargs = {"base_url": "http://127.0.0.1", "client": ("127.0.0.1", 50000), **kwargs}
    return TestClient(app, **kwargs)


@pytest.fixture(scope="session")
def store(store_dir: Path):
    from seawatch.store import Store

    return Store(store_dir, create=False)


@pytest.fixture
def empty_client(tmp_path: Path):
    """A client over a new store holding nothing yet (local mode)."""
    from seawatch.api import create_app
    from seawatch.store import Store

    Store(tmp_path / "empty")
    with local_client(create_app(tmp_path / "empty", auth="local"),
                      raise_server_exceptions=False) as c:
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


# --- a state of each test's own (sessions, grants, audit) ----------------------------------

_ADDRESSES = itertools.count(10)


@dataclass
class Env:
    """An app over the session's store with a state of its own, and the users' tokens."""

    app: Any
    state: Any
    url: str
    tokens: dict[str, str]

    def client(self, **kwargs: Any):
        """A TestClient from an address of its own (failures lock an address)."""
        from fastapi.testclient import TestClient

        n = next(_ADDRESSES)
        address = f"10.9.{n // 250}.{n % 250 + 1}"
        client = TestClient(self.app, client=(address, 40000), raise_server_exceptions=False,
                            **kwargs)
        client.address = address  # type: ignore[attr-defined]
        return client

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request, store_dir, tmp_path) -> Env:
    """The session's store served with a state of the test's own (SQLite, and PostgreSQL
    when ``SEAWATCH_TEST_PG`` is set)."""
    from seawatch.api import create_app
    from seawatch.share.db import open_state

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'state.db'}"
    else:
        url = request.getfixturevalue("pg_schemas")()
    sharing = setup_sharing(open_state(url))
    return Env(create_app(store_dir, state=sharing.state), sharing.state, url, sharing.tokens)


def login(client, who: str = "admin", password: str = PASSWORD):
    """``POST /api/v1/auth/login`` as a user key of :data:`USERS`."""
    return client.post("/api/v1/auth/login",
                       json={"username": USERS[who][0], "password": password})


# --- PostgreSQL ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_schemas() -> Iterator:
    """A factory of URLs of fresh schemas in the PostgreSQL of ``SEAWATCH_TEST_PG`` (all
    dropped at the end of the session); skips without it."""
    import sqlalchemy as sa

    base = os.environ.get(PG_ENV, "").strip()
    if not base:
        pytest.skip(f"PostgreSQL variant skipped: set {PG_ENV} (see docs/sharing.md)")
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    made: list[str] = []

    def new_url() -> str:
        schema = f"api_{uuid.uuid4().hex[:10]}"
        with engine.connect() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        made.append(schema)
        url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        return url.render_as_string(hide_password=False)

    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as exc:
        engine.dispose()
        pytest.skip(f"PostgreSQL at {PG_ENV} unreachable: {str(exc.orig).strip()[:200]}")
    try:
        yield new_url
    finally:
        with engine.connect() as conn:
            for schema in made:
                conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        engine.dispose()
