"""``seawatch serve`` and the serving part of ``seawatch demo``."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

import seawatch.cli.serve as cli_module
from seawatch.cli import app
from tests.api.conftest import PASSWORD
from tests.ports import on_a_free_port, says_port_busy


def invoke(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def invoke_on_a_port(*args: object):
    """``invoke(*args, "--port", port)`` on a port from the operating system, again on
    another if that one was taken meanwhile (:func:`tests.ports.on_a_free_port`); the result
    and the port."""
    return on_a_free_port(
        lambda port: (invoke(*args, "--port", port), port),
        lambda done: done[0].exit_code == 2 and says_port_busy(done[0].output),
    )


@pytest.fixture
def calls(monkeypatch) -> list[dict]:
    """Replace the blocking server with a recorder of what it would serve."""
    seen: list[dict] = []

    def fake_run(app, host, port, sock):
        assert sock.getsockname()[1] == port  # the port is held from the check to the start
        query = app.state.query
        seen.append({"store_dir": Path(query.store.path), "host": host, "port": port,
                     "zones": query.zones_file, "auth": app.state.security.mode})

    monkeypatch.setattr(cli_module, "_run_app", fake_run)
    return seen


def test_serve_prints_the_url_and_serves_the_store(store_dir, sharing, calls):
    result, port = invoke_on_a_port("serve", "--store", store_dir)
    assert result.exit_code == 0, result.output
    assert f"http://127.0.0.1:{port}/" in result.output
    assert f"http://127.0.0.1:{port}/docs" in result.output
    assert "authentication required" in result.output
    assert calls == [{"store_dir": store_dir, "host": "127.0.0.1", "port": port,
                      "zones": None, "auth": "required"}]


def test_serve_all_interfaces_warns(store_dir, sharing, calls):
    result, _ = invoke_on_a_port("serve", "--store", store_dir, "--host", "0.0.0.0")
    assert result.exit_code == 0, result.output
    assert "every interface" in result.output and calls[0]["host"] == "0.0.0.0"


def test_serve_required_without_users_says_how_to_create_them(tmp_path, calls):
    from seawatch.store import Store

    Store(tmp_path / "s")
    result, _ = invoke_on_a_port("serve", "--store", tmp_path / "s")
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    for words in ("nobody can log in", "seawatch init-state", "--host-agency",
                  "seawatch user add", "seawatch token create", "--auth local"):
        assert words in text, words
    assert calls == []


def test_serve_local_only_on_loopback(store_dir, calls):
    result, _ = invoke_on_a_port("serve", "--store", store_dir, "--auth", "local", "--host",
                                 "0.0.0.0")
    assert result.exit_code == 2
    assert "only on this machine" in " ".join(result.output.split())
    assert calls == []
    result, port = invoke_on_a_port("serve", "--store", store_dir, "--auth", "local")
    assert result.exit_code == 0, result.output
    assert "open to this machine only" in " ".join(result.output.split())
    assert calls[0]["auth"] == "local" and calls[0]["port"] == port
    assert invoke("serve", "--store", store_dir, "--auth", "none").exit_code == 2


def test_serve_trusted_proxies(store_dir, sharing, monkeypatch):
    apps = []
    monkeypatch.setattr(cli_module, "_run_app", lambda app, host, port, sock: apps.append(app))
    result, _ = invoke_on_a_port("serve", "--store", store_dir)
    assert result.exit_code == 0, result.output
    assert "each connection's own (no --trusted-proxy)" in " ".join(result.output.split())
    assert not apps[-1].state.security.proxies
    result, _ = invoke_on_a_port("serve", "--store", store_dir, "--trusted-proxy", "127.0.0.1",
                                 "--trusted-proxy", "10.8.0.0/24")
    assert result.exit_code == 0, result.output
    assert "X-Forwarded-For believed from 127.0.0.1/32, 10.8.0.0/24" in " ".join(
        result.output.split())
    assert [str(n) for n in apps[-1].state.security.proxies.networks] == [
        "127.0.0.1/32", "10.8.0.0/24"]
    served = len(apps)
    for args, words in (
        (["--trusted-proxy", "nginx"], "--trusted-proxy 'nginx' is not an IP address"),
        (["--trusted-proxy", "0.0.0.0/0"], "would trust every address"),
        (["--auth", "local", "--trusted-proxy", "127.0.0.1"], "no --trusted-proxy"),
    ):
        result, _ = invoke_on_a_port("serve", "--store", store_dir, *args)
        assert result.exit_code == 2, args
        assert words in " ".join(result.output.split()) and "Traceback" not in result.output
    assert len(apps) == served


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


def test_serve_zones_file(store_dir, sharing, tmp_path, calls):
    bad = tmp_path / "bad.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", '
                   '"properties": {}, "geometry": null}]}')
    result, _ = invoke_on_a_port("serve", "--store", store_dir, "--zones", bad)
    assert result.exit_code == 2 and "cannot use zones file" in result.output
    assert invoke("serve", "--store", store_dir, "--zones", tmp_path / "x.geojson").exit_code == 2
    good = tmp_path / "box.geojson"
    good.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "Box"}, "geometry": {
            "type": "Polygon", "coordinates": [[[-81, -1], [-80, -1], [-80, 0], [-81, 0],
                                                [-81, -1]]]}}]}))
    result, _ = invoke_on_a_port("serve", "--store", store_dir, "--zones", good)
    assert result.exit_code == 0, result.output
    assert calls[-1]["zones"] == good


def test_zones_file_is_what_the_api_serves(store_dir, tmp_path, admin_headers):
    from fastapi.testclient import TestClient

    from seawatch.api import create_app

    path = tmp_path / "box.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "Manta box", "kind": "user"}, "geometry": {
            "type": "Polygon", "coordinates": [[[-81, -1], [-80, -1], [-80, 0], [-81, 0],
                                                [-81, -1]]]}}]}))
    client = TestClient(create_app(store_dir, zones=path), headers=admin_headers)
    doc = client.get("/api/v1/zones").json()
    assert doc["source"] == "file box.geojson"
    assert [(f["id"], f["properties"]["name"]) for f in doc["features"]] == [
        ("manta-box", "Manta box")]


def start_serve(store_dir: Path, headers: dict[str, str], port: int):
    """``seawatch serve`` in a subprocess on ``port``, once it answers ``/api/v1/stats``:
    ``(process, port, stats, "")``; or, when it exits first, ``(process, port, None,
    output)``."""
    env = {**os.environ, "NO_PROXY": "127.0.0.1", "COLUMNS": "200"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from seawatch.cli import main; main()", "serve",
         "--store", str(store_dir), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/stats",
                                             headers=headers)
            with urllib.request.urlopen(request, timeout=2) as response:
                return proc, port, json.load(response), ""
        except OSError:
            if proc.poll() is not None:
                return proc, port, None, proc.communicate()[0]
            if time.monotonic() > deadline:
                proc.kill()
                return proc, port, None, proc.communicate()[0]
            time.sleep(0.2)


def test_serve_runs_a_real_server(store_dir, sharing, tmp_path):
    proc, port, stats, output = on_a_free_port(
        lambda port: start_serve(store_dir, sharing.headers("analyst"), port),
        lambda started: started[2] is None and says_port_busy(started[3]),
    )
    if stats is None:
        pytest.fail(f"server did not come up: {output}")
    try:
        assert stats["positions"] > 0
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            assert response.headers["content-type"].startswith("text/html")
        login = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/auth/login", method="POST",
            data=json.dumps({"username": "navy-watch", "password": PASSWORD}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(login, timeout=5) as response:
            session = response.headers["set-cookie"]
            csrf = json.load(response)["csrf_token"]
        token = sharing.tokens["admin"]
        try:  # a token in the URL is refused, and not printed by the access log
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/stats?q={token}", timeout=5)
        except urllib.error.HTTPError as error:
            assert error.code == 400
        time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            output = proc.communicate(timeout=20)[0]
        except subprocess.TimeoutExpired:
            proc.kill()
            output = proc.communicate()[0]
    assert f"http://127.0.0.1:{port}/" in output
    for secret in (sharing.tokens["analyst"], token, PASSWORD, csrf,
                   session.split(";")[0].split("=", 1)[1]):
        assert secret not in output  # the access log shows no credentials
    assert "sw_[redacted]" in output and "/api/v1/auth/login" in output
    assert proc.returncode in (0, -signal.SIGINT, 1, 130)
    # stopping checkpointed the audit head outside the database
    from seawatch.share.audit import head, verify
    from seawatch.share.db import open_state

    state = open_state(store_dir)
    checked = verify(state)
    assert checked.ok and (checked.checkpoint.seq, checked.checkpoint.hash) == head(state)
    assert checked.checkpoint.by == "serve"
    state.close()


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("demo")


def test_demo_no_serve_builds_the_store_and_says_how_to_serve(demo_dir, monkeypatch):
    def must_not_serve(*_args, **_kwargs):
        raise AssertionError("--no-serve served")

    monkeypatch.setattr(cli_module, "_run_app", must_not_serve)
    result = invoke("demo", "--dir", demo_dir, "--vessels", 12, "--hours", 1, "--no-serve")
    assert result.exit_code == 0, result.output
    assert "demo ready" in result.output
    assert f"seawatch serve --store {demo_dir / 'store'} --auth local" in result.output
    assert (demo_dir / "store" / "seawatch-store.json").is_file()
    assert "host agency ECU-NAVY" in result.output


def test_demo_serves_by_default(demo_dir, calls):
    from seawatch.share.accounts import host_agency
    from seawatch.share.audit import verify
    from seawatch.share.db import open_state

    result, port = invoke_on_a_port("demo", "--dir", demo_dir, "--vessels", 12, "--hours", 1)
    assert result.exit_code == 0, result.output
    assert f"http://127.0.0.1:{port}/" in result.output
    assert "open to this machine only" in " ".join(result.output.split())
    assert calls == [{"store_dir": demo_dir / "store", "host": "127.0.0.1", "port": port,
                      "zones": None, "auth": "local"}]
    state = open_state(demo_dir / "store")
    assert host_agency(state).name == "ECU-NAVY" and verify(state).ok
    assert invoke("demo", "--dir", demo_dir, "--vessels", 12, "--hours", 1, "--host",
                  "0.0.0.0").exit_code == 2  # local mode stays on this machine
