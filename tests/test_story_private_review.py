"""Residents and businesses in a private chat with the bot: a reason typed without a reply, yesterday's draft, a long
appeal, a file, an album and a place in the guided flow, a rating after the bot was blocked."""
from __future__ import annotations

from sqlalchemy import select

from storage.models import Draft, Ticket
from tests.harness import CGJ_CHAT, DISPATCH_CHAT, DISPATCHER, HANDLER_A, RESIDENT, World
from tests.steps import ZH, accept, has_button, press, submit_result

OLD = "我家楼下的下水道堵了，污水漫到路上"
NEW = "小区东门的路灯坏了一个星期，晚上很黑"


async def test_coming_back_the_next_day_does_not_glue_a_new_problem_onto_yesterdays_draft(world: World):
    # Monday: the resident describes the blocked drain, is asked for photos, and goes silent.
    await world.send(RESIDENT, RESIDENT, OLD)
    await world.reply_from_bot(RESIDENT, contains="照片")
    # Tuesday: something else has gone wrong; they write about it.
    world.clock.advance(days=1)
    await world.send(RESIDENT, RESIDENT, NEW)
    await world.settle()
    d = await world.scalar(select(Draft).where(Draft.user_id == RESIDENT))
    # Yesterday's half-finished draft must not become the start of today's appeal: the drain and the
    # street lamp are two matters for two departments.
    assert d.text == NEW, d.text


async def resolved_in_private(world: World, text: str = "小区门口垃圾三天没人清运了，异味很大") -> dict:
    """A private /appeal, 派单, 签收 and 办结; returns the rating question in the private chat."""
    await world.send(RESIDENT, RESIDENT, f"/appeal {text}")
    await world.reply_from_bot(RESIDENT, contains="#2026-000001")
    card = await world.reply_from_bot(DISPATCH_CHAT, predicate=has_button("派单"))
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    dept_card = await world.reply_from_bot(CGJ_CHAT, predicate=has_button("签收"))
    await accept(world, HANDLER_A, CGJ_CHAT, dept_card)
    await submit_result(world, HANDLER_A, CGJ_CHAT, dept_card, "已清运完毕")
    return await world.reply_from_bot(RESIDENT, predicate=has_button("不满意"))


async def test_the_reason_for_unsatisfied_typed_in_private_is_the_reason_not_a_new_appeal(world: World):
    question = await resolved_in_private(world)
    await press(world, RESIDENT, RESIDENT, question, "不满意")
    await world.reply_from_bot(RESIDENT, contains="原因")
    # In a private chat there is one conversation: the resident just types why, without "reply".
    await world.send(RESIDENT, RESIDENT, "根本没有清理，垃圾还在门口堆着")
    await world.settle()
    t = await world.scalar(select(Ticket).where(Ticket.code == "2026-000001"))
    assert t.status == "REOPENED", t.status
    assert any("根本没有清理" in (m.get("text") or "") for m in world.sb.bot_messages(CGJ_CHAT))
    # ... and no guided appeal was started with the reason as its description.
    assert await world.scalar(select(Draft).where(Draft.user_id == RESIDENT)) is None
    assert not [m for m in world.sb.bot_messages(RESIDENT) if m["text"] == ZH("flow.ask_photos")]


LONG = ("小区门口的垃圾已经三天没人清运了，" + "天气热，垃圾桶周围苍蝇很多，气味非常难闻，老人孩子进出都要捂着鼻子，" * 18
        + "具体位置：幸福路88号北门东侧的三个绿色垃圾桶。")


async def test_a_long_appeal_reaches_the_department_whole(world: World):
    assert 600 < len(LONG) < 4096  # one Telegram message
    await world.send(RESIDENT, RESIDENT, f"/appeal {LONG}")
    await world.reply_from_bot(RESIDENT, contains="#2026-000001")
    card = await world.reply_from_bot(DISPATCH_CHAT, predicate=has_button("派单"))
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    await world.reply_from_bot(CGJ_CHAT, predicate=has_button("签收"))
    # The handler going out looks it up as well.
    await world.send(HANDLER_A, CGJ_CHAT, "/ticket 2026-000001")
    await world.reply_from_bot(CGJ_CHAT, contains="工单 #2026-000001")
    await world.settle()
    seen = "\n".join(world.sb.message(CGJ_CHAT, m["message_id"]).get("text") or "" for m in world.sb.bot_messages(CGJ_CHAT))
    # Where exactly the bins are is the last sentence of what the resident wrote: it must reach the
    # department somewhere in its chat (the card cuts at 500 characters, /ticket at 300).
    assert "幸福路88号" in seen, seen[-400:]


async def test_a_file_sent_in_the_guided_flow_is_not_dropped_in_silence(world: World):
    # A business owner sends the inspection notice as a PDF, with the problem in its caption.
    await world.send(RESIDENT, RESIDENT, document=True, caption="楼下餐馆油烟直排，已经投诉过物业没有用，附上检测报告")
    await world.settle()
    said = [m["text"] for m in world.sb.bot_messages(RESIDENT)]
    # As in a reply to an acknowledgement (README, "What residents add"): told the file cannot be passed on.
    assert ZH("intake.media_not_kept") in said, said


async def test_a_location_sent_before_it_was_asked_for_is_not_asked_for_again(world: World):
    await world.send(RESIDENT, RESIDENT, OLD)
    photos = await world.reply_from_bot(RESIDENT, contains="照片")
    # The resident shares where it is straight away, before the bot got to the place question.
    await world.send(RESIDENT, RESIDENT, location=(22.50, 113.93))
    await world.settle()
    latest = world.sb.bot_messages(RESIDENT)[-1]
    await world.sb.press(RESIDENT, RESIDENT, latest["message_id"], "跳过")
    await world.settle()
    after = [m["text"] for m in world.sb.bot_messages(RESIDENT) if m["message_id"] > photos["message_id"]]
    # The place is on the draft already: asking "请发送位置" again reads as if it was lost.
    assert ZH("flow.ask_location") not in after, after
    assert after[-1] == ZH("flow.ask_area"), after


async def test_an_album_in_the_photos_step_is_answered_once_not_once_per_photo(world: World):
    await world.send(RESIDENT, RESIDENT, OLD)
    ask = await world.reply_from_bot(RESIDENT, contains="照片")
    await world.sb.user_sends_album(RESIDENT, RESIDENT, count=4)
    await world.reply_from_bot(RESIDENT, contains="张照片")  # held as long as an album's acknowledgement
    await world.settle()
    counts = [shown["text"] for m in world.sb.bot_messages(RESIDENT) if m["message_id"] > ask["message_id"]
              for shown in [world.sb.message(RESIDENT, m["message_id"])]]
    # One album, one answer (a community chat's acknowledgement counts an album once, too).
    assert counts == [ZH("flow.photo_count", count=4)], counts


async def test_a_resident_who_blocked_the_bot_can_still_rate_once_they_come_back(world: World):
    await world.send(RESIDENT, RESIDENT, "/appeal 小区门口垃圾三天没人清运了，异味很大")
    await world.reply_from_bot(RESIDENT, contains="#2026-000001")
    card = await world.reply_from_bot(DISPATCH_CHAT, predicate=has_button("派单"))
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    dept_card = await world.reply_from_bot(CGJ_CHAT, predicate=has_button("签收"))
    await accept(world, HANDLER_A, CGJ_CHAT, dept_card)
    world.sb.block_bot(RESIDENT)  # the resident blocks the bot for a while
    await submit_result(world, HANDLER_A, CGJ_CHAT, dept_card, "已清运完毕")
    await world.settle()
    assert not [m for m in world.sb.bot_messages(RESIDENT) if has_button("非常满意")(m)]
    # Unblocked the next day, the resident types the rating word as the README invites.
    world.clock.advance(hours=20)
    world.sb.unblock_bot(RESIDENT)
    await world.send(RESIDENT, RESIDENT, "非常满意")
    await world.settle()
    # They are pointed to "the buttons under the rating message" — the buttons must be there to press.
    with_buttons = [m for m in world.sb.bot_messages(RESIDENT) if has_button("非常满意")(m)]
    assert with_buttons, [m.get("text", "")[:60] for m in world.sb.bot_messages(RESIDENT)]
    await press(world, RESIDENT, RESIDENT, with_buttons[-1], "非常满意")
    assert (await world.scalar(select(Ticket).where(Ticket.id == 1))).status == "CLOSED"
