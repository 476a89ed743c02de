"""Residents' group chats as the neighbours meet them: what the bot says there and what it keeps out, buttons
pressed twice or by someone who left, and the English chats."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.harness import (CGJ_CHAT, CGJ_LEADER, COMMUNITY, DISPATCH_CHAT, DISPATCHER, HANDLER_A, RESIDENT,
                           RESIDENT_2, STRANGER, World)
from tests.steps import (accept, appeal, dispatched, has_button, messages_saying, press, rate, refused, showing,
                         ticket)

EN = {"HUYING_LOCALE": "en"}


def prompts(world: World, chat: int, words: str) -> list[dict]:
    return [m for m in world.sb.bot_messages(chat) if words in (m.get("text") or "")]


async def test_resolve_pressed_twice_asks_for_the_result_once(world: World):
    card = await accept(world, HANDLER_A, CGJ_CHAT, await dispatched(world, "小区门口垃圾三天没人清运了"))
    await press(world, HANDLER_A, CGJ_CHAT, card, "办结")
    again = await press(world, HANDLER_A, CGJ_CHAT, world.sb.message(CGJ_CHAT, card["message_id"]), "办结")
    assert len(prompts(world, CGJ_CHAT, "办理结果")) == 1
    refused(again, "prompt.already_asked")


async def test_reject_pressed_twice_asks_for_the_reason_once(world: World):
    await appeal(world, RESIDENT, "小区门口垃圾三天没人清运了")
    card = await world.reply_from_bot(DISPATCH_CHAT, predicate=has_button("驳回"))
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "驳回")
    n = len(world.sb.bot_messages(DISPATCH_CHAT))
    await press(world, DISPATCHER, DISPATCH_CHAT, world.sb.message(DISPATCH_CHAT, card["message_id"]), "驳回")
    assert len(world.sb.bot_messages(DISPATCH_CHAT)) == n


async def test_a_member_who_left_the_department_chat_cannot_accept(world: World):
    card = await dispatched(world, "小区门口垃圾三天没人清运了")
    # 钱局长 is a member of the chat (not a listed handler): as a member he may act for the department.
    answer = await press(world, CGJ_LEADER, CGJ_CHAT, card, "退单")  # asks for a reason: he counts as staff
    assert not answer.get("show_alert"), answer
    await world.sb.service_message(CGJ_CHAT, from_user=CGJ_LEADER, left_chat_member=CGJ_LEADER)
    await world.settle()
    answer = await press(world, CGJ_LEADER, CGJ_CHAT, world.sb.message(CGJ_CHAT, card["message_id"]), "签收")
    refused(answer, "error.forbidden")
    assert (await ticket(world)).status == "DISPATCHED"


async def _public_response(world: World) -> dict:
    card = await accept(world, HANDLER_A, CGJ_CHAT, await dispatched(world, "小区门口垃圾三天没人清运了，异味很大"))
    from tests.steps import resolve, scan_at
    q = await resolve(world, HANDLER_A, CGJ_CHAT, card, "已安排环卫车清运完毕")
    await rate(world, q, "非常满意")
    await scan_at(world, days=2)
    [pr] = messages_saying(world, COMMUNITY, "正面回应")
    return pr


async def tickets(world: World) -> int:
    from storage.models import Ticket
    return await world.scalar(select(func.count()).select_from(Ticket))


async def test_thanks_and_praise_under_the_public_response_file_no_appeal(world: World):
    # README: "thanks stay unanswered". The 正面回应 ends "感谢大家的监督与支持！" and neighbours answer
    # it in kind; each such word became a ticket, an acknowledgement in the group and a dispatch card.
    pr = await _public_response(world)
    before = len(world.sb.bot_messages(COMMUNITY))
    for who, words in ((STRANGER, "太好了，终于干净了，点赞"), (RESIDENT_2, "效率真高，感谢城管的同志们"),
                       (RESIDENT, "谢谢你们，很满意"), (RESIDENT_2, "非常满意"), (STRANGER, "Thanks, great job!")):
        await world.send(who, COMMUNITY, words, reply_to=pr["message_id"])
        await world.settle()
    assert await tickets(world) == 1
    assert len(world.sb.bot_messages(COMMUNITY)) == before


async def test_a_neighbours_praise_under_the_acknowledgement_files_no_appeal(world: World):
    ack = await appeal(world, RESIDENT, "小区门口垃圾三天没人清运了，异味很大")
    await world.send(STRANGER, COMMUNITY, "给你们点个赞", reply_to=ack["message_id"])
    await world.settle()
    assert await tickets(world) == 1
    assert len(world.sb.bot_messages(COMMUNITY)) == 1


FULL_WIDTH = set("：、（）；，。")


@pytest.mark.parametrize("world", [EN], indirect=True)
async def test_english_cards_carry_no_chinese_punctuation(world: World):
    # An English deployment: the reopened card's reason and the dispatch card's co-departments were
    # joined with "：" and "、" written in the code.
    await appeal(world, RESIDENT, "The lift in building 5 is broken and the elevator smells of garbage")
    card = await world.reply_from_bot(DISPATCH_CHAT, predicate=has_button("Dispatch"))
    assert "co: 城市管理局" in card["text"]  # the catalogue's 物业与房屋 has cgj as co-department
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "Dispatch")
    from tests.harness import ZJJ_CHAT, ZJJ_HANDLER
    dept = await world.reply_from_bot(ZJJ_CHAT, predicate=has_button("Accept"))
    await press(world, ZJJ_HANDLER, ZJJ_CHAT, dept, "Accept")
    await press(world, ZJJ_HANDLER, ZJJ_CHAT, world.sb.message(ZJJ_CHAT, dept["message_id"]), "Resolve")
    ask = await world.reply_from_bot(ZJJ_CHAT, contains="reply to this message with the result")
    await world.send(ZJJ_HANDLER, ZJJ_CHAT, "Repaired the lift motor", reply_to=ask["message_id"])
    q = await showing(world, COMMUNITY, "Unsatisfied")
    await press(world, RESIDENT, COMMUNITY, q, "Unsatisfied")
    await press(world, RESIDENT, COMMUNITY, world.sb.message(COMMUNITY, q["message_id"]), "Other")
    prompt = world.sb.message(COMMUNITY, q["message_id"])
    await world.send(RESIDENT, COMMUNITY, "it broke again the next day", reply_to=prompt["message_id"])
    reopened = await world.reply_from_bot(ZJJ_CHAT, contains="it broke again the next day")
    lines = [ln for m in (reopened, world.sb.message(ZJJ_CHAT, dept["message_id"])) for ln in m["text"].split("\n")
             if "Reason" in ln or "o-department" in ln]
    assert lines and not [ln for ln in lines if FULL_WIDTH & set(ln)], lines


async def test_the_group_is_not_shown_the_code_of_a_private_report_its_appeal_was_merged_into(world: World):
    # Open311 names the ticket a request was merged into only when that ticket is public (README);
    # the neighbours' group read the code of a 举报 made in private with the bot.
    await world.send(RESIDENT_2, RESIDENT_2, "/appeal #举报 有人每晚往小区门口偷倒垃圾，三天没人清运了")
    await world.reply_from_bot(RESIDENT_2, contains="#2026-000001")
    await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    ack = await appeal(world, RESIDENT, "小区门口垃圾三天没人清运了，异味很大")
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000002", predicate=has_button("合并"))
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "合并")
    ask = await world.reply_from_bot(DISPATCH_CHAT, contains="编号")
    await world.send(DISPATCHER, DISPATCH_CHAT, "2026-000001", reply_to=ask["message_id"])
    await world.settle()
    assert (await ticket(world, 2)).status == "MERGED"
    shown = world.sb.message(COMMUNITY, ack["message_id"])["text"]
    assert "#2026-000001" not in shown, shown


@pytest.mark.parametrize("world", [EN], indirect=True)
async def test_an_english_result_shown_in_the_group_masks_the_door_and_the_titled_name(world: World):
    # README: in the group a flat number (3号楼2单元502室 → 3号楼2单元***室) and a titled surname
    # (王先生 → *先生) are masked. The same words written in English reached the neighbours whole.
    await appeal(world, RESIDENT, "garbage piled at the gate for three days")
    card = await world.reply_from_bot(DISPATCH_CHAT, predicate=has_button("Dispatch"))
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "Dispatch")
    dept = await world.reply_from_bot(CGJ_CHAT, predicate=has_button("Accept"))
    await press(world, HANDLER_A, CGJ_CHAT, dept, "Accept")
    await press(world, HANDLER_A, CGJ_CHAT, world.sb.message(CGJ_CHAT, dept["message_id"]), "Resolve")
    ask = await world.reply_from_bot(CGJ_CHAT, contains="reply to this message with the result")
    await world.send(HANDLER_A, CGJ_CHAT, "Cleared the pile; Mr. Wang of Block 3, Flat 502 and Room 1203 confirmed",
                     reply_to=ask["message_id"])
    q = await showing(world, COMMUNITY, "Very satisfied")
    text = q["text"]
    assert "Block 3" in text  # the building stays: it is where the matter is
    assert "502" not in text and "1203" not in text and "Wang" not in text, text


async def test_a_handler_is_not_told_a_progress_note_reached_a_reporter_it_cannot_reach(world: World):
    # The reporter never opened a private chat with the bot: the note stays with the ticket (README:
    # the group's acknowledgement never shows the department's words), yet the handler read
    # "进展已记录并转告诉求人" and believes the resident has it.
    card = await accept(world, HANDLER_A, CGJ_CHAT, await dispatched(world, "小区门口垃圾三天没人清运了"))
    note = await world.send(HANDLER_A, CGJ_CHAT, "已联系环卫所，明早八点前清运", reply_to=card["message_id"])
    said = await world.reply_from_bot(CGJ_CHAT, predicate=lambda m: (m.get("reply_to_message") or {}).get(
        "message_id") == note["message_id"])
    assert RESIDENT not in world.sb.world.chats or not world.sb.bot_messages(RESIDENT)
    assert "转告诉求人" not in said["text"], said["text"]


async def test_a_colleague_cannot_page_someone_elses_mine(world: World):
    from bot.callbacks import Page
    from tests.harness import HANDLER_B
    from tests.steps import press_raw

    await accept(world, HANDLER_A, CGJ_CHAT, await dispatched(world, "小区门口垃圾三天没人清运了"))
    await world.send(HANDLER_A, CGJ_CHAT, "/mine")
    listing = await world.reply_from_bot(CGJ_CHAT, contains="#2026-000001")
    data = Page(listing="mine", page=0).pack()
    answer = await press_raw(world, HANDLER_B, CGJ_CHAT, listing["message_id"], data)
    refused(answer, "page.not_yours")
    assert world.sb.message(CGJ_CHAT, listing["message_id"])["text"] == listing["text"]
    answer = await press_raw(world, HANDLER_A, CGJ_CHAT, listing["message_id"], data)
    assert not answer.get("show_alert"), answer
