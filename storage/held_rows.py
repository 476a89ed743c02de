"""New rows nobody reads back by id — ticket events, outbox messages, SLA cards — written together.

The ORM's unit of work inserts each new object on its own and, on SQLite, reads its id back, with
a flush's bookkeeping around it: an appeal's 'created' event and its acknowledgement cost more
that way than the statements that find, number and insert the ticket itself. So these rows are
held here (`hold`, in ``session.info``) and written with one Core INSERT per table and set of
columns (executemany when several) at the last moment they can be: just before the session runs
its next statement — through the ORM (`do_orm_execute`) or `storage.common.run_core` — and at
its commit. Every query therefore sees them, as it would after the ORM's autoflush.

What this asks of the callers: a held row is not in the session. Changing one of its attributes
reaches the INSERT only while it is still held (`pending`); after that, the row is changed with
an UPDATE like any other (storage/sla_cards.py `turn_red`). Its ``id`` is never set. A rollback
drops what is held with the rest of the transaction.

A savepoint goes through `savepoint()`: the rows held before it are written first (they belong to
the enclosing transaction, and a rollback to the savepoint would take them too), and a rollback
to it drops the rows held inside it. A ticket inserted past the unit of work (`tickets.create`,
registered with `made`) is taken out of the session with it, as the unit of work does for an
object it inserted.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

KEY = "held_rows"
MADE = "made_rows"  # objects put in the session as read back right after their own INSERT


class HeldWriteFailed(Exception):
    """Writing the held rows failed. They may come from any earlier step of the transaction, so
    the statement that happened to run next is not to blame (the cause is chained)."""


def hold(session: AsyncSession | Session, row: Any) -> None:
    """Keep a new row (a mapped object, not added to the session) for the next write."""
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    if not sync.in_transaction():
        # As `add()` would: the rows then go with this transaction, also when it is rolled back
        # or the session closed before any statement ran (with no transaction, neither does
        # anything to tell of).
        sync.begin()
    sync.info.setdefault(KEY, []).append(row)


def pending(session: AsyncSession | Session, row: Any) -> bool:
    """Whether ``row`` is held and not written yet (changes to it still reach the INSERT)."""
    return any(r is row for r in session.info.get(KEY, ()))


def made(session: AsyncSession | Session, obj: Any) -> None:
    """An object put in the session as read back just after its own INSERT: `savepoint` rolled
    back takes it out again."""
    session.info.setdefault(MADE, []).append(obj)


@asynccontextmanager
async def savepoint(session: AsyncSession) -> AsyncIterator[None]:
    """A SAVEPOINT around one operation whose failure undoes only what it wrote (see above)."""
    if session.info.get(KEY):
        await session.run_sync(write)
    made_before = len(session.info.get(MADE, ()))
    try:
        async with session.begin_nested():
            yield
    except BaseException:
        session.info.pop(KEY, None)
        undone = session.info.get(MADE, [])
        for obj in undone[made_before:]:
            if obj in session:
                session.expunge(obj)
        del undone[made_before:]
        raise


@cache
def _columns(model: type) -> frozenset[str]:
    return frozenset(attr.key for attr in inspect(model).column_attrs)


def write(session: Session) -> None:
    """The held rows, in the order they were made: one INSERT per table and set of columns."""
    rows = session.info.pop(KEY, None)
    if not rows:
        return
    # Per table, runs of rows with the same columns, so a table's rows keep their order (an outbox
    # row's id is its place in its chat's queue). Tables refer to none of each other's new rows.
    runs: dict[type, list[tuple[frozenset[str], list[dict[str, Any]]]]] = {}
    for row in rows:
        model = type(row)
        values = {k: v for k, v in vars(row).items() if k in _columns(model)}
        keys, table_runs = frozenset(values), runs.setdefault(model, [])
        if table_runs and table_runs[-1][0] == keys:
            table_runs[-1][1].append(values)
        else:
            table_runs.append((keys, [values]))
    try:
        connection = session.connection()
        for model, table_runs in runs.items():
            for _keys, values_list in table_runs:
                connection.execute(insert(model.__table__), values_list)  # type: ignore[attr-defined]
    except Exception as exc:
        raise HeldWriteFailed() from exc


@event.listens_for(Session, "do_orm_execute")
def _before_statement(state: ORMExecuteState) -> None:
    if KEY in state.session.info:
        write(state.session)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if KEY in session.info:
        write(session)


@event.listens_for(Session, "after_transaction_end")
def _drop(session: Session, transaction: SessionTransaction) -> None:
    # After a commit nothing is left; after a rollback, or a close with the transaction open,
    # what is held goes with the rest.
    if transaction.parent is None:
        session.info.pop(KEY, None)
        session.info.pop(MADE, None)
