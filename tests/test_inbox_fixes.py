"""Found from outside (issue 8): updates that used to fail now get a clear outcome."""
from __future__ import annotations

import logging
import time

import pytest
from sqlalchemy import delete, select

from bot.callbacks import TicketAct
from storage.models import InboxUpdate, MessageLink, Ticket
from tests.harness import ADMIN, COMMUNITY, DISPATCH_CHAT, DISPATCHER, RESIDENT, World
from tests.steps import press


async def inbox_row(world: World, update_id: int) -> InboxUpdate:
    return await world.scalar(select(InboxUpdate).where(InboxUpdate.update_id == update_id))


async def test_entity_offsets_that_split_a_surrogate_pair_do_not_fail_the_update(world: World, caplog):
    caplog.set_level(logging.ERROR)
    text = "😀#报修 小区门口路灯坏了"  # the emoji is two UTF-16 units; the entity starts inside it
    update = await world.sb.inject_update({"message": {
        "message_id": 5001, "date": int(time.time()), "text": text,
        "entities": [{"type": "hashtag", "offset": 1, "length": 4}],
        "chat": {"id": COMMUNITY, "type": "supergroup", "title": "community"},
        "from": {"id": RESIDENT, "is_bot": False, "first_name": "R"}}})
    await world.settle()
    row = await inbox_row(world, update["update_id"])
    assert (row.status, row.error) == ("done", None)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_button_press_without_a_message_gets_a_polite_answer(world: World):
    query = {"id": "inline-1", "from": {"id": RESIDENT, "is_bot": False, "first_name": "R"},
             "chat_instance": "42", "inline_message_id": "AAQ-inline",
             "data": TicketAct(action="dispatch", ticket_id=1).pack()}
    world.sb.callback_queries[query["id"]] = query  # Telegram knows the query it delivers
    update = await world.sb.inject_update({"callback_query": query})
    answer = await world.sb.callback_answer("inline-1")
    await world.settle()
    assert answer["show_alert"] is True and answer["text"] == "这个按钮在这里无法使用，请在机器人发出的消息上操作。"
    assert (await inbox_row(world, update["update_id"])).status == "done"


async def test_role_with_a_huge_user_id_gets_a_clear_answer(world: World):
    msg = await world.send(ADMIN, ADMIN, "/role 99999999999999999999 dispatcher")
    answer = await world.reply_from_bot(ADMIN, contains="99999999999999999999")
    assert answer["text"] == "99999999999999999999 不是有效的 Telegram 用户编号。"
    assert answer["reply_to_message"]["message_id"] == msg["message_id"]


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
    # Decided: only 改类型 / 标紧急 stay on the card while the department works the ticket.
    assert world.sb.buttons(world.sb.message(DISPATCH_CHAT, card["message_id"])) == [["改类型", "标紧急"]]


@pytest.mark.parametrize("world", [{"ALBUM_DEBOUNCE_SECONDS": 0.0}], indirect=True)
async def test_an_album_photo_after_the_ack_went_out_edits_the_ack_to_the_true_count(world: World):
    first = await world.send(RESIDENT, COMMUNITY, photo=True, media_group_id="album-7",
                             caption="@huying_bot 小区门口垃圾三天没人清运了")
    await world.send(RESIDENT, COMMUNITY, photo=True, media_group_id="album-7")
    ack = await world.reply_from_bot(COMMUNITY, contains="#2026-000001")
    await world.settle()
    assert "2 张" in world.sb.message(COMMUNITY, ack["message_id"])["text"]
    # The third photo arrives after the ack was sent.
    await world.send(RESIDENT, COMMUNITY, photo=True, media_group_id="album-7")
    await world.settle()
    text = world.sb.message(COMMUNITY, ack["message_id"])["text"]
    assert "3 张" in text and "2 张" not in text
    assert ack["reply_to_message"]["message_id"] == first["message_id"]
    assert len([m for m in world.sb.bot_messages(COMMUNITY) if "#2026-" in (m.get("text") or "")]) == 1
