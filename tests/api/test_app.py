"""The application shell: the web map's files, the missing-map page, the background server."""

from __future__ import annotations

import json
import urllib.request

import pytest

from seawatch.api import create_app
from seawatch.api.pages import DEFAULT_WEB_DIR
from seawatch.api.server import ServerThread
from tests.api.conftest import local_client


@pytest.fixture
def web_dir(tmp_path):
    folder = tmp_path / "web"
    (folder / "vendor").mkdir(parents=True)
    (folder / "index.html").write_text("<!doctype html><title>map</title>"
                                       '<script src="static/app.js"></script>')
    (folder / "app.js").write_text("console.log('map');")
    (folder / "vendor" / "lib.css").write_text("body{}")
    return folder


def make_client(app, **kwargs):
    """A TestClient, imported on use (its import warns that httpx2 will replace httpx)."""
    from fastapi.testclient import TestClient

    return TestClient(app, **kwargs)


def test_index_and_static_assets(store_dir, web_dir):
    client = make_client(create_app(store_dir, web_dir=web_dir))  # public: no credentials
    index = client.get("/")
    assert index.status_code == 200 and "<title>map</title>" in index.text
    assert index.headers["content-type"].startswith("text/html")
    script = client.get("/static/app.js")
    assert script.status_code == 200 and script.text == "console.log('map');"
    assert "javascript" in script.headers["content-type"]
    assert script.headers["x-content-type-options"] == "nosniff"
    assert client.get("/static/vendor/lib.css").headers["content-type"].startswith("text/css")
    assert client.get("/static/missing.js").status_code == 404
    assert client.get("/static/../../seawatch-store.json").status_code == 404
    assert client.get("/static/%2e%2e/%2e%2e/seawatch-store.json").status_code == 404


@pytest.mark.parametrize("layout", ["no folder", "no index"])
def test_missing_map_is_a_short_page_not_an_error(store_dir, tmp_path, layout, admin_headers):
    folder = tmp_path / "web"
    if layout == "no index":
        folder.mkdir()
        (folder / "app.js").write_text("")
    client = make_client(create_app(store_dir, web_dir=folder), headers=admin_headers)
    page = client.get("/")
    assert page.status_code == 200
    assert "map's files are missing" in page.text and 'href="docs"' in page.text
    assert client.get("/api/v1/stats").status_code == 200


def test_default_web_dir_is_the_package_map(client):
    page = client.get("/")
    assert page.status_code == 200
    if (DEFAULT_WEB_DIR / "index.html").is_file():
        assert page.text == (DEFAULT_WEB_DIR / "index.html").read_text(encoding="utf-8")
    else:
        assert "missing" in page.text


def test_not_a_store_is_refused(tmp_path):
    from seawatch.store import StoreError

    with pytest.raises(StoreError):
        create_app(tmp_path / "nothing")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "file.txt").write_text("x")
    with pytest.raises(StoreError):
        create_app(tmp_path / "junk")


def test_server_thread_starts_and_stops(store_dir):
    with ServerThread(store_dir) as server:
        with urllib.request.urlopen(server.url + "/ogc/conformance", timeout=10) as r:
            assert "conformsTo" in json.load(r)
        thread = server._thread
    assert not thread.is_alive()


def test_local_mode_answers_this_machine_only(store_dir):
    app = create_app(store_dir, auth="local")
    here = local_client(app)
    assert here.get("/api/v1/stats").status_code == 200
    me = here.get("/api/v1/auth/me").json()
    assert (me["user"], me["role"], me["mode"], me["host"]) == ("local", "analyst", "local",
                                                                True)
    for client in (make_client(app),  # another client address and Host
                   make_client(app, base_url="http://127.0.0.1", client=("10.1.2.3", 1)),
                   local_client(app, headers={"Host": "evil.example"})):  # DNS rebinding
        for url in ("/api/v1/stats", "/", "/static/app.js", "/ogc"):
            response = client.get(url)
            assert response.status_code == 403, (url, response.text)
            assert "local mode" in response.json()["detail"]
    assert here.get("/api/v1/stats", headers={"Host": "localhost:8000"}).status_code == 200
    assert local_client(app, base_url="http://[::1]:8000", client=("::1", 1)).get(
        "/api/v1/events").status_code == 200


def test_local_mode_is_read_only(store_dir):
    client = local_client(create_app(store_dir, auth="local"))
    for method, url, body in [
        ("POST", "/api/v1/grants", {"grantee": "X", "until": "1h"}),
        ("POST", "/api/v1/grants/1/revoke", None),
        ("PUT", "/api/v1/markings/events/x", {"level": "RED"}),
        ("GET", "/api/v1/audit", None),
    ]:
        response = client.request(method, url, json=body)
        assert response.status_code == 403, (url, response.text)
        assert "local mode" in response.json()["detail"]
    login = client.post("/api/v1/auth/login", json={"username": "a", "password": "b"})
    assert login.status_code == 400 and "local mode" in login.json()["detail"]


def test_auth_modes_are_checked():
    from seawatch.api.security import AuthConfigError, check_auth_mode

    for host in ("127.0.0.1", "::1", "localhost", "127.0.0.2"):
        assert check_auth_mode("local", host) == "local"
    for host in ("0.0.0.0", "::", "192.168.1.10", "seawatch.example"):
        with pytest.raises(AuthConfigError, match="only on this machine"):
            check_auth_mode("local", host)
    with pytest.raises(AuthConfigError, match="unknown auth mode"):
        check_auth_mode("none")
