"""What one caller sees of the store: :class:`View`.

:class:`View` wraps :class:`~seawatch.api.query.StoreQuery` (whose cached results are shared by
every caller) and answers each request as the caller's
:class:`~seawatch.share.policy.Access` allows -- its own agency's data plus the grants live
*now* -- *before* paging, counting, extents or 404s, so nothing leaks through totals. The
routes of :mod:`seawatch.api.rest`, :mod:`seawatch.api.ogc` and the exports read only through
it; the route policy and the authentication that build the ``Access`` are in
:mod:`seawatch.api.policy` and :mod:`seawatch.api.security`.

For another agency, positions are read through its :class:`~seawatch.api.scope.PositionScope`
(the grants' windows, boxes and zones pushed into the query index or the scans, see
:mod:`seawatch.api.query.scoped`), never by loading every position first; the identity of a
vessel is the latest within the data windows of the grants that release something of it
(:func:`~seawatch.api.scope.identity_windows`). Every read of positions that no cache
answers holds one of the caller's slots (:mod:`seawatch.api.concurrency`).
"""

# No ``from __future__ import annotations``: kept like the route modules that import it.

import contextlib
import json
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import polars as pl

from seawatch.api.query.events import evidence_collection, evidence_window
from seawatch.api.query.scoped import (
    scoped_count,
    scoped_frame,
    scoped_page,
    scoped_summary,
    scoped_vessels,
)
from seawatch.api.query.stats import frame_extent
from seawatch.api.query.tracks import track_feature
from seawatch.api.query.vessels import (
    VESSEL_DETAIL_FIELDS,
    VESSEL_FIELDS,
    class_expr,
    identity_in_windows,
    select_vessels,
)
from seawatch.api.scope import (
    PositionScope,
    event_grants,
    frame_digest,
    identity_windows,
    live_grants,
    part_grants,
    position_scope,
)
from seawatch.export import to_records
from seawatch.share.policy import Access
from seawatch.units import BBox, format_time

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.api.query import StoreQuery
    from seawatch.share.grants import Grant


# --- what a caller sees --------------------------------------------------------------------

POSITION_FIELDS: tuple[str, ...] = ("ts", "lat", "lon", "sog", "cog", "heading")
"""Fields of a vessel record that describe its latest position (null when not released)."""


class View:
    """The store as one caller sees it.

    For the host agency (and local mode) every method answers what
    :class:`~seawatch.api.query.StoreQuery` answers (the fast, cached paths), with the
    markings joined onto events. For another agency:

    - events are filtered by :meth:`~seawatch.share.policy.Access.filter_events` (areas,
      windows, types, markings) before any paging or counting;
    - positions are those its :class:`~seawatch.api.scope.PositionScope` releases, counted
      and paged by :mod:`seawatch.api.query.scoped` without loading the rest;
    - a vessel is known when it has released positions or is named by a visible event; its
      position is the latest released one (null when none), its identity the latest within
      the data windows of the grants that release its positions or events, its class
      (A/B) from its released reports;
    - zones are filtered by :meth:`~seawatch.share.policy.Access.filter_zones`.
    """

    def __init__(self, query: "StoreQuery", access: Access) -> None:
        self.query = query
        self.access = access
        self._event_mmsis: set[int] | None = None
        self._visible_events: pl.DataFrame | None = None
        self._scope: PositionScope | None = None
        self._held = 0

    @property
    def full(self) -> bool:
        """Whether the caller sees the whole store (the host agency)."""
        return self.access.full

    def live_grants(self) -> list["Grant"]:
        """The grants the caller's agency holds now."""
        return live_grants(self.access)

    @property
    def scope(self) -> PositionScope:
        """The positions the caller may read (another agency only)."""
        if self._scope is None:
            scope = position_scope(self.access)
            assert scope is not None, "the host agency reads every position"
            self._scope = scope
        return self._scope

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the caller's slots (:mod:`seawatch.api.concurrency`) for the block;
        nested blocks of one request share it."""
        if self._held:
            self._held += 1
            try:
                yield
            finally:
                self._held -= 1
            return
        principal = self.access.principal
        with self.query.callers.hold((principal.agency, principal.username)):
            self._held = 1
            try:
                yield
            finally:
                self._held = 0

    # --- events -----------------------------------------------------------------------

    def events(self, **filters: Any) -> pl.DataFrame:
        """:meth:`StoreQuery.events` visible to the caller, with their markings."""
        if not filters and self._visible_events is not None:
            return self._visible_events
        frame = self.access.filter_events(self.query.events(**filters))
        if not filters:
            self._visible_events = frame
        return frame

    def event(self, event_id: str) -> pl.DataFrame:
        """The visible event with this id (one row), or an empty frame."""
        return self.access.filter_events(self.query.event(event_id))

    def event_mmsis(self) -> set[int]:
        """MMSIs of the vessels of the events the caller sees."""
        if self._event_mmsis is None:
            frame = self.events()
            ids = pl.concat([frame["mmsi"], frame["other_mmsi"]]).drop_nulls().unique()
            self._event_mmsis = {int(v) for v in ids.to_list()}
        return self._event_mmsis

    # --- positions --------------------------------------------------------------------

    def positions_frame(
        self,
        mmsi: Sequence[int] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        bbox: BBox | None = None,
    ) -> pl.DataFrame:
        """Every visible position matching the filters, in store order (for queries whose
        size the caller bounds: a vessel's window, an export after its count)."""
        with self.slot():
            if self.full:
                return self.query.positions_frame(mmsi=mmsi, start=start, end=end, bbox=bbox)
            return scoped_frame(self.query, self.scope, mmsi, start, end, bbox)

    def positions_page(self, offset: int, limit: int, **filters: Any) -> tuple[pl.DataFrame, int]:
        """Visible positions ``offset .. offset + limit`` and how many match."""
        with self.slot():
            if self.full:
                return self.query.positions_page(offset, limit, **filters)
            return scoped_page(self.query, self.scope, offset, limit, **filters)

    def positions_count(self, **filters: Any) -> int:
        """How many visible positions match."""
        with self.slot():
            if self.full:
                return self.query.positions_count(**filters)
            return scoped_count(self.query, self.scope, **filters)

    # --- vessels ----------------------------------------------------------------------

    def vessels(self, q: str | None = None,
                bbox: BBox | None = None) -> pl.DataFrame:
        """:meth:`StoreQuery.vessels` as the caller sees them (columns ``VESSEL_FIELDS``).

        For another agency: every vessel with a released position (the latest released
        one), and the vessels of the events it sees (their position null unless released);
        ``bbox`` applies to the position shown, ``q`` to the identity.
        """
        if self.full:
            return self.query.vessels(q=q, bbox=bbox)
        with self.slot():
            frame = self._partner_vessels(None)
        return select_vessels(frame.select(VESSEL_FIELDS), q, bbox)

    def _partner_vessels(self, mmsis: Sequence[int] | None) -> pl.DataFrame:
        """Another agency's vessels (all, or those of ``mmsis`` it may know of), sorted by
        MMSI: :data:`VESSEL_DETAIL_FIELDS` from the released positions and the identity
        reports of the grants' windows, and ``positions``, ``first_ts``, ``last_ts`` of
        the released positions."""
        released = scoped_vessels(self.query, self.scope, mmsis)
        frame = released.frame
        named = self.event_mmsis()
        if mmsis is None:
            frame = frame.filter(pl.col("ts").is_not_null())
            extra = sorted(named - set(frame["mmsi"].to_list()))
        else:
            extra = sorted({int(m) for m in mmsis if int(m) in named}
                           - set(frame["mmsi"].to_list()))
        if extra:
            blank = pl.DataFrame({"mmsi": extra}, schema={"mmsi": pl.Int64})
            frame = pl.concat([frame, blank], how="diagonal_relaxed").sort("mmsi")
        vessels = frame["mmsi"]
        pairs = pl.concat([
            part_grants(self.scope, released.members),
            event_grants(self.access, self._events_of(vessels.to_list())),
        ]).filter(pl.col("mmsi").is_in(vessels.implode()))
        windows = identity_windows(self.access, pairs)
        identity = self.query.cached_scoped(
            "identity", frame_digest(windows), lambda: identity_in_windows(self.query, windows))
        from seawatch.io.identity import flag_from_mmsi

        return (
            frame.join(identity, on="mmsi", how="left")
            .with_columns(
                class_expr().alias("cls"),
                pl.coalesce(pl.col("flag"), flag_from_mmsi(pl.col("mmsi"))).alias("flag"),
                pl.col("positions").fill_null(0),
            )
            .select(*VESSEL_DETAIL_FIELDS, "positions", "first_ts", "last_ts")
        )

    def _events_of(self, mmsis: list[int]) -> pl.DataFrame:
        """The visible events of these vessels."""
        wanted = pl.Series(mmsis, dtype=pl.Int64).implode()
        return self.events().filter(pl.col("mmsi").is_in(wanted)
                                    | pl.col("other_mmsi").is_in(wanted).fill_null(False))

    def vessel(self, mmsi: int) -> dict[str, Any] | None:
        """One vessel (``GET /vessels/{mmsi}``), or None when unknown *or hidden*."""
        if self.full:
            return self.query.vessel(mmsi)
        with self.slot():
            frame = self._partner_vessels([mmsi])
        if frame.height == 0:
            return None
        row = frame.row(0, named=True)
        if row["positions"] == 0 and self.query.vessel(mmsi) is None:
            return None  # named by an event, but the store has nothing of it
        record = to_records(frame.select(VESSEL_DETAIL_FIELDS))[0]
        record["positions"] = int(row["positions"])
        record["first_ts"] = format_time(row["first_ts"])
        record["last_ts"] = format_time(row["last_ts"])
        record["events"] = self.events(mmsi=[mmsi]).height
        return record

    def identity_reports(self, mmsi: int) -> pl.DataFrame | None:
        """The vessel's identity reports the caller may read (``GET
        /vessels/{mmsi}/identity``): all of them for the host, those inside the data
        windows of the grants that release something of the vessel for another agency;
        None when the caller may not know of the vessel."""
        if self.full:
            if not self.known_vessel(mmsi):
                return None
            return self.query.retry(lambda: self.query.store.vessels(mmsi=mmsi).collect())
        if self.vessel(mmsi) is None:
            return None
        with self.slot():
            released = scoped_vessels(self.query, self.scope, [mmsi])
        pairs = pl.concat([
            part_grants(self.scope, released.members),
            event_grants(self.access, self._events_of([mmsi])),
        ]).filter(pl.col("mmsi") == mmsi)
        windows = identity_windows(self.access, pairs)
        inside = (
            (pl.col("start").is_null() | (pl.col("ts") >= pl.col("start")))
            & (pl.col("end").is_null() | (pl.col("ts") <= pl.col("end")))
        )
        reports = self.query.retry(lambda: self.query.store.vessels(mmsi=mmsi).collect())
        return (reports.join(windows, on="mmsi", how="inner").filter(inside)
                .select(reports.columns).unique(maintain_order=True))

    def known_vessel(self, mmsi: int) -> bool:
        """Whether the caller may know of the vessel (the same test as :meth:`vessel`)."""
        if self.full:
            return self.query.last_seen(mmsi) is not None or self.query.vessel(mmsi) is not None
        return self.vessel(mmsi) is not None

    def last_seen(self, mmsi: int) -> datetime | None:
        """Time of the vessel's latest position the caller sees."""
        if self.full:
            return self.query.last_seen(mmsi)
        with self.slot():
            frame = scoped_vessels(self.query, self.scope, [mmsi]).frame
        return frame["last_ts"].item() if frame.height else None

    def track(self, mmsi: int, start: datetime, end: datetime,
              zoom: float | None = None) -> dict[str, Any]:
        """The vessel's track (``GET /vessels/{mmsi}/track``) from visible positions."""
        with self.slot():
            if self.full:
                return self.query.track(mmsi, start, end, zoom)
            frame = scoped_frame(self.query, self.scope, [mmsi], start, end)
        return track_feature(frame, mmsi, start, end, zoom)

    def identities(self, mmsis: Sequence[int]) -> list[dict[str, Any]]:
        """Identity and latest position of each MMSI (position null unless released)."""
        if self.full:
            return self.query.identities(mmsis)
        with self.slot():
            frame = self._partner_vessels(list(mmsis)).select(VESSEL_FIELDS)
        found = {r["mmsi"]: r for r in to_records(frame)}
        out = []
        for mmsi in mmsis:
            record = found.get(mmsi)
            if record is None:
                from seawatch.io.identity import flag_from_mmsi

                record = dict.fromkeys(VESSEL_FIELDS)
                record["mmsi"] = mmsi
                record["flag"] = pl.select(flag_from_mmsi(pl.lit(mmsi, pl.Int64))).item()
            out.append(record)
        return out

    def evidence(self, event: pl.DataFrame, margin: timedelta) -> str:
        """The event's evidence (``GET /events/{id}``) from positions the caller sees."""
        with self.slot():
            if self.full:
                return self.query.evidence(event, margin)
            ids, lo, hi = evidence_window(event, margin)
            frame = scoped_frame(self.query, self.scope, ids, lo, hi)
        return evidence_collection(frame, ids, lo, hi, margin)

    # --- zones, statistics, extents ---------------------------------------------------

    def zones(self) -> list[Any]:
        """The zones the caller sees (:class:`seawatch.geo.Zone`)."""
        zones, _ = self.query.zones()
        return list(zones) if self.full else self.access.filter_zones(zones)

    def zones_geojson(self) -> str:
        """``GET /zones``: the zones' GeoJSON, limited to the zones the caller sees."""
        text = self.query.zones_geojson()
        if self.full:
            return text
        doc = json.loads(text)
        doc.pop("note", None)  # (it names the zones detection used)
        names = {z.name for z in self.zones()}
        doc["features"] = [f for f in doc["features"]
                           if (f.get("properties") or {}).get("name") in names]
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)

    def land_geojson(self) -> str:
        """``GET /basemap/land``: the same world land for every agency (it depends on no
        data, so it reveals nothing of the host's)."""
        return self.query.land_geojson()

    def stats(self) -> dict[str, Any]:
        """``GET /stats`` over what the caller sees (store size and inputs only for the
        host)."""
        if self.full:
            return self.query.stats()
        events = self.events()
        counts = events.group_by("type").len().sort("type")
        with self.slot():
            summary = scoped_summary(self.query, self.scope)
        vessels = set(summary.mmsis) | self.event_mmsis()
        return {
            "positions": summary.positions,
            "vessels": len(vessels),
            "events": events.height,
            "first_ts": format_time(summary.first),
            "last_ts": format_time(summary.last),
            "events_by_type": dict(zip(counts["type"].to_list(), counts["len"].to_list(),
                                       strict=True)),
            "days": sorted(summary.by_day),
            "positions_by_day": dict(summary.by_day),
            "snapshot": self.query.snapshot_id,
            "inputs": 0,
            "size_bytes": 0,
            "detection": None,
        }

    def positions_extent(self) -> tuple[BBox | None, list[str | None]]:
        """Box and time interval of the positions the caller sees."""
        if self.full:
            return self.query.extent(), list(self.query.time_extent())
        with self.slot():
            summary = scoped_summary(self.query, self.scope)
        return summary.extent, [format_time(summary.first), format_time(summary.last)]

    def vessels_extent(self) -> tuple[BBox | None, list[str | None]]:
        """Box and time interval of the vessels' latest positions the caller sees."""
        if self.full:
            return self.query.extent(), list(self.query.time_extent())
        return frame_extent(self.vessels(), "ts", "ts")

