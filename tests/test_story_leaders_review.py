"""The leaders and the 12345 centre's supervisors, in the leaders' chat (a review from outside)."""
from __future__ import annotations

from datetime import timedelta

import yaml
from sqlalchemy import select

from storage.models import Ticket
from tests.harness import (
    COMMUNITY as COMMUNITY_, RESIDENT as RESIDENT_,
    CGJ_CHAT, CGJ_LEADER, DATA, DISPATCH_CHAT, DISPATCHER, HANDLER_A, LEADER, LEADERS_CHAT, SW_CHAT, TOKEN, World,
    fresh_database, populate,
)
from tests.steps import (
    dispatched, disputed, has_button, lose_chat, messages_saying, press, ticket_by_code,
)


async def test_a_dispute_is_laid_before_the_leaders_once(world: World):
    """DESIGN §8: a ticket returned twice is a 职责争议 for the leaders' chat. The dispatcher presses
    提请领导决定 — and a second time (a double tap, or a colleague on the same card): the leaders' chat
    must get one notice to decide on, not two with live department buttons."""
    dispatch_card = await disputed(world)
    await press(world, DISPATCHER, DISPATCH_CHAT, dispatch_card, "⚖️ 提请领导决定")
    await world.reply_from_bot(LEADERS_CHAT, contains="职责争议")
    card_now = world.sb.message(DISPATCH_CHAT, dispatch_card["message_id"])
    answer = await press(world, DISPATCHER, DISPATCH_CHAT, card_now, "⚖️ 提请领导决定") \
        if has_button("⚖️ 提请领导决定")(card_now) else {}
    await world.settle()
    notices = messages_saying(world, LEADERS_CHAT, "职责争议", "提请领导确定主办单位")
    assert len(notices) == 1, ([n["text"][:40] for n in notices], answer)


async def test_a_dispute_dispatched_meanwhile_is_not_said_to_be_decided_by_a_leader(world: World):
    """While the notice waits in the leaders' chat, the dispatcher sends the ticket to 水务局 from the
    dispatch card. A leader then presses a department on the notice: the answer must not claim that a
    leader has already chosen the lead department (nobody did: `lead_decided_by` is empty)."""
    dispatch_card = await disputed(world)
    await press(world, DISPATCHER, DISPATCH_CHAT, dispatch_card, "⚖️ 提请领导决定")
    notice = await world.reply_from_bot(LEADERS_CHAT, contains="职责争议")
    # The dispatcher goes ahead meanwhile: 另选部门 → 水务局.
    card_now = world.sb.message(DISPATCH_CHAT, dispatch_card["message_id"])
    await press(world, DISPATCHER, DISPATCH_CHAT, card_now, "另选部门")
    picker = world.sb.message(DISPATCH_CHAT, dispatch_card["message_id"])
    await press(world, DISPATCHER, DISPATCH_CHAT, picker, "水务局")
    await world.reply_from_bot(SW_CHAT, predicate=has_button("签收"))
    t = await ticket_by_code(world, "2026-000001")
    assert (t.status, t.lead_dept, t.lead_decided_by) == ("DISPATCHED", "sw", None)
    answer = await press(world, LEADER, LEADERS_CHAT, notice, "住房和城乡建设局")
    assert answer.get("text") != "该工单的主办单位已由领导确定。", answer


async def test_a_leader_taken_out_of_the_org_file_no_longer_holds_the_case(tmp_path):
    """领导包案 (DESIGN §8, seed 004 领导包案): 周书记 takes a ticket, then leaves; the org file no longer lists
    them and the bot restarts ("Re-importing the file updates what it names"; org roles are replaced
    wholesale). Another leader must be able to take the case over, and the person who left must not go
    on receiving every step of the ticket in private."""
    from bot.sandbox import TelegramSandbox
    from tests.test_going_live_review import world_on

    async with TelegramSandbox(bot_token=TOKEN, bot_username="huying_bot", privacy_mode=False) as sb:
        populate(sb)
        db_url = await fresh_database(tmp_path)
        async with world_on(sb, db_url, DATA / "org.yaml") as w:
            card = await dispatched(w, "小区门口垃圾没人清运")
            await w.send(LEADER, LEADER, "/take #2026-000001")
            await w.reply_from_bot(LEADER, contains="已包案")
        org = yaml.safe_load((DATA / "org.yaml").read_text(encoding="utf-8"))
        org["people"] = [p for p in org["people"] if p["id"] != LEADER]
        path = tmp_path / "leader-left.yaml"
        path.write_text(yaml.safe_dump(org, allow_unicode=True), encoding="utf-8")
        async with world_on(sb, db_url, path) as w:
            before = len(sb.bot_messages(LEADER))
            await press(w, HANDLER_A, CGJ_CHAT, card, "签收")
            await w.settle()
            told = [m.get("text") for m in sb.bot_messages(LEADER)[before:]]
            await w.send(CGJ_LEADER, CGJ_LEADER, "/take #2026-000001")
            answer = (await w.reply_from_bot(CGJ_LEADER, timeout=30))["text"]
            t = await w.scalar(select(Ticket).where(Ticket.code == "2026-000001"))
    assert t.leader_id == CGJ_LEADER, (answer, t.leader_id)
    assert not told, told


async def test_cards_in_the_leaders_chat_show_every_departments_record(world: World):
    """README: `/cards` in the leaders' chat "lists each department's record and runs and, under each,
    the dates of its latest eight cards". A district has many 承办单位 (seed 004 lists dozens of member
    units); with 20 departments carded on a few days each the answer outgrows one Telegram message and
    is clipped with "…": the record of the departments at the end of the list, and the page line, are
    lost. The text must go in several messages (as /report does) or be paged — not cut."""
    from storage.models import Card, Department

    await dispatched(world, "小区门口垃圾没人清运")
    t = await ticket_by_code(world, "2026-000001")
    async with world.app.sessions() as s:
        for n in range(20):
            code = f"d{n:02d}"
            s.add(Department(code=code, name=f"第{n:02d}号承办单位（街道综合执法队）"))
            await s.flush()
            for day in range(8):
                s.add(Card(dept_code=code, ticket_id=t.id, round=day, colour="yellow" if day % 2 else "red",
                           clock="accept", reason="-", at=world.clock() - timedelta(days=day)))
        await s.commit()
    before = len(world.sb.bot_messages(LEADERS_CHAT))
    await world.send(LEADER, LEADERS_CHAT, "/cards")
    await world.reply_from_bot(LEADERS_CHAT, contains="红黄牌")
    await world.settle()
    texts = "\n".join(m.get("text") or "" for m in world.sb.bot_messages(LEADERS_CHAT)[before:])
    assert "第19号承办单位（街道综合执法队）：黄牌 4，红牌 4" in texts, texts[-300:]


async def report_figures(world: World):
    from bot.domain.periods import Period, PeriodKind
    from bot.services import reports

    async with world.app.sessions() as s:
        built = await reports.build(s, world.app, Period(2026, PeriodKind.MONTH, 11), world.clock())
    return {p.dept: p.figures for p in built.places}


async def test_a_reopening_stays_with_the_department_whose_result_was_rejected(world: World):
    """README "Supervision": the report counts, per lead department, "reopened (reopenings in P)". 城市管理局's
    result is rejected (不满意) and the ticket reopened to it: that reopening is 城市管理局's. After a second
    不满意 the dispatcher's review sends the ticket to 水务局 (改派其他部门): the November report must still
    count the reopening for 城市管理局 — it must not move to 水务局, which never handled the ticket then,
    nor change a month already reported in the 通报."""
    from tests.steps import resolve_on, showing
    from tests.test_story_ratings import resolved

    question = await resolved(world)
    await press(world, RESIDENT_, COMMUNITY_, question, "不满意")
    await press(world, RESIDENT_, COMMUNITY_, await showing(world, COMMUNITY_, "问题没有解决"), "问题没有解决")
    before = await report_figures(world)
    assert before["cgj"].reopened == 1
    card = await world.reply_from_bot(CGJ_CHAT, contains="问题没有解决")
    q = await resolve_on(world, card, "再次清运", COMMUNITY_)
    await press(world, RESIDENT_, COMMUNITY_, q, "不满意")
    await press(world, RESIDENT_, COMMUNITY_, await showing(world, COMMUNITY_, "问题没有解决"), "问题没有解决")
    review = await world.reply_from_bot(DISPATCH_CHAT, contains="不满意诉求审核")
    await press(world, DISPATCHER, DISPATCH_CHAT, review, "改派其他部门")
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="审核后改派")
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "另选部门")
    await press(world, DISPATCHER, DISPATCH_CHAT, world.sb.message(DISPATCH_CHAT, card["message_id"]), "水务局")
    assert (await ticket_by_code(world, "2026-000001")).lead_dept == "sw"
    after = await report_figures(world)
    assert (after["cgj"].reopened, after["sw"].reopened) == (1, 0), (after["cgj"].reopened, after["sw"].reopened)


async def test_a_campaign_led_by_a_department_without_a_chat_is_not_opened_in_silence(world: World):
    """DESIGN §8: a leader opens a 专项 from a 高频共性 alert; its lead department is asked for the 成因排查
    and is reminded at 50 %/80 % of the time. When that department's chat is gone, a 派单 or a 退回重办 to it
    is refused ("还没有绑定工作群"). Opening the 专项 is accepted as if all was well: the department never
    hears of it, the 成因排查 can never come, the reminders go nowhere — and the leaders are not told."""
    from tests.steps import appeal
    from tests.harness import RESIDENT_2, STRANGER

    for user, text in ((RESIDENT_, "幸福花园小区门口垃圾三天没人清运了"), (RESIDENT_2, "渔港街菜市场门口垃圾堆成山了"),
                       (STRANGER, "河边有人倒建筑垃圾，堆了一大片")):
        await appeal(world, user, text)
    alert = await world.reply_from_bot(LEADERS_CHAT, contains="高频共性问题")
    await lose_chat(world, CGJ_CHAT)
    await press(world, LEADER, LEADERS_CHAT, alert, "开设专项")
    prompt = await world.reply_from_bot(LEADERS_CHAT, contains="治理目标")
    before = len(world.sb.bot_messages(LEADERS_CHAT))
    await world.send(LEADER, LEADERS_CHAT, "一个月内清理全镇垃圾点 2026-12-31", reply_to=prompt["message_id"])
    await world.settle()
    said_now = [m.get("text") or "" for m in world.sb.bot_messages(LEADERS_CHAT)[before:]]
    assert any("城市管理局" in t and "工作群" in t for t in said_now), said_now


async def test_a_campaign_deadline_written_as_before_a_date_is_that_date(world: World):
    """README 专项: the leader replies with the goal, "ending it with a deadline (`2026-12-31`, `12月31日`,
    `30天`; default 30 days)". The way a deadline is written in Chinese is "12月31日前" (by 31 Dec): the
    date is not read, the 专项 gets the 30-day default (2026-12-23) and the goal keeps "12月31日前" — the
    reminders, the overdue notice and the daily nags then run on a date nobody chose."""
    from tests.steps import appeal, open_campaign
    from tests.harness import RESIDENT_2, STRANGER

    for user, text in ((RESIDENT_, "幸福花园小区门口垃圾三天没人清运了"), (RESIDENT_2, "渔港街菜市场门口垃圾堆成山了"),
                       (STRANGER, "河边有人倒建筑垃圾，堆了一大片")):
        await appeal(world, user, text)
    alert = await world.reply_from_bot(LEADERS_CHAT, contains="高频共性问题")
    opened = await open_campaign(world, alert, "清理全镇垃圾点并建立日清制度，12月31日前")
    assert "截止：2026-12-31" in opened["text"], opened["text"]


async def test_a_leader_who_never_opened_a_private_chat_is_not_promised_private_news(world: World):
    """DESIGN §8 / README: a leader takes a ticket (领导包案) and "is told of every step in private". 周书记 has
    never opened a private chat with the bot (Telegram then refuses every private message: 403 "bot can't
    initiate conversation"). /take in the leaders' chat answers "后续每一步都会私信告知您" — and nothing ever
    arrives: not the 包案 confirmation, not the 签收. The leader must either get the news or be told to start
    the bot in private first (as residents' and supporters' private notes are handled)."""
    card = await dispatched(world, "小区门口垃圾没人清运")
    await world.send(LEADER, LEADERS_CHAT, "/take #2026-000001")
    answer = (await world.reply_from_bot(LEADERS_CHAT, contains="#2026-000001"))["text"]
    await press(world, HANDLER_A, CGJ_CHAT, card, "签收")
    await world.settle()
    private = [m.get("text") for m in world.sb.bot_messages(LEADER)]
    assert private or "私聊" in answer or "/start" in answer, (answer, private)
