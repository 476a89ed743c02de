"""One matter, after the first day: supporters hear the result, merged supporters follow the surviving
ticket, a 专项's own clock nags, and /hotspots answers bad input clearly."""
from __future__ import annotations

from sqlalchemy import select

from scheduler import jobs
from storage.models import Campaign, Supporter
from tests.harness import (
    CGJ_CHAT, COMMUNITY, DISPATCH_CHAT, DISPATCHER, HANDLER_A, LEADER, LEADERS_CHAT, RESIDENT, RESIDENT_2, STRANGER,
    World,
)
from tests.steps import appeal, has_button, open_campaign, press, refused, resolve
from tests.test_story_matter import RUBBISH


async def test_supporters_who_started_the_bot_hear_the_result(world: World):
    await world.send(RESIDENT_2, RESIDENT_2, "/start")
    await world.reply_from_bot(RESIDENT_2)
    ack = await appeal(world, RESIDENT, RUBBISH)
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="城市管理局")
    await world.send(RESIDENT_2, COMMUNITY, "我家也是", reply_to=ack["message_id"])
    await world.send(STRANGER, COMMUNITY, "+1", reply_to=ack["message_id"])  # never started the bot
    await world.settle()
    assert "👥 已有 2 位邻居附议。" in world.sb.message(COMMUNITY, ack["message_id"])["text"]
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    dept_card = await world.reply_from_bot(CGJ_CHAT, predicate=has_button("签收"))
    assert "👍 附议 2 人" in dept_card["text"].splitlines()
    await press(world, HANDLER_A, CGJ_CHAT, dept_card, "签收")
    await resolve(world, HANDLER_A, CGJ_CHAT, dept_card, "已清运完毕，每天加派一次清运")
    note = await world.reply_from_bot(RESIDENT_2, contains="您附议的诉求")
    assert "#2026-000001" in note["text"] and "已清运完毕" in note["text"]
    assert world.sb.bot_messages(STRANGER) == []


async def test_merging_moves_the_supporters_onto_the_surviving_ticket(world: World):
    await appeal(world, RESIDENT, RUBBISH)
    await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    second = await appeal(world, RESIDENT_2, "3栋楼下垃圾桶都溢出来了，苍蝇到处飞")
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000002")
    plus = await world.send(STRANGER, COMMUNITY, "+1", reply_to=second["message_id"])
    await world.settle()
    assert world.sb.bot_reaction(COMMUNITY, plus["message_id"]) == "👍"
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "合并到 #2026-000001")
    rows = await world.rows(select(Supporter).order_by(Supporter.ticket_id))
    assert [(s.ticket_id, s.person_id) for s in rows] == [(1, STRANGER), (2, STRANGER)]
    # The first card now counts the supporter that came with the merge.
    first = world.sb.bot_messages(DISPATCH_CHAT)[0]
    assert "附议 1 人" in world.sb.message(DISPATCH_CHAT, first["message_id"])["text"]
    # And so does the first acknowledgement in the community chat.
    assert "👥 已有 1 位邻居附议。" in world.sb.bot_messages(COMMUNITY)[0]["text"]


async def test_a_campaign_has_its_own_clock(world: World):
    for user, text in ((RESIDENT, RUBBISH), (RESIDENT_2, "渔港街菜市场门口垃圾堆成山了"),
                       (STRANGER, "河边有人倒建筑垃圾，堆了一大片")):
        await appeal(world, user, text)
    alert = await world.reply_from_bot(LEADERS_CHAT, contains="高频共性问题")
    await open_campaign(world, alert, "清理垃圾点 10天")
    c = await world.scalar(select(Campaign))
    world.clock.set(c.opened_at + (c.deadline - c.opened_at) * 0.55)
    await jobs.scan_job(world.app, holder="t")
    await world.reply_from_bot(CGJ_CHAT, contains="已过 50%")
    world.clock.set(c.deadline)
    await jobs.scan_job(world.app, holder="t")
    await world.reply_from_bot(CGJ_CHAT, contains="已超过截止日期")
    await world.reply_from_bot(LEADERS_CHAT, contains="已超过截止日期")
    # Nothing more the same day; closed, it says nothing at all.
    await jobs.scan_job(world.app, holder="t")
    await world.settle()
    assert sum("专项 #1" in m.get("text", "") for m in world.sb.bot_messages(CGJ_CHAT)) == 3  # opened, 50 %, overdue
    opened = next(m for m in world.sb.bot_messages(LEADERS_CHAT) if "专项已开设" in m.get("text", ""))
    await press(world, LEADER, LEADERS_CHAT, opened, "结项")
    answer = await press(world, LEADER, LEADERS_CHAT, opened, "结项")
    refused(answer, "campaign.closed_already")
    assert (await world.scalar(select(Campaign))).next_check_at is None


async def test_hotspots_answers_bad_input_and_keeps_to_staff(world: World):
    await world.send(DISPATCHER, DISPATCH_CHAT, "/hotspots soon")
    await world.reply_from_bot(DISPATCH_CHAT, contains="看不懂时间段")
    await world.send(DISPATCHER, DISPATCH_CHAT, "/hotspots 本月")
    await world.reply_from_bot(DISPATCH_CHAT, contains="没有高频共性问题")
    await world.send(RESIDENT, COMMUNITY, "/hotspots")
    await world.reply_from_bot(COMMUNITY, contains="仅供派单中心和领导使用")
