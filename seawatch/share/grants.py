"""Grants: an owning agency gives another agency read access to a scope, until an expiry.

A grant's scope is

- an **area**: a zone by name (from :func:`seawatch.geo.default_zones` or a zones file; its
  polygon is copied into the grant, so later edits of the zone file do not widen it), a
  bounding box, or everywhere;
- a **time window of the data** (``data_start``, ``data_end``; either may be open);
- **event types** (all when none are named);
- a **highest marking** (:class:`~seawatch.share.markings.TLP`): objects marked above it stay
  hidden;
- whether it includes **positions** (AIS tracks in the area and window) besides events.

It is live from its creation until ``expires_at`` or until it is revoked, whichever is first;
:func:`seawatch.share.policy.access_for` reads the live grants on every request, so expiry and
revocation take effect at the next request. Rows are never deleted: who created and revoked
each grant, and when, stays on record.

Only the grantor agency's admins (and for the host's data, only the host's admins) create
grants; the grantor's admins and the host's admins revoke them.
"""

from __future__ import annotations

import json
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa

from seawatch.share.accounts import find_agency
from seawatch.share.bounds import ID_CHARS, TEXT_CHARS, bounded_text, bounded_time, shown
from seawatch.share.db import as_utc, utcnow
from seawatch.share.errors import Conflict, Forbidden, InvalidInput, NotFound
from seawatch.share.markings import TLP
from seawatch.share.models import Agency, GrantRow
from seawatch.share.roles import GRANT_CREATE, GRANT_REVOKE, Principal, changed_by, require
from seawatch.units import BBox, parse_bbox

if TYPE_CHECKING:  # pragma: no cover

    from seawatch.geo.zones import Zone
    from seawatch.share.db import State


@dataclass(frozen=True)
class Grant:
    """One grant, as stored (read-only view).

    ``area_kind`` is ``'zone'`` (``zone_name`` and its polygon), ``'bbox'`` (``bbox``) or
    ``'all'``; ``event_types`` None means every type.
    """

    id: int
    grantor: str
    grantee: str
    area_kind: str
    zone_name: str | None
    bbox: BBox | None
    event_types: tuple[str, ...] | None
    include_positions: bool
    max_marking: TLP
    data_start: datetime | None
    data_end: datetime | None
    expires_at: datetime
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    revoked_by: str | None
    note: str
    area_wkb: str | None = field(default=None, repr=False)

    def status(self, now: datetime | None = None) -> str:
        """``'active'``, ``'expired'``, ``'revoked'`` or ``'pending'`` (created after ``now``)."""
        when = utcnow(now)
        if self.revoked_at is not None and self.revoked_at <= when:
            return "revoked"
        if self.expires_at <= when:
            return "expired"
        if self.created_at > when:
            return "pending"
        return "active"

    def is_live(self, now: datetime | None = None) -> bool:
        """Whether the grant gives access at ``now``."""
        return self.status(now) == "active"

    @property
    def area(self) -> Any:
        """The area as a prepared shapely geometry (None for ``'all'``)."""
        if self.area_kind == "zone" and self.area_wkb:
            return _geometry(self.area_wkb)
        if self.area_kind == "bbox" and self.bbox is not None:
            import shapely

            x0, y0, x1, y1 = self.bbox
            if x0 <= x1:
                return shapely.box(x0, y0, x1, y1)
            return shapely.union(shapely.box(x0, y0, 180.0, y1), shapely.box(-180.0, y0, x1, y1))
        return None

    def area_text(self) -> str:
        """The area in words for listings."""
        if self.area_kind == "zone":
            return f"zone {self.zone_name}"
        if self.area_kind == "bbox" and self.bbox is not None:
            return "bbox " + ",".join(f"{v:g}" for v in self.bbox)
        return "everywhere"

    def contains(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """Which points (degrees, float arrays; NaN for missing) lie in the grant's area.

        Vectorised: ``shapely.contains_xy`` on the prepared zone polygon (boundary points are
        outside, as for zone events), or array comparisons for a box (edges inside).
        """
        lat = np.asarray(lat, dtype=np.float64)
        lon = np.asarray(lon, dtype=np.float64)
        if self.area_kind == "all":
            return np.ones(lat.shape, dtype=bool)
        if self.area_kind == "bbox" and self.bbox is not None:
            x0, y0, x1, y1 = self.bbox
            with np.errstate(invalid="ignore"):
                in_lat = (lat >= y0) & (lat <= y1)
                in_lon = (lon >= x0) & (lon <= x1) if x0 <= x1 else (lon >= x0) | (lon <= x1)
            return in_lat & in_lon
        if self.area_kind == "zone" and self.area_wkb:
            import shapely

            return np.asarray(shapely.contains_xy(_geometry(self.area_wkb), lon, lat), dtype=bool)
        return np.zeros(lat.shape, dtype=bool)  # fail closed


_LOCAL = threading.local()
_CACHE_SIZE = 64


def _geometry(wkb_hex: str) -> Any:
    """The prepared polygon of a grant's area, cached per thread (a prepared geometry is not
    shared between the API's worker threads)."""
    import shapely

    cache: dict[str, Any] | None = getattr(_LOCAL, "geometries", None)
    if cache is None:
        cache = _LOCAL.geometries = {}
    geom = cache.get(wkb_hex)
    if geom is None:
        if len(cache) >= _CACHE_SIZE:
            cache.clear()
        geom = shapely.from_wkb(wkb_hex)
        shapely.prepare(geom)
        cache[wkb_hex] = geom
    return geom


def _grant(row: GrantRow) -> Grant:
    bbox = None
    if row.area_kind == "bbox":
        bbox = (row.min_lon, row.min_lat, row.max_lon, row.max_lat)
    types = tuple(json.loads(row.event_types)) if row.event_types else None
    return Grant(
        row.id, row.grantor.name, row.grantee.name, row.area_kind, row.zone_name,
        bbox,  # type: ignore[arg-type]
        types, row.include_positions, TLP.parse(row.max_marking), row.data_start, row.data_end,
        row.expires_at, row.created_at, row.created_by, row.revoked_at, row.revoked_by,
        row.note, row.area_wkb,
    )


# --- zones --------------------------------------------------------------------------------


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


def resolve_zone(name: str, zones: Sequence[Zone] | None = None) -> Zone:
    """The zone called ``name``, ignoring case and accents (``galapagos marine reserve``).

    Parameters
    ----------
    zones
        Zones to look in (a zones file, :func:`seawatch.geo.load_zones`); default: the
        shipped :func:`seawatch.geo.default_zones`.
    """
    if zones is None:
        from seawatch.geo import default_zones

        zones = default_zones()
    key = _fold(name)
    for zone in zones:
        if _fold(zone.name) == key:
            return zone
    names = ", ".join(repr(z.name) for z in zones)
    raise NotFound(f"unknown zone {shown(name)}; zones: {names}")


# --- create, revoke, list -----------------------------------------------------------------


def create_grant(
    state: State,
    *,
    grantor: str,
    grantee: str,
    expires_at: datetime,
    max_marking: str | TLP = TLP.AMBER,
    zone: str | None = None,
    bbox: str | Sequence[float] | None = None,
    zones: Sequence[Zone] | None = None,
    event_types: Sequence[str] | None = None,
    include_positions: bool = False,
    data_start: datetime | None = None,
    data_end: datetime | None = None,
    note: str = "",
    principal: Principal | None = None,
    now: datetime | None = None,
) -> Grant:
    """Give ``grantee`` read access to ``grantor``'s data in a scope until ``expires_at``.

    Parameters
    ----------
    grantor, grantee
        Agency names (different).
    expires_at
        When the grant ends (must be after ``now``).
    max_marking
        Highest marking released.
    zone, bbox
        The area: a zone name (looked up in ``zones``, default the shipped zones), or a box;
        neither: everywhere.
    event_types
        Event types released (:data:`seawatch.schema.EVENT_TYPES`); None or empty: all.
    include_positions
        Also release positions (and the identity of vessels seen there).
    data_start, data_end
        Time window of the data released (inclusive; None: open).
    principal
        The caller (None: the local operator): an admin of ``grantor``; for the host's data,
        an admin of the host agency.

    Raises
    ------
    InvalidInput, NotFound, Forbidden
    """
    from seawatch.schema import EVENT_TYPES

    when = utcnow(now)
    expires = bounded_time(expires_at, "grant expiry")
    if expires <= when:
        raise InvalidInput(f"grant expiry {expires.isoformat()} is not in the future")
    if grantor == grantee:
        raise InvalidInput("an agency needs no grant to read its own data")
    if zone is not None and bbox is not None:
        raise InvalidInput("give a zone or a bbox, not both")
    bounded_text(note, "note", TEXT_CHARS, multiline=True)
    start = bounded_time(data_start, "data_start") if data_start is not None else None
    end = bounded_time(data_end, "data_end") if data_end is not None else None
    if start is not None and end is not None and start > end:
        raise InvalidInput(f"data window starts ({start.isoformat()}) after it ends")
    types = sorted({t.strip() for t in (event_types or ()) if t.strip()})
    unknown = [t for t in types if t not in EVENT_TYPES]
    if unknown:
        raise InvalidInput(f"unknown event type(s) {shown(unknown, 120)}; use "
                           f"{', '.join(EVENT_TYPES)}")
    level = TLP.parse(max_marking)
    area: dict[str, Any] = {"area_kind": "all"}
    if zone is not None:
        found = resolve_zone(bounded_text(zone, "zone", ID_CHARS), zones)
        import shapely

        area = {
            "area_kind": "zone", "zone_name": found.name,
            "area_wkb": shapely.to_wkb(found.geometry, hex=True),
        }
    elif bbox is not None:
        x0, y0, x1, y1 = parse_bbox(bbox, "--bbox")
        area = {"area_kind": "bbox", "min_lon": x0, "min_lat": y0, "max_lon": x1, "max_lat": y1}
    if principal is not None:
        require(principal, GRANT_CREATE)
        if principal.agency != grantor:
            raise Forbidden(
                f"an admin of {principal.agency} may not grant {grantor}'s data; only "
                f"{grantor}'s admins may"
            )
    with state.write() as s:
        giver = find_agency(s, grantor)
        taker = find_agency(s, grantee)
        row = GrantRow(
            grantor_agency_id=giver.id, grantee_agency_id=taker.id,
            event_types=json.dumps(types) if types else None,
            include_positions=bool(include_positions), max_marking=level.label,
            data_start=start, data_end=end, expires_at=expires, note=note, created_at=when,
            created_by=changed_by(principal), **area,
        )
        s.add(row)
        s.flush()
        return _grant(row)


def revoke_grant(
    state: State, grant_id: int, *, principal: Principal | None = None,
    now: datetime | None = None,
) -> Grant:
    """Revoke a grant at once (its next request sees nothing through it).

    Raises
    ------
    NotFound
        No such grant.
    Conflict
        Already revoked.
    Forbidden
        The caller is not an admin of the grantor or of the host agency.
    """
    when = utcnow(now)
    with state.write() as s:
        row = s.get(GrantRow, int(grant_id))
        if row is None:
            raise NotFound(f"unknown grant id {grant_id}; see `seawatch grant list`")
        if principal is not None:
            require(principal, GRANT_REVOKE)
            if not (principal.agency == row.grantor.name or principal.is_host_admin):
                raise Forbidden(f"only admins of {row.grantor.name} or the host revoke it")
        if row.revoked_at is not None:
            raise Conflict(f"grant {grant_id} was revoked at {row.revoked_at.isoformat()}")
        row.revoked_at = when
        row.revoked_by = changed_by(principal)
        return _grant(row)


def list_grants(
    state: State,
    *,
    agency: str | None = None,
    live_at: datetime | None = None,
    principal: Principal | None = None,
) -> list[Grant]:
    """Grants, newest first.

    Parameters
    ----------
    agency
        Only grants this agency gave or received.
    live_at
        Only grants live at this time.
    principal
        The caller: outside the host agency, only its own agency's grants (given or received).
    """
    if principal is not None and not principal.is_host:
        agency = principal.agency
    query = sa.select(GrantRow).order_by(GrantRow.id.desc())
    with state.read() as s:
        if agency is not None:
            a = find_agency(s, agency)
            query = query.where(
                sa.or_(GrantRow.grantor_agency_id == a.id, GrantRow.grantee_agency_id == a.id)
            )
        if live_at is not None:
            query = _live(query, as_utc(live_at))
        return [_grant(r) for r in s.scalars(query)]


def _live(query: sa.Select[Any], when: datetime) -> sa.Select[Any]:
    return query.where(
        GrantRow.revoked_at.is_(None) | (GrantRow.revoked_at > when),
        GrantRow.expires_at > when,
        GrantRow.created_at <= when,
    )


def live_grants(state: State, grantee: str, now: datetime | None = None) -> list[Grant]:
    """The grants ``grantee`` holds at ``now`` (not expired, not revoked), oldest first."""
    when = utcnow(now)
    query = (
        sa.select(GrantRow)
        .join(Agency, GrantRow.grantee_agency_id == Agency.id)
        .where(Agency.name == grantee)
        .order_by(GrantRow.id)
    )
    with state.read() as s:
        return [_grant(r) for r in s.scalars(_live(query, when))]


def get_grant(state: State, grant_id: int) -> Grant:
    """One grant by id."""
    with state.read() as s:
        row = s.get(GrantRow, int(grant_id))
        if row is None:
            raise NotFound(f"unknown grant id {grant_id}; see `seawatch grant list`")
        return _grant(row)
