"""Two writers at once, for real: a locked SQLite database makes the update's session retry it
whole, and on PostgreSQL two presses on one ticket queue on its row lock — the second finds the
ticket moved and is refused, nothing is written twice. A change of a ticket's facts (not of its
status) also makes a move prepared on an older read stale."""
from __future__ import annotations

import asyncio
import os
import sqlite3

import pytest
from aiogram.types import Update
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import create_async_engine

from bot.domain.lifecycle import Actor, Refusal, Stale
from bot.services import department_work, transition
from bot.services import dispatch as dispatch_service
from bot.services.access import roles_of
from handlers.middlewares import SessionMiddleware, retryable
from storage import directory, due_scan, tickets
from storage.db import is_transient
from storage.held_rows import HeldWriteFailed
from storage.models import Counter, Person, SeenUpdate, Ticket, TicketEvent
from tests.harness import (ADMIN, CGJ_CHAT, COMMUNITY, COMMUNITY_2, DISPATCHER, HANDLER_A, HANDLER_B, RESIDENT,
                           RESIDENT_2, UNKNOWN_GROUP, World)
from tests.steps import dispatched, refused

ON_POSTGRES = bool(os.environ.get("TEST_DATABASE_URL"))


async def test_an_update_that_meets_a_locked_database_is_retried_whole_and_lands_once(world: World):
    if ON_POSTGRES:
        pytest.skip("SQLite's database lock; PostgreSQL contends per row (the test below)")
    # Another writer with a short busy timeout: while the update's transaction holds the write
    # lock, its INSERT fails with SQLite's real "database is locked".
    other = create_async_engine(world.app.settings.database_url, connect_args={"timeout": 0.1})
    attempts: list[int] = []

    async def handler(event: Update, data: dict) -> str:
        session = data["session"]
        attempts.append(event.update_id)
        await directory.remember_person(session, 777, f"attempt {len(attempts)}", None)
        if len(attempts) == 1:
            async with other.begin() as conn:
                await conn.execute(text("INSERT INTO counters (name, value) VALUES ('elsewhere', 1)"))
        return "handled"

    try:
        result = await SessionMiddleware(world.app)(handler, Update(update_id=424242), {})
    finally:
        await other.dispose()
    assert result == "handled" and attempts == [424242, 424242]
    # The first attempt's writes were rolled back with it; the second one's stand, once.
    person = await world.scalar(select(Person).where(Person.id == 777))
    assert person.full_name == "attempt 2"
    assert await world.scalar(select(func.count()).select_from(SeenUpdate).where(SeenUpdate.update_id == 424242)) == 1
    assert await world.scalar(select(func.count()).select_from(Counter).where(Counter.name == "elsewhere")) == 0


async def _waiting_on_a_lock(world: World) -> int:
    async with world.app.sessions() as s:
        return await s.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                   "AND datname = current_database()"))


async def test_two_accepts_queue_on_the_row_lock_and_the_second_is_refused(world: World):
    if not ON_POSTGRES:
        pytest.skip("needs PostgreSQL (set TEST_DATABASE_URL)")
    async with world.app.sessions() as s:
        t = await tickets.create(s, now=world.app.now(), code_year=2026, status="TRIAGE", kind="help",
                                 urgency="normal", text="垃圾没人清运", reporter_id=RESIDENT, origin_chat_id=COMMUNITY)
        await dispatch_service.dispatch(s, world.app, t.id, None, "cgj", [])
        await world.app.commit(s)
    tid = t.id

    async with world.app.sessions() as first, world.app.sessions() as second:
        await due_scan.lock(first, tid)  # the first press holds the row (FOR NO KEY UPDATE)
        roles_b = await roles_of(second, HANDLER_B)
        late = asyncio.create_task(department_work.accept(second, world.app, tid, roles_b))
        for _ in range(200):  # until the second press really waits on the lock (not a sleep to sync)
            if await _waiting_on_a_lock(world) or late.done():
                break
            await asyncio.sleep(0.02)
        assert not late.done() and await _waiting_on_a_lock(world) >= 1
        await department_work.accept(first, world.app, tid, await roles_of(first, HANDLER_A))
        await world.app.commit(first)
        with pytest.raises(Refusal) as refused:
            await late
        await second.rollback()
    # The refusal names who was first (here by id: the org file gives the person no name).
    assert refused.value.code == "accept.taken" and refused.value.params == {"name": str(HANDLER_A)}
    t = await world.scalar(select(Ticket).where(Ticket.id == tid))
    assert t.status == "ACCEPTED" and t.owner_id == HANDLER_A
    accepted = await world.rows(select(TicketEvent).where(TicketEvent.ticket_id == tid, TicketEvent.kind == "accepted"))
    assert [e.actor_id for e in accepted] == [HANDLER_A]


async def test_a_move_prepared_before_a_change_of_facts_is_refused_as_stale(world: World):
    async with world.app.sessions() as s:
        t = await tickets.create(s, now=world.app.now(), code_year=2026, status="TRIAGE", kind="help",
                                 urgency="normal", text="垃圾没人清运", reporter_id=RESIDENT, origin_chat_id=COMMUNITY)
        await world.app.commit(s)
    tid = t.id
    async with world.app.sessions() as first:
        read = await tickets.get(first, tid)  # a dispatcher's read, before the co-department changes
        await first.commit()
        async with world.app.sessions() as other:
            await dispatch_service.set_co(other, world.app, tid, await roles_of(other, DISPATCHER), "sw")
            await world.app.commit(other)
        with pytest.raises(Stale):
            await transition.move(first, world.app, read, "dispatch", {Actor.DISPATCHER}, event="dispatched",
                                  actor_id=DISPATCHER)
        await first.rollback()
    t = await world.scalar(select(Ticket).where(Ticket.id == tid))
    assert (t.status, t.version, t.route) == ("TRIAGE", 2, {"co": ["sw"]})


async def another_chats_appeal_is_acknowledged(world: World, code: str) -> None:
    """A resident's appeal in a chat of its own is filed and acknowledged (while something else is held)."""
    await world.send(RESIDENT_2, COMMUNITY_2, "@huying_bot 楼道的灯坏了一个星期")
    ack = await world.sb.wait_for_bot_message(COMMUNITY_2, contains=code, timeout=8)
    assert ack["reply_to_message"]["from"]["id"] == RESIDENT_2


async def test_a_press_answered_slowly_by_telegram_holds_no_other_update(world: World):
    # Telegram takes its time over the alert for a forged button. On SQLite every update waits
    # for the one connection an open transaction holds, so the alert is sent after the press's
    # transaction ends: meanwhile a resident's appeal in another chat is filed and acknowledged as
    # usual. (In the press's own chat the next update waits for it: a chat's updates keep their order.)
    hold = world.sb.hold_next("answerCallbackQuery")
    query = await world.sb.press_raw(RESIDENT, COMMUNITY, 1, "garbage!!")
    await asyncio.wait_for(hold.arrived.wait(), timeout=8)
    await another_chats_appeal_is_acknowledged(world, "#2026-000001")
    assert not hold.released.is_set()
    hold.release()
    refused(await world.sb.callback_answer(query), "error.bad_button")
    await world.settle()
    assert await world.scalar(select(func.count()).select_from(SeenUpdate)) == 2


async def test_a_department_members_press_asks_telegram_with_no_transaction_open(world: World):
    # 李承办 is in the department's chat, not named in the org file: getChatMember says whether
    # the press counts. Telegram is slow to answer; meanwhile another chat's appeal is filed.
    card = await dispatched(world, "小区门口垃圾三天没人清运了，臭得很")
    hold = world.sb.hold_next("getChatMember")
    query = await world.sb.press(HANDLER_A, CGJ_CHAT, card["message_id"], "签收")
    await asyncio.wait_for(hold.arrived.wait(), timeout=8)
    assert (hold.params["chat_id"], hold.params["user_id"]) == (CGJ_CHAT, HANDLER_A)
    await another_chats_appeal_is_acknowledged(world, "#2026-000002")
    hold.release()
    await world.sb.callback_answer(query)
    await world.settle()
    assert (await world.scalar(select(Ticket).where(Ticket.id == 1))).status == "ACCEPTED"
    asked = [c.params for c in world.sb.calls if c.method == "getChatMember" and c.params["user_id"] == HANDLER_A]
    assert len(asked) == 1  # before the transaction, and found cached inside it


async def test_a_department_members_duty_command_asks_telegram_with_no_transaction_open(world: World):
    # The same for /duty naming someone: whether 李承办 may set it hangs on getChatMember.
    await world.send(HANDLER_A, CGJ_CHAT, "/duty")  # a bare /duty asks nobody (and start-up's checks are done)
    await world.reply_from_bot(CGJ_CHAT, contains="没有值班人员")
    hold = world.sb.hold_next("getChatMember")
    await world.send(HANDLER_A, CGJ_CHAT, "/duty 20002")
    await asyncio.wait_for(hold.arrived.wait(), timeout=8)
    assert (hold.params["chat_id"], hold.params["user_id"]) == (CGJ_CHAT, HANDLER_A)
    await another_chats_appeal_is_acknowledged(world, "#2026-000001")
    hold.release()
    done = await world.reply_from_bot(CGJ_CHAT, contains="已设置城市管理局值班人员")
    assert "20002" in done["text"]
    asked = [c.params for c in world.sb.calls if c.method == "getChatMember" and c.params["user_id"] == HANDLER_A]
    assert len(asked) == 1


async def test_an_admins_bind_community_asks_telegram_with_no_transaction_open(world: World):
    # Whether privacy mode hides the group's messages hangs on getChatMember for the bot itself.
    await asyncio.gather(*[t for t in asyncio.all_tasks() if t.get_name() == "startup-warnings"])
    world.sb.set_privacy_mode(True)
    world.app.reads_all_group_messages = False  # what getMe says with privacy mode on

    def asked() -> list[dict]:
        return [c.params for c in world.sb.calls if c.method == "getChatMember" and c.params["chat_id"] == UNKNOWN_GROUP]

    await world.send(RESIDENT, UNKNOWN_GROUP, "/bind community xinhe")
    await world.reply_from_bot(UNKNOWN_GROUP, contains="管理员")
    assert asked() == []  # a refusal asks nobody

    hold = world.sb.hold_next("getChatMember")
    await world.send(ADMIN, UNKNOWN_GROUP, "/bind community xinhe")
    await asyncio.wait_for(hold.arrived.wait(), timeout=8)
    assert (hold.params["chat_id"], hold.params["user_id"]) == (UNKNOWN_GROUP, world.app.bot_id)
    await another_chats_appeal_is_acknowledged(world, "#2026-000001")
    hold.release()
    answer = await world.reply_from_bot(UNKNOWN_GROUP, contains="新河街道")
    assert "隐私模式已开启" in answer["text"]
    assert asked() == [{"chat_id": UNKNOWN_GROUP, "user_id": world.app.bot_id}]  # not again inside


def _held_write_failed(cause: Exception) -> HeldWriteFailed:
    try:
        raise HeldWriteFailed() from cause
    except HeldWriteFailed as exc:
        return exc


def test_a_busy_database_met_writing_held_rows_makes_the_update_try_again():
    # Held rows (storage/held_rows.py) are written before the session's next statement; what
    # failed there is told by its cause, so a busy database retries the update as anywhere else.
    locked = OperationalError("INSERT INTO outbox", {}, sqlite3.OperationalError("database is locked"))
    assert is_transient(_held_write_failed(locked)) and retryable(_held_write_failed(locked))
    broken = IntegrityError("INSERT INTO outbox", {}, sqlite3.IntegrityError("FOREIGN KEY constraint failed"))
    assert not retryable(_held_write_failed(broken))  # a bad row fails the same way again
