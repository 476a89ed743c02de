"""The directory copy: cached reads run no SQL, and every committed change is seen — in the same
process at once, in another instance at its next version check."""
from __future__ import annotations

from sqlalchemy import event, select

from storage import directory
from storage.db import make_engine, make_sessionmaker, migrate
from storage.models import Chat, Person
from tests.harness import fresh_database

GROUP, USER = -100123, 777


class Statements:
    def __init__(self, engine) -> None:  # noqa: ANN001
        self.seen: list[str] = []
        event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, *args) -> None:  # noqa: ANN001, ARG002
        self.seen.append(statement.split()[0].upper() + " " + statement.split("FROM ")[-1].split()[0]
                         if statement.upper().startswith("SELECT") else statement.split()[0].upper())


async def _world(tmp_path):  # noqa: ANN202
    url = await fresh_database(tmp_path)
    await migrate(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    sessions.kw["info"]["directory"].check_every = 3600  # only this process's own commits count
    async with sessions() as s:
        await directory.bind_chat(s, GROUP, "community", title="before")
        await s.commit()
    return engine, sessions


async def test_a_cached_chat_costs_no_statement_and_a_change_is_seen_at_once(tmp_path):
    engine, sessions = await _world(tmp_path)
    async with sessions() as s:
        assert (await directory.chat(s, GROUP)).title == "before"
    counted = Statements(engine)
    async with sessions() as s:
        assert (await directory.chat(s, GROUP)).kind == "community"
        assert await directory.chat(s, 42) is None  # an unknown chat is looked up once
        assert await directory.chat(s, 42) is None
    assert [q for q in counted.seen if q.startswith("SELECT")] == ["SELECT chats"]
    async with sessions() as s:
        await directory.bind_chat(s, GROUP, "dispatch", title="after")
        await s.commit()
    async with sessions() as s:
        got = await directory.chat(s, GROUP)
        assert (got.kind, got.title) == ("dispatch", "after")
        assert [c.id for c in await directory.chats_of_kind(s, "dispatch")] == [GROUP]
    await engine.dispose()


async def test_a_change_made_through_a_cached_object_is_written(tmp_path):
    engine, sessions = await _world(tmp_path)
    async with sessions() as s:
        await directory.chat(s, GROUP)  # now cached
    async with sessions() as s:
        (await directory.chat(s, GROUP)).active = False
        await s.commit()
    async with sessions() as s:
        assert (await s.scalar(select(Chat.active).where(Chat.id == GROUP))) is False
        assert (await directory.chat(s, GROUP)).active is False
    await engine.dispose()


async def test_another_instance_sees_a_change_at_its_next_check(tmp_path):
    engine, sessions = await _world(tmp_path)
    other = make_sessionmaker(engine)  # a second App (another process) on the same database
    other_cache = other.kw["info"]["directory"]
    async with other() as s:
        assert (await directory.chat(s, GROUP)).title == "before"
    async with sessions() as s:
        await directory.bind_chat(s, GROUP, "community", title="renamed by an admin")
        await s.commit()
    async with other() as s:
        assert (await directory.chat(s, GROUP)).title == "before"  # within its check interval
    other_cache._checked_at = float("-inf")  # the interval has passed
    async with other() as s:
        assert (await directory.chat(s, GROUP)).title == "renamed by an admin"
    await engine.dispose()


async def test_a_person_is_written_only_when_their_name_changed(tmp_path):
    engine, sessions = await _world(tmp_path)
    counted = Statements(engine)
    for name in ("Zhang", "Zhang", "Zhang Wei"):
        async with sessions() as s:
            await directory.remember_person(s, USER, name, "zw")
            await s.commit()
    assert sum(q == "INSERT" for q in counted.seen) == 2
    async with sessions() as s:
        assert (await s.get(Person, USER)).full_name == "Zhang Wei"
    await engine.dispose()


async def test_a_rolled_back_write_is_not_remembered(tmp_path):
    engine, sessions = await _world(tmp_path)
    async with sessions() as s:
        await directory.remember_person(s, USER, "Li", None)
        await s.rollback()
    async with sessions() as s:
        await directory.remember_person(s, USER, "Li", None)
        await s.commit()
    async with sessions() as s:
        assert (await s.get(Person, USER)).full_name == "Li"
    await engine.dispose()
