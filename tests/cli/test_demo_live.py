"""``seawatch demo --live`` starts the whole loop and serves it: the map, and the stream's
first message; Ctrl-C (SIGINT) stops it all."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_demo_live_serves_the_map_and_the_stream(tmp_path: Path) -> None:
    pytest.importorskip("uvicorn")
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    env.pop("SEAWATCH_DB", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", "from seawatch.cli import main; main()", "demo", "--live",
         "--dir", str(tmp_path), "--vessels", "12", "--hours", "1", "--port", str(port),
         "--speed", "600"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + 45
        while True:
            try:
                with opener.open(url + "/", timeout=5) as page:
                    assert page.status == 200 and b"live-toggle" in page.read()
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode()  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "demo --live did not serve in 45 s"
                time.sleep(0.3)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/api/v1/stream")
        response = conn.getresponse()
        assert response.status == 200
        lines = []
        while not lines or lines[-1] != "":
            lines.append(response.readline().decode().rstrip("\n"))
            if lines == ["retry: 3000", ""]:
                lines = []
        assert lines[1] == "event: hello" and lines[2].startswith("data: {")
        conn.close()
        with opener.open(url + "/api/v1/alert-rules", timeout=5) as rules:
            assert b"demo: encounters, loitering, spoofing, gaps" in rules.read()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    # uvicorn hands the Ctrl-C back once it has stopped: 130, as any command stopped by it
    assert proc.returncode in (0, 130), out.decode()[-3000:]
    assert b"Traceback" not in out, out.decode()[-3000:]
    assert b"seawatch live on" in out and b"Press Ctrl-C to stop" in out
    assert (tmp_path / "live-store" / "live" / "status.json").is_file()
