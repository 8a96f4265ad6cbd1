"""A real reverse proxy (Debian's nginx) in front of ``seawatch serve``.

nginx runs as an unprivileged process with a prefix and configuration of its own in a
temporary directory, listening on free ports of 127.0.0.1; ``seawatch serve`` runs as the
command line does, in a child process, on a state of the test's own. Clients bind source
addresses of their own in 127.0.0.0/8, so nginx sees several clients on one machine.

- ``--auth local`` behind nginx is a 403: behind a default ``proxy_pass`` (HTTP/1.0, no
  forwarding header, ``Host: 127.0.0.1:PORT``) and behind the documented configuration.
- ``--auth required --trusted-proxy 127.0.0.1`` behind the ``location`` block of
  docs/api.md: the audit records each client's own address (``X-Forwarded-For``) with nginx
  as ``via``, and five bad tokens lock that client only.
"""

from __future__ import annotations

import http.client
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.ports import ATTEMPTS, on_a_free_port, port_from_os, says_port_busy

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"
NGINX = os.environ.get("SEAWATCH_NGINX") or shutil.which("nginx") or (
    "/usr/sbin/nginx" if Path("/usr/sbin/nginx").is_file() else None)
UNPRIVILEGED = "nobody"
"""The user nginx runs as when the tests run as root."""
BAD_TOKEN = {"Authorization": "Bearer sw_" + "n" * 43}

pytestmark = pytest.mark.skipif(
    NGINX is None,
    reason="nginx is not installed (Debian: apt-get install nginx; .ci/run installs it; "
    "SEAWATCH_NGINX names another binary)",
)


def documented_location() -> str:
    """The ``location / { ... }`` block of the nginx configuration in docs/api.md."""
    text = DOCS.read_text()
    block = re.search(r"```nginx\n(.*?)```", text, re.S)
    assert block, "docs/api.md has no nginx configuration"
    location = re.search(r"(location / \{.*?\n    \})", block.group(1), re.S)
    assert location, "the nginx configuration of docs/api.md has no `location /` block"
    assert "proxy_pass http://127.0.0.1:8000;" in location.group(1)
    return location.group(1)


def request(port: int, path: str, headers: dict[str, str] | None = None,
            source: str | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30,
                                      source_address=(source, 0) if source else None)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_for(port: int, proc: subprocess.Popen, what: str, timeout: float = 90.0,
             busy_ok: bool = False) -> None:
    """Wait until ``proc`` answers on ``port``. With ``busy_ok``, a process that exits saying
    its port was taken returns (the caller tries another port); any other end fails."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            request(port, "/openapi.json")
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                output = proc.communicate(timeout=5)[0] if proc.poll() is not None else ""
                if busy_ok and proc.poll() is not None and says_port_busy(output):
                    return
                pytest.fail(f"{what} did not come up on port {port}: {output}")
            time.sleep(0.2)


def stop(proc: subprocess.Popen, sig: int) -> None:
    """Stop ``proc`` with ``sig`` (nginx: SIGQUIT, a graceful stop; serve: SIGINT, Ctrl-C)."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def nginx() -> Iterator[Callable[[list[str]], list[int]]]:
    """Start nginx serving each location block on a port of its own; stopped at the end."""
    procs: list[subprocess.Popen] = []
    prefix = Path(tempfile.mkdtemp(prefix="seawatch-nginx-"))

    def start(bodies: list[str]) -> list[int]:
        """Serve each location block on a port of its own; the ports, in order. A port taken
        between the operating system handing it out and nginx binding it: tried again."""
        for _ in range(ATTEMPTS):
            ports = [port_from_os() for _ in bodies]
            proc = launch(dict(zip(ports, bodies, strict=True)))
            procs.append(proc)
            if ready(proc, ports):
                return ports
            log = (prefix / "error.log").read_text() if (prefix / "error.log").exists() else ""
            if "Address already in use" not in log:
                pytest.fail(f"nginx did not start: {proc.communicate()[0]} {log}")
        pytest.fail(f"nginx found no free ports in {ATTEMPTS} tries")

    def launch(servers: dict[int, str]) -> subprocess.Popen:
        blocks = "\n".join(f"    server {{\n        listen 127.0.0.1:{port};\n        {body}\n"
                           "    }" for port, body in servers.items())
        (prefix / "tmp").mkdir(exist_ok=True)
        (prefix / "error.log").unlink(missing_ok=True)
        (prefix / "nginx.conf").write_text(f"""
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
{blocks}
}}
""")
        drop: dict[str, object] = {}
        if os.geteuid() == 0:  # never run the proxy as root
            user = pwd.getpwnam(UNPRIVILEGED)
            prefix.chmod(0o755)
            for path in [prefix, *prefix.rglob("*")]:
                os.chown(path, user.pw_uid, user.pw_gid)
            drop = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        return subprocess.Popen(
            [str(NGINX), "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
             "-e", str(prefix / "error.log")],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **drop)

    def ready(proc: subprocess.Popen, ports: list[int]) -> bool:
        """Whether nginx answers on every port (False once it has exited)."""
        for port in ports:
            deadline = time.monotonic() + 20
            while True:
                try:
                    request(port, "/nginx-ready")
                    break
                except OSError:
                    if proc.poll() is not None:
                        return False
                    if time.monotonic() > deadline:
                        pytest.fail(f"nginx did not answer on port {port} in 20 s")
                    time.sleep(0.1)
        return True

    try:
        yield start
    finally:
        for proc in procs:
            stop(proc, signal.SIGQUIT)
        shutil.rmtree(prefix, ignore_errors=True)


@pytest.fixture
def serve(store_dir: Path, tmp_path: Path) -> Iterator[Callable[..., tuple[int, object]]]:
    """Run ``seawatch serve --store <store> --port P *args`` on a new state of its own
    (agencies, users, tokens as in the API tests); yields ``(P, sharing)``."""
    from seawatch.share.db import open_state
    from tests.api.conftest import setup_sharing

    procs: list[subprocess.Popen] = []

    def start(*args: str) -> tuple[int, object]:
        url = f"sqlite:///{tmp_path / f'state{len(procs)}.db'}"
        sharing = setup_sharing(open_state(url))
        env = {**os.environ, "SEAWATCH_DB": url, "NO_PROXY": "127.0.0.1", "COLUMNS": "200"}

        def run(port: int) -> tuple[int, subprocess.Popen]:
            proc = subprocess.Popen(
                [sys.executable, "-c", "from seawatch.cli import main; main()", "serve",
                 "--store", str(store_dir), "--port", str(port), *args],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
            procs.append(proc)
            wait_for(port, proc, "seawatch serve", busy_ok=True)
            return port, proc

        port, _ = on_a_free_port(run, lambda done: done[1].poll() is not None)
        return port, sharing

    try:
        yield start
    finally:
        for proc in procs:
            stop(proc, signal.SIGINT)


def test_local_mode_behind_nginx_is_refused(nginx, serve):
    port, sharing = serve("--auth", "local")
    plain, documented = nginx([
        f"location / {{ proxy_pass http://127.0.0.1:{port}; }}",
        documented_location().replace("127.0.0.1:8000", f"127.0.0.1:{port}"),
    ])
    path = "/api/v1/export/positions?format=csv"
    status, body = request(port, path)  # this machine, directly: every position
    assert status == 200 and body.startswith(b"mmsi,")
    status, body = request(plain, path, source="127.0.0.77")
    assert status == 403 and b"HTTP/1.0" in body and b"mmsi" not in body
    status, body = request(documented, path, source="127.0.0.77")
    assert status == 403 and b"x-forwarded-for header" in body and b"mmsi" not in body

    from seawatch.share.audit import show

    refused = [e for e in show(sharing.state, limit=10) if e.action == "local.refused"]
    assert len(refused) == 2 and {e.status for e in refused} == {"403"}


def test_required_mode_behind_nginx_sees_each_client(nginx, serve):
    from seawatch.share.audit import show

    port, sharing = serve("--trusted-proxy", "127.0.0.1")
    [proxy] = nginx([documented_location().replace("127.0.0.1:8000", f"127.0.0.1:{port}")])
    admin, attacker = "127.0.0.94", "127.0.0.66"
    status, body = request(proxy, "/api/v1/auth/me", sharing.headers("admin"), source=admin)
    assert status == 200 and json.loads(body)["user"] == "navy-admin"
    entry = show(sharing.state, limit=1)[0]
    assert (entry.action, entry.client, entry.params["via"]) == ("session", admin, "127.0.0.1")
    # the attacker fails five times (naming the admin's address, which nginx overwrites)
    codes = [request(proxy, "/api/v1/events", {**BAD_TOKEN, "X-Forwarded-For": admin},
                     source=attacker)[0] for _ in range(6)]
    assert codes == [401] * 5 + [429]
    assert {e.client for e in show(sharing.state, limit=6)} == {attacker}
    # ... which locks the attacker's address, and only it
    assert request(proxy, "/api/v1/stats", sharing.headers("admin"), source=attacker)[0] == 429
    assert request(proxy, "/api/v1/stats", sharing.headers("admin"), source=admin)[0] == 200
    status, _ = request(proxy, "/api/v1/stats", sharing.headers("partner_viewer"),
                        source="127.0.0.95")
    assert status == 200
    assert show(sharing.state, limit=1)[0].client == "127.0.0.95"
