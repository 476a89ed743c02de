"""Stories: 一事一评 — rating, reopening, review and closing the loop (issue 5), through the sandbox."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select

from bot.callbacks import Rate, RateReason, Review
from bot.domain.calendar import WorkCalendar
from storage.models import RatingRound, Ticket
from tests.steps import has_button, press, press_raw, refused, resolve_on, scan_at, showing, shown, through_resolution, ticket
from tests.steps import event_kinds as events
from tests.harness import (
    CGJ_CHAT,
    COMMUNITY,
    DISPATCH_CHAT,
    DISPATCHER,
    HANDLER_A,
    RESIDENT,
    STRANGER,
    VOLUNTEER,
    World,
)

SCALE = [["非常满意", "比较满意"], ["基本满意", "不满意"]]


async def ratings(world: World, tid: int = 1) -> list[RatingRound]:
    return await world.rows(select(RatingRound).where(RatingRound.ticket_id == tid).order_by(RatingRound.round))


async def resolved(world: World, reporter: int = RESIDENT, rating_chat: int = COMMUNITY,
                   result: str = "垃圾已全部清运，并增加了一个垃圾桶，联系电话13812345678") -> dict:
    """The real flow: appeal in the community chat, 派单, 签收, 办结; returns the rating question."""
    await world.send(reporter, COMMUNITY, "@huying_bot 小区门口垃圾三天没人清运了，异味很大")
    await world.reply_from_bot(COMMUNITY, contains="#2026-")
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="城市管理局")
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    dept_card = await world.reply_from_bot(CGJ_CHAT, predicate=has_button("签收"))
    await press(world, HANDLER_A, CGJ_CHAT, dept_card, "签收")
    return await resolve_on(world, world.sb.message(CGJ_CHAT, dept_card["message_id"]), result, rating_chat)


async def test_satisfied_closes_then_process_comment_and_public_response(world: World):
    question = await resolved(world)
    # The reporter never started the bot: the question is a reply to the appeal in the community chat.
    assert world.sb.buttons(question) == SCALE
    assert question["reply_to_message"]["from"]["id"] == RESIDENT
    answer = await press(world, RESIDENT, COMMUNITY, question, "比较满意")
    assert not answer.get("show_alert")
    t = await ticket(world)
    assert t.status == "CLOSED" and t.close_reason == "satisfied" and t.closed_at
    # The second question (seed 003 过程满意), skippable, takes the answered question's place (the
    # community chat gets no new message); then a comment by reply, answered with a reaction.
    process = shown(world, COMMUNITY, question)
    assert "比较满意" not in process["text"] and "过程" in process["text"]
    assert world.sb.buttons(process) == SCALE + [["跳过"]]
    await press(world, RESIDENT, COMMUNITY, process, "非常满意")
    assert "非常满意" in shown(world, COMMUNITY, question)["text"]
    assert world.sb.buttons(shown(world, COMMUNITY, question)) == []
    comment = await world.send(RESIDENT, COMMUNITY, "师傅们辛苦了，希望以后按时清运", reply_to=process["message_id"])
    await world.settle()
    assert world.sb.bot_reaction(COMMUNITY, comment["message_id"]) == "👌"
    [r] = await ratings(world)
    assert (r.round, r.result_level, r.process_level, r.rater_id) == (1, 3, 4, RESIDENT)
    assert r.asked_at <= r.answered_at and r.dept_code == "cgj" and not r.not_rated
    assert "按时清运" in r.comment

    # Pressing again: already recorded, nothing changes.
    again = await press_raw(world, RESIDENT, COMMUNITY, question["message_id"],
                            Rate(ticket_id=t.id, round=1, question="result", score=1).pack())
    refused(again, "rate.already")
    assert (await ticket(world)).status == "CLOSED" and len(await ratings(world)) == 1

    # The scan posts the 正面回应 once, in the community chat, without personal data.
    assert (await ticket(world)).next_check_at is not None
    await scan_at(world)
    response = await world.reply_from_bot(COMMUNITY, contains="正面回应")
    assert "城市管理局" in response["text"] and "垃圾已全部清运" in response["text"]
    assert "张阿姨" not in response["text"] and "13812345678" not in response["text"]
    world.clock.advance(days=2)
    await scan_at(world)
    assert sum("正面回应" in (m.get("text") or "") for m in world.sb.bot_messages(COMMUNITY)) == 1
    assert (await ticket(world)).next_check_at is None
    kinds = await events(world)
    assert kinds[-4:] == ["rated_satisfied", "process_rated", "rating_comment", "public_response"]

    # The history shows the rating in words.
    await world.send(DISPATCHER, DISPATCH_CHAT, "/ticket 2026-000001")
    history = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    assert "诉求人评价满意" in history["text"] and "正面回应" in history["text"]


async def test_unsatisfied_reopens_to_the_same_department_then_satisfied(world: World):
    question = await resolved(world)
    await press(world, RESIDENT, COMMUNITY, question, "不满意")
    assert (await ticket(world)).status == "RESOLVED"  # waiting for the reason
    ask = await showing(world, COMMUNITY, "办理太慢")
    assert ask["message_id"] == question["message_id"]
    assert world.sb.buttons(ask) == [["问题没有解决", "办理太慢"], ["工作人员态度不好", "其他原因"]]
    # Someone else's answer changes nothing.
    refused(await press(world, STRANGER, COMMUNITY, ask, "办理太慢"), "rate.not_yours")
    before = world.clock()
    await press(world, RESIDENT, COMMUNITY, ask, "办理太慢")
    t = await ticket(world)
    assert t.status == "REOPENED" and t.reopen_count == 1 and t.owner_id == HANDLER_A
    cal = WorkCalendar.from_org({}, "Asia/Shanghai")
    assert abs(t.resolve_due - cal.add_working_days(before, 3)) < timedelta(minutes=1)
    # A new card in the department chat with the reason and 办结 / 申请延期.
    card = await world.reply_from_bot(CGJ_CHAT, contains="办理太慢")
    assert world.sb.buttons(card) == [["办结", "申请延期"]]
    assert "李承办" in card["text"]
    assert "重新办理中（城市管理局）" in world.sb.bot_messages(COMMUNITY)[0]["text"]  # the ack's status line

    question2 = await resolve_on(world, card, "已安排每天早晚两次清运", COMMUNITY)
    assert (await ticket(world)).rating_round == 2
    # The first round's buttons are stale now.
    old = await press_raw(world, RESIDENT, COMMUNITY, question["message_id"],
                          Rate(ticket_id=1, round=1, question="result", score=4).pack())
    refused(old, "rate.already")
    await press(world, RESIDENT, COMMUNITY, question2, "非常满意")
    t = await ticket(world)
    assert t.status == "CLOSED" and t.close_reason == "satisfied"
    assert [(r.round, r.result_level, r.reason) for r in await ratings(world)] == [(1, 1, "slow"), (2, 4, None)]
    kinds = await events(world)
    assert "rated_unsatisfied" in kinds and "reopened" in kinds and kinds.count("resolved") == 2


async def test_unsatisfied_twice_goes_to_review_and_is_closed_as_explained(world: World):
    # This reporter started the bot: everything about the rating comes in private.
    await world.send(RESIDENT, RESIDENT, "/start")
    await world.reply_from_bot(RESIDENT)
    question = await resolved(world, rating_chat=RESIDENT)
    await press(world, RESIDENT, RESIDENT, question, "不满意")
    ask = await world.reply_from_bot(RESIDENT, predicate=has_button("其他原因"))
    # The reason in the reporter's own words, by reply.
    await world.send(RESIDENT, RESIDENT, "垃圾桶放在我家窗户下面，味道更大了", reply_to=ask["message_id"])
    card = await world.reply_from_bot(CGJ_CHAT, contains="窗户下面")
    assert (await ticket(world)).status == "REOPENED"

    question2 = await resolve_on(world, card, "已对垃圾桶进行消毒", RESIDENT)
    await press(world, RESIDENT, RESIDENT, question2, "不满意")
    ask2 = await world.reply_from_bot(RESIDENT, predicate=has_button("问题没有解决"))
    await press(world, RESIDENT, RESIDENT, ask2, "问题没有解决")
    t = await ticket(world)
    assert t.status == "REVIEW" and t.reopen_count == 1
    review = await world.reply_from_bot(DISPATCH_CHAT, contains="不满意诉求审核")
    # The history: both rounds, what was done and why the reporter was unhappy.
    assert "已对垃圾桶进行消毒" in review["text"] and "窗户下面" in review["text"]
    assert "问题没有解决" in review["text"]
    assert world.sb.buttons(review) == [["关闭并说明", "退回重办"], ["改派其他部门"]]
    # Only a dispatcher decides.
    refused(await press(world, HANDLER_A, DISPATCH_CHAT, review, "关闭并说明"), "error.forbidden")
    await press(world, DISPATCHER, DISPATCH_CHAT, review, "关闭并说明")
    prompt = await world.reply_from_bot(DISPATCH_CHAT, contains="说明")
    await world.send(DISPATCHER, DISPATCH_CHAT, "好", reply_to=prompt["message_id"])
    await world.reply_from_bot(DISPATCH_CHAT, contains="太短")
    assert (await ticket(world)).status == "REVIEW"
    why = "垃圾桶点位按规划只能设在该处，已改为密闭式并每日消毒两次"
    await world.send(DISPATCHER, DISPATCH_CHAT, why, reply_to=prompt["message_id"])
    told = await world.reply_from_bot(RESIDENT, contains="密闭式")
    assert "审核" in told["text"]
    t = await ticket(world)
    assert t.status == "CLOSED" and t.close_reason == "explained"
    assert world.sb.buttons(world.sb.message(DISPATCH_CHAT, review["message_id"])) == []
    kinds = await events(world)
    assert "to_review" in kinds and "review_closed" in kinds

    # The unsatisfied ledger (不满意台账) in the dispatch chat.
    await world.send(DISPATCHER, DISPATCH_CHAT, "/unsatisfied")
    ledger = await world.reply_from_bot(DISPATCH_CHAT, contains="不满意台账")
    assert "#2026-000001" in ledger["text"] and "2次" in ledger["text"] and "审核说明" in ledger["text"]
    await world.send(RESIDENT, COMMUNITY, "/unsatisfied")
    await world.reply_from_bot(COMMUNITY, contains="权限")


async def test_review_sends_back_to_the_department(world: World):
    question = await resolved(world)
    await press(world, RESIDENT, COMMUNITY, question, "不满意")
    await press(world, RESIDENT, COMMUNITY, await showing(world, COMMUNITY, "办理太慢"), "办理太慢")
    card = await world.reply_from_bot(CGJ_CHAT, contains="办理太慢")
    question2 = await resolve_on(world, card, "已清运完毕", COMMUNITY)
    await press(world, RESIDENT, COMMUNITY, question2, "不满意")
    await press(world, RESIDENT, COMMUNITY, await showing(world, COMMUNITY, "办理太慢"), "工作人员态度不好")
    review = await world.reply_from_bot(DISPATCH_CHAT, contains="不满意诉求审核")
    await world.send(DISPATCHER, DISPATCH_CHAT, "/unsatisfied")
    ledger = await world.reply_from_bot(DISPATCH_CHAT, contains="不满意台账")
    assert "待审核" in ledger["text"] or "审核" in ledger["text"]
    await press(world, DISPATCHER, DISPATCH_CHAT, review, "退回重办")
    t = await ticket(world)
    assert t.status == "REOPENED" and t.reopen_count == 2
    back = await world.reply_from_bot(CGJ_CHAT, contains="审核后退回重办")
    assert world.sb.buttons(back) == [["办结", "申请延期"]] and "态度" in back["text"]
    # A stale press on the settled review card changes nothing.
    a = await press_raw(world, DISPATCHER, DISPATCH_CHAT, review["message_id"],
                        Review(action="back", ticket_id=1).pack())
    refused(a, "error.stale")
    assert (await ticket(world)).reopen_count == 2


async def test_only_the_reporter_or_their_volunteer_may_rate(world: World):
    # A volunteer reports on behalf of an elder who is not on Telegram.
    fwd = {"type": "hidden_user", "sender_user_name": "王奶奶", "date": 1763859600}
    await world.send(VOLUNTEER, COMMUNITY, "楼下垃圾好几天没人清运了，王奶奶腿脚不便", forward_from=fwd)
    await world.reply_from_bot(COMMUNITY, contains="#2026-000001")
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="城市管理局")
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    dept_card = await world.reply_from_bot(CGJ_CHAT, predicate=has_button("签收"))
    # A rating before the ticket is resolved: refused.
    early = await press_raw(world, VOLUNTEER, COMMUNITY, 1, Rate(ticket_id=1, round=1, question="result",
                                                                  score=4).pack())
    refused(early, "rate.stale")
    assert (await ticket(world)).status == "DISPATCHED"
    await press(world, HANDLER_A, CGJ_CHAT, dept_card, "签收")
    question = await resolve_on(world, world.sb.message(CGJ_CHAT, dept_card["message_id"]), "已清运", COMMUNITY)

    for stranger in (STRANGER, RESIDENT, HANDLER_A):
        answer = await press(world, stranger, COMMUNITY, question, "非常满意")
        refused(answer, "rate.not_yours")
    assert (await ticket(world)).status == "RESOLVED"
    assert [(r.result_level, r.answered_at) for r in await ratings(world)] == [(None, None)]
    # Forged data: another ticket, another round, nonsense.
    for data, key in ((Rate(ticket_id=999, round=1, question="result", score=4).pack(), "error.bad_button"),
                      (Rate(ticket_id=1, round=7, question="result", score=4).pack(), "rate.stale"),
                      (Rate(ticket_id=1, round=1, question="result", score=9).pack(), "error.bad_button"),
                      (RateReason(ticket_id=1, round=1, reason="unsolved").pack(), "error.bad_button"),
                      ("r:1:1:result:x", "error.bad_button")):
        refused(await press_raw(world, VOLUNTEER, COMMUNITY, question["message_id"], data), key)
    assert (await ticket(world)).status == "RESOLVED"
    assert [(r.result_level, r.answered_at) for r in await ratings(world)] == [(None, None)]

    # The volunteer who reported it rates for the elder.
    await press(world, VOLUNTEER, COMMUNITY, question, "基本满意")
    t = await ticket(world)
    assert t.status == "CLOSED" and (await ratings(world))[0].rater_id == VOLUNTEER


async def test_a_reason_reply_from_someone_else_is_not_taken(world: World):
    question = await resolved(world)
    await press(world, RESIDENT, COMMUNITY, question, "不满意")
    ask = await showing(world, COMMUNITY, "其他原因")
    before = len(world.sb.bot_messages(COMMUNITY))
    await world.send(STRANGER, COMMUNITY, "我觉得挺好的啊", reply_to=ask["message_id"])
    await world.settle()
    assert (await ticket(world)).status == "RESOLVED"
    assert len(world.sb.bot_messages(COMMUNITY)) == before  # the neighbours' group: no answer to a neighbour
    # "其他原因" asks for words (in the same message); the reporter's reply reopens.
    await press(world, RESIDENT, COMMUNITY, ask, "其他原因")
    words = shown(world, COMMUNITY, ask)
    assert "回复本消息" in words["text"]
    await world.send(RESIDENT, COMMUNITY, "清运的时候把绿化带压坏了", reply_to=words["message_id"])
    await world.reply_from_bot(CGJ_CHAT, contains="绿化带")
    [r] = await ratings(world)
    assert r.reason == "other" and "绿化带" in r.comment and (await ticket(world)).status == "REOPENED"
    # Words sent after the decision are not lost: kept and passed to the department.
    await world.send(RESIDENT, COMMUNITY, "还有，垃圾车太吵", reply_to=words["message_id"])
    await world.reply_from_bot(CGJ_CHAT, contains="垃圾车太吵")


async def test_unsatisfied_without_a_reason_does_not_stick(world: World):
    question = await resolved(world)
    await press(world, RESIDENT, COMMUNITY, question, "不满意")
    await showing(world, COMMUNITY, "其他原因")
    world.clock.advance(hours=2)
    await scan_at(world)
    t = await ticket(world)
    assert t.status == "REOPENED"
    await world.reply_from_bot(CGJ_CHAT, contains="未说明原因")
    assert (await ratings(world))[0].reason == "none"


async def test_no_answer_reminder_then_closed_as_not_rated(world: World):
    question = await resolved(world)
    await scan_at(world)  # nothing due yet
    assert (await ticket(world)).status == "RESOLVED"
    world.clock.advance(days=2, minutes=1)
    await scan_at(world)
    # In the community chat the reminder rewrites the rating request in place.
    reminder = shown(world, COMMUNITY, question)
    assert "提醒" in reminder["text"] and world.sb.buttons(reminder) == SCALE
    await scan_at(world)  # one reminder only
    assert (await events(world)).count("rating_reminded") == 1
    world.clock.advance(days=5)
    await scan_at(world)
    assert "未评价" in shown(world, COMMUNITY, question)["text"]
    t = await ticket(world)
    assert t.status == "CLOSED" and t.close_reason == "not_rated"
    [r] = await ratings(world)
    assert r.result_level is None and r.not_rated  # counted apart, never as satisfied
    # A rating after auto-close: a clear answer, nothing changes.
    late = await press_raw(world, RESIDENT, COMMUNITY, question["message_id"],
                           Rate(ticket_id=1, round=1, question="result", score=4).pack())
    refused(late, "rate.auto_closed")
    assert (await ticket(world)).close_reason == "not_rated"
    assert world.sb.buttons(world.sb.message(COMMUNITY, reminder["message_id"])) == []
    await scan_at(world)
    await world.reply_from_bot(COMMUNITY, contains="正面回应")
    assert (await events(world))[-3:] == ["rating_reminded", "closed_unrated", "public_response"]


async def test_english_chat_gets_english_labels(world: World):
    async with world.app.sessions() as s:
        from storage import directory

        await directory.set_chat_locale(s, COMMUNITY, "en", "community")
        await s.commit()
    await through_resolution(world, "garbage not collected for three days")
    question = await world.reply_from_bot(COMMUNITY, predicate=has_button("Very satisfied"))
    assert world.sb.buttons(question) == [["Very satisfied", "Fairly satisfied"], ["Basically satisfied", "Unsatisfied"]]
    await press(world, RESIDENT, COMMUNITY, question, "Very satisfied")
    assert (await ticket(world)).status == "CLOSED"


async def test_reporter_who_blocked_the_bot_still_gets_the_question_in_the_group(world: World):
    await world.send(RESIDENT, RESIDENT, "/start")
    await world.reply_from_bot(RESIDENT)
    world.sb.block_bot(RESIDENT)
    question = await resolved(world, rating_chat=COMMUNITY)
    assert world.sb.buttons(question) == SCALE
    await press(world, RESIDENT, COMMUNITY, question, "非常满意")
    assert (await ticket(world)).status == "CLOSED"


async def test_review_dispatches_elsewhere(world: World):
    question = await resolved(world)
    for q in (question, None):
        if q is None:
            card = await world.reply_from_bot(CGJ_CHAT, contains="问题没有解决")
            q = await resolve_on(world, card, "再次清运", COMMUNITY)
        await press(world, RESIDENT, COMMUNITY, q, "不满意")
        ask = await showing(world, COMMUNITY, "问题没有解决")
        await press(world, RESIDENT, COMMUNITY, ask, "问题没有解决")
    review = await world.reply_from_bot(DISPATCH_CHAT, contains="不满意诉求审核")
    await press(world, DISPATCHER, DISPATCH_CHAT, review, "改派其他部门")
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="审核后改派")
    again = await press_raw(world, DISPATCHER, DISPATCH_CHAT, review["message_id"],
                            Review(action="elsewhere", ticket_id=1).pack())
    refused(again, "review.already_redirected")
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "另选部门")
    await press(world, DISPATCHER, DISPATCH_CHAT, world.sb.message(DISPATCH_CHAT, card["message_id"]), "水务局")
    t = await ticket(world)
    assert t.status == "DISPATCHED" and t.lead_dept == "sw"
    assert "review_redirect" in await events(world)


async def test_skip_the_process_question_once(world: World):
    question = await resolved(world)
    await press(world, RESIDENT, COMMUNITY, question, "非常满意")
    process = await showing(world, COMMUNITY, "跳过")
    first = await press(world, RESIDENT, COMMUNITY, process, "跳过")
    assert not first.get("show_alert")
    assert world.sb.buttons(world.sb.message(COMMUNITY, process["message_id"])) == []
    again = await press_raw(world, RESIDENT, COMMUNITY, process["message_id"],
                            Rate(ticket_id=1, round=1, question="process", score=0).pack())
    refused(again, "rate.already")
    [r] = await ratings(world)
    assert r.result_level == 4 and r.process_level is None and r.process_skipped
    assert (await events(world)).count("process_skipped") == 1


async def test_a_resolved_ticket_never_asked_gets_its_question_from_the_scan(world: World):
    await resolved(world)
    async with world.app.sessions() as s:  # as if resolved before ratings existed
        t = await s.get(Ticket, 1)
        t.clock_state = {}
        await s.execute(delete(RatingRound).where(RatingRound.ticket_id == 1))
        await s.commit()
    world.clock.advance(days=2, minutes=1)
    await scan_at(world)
    question = await showing(world, COMMUNITY, "非常满意")
    assert (await ticket(world)).rating_round == 1
    await press(world, RESIDENT, COMMUNITY, question, "比较满意")
    assert (await ticket(world)).status == "CLOSED"
