"""An in-process copy of what does not change from one update to the next: chats, departments,
areas and people's roles (read on every appeal), and the names people were last recorded with.

Every session made by `storage.db.make_sessionmaker` carries the App's cache in
``session.info``. Reads go through `storage.directory`, which hands out session-bound ORM objects
built from the copy (no SQL); writers notice nothing.

Invalidation, without any caller's help:
- a session that changes one of those tables (ORM unit of work, or an ORM UPDATE/DELETE/INSERT
  such as a yellow-card streak) stops using the copy at once, and when it commits the copy is
  dropped and the ``directory`` counters row is bumped;
- other instances read that counters row at most once a second and drop their copy when it
  moved, so an admin's change reaches every instance within a second;
- a read that raced with a commit (the copy was dropped meanwhile) is not kept.

Not part of the copy's promise: the departments' card streaks (``yellow_streak``, ``red_streak``).
They change with every yellow or red card — a deadline scan would drop everyone's copy each time
— so their UPDATEs carry the ``COUNTERS_ONLY`` execution option and leave the copy alone, and
they are read with SQL (`storage.sla_cards.streak`, `storage.supervision.card_history`), never
from a Department the directory hands out.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

from sqlalchemy import event, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from storage.models import Counter
from storage.object_builder import as_loaded

WATCHED = frozenset({"chats", "departments", "areas", "person_roles"})
VERSION_ROW = "directory"
CHANGED = "directory_changed"  # session.info flag: this transaction wrote a watched table
PEOPLE_WRITTEN = "people_written"  # session.info: names recorded in this transaction
ADOPTED = "directory_adopted"  # session.info: the objects adopted from the copy, held strongly
MISSING = object()
COUNTERS_ONLY = {"directory_counters_only": True}  # execution options of a streak-only UPDATE


class DirectoryCache:
    def __init__(self, check_every: float = 1.0, people: int = 20_000) -> None:
        self.check_every = check_every
        self.generation = 0  # bumped whenever the copy is dropped
        self._entries: dict[Any, Any] = {}
        self._version: int | None = None
        self._checked_at = float("-inf")
        self._people: OrderedDict[int, tuple] = OrderedDict()
        self._people_limit = people

    def clear(self) -> None:
        self._entries.clear()
        self.generation += 1

    def get(self, key: Any) -> Any:
        return self._entries.get(key, MISSING)

    def put(self, key: Any, value: Any, generation: int) -> None:
        if generation == self.generation:  # nothing was committed since the read began
            self._entries[key] = value

    async def check(self, session: AsyncSession) -> None:
        """Drop the copy when another instance committed a change (looked at once a second)."""
        now = time.monotonic()
        if now - self._checked_at < self.check_every:
            return
        version = (await session.execute(select(Counter.value).where(Counter.name == VERSION_ROW))).scalar()
        self._checked_at = now
        if version != self._version:
            self._version = version
            self.clear()

    # --- people -------------------------------------------------------------------------
    def person_unchanged(self, user_id: int, values: tuple) -> bool:
        if self._people.get(user_id) != values:
            return False
        self._people.move_to_end(user_id)
        return True

    def people_written(self, written: dict[int, tuple]) -> None:
        for user_id, values in written.items():
            self._people[user_id] = values
            self._people.move_to_end(user_id)
        while len(self._people) > self._people_limit:
            self._people.popitem(last=False)

    def forget_people(self) -> None:
        self._people.clear()


def cache_of(session: AsyncSession) -> DirectoryCache | None:
    """The copy this session may use, or None (no cache, or the session changed the directory)."""
    cache = session.info.get("directory")
    if cache is None or session.info.get(CHANGED):
        return None
    return cache


def snapshot(obj: Any) -> dict[str, Any]:
    return {attr.key: getattr(obj, attr.key) for attr in inspect(type(obj)).column_attrs}


def adopt(session: AsyncSession, model: type, values: dict[str, Any]) -> Any:
    """A session-bound instance from a snapshot, without SQL; the session's own copy wins."""
    sync = session.sync_session
    key = identity_key(model, tuple(values[c.key] for c in inspect(model).primary_key))
    existing = sync.identity_map.get(key)
    if existing is not None:
        return existing
    obj = as_loaded(sync, model, values)
    # The identity map holds objects weakly: keep this one for the session's life, or the next
    # read of the same row (a batch of the scan reads its chats hundreds of times) builds it again.
    session.info.setdefault(ADOPTED, []).append(obj)
    return obj


# --- noticing changes (events on every Session; sessions without a cache are skipped) -------------
def _mark(session: Session) -> None:
    cache = session.info.get("directory")
    if cache is not None:
        session.info[CHANGED] = True
        cache.clear()


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    if "directory" not in session.info or session.info.get(CHANGED):
        return
    for obj in (*session.new, *session.dirty, *session.deleted):
        if getattr(obj, "__tablename__", None) in WATCHED:
            _mark(session)
            return


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: Any) -> None:
    if "directory" not in state.session.info or not (state.is_update or state.is_delete or state.is_insert):
        return
    if state.execution_options.get("directory_counters_only"):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in WATCHED:
        _mark(state.session)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if "directory" not in session.info:
        return
    if session.new or session.dirty or session.deleted:
        session.flush()  # commit would flush after this event: see the changes now
    if not session.info.get(CHANGED):
        return
    bumped = session.execute(update(Counter).where(Counter.name == VERSION_ROW)
                             .values(value=Counter.value + 1)).rowcount
    if not bumped:
        _insert_version(session)


def _insert_version(session: Session) -> None:
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(Counter).values(name=VERSION_ROW, value=1).on_conflict_do_nothing())


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    cache = session.info.get("directory")
    if cache is None:
        return
    if session.info.pop(CHANGED, False):
        cache.clear()
        cache._checked_at = float("-inf")  # our own bump is news too: read the version again
    if written := session.info.pop(PEOPLE_WRITTEN, None):
        cache.people_written(written)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(CHANGED, None)
    session.info.pop(PEOPLE_WRITTEN, None)

