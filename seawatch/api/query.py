"""Data access for the API: filtered scans of one store, and caches per snapshot.

:class:`StoreQuery` wraps a :class:`seawatch.store.Store`. Everything is columnar (Polars
lazy scans with the filters pushed into the Parquet reader); what is costly and asked for on
every map load is computed once per store snapshot and cached: the latest position of each
vessel joined with its identity, the events table, the statistics, the data's extent, the
zones and the land basemap. The snapshot id is read from the store on every request (one
small file), so a store re-ingested or re-detected while the server runs is seen at once:
the caches are rebuilt on the first request after the change, and a scan that races an
ingest deleting its files is retried on the new snapshot.

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

import json
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import polars as pl

from seawatch import schema
from seawatch.store import bbox_filter
from seawatch.store.posindex import MIN_ROWS as INDEX_MIN_ROWS
from seawatch.store.posindex import FileIndex, PositionIndex, Query, select_page, to_us
from seawatch.units import BBox, format_time

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.geo.zones import Zone

T = TypeVar("T")

VESSEL_FIELDS: tuple[str, ...] = (
    "mmsi",
    "name",
    "callsign",
    "imo",
    "ship_type",
    "ship_type_label",
    "flag",
    "cls",
    "ts",
    "lat",
    "lon",
    "sog",
    "cog",
    "heading",
)
"""Fields of a vessel in lists: identity, then the latest position."""

VESSEL_DETAIL_FIELDS: tuple[str, ...] = (
    *VESSEL_FIELDS,
    "length",
    "width",
    "draught",
    "destination",
    "mmsi_valid",
    "identity_ts",
)
"""Fields of one vessel (``/vessels/{mmsi}``): the list fields plus the rest of the identity."""

CLASS_A_MSG_TYPES = (1, 2, 3)
"""Position report types of class A transponders."""
CLASS_B_MSG_TYPES = (18, 19)
"""Position report types of class B transponders (27, long range, says neither)."""

TRACK_DEFAULT_WINDOW = timedelta(hours=24)
"""A track without ``start`` and ``end`` covers the last 24 h of the vessel's data."""
TRACK_MAX_WINDOW = timedelta(days=31)
"""Longest track window one request may ask for."""
TRACK_MAX_POINTS = 50_000
"""A track is thinned evenly to at most this many points (after any simplification)."""
TRACK_PIXELS = 1.0
"""Douglas-Peucker tolerance of a track, in screen pixels at the requested zoom."""
EVIDENCE_MAX_POINTS = 20_000
"""An event's evidence keeps at most this many positions per vessel (thinned evenly)."""
VESSELS_MAX = 100_000
"""Largest page of vessels (the map loads every vessel in one GeoJSON request)."""
GZIP_LEVEL = 6
"""Compression of the cached all-vessels GeoJSON (compressed once per snapshot)."""
LAND_MARGIN_DEG = 5.0
"""Margin around the data's extent within which the coarse world land is served."""
LAND_COARSE_TOLERANCE_DEG = 0.01
"""Simplification of the coarse (1:50m) world land outside the fine coverage box."""
LAND_PRECISION_DEG = 1e-5
"""Coordinates of the land basemap are rounded to this (about a metre)."""


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
        self._cache: dict[str, tuple[int, Any]] = {}
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self.use_position_index = position_index
        """Answer box and time-window queries of positions from the query index when it is
        built (see :mod:`seawatch.store.posindex`); False: always the plain scan."""
        self.position_index = PositionIndex(self.store, min_rows=index_min_rows)

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
            return hit[1]  # type: ignore[no-any-return]
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            sid = self.snapshot_id
            hit = self._cache.get(key)
            if hit is not None and hit[0] == sid:
                return hit[1]  # type: ignore[no-any-return]
            value = self.retry(build)
            self._cache[key] = (sid, value)
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

    # ------------------------------------------------------------------ statistics

    def stats(self) -> dict[str, Any]:
        """Store statistics (see ``GET /api/v1/stats``)."""
        return self.cached("stats", self._build_stats)

    def _build_stats(self) -> dict[str, Any]:
        store = self.store
        info = store.info()
        by_day: Counter[str] = Counter()
        # the snapshot lists each file's day and rows: no data file is opened
        for f in store.snapshot().table_files("positions"):
            if f.day:
                by_day[f.day] += f.rows
        events = self.events_table()
        counts = events.group_by("type").len().sort("type")
        run = store.events_info()
        detection = None
        if run is not None:
            detected_on = int(run.get("positions_snapshot", 0))
            inputs = store.snapshot().inputs
            later = [e for e in inputs if int(e.get("snapshot") or 0) > detected_on]
            detection = {
                "written_at": run.get("written_at"),
                "positions_snapshot": detected_on,
                "stale": bool(later),
            }
        return {
            "positions": int(info["rows"]["positions"]),
            "vessels": int(info["vessels"]),
            "events": events.height,
            "first_ts": format_time(info["first_ts"]),
            "last_ts": format_time(info["last_ts"]),
            "events_by_type": dict(zip(counts["type"].to_list(), counts["len"].to_list(),
                                       strict=True)),
            "days": sorted(by_day),
            "positions_by_day": dict(sorted(by_day.items())),
            "snapshot": int(info["snapshot"]),
            "inputs": int(info["inputs"]),
            "size_bytes": int(info["size_bytes"]),
            "detection": detection,
        }

    def extent(self) -> BBox | None:
        """``(min_lon, min_lat, max_lon, max_lat)`` of all positions, or None when empty."""
        return self.cached("extent", self._build_extent)

    def _build_extent(self) -> BBox | None:
        row = (
            self.store.positions()
            .select(
                pl.col("lon").min().alias("x0"),
                pl.col("lat").min().alias("y0"),
                pl.col("lon").max().alias("x1"),
                pl.col("lat").max().alias("y1"),
            )
            .collect()
            .row(0)
        )
        if any(v is None for v in row):
            return None
        return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))

    def time_extent(self) -> tuple[str | None, str | None]:
        """First and last position time as ISO 8601 UTC text (None when empty)."""
        stats = self.stats()
        return stats["first_ts"], stats["last_ts"]

    # ------------------------------------------------------------------ vessels

    def latest(self) -> pl.DataFrame:
        """One row per vessel with a position: the latest position and the identity.

        Columns :data:`VESSEL_DETAIL_FIELDS`, sorted by MMSI. ``flag`` comes from the
        identity reports, else from the MMSI's MID; ``cls`` is ``"A"`` or ``"B"`` from the
        type of the latest position report (else of any report), null when unknown.
        """
        return self.cached("latest", self._build_latest)

    def _build_latest(self) -> pl.DataFrame:
        from seawatch.io.identity import flag_from_mmsi

        motion = ("ts", "lat", "lon", "sog", "cog", "heading", "msg_type")
        last = pl.col("ts").arg_max()
        positions = (
            self.store.positions()
            .select("mmsi", *motion)
            .filter(
                pl.col("ts").is_not_null() & pl.col("lat").is_not_null()
                & pl.col("lon").is_not_null()
            )
            .group_by("mmsi")
            .agg(
                *[pl.col(c).get(last) for c in motion],
                pl.col("msg_type").is_in(CLASS_A_MSG_TYPES).any().alias("_any_a"),
                pl.col("msg_type").is_in(CLASS_B_MSG_TYPES).any().alias("_any_b"),
            )
            .collect()
        )
        identity = self.identity()
        frame = positions.join(identity, on="mmsi", how="left")
        msg = pl.col("msg_type")
        cls = (
            pl.when(msg.is_in(CLASS_A_MSG_TYPES)).then(pl.lit("A"))
            .when(msg.is_in(CLASS_B_MSG_TYPES)).then(pl.lit("B"))
            .when(pl.col("_any_a")).then(pl.lit("A"))
            .when(pl.col("_any_b")).then(pl.lit("B"))
            .otherwise(pl.lit(None, dtype=pl.String))
        )
        return (
            frame.with_columns(
                cls.alias("cls"),
                pl.coalesce(pl.col("flag"), flag_from_mmsi(pl.col("mmsi"))).alias("flag"),
            )
            .select(VESSEL_DETAIL_FIELDS)
            .sort("mmsi")
        )

    def identity(self) -> pl.DataFrame:
        """Latest identity of every MMSI with identity reports (see
        :meth:`seawatch.store.Store.latest_identity`), ``ts`` renamed ``identity_ts``."""
        return self.cached(
            "identity",
            lambda: self.store.latest_identity().rename({"ts": "identity_ts"}),
        )

    def vessels(self, q: str | None = None, bbox: BBox | None = None) -> pl.DataFrame:
        """Vessels with a position, filtered (columns :data:`VESSEL_FIELDS`).

        Parameters
        ----------
        q
            Search text: MMSI or IMO prefix (digits), or a case-insensitive substring of
            the name or the call sign. Matches are ordered exact first, then by name.
        bbox
            Keep vessels whose latest position lies in the box.
        """
        frame = self.latest().select(VESSEL_FIELDS)
        if bbox is not None:
            frame = frame.filter(bbox_filter(bbox))
        if q:
            frame = search(frame, q)
        return frame

    def all_vessels_geojson(self) -> str:
        """Every vessel with a position as a GeoJSON FeatureCollection (text, cached): what
        the map loads, with the members of a page (``total``, ``limit``, ``offset``,
        ``next``)."""
        return self.cached("vessels_geojson", self._build_all_vessels_geojson)

    def all_vessels_geojson_gzip(self) -> bytes:
        """:meth:`all_vessels_geojson` gzip-compressed (cached)."""
        import gzip

        return self.cached(
            "vessels_geojson_gzip",
            lambda: gzip.compress(self.all_vessels_geojson().encode(), GZIP_LEVEL, mtime=0),
        )

    def _build_all_vessels_geojson(self) -> str:
        from seawatch.api.export import geojson_points

        frame = self.vessels()
        members = {"total": frame.height, "limit": VESSELS_MAX, "offset": 0, "next": None}
        return geojson_points(frame, id_column="mmsi", members=members)

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

    def vessel(self, mmsi: int) -> dict[str, Any] | None:
        """One vessel: identity, latest position and counts; None when the MMSI is unknown."""
        row = self.latest().filter(pl.col("mmsi") == mmsi)
        if row.height == 0:
            ident = self.identity().filter(pl.col("mmsi") == mmsi)
            if ident.height == 0:
                return None
            from seawatch.io.identity import flag_from_mmsi

            row = pl.DataFrame({"mmsi": [mmsi]}, schema={"mmsi": pl.Int64}).join(
                ident, on="mmsi", how="left"
            )
            row = row.with_columns(
                pl.coalesce(pl.col("flag"), flag_from_mmsi(pl.col("mmsi"))).alias("flag"),
                *[
                    pl.lit(None, dtype=dtype).alias(c)
                    for c, dtype in (
                        ("cls", pl.String()), ("ts", schema.TS), ("lat", pl.Float64()),
                        ("lon", pl.Float64()), ("sog", pl.Float32()), ("cog", pl.Float32()),
                        ("heading", pl.Int16()),
                    )
                ],
            ).select(VESSEL_DETAIL_FIELDS)
        record = to_records(row)[0]
        counts = self.retry(
            lambda: self.store.positions(mmsi=mmsi)
            .select(
                pl.len().alias("positions"),
                pl.col("ts").min().alias("first_ts"),
                pl.col("ts").max().alias("last_ts"),
            )
            .collect()
        )
        record.update(to_records(counts)[0])
        events = self.events_table().filter(
            (pl.col("mmsi") == mmsi) | (pl.col("other_mmsi") == mmsi)
        )
        record["events"] = events.height
        return record

    def identities(self, mmsis: Sequence[int]) -> list[dict[str, Any]]:
        """Identity and latest position (list fields) of each MMSI, in the order given."""
        out = []
        for mmsi in mmsis:
            found = self.latest().filter(pl.col("mmsi") == mmsi).select(VESSEL_FIELDS)
            if found.height:
                out.append(to_records(found)[0])
                continue
            record: dict[str, Any] = dict.fromkeys(VESSEL_FIELDS)
            record["mmsi"] = mmsi
            ident = self.identity().filter(pl.col("mmsi") == mmsi)
            if ident.height:
                got = to_records(ident)[0]
                record.update({k: got[k] for k in VESSEL_FIELDS if k in got})
            if record.get("flag") is None:
                from seawatch.io.identity import flag_from_mmsi

                record["flag"] = pl.select(flag_from_mmsi(pl.lit(mmsi, pl.Int64))).item()
            out.append(record)
        return out

    def last_seen(self, mmsi: int) -> datetime | None:
        """Time of the vessel's latest position (None when it has none)."""
        found = self.latest().filter(pl.col("mmsi") == mmsi)
        if found.height:
            return found["ts"].item()  # type: ignore[no-any-return]
        return None

    # ------------------------------------------------------------------ tracks

    def track(
        self, mmsi: int, start: datetime, end: datetime, zoom: float | None = None
    ) -> dict[str, Any]:
        """A vessel's track in ``[start, end)`` as a GeoJSON Feature (dict).

        Geometry: a LineString (two points or more), a Point (one) or null (none). With
        ``zoom`` the line is simplified by Douglas-Peucker with a tolerance of
        :data:`TRACK_PIXELS` screen pixels at that Web Mercator zoom level (first and last
        point always kept); then, or without ``zoom``, thinned evenly to at most
        :data:`TRACK_MAX_POINTS`. Properties ``times``, ``sog`` and ``cog`` have one entry
        per coordinate, so a map can play the track back.
        """
        frame = self.retry(
            lambda: self.store.positions(mmsi=mmsi, start=start, end=end)
            .select("ts", "lat", "lon", "sog", "cog")
            .filter(pl.col("lat").is_not_null() & pl.col("lon").is_not_null())
            .sort("ts")
            .collect()
        )
        return track_feature(frame, mmsi, start, end, zoom)

    # ------------------------------------------------------------------ positions

    def positions(
        self,
        mmsi: Sequence[int] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        bbox: BBox | None = None,
    ) -> pl.LazyFrame:
        """Positions (``schema.POSITIONS``) filtered, in store order: UTC day, MMSI, time."""
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
        """The whole events table (``schema.EVENTS``), newest first (cached)."""
        return self.cached(
            "events",
            lambda: self.store.events()
            .collect()
            .sort(["start", "event_id"], descending=[True, False], nulls_last=True),
        )

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
        """Events filtered, newest first.

        Time keeps events overlapping ``[start, end)`` (``event.end >= start`` and
        ``event.start < end``); ``mmsi`` matches either vessel; ``zone`` is matched without
        regard to case; ``min_score`` keeps ``score >= min_score``.
        """
        frame = self.events_table()
        predicates: list[pl.Expr] = []
        if types:
            predicates.append(pl.col("type").is_in(list(types)))
        if bbox is not None:
            predicates.append(bbox_filter(bbox))
        if start is not None:
            predicates.append(pl.col("end") >= pl.lit(start, dtype=schema.TS))
        if end is not None:
            predicates.append(pl.col("start") < pl.lit(end, dtype=schema.TS))
        if mmsi:
            ids = list(mmsi)
            predicates.append(pl.col("mmsi").is_in(ids) | pl.col("other_mmsi").is_in(ids))
        if zone:
            predicates.append(pl.col("zone").str.to_lowercase() == zone.strip().lower())
        if min_score is not None:
            predicates.append(pl.col("score") >= min_score)
        return frame.filter(*predicates) if predicates else frame

    def event(self, event_id: str) -> pl.DataFrame:
        """The event with this id (one row), or an empty frame."""
        return self.events_table().filter(pl.col("event_id") == event_id).head(1)

    def evidence(self, event: pl.DataFrame, margin: timedelta) -> str:
        """GeoJSON FeatureCollection (text) of the positions behind one event.

        The positions of the event's vessel(s) from ``start - margin`` to ``end + margin``
        (inclusive), each a Point with ``mmsi``, ``ts``, ``sog``, ``cog``; then one
        LineString per vessel (properties ``mmsi``, ``kind: "track"``, ``times``). At most
        :data:`EVIDENCE_MAX_POINTS` positions per vessel (thinned evenly).
        """
        ids, lo, hi = evidence_window(event, margin)
        frame = self.retry(
            lambda: self.store.positions(mmsi=ids, start=lo, end=hi)
            .select("mmsi", "ts", "lat", "lon", "sog", "cog")
            .filter(pl.col("lat").is_not_null() & pl.col("lon").is_not_null())
            .sort("mmsi", "ts")
            .collect()
        )
        return evidence_collection(frame, ids, lo, hi, margin)

    # ------------------------------------------------------------------ geography

    def zones(self) -> tuple[list[Zone], dict[str, Any]]:
        """The zones in use and where they come from (``{"source": ..., "note": ...}``).

        In order: the ``zones_file`` given to the server; the zones file the detection run
        recorded (``zones_file`` in its run info), when it still exists; the default zones.
        When the run used zones whose boundaries the server cannot find, the defaults are
        served with a ``note`` saying so.
        """
        return self.cached("zones", self._build_zones)

    def _build_zones(self) -> tuple[list[Zone], dict[str, Any]]:
        from seawatch.geo import default_zones, load_zones

        if self.zones_file is not None:
            return load_zones(self.zones_file), {"source": f"file {self.zones_file.name}"}
        run = self.store.events_info() or {}
        recorded = run.get("zones_file")
        if recorded and Path(recorded).is_file():
            try:
                return load_zones(recorded), {"source": f"file {Path(recorded).name}"}
            except (ValueError, OSError, ImportError, KeyError):
                pass
        zones = default_zones()
        meta: dict[str, Any] = {"source": "default"}
        used = run.get("zones")
        if used and set(used) != {z.name for z in zones}:
            meta["note"] = (
                f"detection used zones {sorted(used)} whose boundaries the server does not "
                "have; showing the default zones. Start the server with --zones FILE."
            )
        return zones, meta

    def zones_geojson(self) -> str:
        """The zones as a GeoJSON FeatureCollection (text); each feature's ``id`` a slug."""
        return self.cached("zones_geojson", self._build_zones_geojson)

    def _build_zones_geojson(self) -> str:
        from seawatch.geo import zones_to_geojson

        zones, meta = self.zones()
        doc = zones_to_geojson(zones)
        for feature, ident in zip(doc["features"], zone_ids(zones), strict=True):
            feature["id"] = ident
        doc = {"type": "FeatureCollection", **meta, "features": doc["features"]}
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)

    def land_geojson(self) -> str:
        """Land polygons for the basemap as GeoJSON (text; cached).

        Natural Earth 1:10m land in the fine coverage box (the Eastern Pacific off
        Ecuador); where the data's extent (plus :data:`LAND_MARGIN_DEG`) reaches beyond
        it, the coarse 1:50m world land there, simplified. Coordinates rounded to
        :data:`LAND_PRECISION_DEG`.
        """
        return self.cached("land", self._build_land)

    def _build_land(self) -> str:
        import shapely

        from seawatch.geo import coverage_box, land, world_land

        box = coverage_box()
        features = [
            ("fine", "Natural Earth 1:10m land (world-atlas)", land()),
        ]
        extent = self.extent()
        if extent is not None:
            x0, y0, x1, y1 = extent
            m = LAND_MARGIN_DEG
            if x0 <= x1:
                region = shapely.box(max(x0 - m, -180), max(y0 - m, -90), min(x1 + m, 180),
                                     min(y1 + m, 90))
            else:  # across the antimeridian
                region = shapely.union(
                    shapely.box(max(x0 - m, -180), max(y0 - m, -90), 180, min(y1 + m, 90)),
                    shapely.box(-180, max(y0 - m, -90), min(x1 + m, 180), min(y1 + m, 90)),
                )
            outside = shapely.difference(region, shapely.box(*box))
            if not outside.is_empty:
                coarse = shapely.intersection(world_land(), outside)
                coarse = shapely.simplify(coarse, LAND_COARSE_TOLERANCE_DEG)
                if not coarse.is_empty:
                    features.append(("coarse", "Natural Earth 1:50m land (world-atlas)", coarse))
        out = []
        for ident, source, geom in features:
            geom = shapely.set_precision(geom, LAND_PRECISION_DEG, mode="pointwise")
            out.append(
                '{"type":"Feature","id":' + json.dumps(ident) + ',"properties":{"source":'
                + json.dumps(source) + '},"geometry":' + shapely.to_geojson(geom) + "}"
            )
        return '{"type":"FeatureCollection","features":[' + ",".join(out) + "]}"


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


def search(frame: pl.DataFrame, q: str) -> pl.DataFrame:
    """Vessels matching ``q``, exact matches first, then by name and MMSI.

    >>> frame = pl.DataFrame({"mmsi": [735057000, 224000001], "name": ["MANTA I", "ALBA"],
    ...                       "callsign": ["HC1", None], "imo": [9000001, None]})
    >>> search(frame, "manta")["mmsi"].to_list(), search(frame, "2240")["mmsi"].to_list()
    ([735057000], [224000001])
    """
    text = q.strip().lower()
    if not text:
        return frame
    digits = text.removeprefix("imo").strip()
    name = pl.col("name").str.to_lowercase()
    callsign = pl.col("callsign").str.to_lowercase()
    match = name.str.contains(text, literal=True).fill_null(False) | callsign.str.contains(
        text, literal=True
    ).fill_null(False)
    exact = (name == text).fill_null(False) | (callsign == text).fill_null(False)
    if digits.isdigit() and digits.isascii():
        mmsi = pl.col("mmsi").cast(pl.String)
        imo = pl.col("imo").cast(pl.String)
        match = match | mmsi.str.starts_with(digits) | imo.str.starts_with(digits).fill_null(False)
        exact = exact | (mmsi == digits) | (imo == digits).fill_null(False)
    rank = pl.when(exact).then(0).when(name.str.starts_with(text).fill_null(False)).then(1)
    return (
        frame.filter(match)
        .with_columns(rank.otherwise(2).alias("_rank"))
        .sort(["_rank", "name", "mmsi"], nulls_last=True)
        .drop("_rank")
    )


def to_records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts, times as ISO 8601 UTC text and NaN as None (for small results)."""
    return _json_safe(frame).to_dicts()


def _json_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """Times as ISO text, NaN as null, and float32 values as the float64 nearest their
    shortest decimal form (11.6, not 11.600000381469727) for Python's JSON encoder."""
    from seawatch.api.export import with_iso_times

    frame = with_iso_times(frame)
    f32 = [c for c, t in frame.schema.items() if t == pl.Float32]
    if not f32:
        return frame
    return frame.with_columns(pl.col(f32).cast(pl.String).cast(pl.Float64))


def zoom_tolerance(zoom: float) -> float:
    """Degrees of longitude per :data:`TRACK_PIXELS` screen pixels at a Web Mercator zoom.

    >>> round(zoom_tolerance(10), 6)
    0.001373
    """
    return TRACK_PIXELS * 360.0 / (256.0 * 2.0**zoom)


def simplify_indices(lon: np.ndarray, lat: np.ndarray, tolerance: float) -> np.ndarray:
    """Indices of the points Douglas-Peucker keeps (shapely 2 / GEOS), first and last included.

    Each point's index travels through GEOS as its Z coordinate, which the simplifier keeps
    with the vertex, so no coordinate matching is needed.

    >>> x = np.array([0.0, 1.0, 2.0, 3.0]); y = np.array([0.0, 0.0001, 0.0, 1.0])
    >>> simplify_indices(x, y, 0.01).tolist()
    [0, 2, 3]
    """
    import shapely

    n = len(lon)
    if n <= 2:
        return np.arange(n)
    line = shapely.linestrings(lon, lat, np.arange(n, dtype=np.float64))
    simple = shapely.simplify(line, tolerance, preserve_topology=False)
    kept = shapely.get_coordinates(simple, include_z=True)[:, 2].astype(np.int64)
    return np.unique(np.concatenate([[0], kept, [n - 1]]))


def thin(frame: pl.DataFrame, max_rows: int) -> pl.DataFrame:
    """At most ``max_rows`` rows, taken evenly; the first and last rows always kept.

    >>> thin(pl.DataFrame({"a": range(10)}), 4)["a"].to_list()
    [0, 3, 6, 9]
    """
    n = frame.height
    if n <= max_rows:
        return frame
    keep = np.unique(np.round(np.linspace(0, n - 1, max_rows)).astype(np.int64))
    return frame[keep]


def zone_ids(zones: Sequence[Zone]) -> list[str]:
    """URL-safe ids of zones from their names (``Galápagos Marine Reserve`` ->
    ``galapagos-marine-reserve``), made unique with a suffix.

    >>> from seawatch.geo import Zone
    >>> import shapely
    >>> box = shapely.box(0, 0, 1, 1)
    >>> zone_ids([Zone("Galápagos Reserve", "mpa", box), Zone("galapagos reserve", "x", box)])
    ['galapagos-reserve', 'galapagos-reserve-2']
    """
    out: list[str] = []
    seen: Counter[str] = Counter()
    for zone in zones:
        ascii_name = unicodedata.normalize("NFKD", zone.name).encode("ascii", "ignore").decode()
        slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-") or "zone"
        seen[slug] += 1
        out.append(slug if seen[slug] == 1 else f"{slug}-{seen[slug]}")
    return out


def evidence_window(
    event: pl.DataFrame, margin: timedelta
) -> tuple[list[int], datetime, datetime]:
    """The vessels and the window ``[lo, hi)`` of an event's evidence: its vessel (and the
    other vessel of an encounter), from ``start - margin`` to ``end + margin`` inclusive.

    >>> from datetime import datetime
    >>> event = pl.DataFrame({"mmsi": [1], "other_mmsi": [2], "start": [datetime(2024, 1, 1, 1)],
    ...                       "end": [datetime(2024, 1, 1, 2)]})
    >>> ids, lo, hi = evidence_window(event, timedelta(hours=1))
    >>> ids, lo.hour, hi.hour, hi.microsecond
    ([1, 2], 0, 3, 1)
    """
    row = event.row(0, named=True)
    ids = [int(row["mmsi"])]
    if row["other_mmsi"] is not None:
        ids.append(int(row["other_mmsi"]))
    lo: datetime = row["start"] - margin
    hi: datetime = row["end"] + margin + timedelta(microseconds=1)
    return ids, lo, hi


def evidence_collection(frame: pl.DataFrame, ids: Sequence[int], lo: datetime, hi: datetime,
                        margin: timedelta) -> str:
    """An event's evidence FeatureCollection (:meth:`StoreQuery.evidence`) from a frame of
    the positions that may be shown."""
    from seawatch.api.export import feature_collection, geojson_features

    frame = (
        frame.select("mmsi", "ts", "lat", "lon", "sog", "cog")
        .filter(pl.col("lat").is_not_null() & pl.col("lon").is_not_null())
        .sort("mmsi", "ts")
    )
    parts = [thin(frame.filter(pl.col("mmsi") == m), EVIDENCE_MAX_POINTS) for m in ids]
    frame = pl.concat(parts) if parts else frame
    points = geojson_features(frame, properties=["mmsi", "ts", "sog", "cog"])
    lines = []
    for m, part in zip(ids, parts, strict=True):
        if part.height < 2:
            continue
        times = _json_safe(part.select("ts"))["ts"].to_list()
        coords = np.column_stack([part["lon"].to_numpy(), part["lat"].to_numpy()]).tolist()
        lines.append(json.dumps({
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": coords},
            "properties": {"mmsi": m, "kind": "track", "times": times},
        }, separators=(",", ":")))
    features = ",\n".join(p for p in (points, *lines) if p)
    return feature_collection(features, {
        "start": format_time(lo),
        "end": format_time(hi - timedelta(microseconds=1)),
        "margin_hours": margin.total_seconds() / 3600,
    })


def track_feature(frame: pl.DataFrame, mmsi: int, start: datetime, end: datetime,
                  zoom: float | None) -> dict[str, Any]:
    """A track Feature (:meth:`StoreQuery.track`) from a frame of positions."""
    frame = (
        frame.select("ts", "lat", "lon", "sog", "cog")
        .filter(pl.col("lat").is_not_null() & pl.col("lon").is_not_null())
        .sort("ts")
    )
    total = frame.height
    if zoom is not None and total > 2:
        keep = simplify_indices(frame["lon"].to_numpy(), frame["lat"].to_numpy(),
                                zoom_tolerance(zoom))
        frame = frame[keep]
    frame = thin(frame, TRACK_MAX_POINTS)
    coords = [[x, y] for x, y in zip(frame["lon"].to_list(), frame["lat"].to_list(),
                                     strict=True)]
    geometry: dict[str, Any] | None
    if len(coords) >= 2:
        geometry = {"type": "LineString", "coordinates": coords}
    elif coords:
        geometry = {"type": "Point", "coordinates": coords[0]}
    else:
        geometry = None
    text = _json_safe(frame.select("ts", "sog", "cog"))
    return {
        "type": "Feature", "id": mmsi, "geometry": geometry,
        "properties": {
            "mmsi": mmsi, "start": format_time(start), "end": format_time(end), "zoom": zoom,
            "times": text["ts"].to_list(), "sog": text["sog"].to_list(),
            "cog": text["cog"].to_list(), "points_total": total,
            "points_returned": frame.height,
        },
    }
