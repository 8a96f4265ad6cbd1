"""What one caller sees of the store: :class:`View`, and the marking an export carries.

:class:`View` wraps :class:`~seawatch.api.query.StoreQuery` (whose cached results are shared by
every caller) and filters each result through the caller's
:class:`~seawatch.share.policy.Access` -- its own agency's data plus the grants live *now* --
*before* paging, counting, extents or 404s, so nothing leaks through totals. The routes of
:mod:`seawatch.api.rest`, :mod:`seawatch.api.ogc` and the exports read only through it; the
authentication and the route policy that build the ``Access`` are in
:mod:`seawatch.api.security`.
"""

# No ``from __future__ import annotations``: kept like the route modules that import it.

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import polars as pl

from seawatch.share.policy import Access
from seawatch.units import format_time

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
        bbox: tuple[float, float, float, float] | None = None,
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
                bbox: tuple[float, float, float, float] | None = None) -> pl.DataFrame:
        """:meth:`StoreQuery.vessels` as the caller sees them (columns ``VESSEL_FIELDS``).

        For another agency: vessels whose latest position a grant releases, and vessels of
        the events it sees (their position null unless released); ``bbox`` applies to the
        position shown, ``q`` to the identity.
        """
        from seawatch.api.query import VESSEL_FIELDS, search
        from seawatch.store import bbox_filter

        if self.full:
            return self.query.vessels(q=q, bbox=bbox)
        frame = self.access.filter_vessels(
            self.query.latest().select(VESSEL_FIELDS), visible_mmsi=self.event_mmsis()
        )
        if bbox is not None:
            frame = frame.filter(bbox_filter(bbox))
        if q:
            frame = search(frame, q)
        return frame

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
        times = positions["ts"]
        record["positions"] = positions.height
        record["first_ts"] = format_time(times.min()) if positions.height else None
        record["last_ts"] = format_time(times.max()) if positions.height else None
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
        from seawatch.api.query import track_feature

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
        from seawatch.api.query import evidence_collection, evidence_window

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
        """``GET /basemap/land``: for another agency only the fixed fine-land box (the
        coarse land around the data would outline the extent of the host's data)."""
        return self.query.land_geojson() if self.full else fine_land_geojson()

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
        return {
            "positions": positions.height,
            "vessels": len(vessels),
            "events": events.height,
            "first_ts": format_time(positions["ts"].min()) if positions.height else None,
            "last_ts": format_time(positions["ts"].max()) if positions.height else None,
            "events_by_type": dict(zip(counts["type"].to_list(), counts["len"].to_list(),
                                       strict=True)),
            "days": sorted(by_day),
            "positions_by_day": by_day,
            "snapshot": self.query.snapshot_id,
            "inputs": 0,
            "size_bytes": 0,
            "detection": None,
        }

    def positions_extent(self) -> tuple[tuple[float, float, float, float] | None,
                                        list[str | None]]:
        """Box and time interval of the positions the caller sees."""
        if self.full:
            return self.query.extent(), list(self.query.time_extent())
        return frame_extent(self.positions_frame(), "ts", "ts")

    def vessels_extent(self) -> tuple[tuple[float, float, float, float] | None,
                                      list[str | None]]:
        """Box and time interval of the vessels' latest positions the caller sees."""
        if self.full:
            return self.query.extent(), list(self.query.time_extent())
        return frame_extent(self.vessels(), "ts", "ts")


def frame_extent(frame: pl.DataFrame, start: str, end: str) -> tuple[
        tuple[float, float, float, float] | None, list[str | None]]:
    """``(min_lon, min_lat, max_lon, max_lat)`` (None without coordinates) and
    ``[first start, last end]`` of a frame."""
    if frame.height == 0:
        return None, [None, None]
    row = frame.select(
        pl.col("lon").min().alias("x0"), pl.col("lat").min().alias("y0"),
        pl.col("lon").max().alias("x1"), pl.col("lat").max().alias("y1"),
        pl.col(start).min().alias("t0"), pl.col(end).max().alias("t1"),
    ).row(0)
    box = None if None in row[:4] else (float(row[0]), float(row[1]), float(row[2]),
                                        float(row[3]))
    return box, [format_time(row[4]), format_time(row[5])]


Scope = tuple[datetime | None, datetime | None, tuple[float, float, float, float] | None]
EMPTY_SCOPE: Scope = (None, None, (0.0, 1.0, 0.0, -1.0))
"""What :func:`narrowed_scope` answers when the query and the grant cannot meet."""


def narrowed_scope(
    grant: "Grant",
    start: datetime | None,
    end: datetime | None,
    bbox: tuple[float, float, float, float] | None,
) -> Scope | None:
    """``(start, end, bbox)`` of a positions query narrowed to what one grant can release:
    the query's box cut to the grant area's bounds and its window ``[start, end)`` cut to
    the grant's data window (whose end is inclusive). A superset of what the grant releases
    inside the query, so :meth:`Access.filter_positions` on its rows is exact, and a box or
    window the query index can answer. :data:`EMPTY_SCOPE` when they cannot meet; None when
    either box crosses the antimeridian (the caller scans instead).

    >>> from types import SimpleNamespace
    >>> from datetime import UTC
    >>> g = SimpleNamespace(area_kind="bbox", area=None, bbox=(-92.0, -2.0, -88.0, 2.0),
    ...                     data_start=None, data_end=None)
    >>> narrowed_scope(g, None, None, (-90.0, 0.0, -80.0, 5.0))
    (None, None, (-90.0, 0.0, -88.0, 2.0))
    >>> narrowed_scope(g, None, None, (-80.0, 0.0, -70.0, 5.0)) == EMPTY_SCOPE
    True
    """
    import shapely

    box = bbox
    if grant.area_kind != "all":
        if grant.area_kind == "bbox" and grant.bbox is not None:
            bounds = tuple(float(v) for v in grant.bbox)
        elif grant.area is not None:
            bounds = tuple(float(v) for v in shapely.bounds(grant.area))
        else:
            return EMPTY_SCOPE  # a zone the server does not know releases nothing
        if bounds[0] > bounds[2] or (bbox is not None and bbox[0] > bbox[2]):
            return None
        if bbox is None:
            box = bounds  # type: ignore[assignment]
        else:
            box = (max(bbox[0], bounds[0]), max(bbox[1], bounds[1]),
                   min(bbox[2], bounds[2]), min(bbox[3], bounds[3]))
            if box[0] > box[2] or box[1] > box[3]:
                return EMPTY_SCOPE
    if grant.data_start is not None:
        first = _aware(grant.data_start)
        start = first if start is None else max(_aware(start), first)
    if grant.data_end is not None:
        stop = _aware(grant.data_end) + timedelta(microseconds=1)
        end = stop if end is None else min(_aware(end), stop)
    if start is not None and end is not None and start >= end:
        return EMPTY_SCOPE
    return start, end, box


def _aware(value: datetime) -> datetime:
    """A datetime as aware UTC (naive ones are UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def grants_prefilter(grants: Sequence["Grant"]) -> pl.Expr:
    """A cheap superset of what the grants release (their areas' boxes and data windows),
    pushed into the positions scan before the exact :meth:`Access.filter_positions`."""
    import shapely

    expr = pl.lit(False)
    for g in grants:
        cond = pl.lit(True)
        if g.area_kind != "all":
            area = g.area
            if area is None:
                continue
            if g.area_kind == "bbox" and g.bbox is not None and g.bbox[0] > g.bbox[2]:
                x0, y0, x1, y1 = g.bbox
                lon_ok = (pl.col("lon") >= x0) | (pl.col("lon") <= x1)
            else:
                x0, y0, x1, y1 = (float(v) for v in shapely.bounds(area))
                lon_ok = pl.col("lon").is_between(x0, x1)
            cond = cond & pl.col("lat").is_between(y0, y1) & lon_ok
        if g.data_start is not None:
            cond = cond & (pl.col("ts") >= pl.lit(g.data_start))
        if g.data_end is not None:
            cond = cond & (pl.col("ts") <= pl.lit(g.data_end))
        expr = expr | cond
    return expr


_FINE_LAND: list[str] = []


def fine_land_geojson() -> str:
    """Natural Earth 1:10m land in the fixed coverage box only (cached)."""
    if not _FINE_LAND:
        import shapely

        from seawatch.api.query import LAND_PRECISION_DEG
        from seawatch.geo import land

        geom = shapely.set_precision(land(), LAND_PRECISION_DEG, mode="pointwise")
        _FINE_LAND.append(
            '{"type":"FeatureCollection","features":[{"type":"Feature","id":"fine",'
            '"properties":{"source":"Natural Earth 1:10m land (world-atlas)"},"geometry":'
            + shapely.to_geojson(geom) + "}]}"
        )
    return _FINE_LAND[0]


# --- exports: markings ---------------------------------------------------------------------


def frame_marking(frame: pl.DataFrame, access: Access) -> Any:
    """The :class:`~seawatch.share.markings.Marking` an export of ``frame`` carries.

    Frames with marking columns (events) use :func:`~seawatch.share.markings.export_marking`;
    others (positions, vessels) carry the store's default level, owned by the host.
    """
    from seawatch.share.markings import TLP, Marking, export_marking

    if "marking" in frame.columns and "releasable_to" in frame.columns:
        return export_marking(frame)
    if frame.height == 0:
        return Marking(TLP.CLEAR, (), access.host_agency)
    return Marking(access.default_level, (), access.host_agency)


__all__ = ["View", "fine_land_geojson", "frame_extent", "frame_marking", "grants_prefilter"]
