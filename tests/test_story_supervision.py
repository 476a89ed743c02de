"""Stories of 督办 (issue #10): two red cards → 约谈; 职责争议 decided by a leader; 领导包案 and 批示."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.sandbox import TelegramSandbox
from scheduler.jobs import scan
from storage.models import Department, Ticket
from tests.harness import (
    CGJ_CHAT,
    CGJ_LEADER,
    COMMUNITY,
    DISPATCH_CHAT,
    DISPATCHER,
    HANDLER_A,
    LEADERS_CHAT,
    RESIDENT,
    SW_CHAT,
    SW_HANDLER,
    World,
)


def has_button(label: str):  # noqa: ANN201
    return lambda m: any(label in b for row in TelegramSandbox.buttons(m) for b in row)


async def press(world: World, user: int, chat: int, msg: dict, label: str) -> dict:
    qid = await world.sb.press(user, chat, msg["message_id"], label)
    answer = await world.sb.callback_answer(qid)
    await world.settle()
    return answer


async def ticket(world: World, code: str) -> Ticket:
    return await world.scalar(select(Ticket).where(Ticket.code == code))


async def dispatched(world: World, text: str) -> dict:
    await world.send(RESIDENT, COMMUNITY, f"@huying_bot {text}")
    await world.reply_from_bot(COMMUNITY, contains="#2026-", timeout=30)  # the first appeal loads the router
    card = await world.reply_from_bot(DISPATCH_CHAT, predicate=has_button("派单"))
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    return await world.reply_from_bot(CGJ_CHAT, predicate=has_button("签收"))


async def test_two_red_cards_call_for_a_talk_and_a_leader_takes_the_case(world: World):
    await world.send(CGJ_LEADER, CGJ_LEADER, "/start")  # the bot knows the leader by name from now on
    await world.reply_from_bot(CGJ_LEADER)
    for text in ("小区门口垃圾没人清运", "菜市场垃圾桶满了", "公园垃圾清运不及时", "河边垃圾堆积"):
        await dispatched(world, text)
    world.clock.advance(days=1, hours=2)
    await scan(world.app, world.clock())
    await world.settle()
    notice = await world.reply_from_bot(LEADERS_CHAT, contains="约谈通知", since=0)
    assert "城市管理局连续两次被亮红牌" in notice["text"] and "钱局长" in notice["text"]
    dept = await world.scalar(select(Department).where(Department.code == "cgj"))
    assert dept.red_streak == 0  # the run is counted afresh after the notice

    # /cards in the leaders' chat: each department's record.
    await world.send(CGJ_LEADER, LEADERS_CHAT, "/cards")
    listing = await world.reply_from_bot(LEADERS_CHAT, contains="各部门红黄牌记录")
    assert "城市管理局：黄牌 2，红牌 2；连续黄牌 0，连续红牌 0" in listing["text"]

    # Someone who is not a leader presses 领导包案: an alert, nothing changes.
    answer = await press(world, DISPATCHER, LEADERS_CHAT, notice, "领导包案")
    assert answer["show_alert"] and "只有领导" in answer["text"]
    code = notice["text"].split("最近一次因 #")[1].split("）")[0]
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
    await press(world, HANDLER_A, CGJ_CHAT, card, "签收")
    await world.reply_from_bot(CGJ_LEADER, contains="部门已签收")
    assert "领导包案：钱局长" in world.sb.message(CGJ_CHAT, card["message_id"])["text"]

    # 批示 reaches the department chat; /mine lists the leader's cases.
    await world.send(CGJ_LEADER, CGJ_LEADER, f"/instruct #{code} 请本周内清理完毕并回复群众")
    await world.reply_from_bot(CGJ_CHAT, contains="领导批示（钱局长）")
    await world.send(CGJ_LEADER, CGJ_LEADER, "/mine")
    assert f"#{code}" in (await world.reply_from_bot(CGJ_LEADER, contains="您包案的工单"))["text"]

    # Bad input: a clear answer each time, nothing posted anywhere else.
    before = {c: len(world.sb.bot_messages(c)) for c in (CGJ_CHAT, DISPATCH_CHAT, LEADERS_CHAT)}
    await world.send(CGJ_LEADER, CGJ_LEADER, "/take #2026-009999")
    await world.reply_from_bot(CGJ_LEADER, contains="2026-009999")
    await world.send(CGJ_LEADER, CGJ_LEADER, f"/take #{code}")
    await world.reply_from_bot(CGJ_LEADER, contains="已由您包案")
    await world.send(HANDLER_A, CGJ_CHAT, f"/take #{code}")
    await world.reply_from_bot(CGJ_CHAT, contains="只有领导")
    await world.send(CGJ_LEADER, CGJ_LEADER, "/take")
    await world.reply_from_bot(CGJ_LEADER, contains="用法")
    assert {c: len(world.sb.bot_messages(c)) for c in (DISPATCH_CHAT, LEADERS_CHAT)} == \
        {c: before[c] for c in (DISPATCH_CHAT, LEADERS_CHAT)}


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
    assert answer["show_alert"]
    await press(world, DISPATCHER, DISPATCH_CHAT, dispatch_card, "⚖️ 提请领导决定")
    notice = await world.reply_from_bot(LEADERS_CHAT, contains="职责争议")
    assert "已被退单 2 次" in notice["text"] and has_button("水务局")(notice)

    answer = await press(world, DISPATCHER, LEADERS_CHAT, notice, "水务局")
    assert answer["show_alert"]
    await press(world, CGJ_LEADER, LEADERS_CHAT, notice, "水务局")
    sw_card = await world.reply_from_bot(SW_CHAT, predicate=has_button("签收"))
    t = await ticket(world, "2026-000001")
    assert (t.status, t.lead_dept, t.lead_decided_by) == ("DISPATCHED", "sw", CGJ_LEADER)
    assert "钱局长 已确定由水务局主办" in world.sb.message(LEADERS_CHAT, notice["message_id"])["text"]
    assert "职责争议" in sw_card["text"]

    # The decision is final: 退单 is refused and nothing changes.
    answer = await press(world, SW_HANDLER, SW_CHAT, sw_card, "退单")
    assert answer["show_alert"] and "不能退单" in answer["text"]
    assert (await ticket(world, "2026-000001")).status == "DISPATCHED"
    # A second press on the leaders' notice changes nothing either.
    world.clock.advance(timedelta(minutes=1))
    assert (await ticket(world, "2026-000001")).lead_dept == "sw"
