"""How many position queries each caller may run at once: :class:`CallerSlots`.

Every caller (one user: a token's or a session's principal, or the local analyst) holds at
most :data:`SLOTS_PER_CALLER` slots at a time; a request that needs one while they are all
taken waits up to :data:`SLOT_WAIT_S` seconds for one, then is refused with
:class:`Busy` (HTTP 503 with ``Retry-After``). So one caller's burst of heavy requests (16
concurrent ``/stats`` from one partner, say) runs a few at a time, its memory bounded by
what a few requests hold, and leaves the server's worker threads to everyone else.

:class:`~seawatch.api.view.View` takes a slot around each read of positions that is not
served from a cache (pages, counts, tracks, evidence, a partner's statistics and vessels).

Examples
--------
>>> slots = CallerSlots(per_caller=1, wait_s=0.01)
>>> with slots.hold("ana"):
...     try:
...         with slots.hold("ana"):
...             pass
...     except Busy as exc:
...         print(exc.http_status, exc.headers())
503 {'Retry-After': '2'}
>>> with slots.hold("ana"), slots.hold("ben"):  # other callers are not held up
...     print(slots.in_use("ana"), slots.in_use("ben"))
1 1
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Hashable, Iterator
from dataclasses import dataclass

from seawatch.errors import InvalidValue, Unavailable

SLOTS_PER_CALLER = 4
"""Position queries one caller may run at the same time."""
SLOT_WAIT_S = 5.0
"""Seconds a request waits for one of its caller's slots before it is refused."""
RETRY_AFTER_S = 2
"""``Retry-After`` (seconds) sent with a refusal."""


class Busy(Unavailable):
    """The caller already runs as many queries as it may at once (HTTP 503)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        """Seconds after which to try again (sent as ``Retry-After``)."""

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class CallerSlots:
    """A small semaphore per caller.

    Parameters
    ----------
    per_caller
        Slots per caller (:data:`SLOTS_PER_CALLER`).
    wait_s
        Seconds to wait for a slot (:data:`SLOT_WAIT_S`).
    retry_after
        ``Retry-After`` of a refusal, seconds (:data:`RETRY_AFTER_S`).
    """

    def __init__(self, per_caller: int = SLOTS_PER_CALLER, wait_s: float = SLOT_WAIT_S,
                 retry_after: int = RETRY_AFTER_S) -> None:
        if per_caller < 1:
            raise InvalidValue(f"per_caller must be at least 1, got {per_caller}")
        if not (wait_s >= 0 and math.isfinite(wait_s)):
            raise InvalidValue(f"wait_s must be a finite number of seconds >= 0, got {wait_s}")
        self.per_caller = per_caller
        self.wait_s = wait_s
        self.retry_after = max(int(retry_after), 1)
        self._lock = threading.Lock()
        self._callers: dict[Hashable, _Caller] = {}

    @contextlib.contextmanager
    def hold(self, caller: Hashable) -> Iterator[None]:
        """Hold one of ``caller``'s slots for the block.

        Raises
        ------
        Busy
            No slot came free within ``wait_s`` seconds.
        """
        with self._lock:
            entry = self._callers.setdefault(caller, _Caller(
                threading.BoundedSemaphore(self.per_caller)))
            entry.refs += 1  # holders and waiters: the entry goes when none is left
        try:
            if not entry.semaphore.acquire(timeout=self.wait_s):
                raise Busy(
                    f"this caller already runs {self.per_caller} queries of positions at "
                    f"once; retry in {self.retry_after} s", self.retry_after)
            with self._lock:
                entry.held += 1
            try:
                yield
            finally:
                with self._lock:
                    entry.held -= 1
                entry.semaphore.release()
        finally:
            with self._lock:
                entry.refs -= 1
                if entry.refs == 0:
                    del self._callers[caller]

    def in_use(self, caller: Hashable) -> int:
        """How many of ``caller``'s slots are held now."""
        with self._lock:
            entry = self._callers.get(caller)
            return 0 if entry is None else entry.held

    def waiting(self, caller: Hashable) -> int:
        """How many of ``caller``'s requests wait for a slot now."""
        with self._lock:
            entry = self._callers.get(caller)
            return 0 if entry is None else entry.refs - entry.held

    def callers(self) -> int:
        """How many callers hold or wait for a slot now."""
        with self._lock:
            return len(self._callers)


@dataclass
class _Caller:
    semaphore: threading.BoundedSemaphore
    refs: int = 0
    held: int = 0
