"""Small portable helpers over SQLite and PostgreSQL."""
from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_ignore(session: AsyncSession, model: type, values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when a row was written."""
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model).values(**values)
    result = await session.execute(ins.on_conflict_do_nothing())
    return bool(result.rowcount)


async def upsert(session: AsyncSession, model: type, values: dict[str, Any], keys: list[str], update: list[str]) -> None:
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model).values(**values)
    if update:
        ins = ins.on_conflict_do_update(index_elements=keys, set_={k: ins.excluded[k] for k in update})
    else:
        ins = ins.on_conflict_do_nothing(index_elements=keys)
    await session.execute(ins)
