"""Department staff and dispatchers working tickets in their chats (a review from outside).

Each test failed on the code as it was reviewed."""
from __future__ import annotations

from sqlalchemy import select

from storage.models import Extension
from tests.harness import (
    CGJ_CHAT,
    COMMUNITY,
    DISPATCH_CHAT,
    DISPATCHER,
    HANDLER_A,
    HANDLER_B,
    LEADER,
    LEADERS_CHAT,
    RESIDENT,
    ZJJ_CHAT,
    ZJJ_HANDLER,
    World,
)
from tests.steps import ZH, event_kinds, has_button, lose_chat, press, refused, resolve_on, showing, ticket
from tests.test_dispatchers_waiting_and_answers import REVIEW_BUTTONS, under_review

GARBAGE = "@huying_bot 小区门口垃圾三天没人清运了，异味很大"
ELEVATOR = "@huying_bot 小区电梯坏了三天，物业不管"


async def _dispatched_to_cgj(world: World) -> tuple[dict, dict]:
    await world.send(RESIDENT, COMMUNITY, GARBAGE)
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="城市管理局")
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    dept_card = await world.reply_from_bot(CGJ_CHAT, predicate=has_button("退单"))
    return card, dept_card


async def _returned_then_redispatched_to_cgj(world: World) -> tuple[dict, dict]:
    """cgj returns the ticket; the dispatcher sends it back to cgj (派单 again). Returns the
    返回 prompt that was answered and the first (returned) card."""
    _card, dept_card = await _dispatched_to_cgj(world)
    await press(world, HANDLER_A, CGJ_CHAT, dept_card, "退单")
    prompt = await world.reply_from_bot(CGJ_CHAT, contains="理由")
    await world.send(HANDLER_A, CGJ_CHAT, "不归我们管，请核实", reply_to=prompt["message_id"])
    new_card = await world.reply_from_bot(DISPATCH_CHAT, contains="不归我们管")
    await press(world, DISPATCHER, DISPATCH_CHAT, new_card, "派单")
    await world.settle()
    t = await ticket(world)
    assert (t.status, t.lead_dept, t.returns_count) == ("DISPATCHED", "cgj", 1)
    return prompt, dept_card


# 1. A 退单 prompt answered in an earlier round returns the next dispatch (and makes a 职责争议).

async def test_an_answered_return_prompt_does_not_return_the_next_dispatch(world: World):
    prompt, _old = await _returned_then_redispatched_to_cgj(world)
    # A colleague adds a word under the old question ("补充一下"), as people do in a chat.
    await world.send(HANDLER_A, CGJ_CHAT, "补充一下：这是小区物业的责任区", reply_to=prompt["message_id"])
    await world.settle()
    t = await ticket(world)
    # The new dispatch was never returned by anyone pressing 退单 on its card.
    assert (t.status, t.returns_count, t.disputed_at) == ("DISPATCHED", 1, None), \
        (t.status, t.returns_count, t.disputed_at)


# 2. The 办结 prompt of the first round resolves the reopened ticket.

async def test_an_answered_resolve_prompt_does_not_resolve_the_reopened_ticket(world: World):
    _card, dept_card = await _dispatched_to_cgj(world)
    await press(world, HANDLER_A, CGJ_CHAT, dept_card, "签收")
    await press(world, HANDLER_A, CGJ_CHAT, world.sb.message(CGJ_CHAT, dept_card["message_id"]), "办结")
    prompt = await world.reply_from_bot(CGJ_CHAT, contains="办理结果")
    await world.send(HANDLER_A, CGJ_CHAT, "已清运", reply_to=prompt["message_id"])
    question = await showing(world, COMMUNITY, "非常满意")
    await press(world, RESIDENT, COMMUNITY, question, "不满意")
    await press(world, RESIDENT, COMMUNITY, await showing(world, COMMUNITY, "办理太慢"), "问题没有解决")
    await world.reply_from_bot(CGJ_CHAT, contains="问题没有解决")
    assert (await ticket(world)).status == "REOPENED"
    # A progress note written under the old question: the reopened ticket is not resolved by it.
    await world.send(HANDLER_A, CGJ_CHAT, "明天再去现场看看", reply_to=prompt["message_id"])
    await world.settle()
    assert (await ticket(world)).status == "REOPENED"
    assert (await event_kinds(world)).count("resolved") == 1


# 3. A leader's /take strips the dispatch buttons from a review ticket's 改派 card.

async def test_take_keeps_the_buttons_of_a_review_ticket_sent_elsewhere(world: World):
    review = await under_review(world)
    await press(world, DISPATCHER, DISPATCH_CHAT, review, "改派其他部门")
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="审核后改派")
    assert world.sb.buttons(card) == REVIEW_BUTTONS
    await world.send(LEADER, LEADERS_CHAT, "/take 2026-000001")
    await world.reply_from_bot(LEADERS_CHAT, contains="包案")
    await world.settle()
    assert (await ticket(world)).status == "REVIEW"
    # The review card's own buttons were settled by 改派: this card is the only way on.
    assert world.sb.buttons(world.sb.message(DISPATCH_CHAT, review["message_id"])) == []
    assert world.sb.buttons(world.sb.message(DISPATCH_CHAT, card["message_id"])) == REVIEW_BUTTONS


# 4. A card disarmed by 退单 comes back to life when the same department gets the ticket again.

async def test_a_returned_card_stays_disarmed_after_the_next_dispatch_is_accepted(world: World):
    _prompt, old = await _returned_then_redispatched_to_cgj(world)
    cards = [m for m in world.sb.bot_messages(CGJ_CHAT) if has_button("签收")(m)]
    assert cards and cards[-1]["message_id"] != old["message_id"]
    await press(world, HANDLER_B, CGJ_CHAT, cards[-1], "签收")
    shown = world.sb.message(CGJ_CHAT, old["message_id"])
    assert world.sb.buttons(shown) == [], world.sb.buttons(shown)
    assert "已退单：不归我们管，请核实" in shown["text"], shown["text"]


# 5. A co-department that confirmed (协办签收) and was told to reply with progress is told to 签收 first.

async def test_a_co_department_is_not_told_to_sign_what_it_already_confirmed(world: World):
    await world.send(RESIDENT, COMMUNITY, ELEVATOR)
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    co_card = await world.reply_from_bot(CGJ_CHAT, predicate=has_button("协办签收"))
    await press(world, HANDLER_A, CGJ_CHAT, co_card, "协办签收")
    done = await world.reply_from_bot(CGJ_CHAT, contains="已确认协办")
    assert "回复工单消息可反馈协办进展" in done["text"]
    before = len(world.sb.bot_messages(CGJ_CHAT))
    await world.send(HANDLER_A, CGJ_CHAT, "我们已派人去现场", reply_to=co_card["message_id"])
    await world.settle()
    answers = [m["text"] for m in world.sb.bot_messages(CGJ_CHAT)[before:]]
    # The co-department has no 签收 button: "请先签收该工单" asks for something it cannot do.
    assert ZH("progress.accept_first") not in answers, answers


# 6. An extension request left undecided keeps live 批准延期 / 不予延期 after the ticket was resolved.

async def test_an_open_extension_request_is_settled_when_the_ticket_is_resolved(world: World):
    _card, dept_card = await _dispatched_to_cgj(world)
    await press(world, HANDLER_A, CGJ_CHAT, dept_card, "签收")
    await press(world, HANDLER_A, CGJ_CHAT, world.sb.message(CGJ_CHAT, dept_card["message_id"]), "申请延期")
    prompt = await world.reply_from_bot(CGJ_CHAT, contains="日期")
    await world.send(HANDLER_A, CGJ_CHAT, "需要协调环卫车辆 2026-12-10", reply_to=prompt["message_id"])
    request = await world.reply_from_bot(DISPATCH_CHAT, contains="2026-12-10")
    await resolve_on(world, world.sb.message(CGJ_CHAT, dept_card["message_id"]), "垃圾已全部清运")
    assert (await ticket(world)).status == "RESOLVED"
    shown = world.sb.message(DISPATCH_CHAT, request["message_id"])
    # The request can no longer be decided (a press is refused as stale): the card should say so
    # instead of offering the two buttons, and the request should not stay "pending" for ever.
    assert world.sb.buttons(shown) == [], world.sb.buttons(shown)
    assert shown["text"] == ZH("ext.lapsed", code="#2026-000001", until="2026-12-10", status=ZH("status.RESOLVED"))
    [ext] = await world.rows(select(Extension))
    assert ext.status == "lapsed"


# 7. 退回重办 to a department whose chat is gone: "done", and nobody will ever see the card.

async def test_review_send_back_to_a_department_without_a_chat_is_refused_like_a_dispatch(world: World):
    review = await under_review(world)
    await lose_chat(world, CGJ_CHAT)
    answer = await press(world, DISPATCHER, DISPATCH_CHAT, review, "退回重办")
    # 派单 to the same department is refused (test_department_without_chat_cannot_be_dispatched).
    refused(answer, "dispatch.no_chat", dept="城市管理局")
    assert (await ticket(world)).status == "REVIEW"


# 8. The lead returns the ticket while a co-department works it: the co-department is never told,
#    and its next progress note is answered "这个按钮已过期" — to a text reply, no button pressed.

async def test_a_co_department_hears_of_the_return_and_its_note_is_not_called_a_button(world: World):
    await world.send(RESIDENT, COMMUNITY, ELEVATOR)
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    co_card = await world.reply_from_bot(CGJ_CHAT, predicate=has_button("协办签收"))
    lead = await world.reply_from_bot(ZJJ_CHAT, predicate=has_button("签收"))
    await press(world, HANDLER_A, CGJ_CHAT, co_card, "协办签收")
    await press(world, ZJJ_HANDLER, ZJJ_CHAT, lead, "退单")
    prompt = await world.reply_from_bot(ZJJ_CHAT, contains="理由")
    await world.send(ZJJ_HANDLER, ZJJ_CHAT, "电梯归市场监管局管", reply_to=prompt["message_id"])
    await world.reply_from_bot(DISPATCH_CHAT, contains="市场监管局")
    told = await world.reply_from_bot(CGJ_CHAT, contains="协办暂停")
    assert "#2026-000001" in told["text"], told["text"]
    before = len(world.sb.bot_messages(CGJ_CHAT))
    await world.send(HANDLER_A, CGJ_CHAT, "我们已派人去现场", reply_to=co_card["message_id"])
    await world.settle()
    answers = [m["text"] for m in world.sb.bot_messages(CGJ_CHAT)[before:]]
    assert ZH("error.stale") not in answers, answers
    assert answers == [ZH("error.moved_on", status=ZH("status.TRIAGE"))], answers
