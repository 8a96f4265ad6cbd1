"""Alert rules and alerts (issue 15: the watch's workflow).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create ``alert_rules`` and ``alerts``."""
    op.create_table(
        "alert_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("event_types", sa.Text(), nullable=True),
        sa.Column("zones", sa.Text(), nullable=True),
        sa.Column("mmsis", sa.Text(), nullable=True),
        sa.Column("watchlist_id", sa.Integer(), nullable=True),
        sa.Column("min_score", sa.Float(), nullable=True),
        sa.Column("vessel_types", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        _ts("created_at"),
        sa.Column("created_by", sa.String(128), nullable=False),
        _ts("updated_at"),
        sa.Column("updated_by", sa.String(128), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name="fk_alert_rules_agency_id_agencies"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_alert_rules"),
        sa.UniqueConstraint("name", name="uq_alert_rules_name"),
    )
    op.create_index("ix_alert_rules_agency_id", "alert_rules", ["agency_id"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("mmsi", sa.BigInteger(), nullable=True),
        sa.Column("other_mmsi", sa.BigInteger(), nullable=True),
        _ts("event_start"),
        _ts("event_end", nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("zone", sa.String(255), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        _ts("raised_at"),
        _ts("updated_at"),
        _ts("acknowledged_at", nullable=True),
        sa.Column("acknowledged_by", sa.String(128), nullable=True),
        sa.Column("assigned_to", sa.String(64), nullable=True),
        _ts("assigned_at", nullable=True),
        sa.Column("assigned_by", sa.String(128), nullable=True),
        sa.Column("watch", sa.String(64), nullable=True),
        _ts("closed_at", nullable=True),
        sa.Column("closed_by", sa.String(128), nullable=True),
        sa.Column("close_reason", sa.String(32), nullable=True),
        sa.Column("close_note", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "state IN ('new', 'acknowledged', 'assigned', 'closed')", name="ck_alerts_state"
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["alert_rules.id"], name="fk_alerts_rule_id_alert_rules"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
        sa.UniqueConstraint("rule_id", "event_id", name="uq_alerts_rule_event"),
    )
    op.create_index("ix_alerts_rule_id", "alerts", ["rule_id"])
    op.create_index("ix_alerts_event_id", "alerts", ["event_id"])
    op.create_index("ix_alerts_event_start", "alerts", ["event_start"])


def downgrade() -> None:
    """Drop the alerts and their rules."""
    op.drop_table("alerts")
    op.drop_table("alert_rules")
