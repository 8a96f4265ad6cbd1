"""Alembic migrations of the operational state (run by :func:`seawatch.share.db.upgrade`)."""
