"""The hot path (:mod:`seawatch.live.hot`) in a process of its own.

In a thread of ``seawatch live`` the hot path's decoding and kernel hold the interpreter lock
that the event loop reading the feeds' sockets needs: at 10,000 datagrams a second the UDP
feed lost three times more datagrams with it than without (docs/benchmarks.md). With ``[live]
hot_process`` (the default) :class:`HotProcess` runs it in a child process started with the
``spawn`` method (the service has threads: no plain fork):

* the service's side is an ``on_ack`` listener that only notes the log position after the
  batch just acknowledged and when (a lock held for a few assignments; never a wait on the
  child). A sender thread hands the child the **newest** position noted since its last send
  (``ack``): the queue is one position deep whatever the rate, and a child that falls behind
  reads more of the log at once next time. Nothing is dropped: the records are in the log,
  fsynced before they were acknowledged, and the child reads them from the log's segment
  files (:func:`seawatch.live.wal.read_log`, read-only) from where it stopped, from the
  position the log had when the service started. Only a segment the compaction deleted
  before the child read it (a child more than ``compact_every_s`` behind) is skipped: the
  store's detection run then has its positions.
* the child lowers its priority by ``[live] hot_nice``: out of the interpreter lock it still
  competes with the service for the cores (docs/benchmarks.md).
* the child does what the thread did (:class:`seawatch.live.hot.HotPath`: decode, kernel,
  the hot events file, the alerts) and sends its status back after each write.
* a detection run's settling (:meth:`HotProcess.settle`) is a message to the child, answered
  once the child has read the log up to the newest position sent before it and settled; the
  file is rewritten by the child.
* the child reads its messages from a pipe whose only writer is the service: when the
  service dies (even ``kill -9``) the pipe closes and the child exits. A restart starts a new
  child, which rebuilds its state from the store as the thread did. A child that dies alone
  is reported in the status (``last_error``); the store's detection runs go on without it.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seawatch.detect.config import DetectConfig
from seawatch.live.wal import START, Position, Record, read_log

if TYPE_CHECKING:  # pragma: no cover
    import asyncio

    from seawatch.geo.zones import Zone
    from seawatch.live.params import LiveParams
    from seawatch.store import Store

log = logging.getLogger(__name__)

START_TIMEOUT_S = 600.0
"""Longest the child may take to start (imports, the decoder's warm-up, the store's last
positions)."""
SETTLE_TIMEOUT_S = 300.0
"""Longest a settling waits for the child's answer (then the next run settles)."""
STOP_TIMEOUT_S = 60.0
"""Longest the service waits for the child to finish at its stop (then it is killed)."""


class HotProcess:
    """The service's side of the hot path in a child process (module docstring); used as
    :class:`seawatch.live.hot.HotPath` is: :meth:`on_ack`, :meth:`run`, :meth:`settle`,
    :meth:`status`, and :meth:`close` after the service's last detection run."""

    def __init__(self, *, zones: Sequence[Zone] | None = None,
                 config: DetectConfig | None = None) -> None:
        self.zones = zones
        self.config = config or DetectConfig()
        self.folder: Path | None = None
        self.begin: Position = START
        self.started = False
        """Whether the child has started (its state carried from the store)."""
        self.batches = 0
        """Acknowledged batches the child has read (its last status)."""
        self.version = 0
        self.published = 0
        self.pid: int | None = None
        self.last_error: str | None = None
        self._child_status: dict[str, Any] | None = None
        self._cond = threading.Condition()
        self._end: Position | None = None  # the newest position not sent yet
        self._acked: float | None = None  # ... when the oldest batch not sent was acknowledged
        self._acks = 0
        self._out: deque[tuple[Any, ...]] = deque()
        self._replies: dict[int, tuple[int, int]] = {}
        self._next_id = 0
        self._closing = False
        self._gone = False
        self._process: Any = None
        self._threads: list[threading.Thread] = []

    def attach(self, folder: Path, begin: Position) -> None:
        """The log the child reads (``folder``) and its position when the service started:
        the first batch acknowledged starts there."""
        self.folder, self.begin = Path(folder), begin

    # -- the listener (the event loop's thread): never waits ----------------------------------
    def on_ack(self, records: Sequence[Record], end: Position) -> None:
        """A batch just acknowledged: its end noted for the sender."""
        with self._cond:
            self._end = end
            self._acks += 1
            if self._acked is None:
                self._acked = time.monotonic()
            self._cond.notify_all()

    # -- the child ---------------------------------------------------------------------------
    async def run(self, store: Store, params: LiveParams, lock: asyncio.Lock,
                  stop: asyncio.Event, wal_id: str | None = None) -> None:
        """Start the child after the service's first compaction (``lock``: the state is
        carried from a store that has what the log held); it runs until :meth:`close`."""
        import asyncio

        async with lock:
            await asyncio.to_thread(self.start, store, params, wal_id)
        await stop.wait()

    def start(self, store: Store, params: LiveParams, wal_id: str | None = None) -> None:
        """Start the child and wait until it has carried the store's last positions."""
        if self.folder is None:
            raise RuntimeError("the hot path's process needs the log (attach)")
        ctx = multiprocessing.get_context("spawn")
        inbox_r, inbox_w = ctx.Pipe(duplex=False)
        out_r, out_w = ctx.Pipe(duplex=False)
        setup = {"store": str(store.path), "params": params, "wal_id": wal_id,
                 "zones": self.zones, "config": self.config, "log": str(self.folder),
                 "begin": self.begin}
        process = ctx.Process(target=child_main, args=(inbox_r, out_w, setup), daemon=True,
                              name="seawatch live: hot path")
        process.start()
        inbox_r.close()  # the child's ends: only the child holds them now
        out_w.close()
        self._process, self.pid = process, process.pid
        try:
            if not out_r.poll(START_TIMEOUT_S):
                raise RuntimeError("the hot path's process did not start in time")
            self._take(out_r.recv())
        except BaseException:
            process.kill()
            process.join(5)
            self._gone = True
            raise
        self._threads = [
            threading.Thread(target=self._send, args=(inbox_w,), daemon=True,
                             name="hot path: sender"),
            threading.Thread(target=self._receive, args=(out_r,), daemon=True,
                             name="hot path: receiver")]
        for thread in self._threads:
            thread.start()
        self.started = True

    def _send(self, conn: Connection) -> None:
        try:
            while True:
                with self._cond:
                    while self._end is None and not self._out and not self._closing:
                        self._cond.wait()
                    messages: list[tuple[Any, ...]] = []
                    if self._end is not None:
                        messages.append(("ack", self._end, self._acks, self._acked))
                        self._end, self._acked = None, None
                    messages.extend(self._out)
                    self._out.clear()
                    done = self._closing and not messages
                for message in messages:
                    conn.send(message)  # (blocks only this thread when the pipe is full)
                    if message[0] == "stop":
                        return
                if done:
                    return
        except OSError as exc:
            self._lost(f"the hot path's process cannot be reached: {exc}")
        finally:
            conn.close()

    def _receive(self, conn: Connection) -> None:
        try:
            while True:
                self._take(conn.recv())
        except (EOFError, OSError):
            process = self._process
            code = None if process is None else process.exitcode
            if not self._closing:
                self._lost(f"the hot path's process exited (code {code})")
        finally:
            conn.close()
            with self._cond:
                self._gone = True
                self._cond.notify_all()

    def _take(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        status = message[-1]
        with self._cond:
            self._child_status = status
            self.batches = int(status["batches"])
            self.version, self.published = int(status["version"]), int(status["published"])
            if kind == "settled":
                confirmed, dropped = message[2]
                self._replies[int(message[1])] = (int(confirmed), int(dropped))
            self._cond.notify_all()

    def _lost(self, why: str) -> None:
        self.last_error = why
        log.error("%s; the store's detection runs go on without it", why)

    # -- what a detection run calls --------------------------------------------------------
    def settle(self, covered: Position) -> tuple[int, int]:
        """Ask the child to settle the hot events the run covered (:meth:`HotPath.settle`):
        (confirmed, dropped); (0, 0) when it cannot answer (the next run settles them)."""
        with self._cond:
            if not self.started or self._gone or self._closing:
                return 0, 0
            self._next_id += 1
            ask = self._next_id
            self._out.append(("settle", covered, ask))
            self._cond.notify_all()
            deadline = time.monotonic() + SETTLE_TIMEOUT_S
            while ask not in self._replies and not self._gone:
                left = deadline - time.monotonic()
                if left <= 0:
                    log.warning("hot path: no answer to a settling in %.0f s",
                                SETTLE_TIMEOUT_S)
                    return 0, 0
                self._cond.wait(left)
            return self._replies.pop(ask, (0, 0))

    def close(self) -> None:
        """Stop the child after what was acknowledged and asked so far (the service's
        stop, after its last detection run); killed when it does not end in time."""
        process = self._process
        with self._cond:
            if self.started and not self._gone:
                self._out.append(("stop",))
            self._closing = True
            self._cond.notify_all()
        if process is None:
            return
        process.join(STOP_TIMEOUT_S)
        if process.is_alive():
            log.warning("hot path: the process did not stop in %.0f s: killed",
                        STOP_TIMEOUT_S)
            process.kill()
            process.join(5)
        for thread in self._threads:
            thread.join(5)

    def status(self) -> dict[str, Any]:
        """:meth:`HotPath.status` as the child last sent it, with ``pid`` (the child's),
        ``started`` (whether it has carried its state) and ``process`` true;
        ``last_error`` the service's side's when it lost the child."""
        with self._cond:
            base: dict[str, Any] = dict(self._child_status) if self._child_status else {
                "delay_p50_s": None, "delay_p99_s": None, "batches": 0, "positions": 0,
                "raised": 0, "confirmed": 0, "dropped": 0, "hot": 0, "vessels": 0,
                "late": 0, "errors": 0, "seconds": 0.0, "alerts": None, "last_error": None}
        base.pop("version", None)
        base.pop("published", None)
        if self.last_error is not None:
            base["last_error"] = self.last_error
        return {**base, "process": True, "pid": self.pid, "started": self.started}


# --- in the child ------------------------------------------------------------------------------
def child_main(inbox: Connection, outbox: Connection, setup: dict[str, Any]) -> None:
    """The child: a :class:`~seawatch.live.hot.HotPath` fed from the log (module docstring);
    returns when asked to stop or when the service's end of ``inbox`` is closed."""
    from seawatch.live.hot import HotPath
    from seawatch.store import Store

    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s seawatch live (hot path): %(message)s")
    nice = int(getattr(setup["params"], "hot_nice", 0))
    if nice > 0:
        os.nice(min(nice, 19))
    hot = HotPath(zones=setup["zones"], config=setup["config"])
    hot.start(Store(setup["store"]), setup["params"], setup["wal_id"])
    folder = Path(setup["log"])
    done: Position = setup["begin"]  # what the child has read of the log
    end, acked, batches = done, None, 0
    hot.batches = 0

    def status() -> dict[str, Any]:
        return {**hot.status(), "batches": batches, "version": hot.version,
                "published": hot.published}

    def catch_up() -> None:
        nonlocal done, acked
        records = [r for _, r in read_log(folder, done, end)]
        if records:
            try:
                hot.process([(records, end)], acked)
            except Exception as exc:  # bad input never stops the hot path
                hot.errors += 1
                hot.last_error = f"hot path: {type(exc).__name__}: {exc}"
                log.exception("a batch failed (the store's run will see it)")
        done, acked = end, None
        hot._publish_and_raise()

    tick = 0.0
    try:
        outbox.send(("status", status()))
        while True:
            behind = end > done
            wait = max(0.0, tick + hot.every_s - time.monotonic()) if behind else None
            message = inbox.recv() if wait is None or inbox.poll(wait) else None
            if message is not None and message[0] == "ack":
                _, end, batches, when = message
                acked = when if acked is None or when is None else min(acked, when)
            if message is not None and message[0] == "settle":
                catch_up()
                result = hot.settle(message[1])
                outbox.send(("settled", message[2], result, status()))
                continue
            if message is not None and message[0] == "stop":
                catch_up()
                outbox.send(("status", status()))
                return
            # what came since the last read, together, once hot_publish_ms is up
            if end > done and time.monotonic() >= tick + hot.every_s:
                tick = time.monotonic()
                catch_up()
                outbox.send(("status", status()))
    except (EOFError, OSError):  # the service is gone
        return
