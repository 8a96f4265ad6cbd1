"""NATS JetStream for ``seawatch live`` (``--connect nats://HOST:PORT/SUBJECT``) and
``seawatch replay --to nats://HOST:PORT/SUBJECT``.

**Consuming.** A :class:`NatsFeed` pulls the messages of ``SUBJECT`` through a durable
consumer (``nats_durable``, explicit acknowledgement) of the stream ``nats_stream`` (created,
capturing the subject, when no stream holds it; the URL may name others:
``nats://HOST:PORT/SUBJECT?stream=AIS&durable=manta``). Each message carries one or more whole
NMEA lines (the lines of a multi-sentence message in one message). A message becomes one
:data:`~seawatch.live.wal.SEQUENCED` log record -- its stream sequence, then its lines -- and is
acknowledged to JetStream only once that record is fsynced in the log: a crash before the
acknowledgement makes JetStream deliver it again.

**Exactly once.** A message delivered again whose record is already in the log (a crash or a
lost connection between the fsync and the acknowledgement) is acknowledged and not logged
again: the feed keeps the stream sequences it logged above the consumer's acknowledgement
floor (every sequence at or below it is acknowledged and never delivered again), pruned as
the floor moves, and on start reads them back from the log's records (each carries the
stream's creation time as well: a stream deleted and made anew restarts its sequences). The
one window left -- a message whose acknowledgement was lost *and* whose log segment was
already compacted and deleted before a restart -- is covered by the store: the record's
receive time is the time JetStream stored the message (not the time it was received), so a
message logged twice is the same lines at the same time, and the store's duplicate rule
keeps one copy of each report (docs/store.md; only the quarantine counts of such a message
would count it twice).

**Connection.** As a ``tcp://`` client: a refused or broken connection is retried after
``reconnect_min_s`` doubling up to ``reconnect_max_s``, and each span without a connection is
an outage of the feed (:mod:`seawatch.live.outages`). The client library's own reconnection is
off, so that the outage and the back-off are the feed's.

**Publishing.** :class:`NatsPublisher` (``seawatch replay --to nats://...``) sends a
replay's lines to a subject (one message per line, the fragments of a multi-sentence message
together), each confirmed by JetStream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from seawatch.errors import InvalidValue, Unavailable
from seawatch.io.quarantine import Reason
from seawatch.live.feeds import Endpoint, Feed, FeedStats, OutageRecorder, Sink
from seawatch.live.lines import LineFramer
from seawatch.live.params import LiveParams
from seawatch.live.wal import SEQUENCED, START, Position, Record, Wal, quarantined, sequenced

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.live.replay import Timed

log = logging.getLogger(__name__)

DEFAULT_PORT = 4222
FETCH_WAIT_S = 1.0
"""Longest one pull waits for messages (then the connection is checked and it pulls again)."""
FLOOR_EVERY_S = 5.0
"""Seconds between two reads of the consumer's acknowledgement floor (prunes the sequences
kept for deduplication)."""
PUBLISH_PENDING = 4000
"""Most published messages a replay has waiting for JetStream's confirmation."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CONTINUATION = re.compile(rb"^(?:\\[^\\]*\\)?!\w\wVD[MO],[2-9],[2-9],")
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def _need_nats() -> Any:
    try:
        import nats
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise Unavailable("nats:// feeds need the nats-py package (pip install nats-py)") from exc
    return nats


@dataclass(frozen=True)
class Target:
    """Where a NATS feed reads: ``server`` URL, ``subject``, ``stream``, ``durable``."""

    server: str
    subject: str
    stream: str
    durable: str


def parse_nats(text: str, name: str | None = None) -> Endpoint:
    """A feed from ``[NAME=]nats://HOST[:PORT]/SUBJECT[?stream=S&durable=D]``.

    >>> e = parse_nats("nats://127.0.0.1:4222/ais.manta?durable=ops")
    >>> e.name, e.url
    ('nats:127.0.0.1:4222:ais.manta', 'nats://127.0.0.1:4222/ais.manta?durable=ops')
    """
    parts = urlsplit(text)
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        port = None
    subject = parts.path.lstrip("/")
    if port is None or not parts.hostname or not subject or " " in subject:
        raise InvalidValue(f"--connect {text!r}: write nats://HOST:PORT/SUBJECT, e.g. "
                           "nats://127.0.0.1:4222/ais")
    query = parse_qs(parts.query)
    for key, values in query.items():
        if key not in ("stream", "durable") or len(values) != 1 or not _NAME.match(values[0]):
            raise InvalidValue(f"--connect {text!r}: the query takes stream=NAME and "
                               "durable=NAME (letters, digits, - and _)")
    if name is not None and not name.strip():
        raise InvalidValue(f"--connect {text!r}: the feed's name before '=' is empty")
    host = parts.hostname
    path = "/" + subject + (f"?{parts.query}" if parts.query else "")
    return Endpoint("connect", "nats", host, port,
                    name.strip() if name else f"nats:{host}:{port}:{subject}", path)


def target(endpoint: Endpoint, params: LiveParams) -> Target:
    """The server, subject, stream and durable of a ``nats://`` endpoint (the URL's query
    before ``nats_stream`` and ``nats_durable``)."""
    parts = urlsplit(endpoint.url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    host = f"[{endpoint.host}]" if ":" in endpoint.host else endpoint.host
    stream = query.get("stream", str(params.nats_stream))
    durable = query.get("durable", str(params.nats_durable))
    for what, value in (("nats_stream", stream), ("nats_durable", durable)):
        if not _NAME.match(value):
            raise InvalidValue(f"{what} {value!r}: letters, digits, - and _ only")
    return Target(f"nats://{host}:{endpoint.port}", parts.path.lstrip("/"), stream, durable)


def stream_epoch(info: Any) -> int:
    """A stream's epoch: its creation time (µs since the epoch), which a stream deleted and
    made anew under the same name does not share."""
    created = getattr(info, "created", None)
    if isinstance(created, datetime):
        return stored_us(created if created.tzinfo else created.replace(tzinfo=UTC))
    if isinstance(created, str):
        text = re.sub(r"(\.\d{6})\d*", r"\1", created.replace("Z", "+00:00"))
        return stored_us(datetime.fromisoformat(text))
    return 0


def stored_us(stamp: datetime) -> int:
    """Microseconds since the epoch of a JetStream message time (exact)."""
    return (stamp - _EPOCH) // timedelta(microseconds=1)


def logged_sequences(wal: Wal, feed: str) -> dict[int, set[int]]:
    """The stream sequences of ``feed``'s records that the log still holds, by stream epoch."""
    out: dict[int, set[int]] = {}
    for _, record in wal.read(START, wal.end):
        if record.kind == SEQUENCED and record.feed == feed:
            seq, epoch = record.sequence or (0, 0)
            out.setdefault(epoch, set()).add(seq)
    return out


async def ensure_stream(js: Any, subject: str, stream: str) -> str:
    """The stream that holds ``subject``: the one JetStream knows, else ``stream`` created
    for it (or extended to it)."""
    from nats.js.errors import NotFoundError

    with contextlib.suppress(NotFoundError):
        return str(await js.find_stream_name_by_subject(subject))
    try:
        info = await js.stream_info(stream)
    except NotFoundError:
        await js.add_stream(name=stream, subjects=[subject])
        return stream
    subjects = list(info.config.subjects or [])
    if subject not in subjects:
        info.config.subjects = [*subjects, subject]
        await js.update_stream(info.config)
    return stream


@dataclass
class NatsStats(FeedStats):
    """A NATS feed's counts: a feed's, and the messages delivered again that were skipped
    (already in the log)."""

    messages: int = 0
    redelivered_skipped: int = 0
    acked: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "messages": self.messages,
                "redelivered_skipped": self.redelivered_skipped, "acked": self.acked}


class NatsFeed(Feed):
    """A ``nats://`` feed; see the module docstring. ``sink`` is the service's log writer:
    its ``listeners`` tell the feed which records are durable, its ``wal`` which sequences
    a previous run logged."""

    def __init__(self, endpoint: Endpoint, sink: Sink, params: LiveParams,
                 outages: OutageRecorder, ready: Callable[[], None] | None = None) -> None:
        super().__init__(endpoint, sink, params, outages, ready)
        self.stats: NatsStats = NatsStats(endpoint)
        self.target = target(endpoint, params)
        self.waiting: dict[int, list[Any]] = {}
        """Sequence -> the deliveries of a message whose record is not yet durable."""
        self.logged: set[int] = set()
        """Sequences durable in the log, above the acknowledgement floor last read."""
        listeners = getattr(sink, "listeners", None)
        if listeners is not None:
            listeners.append(self._durable)
        wal = getattr(sink, "wal", None)
        self.earlier: dict[int, set[int]] = {}
        """Sequences the log holds from a previous run, by stream epoch (until the stream's
        epoch is known, at the first connection)."""
        self.epoch: int | None = None
        if isinstance(wal, Wal):
            self.earlier = logged_sequences(wal, endpoint.name)
        self._acks: set[asyncio.Task[None]] = set()

    # -- records ---------------------------------------------------------------------------
    def take(self, msg: Any) -> None:
        """Log one delivered message (or, delivered again, acknowledge it when it is logged)."""
        meta = msg.metadata
        seq = int(meta.sequence.stream)
        st = self.stats
        st.messages += 1
        if seq in self.logged:
            st.redelivered_skipped += 1
            self._ack([msg])
            return
        if seq in self.waiting:
            st.redelivered_skipped += 1
            self.waiting[seq].append(msg)
            return
        recv_us = stored_us(meta.timestamp)
        framer = LineFramer(hold_s=float(self.params.group_hold_s))
        block = framer.feed(msg.data) + framer.close()
        name = self.endpoint.name
        if not self.sink.put(sequenced(name, recv_us, seq, int(self.epoch or 0), block)):
            st.dropped_records += 1
            with contextlib.suppress(Exception):
                self._spawn(msg.nak())
            return
        self.waiting[seq] = [msg]
        n = block.count(b"\n")
        st.lines += n
        st.records += 1
        st.bytes += len(block)
        st.last_data = time.time()
        for cut in framer.cuts:
            self.sink.put(quarantined(name, recv_us, Reason[cut.reason.upper()], 1, cut.sample))
            st.refused_lines += 1
        st.blank_lines += framer.blank

    def _durable(self, records: Sequence[Record], end: Position) -> None:
        name = self.endpoint.name
        done: list[Any] = []
        for record in records:
            if record.kind == SEQUENCED and record.feed == name:
                seq, epoch = record.sequence or (0, 0)
                if epoch != self.epoch:
                    continue  # logged before the stream was made anew: its acks are lost
                self.logged.add(seq)
                done.extend(self.waiting.pop(seq, ()))
        if done:
            self._ack(done)

    def _ack(self, msgs: list[Any]) -> None:
        self._spawn(self._send_acks(msgs))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._acks.add(task)
        task.add_done_callback(self._acks.discard)

    async def _send_acks(self, msgs: list[Any]) -> None:
        for msg in msgs:
            try:
                await msg.ack()
                self.stats.acked += 1
            except Exception as exc:  # a closed connection: it is delivered again, skipped
                self.stats.last_error = f"acknowledgement not sent: {type(exc).__name__}"

    def prune(self, floor: int) -> None:
        """Forget the sequences at or below the acknowledgement ``floor``."""
        self.logged = {s for s in self.logged if s > floor}

    # -- running ---------------------------------------------------------------------------
    async def run(self) -> None:
        nats = _need_nats()
        p = self.params
        ep = self.endpoint
        self.stats.address = ep.url
        if self._ready is not None:
            self._ready()

        async def connect() -> tuple[Any, Any]:
            nc = None
            try:
                nc = await nats.connect(
                    self.target.server, allow_reconnect=False,
                    connect_timeout=float(p.connect_timeout_s),
                    max_reconnect_attempts=0, name=f"seawatch live {ep.name}",
                    error_cb=self._error, pending_size=64 * 2**20)
                return nc, await self._subscribe(nc)
            except Exception:
                if nc is not None:
                    with contextlib.suppress(Exception):
                        await nc.close()
                raise

        async def serve(conn: tuple[Any, Any]) -> str:
            nc, sub = conn
            try:
                return await self._pull(nc, sub)
            finally:
                with contextlib.suppress(Exception):
                    await nc.close()

        try:
            await self.reconnecting(connect, serve, (Exception,))
        finally:
            if self._acks:  # acknowledgements under way are sent (or fail) before the end
                await asyncio.gather(*self._acks, return_exceptions=True)

    async def _error(self, exc: Exception) -> None:
        self.stats.last_error = f"{type(exc).__name__}: {exc}"

    async def _subscribe(self, nc: Any) -> Any:
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        p = self.params
        t = self.target
        js = nc.jetstream()
        stream = await ensure_stream(js, t.subject, t.stream)
        epoch = stream_epoch(await js.stream_info(stream))
        if epoch != self.epoch:  # the first connection, or the stream was made anew
            if self.epoch is not None:
                log.warning("stream %s was made anew: its sequences restart", stream)
            self.epoch = epoch
            self.logged = self.earlier.pop(epoch, set())
            self.earlier.clear()
            for seq in list(self.waiting):  # delivered by the old stream: never acknowledged
                self.waiting.pop(seq)
        config = ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL,
                                ack_wait=float(p.nats_ack_wait_s),
                                max_ack_pending=int(p.nats_max_ack_pending))
        sub = await js.pull_subscribe(t.subject, durable=t.durable, stream=stream, config=config)
        await self._read_floor(sub)
        return sub

    async def _read_floor(self, sub: Any) -> None:
        info = await sub.consumer_info()
        self.prune(int(info.ack_floor.stream_seq))

    async def _pull(self, nc: Any, sub: Any) -> str:
        """Pull until the connection ends; why it ended."""
        from nats.errors import TimeoutError as NatsTimeout

        batch = max(int(self.params.nats_batch), 1)
        floor_at = time.monotonic() + FLOOR_EVERY_S
        while True:
            await self.sink.room()
            if not nc.is_connected:
                return "connection lost"
            try:
                msgs = await sub.fetch(batch, timeout=FETCH_WAIT_S)
            except (NatsTimeout, TimeoutError):
                msgs = []
            except Exception as exc:
                why = f"broken: {type(exc).__name__}: {exc}"
                self.stats.last_error = why
                return why
            for msg in msgs:
                self.take(msg)
            if time.monotonic() >= floor_at:
                floor_at = time.monotonic() + FLOOR_EVERY_S
                try:
                    await self._read_floor(sub)
                except Exception as exc:
                    why = f"broken: {type(exc).__name__}: {exc}"
                    self.stats.last_error = why
                    return why


# -- replay ----------------------------------------------------------------------------------
def messages(block: bytes) -> list[bytes]:
    """The messages of a block of lines: one per line, the fragments of a multi-sentence
    message (sentence 2 and on) with the line before.

    >>> messages(b"!AIVDM,1,1,,A,x,0*00\\n!AIVDM,2,1,1,A,y,0*00\\n!AIVDM,2,2,1,A,z,2*00\\n")
    [b'!AIVDM,1,1,,A,x,0*00\\n', b'!AIVDM,2,1,1,A,y,0*00\\n!AIVDM,2,2,1,A,z,2*00\\n']
    """
    out: list[bytes] = []
    for line in block.splitlines(keepends=True):
        if out and _CONTINUATION.match(line):
            out[-1] += line
        else:
            out.append(line)
    return out


class NatsPublisher:
    """A replay's sender to ``nats://HOST:PORT/SUBJECT`` (the ``replay`` sender interface:
    ``send(timed, i, j, offset_s)``, ``close()``), on an event loop of its own."""

    def __init__(self, endpoint: Endpoint, params: LiveParams | None = None) -> None:
        nats = _need_nats()
        self.target = target(endpoint, params or LiveParams())
        self.loop = asyncio.new_event_loop()
        self.failed = 0
        self.last_error = ""

        async def start() -> tuple[Any, Any]:
            nc = await nats.connect(self.target.server, connect_timeout=10,
                                    max_reconnect_attempts=5)
            js = nc.jetstream(publish_async_max_pending=PUBLISH_PENDING)
            await ensure_stream(js, self.target.subject, self.target.stream)
            return nc, js

        try:
            self.nc, self.js = self.loop.run_until_complete(start())
        except Exception as exc:
            self.loop.close()
            raise Unavailable(f"cannot publish to {endpoint.url}: {type(exc).__name__}: "
                              f"{exc}; is nats-server -js running?") from exc

    def _done(self, fut: asyncio.Future[Any]) -> None:
        if fut.cancelled() or fut.exception() is not None:
            self.failed += 1
            self.last_error = str(fut.exception()) if not fut.cancelled() else "cancelled"

    def send(self, timed: Timed, i: int, j: int, offset_s: int | None) -> int:
        from seawatch.live.replay import retime

        block = timed.data[int(timed.starts[i]) : int(timed.starts[j])]
        if offset_s is not None:
            block = retime(block, offset_s)
        return self.publish(block)

    def publish(self, block: bytes) -> int:
        """Publish the messages of ``block`` (their confirmations are awaited by
        :meth:`close`); the bytes sent."""

        async def go() -> int:
            sent = 0
            for payload in messages(block):
                fut = await self.js.publish_async(self.target.subject, payload)
                fut.add_done_callback(self._done)
                sent += len(payload)
            return sent

        return self.loop.run_until_complete(go())

    def close(self) -> None:
        async def end() -> None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.js.publish_async_completed(), 60)
            await self.nc.close()

        try:
            self.loop.run_until_complete(end())
        finally:
            self.loop.close()
        if self.failed:
            raise Unavailable(f"{self.failed} message(s) not confirmed by JetStream: "
                              f"{self.last_error}")
