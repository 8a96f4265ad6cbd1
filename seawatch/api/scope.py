"""What of the store another agency may read, as queries the store can answer.

A partner reads positions only where a live grant releases them (its area, its data window,
its highest marking), and identity reports only inside the data windows of the grants that
release something of the vessel. :meth:`~seawatch.share.policy.Access.filter_positions`
states the positions rule on a frame; :class:`PositionScope` states the same rule as a union
of :class:`~seawatch.store.posindex.Part` (one per grant that releases positions: its window,
its box or its zone's polygon), which the query index classifies group by group and the
plain scans test chunk by chunk (:mod:`seawatch.api.query.scoped`), so that a partner's
queries are answered without loading every position it may see.

The rule, as :class:`~seawatch.share.policy.Access` applies it to the store's positions
(which carry no owner or marking column: they belong to the host and carry the store's
default marking): a live grant held by the caller's agency releases the positions of a
window and an area when it includes positions, its grantor is the host agency and the
default marking is at most its ``max_marking``; inside the window means
``data_start <= ts <= data_end``; inside the area means in the box (edges included) or
strictly inside the zone's polygon; a position without finite coordinates is in no area.
The tests compare the two on every grant shape.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from seawatch import schema
from seawatch.store.posindex import Part, to_us

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.share.grants import Grant
    from seawatch.share.policy import Access

ONE_US = timedelta(microseconds=1)


@dataclass(frozen=True)
class PositionScope:
    """The positions one caller may read: rows in at least one of ``parts``.

    ``grants[i]`` is the id of the grant that ``parts[i]`` stands for; ``key`` identifies the
    scope in caches (two scopes with the same key release the same rows).

    >>> scope = PositionScope((Part(0, 10, (-1.0, -1.0, 1.0, 1.0)),), (7,))
    >>> scope.mask(np.array([5, 5]), np.array([0.0, 3.0]), np.array([0.0, 0.0])).tolist()
    [True, False]
    >>> [t.microsecond for t in scope.bounds()]
    [0, 10]
    """

    parts: tuple[Part, ...]
    grants: tuple[int, ...]
    shapes: tuple[str | None, ...] = ()
    """Hex WKB of each part's polygon (None for a box or everywhere): the part of ``key``
    that the polygons themselves cannot give."""

    @property
    def key(self) -> str:
        """A short text that identifies the rows the scope releases (for caches)."""
        text = repr([(g, p.lo, p.hi, p.box, self._shape(i))
                     for i, (g, p) in enumerate(zip(self.grants, self.parts, strict=True))])
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def _shape(self, i: int) -> str | None:
        wkb = self.shapes[i] if i < len(self.shapes) else None
        return None if wkb is None else hashlib.sha256(wkb.encode()).hexdigest()

    @property
    def empty(self) -> bool:
        """Whether the scope releases no position at all."""
        return not self.parts

    def mask(self, ts: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """Which rows (``ts`` in microseconds, coordinates with NaN for null) it releases."""
        keep = np.zeros(len(ts), dtype=bool)
        for part in self.parts:
            rest = np.flatnonzero(~keep)
            if len(rest) == 0:
                break
            keep[rest] = part.test(ts[rest], lat[rest], lon[rest])
        return keep

    def part_masks(self, ts: np.ndarray, lat: np.ndarray,
                   lon: np.ndarray) -> list[np.ndarray]:
        """Which rows each part releases (one mask per part)."""
        return [part.test(ts, lat, lon) for part in self.parts]

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """``[start, end)`` holding every released row's time (None: unbounded), for pruning
        the files a query reads."""
        if not self.parts:
            return None, None
        los = [p.lo for p in self.parts]
        his = [p.hi for p in self.parts]
        lo = None if any(v is None for v in los) else min(v for v in los if v is not None)
        hi = None if any(v is None for v in his) else max(v for v in his if v is not None)
        return _from_us(lo), _from_us(hi)

    def prefilter(self) -> pl.Expr:
        """A Polars predicate that keeps at least every released row (the parts' windows and
        boxes, not their polygons): pushed into scans before :meth:`mask` decides."""
        expr = pl.lit(False)
        for part in self.parts:
            cond = pl.lit(True)
            if part.lo is not None:
                cond = cond & (pl.col("ts") >= pl.lit(_from_us(part.lo), dtype=schema.TS))
            if part.hi is not None:
                cond = cond & (pl.col("ts") < pl.lit(_from_us(part.hi), dtype=schema.TS))
            if part.box is not None:
                x0, y0, x1, y1 = part.box
                lon_ok = (pl.col("lon").is_between(x0, x1) if x0 <= x1
                          else (pl.col("lon") >= x0) | (pl.col("lon") <= x1))
                cond = cond & pl.col("lat").is_between(y0, y1) & lon_ok
            expr = expr | cond
        return expr


def _from_us(value: int | None) -> datetime | None:
    if value is None:
        return None
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=value)


def _aware(value: datetime) -> datetime:
    """A datetime as aware UTC (naive ones are UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def live_grants(access: Access) -> list[Grant]:
    """The grants the caller's agency holds at the access's moment."""
    return [g for g in access.grants if g.grantee == access.agency and g.is_live(access.now)]


def releases_positions(access: Access, grant: Grant) -> bool:
    """Whether a live grant releases any of the store's positions (they belong to the host
    and carry the store's default marking)."""
    return (grant.include_positions and grant.grantor == access.host_agency
            and int(access.default_level) <= int(grant.max_marking))


def grant_part(grant: Grant) -> tuple[Part, str | None] | None:
    """The :class:`~seawatch.store.posindex.Part` of the positions a grant releases (its
    window and area) and the hex WKB of its polygon, or None when its area holds nothing
    (a zone the server could not resolve, an unknown kind: fail closed).

    >>> from types import SimpleNamespace
    >>> g = SimpleNamespace(area_kind="bbox", bbox=(-92.0, -2.0, -88.0, 2.0), area_wkb=None,
    ...                     data_start=None, data_end=datetime(1970, 1, 1, tzinfo=UTC))
    >>> part, wkb = grant_part(g)
    >>> part, wkb
    (Part(lo=None, hi=1, box=(-92.0, -2.0, -88.0, 2.0)), None)
    """
    lo = to_us(None if grant.data_start is None else _aware(grant.data_start))
    end = to_us(None if grant.data_end is None else _aware(grant.data_end))
    hi = None if end is None else end + 1
    if grant.area_kind == "all":
        return Part(lo, hi, key=_part_key(lo, hi, None, None)), None
    if grant.area_kind == "bbox" and grant.bbox is not None:
        box = (float(grant.bbox[0]), float(grant.bbox[1]), float(grant.bbox[2]),
               float(grant.bbox[3]))
        return Part(lo, hi, box, key=_part_key(lo, hi, box, None)), None
    if grant.area_kind == "zone" and grant.area_wkb:
        import shapely

        shape = grant.area  # prepared, cached per thread
        x0, y0, x1, y1 = (float(v) for v in shapely.bounds(shape))
        return Part(lo, hi, (x0, y0, x1, y1), shape,
                    key=_part_key(lo, hi, (x0, y0, x1, y1), grant.area_wkb)), grant.area_wkb
    return None


def _part_key(lo: int | None, hi: int | None, box: tuple[float, ...] | None,
              wkb: str | None) -> str:
    """What a part holds, as a short text (the polygon by a digest of its WKB)."""
    shape = None if wkb is None else hashlib.sha256(wkb.encode()).hexdigest()
    return hashlib.sha256(repr((lo, hi, box, shape)).encode()).hexdigest()[:32]


def position_scope(access: Access) -> PositionScope | None:
    """The positions ``access`` may read as a :class:`PositionScope`; None for the host
    agency (everything)."""
    if access.full:
        return None
    parts: list[Part] = []
    ids: list[int] = []
    shapes: list[str | None] = []
    for grant in live_grants(access):
        if not releases_positions(access, grant):
            continue
        found = grant_part(grant)
        if found is None:
            continue
        parts.append(found[0])
        shapes.append(found[1])
        ids.append(grant.id)
    return PositionScope(tuple(parts), tuple(ids), tuple(shapes))


# --- identity ------------------------------------------------------------------------------


def event_grants(access: Access, events: pl.DataFrame) -> pl.DataFrame:
    """Which live grant releases which vessel through the events the caller sees.

    Parameters
    ----------
    events
        Events the caller sees, with their marking columns (``View.events()``).

    Returns
    -------
    polars.DataFrame
        ``mmsi`` (Int64), ``grant`` (Int64): one row per vessel (``mmsi`` or ``other_mmsi``
        of an event) and grant releasing one of its events; events the caller's agency
        owns are released by no grant.
    """
    empty = pl.DataFrame(schema={"mmsi": pl.Int64, "grant": pl.Int64})
    if events.height == 0:
        return empty
    parts = []
    for grant in live_grants(access):
        single = dataclasses.replace(access, grants=(grant,))
        released = single.filter_events(
            events.filter(pl.col("owner_agency") != pl.lit(access.agency)))
        if released.height == 0:
            continue
        ids = pl.concat([released["mmsi"], released["other_mmsi"]]).drop_nulls().unique()
        parts.append(pl.DataFrame({"mmsi": ids.cast(pl.Int64),
                                   "grant": pl.Series([grant.id] * len(ids), dtype=pl.Int64)}))
    return pl.concat(parts) if parts else empty


def identity_windows(access: Access, vessel_grants: pl.DataFrame) -> pl.DataFrame:
    """The data windows whose identity reports the caller may read, per vessel.

    Parameters
    ----------
    vessel_grants
        ``mmsi``, ``grant``: the grants that release something of each vessel (its
        positions, :class:`PositionScope` parts; its events, :func:`event_grants`).

    Returns
    -------
    polars.DataFrame
        ``mmsi``, ``start``, ``end`` (inclusive; null: open), one row per vessel and
        grant, unique; a vessel no grant releases has none (it shows no identity).

    >>> from types import SimpleNamespace
    >>> g = SimpleNamespace(id=3, grantee="P", data_start=None, is_live=lambda now: True,
    ...                     data_end=datetime(2026, 1, 2, tzinfo=UTC))
    >>> a = SimpleNamespace(grants=(g,), agency="P", now=None)
    >>> identity_windows(a, pl.DataFrame({"mmsi": [1, 1], "grant": [3, 3]})).rows()
    [(1, None, datetime.datetime(2026, 1, 2, 0, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC')))]
    """
    grants = {g.id: g for g in live_grants(access)}
    pairs = vessel_grants.filter(pl.col("grant").is_in(list(grants))).unique()
    ids = pairs["grant"].to_list()
    return pl.DataFrame(
        {
            "mmsi": pairs["mmsi"],
            "start": [_window_end(grants[g].data_start) for g in ids],
            "end": [_window_end(grants[g].data_end) for g in ids],
        },
        schema={"mmsi": pl.Int64, "start": schema.TS, "end": schema.TS},
    ).unique().sort("mmsi", "start", "end", nulls_last=True)


def _window_end(value: datetime | None) -> datetime | None:
    return None if value is None else _aware(value)


def part_grants(scope: PositionScope, members: Sequence[Iterable[int]]) -> pl.DataFrame:
    """``mmsi``, ``grant`` from the vessels each part of ``scope`` releases positions of
    (``members[i]``: the MMSIs of part ``i``)."""
    mmsi: list[int] = []
    grant: list[int] = []
    for gid, vessels in zip(scope.grants, members, strict=True):
        ids = [int(m) for m in vessels]
        mmsi.extend(ids)
        grant.extend([gid] * len(ids))
    return pl.DataFrame({"mmsi": mmsi, "grant": grant},
                        schema={"mmsi": pl.Int64, "grant": pl.Int64})


def frame_digest(frame: pl.DataFrame) -> str:
    """A short digest of a small frame's content (for cache keys)."""
    text: Any = frame.sort(frame.columns, nulls_last=True).write_csv()
    return hashlib.sha256(text.encode()).hexdigest()[:32]
