"""storage.common.run_core: a prebuilt Core statement in the session's transaction sees what the
session has made but not written, as an ORM statement would (the ORM's pending objects, and the
rows a deadline-scan batch holds for its bulk INSERT), and a write on it to a table the directory
copy mirrors drops that copy."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import bindparam, func, select, update

from storage import directory, outbox, scan_batch
from storage import tickets as ticket_store
from storage.common import insert_ignore, insert_ignore_prebuilt, run_core
from storage.db import make_engine, make_sessionmaker, migrate
from storage.models import Chat, OutboxMessage, RatingRound, SeenUpdate
from tests.harness import fresh_database

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)
ROWS_OF = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.ticket_id == bindparam("t"))


@pytest.fixture
async def sessions(tmp_path):
    url = await fresh_database(tmp_path)
    await migrate(url)
    engine = make_engine(url)
    made = make_sessionmaker(engine)
    made.kw["info"]["directory"].check_every = 3600  # only this process's own commits count
    yield made
    await engine.dispose()


async def a_ticket(session, status: str):  # noqa: ANN001, ANN201
    return await ticket_store.create(session, now=NOW, code_year=2026, kind="help", urgency="normal",
                                     status=status, text="路灯不亮", channel="telegram")


async def test_run_core_sees_pending_objects_and_a_scan_batchs_held_rows(sessions):
    async with sessions() as session:
        t = await a_ticket(session, "TRIAGE")
        outbox.enqueue(session, chat_id=-100, method="sendMessage", payload={"text": "a"}, now=NOW,
                       ticket_id=t.id)  # added to the session, not flushed
        assert (await run_core(session, ROWS_OF, {"t": t.id})).scalar() == 1
        await session.commit()

        await scan_batch.open(session, [t.id])  # the scan holds its new rows for one INSERT
        outbox.enqueue(session, chat_id=-100, method="sendMessage", payload={"text": "b"}, now=NOW,
                       ticket_id=t.id)
        assert scan_batch.of(session).new  # held, not in the session
        assert (await run_core(session, ROWS_OF, {"t": t.id})).scalar() == 2
        await session.rollback()


async def test_a_role_granted_and_a_chat_changed_on_the_fast_path_are_seen_at_once(sessions):
    async with sessions() as s:
        await directory.bind_chat(s, -100123, "community", title="before")
        await s.commit()
    async with sessions() as s:  # both now in the copy
        assert (await directory.roles(s, 5), (await directory.chat(s, -100123)).title) == ([], "before")
    async with sessions() as s:
        assert await directory.grant(s, 5, "handler", "roads")
        await run_core(s, update(Chat.__table__).where(Chat.id == bindparam("c")).values(title=bindparam("t")),
                       {"c": -100123, "t": "after"})
        await s.commit()
    async with sessions() as s:
        assert [(r.role, r.scope) for r in await directory.roles(s, 5)] == [("handler", "roads")]
        assert (await directory.chat(s, -100123)).title == "after"


async def test_insert_ignore_in_a_scan_batch_answers_whether_it_wrote(sessions):
    async with sessions() as session:
        t = await a_ticket(session, "RESOLVED")
        await session.commit()
        await scan_batch.open(session, [t.id])
        row = {"ticket_id": t.id, "round": 1, "asked_at": NOW}
        assert [await insert_ignore(session, RatingRound, row), await insert_ignore(session, RatingRound, row)] == [
            True, False]
        assert await insert_ignore_prebuilt(session, SeenUpdate.__table__, {"update_id": 1, "seen_at": NOW})
        await session.rollback()
