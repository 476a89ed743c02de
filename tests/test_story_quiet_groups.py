"""Stories: quiet community chats (issue #13). A ticket adds at most three bot messages to the
neighbours' group — the acknowledgement, the rating request, the 正面回应 — and every other step
rewrites the acknowledgement's status line; its button leads the reporter into private."""
from __future__ import annotations

from bot.callbacks import Rate
from tests.harness import (
    CGJ_CHAT,
    COMMUNITY,
    COMMUNITY_2,
    DISPATCH_CHAT,
    DISPATCHER,
    HANDLER_A,
    RESIDENT,
    RESIDENT_2,
    STRANGER,
    VOLUNTEER,
    World,
)
from tests.steps import ZH, has_button, press, press_raw, scan_at, showing, through_resolution, ticket

CODE = "#2026-000001"
HEAD = [ZH("ack.created", code=CODE), ZH("ack.next_group")]
DEPT = ZH("ack.dept", dept="城市管理局")
RESULT = "垃圾已全部清运，有问题请联系13812345678"


def status(key: str, suffix: str = "", **params: object) -> str:
    return ZH("ack.status", state=ZH(f"ack.state.{key}", **params) + suffix)


def ack_now(world: World, ack: dict) -> dict:
    return world.sb.message(COMMUNITY, ack["message_id"])


def assert_ack(world: World, ack: dict, line: str, *extra: str) -> None:
    """The acknowledgement reads exactly its head, any extra lines, then `line` — with the button."""
    msg = ack_now(world, ack)
    assert msg["text"] == "\n".join([*HEAD, *extra, line])
    assert world.sb.buttons(msg)[-1] == [ZH("ack.btn_private")]


def new_messages(world: World, before: int) -> list[dict]:
    return world.sb.bot_messages(COMMUNITY)[before:]


async def full_lifecycle(world: World, *, private: bool) -> tuple[dict, list[dict]]:
    """appeal → 派单 → 签收 → progress → 办结 → rating (result, process question, comment) → close →
    正面回应, checking the acknowledgement after each step; returns it and the group's bot messages."""
    if private:
        await world.send(RESIDENT, RESIDENT, "/start")
        await world.reply_from_bot(RESIDENT)
    before = len(world.sb.bot_messages(COMMUNITY))
    appeal = await world.send(RESIDENT, COMMUNITY, "@huying_bot 小区门口垃圾三天没人清运了，异味很大")
    ack = await world.reply_from_bot(COMMUNITY, contains=CODE)
    assert ack["reply_to_message"]["message_id"] == appeal["message_id"]
    assert_ack(world, ack, status("TRIAGE"))
    url = next(b for row in ack["reply_markup"]["inline_keyboard"] for b in row if "url" in b)["url"]
    assert url == "https://t.me/huying_bot?start=t2026-000001"

    card = await world.reply_from_bot(DISPATCH_CHAT, contains="城市管理局")
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    assert_ack(world, ack, status("DISPATCHED", DEPT))

    dept_card = await world.reply_from_bot(CGJ_CHAT, predicate=has_button("签收"))
    await press(world, HANDLER_A, CGJ_CHAT, dept_card, "签收")
    assert_ack(world, ack, status("ACCEPTED", DEPT))

    await world.send(HANDLER_A, CGJ_CHAT, "已联系环卫所，今天下午清运", reply_to=dept_card["message_id"])
    await world.reply_from_bot(CGJ_CHAT, contains="进展")
    assert_ack(world, ack, status("WORKING", DEPT))
    edits = sum(1 for e in world.sb.events if e["type"] == "edit" and e["chat_id"] == COMMUNITY)
    await world.send(HANDLER_A, CGJ_CHAT, "环卫车已出发", reply_to=dept_card["message_id"])
    await world.reply_from_bot(CGJ_CHAT, contains="进展")
    # A second progress note changes nothing the neighbours see: no edit at all.
    assert sum(1 for e in world.sb.events if e["type"] == "edit" and e["chat_id"] == COMMUNITY) == edits

    await press(world, HANDLER_A, CGJ_CHAT, world.sb.message(CGJ_CHAT, dept_card["message_id"]), "办结")
    prompt = await world.reply_from_bot(CGJ_CHAT, contains="办理结果")
    await world.send(HANDLER_A, CGJ_CHAT, RESULT, reply_to=prompt["message_id"])
    rating_chat = RESIDENT if private else COMMUNITY
    question = await world.reply_from_bot(rating_chat, predicate=has_button("非常满意"))
    assert_ack(world, ack, status("RESOLVED"))

    await press(world, RESIDENT, rating_chat, question, "比较满意")
    assert_ack(world, ack, status("CLOSED"))
    if private:
        process = await world.reply_from_bot(RESIDENT, predicate=has_button("跳过"))
    else:
        # The process question replaces the rating request in place: no new group message.
        process = world.sb.message(COMMUNITY, question["message_id"])
        assert process["text"] == ZH("rate.ask_process", code=CODE)
        assert world.sb.buttons(process)[-1] == ["跳过"]
    await press(world, RESIDENT, rating_chat, process, "非常满意")
    comment = await world.send(RESIDENT, rating_chat, "师傅们辛苦了", reply_to=process["message_id"])
    await world.settle()
    if not private:
        assert world.sb.message(COMMUNITY, question["message_id"])["text"] == ZH(
            "rate.process_recorded", code=CODE, label="非常满意")
        assert world.sb.bot_reaction(COMMUNITY, comment["message_id"]) == "👌"

    await scan_at(world)
    response = await world.reply_from_bot(COMMUNITY, contains="正面回应")
    assert_ack(world, ack, status("CLOSED"))
    assert (await ticket(world)).public_response_at is not None
    return ack, [m for m in new_messages(world, before) if m["message_id"] != response["message_id"]] + [response]


async def test_a_whole_life_adds_three_messages_to_the_group_without_a_private_chat(world: World):
    ack, group = await full_lifecycle(world, private=False)
    assert len(group) == 3
    first, rating, response = group
    assert first["message_id"] == ack["message_id"]
    # The rating request, edited in place through the process question to what was recorded.
    assert rating["text"] == ZH("rate.process_recorded", code=CODE, label="非常满意")
    assert response["text"].startswith("📢")
    # Nobody is named; the result's phone number is masked wherever it shows in the group.
    for m in world.sb.transcript(COMMUNITY):
        if m.get("from", {}).get("is_bot"):
            assert "张阿姨" not in (m.get("text") or "") and "13812345678" not in (m.get("text") or "")
    # The rating request said what was done (scrubbed) so the reporter could judge it there.
    [sent] = [e for e in world.sb.calls if e.method == "sendMessage" and "📝" in e.params.get("text", "")]
    assert sent.params["text"] == ZH("rate.ask_group", code=CODE, result="垃圾已全部清运，有问题请联系138****5678")


async def test_a_whole_life_adds_two_messages_to_the_group_when_the_reporter_is_in_private(world: World):
    ack, group = await full_lifecycle(world, private=True)
    assert [m["message_id"] for m in group] == [ack["message_id"], group[-1]["message_id"]]
    assert "正面回应" in group[-1]["text"]
    # The details went to private: dispatch, 签收, both progress notes, the result, the rating.
    private = [m["text"] for m in world.sb.bot_messages(RESIDENT)]
    assert any("城市管理局" in t for t in private)
    assert any("环卫车已出发" in t for t in private) and any(RESULT in t for t in private)


async def test_the_start_button_links_the_reporter_and_news_goes_private_from_then_on(world: World):
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 小区门口垃圾三天没人清运了，异味很大")
    ack = await world.reply_from_bot(COMMUNITY, contains=CODE)
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="城市管理局")
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    before = len(world.sb.bot_messages(COMMUNITY))

    # A stranger (or a neighbour) pressing the button learns nothing of the ticket.
    await world.sb.open_link(STRANGER, COMMUNITY, ack["message_id"], ZH("ack.btn_private"))
    told = await world.reply_from_bot(STRANGER)
    assert told["text"] == ZH("start.not_yours")
    # A guessed code that does not exist gets the very same answer.
    await world.send(STRANGER, STRANGER, "/start t2026-000099")
    assert (await world.reply_from_bot(STRANGER))["text"] == ZH("start.not_yours")
    assert len(world.sb.bot_messages(STRANGER)) == 2

    # The reporter gets the details in private.
    opened = await world.sb.open_link(RESIDENT, COMMUNITY, ack["message_id"], ZH("ack.btn_private"))
    assert opened["text"] == "/start t2026-000001"
    details = await world.reply_from_bot(RESIDENT)
    assert details["text"].startswith(ZH("start.linked", code=CODE))
    assert "小区门口垃圾三天没人清运了" in details["text"] and "已派单" in details["text"]

    # From then on: 签收 and progress reach them in private; the group only sees the ack change.
    dept_card = next(m for m in world.sb.bot_messages(CGJ_CHAT) if has_button("签收")(m))
    await press(world, HANDLER_A, CGJ_CHAT, dept_card, "签收")
    await world.reply_from_bot(RESIDENT, contains="签收")
    await world.send(HANDLER_A, CGJ_CHAT, "已联系环卫所，今天下午清运", reply_to=dept_card["message_id"])
    await world.reply_from_bot(RESIDENT, contains="今天下午清运")
    assert len(world.sb.bot_messages(COMMUNITY)) == before
    assert_ack(world, ack, status("WORKING", DEPT))
    # Someone else's 附议 is a reaction, and the count shows on the acknowledgement.
    plus = await world.send(RESIDENT_2, COMMUNITY, "+1 我家门口也是", reply_to=ack["message_id"])
    await world.settle()
    assert world.sb.bot_reaction(COMMUNITY, plus["message_id"]) == "👍"
    assert len(world.sb.bot_messages(COMMUNITY)) == before
    assert_ack(world, ack, status("WORKING", DEPT), ZH("ack.supporters", count=1))
    # The supporter pressing the button is told the result will come, and nothing more.
    await world.sb.open_link(RESIDENT_2, COMMUNITY, ack["message_id"], ZH("ack.btn_private"))
    assert (await world.reply_from_bot(RESIDENT_2))["text"] == ZH("start.supporter", code=CODE)


async def test_the_person_a_volunteer_reported_for_may_follow_it_in_private(world: World):
    # A grid volunteer forwards a resident's message; the resident is the one with the problem.
    fwd = {"type": "user", "sender_user": world.sb.world.user_dict(RESIDENT_2)}
    await world.send(VOLUNTEER, COMMUNITY, "家里水管漏水好几天了，没人来修", forward_from=fwd)
    ack = await world.reply_from_bot(COMMUNITY, contains=CODE)
    t = await ticket(world)
    assert (t.reporter_id, t.on_behalf_user_id) == (VOLUNTEER, RESIDENT_2)
    assert "刘先生" not in ack["text"] and ZH("ack.on_behalf") in ack["text"]
    await world.sb.open_link(RESIDENT_2, COMMUNITY, ack["message_id"], ZH("ack.btn_private"))
    details = await world.reply_from_bot(RESIDENT_2)
    assert details["text"].startswith(ZH("start.linked", code=CODE)) and "水管漏水" in details["text"]
    # From then on the resident hears the news in private, and the group gets nothing new.
    [card] = world.sb.bot_messages(DISPATCH_CHAT)
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    await world.reply_from_bot(RESIDENT_2, contains="已转交")
    assert [m["message_id"] for m in world.sb.bot_messages(COMMUNITY)] == [ack["message_id"]]
    # Their /my lists it, though the volunteer is the one who reported it.
    await world.send(RESIDENT_2, RESIDENT_2, "/my")
    listed = await world.reply_from_bot(RESIDENT_2, contains=ZH("my.header"))
    assert listed["text"].splitlines()[1].startswith(f"{CODE} · ")


async def test_neighbours_replying_to_the_rating_request_get_no_answer_in_the_group(world: World):
    await through_resolution(world, "小区门口垃圾三天没人清运了，异味很大")
    question = await world.reply_from_bot(COMMUNITY, predicate=has_button("非常满意"))
    before = len(world.sb.bot_messages(COMMUNITY))
    said = await world.send(STRANGER, COMMUNITY, "我家门口也一样", reply_to=question["message_id"])
    await press(world, RESIDENT, COMMUNITY, question, "不满意")
    asked = world.sb.message(COMMUNITY, question["message_id"])
    assert asked["text"] == ZH("rate.ask_reason", code=CODE)
    also = await world.send(STRANGER, COMMUNITY, "态度确实不好", reply_to=question["message_id"])
    await world.settle()
    assert len(world.sb.bot_messages(COMMUNITY)) == before
    assert world.sb.bot_reaction(COMMUNITY, said["message_id"]) is None
    assert world.sb.bot_reaction(COMMUNITY, also["message_id"]) is None
    t = await ticket(world)
    assert t.status == "RESOLVED"  # a neighbour's words are no reason of the reporter's


async def test_a_reason_pressed_in_the_group_after_going_private_is_not_shown_there(world: World):
    """不满意 in the group, then the reporter opens the private chat and picks the reason in the
    group: the questions go on in private, and the group's message does not say the reason."""
    await through_resolution(world, "小区门口垃圾三天没人清运了，异味很大")
    ack = await world.reply_from_bot(COMMUNITY, contains=CODE, since=0)
    question = await world.reply_from_bot(COMMUNITY, predicate=has_button("非常满意"))
    await press(world, RESIDENT, COMMUNITY, question, "不满意")
    asked = world.sb.message(COMMUNITY, question["message_id"])
    await world.sb.open_link(RESIDENT, COMMUNITY, ack["message_id"], ZH("ack.btn_private"))
    await world.reply_from_bot(RESIDENT)
    await press(world, RESIDENT, COMMUNITY, asked, ZH("rate.reason.attitude"))
    await world.reply_from_bot(RESIDENT, contains=ZH("rate.ask_process", code=CODE))
    shown = world.sb.message(COMMUNITY, question["message_id"])
    assert shown["text"] == ZH("rate.reason_chosen_group", code=CODE)
    assert ZH("rate.reason.attitude") not in str(world.sb.bot_messages(COMMUNITY))


async def test_unsatisfied_reason_and_a_second_round_stay_in_the_one_rating_message(world: World):
    _, dept_card = await through_resolution(world, "小区门口垃圾三天没人清运了，异味很大")
    ack = await world.reply_from_bot(COMMUNITY, contains=CODE, since=0)
    question = await world.reply_from_bot(COMMUNITY, predicate=has_button("非常满意"))
    count = len(world.sb.bot_messages(COMMUNITY))

    await press(world, RESIDENT, COMMUNITY, question, "不满意")
    asked = world.sb.message(COMMUNITY, question["message_id"])
    assert asked["text"] == ZH("rate.ask_reason", code=CODE)
    await press(world, RESIDENT, COMMUNITY, asked, "其他原因")
    words = world.sb.message(COMMUNITY, question["message_id"])
    assert words["text"] == ZH("rate.ask_reason_words", code=CODE)
    said = await world.send(RESIDENT, COMMUNITY, "门口还有一堆没运走", reply_to=question["message_id"])
    await world.settle()
    assert world.sb.bot_reaction(COMMUNITY, said["message_id"]) == "👌"
    t = await ticket(world)
    assert t.status == "REOPENED"
    due = t.resolve_due.astimezone(world.app.tz).strftime("%m-%d %H:%M")
    assert_ack(world, ack, status("REOPENED", when=due, dept=DEPT))
    assert world.sb.message(COMMUNITY, question["message_id"])["text"] == ZH("rate.ask_process", code=CODE)

    # The department answers again: round 2 asks in the same message, which takes the buttons again.
    reopen_card = await world.reply_from_bot(CGJ_CHAT, contains="门口还有一堆没运走")
    await press(world, HANDLER_A, CGJ_CHAT, reopen_card, "办结")
    prompt = await world.reply_from_bot(CGJ_CHAT, contains="办理结果")
    await world.send(HANDLER_A, CGJ_CHAT, "剩余垃圾已运走", reply_to=prompt["message_id"])
    await world.settle()
    again = world.sb.message(COMMUNITY, question["message_id"])
    assert again["text"] == ZH("rate.ask_group", code=CODE, result="剩余垃圾已运走")
    assert world.sb.buttons(again)[:2] == [["非常满意", "比较满意"], ["基本满意", "不满意"]]
    old = await press_raw(world, RESIDENT, COMMUNITY, question["message_id"],
                          Rate(ticket_id=t.id, round=1, question="result", score=4).pack())
    assert old.get("show_alert")
    await press(world, RESIDENT, COMMUNITY, again, "非常满意")
    assert (await ticket(world)).status == "CLOSED"
    assert len(world.sb.bot_messages(COMMUNITY)) == count
    assert_ack(world, ack, status("CLOSED"))


async def test_a_report_in_a_group_is_nudged_into_private_and_its_ack_shows_nothing(world: World):
    await world.send(RESIDENT, COMMUNITY, "#举报 3栋王某在小区内私设赌场，每晚聚众赌博")
    ack = await world.reply_from_bot(COMMUNITY, contains=CODE)
    t = await ticket(world)
    assert t.kind == "report"
    assert ack["text"] == "\n".join([ZH("ack.report", code=CODE), ZH("ack.report_private"), status("TRIAGE")])
    assert world.sb.buttons(ack) == [[ZH("ack.btn_report")]]
    card = await world.reply_from_bot(DISPATCH_CHAT, contains=CODE)
    assert "赌场" in card["text"]  # the office sees it, the neighbours do not
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "另选部门")
    picker = world.sb.message(DISPATCH_CHAT, card["message_id"])
    await press(world, DISPATCHER, DISPATCH_CHAT, picker, "城市管理局")
    # Not even the department it went to (it would say what the report is about).
    assert ack_now(world, ack)["text"].endswith(status("DISPATCHED"))
    for m in world.sb.bot_messages(COMMUNITY):
        assert "赌" not in m["text"] and "王某" not in m["text"] and "城市管理局" not in m["text"]

    # The button takes the reporter into private, where the details are.
    await world.sb.open_link(RESIDENT, COMMUNITY, ack["message_id"], ZH("ack.btn_report"))
    details = await world.reply_from_bot(RESIDENT)
    assert "私设赌场" in details["text"]

    # Resolved and rated: no 正面回应 for a report.
    dept_card = next(m for m in world.sb.bot_messages(CGJ_CHAT) if has_button("签收")(m))
    await press(world, HANDLER_A, CGJ_CHAT, dept_card, "签收")
    await press(world, HANDLER_A, CGJ_CHAT, world.sb.message(CGJ_CHAT, dept_card["message_id"]), "办结")
    prompt = await world.reply_from_bot(CGJ_CHAT, contains="办理结果")
    await world.send(HANDLER_A, CGJ_CHAT, "已会同派出所查处", reply_to=prompt["message_id"])
    question = await world.reply_from_bot(RESIDENT, predicate=has_button("非常满意"))
    await press(world, RESIDENT, RESIDENT, question, "非常满意")
    await scan_at(world)
    assert [m["message_id"] for m in world.sb.bot_messages(COMMUNITY)] == [ack["message_id"]]
    assert (await ticket(world)).public_response_skipped == "report"


async def test_a_chat_that_allows_no_thumbs_up_hears_the_agreement_in_words(world: World):
    world.sb.restrict_reactions(COMMUNITY, ["❤"])
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 小区门口垃圾三天没人清运了，异味很大")
    ack = await world.reply_from_bot(COMMUNITY, contains=CODE)
    plus = await world.send(RESIDENT_2, COMMUNITY, "+1", reply_to=ack["message_id"])
    answer = await world.reply_from_bot(COMMUNITY, contains="附议")
    assert answer["text"] == ZH("support.added", code=CODE, count=1)
    assert answer["reply_to_message"]["message_id"] == plus["message_id"]
    assert world.sb.bot_reaction(COMMUNITY, plus["message_id"]) is None


async def test_an_edit_queued_before_its_message_was_sent_waits_for_it_and_finds_it(world: World):
    """The acknowledgement may still be on its way when the next step rewrites it: the edit waits
    behind it (a ticket's rows keep their order) and learns its message id when it is sent."""
    from sqlalchemy import select

    from storage import outbox
    from storage.models import OutboxMessage

    await world.send(RESIDENT, COMMUNITY, "@huying_bot 小区门口垃圾三天没人清运了，异味很大")
    await world.reply_from_bot(COMMUNITY, contains=CODE)
    async with world.app.sessions() as s:
        now = world.clock()
        outbox.enqueue(s, chat_id=COMMUNITY_2, method="message", payload={"text": "first words"}, now=now,
                       ticket_id=1, purpose="ack")
        outbox.enqueue(s, chat_id=COMMUNITY_2, method="edit_text", payload={"text": "second words", "message_of": "ack"},
                       now=now, ticket_id=1, purpose="ack_edit")
        # Nothing to edit in this chat: the row fails, quietly.
        outbox.enqueue(s, chat_id=COMMUNITY, method="edit_text", payload={"text": "x", "message_of": "rate_ask"},
                       now=now, ticket_id=1)
        await world.app.commit(s)
    await world.settle()
    [msg] = world.sb.bot_messages(COMMUNITY_2)
    assert msg["text"] == "second words"
    rows = [r for r in await world.rows(select(OutboxMessage)) if r.payload.get("message_of")]
    assert sorted(r.status for r in rows) == ["failed", "sent"]


async def test_the_reporters_name_and_username_stay_out_of_the_group_when_the_result_names_them(world: World):
    # The department wrote whom it called; the bot knows that is the reporter (their own Telegram
    # name and @username) and printed it in the rating request and the 正面回应.
    world.sb.add_user(RESIDENT, "桂英", last_name="张", username="zhang_guiying")
    await through_resolution(world, "小区门口垃圾三天没人清运了，异味很大",
                             result="已电话联系张桂英（@zhang_guiying），垃圾已清运，欧阳女士也确认了")
    question = await showing(world, COMMUNITY, "非常满意")
    assert "已电话联系张**（@***），垃圾已清运，**女士也确认了" in question["text"]
    await press(world, RESIDENT, COMMUNITY, question, "非常满意")
    await scan_at(world, days=3)
    said_in_group = [c.params.get("text", "") for c in world.sb.calls if c.method.startswith(("send", "edit"))
                     and str(c.params.get("chat_id")) == str(COMMUNITY)]
    assert any("正面回应" in x or "📢" in x for x in said_in_group)
    assert [x for x in said_in_group if "zhang_guiying" in x or "张桂英" in x or "欧阳" in x] == []
