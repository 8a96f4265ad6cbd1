"""The pages: the web map's files, the missing-map page, the package's own map."""

from __future__ import annotations

import pytest

from seawatch.api import create_app
from seawatch.api.pages import DEFAULT_WEB_DIR
from tests.api.conftest import make_client


@pytest.fixture
def web_dir(tmp_path):
    folder = tmp_path / "web"
    (folder / "vendor").mkdir(parents=True)
    (folder / "index.html").write_text("<!doctype html><title>map</title>"
                                       '<script src="static/app.js"></script>')
    (folder / "app.js").write_text("console.log('map');")
    (folder / "vendor" / "lib.css").write_text("body{}")
    return folder


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
