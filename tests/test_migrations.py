"""The Alembic migrations build exactly the schema the models describe, and run twice harmlessly."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from storage.db import migrate
from storage.models import Base
from tests.harness import fresh_database


async def test_migrations_match_the_models(tmp_path):
    url = await fresh_database(tmp_path)
    await migrate(url)
    await migrate(url)
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata))
    await engine.dispose()
    assert diff == [], diff
