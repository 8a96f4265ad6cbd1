"""Data access for the API: filtered scans of one store, and caches per snapshot.

:class:`StoreQuery` wraps a :class:`seawatch.store.Store` and is the API's one door to the
data. Everything is columnar (Polars lazy scans with the filters pushed into the Parquet
reader); what is costly and asked for on every map load is computed once per store snapshot
and cached: the latest position of each vessel joined with its identity, the events table,
the statistics, the data's extent, the zones and the land basemap. The snapshot id is read
from the store on every request (one small file), so a store re-ingested or re-detected while
the server runs is seen at once: the caches are rebuilt on the first request after the
change, and a scan that races an ingest deleting its files is retried on the new snapshot.

The class holds the caches and the positions scans (plain, or through the query index of
:mod:`seawatch.store.posindex`); what each other resource is made of is in its own module:

- :mod:`~seawatch.api.query.stats`: statistics and extents;
- :mod:`~seawatch.api.query.vessels`: latest positions with identities, search, one vessel;
- :mod:`~seawatch.api.query.tracks`: a vessel's track, simplified for a zoom level;
- :mod:`~seawatch.api.query.events`: events filtered, and the evidence behind one;
- :mod:`~seawatch.api.query.geography`: the zones in use and the land basemap.

Examples
--------
>>> import tempfile
>>> from seawatch.store import Store
>>> path = tempfile.mkdtemp()
>>> _ = Store(path)
>>> query = StoreQuery(path)
>>> query.stats()["positions"], query.vessels().height
(0, 0)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import polars as pl

from seawatch.api.concurrency import CallerSlots
from seawatch.api.query.events import (
    evidence_collection,
    evidence_window,
    filter_events,
    read_events_table,
    read_evidence,
)
from seawatch.api.query.geography import land_geojson, zones_geojson, zones_in_use
from seawatch.api.query.stats import build_extent, build_stats
from seawatch.api.query.tracks import build_track
from seawatch.api.query.vessels import (
    GZIP_LEVEL,
    VESSEL_FIELDS,
    all_vessels_geojson,
    build_latest,
    identity_records,
    select_vessels,
    vessel_record,
)
from seawatch.store.posindex import MIN_ROWS as INDEX_MIN_ROWS
from seawatch.store.posindex import FileIndex, PositionIndex, Query, select_page, to_us
from seawatch.units import BBox

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.geo.zones import Zone

T = TypeVar("T")

SCOPED_CACHE_ENTRIES = 32
"""Results kept per kind and scope (:meth:`StoreQuery.cached_scoped`): a partner's statistics
and vessels, for the scopes used last."""


class StoreQuery:
    """Queries of one store for the API, with caches keyed by the store's snapshot id.

    Parameters
    ----------
    store_dir
        The store's directory (made by ``seawatch ingest``); it must exist.
    zones_file
        Zones (GeoJSON, Shapefile, GeoPackage) to serve at ``/zones``; default: the file the
        detection run recorded, if any, else :func:`seawatch.geo.default_zones`.
    position_index
        Answer box and time-window queries of positions from the query index
        (:mod:`seawatch.store.posindex`) once it is built; False: always scan the store.
    index_min_rows
        Stores with fewer positions are not indexed (the plain scan is fast enough).

    Raises
    ------
    seawatch.store.StoreError
        ``store_dir`` is not a store.
    """

    def __init__(
        self,
        store_dir: str | Path,
        *,
        zones_file: str | Path | None = None,
        position_index: bool = True,
        index_min_rows: int = INDEX_MIN_ROWS,
    ) -> None:
        from seawatch.store import Store

        self.store = Store(store_dir, create=False)
        self.zones_file = None if zones_file is None else Path(zones_file)
        from seawatch.risk import RiskParams

        self.risk_params = RiskParams()  # the weights of /watch and /events?order=risk
        self._cache: dict[str, tuple[int, Any]] = {}
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self.use_position_index = position_index
        """Answer box and time-window queries of positions from the query index when it is
        built (see :mod:`seawatch.store.posindex`); False: always the plain scan."""
        self.position_index = PositionIndex(self.store, min_rows=index_min_rows)
        self.callers = CallerSlots()
        """Position queries each caller may run at once (see
        :mod:`seawatch.api.concurrency`)."""
        self._scoped: OrderedDict[tuple[str, str, int], Any] = OrderedDict()
        self._hot: tuple[Any, pl.DataFrame, pl.DataFrame] | None = None

    # ------------------------------------------------------------------ caching

    @property
    def snapshot_id(self) -> int:
        """The store's current snapshot id (re-read from disk)."""
        return self.store.snapshot_id

    def cached(self, key: str, build: Callable[[], T]) -> T:
        """``build()``, computed once per snapshot (concurrent callers wait for one build)."""
        sid = self.snapshot_id
        hit = self._cache.get(key)
        if hit is not None and hit[0] == sid:
            return hit[1]
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            sid = self.snapshot_id
            hit = self._cache.get(key)
            if hit is not None and hit[0] == sid:
                return hit[1]
            value = self.retry(build)
            self._cache[key] = (sid, value)
            return value

    def cached_scoped(self, kind: str, key: str, build: Callable[[], T]) -> T:
        """``build()`` for one caller's scope (``key``: what the scope releases), computed
        once per snapshot (concurrent callers of one scope wait for one build); the results
        of the :data:`SCOPED_CACHE_ENTRIES` scopes used last are kept."""
        sid = self.snapshot_id
        name = (kind, key, sid)
        with self._guard:
            if name in self._scoped:
                self._scoped.move_to_end(name)
                return self._scoped[name]
            lock = self._locks.setdefault(f"scoped:{kind}:{key}", threading.Lock())
        with lock:
            with self._guard:
                if name in self._scoped:
                    return self._scoped[name]
            value = self.retry(build)
            with self._guard:
                self._scoped[name] = value
                while len(self._scoped) > SCOPED_CACHE_ENTRIES:
                    old = self._scoped.popitem(last=False)[0]
                    if not any(k[:2] == old[:2] for k in self._scoped):
                        self._locks.pop(f"scoped:{old[0]}:{old[1]}", None)
            return value

    def retry(self, run: Callable[[], T], attempts: int = 3) -> T:
        """``run()``, run again when it failed because an ingest replaced the files it read."""
        for attempt in range(attempts):
            before = self.snapshot_id
            try:
                return run()
            except (OSError, pl.exceptions.PolarsError):
                if attempt == attempts - 1 or self.snapshot_id == before:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def warm(self) -> None:
        """Build the caches a map load needs (statistics, vessels, zones, land), so the
        first visitor does not wait; errors are logged, not raised."""
        import logging

        try:
            if self.use_position_index:
                self.position_index.start()  # builds in its own thread
            self.stats()
            self.all_vessels_geojson_gzip()
            self.zones_geojson()
            self.land_geojson()
        except Exception:
            logging.getLogger("seawatch.api").exception("warming the caches failed")

    # ------------------------------------------------------------------ statistics

    def stats(self) -> dict[str, Any]:
        """Store statistics (see ``GET /api/v1/stats`` and
        :func:`~seawatch.api.query.stats.build_stats`)."""
        return self.cached("stats", lambda: build_stats(self))

    def extent(self) -> BBox | None:
        """``(min_lon, min_lat, max_lon, max_lat)`` of all positions, or None when empty."""
        return self.cached("extent", lambda: build_extent(self.store))

    def time_extent(self) -> tuple[str | None, str | None]:
        """First and last position time as ISO 8601 UTC text (None when empty)."""
        stats = self.stats()
        return stats["first_ts"], stats["last_ts"]

    # ------------------------------------------------------------------ vessels

    def latest(self) -> pl.DataFrame:
        """One row per vessel with a position: the latest position and the identity
        (:func:`~seawatch.api.query.vessels.build_latest`)."""
        return self.cached("latest", lambda: build_latest(self))

    def identity(self) -> pl.DataFrame:
        """Latest identity of every MMSI with identity reports (see
        :meth:`seawatch.store.Store.latest_identity`), ``ts`` renamed ``identity_ts``."""
        return self.cached(
            "identity",
            lambda: self.store.latest_identity().rename({"ts": "identity_ts"}),
        )

    def vessels(self, q: str | None = None, bbox: BBox | None = None) -> pl.DataFrame:
        """Vessels with a position, filtered (columns
        :data:`~seawatch.api.query.vessels.VESSEL_FIELDS`).

        Parameters
        ----------
        q
            Search text: MMSI or IMO prefix (digits), or a case-insensitive substring of
            the name or the call sign. Matches are ordered exact first, then by name.
        bbox
            Keep vessels whose latest position lies in the box.
        """
        return select_vessels(self.latest().select(VESSEL_FIELDS), q, bbox)

    def all_vessels_geojson(self) -> str:
        """Every vessel with a position as a GeoJSON FeatureCollection (text, cached): what
        the map loads (:func:`~seawatch.api.query.vessels.all_vessels_geojson`)."""
        return self.cached("vessels_geojson", lambda: all_vessels_geojson(self.vessels()))

    def all_vessels_geojson_gzip(self) -> bytes:
        """:meth:`all_vessels_geojson` gzip-compressed (cached)."""
        import gzip

        return self.cached(
            "vessels_geojson_gzip",
            lambda: gzip.compress(self.all_vessels_geojson().encode(), GZIP_LEVEL, mtime=0),
        )

    def vessel(self, mmsi: int) -> dict[str, Any] | None:
        """One vessel: identity, latest position and counts; None when the MMSI is unknown."""
        return vessel_record(self, mmsi)

    def identities(self, mmsis: Sequence[int]) -> list[dict[str, Any]]:
        """Identity and latest position (list fields) of each MMSI, in the order given."""
        return identity_records(self, mmsis)

    def last_seen(self, mmsi: int) -> datetime | None:
        """Time of the vessel's latest position (None when it has none)."""
        found = self.latest().filter(pl.col("mmsi") == mmsi)
        if found.height:
            return found["ts"].item()
        return None

    # ------------------------------------------------------------------ tracks

    def track(
        self, mmsi: int, start: datetime, end: datetime, zoom: float | None = None
    ) -> dict[str, Any]:
        """A vessel's track in ``[start, end)`` as a GeoJSON Feature (dict); see
        :func:`~seawatch.api.query.tracks.track_feature`."""
        return build_track(self, mmsi, start, end, zoom)

    # ------------------------------------------------------------------ positions

    def positions(
        self,
        mmsi: Sequence[int] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        bbox: BBox | None = None,
    ) -> pl.LazyFrame:
        """Positions (``schema.POSITIONS``) filtered, in store order: UTC day, MMSI, time
        (a live day's parts each in that order, one after another)."""
        return self.store.positions(mmsi=mmsi, start=start, end=end, bbox=bbox)

    def _indexes(
        self,
        mmsi: Sequence[int] | None,
        start: datetime | None,
        end: datetime | None,
        bbox: BBox | None,
    ) -> list[FileIndex] | None:
        """The query indexes of the days a box or window query reads, or None when the
        plain scan should answer (index off or not built yet, an MMSI filter, no filter)."""
        if not self.use_position_index or mmsi or (bbox is None and start is None
                                                     and end is None):
            return None
        if bbox is not None and bbox[1] > bbox[3]:
            return None  # the plain scan raises the error
        start, end = _utc(start), _utc(end)
        return self.position_index.get(self.store.files("positions", start, end))

    def positions_page(
        self,
        offset: int,
        limit: int,
        mmsi: Sequence[int] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        bbox: BBox | None = None,
    ) -> tuple[pl.DataFrame, int]:
        """Rows ``offset .. offset + limit`` of :meth:`positions` and how many rows it has;
        from the query index when it is built (the same rows, order and total)."""
        indexes = self._indexes(mmsi, start, end, bbox)
        if indexes is None:
            return self.page(self.positions(mmsi, start, end, bbox), offset, limit)
        return select_page(indexes, _index_query(start, end, bbox), offset, limit)

    def positions_count(
        self,
        mmsi: Sequence[int] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        bbox: BBox | None = None,
    ) -> int:
        """Number of rows of :meth:`positions` (from the query index when it is built)."""
        indexes = self._indexes(mmsi, start, end, bbox)
        if indexes is None:
            return self.count(self.positions(mmsi, start, end, bbox))
        return select_page(indexes, _index_query(start, end, bbox), 0, 0)[1]

    def positions_frame(
        self,
        mmsi: Sequence[int] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        bbox: BBox | None = None,
    ) -> pl.DataFrame:
        """All rows of :meth:`positions`, collected (from the query index when it is built)."""
        indexes = self._indexes(mmsi, start, end, bbox)
        if indexes is None:
            return self.collect(self.positions(mmsi, start, end, bbox))
        return select_page(indexes, _index_query(start, end, bbox), 0, None)[0]

    def page(self, frame: pl.LazyFrame, offset: int, limit: int) -> tuple[pl.DataFrame, int]:
        """Rows ``offset .. offset + limit`` of a lazy query, and how many rows it has."""

        def run() -> tuple[pl.DataFrame, int]:
            total = int(frame.select(pl.len()).collect().item())
            return frame.slice(offset, limit).collect(), total

        return self.retry(run)

    def count(self, frame: pl.LazyFrame) -> int:
        """Number of rows of a lazy query."""
        return self.retry(lambda: int(frame.select(pl.len()).collect().item()))

    def collect(self, frame: pl.LazyFrame) -> pl.DataFrame:
        """A lazy query collected (retried if an ingest replaced its files meanwhile)."""
        return self.retry(frame.collect)

    # ------------------------------------------------------------------ events

    def events_table(self) -> pl.DataFrame:
        """The whole events table (``schema.EVENTS``), newest first (cached), with the hot
        events of ``seawatch live`` the store does not have yet (:mod:`seawatch.live.hot`:
        then a ``provisional`` column, true for those)."""
        from seawatch.live.hot import read_hot_events, with_hot_events

        stored = self.cached("events", lambda: read_events_table(self.store))
        sig = self.hot_signature()
        if sig is None:
            return stored
        key = (self.snapshot_id, sig)
        hit = self._hot
        if hit is not None and hit[0] == key and hit[1] is stored:
            return hit[2]
        merged = with_hot_events(stored, read_hot_events(self.store.path))
        self._hot = (key, stored, merged)
        return merged

    def hot_signature(self) -> tuple[int, int, int] | None:
        """What identifies the live service's hot events file now (None: none)."""
        from seawatch.live.hot import hot_signature

        return hot_signature(self.store.path)

    def events(
        self,
        types: Sequence[str] | None = None,
        bbox: BBox | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        mmsi: Sequence[int] | None = None,
        zone: str | None = None,
        min_score: float | None = None,
    ) -> pl.DataFrame:
        """Events filtered, newest first
        (:func:`~seawatch.api.query.events.filter_events`)."""
        return filter_events(self.events_table(), types, bbox, start, end, mmsi, zone,
                             min_score)

    def event(self, event_id: str) -> pl.DataFrame:
        """The event with this id (one row), or an empty frame."""
        return self.events_table().filter(pl.col("event_id") == event_id).head(1)

    def evidence(self, event: pl.DataFrame, margin: timedelta) -> str:
        """GeoJSON FeatureCollection (text) of the positions behind one event
        (:func:`~seawatch.api.query.events.evidence_collection`)."""
        ids, lo, hi = evidence_window(event, margin)
        frame = self.retry(lambda: read_evidence(self.store, ids, lo, hi))
        return evidence_collection(frame, ids, lo, hi, margin)

    # ------------------------------------------------------------------ geography

    def zones(self) -> tuple[list[Zone], dict[str, Any]]:
        """The zones in use and where they come from
        (:func:`~seawatch.api.query.geography.zones_in_use`)."""
        return self.cached("zones", lambda: zones_in_use(self.store, self.zones_file))

    def zones_geojson(self) -> str:
        """The zones as a GeoJSON FeatureCollection (text); each feature's ``id`` a slug."""
        return self.cached("zones_geojson", lambda: zones_geojson(*self.zones()))

    def land_geojson(self) -> str:
        """Land polygons for the basemap as GeoJSON (text; built once per process); see
        :func:`~seawatch.api.query.geography.land_geojson`."""
        return land_geojson()


# ---------------------------------------------------------------------- helpers


def _utc(value: datetime | None) -> datetime | None:
    """A datetime as aware UTC (naive times are UTC), None unchanged."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _index_query(start: datetime | None, end: datetime | None, bbox: BBox | None) -> Query:
    box = None if bbox is None else (float(bbox[0]), float(bbox[1]), float(bbox[2]),
                                     float(bbox[3]))
    return Query(to_us(_utc(start)), to_us(_utc(end)), box)
