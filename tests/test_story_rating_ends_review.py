"""Review (ratings2): the end of a case — ratings, 不满意 and its reason, review, late and typed
ratings, the 不满意台账. Each test states what a resident or a dispatcher should see."""
from __future__ import annotations

from sqlalchemy import func, select

from storage.models import Draft
from tests.harness import (
    CGJ_CHAT,
    COMMUNITY,
    DISPATCH_CHAT,
    DISPATCHER,
    HANDLER_A,
    RESIDENT,
    SW_CHAT,
    SW_HANDLER,
    World,
)
from tests.steps import (
    ZH,
    accept,
    has_button,
    press,
    resolve_on,
    scan_at,
    showing,
    submit_result,
    through_resolution,
    ticket,
)


async def _unsatisfied(world: World, question: dict, reason: str = "问题没有解决") -> None:
    await press(world, RESIDENT, COMMUNITY, question, "不满意")
    await press(world, RESIDENT, COMMUNITY, await showing(world, COMMUNITY, "问题没有解决"), reason)


async def test_a_department_given_the_case_after_review_gets_its_own_second_chance(world: World):
    """Seed 002 (办结核查): the review comes after a 承办单位 has answered twice and the person is still
    not satisfied; DESIGN §4: "Unsatisfied: … reopen to the same department; a second unsatisfied
    round goes to REVIEW". After the review hands the case to another department (改派), that
    department has answered once. Its first 不满意 must go back to it to redo (REOPENED, 3 working
    days), not straight to the dispatchers again — today the count runs over the whole ticket, so
    水务局 is never given a re-handle and the review card blames it for "不满意 3 次"."""
    await through_resolution(world, "小区门口垃圾三天没人清运了，异味很大")
    question = await showing(world, COMMUNITY, "非常满意")
    await _unsatisfied(world, question)
    card = await world.reply_from_bot(CGJ_CHAT, contains="问题没有解决")
    await _unsatisfied(world, await resolve_on(world, card, "再次清运", COMMUNITY))
    review = await world.reply_from_bot(DISPATCH_CHAT, contains="不满意诉求审核")
    await press(world, DISPATCHER, DISPATCH_CHAT, review, "改派其他部门")
    redirect = await world.reply_from_bot(DISPATCH_CHAT, contains="审核后改派")
    await press(world, DISPATCHER, DISPATCH_CHAT, redirect, "另选部门")
    await press(world, DISPATCHER, DISPATCH_CHAT, world.sb.message(DISPATCH_CHAT, redirect["message_id"]), "水务局")
    sw_card = await world.reply_from_bot(SW_CHAT, predicate=has_button("签收"))
    await accept(world, SW_HANDLER, SW_CHAT, sw_card)
    await submit_result(world, SW_HANDLER, SW_CHAT, sw_card, "已疏通下水道并清理垃圾")
    reviews_before = len([m for m in world.sb.bot_messages(DISPATCH_CHAT) if "不满意诉求审核" in m.get("text", "")])

    await _unsatisfied(world, await showing(world, COMMUNITY, "非常满意"), "办理太慢")

    t = await ticket(world)
    assert (t.status, t.lead_dept) == ("REOPENED", "sw")
    reviews_after = len([m for m in world.sb.bot_messages(DISPATCH_CHAT) if "不满意诉求审核" in m.get("text", "")])
    assert reviews_after == reviews_before
    await world.reply_from_bot(SW_CHAT, contains="办理太慢")


async def test_a_rating_typed_in_private_after_the_ticket_closed_unrated_does_not_start_a_new_appeal(world: World):
    """README: "A rating word typed in private ('非常满意') by someone whose ticket waits for their
    rating is pointed to the buttons"; a late press on the buttons is answered "评价期已过…已按未评价
    办结" (rate.auto_closed). The same reporter typing "非常满意" a day after the ticket was closed as
    not rated is instead taken into the guided flow as a NEW appeal whose text is "非常满意" (asked for
    photos, then location, area…): a resident answering late is made to file a nonsense ticket."""
    await world.send(RESIDENT, RESIDENT, "/start")
    await world.reply_from_bot(RESIDENT)
    await through_resolution(world, "小区门口垃圾三天没人清运了，异味很大")
    await world.settle()
    await scan_at(world, days=2, minutes=1)  # the reminder
    await scan_at(world, days=6)  # closed as not rated
    t = await ticket(world)
    assert (t.status, t.close_reason) == ("CLOSED", "not_rated")
    before = len(world.sb.bot_messages(RESIDENT))
    world.clock.advance(days=1)

    await world.send(RESIDENT, RESIDENT, "非常满意")
    await world.settle()

    assert await world.scalar(select(func.count()).select_from(Draft)) == 0
    answers = [m.get("text", "") for m in world.sb.bot_messages(RESIDENT)[before:]]
    assert len(answers) == 1 and "#2026-000001" in answers[0], answers
    assert ZH("flow.ask_photos") not in answers[0]


async def test_the_unsatisfied_ledger_in_the_chat_reaches_every_ticket(world: World):
    """DESIGN §4: "Keep an unsatisfied ledger (不满意台账) queryable by dispatchers"; README: `/unsatisfied`
    in the dispatch chat. With 16 tickets on it the answer shows 15 and says "（显示前 15 件，共 16 件）"
    — but neither a page button nor `/unsatisfied 2` shows the 16th: the oldest 不满意 case (the
    one most in need of 核实回访, seed 001) cannot be found in the chat at all."""
    places = ["东门", "西门", "南门", "北门", "一号楼", "二号楼", "三号楼", "四号楼", "五号楼", "六号楼",
              "七号楼", "八号楼", "九号楼", "十号楼", "菜市场", "幼儿园"]
    for n, place in enumerate(places, 1):
        await world.send(RESIDENT, COMMUNITY, f"@huying_bot {place}垃圾三天没人清运了")
        card = await world.reply_from_bot(DISPATCH_CHAT, predicate=lambda m, n=n: has_button("派单")(m)
                                          and f"#2026-{n:06d}" in m.get("text", ""))
        await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
        dept = await world.reply_from_bot(CGJ_CHAT, predicate=lambda m, n=n: has_button("签收")(m)
                                          and f"#2026-{n:06d}" in m.get("text", ""))
        await accept(world, HANDLER_A, CGJ_CHAT, dept)
        await submit_result(world, HANDLER_A, CGJ_CHAT, dept, "已清运")
        await world.settle()
        question = [m for m in world.sb.bot_messages(COMMUNITY)
                    if f"#2026-{n:06d}" in m.get("text", "") and has_button("非常满意")(m)][-1]
        await _unsatisfied(world, question)
        world.clock.advance(minutes=5)

    await world.send(DISPATCHER, DISPATCH_CHAT, "/unsatisfied")
    ledger = await world.reply_from_bot(DISPATCH_CHAT, contains="不满意台账")
    assert "共 16 件" in ledger["text"] and "#2026-000001" not in ledger["text"]
    seen = ledger["text"]
    if world.sb.buttons(ledger):
        await press(world, DISPATCHER, DISPATCH_CHAT, ledger, world.sb.buttons(ledger)[-1][-1])
        seen += world.sb.message(DISPATCH_CHAT, ledger["message_id"])["text"]
    else:
        await world.send(DISPATCHER, DISPATCH_CHAT, "/unsatisfied 2")
        seen += (await world.reply_from_bot(DISPATCH_CHAT, contains="不满意台账",
                                            predicate=lambda m: m["message_id"] > ledger["message_id"]))["text"]
    assert "#2026-000001" in seen


async def test_words_typed_under_the_rating_request_in_the_group_add_no_bot_message(world: World):
    """README "What the neighbours' group sees": a ticket adds at most three bot messages to the
    community chat (acknowledgement, rating request, 正面回应), and the reporter's own messages under
    the rating exchange are answered with a reaction. A reporter who answers the rating request in
    words ("不满意，门口还是很脏") gets a fourth bot message in the neighbours' group instead
    ("请点击上面消息中的按钮进行评价。"), and so does a one-character reason ("请多写几个字说明原因。")."""
    await through_resolution(world, "小区门口垃圾三天没人清运了，异味很大")
    question = await showing(world, COMMUNITY, "非常满意")
    before = len(world.sb.bot_messages(COMMUNITY))
    assert before == 2  # the acknowledgement and the rating request

    typed = [await world.send(RESIDENT, COMMUNITY, "不满意，门口还是很脏", reply_to=question["message_id"])]
    await world.settle()
    await press(world, RESIDENT, COMMUNITY, question, "不满意")
    typed.append(await world.send(RESIDENT, COMMUNITY, "脏", reply_to=question["message_id"]))
    await world.settle()

    assert [m.get("text", "")[:20] for m in world.sb.bot_messages(COMMUNITY)[before:]] == []
    assert [world.sb.bot_reaction(COMMUNITY, m["message_id"]) for m in typed] == ["👀", "👀"]
