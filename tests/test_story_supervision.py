"""Stories of 督办 (issue #10): two red cards → 约谈; 职责争议 decided by a leader; 领导包案 and 批示."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from scheduler.jobs import scan
from storage.models import Department
from tests.harness import (
    CGJ_CHAT,
    CGJ_LEADER,
    DISPATCH_CHAT,
    DISPATCHER,
    HANDLER_A,
    LEADERS_CHAT,
    RESIDENT,
    SW_CHAT,
    SW_HANDLER,
    World,
)
from tests.steps import accept, dispatched, has_button, press, rate, refused, refused_text, resolve
from tests.steps import ticket_by_code as ticket


def code_of(notice: dict) -> str:
    """The ticket whose red card called the 约谈 (named in its notice)."""
    return notice["text"].split("最近一次因 #")[1].split("）")[0]


async def said_to(world: World, chat: int) -> str:
    """The bot's next answer in `chat`."""
    return (await world.reply_from_bot(chat))["text"]


async def test_two_red_cards_call_for_a_talk_and_a_leader_takes_the_case(world: World):
    await world.send(CGJ_LEADER, CGJ_LEADER, "/start")  # the bot knows the leader by name from now on
    await world.reply_from_bot(CGJ_LEADER)
    cards = [await dispatched(world, text)
             for text in ("小区门口垃圾没人清运", "菜市场垃圾桶满了", "公园垃圾清运不及时", "河边垃圾堆积")]
    world.clock.advance(days=1, hours=2)
    await scan(world.app, world.clock())
    await world.settle()
    notice = await world.reply_from_bot(LEADERS_CHAT, contains="约谈通知", since=0)
    assert "城市管理局连续两次被亮红牌" in notice["text"] and "钱局长" in notice["text"]
    dept = await world.scalar(select(Department).where(Department.code == "cgj"))
    assert dept.red_streak == 0  # the run is counted afresh after the notice

    # /cards in the leaders' chat: each department's record, and the dates of its cards.
    await world.send(CGJ_LEADER, LEADERS_CHAT, "/cards")
    listing = await world.reply_from_bot(LEADERS_CHAT, contains="各部门红黄牌记录")
    history = listing["text"].splitlines()
    at = history.index("城市管理局：黄牌 2，红牌 2；连续黄牌 0，连续红牌 0")
    assert history[at + 1:at + 4] == ["　2026-11-24：🟨#2026-000001 🟥#2026-000002 🟨#2026-000003 🟥#2026-000004",
                                      f"　约谈：2026-11-24（因 #{code_of(notice)} 连续第二次被亮红牌）",
                                      "水务局：黄牌 0，红牌 0；连续黄牌 0，连续红牌 0"]

    # Someone who is not a leader presses 领导包案: an alert, nothing changes.
    answer = await press(world, DISPATCHER, LEADERS_CHAT, notice, "领导包案")
    refused(answer, "take.leaders_only")
    code = code_of(notice)
    assert (await ticket(world, code)).leader_id is None

    answer = await press(world, CGJ_LEADER, LEADERS_CHAT, notice, "领导包案")
    assert not answer.get("show_alert")
    t = await ticket(world, code)
    assert (t.leader_id, t.leader_name) == (CGJ_LEADER, "钱局长")
    await world.reply_from_bot(CGJ_LEADER, contains=f"您已包案 #{code}", since=0)
    await world.reply_from_bot(CGJ_CHAT, contains=f"#{code} 已由领导 钱局长 包案", since=0)
    # Every step reaches the leader in private; the department card shows who took it.
    card = next(m for m in world.sb.bot_messages(CGJ_CHAT) if f"#{code}" in m.get("text", "")
                and "签收" in str(world.sb.buttons(m)))
    await world.settle()  # at once, not only when the next step redraws the card
    assert "领导包案：钱局长" in world.sb.message(CGJ_CHAT, card["message_id"])["text"]
    await press(world, HANDLER_A, CGJ_CHAT, card, "签收")
    await world.reply_from_bot(CGJ_LEADER, contains="部门已签收")
    assert "领导包案：钱局长" in world.sb.message(CGJ_CHAT, card["message_id"])["text"]

    # 批示 reaches the department chat; /mine lists the leader's cases.
    await world.send(CGJ_LEADER, CGJ_LEADER, f"/instruct #{code} 请本周内清理完毕并回复群众")
    await world.reply_from_bot(CGJ_CHAT, contains="领导批示（钱局长）")
    await world.send(CGJ_LEADER, CGJ_LEADER, "/mine")
    assert f"#{code}" in (await world.reply_from_bot(CGJ_LEADER, contains="您包案的工单"))["text"]

    # Another of the four is done and rated: closed.
    done = next(c for c in cards if f"#{code}" not in c["text"])
    done_code = re.search(r"#(\d{4}-\d{6})", done["text"]).group(1)
    await accept(world, HANDLER_A, CGJ_CHAT, done)
    await rate(world, await resolve(world, HANDLER_A, CGJ_CHAT, done, "已清运完毕"), "非常满意")
    assert (await ticket(world, done_code)).status == "CLOSED"

    # Bad input: a clear answer each time, nothing posted anywhere else, nobody's case changed.
    before = {c: len(world.sb.bot_messages(c)) for c in (CGJ_CHAT, DISPATCH_CHAT, LEADERS_CHAT)}
    await world.send(CGJ_LEADER, CGJ_LEADER, "/take #2026-009999")
    refused_text(await said_to(world, CGJ_LEADER), "ticket.not_found", code="#2026-009999")
    await world.send(CGJ_LEADER, CGJ_LEADER, f"/take #{done_code}")
    refused_text(await said_to(world, CGJ_LEADER), "take.closed", code=f"#{done_code}")
    await world.send(CGJ_LEADER, CGJ_LEADER, f"/take #{code}")
    refused_text(await said_to(world, CGJ_LEADER), "take.already_yours", code=f"#{code}")
    await world.send(HANDLER_A, CGJ_CHAT, f"/take #{code}")
    refused_text(await said_to(world, CGJ_CHAT), "take.leaders_only")
    await world.send(CGJ_LEADER, CGJ_LEADER, "/take")
    refused_text(await said_to(world, CGJ_LEADER), "take.usage")
    await world.settle()
    assert {c: len(world.sb.bot_messages(c)) for c in (DISPATCH_CHAT, LEADERS_CHAT)} == \
        {c: before[c] for c in (DISPATCH_CHAT, LEADERS_CHAT)}
    assert len(world.sb.bot_messages(CGJ_CHAT)) == before[CGJ_CHAT] + 1  # the refusal of the handler only
    assert (await ticket(world, done_code)).leader_id is None


async def return_it(world: World, dept_chat: int, handler: int, card: dict, why: str) -> dict:
    await press(world, handler, dept_chat, card, "退单")
    prompt = await world.reply_from_bot(dept_chat, contains="理由")
    await world.send(handler, dept_chat, why, reply_to=prompt["message_id"])
    return await world.reply_from_bot(DISPATCH_CHAT, contains=why)


async def test_a_ticket_returned_twice_is_decided_by_a_leader_for_good(world: World):
    card = await dispatched(world, "小区门口垃圾没人清运")
    dispatch_card = await return_it(world, CGJ_CHAT, HANDLER_A, card, "这是物业管理的范围")
    assert "职责争议" not in dispatch_card["text"]
    await press(world, DISPATCHER, DISPATCH_CHAT, dispatch_card, "派单")
    card = await world.reply_from_bot(CGJ_CHAT, predicate=has_button("签收"))
    dispatch_card = await return_it(world, CGJ_CHAT, HANDLER_A, card, "还是不归我们管")
    assert "职责争议" in dispatch_card["text"]
    assert ["⚖️ 提请领导决定"] in world.sb.buttons(dispatch_card)

    # Only a dispatcher lays it before the leaders.
    answer = await press(world, RESIDENT, DISPATCH_CHAT, dispatch_card, "⚖️ 提请领导决定")
    refused(answer, "error.forbidden")
    await press(world, DISPATCHER, DISPATCH_CHAT, dispatch_card, "⚖️ 提请领导决定")
    notice = await world.reply_from_bot(LEADERS_CHAT, contains="职责争议")
    assert "已被退单 2 次" in notice["text"] and has_button("水务局")(notice)

    answer = await press(world, DISPATCHER, LEADERS_CHAT, notice, "水务局")
    refused(answer, "take.leaders_only")
    assert (await ticket(world, "2026-000001")).lead_decided_by is None
    await press(world, CGJ_LEADER, LEADERS_CHAT, notice, "水务局")
    sw_card = await world.reply_from_bot(SW_CHAT, predicate=has_button("签收"))
    t = await ticket(world, "2026-000001")
    assert (t.status, t.lead_dept, t.lead_decided_by) == ("DISPATCHED", "sw", CGJ_LEADER)
    assert "钱局长 已确定由水务局主办" in world.sb.message(LEADERS_CHAT, notice["message_id"])["text"]
    assert "职责争议" in sw_card["text"]

    # The decision is final: 退单 is refused and nothing changes.
    answer = await press(world, SW_HANDLER, SW_CHAT, sw_card, "退单")
    refused(answer, "dispute.final")
    assert (await ticket(world, "2026-000001")).status == "DISPATCHED"
    # A second press on the leaders' notice changes nothing either.
    world.clock.advance(timedelta(minutes=1))
    assert (await ticket(world, "2026-000001")).lead_dept == "sw"
