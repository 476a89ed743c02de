"""Stories: emergencies jump the queue (seed 004 应急) — urgent words in everyday wording, #紧急,
straight to the department when the match is confident, the leaders' chat told, the dispatch
chat's card naming the on-duty dispatcher; and the dispatcher changing kind and urgency on the
card (改类型 / 标紧急 / 改普通), with the deadlines following (issue #13)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.domain.routing import is_urgent
from storage.models import Assignment
from tests.harness import (
    CGJ_CHAT,
    COMMUNITY,
    DISPATCH_CHAT,
    DISPATCHER,
    LEADERS_CHAT,
    RESIDENT,
    SW_CHAT,
    SW_HANDLER,
    World,
)
from tests.steps import SH, ZH, event_rows, has_button, press, refused, said, scan_at, sh, through_resolution, ticket

URGENT_SEWER = "#紧急 小区下水道堵了，污水已经漫到一楼门口"
NOBODY_ON_DUTY = ZH("card.no_duty_dispatcher")


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


def lines(msg: dict) -> list[str]:
    return (msg.get("text") or "").split("\n")


async def test_an_urgent_confident_appeal_is_dispatched_without_a_dispatcher(world: World):
    await world.send(RESIDENT, COMMUNITY, URGENT_SEWER)
    card = await world.reply_from_bot(SW_CHAT, predicate=has_button("签收"))
    assert "#2026-000001" in card["text"]
    t = await ticket(world)
    assert t.status == "DISPATCHED" and t.urgency == "urgent" and t.lead_dept == "sw"
    told = await world.reply_from_bot(LEADERS_CHAT, contains="#2026-000001")
    assert told["text"].startswith("🚨 紧急诉求 #2026-000001（港口镇）已直接派至水务局")
    # The dispatch chat gets the ticket's card all the same: where it went, that nobody is on duty,
    # and only 改类型 / 改普通 to press (no decision waits for them).
    dispatch_card = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    assert "🚨 紧急诉求，已直接派至水务局，无需等待派单" in lines(dispatch_card)
    assert NOBODY_ON_DUTY in lines(dispatch_card)
    assert world.sb.buttons(dispatch_card) == [["改类型", "改普通"]]
    assert len(world.sb.bot_messages(DISPATCH_CHAT)) == 1
    ack = world.sb.bot_messages(COMMUNITY)[0]
    assert "紧急" in ack["text"]


async def test_an_urgent_appeal_without_a_confident_match_waits_first_in_line_and_leaders_are_told(world: World):
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 小区花坛边的路灯坏了好久")
    await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 老人摔倒了起不来，快来人")
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000002", predicate=has_button("另选部门"))
    assert "紧急" in card["text"] and NOBODY_ON_DUTY in lines(card)
    told = await world.reply_from_bot(LEADERS_CHAT, contains="#2026-000002")
    assert told["text"].startswith("🚨 紧急诉求 #2026-000002（港口镇）等待派单")
    t = await ticket(world, 2)
    assert t.status == "TRIAGE" and t.urgency == "urgent"
    # Never behind the ordinary queue: first on /queue, and the dispatchers are reminded after
    # its own 30 minutes, not after the ordinary working day.
    await world.send(DISPATCHER, DISPATCH_CHAT, "/queue")
    queue = await world.reply_from_bot(DISPATCH_CHAT, contains="待派单工单")
    assert lines(queue)[1].startswith("🔴 #2026-000002") and lines(queue)[3].startswith("· #2026-000001")
    await scan_at(world, minutes=31)
    assert said(world, DISPATCH_CHAT, "待派单提醒 #2026-000002")
    assert not said(world, DISPATCH_CHAT, "待派单提醒 #2026-000001")


@pytest.mark.parametrize("world", [{"org_patch": {"dispatch": {"urgent_auto": False}}}], indirect=True)
async def test_the_org_file_can_keep_urgent_tickets_for_a_dispatcher(world: World):
    await world.send(RESIDENT, COMMUNITY, URGENT_SEWER)
    card = await world.reply_from_bot(DISPATCH_CHAT, predicate=has_button("派单"))
    assert "紧急" in card["text"]
    t = await ticket(world)
    assert t.status == "TRIAGE" and t.urgency == "urgent"
    assert world.sb.bot_messages(SW_CHAT) == []


async def test_an_ordinary_confident_appeal_still_waits_for_the_dispatcher(world: World):
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 小区下水道堵了好几天了")
    card = await world.reply_from_bot(DISPATCH_CHAT, predicate=has_button("派单"))
    assert (await ticket(world)).status == "TRIAGE"
    assert world.sb.bot_messages(LEADERS_CHAT) == []
    assert world.sb.buttons(card)[3] == ["改类型", "标紧急"]
    assert not any("值班派单员" in line for line in lines(card))  # only urgent cards call for them


# ---------------------------------------------------------------- the on-duty dispatcher


async def test_duty_in_the_dispatch_chat_names_the_dispatcher_on_every_urgent_card(world: World):
    await world.send(DISPATCHER, DISPATCH_CHAT, "/duty")
    shown = await world.reply_from_bot(DISPATCH_CHAT, contains="值班")
    assert shown["text"] == ZH("duty.none", dept="派单中心")
    await world.send(SW_HANDLER, DISPATCH_CHAT, f"/duty {SW_HANDLER}")
    assert (await world.reply_from_bot(DISPATCH_CHAT, contains="派单员"))["text"] == ZH("duty.forbidden_dispatch")
    await world.send(DISPATCHER, DISPATCH_CHAT, f"/duty {DISPATCHER}")
    done = await world.reply_from_bot(DISPATCH_CHAT, contains="已设置")
    assert done["text"] == ZH("duty.set_dispatch", dept="派单中心", who="吴派单", until="11-24 09:00")

    await world.send(RESIDENT, COMMUNITY, URGENT_SEWER)  # dispatched by the catalogue
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 老人摔倒了起不来，快来人")  # waits for a dispatcher
    for code in ("#2026-000001", "#2026-000002"):
        card = await world.reply_from_bot(DISPATCH_CHAT, contains=code)
        assert ZH("card.duty_dispatcher", who="吴派单") in lines(card), card["text"]

    # The next morning the setting has lapsed: nobody is named until someone takes the duty.
    world.clock.set(sh(2026, 11, 24, 9, 30))
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 楼道里有很浓的煤气味")
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000003")
    assert NOBODY_ON_DUTY in lines(card)


@pytest.mark.parametrize("world", [{"org_patch": {"dispatch": {"duty": [
    {"user": DISPATCHER, "weekdays": [0, 1, 2, 3, 4]}, {"user": 40002, "weekdays": [5, 6]}]}}}], indirect=True)
async def test_the_dispatch_roster_comes_from_the_org_file(world: World):
    await world.send(DISPATCHER, DISPATCH_CHAT, "/duty")
    shown = await world.reply_from_bot(DISPATCH_CHAT, contains="值班")
    assert shown["text"] == ZH("duty.current", dept="派单中心", who="吴派单", source=ZH("duty.source_roster"))
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 老人摔倒了起不来，快来人")
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    assert ZH("card.duty_dispatcher", who="吴派单") in lines(card)


# ---------------------------------------------------------------- 改类型 / 标紧急 / 改普通


async def test_marking_a_waiting_ticket_urgent_sends_it_at_once_and_tells_the_leaders(world: World):
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 小区下水道堵了好几天了")
    card = await world.reply_from_bot(DISPATCH_CHAT, predicate=has_button("标紧急"))
    # Only dispatchers: a handler (or anyone else) pressing gets an alert and nothing changes.
    refused(await press(world, SW_HANDLER, DISPATCH_CHAT, card, "标紧急"), "error.forbidden")
    refused(await press(world, RESIDENT, DISPATCH_CHAT, card, "改类型"), "error.forbidden")
    assert (await ticket(world)).urgency == "normal"

    answer = await press(world, DISPATCHER, DISPATCH_CHAT, card, "标紧急")
    assert answer.get("text") == ZH("done.reclassified") and not answer.get("show_alert")
    t = await ticket(world)
    assert (t.status, t.urgency, t.lead_dept) == ("DISPATCHED", "urgent", "sw")
    change = [e for e in await event_rows(world) if e.kind == "urgency_changed"]
    assert [(e.actor_id, e.data) for e in change] == [(DISPATCHER, {"from": "normal", "to": "urgent"})]
    assert t.accept_due - t.dispatched_at == timedelta(minutes=30)  # the urgent window
    await world.reply_from_bot(SW_CHAT, predicate=has_button("签收"))
    told = await world.reply_from_bot(LEADERS_CHAT, contains="#2026-000001")
    assert told["text"].startswith("🚨 紧急诉求 #2026-000001（港口镇）已直接派至水务局")
    redrawn = world.sb.message(DISPATCH_CHAT, card["message_id"])
    assert lines(redrawn)[0] == "🔴 #2026-000001｜求助｜紧急"
    assert "⚠️ 紧急：派单员标记" in lines(redrawn) and "🚨 紧急诉求，已直接派至水务局，无需等待派单" in lines(redrawn)
    assert world.sb.buttons(redrawn) == [["改类型", "改普通"]]


async def test_making_an_urgent_waiting_ticket_normal_and_changing_its_kind(world: World):
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 老人摔倒了起不来，快来人")
    card = await world.reply_from_bot(DISPATCH_CHAT, predicate=has_button("改普通"))
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "改普通")
    t = await ticket(world)
    assert (t.status, t.urgency) == ("TRIAGE", "normal")
    redrawn = world.sb.message(DISPATCH_CHAT, card["message_id"])
    assert lines(redrawn)[0] == "#2026-000001｜求助｜一般"
    assert not any("紧急" in line for line in lines(redrawn))
    assert world.sb.buttons(redrawn)[:1] == [["另选部门"]] and world.sb.buttons(redrawn)[3] == ["改类型", "标紧急"]

    await press(world, DISPATCHER, DISPATCH_CHAT, redrawn, "改类型")
    picker = world.sb.message(DISPATCH_CHAT, card["message_id"])
    assert world.sb.buttons(picker) == [["✓ 求助", "投诉", "建议"], ["咨询", "举报"], ["返回"]]
    await press(world, DISPATCHER, DISPATCH_CHAT, picker, "投诉")
    t = await ticket(world)
    assert t.kind == "complaint"
    changes = [(e.kind, e.data) for e in await event_rows(world) if e.kind.endswith("_changed")]
    assert changes == [("urgency_changed", {"from": "urgent", "to": "normal"}),
                       ("kind_changed", {"from": "help", "to": "complaint"})]
    back = world.sb.message(DISPATCH_CHAT, card["message_id"])
    assert lines(back)[0] == "#2026-000001｜投诉｜一般" and world.sb.buttons(back)[0] == ["另选部门"]
    # 返回 from the picker brings the card's own buttons back, nothing changed.
    await press(world, DISPATCHER, DISPATCH_CHAT, back, "改类型")
    await press(world, DISPATCHER, DISPATCH_CHAT, world.sb.message(DISPATCH_CHAT, card["message_id"]), "返回")
    assert world.sb.buttons(world.sb.message(DISPATCH_CHAT, card["message_id"])) == world.sb.buttons(back)
    assert world.sb.bot_messages(LEADERS_CHAT)[-1]["text"].startswith("🚨 紧急诉求 #2026-000001（港口镇）等待派单")
    assert len(world.sb.bot_messages(LEADERS_CHAT)) == 1  # made normal: nobody is alarmed again


async def test_a_dispatched_ticket_made_urgent_gets_its_urgent_deadlines_from_now(world: World):
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 小区门口垃圾三天没人清运了，异味很大")
    card = await world.reply_from_bot(DISPATCH_CHAT, predicate=has_button("派单"))
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    dept_card = await world.reply_from_bot(CGJ_CHAT, predicate=has_button("签收"))
    first = await ticket(world)
    assert first.accept_due - first.dispatched_at == timedelta(days=1)  # one working day: Tuesday
    dispatched_card = world.sb.message(DISPATCH_CHAT, card["message_id"])
    assert world.sb.buttons(dispatched_card) == [["改类型", "标紧急"]]

    world.clock.set(sh(2026, 11, 23, 11))  # two hours after the dispatch
    await press(world, DISPATCHER, DISPATCH_CHAT, dispatched_card, "标紧急")
    t = await ticket(world)
    assert (t.status, t.urgency) == ("DISPATCHED", "urgent")
    [change] = [e for e in await event_rows(world) if e.kind == "urgency_changed"]
    # From the change (computed the instant before its event row), not already past; urgent: 1 d.
    assert timedelta(0) <= change.at + timedelta(minutes=30) - t.accept_due < timedelta(seconds=1)
    assert t.resolve_due - t.accept_due == timedelta(days=1) - timedelta(minutes=30)
    row = await world.scalar(select(Assignment).where(Assignment.ticket_id == 1))
    assert (row.accept_due, row.resolve_due, row.first_resolve_due) == (t.accept_due, t.resolve_due, t.resolve_due)
    note = await world.reply_from_bot(CGJ_CHAT, contains="派单中心已将工单")
    assert lines(note) == ["🔁 派单中心已将工单 #2026-000001 改为：求助｜紧急", "签收时限：11-23 11:30", "办结时限：11-24 11:00"]
    redrawn = world.sb.message(CGJ_CHAT, dept_card["message_id"])
    assert lines(redrawn)[0] == "🔴 #2026-000001｜求助｜紧急" and "签收时限：11-23 11:30" in lines(redrawn)
    assert world.sb.buttons(redrawn) == [["签收", "退单"]]
    told = await world.reply_from_bot(LEADERS_CHAT, contains="#2026-000001")
    assert told["text"].startswith("🚨 工单 #2026-000001（港口镇）已由派单员改为紧急，正由城市管理局办理")
    # The clock runs on the new deadline: the 50 % reminder after 15 minutes.
    await scan_at(world, minutes=16)
    assert said(world, CGJ_CHAT, "时限提醒 #2026-000001", "11-23 11:30")

    # Back to normal: the ordinary window from the dispatch, never earlier than what was set.
    await press(world, DISPATCHER, DISPATCH_CHAT, world.sb.message(DISPATCH_CHAT, card["message_id"]), "改普通")
    t = await ticket(world)
    assert (t.urgency, t.accept_due, t.resolve_due) == ("normal", first.accept_due, first.resolve_due)
    assert len(world.sb.bot_messages(LEADERS_CHAT)) == 1


async def test_a_closed_tickets_card_takes_no_more_changes(world: World):
    card, _ = await through_resolution(world, "小区门口垃圾三天没人清运了，异味很大")
    await world.settle()
    assert (await ticket(world)).status == "RESOLVED"
    refused(await press(world, DISPATCHER, DISPATCH_CHAT, world.sb.message(DISPATCH_CHAT, card["message_id"]), "标紧急"),
            "error.stale")
    assert (await ticket(world)).urgency == "normal"


async def test_a_ticket_made_urgent_at_night_calls_the_departments_handler_on_duty(world: World):
    world.clock.set(sh(2026, 11, 23, 21))
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 小区门口垃圾三天没人清运了，异味很大")
    card = await world.reply_from_bot(DISPATCH_CHAT, predicate=has_button("派单"))
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    await world.reply_from_bot(CGJ_CHAT, predicate=has_button("签收"))
    assert said(world, CGJ_CHAT, "紧急工单") == []  # an ordinary ticket waits for the morning
    await press(world, DISPATCHER, DISPATCH_CHAT, world.sb.message(DISPATCH_CHAT, card["message_id"]), "标紧急")
    t = await ticket(world)
    call = await world.reply_from_bot(CGJ_CHAT, contains="紧急工单")
    when = t.accept_due.astimezone(SH).strftime("%m-%d %H:%M")  # 30 minutes from the change
    assert lines(call) == [ZH("sla.duty_call", code="#2026-000001", clock="签收", when=when), ZH("sla.no_duty")]
