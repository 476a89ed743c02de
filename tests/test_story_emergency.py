"""Stories: emergencies jump the queue (seed 004 应急) — urgent words in everyday wording, #紧急,
straight to the department when the match is confident, the leaders' and dispatch chats told."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.domain.routing import is_urgent
from bot.sandbox import TelegramSandbox
from storage.models import Ticket
from tests.harness import COMMUNITY, DISPATCH_CHAT, LEADERS_CHAT, RESIDENT, SW_CHAT, World


def has_button(label: str):  # noqa: ANN201
    return lambda m: any(label in row for row in TelegramSandbox.buttons(m))


@pytest.mark.parametrize("text", [
    "老人摔倒了起不来，快来人", "紧急！楼道里有很浓的煤气味", "三楼家里被淹了，水还在往里灌", "外墙砖掉下来砸伤了人",
    "电梯困人了，里面有个小孩", "楼下有人晕倒了", "仓库烧起来了，火很大", "老房子的墙塌了",
    "My grandmother fell and cannot get up", "I can smell gas on the stairs",
])
def test_everyday_emergencies_are_urgent(text):
    assert is_urgent(text)


@pytest.mark.parametrize("text", ["不紧急，垃圾桶满了有空来收", "万一着火了消防车都进不来", "小区的花坛该修剪了"])
def test_ordinary_matters_are_not(text):
    assert not is_urgent(text)


async def ticket(world: World) -> Ticket:
    return await world.scalar(select(Ticket).where(Ticket.id == 1))


async def test_an_urgent_confident_appeal_is_dispatched_without_a_dispatcher(world: World):
    await world.send(RESIDENT, COMMUNITY, "#紧急 小区下水道堵了，污水已经漫到一楼门口")
    card = await world.reply_from_bot(SW_CHAT, predicate=has_button("签收"))
    assert "#2026-000001" in card["text"]
    t = await ticket(world)
    assert t.status == "DISPATCHED" and t.urgency == "urgent" and t.lead_dept == "sw"
    told = await world.reply_from_bot(LEADERS_CHAT, contains="#2026-000001")
    assert told["text"].startswith("🚨 紧急诉求 #2026-000001（港口镇）已直接派至水务局")
    note = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    assert note["text"] == told["text"]  # the dispatchers hear it too, and no card waits for them
    assert not any(world.sb.buttons(m) for m in world.sb.bot_messages(DISPATCH_CHAT))
    ack = world.sb.bot_messages(COMMUNITY)[0]
    assert "紧急" in ack["text"]


async def test_an_urgent_appeal_without_a_confident_match_waits_first_in_line_and_leaders_are_told(world: World):
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 老人摔倒了起不来，快来人")
    card = await world.reply_from_bot(DISPATCH_CHAT, predicate=has_button("另选部门"))
    assert "紧急" in card["text"]
    told = await world.reply_from_bot(LEADERS_CHAT, contains="#2026-000001")
    assert told["text"].startswith("🚨 紧急诉求 #2026-000001（港口镇）等待派单")
    t = await ticket(world)
    assert t.status == "TRIAGE" and t.urgency == "urgent"


@pytest.mark.parametrize("world", [{"org_patch": {"dispatch": {"urgent_auto": False}}}], indirect=True)
async def test_the_org_file_can_keep_urgent_tickets_for_a_dispatcher(world: World):
    await world.send(RESIDENT, COMMUNITY, "#紧急 小区下水道堵了，污水已经漫到一楼门口")
    card = await world.reply_from_bot(DISPATCH_CHAT, predicate=has_button("派单"))
    assert "紧急" in card["text"]
    t = await ticket(world)
    assert t.status == "TRIAGE" and t.urgency == "urgent"
    assert world.sb.bot_messages(SW_CHAT) == []


async def test_an_ordinary_confident_appeal_still_waits_for_the_dispatcher(world: World):
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 小区下水道堵了好几天了")
    await world.reply_from_bot(DISPATCH_CHAT, predicate=has_button("派单"))
    assert (await ticket(world)).status == "TRIAGE"
    assert world.sb.bot_messages(LEADERS_CHAT) == []
