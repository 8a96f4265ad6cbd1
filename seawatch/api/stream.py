"""Push to the map: ``GET /api/v1/stream``, Server-Sent Events (``text/event-stream``).

One :class:`StreamHub` per application watches what changes and every open stream reads
from it:

- the store's snapshot id (:attr:`seawatch.api.query.StoreQuery.snapshot_id`, one small file,
  what the API's caches already key on): a new compaction or new events make a new
  snapshot, and each stream then sends one ``store`` message with the new latest positions
  of the vessels that moved *as this caller sees them* (:meth:`seawatch.api.view.View.vessels`,
  the same scope as ``/vessels`` and ``/positions``) and how many events it can now see that
  it could not before; so does a change of the live service's hot events
  (:mod:`seawatch.live.hot`: zone crossings served before the store has them), with the
  same snapshot;
- the state database's alerts: a cheap aggregate (count, latest raise, update,
  acknowledgement, assignment and close, how many are closed and assigned) polled at most
  every :data:`POLL_S`; when it changes, one read of every alert's few life-cycle columns
  finds which alerts were raised or changed, under a version number kept with a bounded
  history (:data:`HISTORY`); each stream sends one ``alert`` message per changed alert the
  caller may see (:func:`seawatch.share.alerts.visible_alerts`, the events' policy).

- the state database's grants, markings and default marking: another aggregate polled
  with the alerts' (it counts the grants live at that moment, so one that expires or whose
  revocation falls due changes it too); when it changes, each stream of another agency than
  the host reads its caller's access anew (the grants it holds now, as at a request) and,
  when what the caller sees changed, sends one ``store`` message with the vessels now seen
  or moved, the events now seen, and ``resync`` (``store``, ``alerts``): what was
  withdrawn, and the alerts now visible, come with a reload. Until then a stream kept the
  access it opened with, and a grant given or revoked without a new snapshot pushed
  nothing.

Each message has an id ``<epoch>.<snapshot>.<alerts version>``: a client that reconnects
(``EventSource`` does it by itself) sends it back as ``Last-Event-ID`` and gets what it
missed: the alert changes since its version, and its vessels' moves since its snapshot when
that is the current one; when the server restarted (another epoch), the snapshot changed
meanwhile or its version left the history, it gets one ``resync`` message naming what to
reload (``store``, ``alerts``). A comment line is sent every :data:`KEEPALIVE_S` so proxies
keep the connection; ``retry:`` asks the browser to reconnect after :data:`RETRY_MS`.

Authentication is that of every route: a bearer token, or the map's session cookie (which
``EventSource`` sends by itself; no token ever goes in the URL). Each caller may hold
:data:`STREAMS_PER_CALLER` streams at once (a further one is refused with 429). The streams
end when the server stops (:meth:`StreamHub.close`, called by the servers of
:mod:`seawatch.api.server` before uvicorn waits for open responses).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Hashable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from seawatch.errors import RateLimited

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.api.query import StoreQuery
    from seawatch.share.db import State
    from seawatch.share.policy import Access

STREAMS_PER_CALLER = 4
"""Streams one caller (a user) may hold open at once (a few tabs of the map)."""
POLL_S = 0.5
"""Seconds between two looks at the store's snapshot and the alerts' aggregate."""
KEEPALIVE_S = 15.0
"""Seconds of silence after which a comment line is sent."""
RETRY_MS = 3000
"""Reconnection delay asked of the browser (``retry:``), milliseconds."""
HISTORY = 512
"""Alert versions remembered for clients that reconnect with ``Last-Event-ID``."""
MOVED_FIELDS: tuple[str, ...] = ("mmsi", "ts", "lat", "lon", "sog", "cog", "heading",
                                 "name", "ship_type_label")
"""Fields of each moved vessel in a ``store`` message."""


class TooManyStreams(RateLimited):
    """The caller already holds :data:`STREAMS_PER_CALLER` streams (HTTP 429)."""


@dataclass
class _AccessLog:
    version: int = 0
    signature: tuple[Any, ...] | None = None
    checked: float = float("-inf")


@dataclass
class _AlertLog:
    version: int = 0
    signature: tuple[Any, ...] | None = None
    rows: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    history: deque[tuple[int, dict[int, str]]] = field(
        default_factory=lambda: deque(maxlen=HISTORY))
    checked: float = float("-inf")


class StreamHub:
    """What the streams of one application share: the alert versions, the per-caller count,
    the shutdown flag.

    Parameters
    ----------
    query
        The application's :class:`~seawatch.api.query.StoreQuery`.
    state
        The state database (alerts).
    per_caller, poll_s, keepalive_s
        :data:`STREAMS_PER_CALLER`, :data:`POLL_S`, :data:`KEEPALIVE_S`.
    """

    def __init__(self, query: StoreQuery, state: State, *,
                 per_caller: int = STREAMS_PER_CALLER, poll_s: float = POLL_S,
                 keepalive_s: float = KEEPALIVE_S) -> None:
        self.query = query
        self.state = state
        self.per_caller = per_caller
        self.poll_s = poll_s
        self.keepalive_s = keepalive_s
        self.epoch = secrets.token_hex(4)
        """This process's id in message ids (a restarted server has another)."""
        self.closing = threading.Event()
        self._lock = threading.Lock()  # the per-caller counts (taken in the event loop)
        self._poll = threading.Lock()  # the alerts' log (held across its database reads)
        self._open: dict[Hashable, int] = {}
        self._alerts = _AlertLog()
        self._access = _AccessLog()
        self._access_poll = threading.Lock()

    # --- streams per caller ---------------------------------------------------------------

    @contextlib.contextmanager
    def hold(self, caller: Hashable) -> Iterator[None]:
        """Count one open stream of ``caller`` for the block (:class:`TooManyStreams`
        when it holds as many as it may)."""
        with self._lock:
            if self._open.get(caller, 0) >= self.per_caller:
                raise TooManyStreams(
                    f"this caller already has {self.per_caller} streams open; close one "
                    "(another tab of the map) and retry", 5)
            self._open[caller] = self._open.get(caller, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                self._open[caller] -= 1
                if not self._open[caller]:
                    del self._open[caller]

    def open_streams(self, caller: Hashable | None = None) -> int:
        """Streams open now (of ``caller``, or in all)."""
        with self._lock:
            if caller is None:
                return sum(self._open.values())
            return self._open.get(caller, 0)

    def close(self) -> None:
        """End every stream (within one poll) and refuse new ones."""
        self.closing.set()

    # --- alerts ---------------------------------------------------------------------------

    def alerts_version(self) -> int:
        """The alerts' version now (re-read from the database at most every ``poll_s``)."""
        log = self._alerts
        with self._poll:
            if time.monotonic() - log.checked < self.poll_s:
                return log.version
            log.checked = time.monotonic()
            signature = _alerts_signature(self.state)
            if signature == log.signature:
                return log.version
            rows = _alert_rows(self.state)
            changed: dict[int, str] = {}
            for aid, row in rows.items():
                old = log.rows.get(aid)
                if old is None:
                    changed[aid] = "raised"
                elif old != row:
                    changed[aid] = "state" if old[0] != row[0] or old[2:] != row[2:] \
                        else "updated"
            first = log.signature is None
            log.signature, log.rows = signature, rows
            if changed and not first:
                log.version += 1
                log.history.append((log.version, changed))
            return log.version

    def access_version(self) -> int:
        """A number that changes when the grants, markings or default marking do, or a grant
        expires or falls revoked (re-read at most every ``poll_s``)."""
        log = self._access
        with self._access_poll:
            if time.monotonic() - log.checked < self.poll_s:
                return log.version
            log.checked = time.monotonic()
            signature = _access_signature(self.state)
            if signature != log.signature:
                if log.signature is not None:
                    log.version += 1
                log.signature = signature
            return log.version

    def alert_changes(self, since: int) -> dict[int, str] | None:
        """Alert id → ``raised``/``state``/``updated`` of the versions after ``since``;
        None when they are no longer remembered (or ``since`` is not a version)."""
        with self._poll:
            log = self._alerts
            if since == log.version:
                return {}
            if since > log.version or not log.history or log.history[0][0] > since + 1:
                return None
            out: dict[int, str] = {}
            for version, changed in log.history:
                if version > since:
                    for aid, kind in changed.items():
                        out[aid] = "raised" if out.get(aid) == "raised" else kind
            return out


def _alerts_signature(state: State) -> tuple[Any, ...]:
    import sqlalchemy as sa

    from seawatch.share.models import AlertRow

    a = AlertRow
    with state.read() as s:
        row = s.execute(sa.select(
            sa.func.count(), sa.func.max(a.id), sa.func.max(a.raised_at),
            sa.func.max(a.updated_at), sa.func.max(a.acknowledged_at),
            sa.func.max(a.assigned_at), sa.func.max(a.closed_at), sa.func.count(a.closed_at),
            sa.func.count(a.assigned_to), sa.func.count(a.watch),
        )).one()
    return tuple(row)


def _access_signature(state: State) -> tuple[Any, ...]:
    import sqlalchemy as sa

    from seawatch.share.db import utcnow
    from seawatch.share.models import GrantRow, MarkingRow, Setting

    g, m = GrantRow, MarkingRow
    now = utcnow()
    live = sa.case((((g.revoked_at.is_(None)) | (g.revoked_at > now)) & (g.expires_at > now)
                    & (g.created_at <= now), 1), else_=0)
    with state.read() as s:
        grants = s.execute(sa.select(
            sa.func.count(), sa.func.max(g.id), sa.func.max(g.revoked_at),
            sa.func.count(g.revoked_at), sa.func.max(g.expires_at), sa.func.sum(live),
        )).one()
        markings = s.execute(sa.select(
            sa.func.count(), sa.func.max(m.id), sa.func.max(m.set_at))).one()
        settings = s.execute(sa.select(Setting.key, Setting.value).order_by(Setting.key)).all()
    return (tuple(grants), tuple(markings), tuple(tuple(r) for r in settings))


def _alert_rows(state: State) -> dict[int, tuple[Any, ...]]:
    import sqlalchemy as sa

    from seawatch.share.models import AlertRow

    a = AlertRow
    with state.read() as s:
        rows = s.execute(sa.select(a.id, a.state, a.updated_at, a.assigned_to, a.watch,
                                   a.close_reason)).all()
    return {int(r[0]): tuple(r[1:]) for r in rows}


def _grants_key(access: Access) -> tuple[Any, ...]:
    """What of an access decides what it sees, beside the markings: its grants (as they
    stand) and the default marking."""
    return (tuple(sorted((g.id, g.revoked_at, g.expires_at) for g in access.grants)),
            str(access.default_level))


# --- one stream --------------------------------------------------------------------------


def message(event: str, data: Any, event_id: str | None = None) -> str:
    """One Server-Sent Events message (``data`` as one line of JSON).

    >>> message("alert", {"id": 1}, "e.3.4")
    'id: e.3.4\\nevent: alert\\ndata: {"id":1}\\n\\n'
    """
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def parse_last_id(text: str | None, epoch: str) -> tuple[int, int] | None:
    """``(snapshot, alerts version)`` of a ``Last-Event-ID`` of this epoch, else None.

    >>> parse_last_id("ab12.7.3", "ab12"), parse_last_id("ff.7.3", "ab12")
    ((7, 3), None)
    """
    if not text:
        return None
    parts = text.strip().split(".")
    if len(parts) != 3 or parts[0] != epoch:
        return None
    try:
        return int(parts[1]), int(parts[2])
    except ValueError:
        return None


class Stream:
    """The messages of one caller's stream (an async iterator of SSE text)."""

    def __init__(self, hub: StreamHub, access: Access, last_id: str | None) -> None:
        self.hub = hub
        self.access = access
        self.last_id = last_id
        self._vessels: pl.DataFrame | None = None
        self._events: pl.Series | None = None
        self._gone = 0  # vessels and events seen before the last store message, not since

    # what the caller sees now: the same View as /vessels and /events
    def _seen(self) -> tuple[pl.DataFrame, pl.Series]:
        from seawatch.api.view import View

        view = View(self.hub.query, self.access)
        vessels = view.vessels().select(MOVED_FIELDS).filter(pl.col("ts").is_not_null())
        return vessels, view.events()["event_id"]

    def _store_message(self, snapshot: int) -> dict[str, Any]:
        vessels, events = self._seen()
        old_v, old_e = self._vessels, self._events
        self._vessels, self._events = vessels, events
        if old_v is None or old_e is None:
            return {"snapshot": snapshot, "moved": [], "new_events": 0}
        before = old_v.select("mmsi", pl.col("ts").alias("_ts"))
        moved = vessels.join(before, on="mmsi", how="left").filter(
            pl.col("_ts").is_null() | (pl.col("ts") != pl.col("_ts"))).drop("_ts")
        from seawatch.export import to_records

        now_e, old_ev = pl.DataFrame({"event_id": events}), pl.DataFrame({"event_id": old_e})
        new_events = now_e.join(old_ev, on="event_id", how="anti").height
        self._gone = (old_v.join(vessels, on="mmsi", how="anti").height
                      + old_ev.join(now_e, on="event_id", how="anti").height)
        return {"snapshot": snapshot, "moved": to_records(moved), "new_events": new_events}

    def _access_message(self, snapshot: int) -> dict[str, Any] | None:
        """The caller's access read anew (grants or markings changed): a ``store`` message
        of what it sees now that it did not, with ``resync`` (None when nothing it sees
        changed)."""
        from seawatch.share.policy import access_for

        access = access_for(self.hub.state, self.access.principal)
        granted = _grants_key(access) != _grants_key(self.access)
        self.access = access
        body = self._store_message(snapshot)
        if not (granted or self._gone or body["moved"] or body["new_events"]):
            return None
        return {**body, "resync": ["store", "alerts"]}

    def _alert_messages(self, changes: dict[int, str]) -> list[dict[str, Any]]:
        from seawatch.errors import NotFound
        from seawatch.share.alerts import get_alert, visible_alerts

        found = []
        for aid in sorted(changes):
            try:
                found.append(get_alert(self.hub.state, aid))
            except NotFound:  # removed meanwhile
                continue
        return [{"change": changes[a.id], "alert": a.as_json()}
                for a in visible_alerts(self.access, found)]

    async def run(self) -> AsyncIterator[str]:
        """The messages, until the client goes or the hub closes."""
        from anyio import to_thread

        hub = self.hub

        def now() -> tuple[int, int, Any]:
            return hub.query.snapshot_id, hub.alerts_version(), hub.query.hot_signature()

        def access_now() -> int:
            return -1 if self.access.full else hub.access_version()

        snapshot, version, hot = await to_thread.run_sync(now)
        access_version = await to_thread.run_sync(access_now)
        ident = f"{hub.epoch}.{snapshot}.{version}"
        yield f"retry: {RETRY_MS}\n\n"
        resumed = parse_last_id(self.last_id, hub.epoch)
        await to_thread.run_sync(self._store_message, snapshot)  # the baseline
        if resumed is None:
            yield message("hello", {"snapshot": snapshot, "alerts_version": version,
                                    "resumed": False,
                                    "resync": [] if self.last_id is None
                                    else ["store", "alerts"]}, ident)
        else:
            reload = [] if resumed[0] == snapshot else ["store"]
            changes = hub.alert_changes(resumed[1])
            if changes is None:
                reload.append("alerts")
            yield message("hello", {"snapshot": snapshot, "alerts_version": version,
                                    "resumed": True, "resync": reload}, ident)
            if changes:
                for item in await to_thread.run_sync(self._alert_messages, changes):
                    yield message("alert", item, ident)
        last_sent = time.monotonic()
        while not hub.closing.is_set():
            await asyncio.sleep(hub.poll_s)
            if hub.closing.is_set():
                break
            new_snapshot, new_version, new_hot = await to_thread.run_sync(now)
            new_access = await to_thread.run_sync(access_now)
            out: list[str] = []
            if new_access != access_version:  # grants or markings: what it sees now
                access_version = new_access
                snapshot, hot = new_snapshot, new_hot
                ident = f"{hub.epoch}.{snapshot}.{version}"
                access_body = await to_thread.run_sync(self._access_message, snapshot)
                if access_body is not None:
                    out.append(message("store", access_body, ident))
            elif new_snapshot != snapshot or new_hot != hot:  # hot: seawatch.live.hot
                snapshot, hot = new_snapshot, new_hot
                body = await to_thread.run_sync(self._store_message, snapshot)
                ident = f"{hub.epoch}.{snapshot}.{version}"
                out.append(message("store", body, ident))
            if new_version != version:
                changes = hub.alert_changes(version) or {}
                version = new_version
                ident = f"{hub.epoch}.{snapshot}.{version}"
                for item in await to_thread.run_sync(self._alert_messages, changes):
                    out.append(message("alert", item, ident))
            if out:
                for text in out:
                    yield text
                last_sent = time.monotonic()
            elif time.monotonic() - last_sent >= hub.keepalive_s:
                yield ": keep-alive\n\n"
                last_sent = time.monotonic()
