"""The Alembic migrations build exactly the schema the models describe, run twice harmlessly, and
run as one transaction: a run stopped half-way leaves nothing of itself behind."""
from __future__ import annotations

import asyncio

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from storage.db import alembic_config, migrate
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


async def test_a_run_stopped_half_way_leaves_the_schema_as_it_was_and_the_next_start_finishes(tmp_path):
    # The first start killed during its migration left tables and no alembic_version on SQLite,
    # and every start after failed on "table areas already exists".
    url = await fresh_database(tmp_path)
    await migrate(url)
    await _drop_all(url)  # an empty database, prepared as the bot prepares its file
    cfg = alembic_config(url)
    applied: list[str] = []

    def killed_after_five(ctx, step, heads, run_args) -> None:  # noqa: ANN001
        applied.append(step.up_revision_id)
        if len(applied) == 5:
            raise RuntimeError("the process is gone")

    cfg.attributes["on_version_apply"] = killed_after_five
    with pytest.raises(RuntimeError):
        await asyncio.to_thread(command.upgrade, cfg, "head")
    assert await _tables(url) == set()
    await migrate(url)  # the next start
    assert "tickets" in await _tables(url) and "alembic_version" in await _tables(url)


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    await engine.dispose()
    return names


async def _drop_all(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.execute(text("DROP TABLE alembic_version"))
    await engine.dispose()
