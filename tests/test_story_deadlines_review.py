"""Deadlines as an outside review met them (tests of findings that were defects)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from storage.models import Card
from tests.harness import CGJ_CHAT, COMMUNITY, DISPATCH_CHAT, DISPATCHER, HANDLER_A, RESIDENT, SW_CHAT, World
from tests.steps import press, said, scan_at, ticket
from tests.test_story_emergency import URGENT_SEWER

SH = ZoneInfo("Asia/Shanghai")


def minute(at: datetime) -> datetime:
    """The test clock runs on from where it is set: seconds of real time pass between steps."""
    return at.replace(second=0, microsecond=0)


async def dispatched_to_cgj(world: World) -> dict:
    """An appeal about rubbish, 派单 to 城市管理局 as suggested: the department's card."""
    await world.send(RESIDENT, COMMUNITY, "/appeal 小区门口垃圾三天没人清运了，异味很大")
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="城市管理局")
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    return await world.reply_from_bot(CGJ_CHAT, predicate=lambda m: "签收" in str(world.sb.buttons(m)))


async def test_a_department_that_signs_in_time_after_a_holiday_is_not_carded_for_progress(world: World):
    # Saturday 2026-02-14 is a 调休 working day, then Spring Festival (02-15..02-23): 签收 is due
    # 02-24 10:00, one working day on; the 7 natural days of first progress ended 02-21, before it.
    world.clock.set(datetime(2026, 2, 14, 10, 0, tzinfo=SH))
    dept_card = await dispatched_to_cgj(world)
    assert minute((await ticket(world)).accept_due) == datetime(2026, 2, 24, 10, 0, tzinfo=SH)
    for day in range(15, 24):
        await scan_at(world, when=datetime(2026, 2, day, 9, 30, tzinfo=SH))
    world.clock.set(datetime(2026, 2, 24, 9, 0, tzinfo=SH))
    answer = await press(world, HANDLER_A, CGJ_CHAT, dept_card, "签收")
    assert not answer.get("show_alert")
    assert minute((await ticket(world)).progress_due) == datetime(2026, 3, 3, 9, 0, tzinfo=SH)
    await scan_at(world, when=datetime(2026, 2, 24, 9, 1, tzinfo=SH))
    assert await world.rows(select(Card)) == []
    # The window still binds: a week after 签收 with no word, the card comes.
    await scan_at(world, when=datetime(2026, 3, 3, 9, 5, tzinfo=SH))
    assert [(c.colour, c.clock) for c in await world.rows(select(Card))] == [("yellow", "progress")]


async def test_an_extension_reads_the_date_not_a_building_range_and_says_the_day_it_understood(world: World):
    # "3-5栋" names buildings; the first date-like text made it 2027-03-05, three months on.
    world.clock.set(datetime(2026, 11, 23, 10, 0, tzinfo=SH))
    dept_card = await dispatched_to_cgj(world)
    await press(world, HANDLER_A, CGJ_CHAT, dept_card, "签收")
    await press(world, HANDLER_A, CGJ_CHAT, world.sb.message(CGJ_CHAT, dept_card["message_id"]), "申请延期")
    prompt = await world.reply_from_bot(CGJ_CHAT, contains="日期")
    await world.send(HANDLER_A, CGJ_CHAT, "3-5栋需统一协调清运车辆，申请延期至12月4日", reply_to=prompt["message_id"])
    await world.reply_from_bot(CGJ_CHAT, contains="延期申请（延至 2026-12-04）已提交派单中心审批。")
    request = await world.reply_from_bot(DISPATCH_CHAT, contains="2026-12-04")
    assert "3-5栋需统一协调清运车辆" in request["text"] and "2027" not in request["text"]


async def test_an_overdue_urgent_ticket_is_chased_around_the_clock_not_once_per_working_day(world: World):
    # The 30 minutes to 签收 run out on the eve of National Day (10-01..10-07 off): the next nag
    # came on 10-08 09:00, a week later, for an appeal the seeds want answered 7×24.
    world.clock.set(datetime(2026, 9, 30, 20, 0, tzinfo=SH))
    await world.send(RESIDENT, COMMUNITY, URGENT_SEWER)
    await world.reply_from_bot(SW_CHAT, predicate=lambda m: "签收" in str(world.sb.buttons(m)))
    await scan_at(world, when=datetime(2026, 9, 30, 20, 31, tzinfo=SH))
    assert len(said(world, SW_CHAT, "已超时")) == 1 and said(world, SW_CHAT, "催办") == []
    await scan_at(world, when=datetime(2026, 9, 30, 22, 0, tzinfo=SH))  # not yet two hours
    assert said(world, SW_CHAT, "催办") == []
    await scan_at(world, when=datetime(2026, 9, 30, 22, 32, tzinfo=SH))
    await scan_at(world, when=datetime(2026, 10, 1, 0, 33, tzinfo=SH))
    await scan_at(world, when=datetime(2026, 10, 1, 1, 0, tzinfo=SH))  # the next is not due before 02:33
    assert len(said(world, SW_CHAT, "催办")) == 2
