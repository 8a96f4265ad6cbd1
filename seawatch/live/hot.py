"""The hot path: zone crossings raised from the acknowledged stream, before the store.

Incremental detection (:mod:`seawatch.live.detect`) sees a position once a compaction has
committed it (``compact_every_s``) and a detection run has read its window: tens of seconds
to minutes. The events one new position decides on its own need neither: a ``zone_entry`` or
``zone_exit`` is two consecutive positions of a vessel on either side of a zone's boundary
(:mod:`seawatch.detect.zone_crossing`). :class:`HotPath` is an ``on_ack`` listener of the
live service (records just fsynced in the log) that

1. decodes each acknowledged micro-batch with the decoder the compaction uses
   (:func:`seawatch.live.compact.decode_records`: no second decoder, the same times);
2. prepends, per vessel of the batch, the **carried state**: its last position (time, place,
   when it was heard), kept in memory; a vessel not heard for ``hot_forget_h`` is dropped;
3. cuts the vessel's positions where the segmenter surely would (more than ``[segment]
   max_gap_h`` apart, or farther than ``noise_km`` at more than ``max_speed_kn``) and runs
   the batch kernel itself, :func:`~seawatch.detect.zone_crossing.detect_zone_crossings`
   with ``[zone]``'s parameters and one zone index: the same definition, details and
   ``event_id`` (:mod:`seawatch.detect.events`), so the store's run later finds the same id;
4. keeps the new events as **hot** events, each with the log position of its batch, and
   writes them to ``<store>/live/hot_events.json`` (:data:`HOT_FILE`; atomic replace, only
   when they changed, at most every ``hot_publish_ms``), where ``seawatch serve`` on the
   store reads them (:func:`read_hot_events`) and serves those the store does not have yet
   (the store wins on one ``event_id``), marked ``provisional``;
5. raises the alerts of the store's rules for the new hot events
   (:func:`seawatch.share.alerts.raise_for_store`, one alert per rule and ``event_id``: the
   store's run that confirms an event finds its alert and raises no second one).

After each detection run, the hot events whose batch the run covered (compacted before it
started) are **settled** (:meth:`HotPath.settle`): confirmed when the store now has their id,
dropped when not, and removed from the file either way.

Where a hot event can differ from the store's: the hot path sees the positions in the order
they are acknowledged and without the store's cleaning. A position older than its vessel's
carried one (a late report) is skipped (the store's run places it); the station clock check
and the duplicate rules of the store (docs/store.md: late copies, displaced copies) are not
applied, nor the segmenter's matching of a shared MMSI's tracks or the outlier flags: a
late copy or a garbled report can make a crossing the store's run drops, and a crossing after
a bad report can be missed (the store's run adds it). Hence *provisional*.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from seawatch import schema
from seawatch.detect.config import DetectConfig
from seawatch.detect.events import empty_events
from seawatch.detect.zone_crossing import detect_zone_crossings
from seawatch.detect.zones import as_zone_index
from seawatch.geo.geodesy import distance_km
from seawatch.live.wal import START, Position, Record

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.geo.zones import Zone, ZoneIndex
    from seawatch.live.params import LiveParams
    from seawatch.store import Store

log = logging.getLogger(__name__)

HOT_FILE = "hot_events.json"
"""The hot events, in the store's ``live`` folder (where ``seawatch serve`` looks)."""
HOT_FORMAT = 1
DELAYS_KEPT = 2000
"""Publication delays kept for the status (the latest)."""
LOG_COLUMNS = {"log_segment": pl.Int64(), "log_offset": pl.Int64()}
"""The log position of the batch that raised a hot event (what a detection run settles)."""
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%.6fZ"
_STATE = {"mmsi": pl.Int64(), "ts": schema.TS, "lat": pl.Float64(), "lon": pl.Float64(),
          "heard": pl.Float64()}
_KNOT_KMH = 1.852


def _sentence(body: bytes) -> bytes:
    checksum = 0
    for byte in body:
        checksum ^= byte
    return b"!%s*%02X\n" % (body, checksum)


WARM_UP = _sentence(b"AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0")
"""A position report decoded once at start, so the decoder's compiled kernels are loaded
before the first batch (seconds, once)."""


def hot_file(store: str | Path) -> Path:
    """Where the hot events of the store at ``store`` are written."""
    return Path(store) / "live" / HOT_FILE


def _no_hot() -> pl.DataFrame:
    return empty_events().with_columns(
        [pl.lit(None, dtype=t).alias(k) for k, t in LOG_COLUMNS.items()])


# --- the kernel ------------------------------------------------------------------------------
def usable_positions(positions: pl.DataFrame) -> pl.DataFrame:
    """``mmsi``, ``ts``, ``lat``, ``lon`` of the positions the store's cleaning keeps
    (:func:`seawatch.tracks.clean`: a vessel, a time, a place in range; exact duplicates
    once), sorted as it sorts them: ``(mmsi, ts, lat, lon)``."""
    lat, lon = pl.col("lat").cast(pl.Float64), pl.col("lon").cast(pl.Float64)
    return (
        positions.select(pl.col("mmsi").cast(pl.Int64), pl.col("ts").cast(schema.TS),
                         lat.alias("lat"), lon.alias("lon"))
        .filter((pl.col("mmsi").is_not_null() & pl.col("ts").is_not_null()
                 & pl.col("lat").is_between(-90.0, 90.0)
                 & pl.col("lon").is_between(-180.0, 180.0)).fill_null(False))
        .unique(["mmsi", "ts", "lat", "lon"])
        .sort("mmsi", "ts", "lat", "lon")
    )


def hot_segments(frame: pl.DataFrame, config: DetectConfig) -> pl.DataFrame:
    """``frame`` (sorted by vessel and time) with ``segment_id``: a new track at each vessel's
    first row and where the segmenter could not continue one (``[segment]``): more than
    ``max_gap_h`` after the row before, or farther than ``noise_km`` from it at an implied
    speed above ``max_speed_kn``.

    >>> from datetime import datetime, UTC
    >>> f = pl.DataFrame({"mmsi": [1, 1, 1, 2], "lat": [0.0, 0.01, 3.0, 0.0], "lon": 0.0,
    ...                   "ts": [datetime(2026, 1, 15, h, tzinfo=UTC) for h in (0, 1, 2, 2)]})
    >>> hot_segments(f, DetectConfig())["segment_id"].to_list()  # 330 km in an hour: cut
    [1, 1, 2, 3]
    """
    p = config.segment
    n = frame.height
    if n == 0:
        return frame.with_columns(pl.lit(None, dtype=pl.Int64).alias("segment_id"))
    mmsi = frame["mmsi"].to_numpy()
    t = frame["ts"].dt.epoch("us").to_numpy()
    lat, lon = frame["lat"].to_numpy(), frame["lon"].to_numpy()
    brk = np.ones(n, dtype=bool)
    if n > 1:
        same = mmsi[1:] == mmsi[:-1]
        dt_h = (t[1:] - t[:-1]) / 3.6e9
        km = distance_km(lat[:-1], lon[:-1], lat[1:], lon[1:])
        with np.errstate(divide="ignore", invalid="ignore"):
            fast = (km > float(p.noise_km)) & (
                (dt_h <= 0) | (km / dt_h > float(p.max_speed_kn) * _KNOT_KMH))
        brk[1:] = ~same | (dt_h > float(p.max_gap_h)) | fast
    return frame.with_columns(pl.Series("segment_id", np.cumsum(brk), dtype=pl.Int64))


class HotState:
    """The carried state and the kernel of the hot path, without the service around it
    (:class:`HotPath` runs it on the acknowledged stream)."""

    def __init__(self, *, zones: Sequence[Zone] | ZoneIndex | None = None,
                 config: DetectConfig | None = None, forget_h: float = 24.0) -> None:
        self.config = config or DetectConfig()
        self.zones, self.index = as_zone_index(zones)
        self.forget_s = float(forget_h) * 3600
        self.state = pl.DataFrame(schema=_STATE)
        """One row per vessel: its last position and when it was heard (epoch seconds)."""
        self.late = 0
        """Positions skipped as older than their vessel's carried one."""
        kinds = self.config.zone.kinds
        keys = np.random.default_rng(0).integers(1, 2**63, len(self.zones), dtype=np.uint64)
        wanted = np.array([kinds is None or z.kind in set(kinds) for z in self.zones], bool)
        self._zone_keys = np.where(wanted, keys, np.uint64(0)).astype(np.uint64)

    def step(self, positions: pl.DataFrame, heard: float | None = None) -> pl.DataFrame:
        """The zone crossings (``schema.EVENTS``) that ``positions`` (decoded, any order)
        make after the carried state; the state moves on to them."""
        heard = time.time() if heard is None else heard
        new = usable_positions(positions)
        if self.state.height:
            self.state = self.state.filter(pl.col("heard") >= heard - self.forget_s)
        if new.height == 0:
            return empty_events()
        carried = self.state.join(new.select("mmsi").unique(), on="mmsi", how="semi")
        # a position not after its vessel's carried one cannot be placed in its track here
        fresh = new.join(carried.select("mmsi", pl.col("ts").alias("_last")), on="mmsi",
                         how="left").filter(pl.col("_last").is_null()
                                            | (pl.col("ts") > pl.col("_last"))).drop("_last")
        self.late += new.height - fresh.height
        if fresh.height == 0:
            return empty_events()
        frame = hot_segments(pl.concat([carried.drop("heard"), fresh])
                             .sort("mmsi", "ts", "lat", "lon"), self.config)
        # the batch kernel on the vessels whose zones change between consecutive positions
        # of a track (most batches have none: the kernel's joins are then skipped)
        crossing = frame.filter(pl.col("mmsi").is_in(
            pl.Series(self._changing(frame), dtype=pl.Int64).implode()))
        events = detect_zone_crossings(crossing, self.index, params=self.config.zone) if (
            crossing.height) else empty_events()
        last = frame.group_by("mmsi", maintain_order=True).last().with_columns(
            pl.lit(heard, dtype=pl.Float64).alias("heard"))
        self.state = pl.concat([self.state.join(last.select("mmsi"), on="mmsi", how="anti"),
                                last.select(list(_STATE))])
        return events

    def _changing(self, frame: pl.DataFrame) -> np.ndarray:
        """MMSIs with two consecutive positions of one track in different zones (of the
        ``[zone] kinds`` reported): each position's zones hashed (a random 64-bit key per
        zone, XORed), compared with the position before."""
        point, zone = self.index.locate(frame["lat"].to_numpy(), frame["lon"].to_numpy())
        keys = self._zone_keys[zone]
        member = np.zeros(frame.height, dtype=np.uint64)
        np.bitwise_xor.at(member, point, keys)
        seg = frame["segment_id"].to_numpy()
        change = (seg[1:] == seg[:-1]) & (member[1:] != member[:-1])
        return np.unique(frame["mmsi"].to_numpy()[1:][change])

    def seed(self, store: Store) -> int:
        """Carry the last position of each vessel of ``store`` heard within ``forget_h`` of
        its newest position (after a restart: the store has what the log held); returns how
        many. Reads the days of that span only (the newest time from the snapshot's file
        list), aggregated per vessel as it streams."""
        from seawatch.store.layout import parse_ts

        ends = [f.ts_max for f in store.files("positions") if f.ts_max]
        if not ends:
            return 0
        newest = parse_ts(max(ends))
        since = newest - timedelta(seconds=self.forget_s)
        lat, lon = pl.col("lat"), pl.col("lon")
        rows = (
            store.positions(start=since).select("mmsi", "ts", "lat", "lon")
            .filter((pl.col("mmsi").is_not_null() & pl.col("ts").is_not_null()
                     & lat.is_between(-90.0, 90.0) & lon.is_between(-180.0, 180.0))
                    .fill_null(False))
            .group_by("mmsi")  # the last in the store's cleaning order: (ts, lat, lon)
            .agg(pl.col("ts", "lat", "lon").sort_by("ts", "lat", "lon").last())
            .collect()
        )
        # their times, not now: a vessel silent for forget_h is forgotten on schedule
        now = time.time()
        self.state = usable_positions(rows).with_columns(
            (now - (pl.lit(newest).cast(schema.TS) - pl.col("ts")).dt.total_microseconds()
             / 1e6).cast(pl.Float64).alias("heard")).select(list(_STATE))
        return self.state.height


# --- the file the API reads -------------------------------------------------------------------
def write_hot_events(path: Path, events: pl.DataFrame, info: dict[str, Any]) -> None:
    """Replace the hot events file atomically (a temporary file renamed over it: a reader
    sees the old or the new one; not fsynced: it is rebuilt after a crash)."""
    rows = events.select(
        *[pl.col(c).dt.to_string(_TIME_FORMAT) if c in ("start", "end") else pl.col(c)
          for c in schema.EVENTS],
        pl.format("{}.{}", "log_segment", "log_offset").alias("log_position"),
    ).to_dicts()
    body = json.dumps({"format": HOT_FORMAT, **info, "events": rows}, separators=(",", ":"))
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        temp.write_text(body + "\n", encoding="utf-8")
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise


def hot_signature(store: str | Path) -> tuple[int, int, int] | None:
    """What identifies the hot events file's content now (None: no file)."""
    try:
        st = os.stat(hot_file(store))
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def read_hot_events(store: str | Path) -> pl.DataFrame:
    """The hot events of the store at ``store`` (``schema.EVENTS`` columns and
    ``log_position``); empty when there is no file or it cannot be read."""
    nothing = empty_events().with_columns(pl.lit(None, dtype=pl.String).alias("log_position"))
    try:
        doc = json.loads(hot_file(store).read_text(encoding="utf-8"))
        rows = doc.get("events") or []
    except (OSError, ValueError, AttributeError):
        return nothing
    strings = {c: pl.String() for c in ("start", "end", "log_position")}
    try:  # a file of another version or damaged by hand: no hot events, never a failed read
        frame = pl.DataFrame(rows, schema={**schema.EVENTS, **strings}, orient="row") if rows \
            else pl.DataFrame(schema={**schema.EVENTS, **strings})
        return frame.with_columns(
            pl.col("start").str.to_datetime(_TIME_FORMAT, time_zone="UTC").cast(schema.TS),
            pl.col("end").str.to_datetime(_TIME_FORMAT, time_zone="UTC").cast(schema.TS),
        ).select(*schema.EVENTS, "log_position")
    except (TypeError, ValueError, pl.exceptions.PolarsError) as exc:
        log.warning("the hot events file of %s cannot be read: %s", store, exc)
        return nothing


def with_hot_events(stored: pl.DataFrame, hot: pl.DataFrame) -> pl.DataFrame:
    """The events table ``stored`` (newest first) with the hot events it does not have
    (same ``event_id``: the store's wins), a ``provisional`` column (true for those), in
    the same order. ``stored`` unchanged when no hot event is left."""
    hot = hot.join(stored.select("event_id"), on="event_id", how="anti")
    if hot.height == 0:
        return stored
    merged = pl.concat([
        stored.with_columns(pl.lit(False).alias("provisional")),
        hot.select(*stored.columns).cast(stored.schema)
        .with_columns(pl.lit(True).alias("provisional")),
    ])
    return merged.sort(["start", "event_id"], descending=[True, False], nulls_last=True)


# --- in the service ----------------------------------------------------------------------------
class HotPath:
    """The hot path of ``seawatch live`` (module docstring): :meth:`on_ack` is the log
    writer's listener, :meth:`run` the task that decodes, detects and publishes,
    :meth:`settle` what a detection run calls."""

    def __init__(self, *, zones: Sequence[Zone] | None = None,
                 config: DetectConfig | None = None) -> None:
        self.zones_option = zones
        self.config = config or DetectConfig()
        self.kernel: HotState | None = None
        self.events = _no_hot()
        """Hot events not settled yet, with their batch's log position."""
        self.path: Path | None = None
        self.store: Store | None = None
        self.wal_id: str | None = None
        self._pending: list[tuple[Sequence[Record], Position]] = []
        self._acked: list[float] = []  # when each pending batch was acknowledged
        self._oldest: float | None = None  # ... the oldest batch with an unpublished event
        self.delays: deque[float] = deque(maxlen=DELAYS_KEPT)
        """Seconds from a batch's acknowledgement to the file holding its events."""
        self._wake = asyncio.Event()
        self._lock = threading.Lock()  # self.events: the worker thread and settle()
        self._writing = threading.Lock()
        self._dirty = False
        self.version = 0
        """Changes of the hot events so far; ``published``: the one the file has."""
        self.published = 0
        self._unraised = _no_hot()
        self._last_write = 0.0
        self.every_s = 0.15
        self.batches = 0
        self.positions = 0
        self.raised = 0
        self.confirmed = 0
        self.dropped = 0
        self.errors = 0
        self.last_error: str | None = None
        self.alerts: dict[str, Any] | None = None
        self.seconds = 0.0

    @property
    def started(self) -> bool:
        """Whether :meth:`start` has carried the state from the store."""
        return self.kernel is not None

    def attach(self, folder: Path, begin: Position) -> None:
        """(The listener is given the records themselves: the log is not read.)"""

    def close(self) -> None:
        """(Nothing to stop: :meth:`run` ends with the service's stop.)"""

    # -- the listener (the event loop's thread) ---------------------------------------------
    def on_ack(self, records: Sequence[Record], end: Position) -> None:
        """A batch just acknowledged: queued for :meth:`run`."""
        self._pending.append((records, end))
        self._acked.append(time.monotonic())
        self._wake.set()

    # -- the worker --------------------------------------------------------------------------
    def start(self, store: Store, params: LiveParams, wal_id: str | None = None) -> None:
        """Build the zone index, warm the decoder, carry the store's last positions, and take
        the hot events a previous service left (settled by the first detection run, which
        reads the whole store)."""
        from seawatch.live.compact import decode_records

        self.store = store
        self.wal_id = wal_id
        self.every_s = float(params.hot_publish_ms) / 1000
        self.path = hot_file(store.path)
        kernel = HotState(zones=self.zones_option, config=self.config,
                          forget_h=float(params.hot_forget_h))
        # the decoder's compiled kernels load on first use (seconds): not on the first batch
        decode_records([Record("warm-up", int(time.time() * 1e6), 0, WARM_UP)])
        kernel.seed(store)
        left = read_hot_events(store.path)
        if left.height:
            left = left.drop("log_position").with_columns(
                pl.lit(START.segment, dtype=pl.Int64).alias("log_segment"),
                pl.lit(START.offset, dtype=pl.Int64).alias("log_offset"))
            with self._lock:
                self.events = left
        self.kernel = kernel

    def process(self, batches: Sequence[tuple[Sequence[Record], Position]],
                acked: float | None = None) -> pl.DataFrame:
        """The new hot events of some acknowledged batches (their records decoded together;
        each event takes the log position after the last of them)."""
        from seawatch.live.compact import decode_records

        assert self.kernel is not None
        began = time.perf_counter()
        records = [r for recs, _ in batches for r in recs]
        end = batches[-1][1]
        try:
            frames = [r.positions for r in decode_records(records) if r.positions.height]
            if not frames:
                return _no_hot()
            positions = pl.concat([f.select("mmsi", "ts", "lat", "lon") for f in frames])
            self.positions += positions.height
            found = self.kernel.step(positions)
            return self._add(found, end, acked)
        finally:
            self.batches += len(batches)
            self.seconds += time.perf_counter() - began

    def _add(self, found: pl.DataFrame, end: Position, acked: float | None) -> pl.DataFrame:
        with self._lock:
            new = found.join(self.events.select("event_id"), on="event_id", how="anti")
            if new.height:
                new = new.with_columns(pl.lit(end.segment, dtype=pl.Int64).alias("log_segment"),
                                       pl.lit(end.offset, dtype=pl.Int64).alias("log_offset"))
                self.events = pl.concat([self.events, new])
                self._unraised = pl.concat([self._unraised, new])
                self._dirty = True
                self.version += 1
                self.raised += new.height
                if acked is not None:
                    self._oldest = acked if self._oldest is None else min(self._oldest, acked)
        return new

    def settle(self, covered: Position) -> tuple[int, int]:
        """A detection run covered the log up to ``covered``: the hot events of the batches
        before it leave the hot file, confirmed when the store has their id, dropped when
        not; returns (confirmed, dropped). The file is rewritten at once."""
        if self.store is None:
            return 0, 0
        with self._lock:
            pos = (pl.col("log_segment") < covered.segment) | (
                (pl.col("log_segment") == covered.segment)
                & (pl.col("log_offset") <= covered.offset))
            done = self.events.filter(pos)
        if done.height == 0:
            return 0, 0
        ids = done["event_id"].implode()
        stored = (self.store.events().filter(pl.col("event_id").is_in(ids))
                  .select("event_id").collect())
        confirmed = done.join(stored, on="event_id", how="semi").height
        dropped = done.height - confirmed
        with self._lock:
            self.events = self.events.join(done.select("event_id"), on="event_id", how="anti")
            self._unraised = self._unraised.join(done.select("event_id"), on="event_id",
                                                 how="anti")
            self._dirty = True
            self.version += 1
        self.confirmed += confirmed
        self.dropped += dropped
        if dropped:
            gone = done.join(stored, on="event_id", how="anti")["event_id"].head(5).to_list()
            log.info("hot path: %d event(s) confirmed, %d dropped by the detection run "
                     "(%s)", confirmed, dropped, ", ".join(gone))
        self.publish()
        return confirmed, dropped

    def publish(self) -> bool:
        """Write the hot events file when they changed; returns whether it wrote."""
        if self.path is None:
            return False
        with self._writing:  # (the worker's and a detection run's: the newest last)
            with self._lock:
                if not self._dirty:
                    return False
                events, version, self._dirty = self.events, self.version, False
                oldest, self._oldest = self._oldest, None
            try:
                write_hot_events(self.path, events, {
                    "wal_id": self.wal_id, "written_at": time.time(), "raised": self.raised,
                    "confirmed": self.confirmed, "dropped": self.dropped})
            except BaseException:
                self._dirty = True  # written next time
                raise
            self._last_write = time.monotonic()
            self.published = version
        if oldest is not None:
            self.delays.append(self._last_write - oldest)
        return True

    def raise_alerts(self) -> None:
        """The alerts of the store's enabled rules for the hot events not raised yet
        (:func:`seawatch.share.alerts.raise_for_store`, as a detection run raises them)."""
        from seawatch.live.detect import _record
        from seawatch.share.alerts import raise_for_store

        with self._lock:
            events, self._unraised = self._unraised, _no_hot()
        if events.height == 0 or self.store is None:
            return
        try:
            done = raise_for_store(self.store.path, self.store,
                                   events.select(*schema.EVENTS), _record)
        except Exception as exc:
            self.last_error = f"raising hot alerts failed: {type(exc).__name__}: {exc}"
            log.exception("hot path: raising alerts failed")
            return
        if done is not None:
            self.alerts = done.as_json()

    async def run(self, store: Store, params: LiveParams, lock: asyncio.Lock,
                  stop: asyncio.Event, wal_id: str | None = None) -> None:
        """Until ``stop``, once per ``hot_publish_ms`` while batches come: the batches
        acknowledged since the last time decoded and detected on together in a worker thread
        (one decoder call and one kernel run however many batches: what each costs is
        mostly fixed), the file written when the events changed, then the alerts raised. A
        batch thus waits at most ``hot_publish_ms`` plus one run. Starts after the service's
        first compaction (``lock``): the state is carried from a store that has what the log
        held."""
        async with lock:
            await asyncio.to_thread(self.start, store, params, wal_id)
        tick = 0.0
        while True:
            if not self._pending and not stop.is_set():
                await _either(self._wake, stop)
            wait = tick + self.every_s - time.monotonic()
            if wait > 0 and not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), wait)
            tick = time.monotonic()
            self._wake.clear()
            batches, self._pending = self._pending, []
            acked, self._acked = self._acked, []
            if batches:
                try:
                    await asyncio.to_thread(self.process, batches, min(acked, default=None))
                except Exception as exc:  # bad input never stops the hot path
                    self.errors += 1
                    self.last_error = f"hot path: {type(exc).__name__}: {exc}"
                    log.exception("hot path: a batch failed (the store's run will see it)")
            await asyncio.to_thread(self._publish_and_raise)
            if stop.is_set() and not self._pending:
                return

    def _publish_and_raise(self) -> None:
        try:
            self.publish()
        except OSError as exc:
            self.last_error = f"hot path: writing {HOT_FILE} failed: {exc}"
            log.warning("%s", self.last_error)
        self.raise_alerts()

    def status(self) -> dict[str, Any]:
        """``status.json``'s ``hot``: the delay from a batch's acknowledgement to the file
        holding its events (p50, p99 of the last :data:`DELAYS_KEPT` writes with new
        events), batches and positions read, events raised, confirmed and dropped by the
        detection runs, waiting (hot now), vessels carried, positions skipped as late."""
        delays = np.array(self.delays) if self.delays else None
        return {
            "delay_p50_s": None if delays is None else round(float(np.median(delays)), 3),
            "delay_p99_s": None if delays is None else round(float(
                np.percentile(delays, 99)), 3),
            "batches": self.batches, "positions": self.positions, "raised": self.raised,
            "confirmed": self.confirmed, "dropped": self.dropped, "hot": self.events.height,
            "vessels": 0 if self.kernel is None else self.kernel.state.height,
            "late": 0 if self.kernel is None else self.kernel.late,
            "errors": self.errors, "seconds": round(self.seconds, 3), "alerts": self.alerts,
            "last_error": self.last_error,
        }


async def _either(a: asyncio.Event, b: asyncio.Event) -> None:
    waits = [asyncio.create_task(a.wait()), asyncio.create_task(b.wait())]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
