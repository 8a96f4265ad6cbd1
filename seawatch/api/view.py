"""What one caller sees of the store: :class:`View`.

:class:`View` wraps :class:`~seawatch.api.query.StoreQuery` (whose cached results are shared by
every caller) and filters each result through the caller's
:class:`~seawatch.share.policy.Access` -- its own agency's data plus the grants live *now* --
*before* paging, counting, extents or 404s, so nothing leaks through totals. The routes of
:mod:`seawatch.api.rest`, :mod:`seawatch.api.ogc` and the exports read only through it; the
route policy and the authentication that build the ``Access`` are in
:mod:`seawatch.api.policy` and :mod:`seawatch.api.security`; a partner's positions query is
narrowed to its grants by :mod:`seawatch.api.scope`.
"""

# No ``from __future__ import annotations``: kept like the route modules that import it.

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import polars as pl

from seawatch.api.query.events import evidence_collection, evidence_window
from seawatch.api.query.stats import frame_extent
from seawatch.api.query.tracks import track_feature
from seawatch.api.query.vessels import VESSEL_FIELDS, select_vessels
from seawatch.api.scope import EMPTY_SCOPE, grants_prefilter, narrowed_scope
from seawatch.share.policy import Access
from seawatch.units import BBox, format_time

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.api.query import StoreQuery
    from seawatch.share.grants import Grant


# --- what a caller sees --------------------------------------------------------------------

POSITION_FIELDS: tuple[str, ...] = ("ts", "lat", "lon", "sog", "cog", "heading")
"""Fields of a vessel record that describe its latest position (null when not released)."""


class View:
    """The store as one caller sees it: :class:`~seawatch.api.query.StoreQuery` results
    filtered by the caller's :class:`~seawatch.share.policy.Access`.

    For the host agency (and local mode) every method answers what the query answers (the
    fast, cached paths), with the markings joined onto events. For another agency, rows are
    filtered before any paging, counting or extent: events by
    :meth:`~seawatch.share.policy.Access.filter_events`, positions by
    :meth:`~seawatch.share.policy.Access.filter_positions` (read only where a live grant
    releases positions, pre-filtered by the grants' boxes and windows), vessels by
    :meth:`~seawatch.share.policy.Access.filter_vessels` (the latest position shown only
    where released; vessels named by visible events listed with their identity), zones by
    :meth:`~seawatch.share.policy.Access.filter_zones`.
    """

    def __init__(self, query: "StoreQuery", access: Access) -> None:
        self.query = query
        self.access = access
        self._event_mmsis: set[int] | None = None
        self._all_positions: pl.DataFrame | None = None

    @property
    def full(self) -> bool:
        """Whether the caller sees the whole store (the host agency)."""
        return self.access.full

    def live_grants(self) -> list["Grant"]:
        """The grants the caller's agency holds now."""
        a = self.access
        return [g for g in a.grants if g.grantee == a.agency and g.is_live(a.now)]

    # --- events -----------------------------------------------------------------------

    def events(self, **filters: Any) -> pl.DataFrame:
        """:meth:`StoreQuery.events` visible to the caller, with their markings."""
        return self.access.filter_events(self.query.events(**filters))

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

    def position_grants(self) -> list["Grant"]:
        """Live grants that release positions."""
        return [g for g in self.live_grants() if g.include_positions]

    def positions_frame(
        self,
        mmsi: Sequence[int] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        bbox: BBox | None = None,
    ) -> pl.DataFrame:
        """Every visible position matching the filters, in store order."""
        if self.full:
            return self.query.positions_frame(mmsi=mmsi, start=start, end=end, bbox=bbox)
        if mmsi is None and start is None and end is None and bbox is None \
                and self._all_positions is not None:
            return self._all_positions
        grants = self.position_grants()
        lazy = self.query.positions(mmsi, start, end, bbox)
        scope = narrowed_scope(grants[0], start, end, bbox) if len(grants) == 1 else None
        if not grants or scope == EMPTY_SCOPE:
            frame = self.query.collect(lazy.head(0))
        elif scope is not None:  # one grant: its box and window narrow the (indexed) query
            frame = self.access.filter_positions(self.query.positions_frame(mmsi, *scope))
        else:
            frame = self.access.filter_positions(
                self.query.collect(lazy.filter(grants_prefilter(grants)))
            )
        if mmsi is None and start is None and end is None and bbox is None:
            self._all_positions = frame
        return frame

    def positions_page(self, offset: int, limit: int, **filters: Any) -> tuple[pl.DataFrame, int]:
        """Visible positions ``offset .. offset + limit`` and how many match."""
        if self.full:
            return self.query.positions_page(offset, limit, **filters)
        frame = self.positions_frame(**filters)
        return frame.slice(offset, limit), frame.height

    def positions_count(self, **filters: Any) -> int:
        """How many visible positions match."""
        if self.full:
            return self.query.positions_count(**filters)
        return self.positions_frame(**filters).height

    # --- vessels ----------------------------------------------------------------------

    def vessels(self, q: str | None = None,
                bbox: BBox | None = None) -> pl.DataFrame:
        """:meth:`StoreQuery.vessels` as the caller sees them (columns ``VESSEL_FIELDS``).

        For another agency: vessels whose latest position a grant releases, and vessels of
        the events it sees (their position null unless released); ``bbox`` applies to the
        position shown, ``q`` to the identity.
        """
        if self.full:
            return self.query.vessels(q=q, bbox=bbox)
        frame = self.access.filter_vessels(
            self.query.latest().select(VESSEL_FIELDS), visible_mmsi=self.event_mmsis()
        )
        return select_vessels(frame, q, bbox)

    def vessel(self, mmsi: int) -> dict[str, Any] | None:
        """One vessel (``GET /vessels/{mmsi}``), or None when unknown *or hidden*."""
        record = self.query.vessel(mmsi)
        if record is None or self.full:
            return record
        shown = self.vessels().filter(pl.col("mmsi") == mmsi)
        if shown.height == 0 and mmsi not in self.event_mmsis():
            return None
        if shown.height == 0 or shown["lat"].item() is None:
            record.update(dict.fromkeys(POSITION_FIELDS))
        positions = self.positions_frame(mmsi=[mmsi])
        first, last = positions.select(pl.col("ts").min().alias("first"),
                                        pl.col("ts").max().alias("last")).row(0)
        record["positions"] = positions.height
        record["first_ts"] = format_time(first)
        record["last_ts"] = format_time(last)
        events = self.events(mmsi=[mmsi])
        record["events"] = events.height
        return record

    def known_vessel(self, mmsi: int) -> bool:
        """Whether the caller may know of the vessel (the same test as :meth:`vessel`)."""
        if self.full:
            return self.query.last_seen(mmsi) is not None or self.query.vessel(mmsi) is not None
        if mmsi in self.event_mmsis():
            return True
        return self.vessels().filter(pl.col("mmsi") == mmsi).height > 0

    def last_seen(self, mmsi: int) -> datetime | None:
        """Time of the vessel's latest position the caller sees."""
        if self.full:
            return self.query.last_seen(mmsi)
        frame = self.positions_frame(mmsi=[mmsi])
        return frame["ts"].max() if frame.height else None  # type: ignore[return-value]

    def track(self, mmsi: int, start: datetime, end: datetime,
              zoom: float | None = None) -> dict[str, Any]:
        """The vessel's track (``GET /vessels/{mmsi}/track``) from visible positions."""
        if self.full:
            return self.query.track(mmsi, start, end, zoom)
        frame = self.positions_frame(mmsi=[mmsi], start=start, end=end)
        return track_feature(frame, mmsi, start, end, zoom)

    def identities(self, mmsis: Sequence[int]) -> list[dict[str, Any]]:
        """Identity and latest position of each MMSI (position null unless released)."""
        records = self.query.identities(mmsis)
        if self.full:
            return records
        shown = self.vessels().filter(pl.col("mmsi").is_in(list(mmsis)) &
                                      pl.col("lat").is_not_null())
        released = set(shown["mmsi"].to_list())
        for record in records:
            if record["mmsi"] not in released:
                record.update(dict.fromkeys(POSITION_FIELDS))
        return records

    def evidence(self, event: pl.DataFrame, margin: timedelta) -> str:
        """The event's evidence (``GET /events/{id}``) from positions the caller sees."""
        if self.full:
            return self.query.evidence(event, margin)
        ids, lo, hi = evidence_window(event, margin)
        frame = self.positions_frame(mmsi=ids, start=lo, end=hi)
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
        positions = self.positions_frame()
        by_day: dict[str, int] = {}
        if positions.height:
            days = positions.group_by(pl.col("ts").dt.date().cast(pl.String).alias("d")).len()
            by_day = dict(sorted(zip(days["d"].to_list(), days["len"].to_list(), strict=True)))
        vessels = set(positions["mmsi"].unique().to_list()) | self.event_mmsis()
        first, last = positions.select(pl.col("ts").min().alias("first"),
                                        pl.col("ts").max().alias("last")).row(0)
        return {
            "positions": positions.height,
            "vessels": len(vessels),
            "events": events.height,
            "first_ts": format_time(first),
            "last_ts": format_time(last),
            "events_by_type": dict(zip(counts["type"].to_list(), counts["len"].to_list(),
                                       strict=True)),
            "days": sorted(by_day),
            "positions_by_day": by_day,
            "snapshot": self.query.snapshot_id,
            "inputs": 0,
            "size_bytes": 0,
            "detection": None,
        }

    def positions_extent(self) -> tuple[BBox | None, list[str | None]]:
        """Box and time interval of the positions the caller sees."""
        if self.full:
            return self.query.extent(), list(self.query.time_extent())
        return frame_extent(self.positions_frame(), "ts", "ts")

    def vessels_extent(self) -> tuple[BBox | None, list[str | None]]:
        """Box and time interval of the vessels' latest positions the caller sees."""
        if self.full:
            return self.query.extent(), list(self.query.time_extent())
        return frame_extent(self.vessels(), "ts", "ts")

