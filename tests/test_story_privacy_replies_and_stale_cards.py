"""Stories: privacy in public chats, replies that belong to tickets, stale cards and presses that match no
card, long results, albums."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select

from bot.callbacks import TicketAct
from storage.models import MessageLink, Ticket, TicketEvent
from tests.harness import (
    CGJ_CHAT,
    COMMUNITY,
    DISPATCH_CHAT,
    DISPATCHER,
    HANDLER_A,
    RESIDENT,
    RESIDENT_2,
    SW_CHAT,
    SW_HANDLER,
    World,
)
from tests.steps import inbox_row, press, press_raw, refused, refused_text
from tests.test_story_dispatch import dispatch_and_accept, file_garbage_appeal


async def count_tickets(world: World) -> int:
    return await world.scalar(select(func.count()).select_from(Ticket))


async def test_reporter_thanks_is_a_note_not_a_new_ticket_and_reaches_the_department(world: World):
    await dispatch_and_accept(world)
    # 签收 adds no message to the community chat: the acknowledgement says it (issue #13).
    [note] = world.sb.bot_messages(COMMUNITY)
    assert note["text"].endswith("📌 进度：已签收（城市管理局）")
    thanks = await world.send(RESIDENT, COMMUNITY, "好的谢谢，门口那堆在东侧", reply_to=note["message_id"])
    await world.reply_from_bot(CGJ_CHAT, contains="门口那堆在东侧")
    await world.settle()
    assert world.sb.bot_reaction(COMMUNITY, thanks["message_id"]) == "👌"  # "已补充", without a message
    assert len(world.sb.bot_messages(COMMUNITY)) == 1
    assert await count_tickets(world) == 1
    # Someone else replying to the same note with a matter of their own raises it ("我们楼下也有垃圾"
    # would be 附议: the same matter, issue #11).
    await world.send(RESIDENT_2, COMMUNITY, "楼道里的灯坏了一个月了也没人修", reply_to=note["message_id"])
    await world.reply_from_bot(COMMUNITY, contains="#2026-000002")
    assert await count_tickets(world) == 2


async def test_public_chats_get_no_appeal_details(world: World):
    await world.send(RESIDENT, RESIDENT, "/appeal 我要举报邻居在家开设赌场")
    await world.reply_from_bot(RESIDENT, contains="#2026-000001")
    await world.send(DISPATCHER, COMMUNITY, "/ticket #2026-000001")
    view = await world.reply_from_bot(COMMUNITY, contains="#2026-000001")
    # Not even its kind (举报) or its history: a pointer to the private chat, the same for a
    # ticket that does not exist.
    refused_text(view["text"], "ticket.in_private", code="#2026-000001")
    assert view["reply_markup"]["inline_keyboard"] == [
        [{"text": "私聊查看进展", "url": "https://t.me/huying_bot?start=t2026-000001"}]]
    await world.send(RESIDENT_2, COMMUNITY, "/ticket 2026-000099")
    nothing = await world.reply_from_bot(COMMUNITY, contains="#2026-000099")
    refused_text(nothing["text"], "ticket.in_private", code="#2026-000099")
    await world.send(DISPATCHER, COMMUNITY, "/queue")
    refused = await world.reply_from_bot(COMMUNITY)
    assert "赌场" not in refused["text"]
    await world.send(RESIDENT, COMMUNITY, "/my")
    assert "私聊" in (await world.reply_from_bot(COMMUNITY))["text"]


async def test_phone_numbers_in_results_are_masked_in_the_community_chat(world: World):
    card = await dispatch_and_accept(world)
    await press(world, HANDLER_A, CGJ_CHAT, card, "办结")
    prompt = await world.reply_from_bot(CGJ_CHAT, contains="办理结果")
    await world.send(HANDLER_A, CGJ_CHAT, "已清运，有问题联系13812345678", reply_to=prompt["message_id"])
    told = await world.reply_from_bot(COMMUNITY, contains="已清运")
    assert "13812345678" not in told["text"]


async def test_a_refused_answer_can_be_answered_again_by_replying_to_the_refusal(world: World):
    card = await dispatch_and_accept(world)
    await press(world, HANDLER_A, CGJ_CHAT, card, "申请延期")
    prompt = await world.reply_from_bot(CGJ_CHAT, contains="日期")
    await world.send(HANDLER_A, CGJ_CHAT, "需要协调车辆", reply_to=prompt["message_id"])
    refusal = await world.reply_from_bot(CGJ_CHAT, contains="2026-12-05")
    await world.send(HANDLER_A, CGJ_CHAT, "需要协调车辆 2026-12-10", reply_to=refusal["message_id"])
    await world.reply_from_bot(DISPATCH_CHAT, contains="2026-12-10")


async def test_an_old_department_card_stays_disarmed_after_return_and_redispatch(world: World):
    card = await file_garbage_appeal(world)
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    old = await world.reply_from_bot(CGJ_CHAT, predicate=lambda m: "退单" in str(world.sb.buttons(m)))
    await press(world, HANDLER_A, CGJ_CHAT, old, "退单")
    prompt = await world.reply_from_bot(CGJ_CHAT, contains="理由")
    await world.send(HANDLER_A, CGJ_CHAT, "属于水务局的排水设施", reply_to=prompt["message_id"])
    new_card = await world.reply_from_bot(DISPATCH_CHAT, contains="排水设施")
    await press(world, DISPATCHER, DISPATCH_CHAT, new_card, "另选部门")
    await press(world, DISPATCHER, DISPATCH_CHAT, world.sb.message(DISPATCH_CHAT, new_card["message_id"]), "水务局")
    sw_card = await world.reply_from_bot(SW_CHAT, predicate=lambda m: "签收" in str(world.sb.buttons(m)))
    await press(world, SW_HANDLER, SW_CHAT, sw_card, "签收")
    assert world.sb.buttons(world.sb.message(CGJ_CHAT, old["message_id"])) == []


async def test_co_department_confirms_once(world: World):
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 小区电梯坏了三天，物业不管")
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    co_card = await world.reply_from_bot(CGJ_CHAT, predicate=lambda m: "协办签收" in str(world.sb.buttons(m)))
    stale = co_card["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await press(world, HANDLER_A, CGJ_CHAT, co_card, "协办签收")
    refused(await press_raw(world, HANDLER_A, CGJ_CHAT, co_card["message_id"], stale), "coaccept.already")
    events = await world.rows(select(TicketEvent).where(TicketEvent.kind == "co_accepted"))
    assert len(events) == 1


@pytest.mark.parametrize("world", [{"org_patch": {"dispatch": {"auto": True}}}], indirect=True)
async def test_auto_dispatch_to_a_department_whose_chat_is_gone_falls_back_to_a_dispatcher(world: World):
    async with world.app.sessions() as s:
        from storage import directory

        (await directory.chat(s, CGJ_CHAT)).active = False
        await s.commit()
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 小区门口垃圾三天没人清运，异味很大")
    await world.reply_from_bot(COMMUNITY, contains="#2026-000001")
    await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    assert (await world.scalar(select(Ticket))).status == "TRIAGE"


async def test_a_result_longer_than_telegram_allows_still_reaches_the_reporter(world: World):
    card = await dispatch_and_accept(world)
    await press(world, HANDLER_A, CGJ_CHAT, card, "办结")
    prompt = await world.reply_from_bot(CGJ_CHAT, contains="办理结果")
    await world.send(HANDLER_A, CGJ_CHAT, "已清运。" + "详细情况说明，" * 700, reply_to=prompt["message_id"])
    told = await world.reply_from_bot(COMMUNITY, contains="已清运")
    assert len(told["text"]) <= 4096
    assert len((await world.scalar(select(Ticket))).result_text) > 4096


async def test_resolve_with_an_album_of_after_photos_keeps_every_photo(world: World):
    from storage.models import Attachment

    card = await dispatch_and_accept(world)
    await press(world, HANDLER_A, CGJ_CHAT, card, "办结")
    prompt = await world.reply_from_bot(CGJ_CHAT, contains="办理结果")
    await world.sb.user_sends_album(HANDLER_A, CGJ_CHAT, count=3, caption="垃圾已清运，现场照片如下",
                                    reply_to=prompt["message_id"])
    await world.reply_from_bot(COMMUNITY, contains="垃圾已清运")
    await world.settle()
    results = await world.rows(select(Attachment).where(Attachment.source == "result"))
    assert len(results) == 3
    assert (await world.scalar(select(Ticket))).status == "RESOLVED"
    # Nothing was refused along the way.
    assert not any("请回复办理结果" in (m.get("text") or "") for m in world.sb.bot_messages(CGJ_CHAT)[-4:])


async def test_a_button_press_without_a_message_gets_a_polite_answer(world: World):
    query = {"id": "inline-1", "from": {"id": RESIDENT, "is_bot": False, "first_name": "R"},
             "chat_instance": "42", "inline_message_id": "AAQ-inline",
             "data": TicketAct(action="dispatch", ticket_id=1).pack()}
    world.sb.callback_queries[query["id"]] = query  # Telegram knows the query it delivers
    update = await world.sb.inject_update({"callback_query": query})
    answer = await world.sb.callback_answer("inline-1")
    await world.settle()
    refused(answer, "error.button_gone")
    assert (await inbox_row(world, update["update_id"])).status == "done"


async def test_a_card_pressed_before_its_link_is_written_is_edited_too(world: World):
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 小区门口垃圾三天没人清运了，异味很大")
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="城市管理局")
    assert ["派单", "另选部门"] in world.sb.buttons(card)
    # The instant between Telegram's answer to the send and the outbox writing the link.
    async with world.app.sessions() as s:
        await s.execute(delete(MessageLink).where(MessageLink.chat_id == DISPATCH_CHAT,
                                                  MessageLink.message_id == card["message_id"]))
        await s.commit()
    answer = await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    assert not answer.get("show_alert")
    t = await world.scalar(select(Ticket))
    assert t.status == "DISPATCHED"
    # Only 改类型 / 标紧急 stay on the card while the department works the ticket.
    assert world.sb.buttons(world.sb.message(DISPATCH_CHAT, card["message_id"])) == [["改类型", "标紧急"]]
