"""``seawatch live``: feeds in, a write-ahead log, compaction into the store.

:class:`LiveService` runs on one asyncio loop:

1. **feeds** (:mod:`seawatch.live.feeds`) put records of whole lines into the **log
   writer** (:class:`LogWriter`);
2. the writer writes what is pending in one batch and fsyncs it once the oldest record has
   waited ``fsync_max_ms`` or ``fsync_max_lines`` lines are pending (one write and one fsync
   per batch, in a worker thread while the next batch gathers): only then are the batch's
   lines **acknowledged** (counted in ``acknowledged_lines``, given to the ``on_ack``
   listeners -- where incremental detection will plug in);
3. every ``compact_every_s`` (or ``compact_every_lines`` lines) the **compactor** commits the
   acknowledged records to the store (:mod:`seawatch.live.compact`, in a worker thread) and
   deletes the log segments that are wholly in the store;
4. every ``status_every_s`` a status line goes to ``on_status`` and ``status.json`` is
   rewritten.

On start, the log is recovered (a torn tail truncated) and what it holds beyond the position
the store has is compacted first. On SIGINT or SIGTERM (or :meth:`LiveService.stop`) the feeds
close, the last batch is written, a last compaction runs, and :meth:`LiveService.run`
returns. Without feeds, the service compacts what the log holds and returns.

The live folder (``--wal-dir``, default ``<store>/live``) holds ``wal/`` (the log),
``carry/`` (the multi-sentence groups open at the last compaction,
:mod:`seawatch.live.compact`), ``status.json`` and ``outages.json``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seawatch.live.compact import (
    CARRY_FOLDER,
    Compaction,
    compact,
    compacted_position,
    load_carry,
    prune_carry,
    release_memory,
)
from seawatch.live.feeds import Endpoint, Feed
from seawatch.live.nats import NatsFeed
from seawatch.live.outages import OUTAGES_FILE, OutageLog
from seawatch.live.params import LiveParams
from seawatch.live.wal import Position, Record, Wal
from seawatch.store import PartsPolicy, Store, StoreBusyError, layout

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.live.detect import LiveDetection

log = logging.getLogger(__name__)

STATUS_FILE = "status.json"
WAL_FOLDER = "wal"

DOWN_MIN_S = 1.0
"""Shortest time without a running service (from its last status to the next start) recorded
as an outage of each feed: a restart takes about this long anyway."""

FEED_KINDS: dict[str, type[Feed]] = {"nats": NatsFeed}
"""The feed class of a scheme other than udp:// and tcp:// (:class:`Feed`)."""

AckListener = Callable[[Sequence[Record], Position], None]
"""``on_ack(records, end)``: records just made durable, and the log position after them."""


class LogWriter:
    """Gathers the feeds' records and writes them to the log in fsynced batches."""

    def __init__(self, wal: Wal, params: LiveParams) -> None:
        self.wal = wal
        self.params = params
        self.pending: list[Record] = []
        self.pending_lines = 0
        self.pending_bytes = 0
        self.oldest: float | None = None
        self.durable = wal.end
        self.acknowledged_lines = 0
        self.acknowledged_records = 0
        self.dropped_records = 0
        self.batches = 0
        self.listeners: list[AckListener] = []
        self.lock = asyncio.Lock()  # the log: a batch being written, segments being dropped
        self._wake = asyncio.Event()
        self._full = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self.max_pending = int(float(params.max_pending_mb) * 2**20)
        self.closing = False

    def put(self, record: Record) -> bool:
        if self.pending_bytes >= self.max_pending:
            self.dropped_records += 1
            return False
        self.pending.append(record)
        self.pending_lines += record.lines
        self.pending_bytes += len(record.data)
        if self.oldest is None:
            self.oldest = time.monotonic()
        self._wake.set()
        if self.pending_lines >= self.params.fsync_max_lines:
            self._full.set()
        if self.pending_bytes >= self.max_pending:
            self._room.clear()
        return True

    async def room(self) -> None:
        await self._room.wait()

    async def run(self) -> None:
        """Write batches until :meth:`close` (a batch in flight is never cut off)."""
        max_wait = float(self.params.fsync_max_ms) / 1000
        while not self.closing:
            await self._wake.wait()
            if self.oldest is not None and not self.closing:
                left = self.oldest + max_wait - time.monotonic()
                if left > 0 and not self._full.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._full.wait(), left)
            await self.flush()

    async def close(self) -> None:
        """Stop :meth:`run` after its batch in flight; the caller then flushes the rest."""
        self.closing = True
        self._wake.set()
        self._full.set()

    async def flush(self) -> None:
        """Write and fsync what is pending; acknowledge it."""
        async with self.lock:
            records = self.pending
            if not records:
                self._wake.clear()
                return
            lines = self.pending_lines
            self.pending, self.pending_lines, self.pending_bytes = [], 0, 0
            self.oldest = None
            self._wake.clear()
            self._full.clear()
            self._room.set()
            end = await asyncio.to_thread(self._write, records)
            self.durable = end
            self.acknowledged_lines += lines
            self.acknowledged_records += len(records)
            self.batches += 1
        for listener in self.listeners:
            listener(records, end)

    def _write(self, records: list[Record]) -> Position:
        end = self.wal.append(records)
        self.wal.sync()
        return end


class LiveService:
    """The live service; see the module docstring.

    Parameters
    ----------
    store
        The store the log is compacted into (created if absent).
    endpoints
        The feeds (:func:`seawatch.live.feeds.parse_endpoint`).
    live_dir
        Folder of the log, the status and the outages (default ``<store>/live``).
    params
        :class:`~seawatch.live.params.LiveParams`.
    on_status
        Called with each status (:meth:`status`) every ``status_every_s``.
    handle_signals
        Stop on SIGINT and SIGTERM (only from the main thread).
    """

    def __init__(
        self,
        store: Path,
        endpoints: Sequence[Endpoint] = (),
        *,
        live_dir: Path | None = None,
        params: LiveParams | None = None,
        on_status: Callable[[dict[str, Any]], None] | None = None,
        handle_signals: bool = True,
        detection: LiveDetection | None = None,
    ) -> None:
        self.params = params or LiveParams()
        self.detection = detection
        """Incremental detection after each compaction (:mod:`seawatch.live.detect`), or
        None."""
        self.store_path = Path(store)
        self.live_dir = Path(live_dir) if live_dir is not None else self.store_path / "live"
        self.endpoints = list(endpoints)
        names = [e.name for e in self.endpoints]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            from seawatch.errors import InvalidValue

            raise InvalidValue(f"two feeds are named {', '.join(dupes)}: name them apart "
                               "(--listen NAME=udp://...)")
        self.on_status = on_status
        self.handle_signals = handle_signals
        self.ready = threading.Event()
        """Set once every feed is listening or connecting (the status then has the ports)."""
        self.started_at = time.time()
        self.compactions = 0
        self.compacted_lines = 0
        self.last_compaction: Compaction | None = None
        self.last_error: str | None = None
        self.quarantined: dict[str, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._compact_now: asyncio.Event | None = None
        self._rate = (time.monotonic(), 0)
        self.lines_per_s = 0.0

    # -- control ---------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask the service to stop (from any thread)."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has ended: stopped already
                loop.call_soon_threadsafe(stop.set)

    async def run(self) -> None:
        """Run until stopped; see the module docstring."""
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._compact_now = asyncio.Event()
        self._compacting = asyncio.Lock()
        if self.handle_signals and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._loop.add_signal_handler(sig, self._stop.set)
        p = self.params
        self.store = await asyncio.to_thread(Store, self.store_path)
        self.live_dir.mkdir(parents=True, exist_ok=True)
        self.wal = Wal(self.live_dir / WAL_FOLDER, int(float(p.wal_segment_mb) * 2**20),
                       fsync=p.fsync)
        self.wal.sync()  # what recovery kept is durable before anything is acknowledged
        self.outages = OutageLog(self.live_dir / OUTAGES_FILE)
        previous = self._previous_status()
        if previous is not None:
            alive = float(previous.get("now", self.started_at))
            self.outages.close_open(alive, "closed at the last status of a service that stopped")
            if self.started_at - alive >= DOWN_MIN_S:
                for endpoint in self.endpoints:
                    self.outages.add(endpoint.name, alive, self.started_at,
                                     "seawatch live was not running (stopped or crashed)")
        self.compacted = await asyncio.to_thread(compacted_position, self.store, self.wal.id)
        self.carry_dir = self.live_dir / CARRY_FOLDER
        self.carry = load_carry(self.carry_dir, self.wal.id, self.compacted)
        prune_carry(self.carry_dir, self.wal.id, self.compacted)
        self.writer = LogWriter(self.wal, p)
        self.writer.listeners.append(self._on_ack)
        if self.detection is not None and self.detection.hot is not None and p.hot:
            hot = self.detection.hot_path(p, self.wal.folder, self.writer.durable)
            self.writer.listeners.append(hot.on_ack)  # seawatch.live.hot
        else:  # no run would settle the hot events a previous service left: not served
            from seawatch.live.hot import hot_file

            hot_file(self.store_path).unlink(missing_ok=True)
            if self.detection is not None:
                self.detection.hot = None
        self.feeds = [FEED_KINDS.get(e.scheme, Feed)(e, self.writer, p, self.outages,
                                                     self._feed_ready)
                      for e in self.endpoints]
        self._waiting = len(self.feeds)
        tasks = [asyncio.create_task(f.run(), name=f"feed {f.endpoint.name}")
                 for f in self.feeds]
        if not tasks:
            self.ready.set()
        helpers = [asyncio.create_task(self.writer.run(), name="log writer"),
                   asyncio.create_task(self._sweep(), name="sweep"),
                   asyncio.create_task(self._report(), name="status")]
        compactor = asyncio.create_task(self._compactor(), name="compactor")
        detecting = [] if self.detection is None else [asyncio.create_task(
            self.detection.loop(self.store, p, self._compacting, self._stop, self.wal.id),
            name="detection")]
        try:
            if tasks:
                # a feed that cannot listen, or a log that cannot be written (nothing could
                # be acknowledged any more), stops the service with its error
                stop = asyncio.create_task(self._stop.wait())
                done, _ = await asyncio.wait([stop, helpers[0], *tasks],
                                             return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if task is not stop and task.exception() is not None:
                        raise task.exception()  # type: ignore[misc]
                stop.cancel()
            else:
                await self._compact_all()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for task in helpers[1:]:
                task.cancel()
            await self.writer.close()
            self._stop.set()
            self._compact_now.set()
            # the writer and the compactor finish what they are doing: never cut off a
            # write or a commit running in a worker thread
            await asyncio.gather(helpers[0], compactor, *helpers[1:], *detecting,
                                 return_exceptions=True)
            writer_failed = helpers[0].done() and not helpers[0].cancelled() and (
                helpers[0].exception() is not None)
            if not writer_failed:  # (else what is pending was never acknowledged)
                await self.writer.flush()
                with contextlib.suppress(StoreBusyError):
                    await self._compact_all()
                try:
                    if self.detection is not None:  # the events of everything compacted
                        await self.detection.run_once(self._compacting)
                finally:
                    if self.detection is not None:
                        await self.detection.close()
            elif self.detection is not None:
                await self.detection.close()
            self.wal.close()
            self._write_status(final=True)

    def _feed_ready(self) -> None:
        self._waiting -= 1
        if self._waiting <= 0:
            self._write_status()
            self.ready.set()

    def _on_ack(self, records: Sequence[Record], end: Position) -> None:
        waiting = self.writer.acknowledged_lines - self.compacted_lines
        if waiting >= self.params.compact_every_lines and self._compact_now is not None:
            self._compact_now.set()

    # -- compaction ------------------------------------------------------------------------
    async def _compactor(self) -> None:
        assert self._compact_now is not None
        assert self._stop is not None
        with contextlib.suppress(StoreBusyError):
            await self._compact_once()  # what a previous run left in the log
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._compact_now.wait(), float(self.params.compact_every_s))
            self._compact_now.clear()
            if self._stop.is_set():
                return
            try:
                done = await self._compact_once()
            except StoreBusyError as exc:
                self.last_error = str(exc)
                log.warning("compaction postponed: %s", exc)
                continue
            except Exception as exc:  # the log keeps the lines: try again next time
                self.last_error = f"compaction failed: {type(exc).__name__}: {exc}"
                log.exception("compaction failed; the log keeps the lines, retried in %s s",
                              self.params.compact_every_s)
                continue
            if done is not None and done.end < self.writer.durable and (
                    done.lines >= self.params.compact_max_lines):
                self._compact_now.set()  # a long backlog: the next step at once

    async def _compact_once(self) -> Compaction | None:
        async with self._compacting:
            end = self.writer.durable
            if end <= self.compacted:
                return None
            policy = PartsPolicy(int(self.params.day_parts), int(self.params.part_merge_rows))
            done = await asyncio.to_thread(compact, self.store, self.wal, self.compacted, end,
                                           max_lines=self.params.compact_max_lines,
                                           carry=self.carry, carry_dir=self.carry_dir,
                                           parts=policy)
            await asyncio.to_thread(release_memory)
            if done is None:
                return None
            self.compacted = done.end
            self.carry = done.carry or {}
            prune_carry(self.carry_dir, self.wal.id, done.end)
            self._after_compaction(done)
            async with self.writer.lock:
                self.wal.drop_before(done.end)
            return done

    async def _compact_all(self) -> None:
        """Compact until the store has everything durable (a backlog in several steps)."""
        while await self._compact_once() is not None:
            pass

    def _after_compaction(self, done: Compaction) -> None:
        self.compactions += 1
        self.compacted_lines += done.lines
        self.last_compaction = done
        for reason, n in done.quarantined.items():
            self.quarantined[reason] = self.quarantined.get(reason, 0) + n
        if self.detection is not None:
            self.detection.note(done.first_ts, done.end)

    # -- housekeeping ----------------------------------------------------------------------
    async def _sweep(self) -> None:
        every = min(max(float(self.params.group_hold_s) / 2, 0.05), 0.5)
        while True:
            await asyncio.sleep(every)
            now = time.monotonic()
            for feed in self.feeds:
                feed.sweep(now)

    async def _report(self) -> None:
        while True:
            await asyncio.sleep(float(self.params.status_every_s))
            self._write_status()

    def status(self) -> dict[str, Any]:
        """What the service is doing: counts since it started, the log, the last compaction,
        the feeds and their outages (also in ``status.json``)."""
        writer = getattr(self, "writer", None)
        now_m = time.monotonic()
        acked = writer.acknowledged_lines if writer is not None else 0
        t0, n0 = self._rate
        if now_m - t0 >= 0.5:
            self.lines_per_s = (acked - n0) / (now_m - t0)
            self._rate = (now_m, acked)
        last = self.last_compaction.to_dict() if self.last_compaction is not None else None
        wal = getattr(self, "wal", None)
        return {
            "pid": _pid(),
            "started_at": self.started_at,
            "now": time.time(),
            "store": str(self.store_path),
            "wal_id": wal.id if wal is not None else None,
            "acknowledged_lines": acked,
            "acknowledged_records": writer.acknowledged_records if writer else 0,
            "durable_position": str(writer.durable) if writer else None,
            "pending_lines": writer.pending_lines if writer else 0,
            "dropped_records": writer.dropped_records if writer else 0,
            "lines_per_s": round(self.lines_per_s, 1),
            "wal_bytes": wal.bytes_on_disk() if wal is not None and not wal.closed else 0,
            "wal_segments": len(wal.segments()) if wal is not None else 0,
            "compacted_position": str(getattr(self, "compacted", "")),
            "compactions": self.compactions,
            "compacted_lines": self.compacted_lines,
            "quarantined": dict(self.quarantined),
            "last_compaction": last,
            "last_error": self.last_error or (self.detection.last_error if self.detection
                                              else None),
            "detection": self.detection.status() if self.detection is not None else None,
            "hot": (self.detection.hot.status() if self.detection is not None
                    and self.detection.hot is not None else None),
            "feeds": [f.stats.to_dict() for f in getattr(self, "feeds", [])],
            "outages": list(self.outages.spans) if hasattr(self, "outages") else [],
        }

    def _write_status(self, final: bool = False) -> None:
        status = self.status()
        status["stopped"] = final
        with contextlib.suppress(OSError):
            layout.write_json(self.live_dir / STATUS_FILE, status, self.live_dir)
        if self.on_status is not None:
            self.on_status(status)

    def _previous_status(self) -> dict[str, Any] | None:
        path = self.live_dir / STATUS_FILE
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None


def _pid() -> int:
    import os

    return os.getpid()


def status_line(status: dict[str, Any]) -> str:
    """One line of a status (what ``seawatch live`` prints every ``status_every_s``).

    >>> line = status_line({"lines_per_s": 1234.5, "acknowledged_lines": 10, "quarantined":
    ...                     {"not_ais": 2}, "wal_bytes": 2_500_000, "wal_segments": 1,
    ...                     "last_compaction": None, "feeds": []})
    >>> for part in line.split(" | "): print(part)
    live: 1,234 lines/s
    acknowledged 10
    quarantined 2
    WAL 2.5 MB in 1 segment(s)
    last compaction: none
    feeds up 0/0
    """
    last = status.get("last_compaction")
    if last:
        when = time.strftime("%H:%M:%S", time.gmtime(last["finished_at"]))
        compacted = (f"{when}Z ({last['lines']:,} lines, +{last['positions_added']:,} "
                     f"positions, {last['seconds']:.1f} s)")
    else:
        compacted = "none"
    feeds = status.get("feeds", [])
    up = sum(1 for f in feeds if f["mode"] == "listen" or f["connected"])
    return (f"live: {status['lines_per_s']:,.0f} lines/s | acknowledged "
            f"{status['acknowledged_lines']:,} | quarantined "
            f"{sum(status['quarantined'].values()):,} | WAL "
            f"{status['wal_bytes'] / 1e6:.1f} MB in {status['wal_segments']} segment(s) | "
            f"last compaction: {compacted} | feeds up {up}/{len(feeds)}"
            + (f" | detection: {det['events']:,} events, {det['open']:,} open, "
               f"{det['seconds']:.1f} s" if (det := status.get("detection")) else "")
            + (f" | hot: {hot['raised']:,} raised, {hot['hot']:,} waiting"
               if (hot := status.get("hot")) else "")
            + (f" | {status['last_error']}" if status.get("last_error") else ""))
