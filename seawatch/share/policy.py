"""What one caller may read: :func:`access_for` and the :class:`Access` it returns.

An :class:`Access` is computed per request from the caller's agency and the grants that
agency holds *at that moment*, so an expired or revoked grant stops working at the next
request. It filters Polars frames with vectorised expressions (and ``shapely.contains_xy``
for zone areas), one pass per live grant, never a Python loop over rows:

- **The host agency** (every role) sees all of the store's data, whatever its marking: the
  data is its own.
- **Any other agency** sees (a) rows it owns (an ``owner_agency`` column or marking naming
  it) and (b) rows a live grant gives it: owned by the grantor, inside the grant's area, inside
  its data window, of its event types, marked at most its ``max_marking`` and releasable to
  the grantee (see :mod:`seawatch.share.markings` for RED). Nothing else, whatever the role.

Role rules (:data:`POLICY`, re-exported from :mod:`seawatch.share.roles`) decide which
actions a caller may take at all; this module decides which rows a read returns.

Examples
--------
>>> from datetime import datetime, UTC
>>> import polars as pl
>>> p = Principal(1, "ana", "FAE", "partner_viewer")
>>> access = Access(p, host_agency="ECU-NAVY", now=datetime(2026, 1, 1, tzinfo=UTC))
>>> events = pl.DataFrame({"event_id": ["e1"], "type": ["gap"], "lat": [-0.5], "lon": [-90.0],
...     "marking": ["GREEN"], "releasable_to": [[]], "owner_agency": ["ECU-NAVY"]})
>>> access.filter_events(events).height  # no grant: nothing
0
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from seawatch.share.db import utcnow
from seawatch.share.errors import AuthenticationError
from seawatch.share.grants import Grant, live_grants
from seawatch.share.markings import (
    DEFAULT_MARKING,
    MARKING_COLUMNS,
    TLP,
    attach_markings,
    default_marking,
    level_rank,
)
from seawatch.share.roles import (
    ANONYMOUS,
    POLICY,
    ROLES,
    Principal,
    allowed,
    require,
)

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

    from seawatch.share.db import State

__all__ = [
    "ANONYMOUS",
    "POLICY",
    "ROLES",
    "Access",
    "Principal",
    "access_for",
    "allowed",
    "authorize_request",
    "require",
]

POSITION_COLUMNS: tuple[str, ...] = ("lat", "lon", "sog", "cog", "heading", "nav_status")
"""Columns of a vessels frame that describe a position (nulled where the position is hidden)."""

Z = TypeVar("Z")


@dataclass
class Access:
    """What one principal may read at one moment.

    Parameters
    ----------
    principal
        The caller.
    host_agency
        The store's host agency.
    now
        The moment the grants were read.
    grants
        The live grants held by the principal's agency at ``now``.
    default_level
        The store's default marking (positions, and unmarked objects).
    state
        The state, used to join markings onto frames that lack them (optional).
    """

    principal: Principal
    host_agency: str
    now: datetime
    grants: tuple[Grant, ...] = ()
    default_level: TLP = DEFAULT_MARKING
    state: State | None = field(default=None, repr=False)

    @property
    def agency(self) -> str:
        """The caller's agency."""
        return self.principal.agency

    @property
    def full(self) -> bool:
        """Whether the caller sees all of the store's data (a member of the host agency)."""
        return self.principal.agency == self.host_agency

    def can(self, action: str) -> bool:
        """Whether the caller's role may do ``action`` (see :data:`POLICY`)."""
        return allowed(self.principal, action)

    # --- helpers --------------------------------------------------------------------------

    def _live(self) -> list[Grant]:
        return [g for g in self.grants if g.grantee == self.agency and g.is_live(self.now)]

    def _markings(self, frame: pl.DataFrame, kind: str, id_column: str) -> pl.DataFrame:
        if all(c in frame.columns for c in MARKING_COLUMNS):
            return frame
        if self.state is None:
            raise ValueError(
                f"frame has no marking columns {list(MARKING_COLUMNS)}; join them with "
                "seawatch.share.markings.attach_markings(state, frame) or build the Access "
                "with access_for(state, ...)"
            )
        return attach_markings(
            self.state, frame, kind, id_column, defaults=(self.default_level, self.host_agency)
        )

    @staticmethod
    def _coords(frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        import polars as pl

        def col(name: str) -> np.ndarray:
            series = frame.get_column(name).cast(pl.Float64).fill_null(float("nan"))
            return series.to_numpy()

        return col("lat"), col("lon")

    @staticmethod
    def _window(g: Grant, start: pl.Expr, end: pl.Expr) -> pl.Expr:
        import polars as pl

        cond = pl.lit(True)
        if g.data_start is not None:
            cond = cond & (start >= pl.lit(g.data_start))
        if g.data_end is not None:
            cond = cond & (end <= pl.lit(g.data_end))
        return cond

    def _marking_ok(self, g: Grant) -> pl.Expr:
        import polars as pl

        names = pl.col("releasable_to").fill_null(pl.lit([], dtype=pl.List(pl.String())))
        named = names.list.contains(pl.lit(g.grantee)).fill_null(False)
        open_list = (names.list.len() == 0) & (level_rank("marking") < int(TLP.RED))
        return (level_rank("marking") <= int(g.max_marking)) & (named | open_list)

    @staticmethod
    def _mask(frame: pl.DataFrame, expr: pl.Expr) -> np.ndarray:
        series = frame.with_columns(expr.fill_null(False).alias("__m")).get_column("__m")
        return series.to_numpy().astype(bool, copy=True)  # literals broadcast to every row

    def _keep(
        self, frame: pl.DataFrame, own: pl.Expr, per_grant: list[tuple[Grant, pl.Expr]]
    ) -> np.ndarray:
        """Boolean mask: rows owned by the caller, or released by at least one grant."""
        keep = self._mask(frame, own)
        lat = lon = None
        for g, expr in per_grant:
            m = self._mask(frame, expr) & ~keep
            if not m.any():
                continue
            if g.area_kind != "all":
                if lat is None or lon is None:
                    lat, lon = self._coords(frame)
                idx = np.flatnonzero(m)
                m[idx] = g.contains(lat[idx], lon[idx])
            keep |= m
        return keep

    def _apply(
        self, frame: pl.DataFrame, own: pl.Expr, per_grant: list[tuple[Grant, pl.Expr]]
    ) -> pl.DataFrame:
        import polars as pl

        return frame.filter(pl.Series(self._keep(frame, own, per_grant)))

    # --- filters --------------------------------------------------------------------------

    def filter_events(self, events: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
        """The events the caller may see, with marking columns.

        Parameters
        ----------
        events
            Events (:data:`seawatch.schema.EVENTS` columns); the columns ``marking``,
            ``releasable_to`` and ``owner_agency`` are joined from the markings table when
            absent (:func:`~seawatch.share.markings.attach_markings`).

        Returns
        -------
        polars.DataFrame
            The visible rows, in their order. An event is inside a grant's window when it
            starts at or after ``data_start`` and ends at or before ``data_end``, and inside
            its area when its representative point (``lat``, ``lon``) is.
        """
        import polars as pl

        frame = events.collect() if isinstance(events, pl.LazyFrame) else events
        frame = self._markings(frame, "event", "event_id")
        if self.full or frame.height == 0:
            return frame
        own = pl.col("owner_agency") == pl.lit(self.agency)
        end = pl.coalesce(pl.col("end"), pl.col("start")) if "end" in frame.columns else None
        per_grant = []
        for g in self._live():
            cond = (pl.col("owner_agency") == pl.lit(g.grantor)) & self._marking_ok(g)
            if g.event_types is not None:
                cond = cond & pl.col("type").is_in(list(g.event_types))
            if g.data_start is not None or g.data_end is not None:
                if "start" not in frame.columns or end is None:
                    cond = pl.lit(False)  # cannot place it in time: hide
                else:
                    cond = cond & self._window(g, pl.col("start"), end)
            per_grant.append((g, cond))
        return self._apply(frame, own, per_grant)

    def filter_alerts(self, alerts: pl.DataFrame, id_column: str = "alert_id") -> pl.DataFrame:
        """Alerts the caller may see: like :meth:`filter_events`, with alert markings.

        ``alerts`` needs the event columns ``type``, ``start``, ``end``, ``lat``, ``lon``.
        """
        frame = self._markings(alerts, "alert", id_column)
        return self.filter_events(frame)

    def filter_positions(self, positions: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
        """The positions the caller may see.

        Positions belong to the host (or to ``owner_agency`` when the frame has that column)
        and carry the store's default marking (or a ``marking`` column). A grant releases
        them only when it includes positions; then by area (``lat``, ``lon``), window
        (``ts``) and marking.
        """
        import polars as pl

        frame = positions.collect() if isinstance(positions, pl.LazyFrame) else positions
        if self.full or frame.height == 0:
            return frame
        return self._apply(frame, self._own(frame), self._position_conditions(frame))

    def _own(self, frame: pl.DataFrame) -> pl.Expr:
        import polars as pl

        if "owner_agency" in frame.columns:
            return pl.col("owner_agency") == pl.lit(self.agency)
        return pl.lit(self.agency == self.host_agency)

    def _position_conditions(self, frame: pl.DataFrame) -> list[tuple[Grant, pl.Expr]]:
        import polars as pl

        owner = (
            pl.col("owner_agency") if "owner_agency" in frame.columns else pl.lit(self.host_agency)
        )
        rank = (
            level_rank("marking") if "marking" in frame.columns
            else pl.lit(int(self.default_level))
        )
        out = []
        for g in self._live():
            if not g.include_positions:
                continue
            cond = (owner == pl.lit(g.grantor)) & (rank <= int(g.max_marking))
            if g.data_start is not None or g.data_end is not None:
                if "ts" not in frame.columns:
                    cond = pl.lit(False)
                else:
                    cond = cond & self._window(g, pl.col("ts"), pl.col("ts"))
            out.append((g, cond))
        return out

    def filter_vessels(
        self,
        vessels: pl.DataFrame | pl.LazyFrame,
        *,
        visible_mmsi: Iterable[int] | pl.Series | None = None,
    ) -> pl.DataFrame:
        """The vessels the caller may see.

        Parameters
        ----------
        vessels
            Identity rows (``mmsi`` and identity columns), optionally with a latest position
            (``lat``, ``lon``, ``ts``, ...).
        visible_mmsi
            MMSIs the caller already sees through events or positions (e.g. ``mmsi`` and
            ``other_mmsi`` of :meth:`filter_events`' result).

        Returns
        -------
        polars.DataFrame
            For the host: ``vessels``. Otherwise the rows whose position a grant releases
            (as :meth:`filter_positions`), plus the rows of ``visible_mmsi`` with their
            position columns (:data:`POSITION_COLUMNS`, and ``ts``) set to null when the
            position itself is not released.
        """
        import polars as pl

        frame = vessels.collect() if isinstance(vessels, pl.LazyFrame) else vessels
        if self.full or frame.height == 0:
            return frame
        has_position = "lat" in frame.columns and "lon" in frame.columns
        owned = self._mask(frame, self._own(frame))
        position_ok = owned.copy()
        if has_position:
            position_ok = self._keep(frame, self._own(frame), self._position_conditions(frame))
        mmsi = pl.Series("mmsi", list(visible_mmsi) if visible_mmsi is not None else [],
                         dtype=pl.Int64)
        named = self._mask(frame, pl.col("mmsi").cast(pl.Int64).is_in(mmsi.implode()))
        keep = position_ok | named
        out = frame.with_columns(pl.Series("__position_ok", position_ok)).filter(pl.Series(keep))
        if has_position:
            hide = [c for c in (*POSITION_COLUMNS, "ts") if c in out.columns]
            out = out.with_columns(
                [
                    pl.when(pl.col("__position_ok")).then(pl.col(c)).otherwise(None).alias(c)
                    for c in hide
                ]
            )
        return out.drop("__position_ok")

    def filter_zones(self, zones: Sequence[Z]) -> list[Z]:
        """The zones the caller may see (objects with a ``name``: :class:`seawatch.geo.Zone`).

        The host sees every zone; another agency sees the zones its live grants name and the
        zones it owns (a ``zone`` marking naming it as owner).
        """
        if self.full:
            return list(zones)
        names = {g.zone_name for g in self._live() if g.area_kind == "zone"}
        owned: set[str] = set()
        if self.state is not None:
            from seawatch.share.markings import list_markings

            marks = list_markings(self.state, "zone")
            owned = {oid for _, oid, m in marks if m.owner == self.agency}
        return [z for z in zones if getattr(z, "name", None) in names | owned]

    def describe(self) -> dict[str, Any]:
        """A JSON-able summary (for ``/whoami`` and the audit log's scope)."""
        return {
            "agency": self.agency,
            "role": self.principal.role,
            "full": self.full,
            "grants": [g.id for g in self._live()],
        }


def access_for(
    state: State, principal: Principal | None, now: datetime | None = None
) -> Access:
    """The :class:`Access` of ``principal`` at ``now``: its agency and its live grants.

    Read on every request (a few small queries), so expiry and revocation apply at once.

    Raises
    ------
    AuthenticationError
        ``principal`` is None (anonymous callers read nothing).
    """
    from seawatch.share.markings import host_agency_name

    if principal is None:
        raise AuthenticationError("reading data needs authentication (a token or a session)")
    when = utcnow(now)
    host = host_agency_name(state)
    grants: tuple[Grant, ...] = ()
    if principal.agency != host:
        grants = tuple(live_grants(state, principal.agency, when))
    return Access(
        principal=principal, host_agency=host, now=when, grants=grants,
        default_level=default_marking(state), state=state,
    )


def authorize_request(
    state: State,
    action: str,
    *,
    method: str,
    authorization: str | None = None,
    session_id: str | None = None,
    csrf_token: str | None = None,
    client: str | None = None,
    now: datetime | None = None,
) -> tuple[Principal | None, Access | None]:
    """Everything a route's dependency needs: authenticate, check the action, build Access.

    Parameters
    ----------
    action
        The route's action (a key of :data:`POLICY`).
    method, authorization, session_id, csrf_token, client
        From the request: the method, the ``Authorization`` header, the session cookie
        (:data:`seawatch.share.auth.SESSION_COOKIE`), the CSRF header
        (:data:`seawatch.share.auth.CSRF_HEADER`) and the client address.

    Returns
    -------
    (principal, access)
        ``(None, None)`` for an anonymous caller of a ``public`` route; otherwise the
        principal and its :class:`Access` at ``now``.

    Raises
    ------
    seawatch.share.errors.ShareError
        With ``.http_status``: 401 (no or bad credentials), 429 (locked; ``.retry_after``),
        403 (role may not, or CSRF); ``.headers()`` gives the HTTP headers to send.
    """
    from seawatch.share.auth import authenticate_request

    when = utcnow(now)
    principal = authenticate_request(
        state, method=method, authorization=authorization, session_id=session_id,
        csrf_token=csrf_token, client=client, now=when,
    )
    require(principal, action)
    if principal is None:
        return None, None
    return principal, access_for(state, principal, when)
