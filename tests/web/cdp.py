"""A small Chrome DevTools Protocol client for driving headless Chromium from pytest.

Launches ``/usr/bin/chromium`` headless with a fresh profile, attaches to its page over the
DevTools websocket (``websocket-client``) and records what the page does: console messages,
uncaught exceptions, log entries (failed loads) and the URL of every request.

Usage::

    with Browser() as browser:
        browser.navigate("http://127.0.0.1:8000/")
        browser.wait_for("window.seawatch && window.seawatch.ready")
        browser.evaluate("1 + 1")  # 2
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("SEAWATCH_CHROMIUM", "/usr/bin/chromium")
"""The browser the web tests drive; tests skip when it is absent."""

WIDTH, HEIGHT = 1280, 800

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    # WebGL without a GPU: ANGLE over SwiftShader (software), needed by MapLibre.
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--disable-quic",
    "--disable-features=Translate,OptimizationHints,MediaRouter",
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
    "--mute-audio",
    "--hide-scrollbars",
    f"--window-size={WIDTH},{HEIGHT}",
    "--remote-debugging-port=0",
)


class CDPError(RuntimeError):
    """A DevTools command failed, or the page threw while evaluating an expression."""


class Browser:
    """Headless Chromium with one page, driven over the DevTools protocol.

    Use as a context manager (or call :meth:`close`): the browser process is always killed
    and its profile directory removed.
    """

    def __init__(self, executable: str = CHROMIUM, *, timeout: float = 30.0) -> None:
        import websocket  # the test extra's websocket-client

        self.timeout = timeout
        self.profile = Path(tempfile.mkdtemp(prefix="seawatch-chromium-"))
        self.console: list[dict[str, Any]] = []
        self.exceptions: list[dict[str, Any]] = []
        self.log: list[dict[str, Any]] = []
        self.requests: list[str] = []
        self._next_id = 0
        self.proc = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            port = self._devtools_port()
            page = self._page_target(port)
            self.ws = websocket.create_connection(
                page["webSocketDebuggerUrl"], timeout=timeout, suppress_origin=True
            )
            for domain in ("Page", "Runtime", "Network", "Log"):
                self.send(f"{domain}.enable")
            self.send(
                "Emulation.setDeviceMetricsOverride",
                width=WIDTH,
                height=HEIGHT,
                deviceScaleFactor=1,
                mobile=False,
            )
        except BaseException:
            self.close()
            raise

    # ---------------------------------------------------------------- start and stop

    def _devtools_port(self) -> int:
        marker = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise CDPError(f"chromium exited with status {self.proc.returncode}")
            with contextlib.suppress(OSError, ValueError, IndexError):
                return int(marker.read_text().splitlines()[0])
            time.sleep(0.05)
        raise CDPError(f"chromium did not write {marker} within {self.timeout} s")

    def _page_target(self, port: int) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, ValueError):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as r:
                    targets = json.load(r)
                pages = [t for t in targets if t.get("type") == "page"]
                if pages:
                    return pages[0]
            time.sleep(0.05)
        raise CDPError("no page target in chromium")

    def close(self) -> None:
        """Kill the browser and remove its profile (safe to call twice)."""
        ws = getattr(self, "ws", None)
        if ws is not None:
            with contextlib.suppress(Exception):
                ws.close()
            self.ws = None
        if self.proc.poll() is None:
            self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- protocol

    def _record(self, message: dict[str, Any]) -> None:
        method = message.get("method")
        params = message.get("params", {})
        if method == "Runtime.consoleAPICalled":
            text = " ".join(
                str(a.get("value", a.get("description", ""))) for a in params.get("args", [])
            )
            self.console.append({"type": params.get("type"), "text": text})
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = details.get("exception", {}).get("description") or details.get("text", "")
            self.exceptions.append({"text": text, "url": details.get("url")})
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            self.log.append(
                {"level": entry.get("level"), "text": entry.get("text"), "url": entry.get("url")}
            )
        elif method == "Network.requestWillBeSent":
            self.requests.append(params.get("request", {}).get("url", ""))

    def _pump(self, timeout: float) -> dict[str, Any] | None:
        """Read one message (recording events); None when nothing came within ``timeout``."""
        import websocket

        self.ws.settimeout(timeout)
        try:
            raw = self.ws.recv()
        except websocket.WebSocketTimeoutException:
            return None
        message = json.loads(raw)
        if "method" in message:
            self._record(message)
        return message

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Send a command and return its result (events arriving meanwhile are recorded)."""
        self._next_id += 1
        ident = self._next_id
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            message = self._pump(max(0.01, deadline - time.monotonic()))
            if message is not None and message.get("id") == ident:
                if "error" in message:
                    raise CDPError(f"{method}: {message['error']}")
                return message.get("result", {})
        raise CDPError(f"{method}: no answer within {self.timeout} s")

    def drain(self, seconds: float = 0.1) -> None:
        """Record the events that arrive within ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._pump(max(0.01, deadline - time.monotonic()))

    # ---------------------------------------------------------------- page

    def reset(self) -> None:
        """Forget the console messages, exceptions, log entries and requests seen so far."""
        self.drain(0.05)
        self.console.clear()
        self.exceptions.clear()
        self.log.clear()
        self.requests.clear()

    def navigate(self, url: str) -> None:
        self.send("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete'")

    def evaluate(self, expression: str, *, await_promise: bool = True) -> Any:
        """The JSON value of a JavaScript expression in the page (promises awaited)."""
        result = self.send(
            "Runtime.evaluate",
            expression=expression,
            returnByValue=True,
            awaitPromise=await_promise,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise CDPError(f"{expression!r} threw: {text}")
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float | None = None, interval: float = 0.1) -> Any:
        """Poll until the expression is truthy; return its value (a DOM node gives True)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        last: Any = None
        probe = f"((v) => (v instanceof Node ? true : v))({expression})"
        while time.monotonic() < deadline:
            last = self.evaluate(probe)
            if last:
                return last
            self.drain(interval)
        raise TimeoutError(
            f"waited {timeout or self.timeout} s for {expression!r} (last: {last!r})"
        )

    def click_at(self, x: float, y: float) -> None:
        """A real left click (mouse move, press, release) at viewport coordinates."""
        common = {"x": x, "y": y, "button": "left", "clickCount": 1}
        self.send("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
        self.send("Input.dispatchMouseEvent", type="mousePressed", **common)
        self.send("Input.dispatchMouseEvent", type="mouseReleased", **common)

    def drag(self, start: tuple[float, float], end: tuple[float, float], steps: int = 8) -> None:
        """Press the left button at ``start``, move to ``end`` in steps, release there."""
        (x0, y0), (x1, y1) = start, end
        self.send("Input.dispatchMouseEvent", type="mouseMoved", x=x0, y=y0)
        self.send("Input.dispatchMouseEvent", type="mousePressed", x=x0, y=y0, button="left",
                  clickCount=1)
        for i in range(1, steps + 1):
            x, y = x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps
            self.send("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y, button="left",
                      buttons=1)
        self.send("Input.dispatchMouseEvent", type="mouseReleased", x=x1, y=y1, button="left",
                  clickCount=1)

    def press(self, key: str) -> None:
        """Press and release a key in the focused element (``Enter``, ``Escape``, ``Tab``)."""
        codes = {"Enter": 13, "Escape": 27, "Tab": 9}
        common = {"key": key, "code": key, "windowsVirtualKeyCode": codes.get(key, 0)}
        text = {"text": "\r"} if key == "Enter" else {}
        self.send("Input.dispatchKeyEvent", type="keyDown", **common, **text)
        self.send("Input.dispatchKeyEvent", type="keyUp", **common)

    def click(self, selector: str) -> None:
        """Scroll the element matching a CSS selector into view and click its centre."""
        box = self.evaluate(
            f"""(() => {{
              const el = document.querySelector({json.dumps(selector)});
              if (!el) return null;
              el.scrollIntoView({{block: "center"}});
              const r = el.getBoundingClientRect();
              return [r.left + r.width / 2, r.top + r.height / 2];
            }})()"""
        )
        if box is None:
            raise CDPError(f"no element matches {selector!r}")
        self.click_at(*box)

    def type_text(self, selector: str, text: str) -> None:
        """Focus an element and type text into it as keyboard input."""
        self.evaluate(f"document.querySelector({json.dumps(selector)}).focus()")
        self.send("Input.insertText", text=text)

    def screenshot(self, path: str | os.PathLike[str]) -> Path:
        """Save a PNG of the viewport."""
        data = self.send("Page.captureScreenshot", format="png")["data"]
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(base64.b64decode(data))
        return out

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and error log entries seen so far."""
        self.drain(0.05)
        return (
            [
                f"console.{c['type']}: {c['text']}"
                for c in self.console
                if c["type"] in ("error", "assert")
            ]
            + [f"exception: {e['text']}" for e in self.exceptions]
            + [f"log: {e['text']} ({e['url']})" for e in self.log if e["level"] == "error"]
        )
