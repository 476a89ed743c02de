"""Small portable helpers over SQLite and PostgreSQL."""
from __future__ import annotations

import zlib
from typing import Any

from sqlalchemy import text
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


async def serialize(session: AsyncSession, *parts: object) -> None:
    """Hold a transaction-scoped lock on a name (PostgreSQL advisory lock).

    SQLite needs none: BEGIN IMMEDIATE already serialises writers.
    """
    if session.bind is None or session.bind.dialect.name != "postgresql":
        return
    key = zlib.crc32(repr(parts).encode()) - 2**31
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
