"""SQLAlchemy 2 models of the operational state (the schema is created by the migrations).

One table per kind of record:

=================  =========================================================================
``settings``       key/value store settings: host agency, default marking
``agencies``       agencies (one is the host: it owns the data ingested into the store)
``users``          users, one agency and one role each; scrypt password hash or none
``api_tokens``     API tokens, stored only as SHA-256; expiry, revocation, last use
``web_sessions``   server-side browser sessions (id and CSRF token stored as SHA-256)
``auth_throttle``  failed-authentication counters per user and per client address
``markings``       TLP 2.0 marking, releasable-to list and owner of an event/alert/zone/export
``grants``         read access an owning agency gives another, scoped and time-limited
``audit_log``      the hash-chained audit log, one row per recorded action
``audit_head``     one row: the last sequence number and hash (lock point for appends)
``alert_rules``    alert rules: event types, zones, watchlist, minimum score, vessel types
``alerts``         one alert per (rule, event): a snapshot of the event and its life cycle
``watchlists``     watchlists of an agency: name, source, marking (TLP), releasable-to list
``watchlist_``     their entries: name, IMO, call sign, MMSI, flag, source, reason
``entries``
=================  =========================================================================

A test checks that these models and the migrations describe the same schema.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from seawatch.share.db import UTCDateTime

ROLES: tuple[str, ...] = ("admin", "analyst", "watch_officer", "partner_viewer")
"""User roles; what each may do is :data:`seawatch.share.policy.POLICY`."""
MARKING_KINDS: tuple[str, ...] = ("event", "alert", "zone", "export")
"""Kinds of object a marking can be attached to."""
ALERT_STATES: tuple[str, ...] = ("new", "acknowledged", "assigned", "closed")
"""States of an alert's life cycle (:mod:`seawatch.share.alerts`)."""
GENESIS_HASH = "0" * 64
"""``prev_hash`` of the first audit entry."""


NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Constraint names, identical on every backend (migrations refer to them)."""


class Base(DeclarativeBase):
    """Declarative base of the state models."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}  # noqa: RUF012


class Setting(Base):
    """A store setting (``host_agency``, ``default_marking``)."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text)


class Agency(Base):
    """An agency: owns data, holds users, gives and receives grants."""

    __tablename__ = "agencies"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    is_host: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime]


class User(Base):
    """A person or service account; belongs to exactly one agency."""

    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint(
            "role IN ('admin', 'analyst', 'watch_officer', 'partner_viewer')", name="role"
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    role: Mapped[str] = mapped_column(sa.String(32))
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    disabled: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(sa.String(128), default="")

    agency: Mapped[Agency] = relationship(lazy="joined")


class ApiToken(Base):
    """An API token: only its SHA-256 is stored; the token itself is shown once."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(128), default="")
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(sa.String(128), default="")
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(sa.String(128))
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined")


class WebSession(Base):
    """A browser session: SHA-256 of its id (the cookie) and of its CSRF token."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    csrf_hash: Mapped[str] = mapped_column(sa.String(64))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    client: Mapped[str | None] = mapped_column(sa.String(255))

    user: Mapped[User] = relationship(lazy="joined")


class AuthThrottle(Base):
    """Failed authentications of one user (``scope='user'``) or address (``'address'``)."""

    __tablename__ = "auth_throttle"
    __table_args__ = (sa.UniqueConstraint("scope", "key", name="uq_auth_throttle_scope_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(sa.String(16))
    key: Mapped[str] = mapped_column(sa.String(255))
    failures: Mapped[int] = mapped_column(sa.Integer, default=0)
    window_start: Mapped[datetime]
    locked_until: Mapped[datetime | None]


class MarkingRow(Base):
    """The marking of one object (kind + id): TLP level, releasable-to list, owner agency."""

    __tablename__ = "markings"
    __table_args__ = (
        sa.UniqueConstraint("kind", "object_id", name="uq_markings_kind_object"),
        sa.CheckConstraint("kind IN ('event', 'alert', 'zone', 'export')", name="kind"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    object_id: Mapped[str] = mapped_column(sa.String(255))
    level: Mapped[str] = mapped_column(sa.String(16))
    releasable_to: Mapped[str] = mapped_column(sa.Text, default="[]")  # JSON list of names
    owner_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    set_by: Mapped[str] = mapped_column(sa.String(128), default="")
    set_at: Mapped[datetime]

    owner: Mapped[Agency] = relationship(lazy="joined")


class GrantRow(Base):
    """Read access from an owning agency (grantor) to another (grantee), until ``expires_at``."""

    __tablename__ = "grants"
    id: Mapped[int] = mapped_column(primary_key=True)
    grantor_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    grantee_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    area_kind: Mapped[str] = mapped_column(sa.String(8))  # 'all', 'zone' or 'bbox'
    zone_name: Mapped[str | None] = mapped_column(sa.String(255))
    area_wkb: Mapped[str | None] = mapped_column(sa.Text)  # hex WKB of the zone polygon
    min_lon: Mapped[float | None] = mapped_column(sa.Float)
    min_lat: Mapped[float | None] = mapped_column(sa.Float)
    max_lon: Mapped[float | None] = mapped_column(sa.Float)
    max_lat: Mapped[float | None] = mapped_column(sa.Float)
    event_types: Mapped[str | None] = mapped_column(sa.Text)  # JSON list; null = every type
    include_positions: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    max_marking: Mapped[str] = mapped_column(sa.String(16))
    data_start: Mapped[datetime | None]
    data_end: Mapped[datetime | None]
    expires_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(sa.String(128))
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(sa.String(128))

    grantor: Mapped[Agency] = relationship(foreign_keys=[grantor_agency_id], lazy="joined")
    grantee: Mapped[Agency] = relationship(foreign_keys=[grantee_agency_id], lazy="joined")


class AuditRow(Base):
    """One audit entry; ``hash = sha256(prev_hash || canonical JSON of the entry)``."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    ts: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str | None] = mapped_column(sa.String(128))
    agency: Mapped[str | None] = mapped_column(sa.String(64))
    action: Mapped[str] = mapped_column(sa.String(64))
    resource: Mapped[str] = mapped_column(sa.Text, default="")
    params: Mapped[str] = mapped_column(sa.Text, default="{}")  # canonical JSON text
    status: Mapped[str] = mapped_column(sa.String(32))
    client: Mapped[str | None] = mapped_column(sa.String(255))
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))


class AuditHead(Base):
    """The chain head (a single row, ``id = 1``): last sequence number and its hash."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(sa.BigInteger)
    hash: Mapped[str] = mapped_column(sa.String(64))


class AlertRuleRow(Base):
    """An alert rule of one agency: which events raise an alert (null list: any)."""

    __tablename__ = "alert_rules"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(128), unique=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    event_types: Mapped[str | None] = mapped_column(sa.Text)  # JSON list; null = every type
    zones: Mapped[str | None] = mapped_column(sa.Text)  # JSON list of zone names
    mmsis: Mapped[str | None] = mapped_column(sa.Text)  # JSON list: the rule's own watchlist
    watchlist_id: Mapped[int | None] = mapped_column(sa.Integer)  # a shared watchlist (later)
    min_score: Mapped[float | None] = mapped_column(sa.Float)
    vessel_types: Mapped[str | None] = mapped_column(sa.Text)  # JSON list: codes or labels
    enabled: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(sa.String(128))
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(sa.String(128))

    agency: Mapped[Agency] = relationship(lazy="joined")


class AlertRow(Base):
    """One alert: a rule matched an event. The event's fields are kept (a snapshot updated
    at every raise), so an alert outlives a re-run of detection that drops its event."""

    __tablename__ = "alerts"
    __table_args__ = (
        sa.UniqueConstraint("rule_id", "event_id", name="uq_alerts_rule_event"),
        sa.CheckConstraint(
            "state IN ('new', 'acknowledged', 'assigned', 'closed')", name="state"
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(sa.ForeignKey("alert_rules.id"), index=True)
    event_id: Mapped[str] = mapped_column(sa.String(255), index=True)
    event_type: Mapped[str] = mapped_column(sa.String(32))
    mmsi: Mapped[int | None] = mapped_column(sa.BigInteger)
    other_mmsi: Mapped[int | None] = mapped_column(sa.BigInteger)
    event_start: Mapped[datetime] = mapped_column(index=True)
    event_end: Mapped[datetime | None]
    lat: Mapped[float | None] = mapped_column(sa.Float)
    lon: Mapped[float | None] = mapped_column(sa.Float)
    zone: Mapped[str | None] = mapped_column(sa.String(255))
    score: Mapped[float | None] = mapped_column(sa.Float)
    state: Mapped[str] = mapped_column(sa.String(16))
    raised_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(sa.String(128))
    assigned_to: Mapped[str | None] = mapped_column(sa.String(64))
    assigned_at: Mapped[datetime | None]
    assigned_by: Mapped[str | None] = mapped_column(sa.String(128))
    watch: Mapped[str | None] = mapped_column(sa.String(64))
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(sa.String(128))
    close_reason: Mapped[str | None] = mapped_column(sa.String(32))
    close_note: Mapped[str] = mapped_column(sa.Text, default="")

    rule: Mapped[AlertRuleRow] = relationship(lazy="joined")


class WatchlistRow(Base):
    """A watchlist of one agency, marked like an event (its TLP level and releasable-to list
    decide which partners' grants release it)."""

    __tablename__ = "watchlists"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(128), unique=True)
    source: Mapped[str] = mapped_column(sa.Text, default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    owner_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    marking: Mapped[str] = mapped_column(sa.String(16))
    releasable_to: Mapped[str] = mapped_column(sa.Text, default="[]")  # JSON list of names
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(sa.String(128))
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(sa.String(128))

    owner: Mapped[Agency] = relationship(lazy="joined")


class WatchlistEntryRow(Base):
    """One vessel of a watchlist: any of its identifiers, where the list took it from, why."""

    __tablename__ = "watchlist_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    watchlist_id: Mapped[int] = mapped_column(
        sa.ForeignKey("watchlists.id", ondelete="CASCADE"), index=True)
    name: Mapped[str | None] = mapped_column(sa.String(128))
    imo: Mapped[int | None] = mapped_column(sa.BigInteger)
    callsign: Mapped[str | None] = mapped_column(sa.String(32))
    mmsi: Mapped[int | None] = mapped_column(sa.BigInteger)
    flag: Mapped[str | None] = mapped_column(sa.String(64))
    source: Mapped[str] = mapped_column(sa.Text, default="")
    reason: Mapped[str] = mapped_column(sa.Text, default="")
