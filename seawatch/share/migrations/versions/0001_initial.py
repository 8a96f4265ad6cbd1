"""Initial state schema: agencies, users, credentials, throttling, markings, grants, audit.

Revision ID: 0001
Revises:
Create Date: 2026-01-15
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create every table and the audit chain's head row."""
    op.create_table(
        "settings",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_settings"),
    )
    op.create_table(
        "agencies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("is_host", sa.Boolean(), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_agencies"),
        sa.UniqueConstraint("name", name="uq_agencies_name"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        _ts("created_at"),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.CheckConstraint(
            "role IN ('admin', 'analyst', 'watch_officer', 'partner_viewer')",
            name="ck_users_role",
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name="fk_users_agency_id_agencies"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    op.create_index("ix_users_agency_id", "users", ["agency_id"])
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        _ts("created_at"),
        sa.Column("created_by", sa.String(128), nullable=False),
        _ts("expires_at", nullable=True),
        _ts("revoked_at", nullable=True),
        sa.Column("revoked_by", sa.String(128), nullable=True),
        _ts("last_used_at", nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_api_tokens_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_hash", sa.String(64), nullable=False),
        sa.Column("csrf_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        _ts("created_at"),
        _ts("expires_at"),
        _ts("last_seen_at"),
        _ts("ended_at", nullable=True),
        sa.Column("client", sa.String(255), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_web_sessions_user_id_users"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_web_sessions"),
        sa.UniqueConstraint("session_hash", name="uq_web_sessions_session_hash"),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    op.create_table(
        "auth_throttle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        _ts("window_start"),
        _ts("locked_until", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_auth_throttle"),
        sa.UniqueConstraint("scope", "key", name="uq_auth_throttle_scope_key"),
    )
    op.create_table(
        "markings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("object_id", sa.String(255), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("releasable_to", sa.Text(), nullable=False),
        sa.Column("owner_agency_id", sa.Integer(), nullable=False),
        sa.Column("set_by", sa.String(128), nullable=False),
        _ts("set_at"),
        sa.CheckConstraint(
            "kind IN ('event', 'alert', 'zone', 'export')", name="ck_markings_kind"
        ),
        sa.ForeignKeyConstraint(
            ["owner_agency_id"], ["agencies.id"], name="fk_markings_owner_agency_id_agencies"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_markings"),
        sa.UniqueConstraint("kind", "object_id", name="uq_markings_kind_object"),
    )
    op.create_table(
        "grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grantor_agency_id", sa.Integer(), nullable=False),
        sa.Column("grantee_agency_id", sa.Integer(), nullable=False),
        sa.Column("area_kind", sa.String(8), nullable=False),
        sa.Column("zone_name", sa.String(255), nullable=True),
        sa.Column("area_wkb", sa.Text(), nullable=True),
        sa.Column("min_lon", sa.Float(), nullable=True),
        sa.Column("min_lat", sa.Float(), nullable=True),
        sa.Column("max_lon", sa.Float(), nullable=True),
        sa.Column("max_lat", sa.Float(), nullable=True),
        sa.Column("event_types", sa.Text(), nullable=True),
        sa.Column("include_positions", sa.Boolean(), nullable=False),
        sa.Column("max_marking", sa.String(16), nullable=False),
        _ts("data_start", nullable=True),
        _ts("data_end", nullable=True),
        _ts("expires_at"),
        sa.Column("note", sa.Text(), nullable=False),
        _ts("created_at"),
        sa.Column("created_by", sa.String(128), nullable=False),
        _ts("revoked_at", nullable=True),
        sa.Column("revoked_by", sa.String(128), nullable=True),
        sa.ForeignKeyConstraint(
            ["grantor_agency_id"], ["agencies.id"], name="fk_grants_grantor_agency_id_agencies"
        ),
        sa.ForeignKeyConstraint(
            ["grantee_agency_id"], ["agencies.id"], name="fk_grants_grantee_agency_id_agencies"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_grants"),
    )
    op.create_index("ix_grants_grantor_agency_id", "grants", ["grantor_agency_id"])
    op.create_index("ix_grants_grantee_agency_id", "grants", ["grantee_agency_id"])
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        _ts("ts"),
        sa.Column("actor", sa.String(128), nullable=True),
        sa.Column("agency", sa.String(64), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("resource", sa.Text(), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("client", sa.String(255), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_ts", "audit_log", ["ts"])
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_head"),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS_HASH}])


def downgrade() -> None:
    """Drop every table (loses the state)."""
    for table in (
        "audit_head", "audit_log", "grants", "markings", "auth_throttle", "web_sessions",
        "api_tokens", "users", "agencies", "settings",
    ):
        op.drop_table(table)
