"""The dispatchers' working day: extension requests, a date just past, the 不满意台账 after 改派, /duty, a returned
ticket's earlier card."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import Extension
from tests.steps import ZH, has_button, messages_saying, press, refused, ticket
from tests.harness import (
    CGJ_CHAT,
    COMMUNITY,
    DISPATCH_CHAT,
    DISPATCHER,
    HANDLER_A,
    RESIDENT,
    World,
)


async def file_garbage(world: World, text: str = "小区门口垃圾三天没人清运了，异味很大") -> dict:
    await world.send(RESIDENT, COMMUNITY, f"@huying_bot {text}")
    await world.reply_from_bot(COMMUNITY, contains="#2026-")
    return await world.reply_from_bot(DISPATCH_CHAT, predicate=has_button("派单"))


async def dispatched_and_accepted(world: World) -> dict:
    card = await file_garbage(world)
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    dept_card = await world.reply_from_bot(CGJ_CHAT, predicate=has_button("签收"))
    await press(world, HANDLER_A, CGJ_CHAT, dept_card, "签收")
    return world.sb.message(CGJ_CHAT, dept_card["message_id"])


async def ask_extension(world: World, card: dict, words: str, until: str) -> dict:
    await press(world, HANDLER_A, CGJ_CHAT, world.sb.message(CGJ_CHAT, card["message_id"]), "申请延期")
    await world.settle()
    prompt = messages_saying(world, CGJ_CHAT, "申请延期 #", "日期")[-1]  # asked once; a 2nd press points at it
    await world.send(HANDLER_A, CGJ_CHAT, words, reply_to=prompt["message_id"])
    return await world.reply_from_bot(DISPATCH_CHAT, contains=until, predicate=has_button("批准延期"))


# 1. Two extension requests: deciding one rewrites the other's card too.
async def test_deciding_one_extension_leaves_the_other_request_card_open(world: World):
    card = await dispatched_and_accepted(world)
    first = await ask_extension(world, card, "需要协调环卫车辆 2026-12-10", "2026-12-10")
    second = await ask_extension(world, card, "还要等配件到货 2026-12-15", "2026-12-15")
    assert first["message_id"] != second["message_id"]
    await press(world, DISPATCHER, DISPATCH_CHAT, first, "不予延期")
    assert sorted(e.status for e in await world.rows(select(Extension))) == ["pending", "refused"]
    # The first card says it was refused; the second, still pending, keeps its buttons and its own date.
    first_now = world.sb.message(DISPATCH_CHAT, first["message_id"])
    second_now = world.sb.message(DISPATCH_CHAT, second["message_id"])
    assert "2026-12-10" in first_now["text"] and world.sb.buttons(first_now) == []
    assert "2026-12-15" in second_now["text"], second_now["text"]
    assert world.sb.buttons(second_now) == [["批准延期", "不予延期"]], second_now["text"]
    # And it can still be approved.
    answer = await press(world, DISPATCHER, DISPATCH_CHAT, second_now, "批准延期")
    assert not answer.get("show_alert"), answer
    assert (await ticket(world)).resolve_due.date().isoformat() == "2026-12-15"


# 2. A day already past, written without its year, is not a request for the same day next year.
async def test_extension_to_a_day_just_past_is_refused_not_moved_a_year_on(world: World):
    card = await dispatched_and_accepted(world)  # Monday 2026-11-23
    await press(world, HANDLER_A, CGJ_CHAT, card, "申请延期")
    prompt = await world.reply_from_bot(CGJ_CHAT, contains="日期")
    await world.send(HANDLER_A, CGJ_CHAT, "11月20日 等配件到货", reply_to=prompt["message_id"])
    await world.settle()
    # No request reaches the dispatchers (let alone one for 2027-11-20) …
    assert messages_saying(world, DISPATCH_CHAT, "延期申请") == []
    assert await world.rows(select(Extension)) == []
    # … and the handler is asked again for a date.
    assert world.sb.bot_messages(CGJ_CHAT)[-1]["text"] == ZH("extend.bad_date")


# 3. The 不满意台账 names the department the reporter was unhappy with, not the one a 改派 chose next.
async def test_unsatisfied_ledger_keeps_the_department_rated_unsatisfied_after_a_redirect(world: World):
    from tests.test_dispatchers_waiting_and_answers import under_review

    review = await under_review(world)  # 城市管理局 rated 不满意 twice
    await press(world, DISPATCHER, DISPATCH_CHAT, review, "改派其他部门")
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="审核后改派")
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "另选部门")
    await press(world, DISPATCHER, DISPATCH_CHAT, world.sb.message(DISPATCH_CHAT, card["message_id"]), "水务局")
    assert (await ticket(world)).lead_dept == "sw"
    await world.send(DISPATCHER, DISPATCH_CHAT, "/unsatisfied")
    ledger = await world.reply_from_bot(DISPATCH_CHAT, contains="不满意台账")
    line = ledger["text"].split("\n")[1]
    # Both 不满意 were given to 城市管理局's answers; 水务局 has not answered yet.
    assert line.startswith("#2026-000001 · 城市管理局 · 不满意2次"), line


# 4. /duty puts anyone on duty at the dispatch desk: a resident, or a mistyped id nobody has.
@pytest.mark.parametrize("who", [str(RESIDENT), "4001"])
async def test_duty_at_the_dispatch_desk_is_a_dispatcher(world: World, who: str):
    from bot.services import escalation

    await world.send(DISPATCHER, DISPATCH_CHAT, f"/duty {who}")
    answer = await world.reply_from_bot(DISPATCH_CHAT)
    # Nobody who cannot press 派单 is named to the chat as the one who answers urgent appeals.
    assert not answer["text"].startswith("已设置"), answer["text"]
    async with world.app.sessions() as s:
        assert await escalation.on_duty_dispatcher(s, world.app, world.clock()) is None
    # An urgent appeal's card still calls on any dispatcher, not on the resident.
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 紧急！路口井盖丢了，有老人摔倒受伤")
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    assert "未设置值班派单员" in card["text"], card["text"]


# 5. After a 退单 the earlier dispatch card no longer says the ticket is with the department.
async def test_returned_ticket_old_dispatch_card_stops_saying_dispatched(world: World):
    card = await file_garbage(world)
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    dept_card = await world.reply_from_bot(CGJ_CHAT, predicate=has_button("签收"))
    assert world.sb.message(DISPATCH_CHAT, card["message_id"])["text"].endswith("✅ 已派单：城市管理局")
    await press(world, HANDLER_A, CGJ_CHAT, dept_card, "退单")
    prompt = await world.reply_from_bot(CGJ_CHAT, contains="理由")
    await world.send(HANDLER_A, CGJ_CHAT, "不属于我局职责，应由水务局处理", reply_to=prompt["message_id"])
    await world.reply_from_bot(DISPATCH_CHAT, contains="退单（第 1 次）")
    assert (await ticket(world)).status == "TRIAGE"
    old = world.sb.message(DISPATCH_CHAT, card["message_id"])
    assert "✅ 已派单：城市管理局" not in old["text"], old["text"]


async def test_the_lead_department_is_not_its_own_co_department(world: World):
    card = await file_garbage(world)  # the catalogue suggests 城市管理局 to lead
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "协办部门")
    shown = world.sb.message(DISPATCH_CHAT, card["message_id"])
    refused(await press(world, DISPATCHER, DISPATCH_CHAT, shown, "城市管理局"), "co.is_lead")
    assert ((await ticket(world)).route or {}).get("co") == []


async def test_an_extension_whose_day_has_passed_cannot_be_approved(world: World):
    card = await dispatched_and_accepted(world)
    request = await ask_extension(world, card, "需要协调环卫车辆 2026-12-10", "2026-12-10")
    world.clock.advance(days=20)  # the dispatchers get to it after the day it asked for
    answer = await press(world, DISPATCHER, DISPATCH_CHAT, request, "批准延期")
    refused(answer, "ext.day_passed", until="2026-12-10")
    assert [e.status for e in await world.rows(select(Extension))] == ["pending"]
    await press(world, DISPATCHER, DISPATCH_CHAT, world.sb.message(DISPATCH_CHAT, request["message_id"]), "不予延期")
    assert [e.status for e in await world.rows(select(Extension))] == ["refused"]
