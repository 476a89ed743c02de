"""Small portable helpers over SQLite and PostgreSQL."""
from __future__ import annotations

import zlib
from typing import Any, Callable, Hashable

from sqlalchemy import CursorResult, Executable, Table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from storage import held_rows
from storage.directory_cache import WATCHED


_PREBUILT: dict[tuple[str, Hashable], Executable] = {}


def dialect_of(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind else "sqlite"


def prebuilt(session: AsyncSession, key: Hashable, build: Callable[[str], Executable]) -> Executable:
    """The statement `build` makes for this session's dialect, built once per process: a statement
    object used again keeps its memoised cache key, where one built per call is made and keyed
    again each time (on an appeal's path that cost as much as running it)."""
    dialect = dialect_of(session)
    stmt = _PREBUILT.get((dialect, key))
    if stmt is None:
        stmt = _PREBUILT[(dialect, key)] = build(dialect)
    return stmt


async def run_core(session: AsyncSession, stmt: Executable,
                   params: dict[str, Any] | list[dict[str, Any]] | None = None) -> CursorResult:
    """A Core statement (built once, with bound parameters) on the session's connection and in its
    transaction, past the ORM's execute: for a statement that returns rows or nothing, not ORM
    objects (bench/sql_overhead.py measures the difference); a list of parameter sets runs it
    once per set (executemany). Pending ORM objects are flushed first, as the ORM's autoflush would."""
    if getattr(getattr(stmt, "table", None), "name", None) in WATCHED:
        # A write to a table the directory copy mirrors drops that copy: the ORM's execute
        # tells it (storage/directory_cache.py).
        return await session.execute(stmt, params or {})  # type: ignore[return-value]
    # One trip into SQLAlchemy's greenlet for the flush, the connection and the statement
    # together, where `flush()`, `AsyncSession.connection()` and `AsyncConnection.execute` made
    # up to three (an update's done mark follows its pending rows every time). Its rows are
    # already read into the result; the driver's cursor is not closed at once, as the async
    # connection did, but goes with the result (its statement has run to the end).
    return await session.run_sync(_on_connection, stmt, params or {})


def _on_connection(sync_session: Session, stmt: Executable, params: dict[str, Any] | list[dict[str, Any]]) -> CursorResult:
    held_rows.write(sync_session)  # what the ORM's execute would have written first (storage/held_rows.py)
    if sync_session.new or sync_session.dirty or sync_session.deleted:
        sync_session.flush()  # what the ORM's autoflush would have written first
    return sync_session.connection().execute(stmt, params)


async def insert_ignore(session: AsyncSession, model: type, values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when a row was written. Through the ORM's execute, so
    the directory copy notices a new role (storage/directory_cache.py) and a scan batch writes its
    held rows first; `insert_ignore_prebuilt` is the path for a table neither cares about."""
    ins = (postgresql.insert if dialect_of(session) == "postgresql" else sqlite.insert)(model).values(**values)
    result = await session.execute(ins.on_conflict_do_nothing())
    return bool(result.rowcount)


def _insert_ignore(table: Table) -> Callable[[str], Executable]:
    def build(dialect: str) -> Executable:
        return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table).on_conflict_do_nothing()
    return build


async def insert_ignore_prebuilt(session: AsyncSession, table: Table, values: dict[str, Any] | list[dict[str, Any]]) -> bool:
    """`insert_ignore` with a statement built once per dialect, on the connection (`run_core`); a
    list of rows is one executemany (its answer then means nothing)."""
    result = await run_core(session, prebuilt(session, ("insert_ignore", table.name), _insert_ignore(table)), values)
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
