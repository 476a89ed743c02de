"""What a review of the case loop found (DESIGN §2-§4; issues 3-5): each of these failed before its fix.

Extensions belong to the handling round they were asked in and only ever move a deadline later;
the department card shows the deadline an approval set; a co-department reports progress as the
bot tells it to; a card counts the appeal's photos only; a neighbour's reply to the rating
message gets no bot message in the group; a dispatch card still waiting in the outbox goes out as the
ticket stands when it is sent."""
from __future__ import annotations

from sqlalchemy import select

from bot.services import dispatch, dispatch_cards
from bot.services.access import roles_of
from storage import tickets
from storage.models import OutboxMessage
from tests.steps import (ZH, accept, dispatched, event_kinds, has_button, press, rate, refused, showing, submit_result, ticket)
from tests.harness import (CGJ_CHAT, COMMUNITY, DISPATCH_CHAT, DISPATCHER, HANDLER_A, RESIDENT, RESIDENT_2,
                           ZJJ_CHAT, ZJJ_HANDLER)


async def ask_extension(world, card, words):
    await press(world, HANDLER_A, CGJ_CHAT, world.sb.message(CGJ_CHAT, card["message_id"]), "申请延期")
    prompt = await world.reply_from_bot(CGJ_CHAT, contains="日期")
    await world.send(HANDLER_A, CGJ_CHAT, words, reply_to=prompt["message_id"])
    return await world.reply_from_bot(DISPATCH_CHAT, contains=words.split()[-1])


async def unsatisfied_once(world, reason="办理太慢"):
    q = await showing(world, COMMUNITY, "非常满意")
    await rate(world, q, "不满意")
    await world.settle()
    await rate(world, world.sb.bot_messages(COMMUNITY)[-1], reason)


# 1. A stale extension request from the first round, approved after 办结 → 不满意 → REOPENED,
#    replaces the re-handle deadline (3 working days) with the old request's date.
async def test_stale_extension_request_cannot_move_a_reopened_deadline(world):
    card = await accept(world, HANDLER_A, CGJ_CHAT, await dispatched(world, "小区门口垃圾三天没人清运了"))
    request = await ask_extension(world, card, "需要协调环卫车辆 2026-12-10")
    await submit_result(world, HANDLER_A, CGJ_CHAT, card, "已清运完毕")
    await unsatisfied_once(world)
    t = await ticket(world)
    assert t.status == "REOPENED"
    reopen_due = t.resolve_due
    # The request lapsed at 办结: its card offers no 批准延期 to press (tests/test_story_desk_review.py),
    # and a forged press is refused as stale.
    assert world.sb.buttons(world.sb.message(DISPATCH_CHAT, request["message_id"])) == []
    from bot.callbacks import ExtDecision
    from storage.models import Extension
    from tests.steps import press_raw
    [ext] = await world.rows(select(Extension))
    answer = await press_raw(world, DISPATCHER, DISPATCH_CHAT, request["message_id"],
                             ExtDecision(action="approve", extension_id=ext.id).pack())
    t = await ticket(world)
    assert t.resolve_due == reopen_due, (reopen_due, t.resolve_due)
    refused(answer, "error.stale")


# 2. An "extension" to a date before the current deadline would shorten it: refused when asked.
async def test_an_extension_never_brings_the_deadline_forward(world):
    card = await accept(world, HANDLER_A, CGJ_CHAT, await dispatched(world, "小区门口垃圾三天没人清运了"))
    before = (await ticket(world)).resolve_due          # 2026-11-30 09:00
    await press(world, HANDLER_A, CGJ_CHAT, world.sb.message(CGJ_CHAT, card["message_id"]), "申请延期")
    prompt = await world.reply_from_bot(CGJ_CHAT, contains="日期")
    cards_before = len(world.sb.bot_messages(DISPATCH_CHAT))
    await world.send(HANDLER_A, CGJ_CHAT, "需要协调车辆 2026-11-24", reply_to=prompt["message_id"])
    answer = await world.reply_from_bot(CGJ_CHAT, contains="须晚于")
    assert answer["text"] == ZH("extend.not_later", due="2026-11-30 09:00")
    await world.settle()
    assert (await ticket(world)).resolve_due == before
    assert len(world.sb.bot_messages(DISPATCH_CHAT)) == cards_before  # no request card for the dispatchers
    assert "extension_asked" not in await event_kinds(world)


# 3. The department card keeps the old 办结时限 after an approved extension.
async def test_department_card_shows_the_extended_deadline(world):
    card = await accept(world, HANDLER_A, CGJ_CHAT, await dispatched(world, "小区门口垃圾三天没人清运了"))
    request = await ask_extension(world, card, "需要协调环卫车辆 2026-12-10")
    await press(world, DISPATCHER, DISPATCH_CHAT, request, "批准延期")
    text = world.sb.message(CGJ_CHAT, card["message_id"])["text"]
    assert "办结时限：12-10 23:59" in text, text        # fails: still 11-30 09:00


# 4. A co-department is told "回复工单消息可反馈协办进展": its reply is recorded as its progress,
#    and the lead department, which answers for the ticket, hears of it.
async def test_co_department_can_report_progress_as_it_is_told(world):
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 小区电梯坏了三天，物业不管")
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    co_card = await world.reply_from_bot(CGJ_CHAT, predicate=has_button("协办签收"))
    await accept(world, ZJJ_HANDLER, ZJJ_CHAT, await world.reply_from_bot(ZJJ_CHAT, predicate=has_button("签收")))
    await press(world, HANDLER_A, CGJ_CHAT, co_card, "协办签收")
    told = await world.reply_from_bot(CGJ_CHAT, contains="已确认协办")
    assert "回复工单消息可反馈协办进展" in told["text"]
    progress_due = (await ticket(world)).progress_due
    await world.send(HANDLER_A, CGJ_CHAT, "已派人查看电梯周边环境", reply_to=co_card["message_id"])
    await world.settle()
    assert world.sb.bot_messages(CGJ_CHAT)[-1]["text"] == ZH("done.progress_kept")  # the reporter never started the bot
    assert (await event_kinds(world))[-1] == "co_progress"
    note = ZH("co.progress_to_lead", code="#2026-000001", dept="城市管理局", text="已派人查看电梯周边环境")
    assert world.sb.bot_messages(ZJJ_CHAT)[-1]["text"] == note
    t = await ticket(world)
    assert t.first_progress_at is None and t.progress_due == progress_due  # the lead's own clock still runs


# 5. The reopen card counts the department's own progress and result photos as the appeal's photos.
async def test_reopen_card_photo_count_is_the_appeals(world):
    await world.sb.user_sends_album(RESIDENT, COMMUNITY, count=2, caption="@huying_bot 小区门口垃圾三天没人清运了")
    await world.reply_from_bot(COMMUNITY, contains="#2026-")
    dc = await world.reply_from_bot(DISPATCH_CHAT, predicate=has_button("派单"))
    await world.settle()
    await press(world, DISPATCHER, DISPATCH_CHAT, world.sb.message(DISPATCH_CHAT, dc["message_id"]), "派单")
    card = await accept(world, HANDLER_A, CGJ_CHAT, await world.reply_from_bot(CGJ_CHAT, predicate=has_button("签收")))
    assert "照片：2 张" in card["text"]
    await world.send(HANDLER_A, CGJ_CHAT, photo=True, caption="现场照片", reply_to=card["message_id"])
    await world.settle()
    await press(world, HANDLER_A, CGJ_CHAT, world.sb.message(CGJ_CHAT, card["message_id"]), "办结")
    prompt = await world.reply_from_bot(CGJ_CHAT, contains="办理结果")
    await world.send(HANDLER_A, CGJ_CHAT, photo=True, caption="已清运完毕", reply_to=prompt["message_id"])
    await unsatisfied_once(world)
    await world.settle()
    reopen = [m for m in world.sb.bot_messages(CGJ_CHAT) if has_button("办结")(m)][-1]
    assert "照片：2 张" in reopen["text"], reopen["text"]   # fails: 照片：4 张


# 6. A neighbour's reply to the rating message once it shows the process question gets a bot
#    message in the community chat (the rate_ask / rate_reason replies are silent).
async def test_neighbour_reply_to_the_process_question_adds_no_group_message(world):
    card = await accept(world, HANDLER_A, CGJ_CHAT, await dispatched(world, "小区门口垃圾三天没人清运了"))
    await submit_result(world, HANDLER_A, CGJ_CHAT, card, "已清运完毕")
    q = await showing(world, COMMUNITY, "非常满意")
    await rate(world, q, "比较满意")
    n = len(world.sb.bot_messages(COMMUNITY))
    await world.send(RESIDENT_2, COMMUNITY, "我觉得一般般", reply_to=q["message_id"])
    await world.settle()
    new = [m.get("text") for m in world.sb.bot_messages(COMMUNITY)[n:]]
    assert new == [], new                                  # fails: ['只有诉求人本人…可以评价。']


# 7. "已记录进展" is about the ticket: replying to it is the next progress note.
async def test_a_reply_to_the_progress_confirmation_is_the_next_note(world):
    card = await accept(world, HANDLER_A, CGJ_CHAT, await dispatched(world, "小区门口垃圾三天没人清运了"))
    await world.send(HANDLER_A, CGJ_CHAT, "已联系环卫所", reply_to=card["message_id"])
    await world.settle()
    confirmation = world.sb.bot_messages(CGJ_CHAT)[-1]
    assert confirmation["text"] == ZH("done.progress_kept")
    await world.send(HANDLER_A, CGJ_CHAT, "环卫车下午两点到", reply_to=confirmation["message_id"])
    await world.settle()
    assert world.sb.bot_messages(CGJ_CHAT)[-1]["text"] == ZH("done.progress_kept")
    assert (await event_kinds(world))[-2:] == ["progress", "progress"]


# 8. A dispatch card still waiting in the outbox when the ticket is decided (a burst, a 429)
#    went out later with every button of the decision already taken.
async def test_a_card_still_in_the_outbox_goes_out_as_the_ticket_stands(world):
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 小区门口垃圾三天没人清运了")
    await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    async with world.app.sessions() as s:
        t = await tickets.get(s, 1)
        await dispatch_cards.post(s, world.app, t)  # a card not sent yet when the decision comes
        await dispatch.dispatch(s, world.app, 1, await roles_of(s, DISPATCHER), "cgj", [])
        row = (await s.execute(select(OutboxMessage).where(OutboxMessage.purpose == "dispatch_card",
                                                           OutboxMessage.status == "pending"))).scalar_one()
        await world.app.commit(s)
    await world.settle()
    [link] = await world.rows(select(OutboxMessage).where(OutboxMessage.id == row.id))
    sent = world.sb.message(DISPATCH_CHAT, link.sent_message_ids[0])
    assert "派单" not in [b["text"] for line in sent.get("reply_markup", {}).get("inline_keyboard", []) for b in line]
    assert "#2026-000001" in sent["text"] and "城市管理局" in sent["text"]
