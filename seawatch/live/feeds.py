"""The feeds of ``seawatch live``: UDP and TCP listeners, TCP clients that reconnect.

A feed is named (``--listen manta=tcp://0.0.0.0:10111``; by default its scheme, host and
port) and its name is the ``source`` of the lines that carry no tag-block station. Each
connection (each UDP sender) has its own :class:`~seawatch.live.lines.LineFramer`; every
block of whole lines it gives is handed to the service's sink as one log record with the
time it was read, and every line the framer refused as a ``quarantined`` record, so bad
input is counted in the store like the bad lines of a file.

- ``--listen udp://HOST:PORT``: datagrams from any sender; a datagram ends its last line.
- ``--listen tcp://HOST:PORT``: any number of clients (up to ``max_clients``); a client
  that sends nothing for ``idle_timeout_s`` is closed.
- ``--connect nats://HOST:PORT/SUBJECT``: a NATS JetStream consumer
  (:mod:`seawatch.live.nats`), acknowledged to JetStream once in the log.
- ``--connect tcp://HOST:PORT``: a client of a receiver or aggregator; on a refusal, a
  broken connection or ``idle_timeout_s`` of silence it reconnects after a wait that starts
  at ``reconnect_min_s`` and doubles up to ``reconnect_max_s``. Each span without a
  connection is recorded as an outage of the feed (:mod:`seawatch.live.outages`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from seawatch.errors import InvalidValue, Unavailable
from seawatch.io.quarantine import Reason
from seawatch.live.lines import LineFramer
from seawatch.live.params import LiveParams
from seawatch.live.wal import LINES, Record, quarantined

S = TypeVar("S")
"""A client's connection, as its ``connect`` gives it (:meth:`Feed.reconnecting`)."""

log = logging.getLogger(__name__)

READ_BYTES = 64 * 1024
"""Most bytes taken from a TCP connection at once (one log record at most this plus a line)."""

UDP_RECEIVE_BUFFER = 8 * 2**20
"""Receive buffer asked for a UDP socket (bytes): datagrams wait there while the service is
busy; the system grants at most its own limit (``net.core.rmem_max`` on Linux)."""

UDP_DRAIN = 4096
"""Most datagrams read at one wake-up of the event loop (then other work gets its turn)."""

UDP_MAX_DATAGRAM = 65535
"""Largest datagram read (bytes): the largest UDP payload."""

MAX_UDP_SENDERS = 1024
"""UDP senders whose unfinished messages are remembered; the oldest is forgotten past it."""


@dataclass(frozen=True)
class Endpoint:
    """Where a feed comes from: ``listen`` or ``connect``, ``udp`` or ``tcp``, host, port."""

    mode: str
    scheme: str
    host: str
    port: int
    name: str
    path: str = ""
    """What follows the port (``/SUBJECT?stream=...`` of a ``nats://`` feed)."""

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{self.path}"


def parse_endpoint(text: str, mode: str) -> Endpoint:
    """A feed from ``[NAME=]SCHEME://HOST:PORT`` (``mode``: ``listen`` or ``connect``).

    >>> parse_endpoint("udp://0.0.0.0:10110", "listen")  # doctest: +NORMALIZE_WHITESPACE
    Endpoint(mode='listen', scheme='udp', host='0.0.0.0', port=10110,
             name='udp:0.0.0.0:10110', path='')
    >>> parse_endpoint("manta=tcp://10.0.0.5:5631", "connect").name
    'manta'
    """
    name = None
    if "=" in text.split("://", 1)[0]:
        name, text = text.split("=", 1)
    parts = urlsplit(text)
    if mode == "connect" and parts.scheme == "nats":
        from seawatch.live.nats import parse_nats

        return parse_nats(text, name)
    allowed = ("udp", "tcp") if mode == "listen" else ("tcp", "nats")
    option = f"--{mode}"
    if parts.scheme not in allowed:
        forms = " or ".join(f"{a}://HOST:PORT" + ("/SUBJECT" if a == "nats" else "")
                            for a in allowed)
        raise InvalidValue(f"{option} {text!r}: write {forms}")
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None or not parts.hostname:
        raise InvalidValue(f"{option} {text!r}: give a host and a port, e.g. "
                           f"{parts.scheme}://127.0.0.1:10110")
    if name is not None and not name.strip():
        raise InvalidValue(f"{option} {text!r}: the feed's name before '=' is empty")
    host = parts.hostname
    return Endpoint(mode, parts.scheme, host, port,
                    name.strip() if name else f"{parts.scheme}:{host}:{port}")


class Sink(Protocol):
    """Where feeds put their records (the service's log writer)."""

    def put(self, record: Record) -> bool:
        """Take a record; False when it was dropped (no room)."""

    async def room(self) -> None:
        """Return once there is room for more (TCP feeds wait here: back pressure)."""


class OutageRecorder(Protocol):
    def begin(self, feed: str, start: float, reason: str) -> None: ...
    def end(self, feed: str, end: float) -> None: ...


@dataclass
class FeedStats:
    """What one feed did so far (counts since the service started)."""

    endpoint: Endpoint
    address: str = ""
    lines: int = 0
    records: int = 0
    bytes: int = 0
    refused_lines: int = 0
    blank_lines: int = 0
    dropped_records: int = 0
    clients: int = 0
    clients_refused: int = 0
    idle_closed: int = 0
    connected: bool = False
    connects: int = 0
    last_error: str | None = None
    last_data: float | None = None

    def to_dict(self) -> dict[str, Any]:
        ep = self.endpoint
        return {
            "name": ep.name, "mode": ep.mode, "url": ep.url, "address": self.address,
            "lines": self.lines, "records": self.records, "bytes": self.bytes,
            "refused_lines": self.refused_lines, "blank_lines": self.blank_lines,
            "dropped_records": self.dropped_records, "clients": self.clients,
            "clients_refused": self.clients_refused, "idle_closed": self.idle_closed,
            "connected": self.connected, "connects": self.connects,
            "last_error": self.last_error, "last_data": self.last_data,
        }


def now_us() -> int:
    return time.time_ns() // 1000


class Feed:
    """One endpoint, run by :meth:`run` until cancelled; its framers are swept by
    :meth:`sweep` (fragments held past ``group_hold_s``)."""

    def __init__(self, endpoint: Endpoint, sink: Sink, params: LiveParams,
                 outages: OutageRecorder, ready: Callable[[], None] | None = None) -> None:
        self.endpoint = endpoint
        self.sink = sink
        self.params = params
        self.outages = outages
        self.stats = FeedStats(endpoint)
        self.framers: set[LineFramer] = set()
        self._ready = ready
        self._udp_framers: OrderedDict[Any, LineFramer] = OrderedDict()
        self._client_tasks: set[asyncio.Task[Any]] = set()

    # -- records ---------------------------------------------------------------------------
    def emit(self, framer: LineFramer, block: bytes, recv_us: int | None = None) -> None:
        """Hand a framer's block and refusals to the sink."""
        recv_us = now_us() if recv_us is None else recv_us
        name = self.endpoint.name
        st = self.stats
        if block:
            record = Record(name, recv_us, LINES, block)
            if self.sink.put(record):
                st.lines += record.lines
                st.records += 1
                st.bytes += len(block)
                st.last_data = recv_us / 1e6
            else:
                st.dropped_records += 1
        for cut in framer.cuts:
            self.sink.put(quarantined(name, recv_us, Reason[cut.reason.upper()], 1, cut.sample))
            st.refused_lines += 1
        framer.cuts.clear()
        st.blank_lines += framer.blank
        framer.blank = 0

    def new_framer(self) -> LineFramer:
        framer = LineFramer(hold_s=float(self.params.group_hold_s))
        self.framers.add(framer)
        return framer

    def sweep(self, now: float) -> None:
        """Log the fragments that waited ``group_hold_s`` for the rest of their message."""
        for framer in list(self.framers):
            block = framer.expired(now)
            if block:
                self.emit(framer, block)

    # -- running ---------------------------------------------------------------------------
    async def run(self) -> None:
        """Listen or connect until cancelled; :class:`~seawatch.errors.Unavailable` when the
        address cannot be listened on (taken, not this machine's)."""
        ep = self.endpoint
        if ep.mode == "connect":
            await self._run_tcp_client()
            return
        try:
            if ep.scheme == "udp":
                await self._run_udp()
            else:
                await self._run_tcp_server()
        except OSError as exc:
            raise Unavailable(f"cannot listen on {ep.url} ({ep.name}): {exc.strerror or exc}; "
                              "give another --listen address") from exc

    def _bound(self, sockname: Any) -> None:
        host, port = sockname[0], sockname[1]
        self.stats.address = f"{self.endpoint.scheme}://{host}:{port}"
        if self._ready is not None:
            self._ready()

    async def _run_udp(self) -> None:
        loop = asyncio.get_running_loop()
        ep = self.endpoint
        infos = await loop.getaddrinfo(ep.host, ep.port, type=socket.SOCK_DGRAM)
        family, _, _, _, address = infos[0]
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            with contextlib.suppress(OSError):  # the system caps it (net.core.rmem_max on Linux)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RECEIVE_BUFFER)
            sock.bind(address)
            sock.setblocking(False)
            loop.add_reader(sock.fileno(), self._drain_udp, sock)
        except BaseException:
            sock.close()
            raise
        self._bound(sock.getsockname())
        try:
            await asyncio.Event().wait()  # until cancelled
        finally:
            loop.remove_reader(sock.fileno())
            sock.close()
            for framer in self._udp_framers.values():
                self.emit(framer, framer.close())

    def _drain_udp(self, sock: socket.socket) -> None:
        """Read every datagram waiting (up to :data:`UDP_DRAIN`) at each wake-up: when the
        loop gets the interpreter only now and then (a compaction's thread busy), one datagram
        per wake-up would leave the rest to overflow the receive buffer."""
        for _ in range(UDP_DRAIN):
            try:
                data, addr = sock.recvfrom(UDP_MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. an ICMP error reported on the socket: go on
                self.stats.last_error = f"UDP: {type(exc).__name__}: {exc}"
                return
            self._datagram(data, addr)

    def _datagram(self, data: bytes, addr: Any) -> None:
        framer = self._udp_framers.get(addr)
        if framer is None:
            framer = self._udp_framers[addr] = self.new_framer()
            if len(self._udp_framers) > MAX_UDP_SENDERS:
                _, oldest = self._udp_framers.popitem(last=False)
                self.emit(oldest, oldest.close())
                self.framers.discard(oldest)
        else:
            self._udp_framers.move_to_end(addr)
        if not data.endswith(b"\n"):
            data += b"\n"
        self.emit(framer, framer.feed(data))

    async def _run_tcp_server(self) -> None:
        ep = self.endpoint
        server = await asyncio.start_server(self._client, ep.host, ep.port)
        self._bound(server.sockets[0].getsockname())
        try:
            await asyncio.Event().wait()
        finally:
            server.close()
            # the clients' connections end too, so what they sent is logged before the
            # service's last batch
            for task in self._client_tasks:
                task.cancel()
            await asyncio.gather(*self._client_tasks, return_exceptions=True)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        st = self.stats
        if st.clients >= self.params.max_clients:
            st.clients_refused += 1
            writer.close()
            return
        st.clients += 1
        task = asyncio.current_task()
        if task is not None:
            self._client_tasks.add(task)
        try:
            await self._read_stream(reader)
        finally:
            st.clients -= 1
            if task is not None:
                self._client_tasks.discard(task)
            writer.close()

    async def _read_stream(self, reader: asyncio.StreamReader) -> str:
        """Read a connection to its end; why it ended (``eof``, ``idle``, ``broken: ...``)."""
        framer = self.new_framer()
        broken = True
        why = "cancelled"
        try:
            while True:
                await self.sink.room()
                try:
                    data = await asyncio.wait_for(reader.read(READ_BYTES),
                                                  float(self.params.idle_timeout_s))
                except TimeoutError:
                    self.stats.idle_closed += 1
                    why = f"no data for {self.params.idle_timeout_s} s"
                    return why
                except (ConnectionError, OSError) as exc:
                    why = f"broken: {type(exc).__name__}: {exc}"
                    self.stats.last_error = why
                    return why
                if not data:
                    broken = False
                    why = "closed by the other end"
                    return why
                self.emit(framer, framer.feed(data))
        finally:
            self.emit(framer, framer.close(broken=broken))
            self.framers.discard(framer)

    async def _run_tcp_client(self) -> None:
        ep = self.endpoint
        p = self.params
        self.stats.address = ep.url
        if self._ready is not None:
            self._ready()

        async def connect() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
            return await asyncio.wait_for(asyncio.open_connection(ep.host, ep.port),
                                          float(p.connect_timeout_s))

        async def serve(conn: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> str:
            reader, writer = conn
            try:
                return await self._read_stream(reader)
            finally:
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()

        await self.reconnecting(connect, serve, (OSError, TimeoutError))

    async def reconnecting(self, connect: Callable[[], Awaitable[S]],
                           serve: Callable[[S], Awaitable[str]],
                           failures: tuple[type[Exception], ...]) -> None:
        """A client's life: ``connect()`` (a failure of one of ``failures`` is retried),
        ``serve`` the connection until it ends (it closes it and says why), connect again,
        after ``reconnect_min_s`` doubled after each failure up to ``reconnect_max_s`` (and
        reset once a connection has lasted that long: not flapping). Every span without a
        connection is an outage of the feed (``self.outages``), ended when the client
        connects again or stops."""
        name = self.endpoint.name
        p = self.params
        st = self.stats
        wait = float(p.reconnect_min_s)
        down_since: float | None = None
        try:
            while True:
                try:
                    conn = await connect()
                except failures as exc:
                    st.last_error = f"cannot connect: {type(exc).__name__}: {exc}"
                    if down_since is None:
                        down_since = time.time()
                        self.outages.begin(name, down_since, st.last_error)
                    await asyncio.sleep(wait)
                    wait = min(wait * 2, float(p.reconnect_max_s))
                    continue
                st.connected = True
                st.connects += 1
                connected_at = time.monotonic()
                if down_since is not None:
                    self.outages.end(name, time.time())
                    down_since = None
                try:
                    why = await serve(conn)
                finally:
                    st.connected = False
                down_since = time.time()
                self.outages.begin(name, down_since, f"disconnected: {why}")
                if time.monotonic() - connected_at >= float(p.reconnect_max_s):
                    wait = float(p.reconnect_min_s)  # it had been up a while: not flapping
                await asyncio.sleep(wait)
                wait = min(wait * 2, float(p.reconnect_max_s))
        finally:
            if down_since is not None:
                self.outages.end(name, time.time())
