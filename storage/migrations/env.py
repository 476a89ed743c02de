"""Alembic environment: async engines, our models' metadata."""
from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import create_async_engine

from storage.models import Base

config = context.config
target_metadata = Base.metadata
MIGRATION_LOCK = 0x68757969  # "huyi": one key for the schema's migrations across instances


def _run(connection) -> None:  # noqa: ANN001
    # One transaction for the whole run on both backends: a process killed half-way through (the
    # first start included) leaves the schema as it was, and the next start runs it all again.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      transactional_ddl=True, on_version_apply=config.attributes.get("on_version_apply"))
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Instances started together (a scaled deploy) migrate one after the other: the next
            # one waits here, then finds the schema at head. SQLite's BEGIN serialises them already.
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        context.run_migrations()


def _sqlite_transactions(engine: Engine) -> None:
    """SQLite can roll DDL back, but Python's sqlite3 opens a transaction only before DML: each
    CREATE was committed at once, and a kill -9 during the first start left tables and no
    alembic_version ("table areas already exists" at every start after). Driver autocommit and
    our own BEGIN make the run one transaction (SQLAlchemy's recipe for SQLite)."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:  # noqa: ANN001
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:  # noqa: ANN001
        conn.exec_driver_sql("BEGIN")


async def _online() -> None:
    engine = create_async_engine(config.get_main_option("sqlalchemy.url"))
    if engine.dialect.name == "sqlite":
        _sqlite_transactions(engine.sync_engine)
    async with engine.connect() as conn:
        await conn.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_online())
