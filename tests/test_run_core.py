"""storage.common.run_core: a prebuilt Core statement in the session's transaction sees what the
session has made but not written, as an ORM statement would (the ORM's pending objects, and the
rows held for one INSERT per table, storage/held_rows.py), and a write on it to a table the
directory copy mirrors drops that copy."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import bindparam, func, select, update

from storage import directory, held_rows, outbox, scan_batch
from storage import tickets as ticket_store
from storage.common import insert_ignore, insert_ignore_prebuilt, run_core
from storage.db import make_engine, make_sessionmaker, migrate
from storage.models import Chat, OutboxMessage, RatingRound, SeenUpdate, Ticket
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


TEXT_OF = select(Ticket.text).where(Ticket.id == bindparam("t"))


async def test_run_core_sees_held_rows_and_pending_objects(sessions):
    async with sessions() as session:
        t = await a_ticket(session, "TRIAGE")
        row = outbox.enqueue(session, chat_id=-100, method="sendMessage", payload={"text": "a"}, now=NOW,
                             ticket_id=t.id)
        assert held_rows.pending(session, row) and row not in session  # held, not in the session
        assert (await run_core(session, ROWS_OF, {"t": t.id})).scalar() == 1
        assert not held_rows.pending(session, row)
        t.text = "路灯又不亮了"  # a change the unit of work has not written
        assert (await run_core(session, TEXT_OF, {"t": t.id})).scalar() == "路灯又不亮了"
        await session.commit()


async def test_held_rows_are_written_at_the_commit_and_dropped_by_a_rollback(sessions):
    async with sessions() as session:
        tid = (await a_ticket(session, "TRIAGE")).id
        await session.commit()
        for text in ("a", "b"):
            outbox.enqueue(session, chat_id=-100, method="sendMessage", payload={"text": text}, now=NOW,
                           ticket_id=tid)
        await session.rollback()
        outbox.enqueue(session, chat_id=-100, method="sendMessage", payload={"text": "c"}, now=NOW, ticket_id=tid)
        outbox.enqueue(session, chat_id=-100, method="sendMessage", payload={"text": "d"}, now=NOW, ticket_id=tid,
                       thread_id=7)
        outbox.enqueue(session, chat_id=-100, method="sendMessage", payload={"text": "e"}, now=NOW, ticket_id=tid)
        await session.commit()
    async with sessions() as session:
        rows = (await session.execute(select(OutboxMessage.payload, OutboxMessage.thread_id)
                                      .order_by(OutboxMessage.id))).all()
    # Made in this order, so queued in it (an outbox row's id is its place in its chat's queue).
    assert [(r[0]["text"], r[1]) for r in rows] == [("c", None), ("d", 7), ("e", None)]


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


async def test_held_rows_go_with_a_session_closed_uncommitted(sessions):
    async with sessions() as session:
        tid = (await a_ticket(session, "TRIAGE")).id
        await session.commit()
        outbox.enqueue(session, chat_id=-100, method="sendMessage", payload={"text": "a"}, now=NOW, ticket_id=tid)
    async with session:  # the same session used again
        await session.commit()
        assert (await run_core(session, ROWS_OF, {"t": tid})).scalar() == 0


async def test_a_created_ticket_is_the_row_as_it_would_be_read_back(sessions):
    async with sessions() as session:
        t = await ticket_store.create(session, now=NOW, code_year=2026, kind="help", status="NEW", text="路灯不亮",
                                      route={"category": "路灯"}, reporter_id=7, origin_chat_id=-100, origin_message_id=3)
        assert (t.rating_round, t.version, t.returns_count, t.channel, t.urgency, t.lead_dept) == (0, 1, 0, "telegram",
                                                                                                   "normal", None)
        assert t in session and not session.new and not session.dirty  # in the session, nothing left to write
        made = {c.key: getattr(t, c.key) for c in Ticket.__table__.columns}
        t.text = "路灯还是不亮"  # an ordinary change of a loaded object: an UPDATE at the flush
        await session.commit()
    async with sessions() as session:
        read = await ticket_store.get(session, t.id)
        assert {c.key: getattr(read, c.key) for c in Ticket.__table__.columns} == {**made, "text": "路灯还是不亮"}
        assert (read.code, read.rating_round) == ("2026-000001", 0)


async def test_a_created_tickets_unset_columns_are_null_and_a_none_takes_the_default(sessions):
    async with sessions() as session:
        t = await ticket_store.create(session, now=NOW, code_year=2026, status="NEW", text="路灯不亮", kind=None)
        await session.commit()
        # As the unit of work wrote it: SQL NULL for a JSON column nobody set (not the JSON text
        # 'null'), the column's default for a field given as None.
        assert (await session.execute(select(Ticket.kind).where(Ticket.id == t.id, Ticket.clock_state.is_(None),
                                                                Ticket.route.is_(None)))).scalar() == "help"
        assert t.kind == "help"


async def test_a_savepoint_undoes_what_was_held_and_made_inside_it_and_keeps_what_came_before(sessions):
    async with sessions() as session:
        tid = (await a_ticket(session, "TRIAGE")).id
        await session.commit()
        outbox.enqueue(session, chat_id=-100, method="sendMessage", payload={"text": "before"}, now=NOW, ticket_id=tid)
        made = []
        with pytest.raises(RuntimeError):
            async with held_rows.savepoint(session):
                made.append(await a_ticket(session, "NEW"))
                await session.execute(select(func.count()).select_from(OutboxMessage))  # writes "before"
                outbox.enqueue(session, chat_id=-100, method="sendMessage", payload={"text": "inside"}, now=NOW,
                               ticket_id=tid)
                raise RuntimeError("refused")
        assert made[0] not in session  # gone with its savepoint, as the unit of work would have it
        again = await a_ticket(session, "NEW")  # SQLite may give it the same id: no clash
        await session.commit()
    async with sessions() as session:
        texts = [p["text"] for p in (await session.execute(select(OutboxMessage.payload))).scalars()]
        ids = list((await session.execute(select(Ticket.id).order_by(Ticket.id))).scalars())
    assert texts == ["before"] and ids == [tid, again.id]
