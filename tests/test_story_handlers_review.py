"""A department's own chat through a working week (承办单位: handlers, the department head) — a review
from outside. Each test states what the department, or the resident it serves, should see."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from storage.models import Attachment
from tests.harness import (
    CGJ_CHAT,
    COMMUNITY,
    DISPATCH_CHAT,
    DISPATCHER,
    HANDLER_A,
    HANDLER_B,
    RESIDENT_2,
    SW_CHAT,
    SW_HANDLER,
    World,
)
from tests.steps import ZH, accept, dispatched, event_kinds, has_button, press, sh, showing, submit_result, ticket

GARBAGE = "小区门口垃圾三天没人清运了，异味很大"


def _sheet(world: World, msg: dict) -> list[list[object]]:
    data = world.sb.world.files[msg["document"]["file_id"]].data
    return [list(r) for r in load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True)]


# 1. An album of progress photos sent without a caption, in reply to the card, is lost in silence.

async def test_a_captionless_album_of_progress_photos_is_kept_and_answered(world: World):
    """A handler on site sends three photos of the work as one album in reply to the card, with no words
    (the README: "reply to any ticket message to report progress", the card: "文字、照片"). A single
    photo so sent is a progress note; an album of three must be one too. On the code as reviewed each
    wordless album item is parked in the media buffer waiting for a captioned sibling that never comes:
    no progress is recorded, the photos never reach the ticket, and the handler gets no answer at all."""
    card = await accept(world, HANDLER_A, CGJ_CHAT, await dispatched(world, GARBAGE))
    await world.sb.user_sends_album(HANDLER_A, CGJ_CHAT, count=3, reply_to=card["message_id"])
    await world.settle()
    photos = await world.rows(select(Attachment).where(Attachment.ticket_id == 1, Attachment.source == "progress"))
    assert len(photos) == 3
    assert (await event_kinds(world)).count("progress") == 1
    # The handler hears that the note was recorded, as for a single photo.
    answers = [m for m in world.sb.bot_messages(CGJ_CHAT) if m.get("text") in (ZH("done.progress"),
                                                                               ZH("done.progress_kept"))]
    assert len(answers) == 1


# 2. After-photos sent as an album in reply to the 办结 prompt, then the result in words: the photos vanish.

async def test_after_photos_sent_before_the_result_words_reach_the_result(world: World):
    """The 办结 prompt asks for "办理结果，并附上整改后的照片". A handler answers it the way Telegram
    users do: the after-photos first (an album, no caption), then the result in words. The album is
    parked and forgotten: the ticket is resolved with no result photos, and the resident never sees the
    after-photos they are asked to judge (DESIGN §4: "the reporter gets the result (text and photos)")."""
    card = await accept(world, HANDLER_A, CGJ_CHAT, await dispatched(world, GARBAGE))
    await press(world, HANDLER_A, CGJ_CHAT, card, "办结")
    prompt = await world.reply_from_bot(CGJ_CHAT, contains="办理结果")
    await world.sb.user_sends_album(HANDLER_A, CGJ_CHAT, count=2, reply_to=prompt["message_id"])
    await world.settle()
    await world.send(HANDLER_A, CGJ_CHAT, "垃圾已全部清运，现场已消杀", reply_to=prompt["message_id"])
    await world.settle()
    assert (await ticket(world)).status == "RESOLVED"
    photos = await world.rows(select(Attachment).where(Attachment.ticket_id == 1,
                                                       Attachment.source.in_(("result", "progress"))))
    assert len(photos) == 2


# 3. A department's /export feedback credits it with another department's result and handler.

async def test_department_feedback_export_does_not_credit_it_with_the_next_departments_result(world: World):
    """城市管理局 returns (退单) a ticket that is not theirs; the dispatcher sends it to 水务局, whose
    handler 孙水务 resolves it. 城管局's own 解决反馈表 (`/export feedback` in its chat, "a department chat
    gets its own department's rows") lists the ticket under 城市管理局 with 水务局's result and 水务局's
    handler as 城管局's contact — the department is credited with work it never did, and a ledger handed
    upward says so. Its row may list the transfer, but the result and the contact are not its own."""
    card = await dispatched(world, "小区门口垃圾泡在积水里没人清运，异味很大")
    await press(world, HANDLER_A, CGJ_CHAT, card, "退单")
    prompt = await world.reply_from_bot(CGJ_CHAT, contains="理由")
    await world.send(HANDLER_A, CGJ_CHAT, "下水道属水务局职责", reply_to=prompt["message_id"])
    new_card = await world.reply_from_bot(DISPATCH_CHAT, contains="下水道属水务局职责")
    await press(world, DISPATCHER, DISPATCH_CHAT, new_card, "另选部门")
    await press(world, DISPATCHER, DISPATCH_CHAT, world.sb.message(DISPATCH_CHAT, new_card["message_id"]), "水务局")
    sw_card = await world.reply_from_bot(SW_CHAT, predicate=has_button("签收"))
    sw_card = await accept(world, SW_HANDLER, SW_CHAT, sw_card)
    await press(world, SW_HANDLER, SW_CHAT, sw_card, "办结")
    sw_prompt = await world.reply_from_bot(SW_CHAT, contains="办理结果")
    await world.send(SW_HANDLER, SW_CHAT, "水务局已疏通管道", reply_to=sw_prompt["message_id"])
    await world.settle()
    assert (await ticket(world)).status == "RESOLVED"

    await world.send(HANDLER_A, CGJ_CHAT, "/export feedback")
    rows = _sheet(world, await world.reply_from_bot(CGJ_CHAT, predicate=lambda m: "document" in m))
    mine = rows[3:]
    # Whatever 城管局's row says, it is not 水务局's result nor 水务局's handler under 城管局's name.
    assert [r for r in mine if r[4] == "水务局已疏通管道" or "孙水务" in str(r[6] or "")] == []


# 4. /ticket in the department chat calls a 签收 made on time "已超时".

async def test_ticket_lookup_does_not_call_a_met_deadline_overdue(world: World):
    """李承办 signed (签收) on Monday morning, within the day allowed, and reported progress at once. On
    Wednesday a colleague types `/ticket` in the department chat to read the case before going out:
    the answer says 签收时限：2026-11-24 09:00（已超时）— the department is told it missed a deadline it met
    (the card itself, rightly, no longer shows the accept clock once signed; the ledgers and /cards
    record no miss). A met deadline is shown as met, or not at all; the resolve deadline, still ahead,
    stays as it is."""
    card = await accept(world, HANDLER_A, CGJ_CHAT, await dispatched(world, GARBAGE))
    await world.send(HANDLER_A, CGJ_CHAT, "已安排环卫车，今天下午清运", reply_to=card["message_id"])
    await world.settle()
    world.clock.set(sh(2026, 11, 25, 10, 0))  # Wednesday: after the accept deadline, before the resolve one
    await world.send(HANDLER_B, CGJ_CHAT, "/ticket #2026-000001")
    answer = await world.reply_from_bot(CGJ_CHAT, contains="工单 #2026-000001")
    lines = answer["text"].splitlines()
    assert ZH("ticket.deadline_overdue", clock=ZH("clock.accept"), when="2026-11-24 09:00") not in lines, lines
    assert ZH("ticket.deadline", clock=ZH("clock.resolve"), when="2026-11-30 09:00") in lines, lines


# 5. A door written the way residents and handlers write it ("3-502") reaches the neighbours' chat.

@pytest.mark.parametrize("result, door", [
    ("已上门与3-502业主沟通，门口垃圾已清运", "502"),
    ("Rubbish cleared; the owner of unit 3-1204 was told", "1204"),
], ids=["zh-3-502", "en-unit-3-1204"])
async def test_the_rating_request_in_the_group_masks_a_dashed_door_number(world: World, result: str, door: str):
    """The handler's result is shown to the whole community chat with the rating request, and the README
    promises "a flat number such as 3号楼2单元502室 → 3号楼2单元***室" masked there (3-2-502 is). The
    everyday short form 楼号-门牌 ("3-502", "unit 3-1204") passes whole: in Chinese nothing matches it,
    and in English the flat pattern masks the building ("unit ***-1204") and shows the door — the
    neighbours learn which flat complained."""
    card = await accept(world, HANDLER_A, CGJ_CHAT, await dispatched(world, GARBAGE))
    await press(world, HANDLER_A, CGJ_CHAT, card, "办结")
    prompt = await world.reply_from_bot(CGJ_CHAT, contains="办理结果")
    await world.send(HANDLER_A, CGJ_CHAT, result, reply_to=prompt["message_id"])
    question = await showing(world, COMMUNITY, "非常满意")
    assert door not in question["text"], question["text"]


# 6. An appeal merged into a ticket the department is working never reaches the department.

async def test_the_department_at_work_hears_of_an_appeal_merged_into_its_ticket(world: World):
    """城管局 has signed for #1 (rubbish at the gate). A second resident reports the same pile, saying
    exactly where it is ("在3号楼东侧"); the dispatcher merges #2 into #1. The README: "Merging keeps
    everyone informed … a department already at work gets the photos at once" — but an appeal without
    photos gives the department nothing: no note, no change to its card. The handler goes out without
    the second resident's words (the place), and without knowing that a second resident now waits for
    its result (刘先生 is told every progress note in private). The department chat should get a note
    naming #2026-000002 with its words."""
    await accept(world, HANDLER_A, CGJ_CHAT, await dispatched(world, GARBAGE))
    await world.send(RESIDENT_2, COMMUNITY, "@huying_bot 小区门口的垃圾一直没人清运，臭得不行，在3号楼东侧")
    dup = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000002")
    await press(world, DISPATCHER, DISPATCH_CHAT, dup, "合并到 #2026-000001")
    await world.settle()
    assert (await ticket(world, 2)).status == "MERGED"
    told = [m.get("text") or m.get("caption") or "" for m in world.sb.bot_messages(CGJ_CHAT)]
    assert [t for t in told if "#2026-000002" in t and "3号楼东侧" in t], told


async def test_a_resolved_card_no_longer_invites_progress_notes(world: World):
    """After 办结 a reply to the card is refused as a progress note, so the card stops saying
    "回复本消息即可反馈办理进展" (it invited a reply it would then refuse)."""
    card = await accept(world, HANDLER_A, CGJ_CHAT, await dispatched(world, GARBAGE))
    hint = ZH("card.reply_hint")
    assert hint in world.sb.message(CGJ_CHAT, card["message_id"])["text"]
    await submit_result(world, HANDLER_A, CGJ_CHAT, card, "已清运完毕")
    await world.settle()
    assert hint not in world.sb.message(CGJ_CHAT, card["message_id"])["text"]
