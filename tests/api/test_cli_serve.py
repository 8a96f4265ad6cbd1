"""``seawatch serve`` and the serving part of ``seawatch demo``."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

import seawatch.api.server as server_module
from seawatch.api.server import free_port
from seawatch.cli import app


def invoke(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def calls(monkeypatch) -> list[dict]:
    """Replace the blocking server with a recorder of its arguments."""
    seen: list[dict] = []

    def fake_serve(store_dir, **kwargs):
        seen.append({"store_dir": Path(store_dir), **kwargs})

    monkeypatch.setattr(server_module, "serve", fake_serve)
    return seen


def test_serve_prints_the_url_and_serves_the_store(store_dir, calls):
    port = free_port()
    result = invoke("serve", "--store", store_dir, "--port", port)
    assert result.exit_code == 0, result.output
    assert f"http://127.0.0.1:{port}/" in result.output
    assert f"http://127.0.0.1:{port}/docs" in result.output
    assert calls == [{"store_dir": store_dir, "host": "127.0.0.1", "port": port,
                      "zones": None}]


def test_serve_all_interfaces_warns(store_dir, calls):
    result = invoke("serve", "--store", store_dir, "--host", "0.0.0.0", "--port", free_port())
    assert result.exit_code == 0, result.output
    assert "every interface" in result.output and calls[0]["host"] == "0.0.0.0"


def test_serve_without_a_store_fails_clearly(tmp_path, calls):
    result = invoke("serve", "--store", tmp_path / "nothing")
    assert result.exit_code == 2
    assert "no store at" in result.output and "seawatch ingest" in result.output
    assert calls == []


def test_serve_port_in_use_fails_clearly(store_dir, calls):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = invoke("serve", "--store", store_dir, "--port", port)
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.output and "--port" in result.output
    assert calls == []


def test_serve_zones_file(store_dir, tmp_path, calls):
    bad = tmp_path / "bad.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", '
                   '"properties": {}, "geometry": null}]}')
    result = invoke("serve", "--store", store_dir, "--zones", bad, "--port", free_port())
    assert result.exit_code == 2 and "cannot use zones file" in result.output
    assert invoke("serve", "--store", store_dir, "--zones", tmp_path / "x.geojson").exit_code == 2
    good = tmp_path / "box.geojson"
    good.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "Box"}, "geometry": {
            "type": "Polygon", "coordinates": [[[-81, -1], [-80, -1], [-80, 0], [-81, 0],
                                                [-81, -1]]]}}]}))
    result = invoke("serve", "--store", store_dir, "--zones", good, "--port", free_port())
    assert result.exit_code == 0, result.output
    assert calls[-1]["zones"] == good


def test_zones_file_is_what_the_api_serves(store_dir, tmp_path):
    from fastapi.testclient import TestClient

    from seawatch.api import create_app

    path = tmp_path / "box.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "Manta box", "kind": "user"}, "geometry": {
            "type": "Polygon", "coordinates": [[[-81, -1], [-80, -1], [-80, 0], [-81, 0],
                                                [-81, -1]]]}}]}))
    client = TestClient(create_app(store_dir, zones=path))
    doc = client.get("/api/v1/zones").json()
    assert doc["source"] == "file box.geojson"
    assert [(f["id"], f["properties"]["name"]) for f in doc["features"]] == [
        ("manta-box", "Manta box")]


def test_serve_runs_a_real_server(store_dir, tmp_path):
    port = free_port()
    env = {**os.environ, "NO_PROXY": "127.0.0.1", "COLUMNS": "200"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from seawatch.cli import main; main()", "serve",
         "--store", str(store_dir), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/stats",
                                            timeout=2) as response:
                    stats = json.load(response)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"server did not come up: {proc.communicate()[0]}")
                time.sleep(0.2)
        assert stats["positions"] > 0
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            assert response.headers["content-type"].startswith("text/html")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            output = proc.communicate(timeout=20)[0]
        except subprocess.TimeoutExpired:
            proc.kill()
            output = proc.communicate()[0]
    assert f"http://127.0.0.1:{port}/" in output
    assert proc.returncode in (0, -signal.SIGINT, 1, 130)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("demo")


def test_demo_no_serve_builds_the_store_and_says_how_to_serve(demo_dir, monkeypatch):
    def must_not_serve(*_args, **_kwargs):
        raise AssertionError("--no-serve served")

    monkeypatch.setattr(server_module, "serve", must_not_serve)
    result = invoke("demo", "--dir", demo_dir, "--vessels", 12, "--hours", 1, "--no-serve")
    assert result.exit_code == 0, result.output
    assert "demo ready" in result.output
    assert f"seawatch serve --store {demo_dir / 'store'}" in result.output
    assert (demo_dir / "store" / "seawatch-store.json").is_file()


def test_demo_serves_by_default(demo_dir, calls):
    port = free_port()
    result = invoke("demo", "--dir", demo_dir, "--vessels", 12, "--hours", 1, "--port", port)
    assert result.exit_code == 0, result.output
    assert f"http://127.0.0.1:{port}/" in result.output
    assert calls == [{"store_dir": demo_dir / "store", "host": "127.0.0.1", "port": port,
                      "zones": None}]
