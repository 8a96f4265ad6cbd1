"""Alembic environment: run the migrations on the connection ``seawatch.share.db`` passes.

Alembic executes this file; importing it anywhere else (a doctest collector) does nothing.
"""

from __future__ import annotations

from alembic import context

from seawatch.share.db import VERSION_TABLE, make_engine
from seawatch.share.models import Base


def run_migrations() -> None:
    """Configure the migration context and run the pending migrations."""
    config = context.config
    version_table = config.get_main_option("version_table") or VERSION_TABLE
    if context.is_offline_mode():  # ``alembic upgrade --sql``: print the SQL
        context.configure(
            url=config.get_main_option("sqlalchemy.url"),
            target_metadata=Base.metadata,
            literal_binds=True,
            version_table=version_table,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    engine = None
    if connection is None:
        engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
        connection = engine.connect()
    try:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            version_table=version_table,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    finally:
        if engine is not None:
            connection.commit()
            connection.close()
            engine.dispose()


if hasattr(context, "config"):  # only when Alembic runs this file
    run_migrations()
