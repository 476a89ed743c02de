"""Handlers and the dispatcher living with deadlines: urgent clocks around the clock, the rating window after
an outage, a refused extension."""
from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from tests.harness import (CGJ_CHAT, COMMUNITY, DISPATCH_CHAT, DISPATCHER, HANDLER_A, RESIDENT, SW_CHAT, World)
from tests.steps import event_kinds, has_button, press, said, scan_at, ticket

SH = ZoneInfo("Asia/Shanghai")
URGENT_SEWER = "#紧急 小区下水道堵了，污水已经漫到一楼门口"


def sh(*a: int) -> datetime:
    return datetime(*a, tzinfo=SH)


async def dispatched_to_cgj(world: World, text: str = "小区门口垃圾三天没人清运了，异味很大") -> dict:
    await world.send(RESIDENT, COMMUNITY, f"/appeal {text}")
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="城市管理局")
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    return await world.reply_from_bot(CGJ_CHAT, predicate=has_button("签收"))


async def test_urgent_nag_does_not_call_two_hours_late_a_working_day(world: World):
    world.clock.set(sh(2026, 11, 23, 21, 0))  # Monday night
    await world.send(RESIDENT, COMMUNITY, URGENT_SEWER)
    await world.reply_from_bot(SW_CHAT, predicate=has_button("签收"))
    await scan_at(world, when=sh(2026, 11, 23, 21, 31))
    await scan_at(world, when=sh(2026, 11, 23, 23, 32))
    [nag] = said(world, SW_CHAT, "催办")
    # Two hours after a 30-minute deadline, at night: not "a working day" late.
    assert "签收时限（11-23 21:30）" in nag
    assert "1 个工作日" not in nag and "工作日" not in nag, nag
    # Due 21:30 and some seconds (the test's clock runs on while the appeal is filed); nagged 23:32.
    assert re.search("已超时 2 小时 [12] 分钟", nag), nag


async def _accepted_with_progress(world: World) -> dict:
    card = await dispatched_to_cgj(world)
    await press(world, HANDLER_A, CGJ_CHAT, card, "签收")
    await world.send(HANDLER_A, CGJ_CHAT, "已到现场查看，正在安排", reply_to=card["message_id"])
    await world.reply_from_bot(CGJ_CHAT, contains="进展")
    return world.sb.message(CGJ_CHAT, card["message_id"])


async def test_an_urgent_appeal_waiting_for_the_dispatchers_is_chased_around_the_clock(world: World):
    # An urgent appeal no catalogue row matches waits in TRIAGE on the eve of National Day. The
    # dispatch chat is reminded once at 20:30 and then not again until 10-08 09:00.
    world.clock.set(sh(2026, 9, 30, 20, 0))
    await world.send(RESIDENT, COMMUNITY, "/appeal #紧急 路口红绿灯全坏了，车辆乱成一团，差点撞到人")
    await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    t = await ticket(world)
    assert (t.status, t.urgency) == ("TRIAGE", "urgent")
    await scan_at(world, when=sh(2026, 9, 30, 20, 31))
    assert len(said(world, DISPATCH_CHAT, "待派单提醒")) == 1
    await scan_at(world, when=sh(2026, 9, 30, 22, 40))  # sla.urgent_nag is 2 h
    await scan_at(world, when=sh(2026, 10, 1, 10, 0))
    assert len(said(world, DISPATCH_CHAT, "待派单提醒")) == 3


async def test_after_a_long_outage_the_rating_reminder_is_not_followed_a_minute_later_by_the_close(world: World):
    # Resolved Mon 11-23; the scheduler was down until 12-03 (past both rating_reminder 2 d and
    # rating_close 7 d). The first scan reminds the resident to rate, the next one (a minute later)
    # closes the ticket as 未评价: the reminder gave them one minute.
    card = await dispatched_to_cgj(world)
    await press(world, HANDLER_A, CGJ_CHAT, card, "签收")
    await press(world, HANDLER_A, CGJ_CHAT, world.sb.message(CGJ_CHAT, card["message_id"]), "办结")
    prompt = await world.reply_from_bot(CGJ_CHAT, contains="办理结果")
    await world.send(HANDLER_A, CGJ_CHAT, "垃圾已清运", reply_to=prompt["message_id"])
    await world.reply_from_bot(COMMUNITY, predicate=has_button("非常满意"))
    await scan_at(world, when=sh(2026, 12, 3, 10, 0))
    await scan_at(world, when=sh(2026, 12, 3, 10, 1))
    kinds = await event_kinds(world)
    assert not ("rating_reminded" in kinds and "closed_unrated" in kinds), kinds
    # The reminder leaves as long as one sent on time would (7 d − 2 d): closed five days after it.
    await scan_at(world, when=sh(2026, 12, 8, 9, 59))
    assert "closed_unrated" not in await event_kinds(world)
    await scan_at(world, when=sh(2026, 12, 8, 10, 1))
    assert (await event_kinds(world))[-1] == "closed_unrated"




async def test_a_refused_extension_tells_the_department_the_deadline_it_must_keep(world: World):
    # "请按原时限办结" without the time: the handler must go and look the deadline up.
    card = await _accepted_with_progress(world)
    await press(world, HANDLER_A, CGJ_CHAT, card, "申请延期")
    prompt = await world.reply_from_bot(CGJ_CHAT, contains="日期")
    await world.send(HANDLER_A, CGJ_CHAT, "需协调车辆，延期至12月10日", reply_to=prompt["message_id"])
    request = await world.reply_from_bot(DISPATCH_CHAT, contains="2026-12-10")
    await press(world, DISPATCHER, DISPATCH_CHAT, request, "不予延期")
    t = await ticket(world)
    assert t.resolve_due.astimezone(SH).strftime("%m-%d %H:%M") == "11-30 09:00"
    [refused] = said(world, CGJ_CHAT, "延期申请未获批准")
    assert "11-30 09:00" in refused, refused
