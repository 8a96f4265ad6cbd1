"""Running the app: in the foreground (``seawatch serve``) or in a background thread.

:class:`ServerThread` runs uvicorn in a daemon thread on a free port of 127.0.0.1 and stops
it cleanly; tests (and notebooks) use it to talk to a real HTTP server:

>>> import tempfile
>>> import urllib.request, json
>>> from seawatch.store import Store
>>> path = tempfile.mkdtemp()
>>> _ = Store(path)
>>> with ServerThread(path, auth="local") as server:
...     with urllib.request.urlopen(server.url + "/api/v1/stats") as r:
...         json.load(r)["events"]
0
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from fastapi import FastAPI

DEFAULT_HOST = "127.0.0.1"
"""Listen on this machine only unless told otherwise."""
DEFAULT_PORT = 8000
UVICORN_SETTINGS: dict[str, Any] = {"server_header": False, "proxy_headers": False}
"""uvicorn's settings for every server seawatch starts: no ``Server`` header, and uvicorn's
own proxy-header handling off (by default it believes ``X-Forwarded-For`` from 127.0.0.1,
so any local client could name itself another address); the application believes only the
proxies the operator names (:class:`seawatch.api.security.ClientAddressMiddleware`)."""


def bind_socket(host: str = DEFAULT_HOST, port: int = 0) -> socket.socket:
    """A TCP socket bound to ``host``:``port`` (0: a port the operating system picks), ready
    to be served by uvicorn (``Server.run(sockets=[...])``, which listens on it).

    Binding is how a port is reserved: the port stays this socket's until it is closed, so
    asking for port 0 and reading ``getsockname()`` is race-free, where "find a free port,
    close it, then serve on it" is not (another program may take it in between).

    Raises
    ------
    OSError
        The address cannot be bound (port in use, address not of this machine).

    Examples
    --------
    >>> with bind_socket() as sock:
    ...     sock.getsockname()[1] > 0
    True
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def serve(
    store_dir: Path | str | None = None,
    *,
    app: FastAPI | None = None,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    log_level: str = "info",
    sock: socket.socket | None = None,
    **options: Any,
) -> None:
    """Serve until interrupted (Ctrl-C): API, OGC API - Features and the map.

    Listens on ``sock`` when given (bound beforehand, :func:`bind_socket`; ``host`` and
    ``port`` then only name it), else on a socket bound to ``host``:``port`` here.

    Serves ``app``, or ``create_app(store_dir, **options)`` (``auth``, ``zones``,
    ``web_dir``...). The per-snapshot caches and the query index are warmed in the background;
    the audit head is checkpointed outside the database every
    :data:`~seawatch.share.checkpoints.CHECKPOINT_INTERVAL` and when the server stops
    (:class:`~seawatch.share.checkpoints.Checkpointer`).
    """
    import uvicorn

    from seawatch.share.checkpoints import Checkpointer

    if app is None:
        if store_dir is None:
            raise ValueError("give store_dir or app")
        from seawatch.api.app import create_app

        app = create_app(store_dir, **options)
    threading.Thread(target=app.state.query.warm, name="seawatch-warm", daemon=True).start()
    checkpointer = Checkpointer(app.state.share).start()
    try:
        config = uvicorn.Config(app, host=host, port=port, log_level=log_level,
                                **UVICORN_SETTINGS)
        uvicorn_server(config, app).run(sockets=[sock or bind_socket(host, port)])
    finally:
        checkpointer.stop()


def uvicorn_server(config: Any, app: Any) -> Any:
    """A ``uvicorn.Server`` of ``app`` that ends the app's live streams
    (:meth:`seawatch.api.stream.StreamHub.close`) as it begins to shut down: uvicorn waits
    for open responses, which a Server-Sent Events stream never finishes by itself."""
    import uvicorn

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: Any = None) -> None:
            hub = getattr(getattr(app, "state", None), "streams", None)
            if hub is not None:
                hub.close()
            await super().shutdown(sockets)

    return Server(config)


class ServerThread:
    """A uvicorn server in a background thread, for tests and notebooks.

    Parameters
    ----------
    store_dir
        The store to serve (ignored when ``app`` is given).
    app
        An application to serve instead of ``create_app(store_dir, **options)``.
    host, port
        Where to listen; default 127.0.0.1 and a port the operating system picks (the
        socket is bound here, :func:`bind_socket`, and served as it is).
    **options
        Passed to :func:`seawatch.api.create_app`.

    Attributes
    ----------
    port : int
        The port listened on (the one picked when none was given).
    url : str
        ``http://host:port``.
    checkpointer : seawatch.share.checkpoints.Checkpointer
        Checkpoints the audit head while serving and once more when stopped, as ``seawatch
        serve`` does.
    """

    def __init__(
        self,
        store_dir: Path | str | None = None,
        *,
        app: FastAPI | None = None,
        host: str = DEFAULT_HOST,
        port: int | None = None,
        **options: Any,
    ) -> None:
        if app is None:
            if store_dir is None:
                raise ValueError("give store_dir or app")
            from seawatch.api.app import create_app

            app = create_app(store_dir, **options)
        import uvicorn

        from seawatch.share.checkpoints import Checkpointer

        self.host = host
        self.socket = bind_socket(host, 0 if port is None else port)
        self.port = int(self.socket.getsockname()[1])
        self.url = f"http://{host}:{self.port}"
        config = uvicorn.Config(app, host=host, port=self.port, log_level="warning",
                                lifespan="off", **UVICORN_SETTINGS)
        self.server = uvicorn_server(config, app)
        self._thread = threading.Thread(target=self.server.run, name="seawatch-api",
                                        kwargs={"sockets": [self.socket]}, daemon=True)
        self.checkpointer = Checkpointer(app.state.share)
        """Checkpoints the audit head while serving and when stopped, as ``serve`` does."""

    def start(self, timeout: float = 20.0) -> ServerThread:
        """Start serving; return once the server accepts connections."""
        self._thread.start()
        self.checkpointer.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive():
                self.socket.close()
                raise RuntimeError(f"the server on {self.url} stopped while starting")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"the server on {self.url} did not start in {timeout:g} s")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the server to finish its requests and stop; wait for the thread."""
        self.server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        self.checkpointer.stop()
        self.socket.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
