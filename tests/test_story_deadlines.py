"""Stories: reminders, overdue notices, yellow and red cards, nags, extensions, duty (issue 4).

The clock starts Monday 2026-11-23 09:00 Shanghai; `world.clock.advance` jumps, then the test
runs the real scan (`scheduler.jobs.scan`) the APScheduler job would run.
"""
from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.org import OrgFile
from storage.models import Card, Department, TicketEvent
from tests.steps import ack_line, press, said, scan_at, sh, ticket
from tests.harness import (
    CGJ_CHAT,
    COMMUNITY,
    DISPATCH_CHAT,
    DISPATCHER,
    HANDLER_A,
    HANDLER_B,
    LEADERS_CHAT,
    RESIDENT,
    World,
)

SH = ZoneInfo("Asia/Shanghai")
APPEALS = ["小区门口垃圾三天没人清运了，异味很大", "菜市场后面的垃圾桶满了没人清运", "河边步道的垃圾堆了一周，臭味很重"]


async def dispatch(world: World, text: str = APPEALS[0], user: int = RESIDENT) -> dict:
    """A resident's appeal, dispatched to 城市管理局 by button; returns the department card."""
    await world.send(user, COMMUNITY, f"/appeal {text}")
    await world.reply_from_bot(COMMUNITY, contains="#2026-")
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="城市管理局")
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    return await world.reply_from_bot(CGJ_CHAT, predicate=lambda m: "签收" in str(world.sb.buttons(m)))


async def accept(world: World, dept_card: dict, user: int = HANDLER_A) -> dict:
    answer = await press(world, user, CGJ_CHAT, dept_card, "签收")
    assert not answer.get("show_alert"), answer
    return world.sb.message(CGJ_CHAT, dept_card["message_id"])


async def resolve(world: World, card: dict, result: str = "垃圾已全部清运完毕") -> None:
    await press(world, HANDLER_A, CGJ_CHAT, card, "办结")
    prompt = await world.reply_from_bot(CGJ_CHAT, contains="办理结果")
    await world.send(HANDLER_A, CGJ_CHAT, result, reply_to=prompt["message_id"])
    await world.reply_from_bot(COMMUNITY, contains=result)


async def cards(world: World) -> list[tuple[int, str, str]]:
    return [(c.ticket_id, c.colour, c.clock) for c in await world.rows(select(Card).order_by(Card.id))]


async def streak(world: World, dept: str = "cgj") -> int:
    return await world.scalar(select(Department.yellow_streak).where(Department.code == dept))


async def test_reminders_overdue_yellow_card_daily_nags_that_stop_after_accept(world: World):
    dept_card = await dispatch(world)
    t = await ticket(world)
    assert t.accept_due.astimezone(SH).strftime("%m-%d %H:%M") == "11-24 09:00"  # 1 working day
    assert t.next_check_at is not None and t.next_check_at.astimezone(SH).hour == 21  # 50 % of the window

    assert await scan_at(world, hours=11) == 0  # nothing due yet at 20:00
    assert await scan_at(world, hours=1, minutes=5) == 1
    [reminder] = said(world, CGJ_CHAT, "时限提醒", "#2026-000001")
    assert "签收时限 11-24 09:00" in reminder and "50%" in reminder
    assert await scan_at(world, hours=1) == 0  # no second reminder until the 80 % mark
    await scan_at(world, when=sh(2026, 11, 24, 6))
    assert len(said(world, CGJ_CHAT, "时限提醒", "80%")) == 1

    await scan_at(world, when=sh(2026, 11, 24, 9, 5))
    [overdue] = said(world, CGJ_CHAT, "已超时", "#2026-000001")
    assert "签收时限 11-24 09:00 已过" in overdue and "黄牌" in overdue
    assert await cards(world) == [(1, "yellow", "accept")] and await streak(world) == 1
    assert await scan_at(world, minutes=30) == 0  # nothing twice

    await scan_at(world, when=sh(2026, 11, 25, 9, 1))
    [nag] = said(world, CGJ_CHAT, "催办", "#2026-000001")
    assert "1 个工作日" in nag
    await scan_at(world, when=sh(2026, 11, 26, 9, 1))
    assert len(said(world, CGJ_CHAT, "催办")) == 2

    await accept(world, dept_card)
    await scan_at(world, when=sh(2026, 11, 27, 9, 1))
    await scan_at(world, when=sh(2026, 11, 27, 15))
    assert len(said(world, CGJ_CHAT, "催办")) == 2  # the nags stopped with 签收
    kinds = [e.kind for e in await world.rows(select(TicketEvent).where(TicketEvent.ticket_id == 1))]
    assert kinds.count("sla_overdue") == 1 and kinds.count("card_yellow") == 1
    # Replying to a reminder is a progress note, like a reply to the card.
    await world.send(HANDLER_A, CGJ_CHAT, "已安排车辆今天清运", reply_to=world.sb.bot_messages(CGJ_CHAT)[-1]["message_id"])
    await world.reply_from_bot(CGJ_CHAT, contains="进展")
    assert ack_line(world) == "📌 进度：办理中（城市管理局）"


async def test_second_yellow_in_a_row_is_a_red_card_in_the_leaders_chat(world: World):
    await dispatch(world, APPEALS[0])
    await dispatch(world, APPEALS[1])
    await scan_at(world, when=sh(2026, 11, 24, 9, 10))
    assert await cards(world) == [(1, "yellow", "accept"), (2, "red", "accept")]
    [red] = said(world, LEADERS_CHAT, "红牌", "城市管理局")
    assert "#2026-000002" in red and "签收" in red
    assert said(world, CGJ_CHAT, "红牌", "#2026-000002")
    assert await streak(world) == 0  # a red card starts the count again
    # /cards lists them, latest first, in the department chat and in the leaders' chat.
    await world.send(HANDLER_A, CGJ_CHAT, "/cards")
    listing = await world.reply_from_bot(CGJ_CHAT, contains="红黄牌记录")
    text = listing["text"]
    assert text.index("#2026-000002") < text.index("#2026-000001") and "红牌" in text and "黄牌" in text
    await world.send(DISPATCHER, LEADERS_CHAT, "/cards")
    await world.reply_from_bot(LEADERS_CHAT, contains="#2026-000002")
    await world.send(RESIDENT, COMMUNITY, "/cards")
    await world.reply_from_bot(COMMUNITY, contains="部门群")


async def test_a_red_card_earned_in_a_later_scan_is_stored_red(world: World):
    """The yellow card in one scan, the red one in the next: the red card is the first card of
    its scan batch, and the batch reads the department's streak after the card is made — the
    card row must still say red (the monthly report counts the rows)."""
    await dispatch(world, APPEALS[0])
    world.clock.advance(hours=2)
    await dispatch(world, APPEALS[1])
    await scan_at(world, when=sh(2026, 11, 24, 9, 5))
    assert await cards(world) == [(1, "yellow", "accept")]
    await scan_at(world, when=sh(2026, 11, 24, 11, 30))
    assert await cards(world) == [(1, "yellow", "accept"), (2, "red", "accept")]
    assert said(world, LEADERS_CHAT, "红牌", "#2026-000002") and await streak(world) == 0


async def test_an_on_time_resolution_clears_the_yellow_streak(world: World):
    await dispatch(world, APPEALS[0])
    await scan_at(world, when=sh(2026, 11, 24, 9, 10))
    assert await streak(world) == 1
    second = await accept(world, await dispatch(world, APPEALS[1]))
    await resolve(world, second)
    assert await streak(world) == 0
    await dispatch(world, APPEALS[2])
    await scan_at(world, when=sh(2026, 11, 25, 9, 30))
    assert await cards(world) == [(1, "yellow", "accept"), (3, "yellow", "accept")]
    assert not said(world, LEADERS_CHAT, "红牌")


async def test_resolve_overdue_nags_until_resolved(world: World):
    card = await accept(world, await dispatch(world))
    t = await ticket(world)
    assert t.resolve_due.astimezone(SH).strftime("%Y-%m-%d %H:%M") == "2026-11-30 09:00"  # 5 working days
    await scan_at(world, when=sh(2026, 11, 30, 9, 5))
    [overdue] = said(world, CGJ_CHAT, "已超时")
    assert "首次反馈、办结时限 11-30 09:00 已过" in overdue  # one notice for both clocks
    assert await cards(world) == [(1, "yellow", "progress")]  # one card per ticket and round
    await scan_at(world, when=sh(2026, 12, 1, 9, 5))
    assert len(said(world, CGJ_CHAT, "催办", "#2026-000001")) == 1
    await resolve(world, card)
    await scan_at(world, when=sh(2026, 12, 2, 9, 5))
    await scan_at(world, when=sh(2026, 12, 3, 9, 5))
    assert len(said(world, CGJ_CHAT, "催办")) == 1  # 办结 stopped the nags
    assert await streak(world) == 1  # late: no credit


async def test_an_approved_extension_moves_the_deadline(world: World):
    card = await accept(world, await dispatch(world))
    await world.send(HANDLER_A, CGJ_CHAT, "已到现场查看，需协调环卫车辆", reply_to=card["message_id"])
    await world.reply_from_bot(CGJ_CHAT, contains="进展")
    assert ack_line(world) == "📌 进度：办理中（城市管理局）"
    await press(world, HANDLER_A, CGJ_CHAT, card, "申请延期")
    prompt = await world.reply_from_bot(CGJ_CHAT, contains="日期")
    await world.send(HANDLER_A, CGJ_CHAT, "需要协调环卫车辆 2026-12-10", reply_to=prompt["message_id"])
    request = await world.reply_from_bot(DISPATCH_CHAT, contains="2026-12-10")
    await press(world, DISPATCHER, DISPATCH_CHAT, request, "批准延期")
    t = await ticket(world)
    assert t.resolve_due.astimezone(SH).strftime("%Y-%m-%d %H:%M") == "2026-12-10 23:59"
    # The neighbours see the new deadline on the acknowledgement.
    assert ack_line(world) == "📌 进度：办理中（城市管理局），办理期限已延长至 12-10"
    # The new window starts at the approval: its 50 % mark is on 12-02, not a burst now.
    assert t.next_check_at.astimezone(SH).strftime("%m-%d") == "12-02"
    await scan_at(world, when=sh(2026, 11, 30, 9, 5))
    assert not said(world, CGJ_CHAT, "已超时") and await cards(world) == []
    await scan_at(world, when=sh(2026, 12, 3, 9))
    assert said(world, CGJ_CHAT, "时限提醒", "12-10 23:59", "50%")
    await scan_at(world, when=sh(2026, 12, 11, 0, 5))
    assert said(world, CGJ_CHAT, "已超时", "办结时限 12-10 23:59")


async def test_dispatched_on_2026_12_29_gets_a_sane_deadline_past_the_calendar_data(world: World):
    world.clock.set(sh(2026, 12, 29, 10))
    card = await accept(world, await dispatch(world))
    t = await ticket(world)
    # Wed 30, Thu 31, (1 Jan is a holiday in the org file; 2/3 weekend), Mon 4, Tue 5, Wed 6.
    assert t.resolve_due.astimezone(SH).strftime("%Y-%m-%d %H:%M") == "2027-01-06 10:00"
    assert t.accept_due.astimezone(SH).strftime("%Y-%m-%d %H:%M") == "2026-12-30 10:00"
    await world.send(HANDLER_A, CGJ_CHAT, "已派人处理", reply_to=card["message_id"])
    await world.reply_from_bot(CGJ_CHAT, contains="进展")
    assert ack_line(world) == "📌 进度：办理中（城市管理局）"
    await scan_at(world, when=sh(2027, 1, 6, 10, 5))
    assert said(world, CGJ_CHAT, "已超时", "办结时限 01-06 10:00")
    await scan_at(world, when=sh(2027, 1, 7, 9, 5))
    assert said(world, CGJ_CHAT, "催办")


async def test_urgent_ticket_at_night_names_the_handler_on_duty(world: World):
    await world.send(HANDLER_B, CGJ_CHAT, "/duty")
    await world.reply_from_bot(CGJ_CHAT, contains="没有值班人员")
    await world.send(HANDLER_B, CGJ_CHAT, "/duty 20002")
    done = await world.reply_from_bot(CGJ_CHAT, contains="赵承办")
    assert "11-24 09:00" in done["text"]
    await world.send(RESIDENT, COMMUNITY, "/duty 20002")
    await world.reply_from_bot(COMMUNITY, contains="部门群")

    world.clock.set(sh(2026, 11, 23, 21))
    await world.send(RESIDENT, COMMUNITY, "/appeal 小区门口的垃圾堆着火了，冒浓烟")
    await world.reply_from_bot(COMMUNITY, contains="#2026-")
    assert (await ticket(world)).urgency == "urgent"
    # Urgent and a confident match: straight to the department, no dispatcher in the way.
    await world.reply_from_bot(DISPATCH_CHAT, contains="已直接派至城市管理局")
    call = await world.reply_from_bot(CGJ_CHAT, contains="紧急工单")
    assert "赵承办" in call["text"] and "值班" in call["text"]
    await scan_at(world, minutes=16)  # urgent: 30 min to accept; 50 % reminder
    [reminder] = said(world, CGJ_CHAT, "时限提醒")
    assert "赵承办" in reminder
    # The next morning the /duty setting has lapsed and, in working hours, nobody is named.
    world.clock.set(sh(2026, 11, 24, 10))
    await world.send(HANDLER_A, CGJ_CHAT, "/duty")
    await world.reply_from_bot(CGJ_CHAT, contains="没有值班人员")


async def test_duty_roster_from_the_org_file(world: World):
    raw = world.app.org.model_dump()
    for d in raw["departments"]:
        if d["code"] == "cgj":
            d["duty"] = [{"user": HANDLER_A, "weekdays": [0, 1, 2, 3]}, {"user": HANDLER_B, "weekdays": [4, 5, 6]}]
    world.app.org = OrgFile.model_validate(raw)
    await world.send(HANDLER_A, CGJ_CHAT, "早")
    world.clock.set(sh(2026, 11, 28, 2))  # Saturday 02:00: Friday night's shift
    await world.send(HANDLER_A, CGJ_CHAT, "/duty")
    shown = await world.reply_from_bot(CGJ_CHAT, contains="值班表")
    assert "用户 20002" in shown["text"] or "赵承办" in shown["text"]
    world.clock.set(sh(2026, 11, 24, 23))  # Tuesday night
    await world.send(HANDLER_A, CGJ_CHAT, "/duty")
    await world.reply_from_bot(CGJ_CHAT, contains="李承办")


async def test_duty_by_username_by_reply_and_off(world: World):
    world.sb.add_user(20088, "钱值班", username="qian_duty")
    world.sb.add_member(CGJ_CHAT, 20088, "member")
    await world.send(20088, CGJ_CHAT, "大家好")
    await world.settle()
    await world.send(HANDLER_A, CGJ_CHAT, "/duty @qian_duty")
    done = await world.reply_from_bot(CGJ_CHAT, contains="钱值班")
    assert "@qian_duty" in done["text"]
    await world.send(HANDLER_A, CGJ_CHAT, "/duty @nobody_here")
    await world.reply_from_bot(CGJ_CHAT, contains="还不认识 @nobody_here")
    hello = await world.send(HANDLER_B, CGJ_CHAT, "今晚我来")
    await world.settle()
    await world.send(HANDLER_A, CGJ_CHAT, "/duty", reply_to=hello["message_id"])
    await world.reply_from_bot(CGJ_CHAT, contains="赵承办")
    await world.send(HANDLER_A, CGJ_CHAT, "/duty off")
    await world.reply_from_bot(CGJ_CHAT, contains="已取消")
    await world.send(HANDLER_A, CGJ_CHAT, "/duty")
    await world.reply_from_bot(CGJ_CHAT, contains="没有值班人员")
