"""A ticket's rating round is read back right on SQLite whatever other tickets were rated (DESIGN §4).

A transition's UPDATE reads the round back in its RETURNING. The round was correlated on the bare
column name ``id``, which inside SQLite's RETURNING meant ``rating_rounds.id``: another ticket's
round. With ticket 1 rated and ticket 3 reopened, ticket 3's second result question carried the
round its first rating had been filed under, and the reporter's second rating was refused as
given already (the ticket then never closed). PostgreSQL names the columns in full and was right.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from storage import ledger_rows
from storage.models import RatingRound, Ticket
from tests.harness import CGJ_CHAT, COMMUNITY, HANDLER_A, RESIDENT_2, ZJJ_CHAT, World
from tests.steps import accept, dispatched, has_button, press, rate, resolve, showing


async def test_the_second_round_of_a_reopened_ticket_is_rated(world: World):
    c1 = await dispatched(world, "小区门口垃圾没人清运", CGJ_CHAT)
    await accept(world, HANDLER_A, CGJ_CHAT, c1)
    await rate(world, await resolve(world, HANDLER_A, CGJ_CHAT, c1, "已清运"), "非常满意")  # rating_rounds.id 1
    await dispatched(world, "小区电梯坏了一周没人修", ZJJ_CHAT)  # ticket 2 stays open
    c3 = await dispatched(world, "菜市场垃圾桶满了有异味", CGJ_CHAT, user=RESIDENT_2)
    await accept(world, HANDLER_A, CGJ_CHAT, c3)
    await press(world, RESIDENT_2, COMMUNITY, await resolve(world, HANDLER_A, CGJ_CHAT, c3, "已增加垃圾桶"), "不满意")
    await press(world, RESIDENT_2, COMMUNITY, await showing(world, COMMUNITY, "办理太慢"), "办理太慢")
    card = await world.reply_from_bot(CGJ_CHAT, contains="办理太慢")
    await press(world, HANDLER_A, CGJ_CHAT, card, "办结")
    prompt = await world.reply_from_bot(CGJ_CHAT, contains="办理结果")
    await world.send(HANDLER_A, CGJ_CHAT, "每天清运两次", reply_to=prompt["message_id"])
    await world.settle()
    question = [m for m in world.sb.bot_messages(COMMUNITY)
                if "#2026-000003" in m.get("text", "") and has_button("非常满意")(m)][-1]
    answer = await press(world, RESIDENT_2, COMMUNITY, question, "比较满意")
    assert answer.get("text") == "谢谢您的评价！", answer
    rounds = [(r.ticket_id, r.round, r.result_level) for r in await world.rows(select(RatingRound).order_by(RatingRound.id))]
    assert rounds == [(1, 1, 4), (3, 1, 1), (3, 2, 3)]
    t3 = await world.scalar(select(Ticket).where(Ticket.id == 3))
    assert (t3.status, t3.close_reason, t3.rating_round) == ("CLOSED", "satisfied", 2)

    # The 满意度评价表: each rating beside the result it judged, not the ticket's latest result.
    async with world.app.sessions() as s:
        rows = await ledger_rows.rated(s, world.clock() - timedelta(days=1), world.clock() + timedelta(days=1))
    assert [(r.code, r.level, r.result_text) for r in rows] == [
        ("2026-000001", 4, "已清运"), ("2026-000003", 1, "已增加垃圾桶"), ("2026-000003", 3, "每天清运两次")]
