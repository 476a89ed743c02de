"""Stories: 派单 → 签收 → 办理 → 办结, and everything a dispatcher or handler may refuse (issue 3)."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from storage.models import Attachment, Extension
from tests.steps import ZH, ack_line, lose_chat, press, press_raw, refused, ticket
from tests.steps import event_kinds as events
from tests.harness import (
    CGJ_CHAT,
    COMMUNITY,
    DISPATCH_CHAT,
    DISPATCHER,
    HANDLER_A,
    HANDLER_B,
    RESIDENT,
    RESIDENT_2,
    STRANGER,
    SW_CHAT,
    SW_HANDLER,
    ZJJ_CHAT,
    World,
)


async def file_garbage_appeal(world: World, text: str = "小区门口垃圾三天没人清运了，异味很大") -> dict:
    await world.sb.user_sends_album(RESIDENT, COMMUNITY, count=2, caption=f"@huying_bot {text}")
    await world.reply_from_bot(COMMUNITY, contains="#2026-")
    return await world.reply_from_bot(DISPATCH_CHAT, contains="城市管理局")


async def dispatch_and_accept(world: World) -> dict:
    card = await file_garbage_appeal(world)
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    dept_card = await world.reply_from_bot(CGJ_CHAT, predicate=lambda m: "签收" in str(world.sb.buttons(m)))
    answer = await press(world, HANDLER_A, CGJ_CHAT, dept_card, "签收")
    assert not answer.get("show_alert")
    return world.sb.message(CGJ_CHAT, dept_card["message_id"])


async def test_full_loop_dispatch_accept_progress_resolve(world: World):
    card = await file_garbage_appeal(world)
    await world.settle()  # the album's second photo may come after the card was written
    # The dispatch card explains the suggestion: department, keywords, photo count (the exact
    # lines: a bare "2" would also be found in the ticket code).
    lines = world.sb.message(DISPATCH_CHAT, card["message_id"])["text"].split("\n")
    assert "照片：2 张" in lines
    assert "建议派往：城市管理局（市容环卫；协办：-）" in lines
    assert any(line.startswith("置信度 ") and "依据：" in line and "垃圾" in line for line in lines)
    assert ["派单", "另选部门"] in world.sb.buttons(card)
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    # The department chat gets the photos (an album) and the card with 签收 / 退单.
    dept_card = await world.reply_from_bot(CGJ_CHAT, predicate=lambda m: "签收" in str(world.sb.buttons(m)))
    assert world.sb.buttons(dept_card) == [["签收", "退单"]]
    assert any(m.get("media_group_id") for m in world.sb.transcript(CGJ_CHAT))
    # The community chat sees it on the acknowledgement, without personal data.
    await world.settle()
    assert ack_line(world) == "📌 进度：已派单（城市管理局）"
    assert len(world.sb.bot_messages(COMMUNITY)) == 1
    t = await ticket(world)
    assert t.status == "DISPATCHED" and t.lead_dept == "cgj" and t.accept_due and t.resolve_due

    await press(world, HANDLER_A, CGJ_CHAT, dept_card, "签收")
    updated = world.sb.message(CGJ_CHAT, dept_card["message_id"])
    assert "李承办" in updated["text"] and world.sb.buttons(updated) == [["办结", "申请延期"]]
    assert (await ticket(world)).owner_id == HANDLER_A

    # Progress by replying to the card, with a photo: recorded and passed on.
    await world.send(HANDLER_A, CGJ_CHAT, photo=True, caption="已联系环卫所，今天下午清运", reply_to=dept_card["message_id"])
    await world.reply_from_bot(CGJ_CHAT, contains="进展")
    assert ack_line(world) == "📌 进度：办理中（城市管理局）"
    assert not any("今天下午清运" in m["text"] for m in world.sb.bot_messages(COMMUNITY))

    # 办结 asks for the result by reply; after-photos reach the reporter.
    await press(world, HANDLER_A, CGJ_CHAT, updated, "办结")
    prompt = await world.reply_from_bot(CGJ_CHAT, contains="办理结果")
    await world.send(HANDLER_A, CGJ_CHAT, photo=True, caption="垃圾已全部清运，并增加了一个垃圾桶",
                     reply_to=prompt["message_id"])
    await world.reply_from_bot(COMMUNITY, contains="垃圾已全部清运")  # the rating request says what was done
    t = await ticket(world)
    assert t.status == "RESOLVED" and "清运" in t.result_text
    results = await world.rows(select(Attachment).where(Attachment.source == "result"))
    assert len(results) == 1
    # The department's photos go to the reporter in private only, never to the neighbours.
    assert not any(m.get("photo") for m in world.sb.bot_messages(COMMUNITY))
    assert (await events(world))[:6] == ["created", "triage", "dispatched", "accepted", "progress", "resolved"]


async def test_two_handlers_press_accept_at_once_make_one_owner(world: World):
    card = await file_garbage_appeal(world)
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    dept_card = await world.reply_from_bot(CGJ_CHAT, predicate=lambda m: "签收" in str(world.sb.buttons(m)))
    q1 = await world.sb.press(HANDLER_A, CGJ_CHAT, dept_card["message_id"], "签收")
    q2 = await world.sb.press(HANDLER_B, CGJ_CHAT, dept_card["message_id"], "签收")
    a1, a2 = await asyncio.gather(world.sb.callback_answer(q1), world.sb.callback_answer(q2))
    await world.settle()
    assert sorted([bool(a1.get("show_alert")), bool(a2.get("show_alert"))]) == [False, True]
    [lost] = [a for a in (a1, a2) if a.get("show_alert")]
    winner = "李承办" if not a1.get("show_alert") else "赵承办"
    # Read after the winner committed: stale; read before it (PostgreSQL): who was first.
    assert lost["text"] in (ZH("error.stale"), ZH("accept.taken", name=winner))
    assert (await events(world)).count("accepted") == 1
    assert (await ticket(world)).owner_id in (HANDLER_A, HANDLER_B)


async def test_unauthorised_presses_change_nothing(world: World):
    card = await file_garbage_appeal(world)
    # A resident who is not a dispatcher presses 派单 (e.g. the card was forwarded).
    answer = await press(world, RESIDENT, DISPATCH_CHAT, card, "派单")
    refused(answer, "error.forbidden")
    assert (await ticket(world)).status == "TRIAGE"
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    dept_card = await world.reply_from_bot(CGJ_CHAT, predicate=lambda m: "签收" in str(world.sb.buttons(m)))
    # Someone outside the department (water bureau handler) presses 签收 in the cgj chat.
    world.sb.add_member(CGJ_CHAT, SW_HANDLER, "left")
    answer = await press(world, SW_HANDLER, CGJ_CHAT, dept_card, "签收")
    refused(answer, "error.forbidden")
    assert (await ticket(world)).status == "DISPATCHED"
    # A stale button: 派单 pressed again on an old copy of the card after dispatch.
    stale = card["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    refused(await press_raw(world, DISPATCHER, DISPATCH_CHAT, card["message_id"], stale), "error.stale")
    # Forged callback data.
    refused(await press_raw(world, HANDLER_A, CGJ_CHAT, dept_card["message_id"], "t:accept:999999"),
            "error.bad_button")
    refused(await press_raw(world, HANDLER_A, CGJ_CHAT, dept_card["message_id"], "garbage!!"), "error.bad_button")
    assert (await ticket(world)).status == "DISPATCHED"


async def test_chat_member_counts_as_handler(world: World):
    card = await file_garbage_appeal(world)
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    dept_card = await world.reply_from_bot(CGJ_CHAT, predicate=lambda m: "签收" in str(world.sb.buttons(m)))
    world.sb.add_user(20077, "新同事")
    world.sb.add_member(CGJ_CHAT, 20077, "member")
    answer = await press(world, 20077, CGJ_CHAT, dept_card, "签收")
    assert not answer.get("show_alert")
    assert (await ticket(world)).owner_id == 20077


async def test_return_needs_a_reason_then_goes_back_to_dispatch_and_is_redispatched(world: World):
    card = await file_garbage_appeal(world)
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    dept_card = await world.reply_from_bot(CGJ_CHAT, predicate=lambda m: "退单" in str(world.sb.buttons(m)))
    await press(world, HANDLER_A, CGJ_CHAT, dept_card, "退单")
    prompt = await world.reply_from_bot(CGJ_CHAT, contains="理由")
    await world.send(HANDLER_A, CGJ_CHAT, "。", reply_to=prompt["message_id"])
    await world.reply_from_bot(CGJ_CHAT, contains="理由")
    assert (await ticket(world)).status == "DISPATCHED"
    await world.send(HANDLER_A, CGJ_CHAT, "该路段属于水务局管辖的排水设施", reply_to=prompt["message_id"])
    new_card = await world.reply_from_bot(DISPATCH_CHAT, contains="水务局管辖")
    t = await ticket(world)
    assert t.status == "TRIAGE" and t.returns_count == 1
    assert "1" in new_card["text"]
    # Re-dispatch to another department with "另选部门".
    await press(world, DISPATCHER, DISPATCH_CHAT, new_card, "另选部门")
    picker = world.sb.message(DISPATCH_CHAT, new_card["message_id"])
    await press(world, DISPATCHER, DISPATCH_CHAT, picker, "水务局")
    await world.reply_from_bot(SW_CHAT, predicate=lambda m: "签收" in str(world.sb.buttons(m)))
    t = await ticket(world)
    assert t.status == "DISPATCHED" and t.lead_dept == "sw"


async def test_merge_into_another_ticket(world: World):
    await file_garbage_appeal(world)
    await world.send(RESIDENT_2, COMMUNITY, "@huying_bot 门口垃圾堆了好几天没人清运")
    await world.reply_from_bot(COMMUNITY, contains="#2026-000002")
    card2 = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000002")
    await press(world, DISPATCHER, DISPATCH_CHAT, card2, "合并")
    prompt = await world.reply_from_bot(DISPATCH_CHAT, contains="编号")
    await world.send(DISPATCHER, DISPATCH_CHAT, "#2026-000002", reply_to=prompt["message_id"])
    await world.reply_from_bot(DISPATCH_CHAT, contains="本身")
    await world.send(DISPATCHER, DISPATCH_CHAT, "#2026-000001", reply_to=prompt["message_id"])
    await world.reply_from_bot(DISPATCH_CHAT, contains="已合并")
    t2 = await ticket(world, 2)
    assert t2.status == "MERGED" and t2.merged_into_id == 1
    await world.settle()
    assert ack_line(world, 1) == "📌 进度：与 #2026-000001 为同一问题，已合并办理"
    # The merged reporter follows the surviving ticket: once in private, they hear when it is dispatched.
    await world.sb.open_link(RESIDENT_2, COMMUNITY, world.sb.bot_messages(COMMUNITY)[1]["message_id"], "私聊查看进展")
    await world.reply_from_bot(RESIDENT_2, contains="#2026-000002")
    card1 = next(m for m in world.sb.bot_messages(DISPATCH_CHAT) if "#2026-000001" in m["text"])
    await press(world, DISPATCHER, DISPATCH_CHAT, card1, "派单")
    news = await world.reply_from_bot(RESIDENT_2, contains="城市管理局")
    assert "#2026-000001" in news["text"]
    assert len(world.sb.bot_messages(COMMUNITY)) == 2


async def test_co_department_gets_an_information_card(world: World):
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 小区电梯坏了三天，物业不管")
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    assert "住房和城乡建设局" in card["text"]
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    co_card = await world.reply_from_bot(CGJ_CHAT, predicate=lambda m: "协办签收" in str(world.sb.buttons(m)))
    await world.reply_from_bot(ZJJ_CHAT, predicate=lambda m: "签收" in str(world.sb.buttons(m)))
    answer = await press(world, HANDLER_A, CGJ_CHAT, co_card, "协办签收")
    assert not answer.get("show_alert")
    assert "co_accepted" in await events(world)


async def test_divert_and_reject(world: World):
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 我要起诉前房东，法院怎么立案")
    await world.reply_from_bot(COMMUNITY, contains="#2026-000001")
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "分流")
    picker = world.sb.message(DISPATCH_CHAT, card["message_id"])
    await press(world, DISPATCHER, DISPATCH_CHAT, picker, "诉讼")
    assert (await ticket(world)).status == "DIVERTED"
    assert ack_line(world) == "📌 进度：不属于本平台受理范围，已告知办理渠道"
    # Where to go instead is told in private, behind the acknowledgement's button.
    await world.sb.open_link(RESIDENT, COMMUNITY, world.sb.bot_messages(COMMUNITY)[0]["message_id"], "私聊查看进展")
    told = await world.reply_from_bot(RESIDENT, contains="法院")
    assert "12368" in told["text"]

    await world.send(RESIDENT_2, COMMUNITY, "@huying_bot 哈哈哈哈测试一下")
    await world.reply_from_bot(COMMUNITY, contains="#2026-000002")
    card2 = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000002")
    await press(world, DISPATCHER, DISPATCH_CHAT, card2, "驳回")
    prompt = await world.reply_from_bot(DISPATCH_CHAT, contains="理由")
    await world.send(DISPATCHER, DISPATCH_CHAT, "测试消息，不是诉求", reply_to=prompt["message_id"])
    await world.reply_from_bot(DISPATCH_CHAT, contains="已驳回")
    assert (await ticket(world, 2)).status == "REJECTED"
    assert ack_line(world, 1) == "📌 进度：未予受理"
    await world.sb.open_link(RESIDENT_2, COMMUNITY, world.sb.bot_messages(COMMUNITY)[1]["message_id"], "私聊查看进展")
    await world.reply_from_bot(RESIDENT_2, contains="测试消息，不是诉求")
    assert not any("测试消息" in m["text"] for m in world.sb.bot_messages(COMMUNITY))


@pytest.mark.parametrize("decision", ["批准延期", "不予延期"])
async def test_extension_approved_or_refused(world: World, decision: str):
    card = await dispatch_and_accept(world)
    before = (await ticket(world)).resolve_due
    await press(world, HANDLER_A, CGJ_CHAT, card, "申请延期")
    prompt = await world.reply_from_bot(CGJ_CHAT, contains="日期")
    await world.send(HANDLER_A, CGJ_CHAT, "需要协调环卫车辆 2026-12-10", reply_to=prompt["message_id"])
    request = await world.reply_from_bot(DISPATCH_CHAT, contains="2026-12-10")
    # A handler may not decide on their own extension.
    refused(await press(world, HANDLER_A, DISPATCH_CHAT, request, decision), "error.forbidden")
    await press(world, DISPATCHER, DISPATCH_CHAT, request, decision)
    await world.reply_from_bot(CGJ_CHAT, contains="#2026-000001")
    after = (await ticket(world)).resolve_due
    ext = (await world.rows(select(Extension)))[0]
    if decision == "批准延期":
        assert ext.status == "approved" and after.date().isoformat() == "2026-12-10"
    else:
        assert ext.status == "refused" and after == before


async def test_replies_that_are_not_progress(world: World):
    card = await file_garbage_appeal(world)
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    dept_card = await world.reply_from_bot(CGJ_CHAT, predicate=lambda m: "签收" in str(world.sb.buttons(m)))
    # Progress before 签收 is refused politely and recorded nowhere.
    await world.send(HANDLER_B, CGJ_CHAT, "我们明天去看看", reply_to=dept_card["message_id"])
    await world.reply_from_bot(CGJ_CHAT, contains="签收")
    # A reply to a colleague's message is ordinary chatter: no answer, no event.
    chatter = await world.send(HANDLER_A, CGJ_CHAT, "今天谁值班？")
    await world.send(HANDLER_B, CGJ_CHAT, "我", reply_to=chatter["message_id"])
    await world.settle()
    assert "progress" not in await events(world)
    assert world.sb.last_bot_message(CGJ_CHAT)["text"].startswith("请先签收")
    # In the dispatch chat, a reply to the card points at the buttons.
    await world.send(DISPATCHER, DISPATCH_CHAT, "这个我看看", reply_to=card["message_id"])
    await world.reply_from_bot(DISPATCH_CHAT, contains="按钮")


async def test_queue_and_open_lists(world: World):
    await file_garbage_appeal(world)
    await world.send(DISPATCHER, DISPATCH_CHAT, "/queue")
    listing = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    assert "待派单" in listing["text"]
    await world.send(RESIDENT, COMMUNITY, "/queue")
    await world.reply_from_bot(COMMUNITY, contains="权限")
    await world.send(HANDLER_A, CGJ_CHAT, "/open")
    await world.reply_from_bot(CGJ_CHAT, contains="暂无")


async def test_department_without_chat_cannot_be_dispatched(world: World):
    card = await file_garbage_appeal(world)
    await lose_chat(world, CGJ_CHAT)
    answer = await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    refused(answer, "dispatch.no_chat", dept="城市管理局")
    assert (await ticket(world)).status == "TRIAGE"


async def test_consultation_answered_from_knowledge_base_then_not_helpful(world: World):
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 请问居住证怎么办理？")
    answer = await world.reply_from_bot(COMMUNITY, contains="派出所")
    assert (await ticket(world)).status == "ANSWERED"
    # Someone else cannot reopen it.
    refused(await press(world, STRANGER, COMMUNITY, answer, "没有解决我的问题"), "nohelp.not_yours")
    await press(world, RESIDENT, COMMUNITY, answer, "没有解决我的问题")
    await world.reply_from_bot(DISPATCH_CHAT, contains="居住证")
    assert (await ticket(world)).status == "TRIAGE"


@pytest.mark.parametrize("world", [{"org_patch": {"dispatch": {"auto": True}}}], indirect=True)
async def test_auto_dispatch_sends_confident_matches_straight_to_the_department(world: World):
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 小区门口垃圾三天没人清运，异味很大")
    await world.reply_from_bot(CGJ_CHAT, predicate=lambda m: "签收" in str(world.sb.buttons(m)))
    assert (await ticket(world)).status == "DISPATCHED"
    # Something the catalogue cannot place still goes to a dispatcher.
    await world.send(RESIDENT_2, COMMUNITY, "@huying_bot 我想反映一个情况，说不清楚归谁管")
    await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000002")
    assert (await ticket(world, 2)).status == "TRIAGE"
