"""Tickets waiting on the dispatchers, and consultations answered from the knowledge base
(through the sandbox where a person would see it):

1. A REVIEW ticket sent elsewhere (改派) keeps its dispatch buttons after a picker's 返回, and a
   ticket waiting for the dispatchers (REVIEW, TRIAGE) reminds the dispatch chat once per
   working day after its accept window.
2. An ANSWERED consultation closes after ``sla.rating_close`` unless 没有解决我的问题 was pressed.

The clock starts Monday 2026-11-23 09:00 Shanghai (tests/harness.py).
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain import nag
from bot.domain.lifecycle import Actor, Forbidden, NotAllowed, Status, authorise
from bot.callbacks import TicketAct
from tests.steps import SH, has_button, messages_saying, press, press_raw, refused, resolve_on, scan_at, sh, showing, ticket
from tests.steps import event_rows as events
from tests.harness import CGJ_CHAT, COMMUNITY, DISPATCH_CHAT, DISPATCHER, HANDLER_A, RESIDENT, World

REVIEW_BUTTONS = [["派单", "另选部门"], ["协办部门", "合并"], ["分流", "驳回"], ["改类型", "标紧急"]]


async def under_review(world: World) -> dict:
    """An appeal dispatched, resolved, rated 不满意 twice: returns the review card."""
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 小区门口垃圾三天没人清运了，异味很大")
    await world.reply_from_bot(COMMUNITY, contains="#2026-")
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="城市管理局")
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    dept_card = await world.reply_from_bot(CGJ_CHAT, predicate=has_button("签收"))
    await press(world, HANDLER_A, CGJ_CHAT, dept_card, "签收")
    question = await resolve_on(world, world.sb.message(CGJ_CHAT, dept_card["message_id"]), "已清运")
    await press(world, RESIDENT, COMMUNITY, question, "不满意")
    await press(world, RESIDENT, COMMUNITY, await showing(world, COMMUNITY, "办理太慢"), "问题没有解决")
    card = await world.reply_from_bot(CGJ_CHAT, contains="问题没有解决")
    question = await resolve_on(world, card, "再次清运")
    await press(world, RESIDENT, COMMUNITY, question, "不满意")
    await press(world, RESIDENT, COMMUNITY, await showing(world, COMMUNITY, "办理太慢"), "问题没有解决")
    assert (await ticket(world)).status == "REVIEW"
    return await world.reply_from_bot(DISPATCH_CHAT, contains="不满意诉求审核")


# ---------------------------------------------------------------- 1. REVIEW is never stranded

async def test_review_sent_elsewhere_keeps_its_buttons_after_back_and_can_still_be_dispatched(world: World):
    review = await under_review(world)
    await press(world, DISPATCHER, DISPATCH_CHAT, review, "改派其他部门")
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="审核后改派")
    assert world.sb.buttons(card) == REVIEW_BUTTONS
    assert world.sb.buttons(world.sb.message(DISPATCH_CHAT, review["message_id"])) == []

    for picker in ("另选部门", "协办部门"):
        answer = await press(world, DISPATCHER, DISPATCH_CHAT, world.sb.message(DISPATCH_CHAT, card["message_id"]),
                             picker)
        assert not answer.get("show_alert"), answer
        shown = world.sb.message(DISPATCH_CHAT, card["message_id"])
        assert ["返回"] in world.sb.buttons(shown) and "城市管理局" in str(world.sb.buttons(shown))
        await press(world, DISPATCHER, DISPATCH_CHAT, shown, "返回")
        back = world.sb.message(DISPATCH_CHAT, card["message_id"])
        assert world.sb.buttons(back) == REVIEW_BUTTONS, picker
    # 分流 is not for a ticket under review: a polite alert, and the buttons stay.
    refused(await press(world, DISPATCHER, DISPATCH_CHAT, card, "分流"), "error.stale")
    assert world.sb.buttons(world.sb.message(DISPATCH_CHAT, card["message_id"])) == REVIEW_BUTTONS
    assert (await ticket(world)).status == "REVIEW"

    # Nothing is stuck: 另选部门 → 水务局 moves it on, and its wait clock stops.
    await press(world, DISPATCHER, DISPATCH_CHAT, world.sb.message(DISPATCH_CHAT, card["message_id"]), "另选部门")
    await press(world, DISPATCHER, DISPATCH_CHAT, world.sb.message(DISPATCH_CHAT, card["message_id"]), "水务局")
    t = await ticket(world)
    assert t.status == "DISPATCHED" and t.lead_dept == "sw"
    assert "waiting" not in (t.clock_state or {}) and t.next_check_at is not None


async def test_a_ticket_under_review_reminds_the_dispatch_chat_each_working_day(world: World):
    review = await under_review(world)
    t = await ticket(world)
    entered = [e.at for e in await events(world) if e.to_status == "REVIEW"][-1]
    # The normal accept window (1 working day) is how long a review may wait unreminded.
    assert t.next_check_at == world.app.calendar.add_working_days(entered, 1)
    assert t.next_check_at.astimezone(SH).strftime("%m-%d %H:%M") == "11-24 09:00"

    await scan_at(world, sh(2026, 11, 24, 8, 55))
    assert messages_saying(world, DISPATCH_CHAT, "审核提醒") == []
    await scan_at(world, sh(2026, 11, 24, 9, 5))
    [reminder] = messages_saying(world, DISPATCH_CHAT, "审核提醒", "#2026-000001")
    assert reminder["reply_to_message"]["message_id"] == review["message_id"]
    assert "垃圾" in reminder["text"]
    assert await scan_at(world, sh(2026, 11, 24, 16)) == 0  # once per working day
    await scan_at(world, sh(2026, 11, 25, 9, 1))
    assert len(messages_saying(world, DISPATCH_CHAT, "审核提醒")) == 2
    # Friday's reminder, then nothing over the weekend, then Monday.
    await scan_at(world, sh(2026, 11, 27, 9, 1))
    assert len(messages_saying(world, DISPATCH_CHAT, "审核提醒")) == 3
    assert (await ticket(world)).next_check_at.astimezone(SH) == sh(2026, 11, 30, 9)
    assert await scan_at(world, sh(2026, 11, 28, 12)) == 0

    # A decision stops the reminders.
    await press(world, DISPATCHER, DISPATCH_CHAT, review, "退回重办")
    t = await ticket(world)
    assert t.status == "REOPENED" and "waiting" not in t.clock_state
    await scan_at(world, sh(2026, 11, 30, 9, 1))
    await scan_at(world, sh(2026, 12, 1, 9, 1))
    assert len(messages_saying(world, DISPATCH_CHAT, "审核提醒")) == 3


async def test_the_review_reminder_after_redirect_points_at_the_dispatch_card(world: World):
    review = await under_review(world)
    await press(world, DISPATCHER, DISPATCH_CHAT, review, "改派其他部门")
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="审核后改派")
    await scan_at(world, sh(2026, 11, 24, 9, 5))
    [reminder] = messages_saying(world, DISPATCH_CHAT, "审核提醒")
    assert reminder["reply_to_message"]["message_id"] == card["message_id"]


async def test_a_ticket_waiting_for_dispatch_reminds_the_dispatch_chat(world: World):
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 小区门口垃圾三天没人清运了，异味很大")
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="城市管理局")
    t = await ticket(world)
    assert t.status == "TRIAGE" and t.next_check_at.astimezone(SH).strftime("%m-%d %H:%M") == "11-24 09:00"
    await scan_at(world, sh(2026, 11, 24, 9, 5))
    [reminder] = messages_saying(world, DISPATCH_CHAT, "待派单提醒", "#2026-000001")
    assert reminder["reply_to_message"]["message_id"] == card["message_id"]
    await scan_at(world, sh(2026, 11, 25, 9, 5))
    assert len(messages_saying(world, DISPATCH_CHAT, "待派单提醒")) == 2
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    await scan_at(world, sh(2026, 11, 26, 9, 5))
    assert len(messages_saying(world, DISPATCH_CHAT, "待派单提醒")) == 2
    assert (await ticket(world)).status == "DISPATCHED"


def test_waiting_entry_is_kept_while_the_same_wait_goes_on():
    since, due = sh(2026, 11, 23, 9), sh(2026, 11, 24, 9)
    entry = nag.waiting({}, "REVIEW", since, due)
    assert nag.waiting_next(entry) == due
    entry, sent = nag.waiting_step(entry, sh(2026, 11, 24, 8), lambda after: after + timedelta(days=1))
    assert not sent
    entry, sent = nag.waiting_step(entry, sh(2026, 11, 24, 10), lambda after: after + timedelta(days=1))
    assert sent and entry["sent"] == 1 and nag.waiting_next(entry) == sh(2026, 11, 25, 10)
    assert nag.waiting({"waiting": entry}, "REVIEW", since, due) == entry
    # Entering the status anew (another day, another status) starts afresh.
    assert nag.waiting({"waiting": entry}, "TRIAGE", since, due)["sent"] == 0
    assert nag.waiting({"waiting": entry}, "REVIEW", sh(2026, 11, 26, 9), due)["sent"] == 0


# ---------------------------------------------------------------- 2. ANSWERED ─▶ CLOSED

def test_only_the_system_closes_an_answered_consultation():
    assert authorise("close_answered", "ANSWERED", {Actor.SYSTEM}) is Status.CLOSED
    for who in (Actor.DISPATCHER, Actor.REPORTER, Actor.ADMIN):
        with pytest.raises(Forbidden):
            authorise("close_answered", "ANSWERED", {who})
    with pytest.raises(NotAllowed):
        authorise("close_answered", "TRIAGE", {Actor.SYSTEM})


async def test_an_answered_consultation_closes_after_the_rating_window(world: World):
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 请问居住证怎么办理？")
    answer = await world.reply_from_bot(COMMUNITY, contains="派出所")
    t = await ticket(world)
    answered_at = [e.at for e in await events(world) if e.kind == "answered"][-1]
    assert t.status == "ANSWERED" and t.next_check_at == answered_at + timedelta(days=7)  # sla.rating_close

    assert await scan_at(world, answered_at + timedelta(days=6)) == 0
    assert (await ticket(world)).status == "ANSWERED"
    when = answered_at + timedelta(days=7, minutes=1)
    assert await scan_at(world, when) == 1
    t = await ticket(world)
    assert (t.status, t.close_reason, t.next_check_at) == ("CLOSED", "answered", None)
    assert timedelta(0) <= t.closed_at - when < timedelta(seconds=30)
    last = (await events(world))[-1]
    assert (last.kind, last.from_status, last.to_status) == ("closed_answered", "ANSWERED", "CLOSED")
    assert await scan_at(world, when + timedelta(days=3)) == 0

    # The closed answer keeps its words on the acknowledgement but loses the button; a press
    # from an old client after the close: a polite alert, nothing reopens.
    shown = world.sb.message(COMMUNITY, answer["message_id"])
    assert "派出所" in shown["text"] and shown["text"].endswith("📌 进度：已答复")
    assert world.sb.buttons(shown) == [["私聊查看进展"]]
    late = await press_raw(world, RESIDENT, COMMUNITY, answer["message_id"],
                           TicketAct(action="nohelp", ticket_id=1).pack())
    refused(late, "error.stale")
    assert (await ticket(world)).status == "CLOSED"
    await world.send(DISPATCHER, DISPATCH_CHAT, "/ticket 2026-000001")
    history = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    assert "自动办结" in history["text"]


async def test_not_helpful_before_the_window_keeps_the_ticket_open(world: World):
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 请问居住证怎么办理？")
    answer = await world.reply_from_bot(COMMUNITY, contains="派出所")
    answered_at = (await ticket(world)).updated_at
    world.clock.set(answered_at + timedelta(days=3))
    await press(world, RESIDENT, COMMUNITY, answer, "没有解决我的问题")
    await world.reply_from_bot(DISPATCH_CHAT, contains="居住证")
    assert (await ticket(world)).status == "TRIAGE"
    await scan_at(world, answered_at + timedelta(days=7, minutes=1))
    t = await ticket(world)
    assert t.status == "TRIAGE" and t.closed_at is None and t.close_reason is None
    assert "closed_answered" not in [e.kind for e in await events(world)]
