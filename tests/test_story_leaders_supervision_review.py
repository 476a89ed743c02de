"""Review (leaders2): the district leaders and their 督办 over several weeks — what they are told,
where a 批示 goes, a 职责争议 that comes back, a leader's list of cases."""
from __future__ import annotations

from datetime import timedelta


from storage.models import Ticket
from tests.harness import (
    CGJ_CHAT, CGJ_LEADER, DISPATCH_CHAT, HANDLER_A, LEADER, LEADERS_CHAT, World,
)
from tests.steps import dispatched, return_it, said, ticket_by_code


async def started(world: World, user: int) -> None:
    """`user` opens a private chat with the bot (so private news can reach them)."""
    await world.send(user, user, "/start")
    await world.reply_from_bot(user)


async def test_an_instruction_with_no_department_yet_is_not_said_to_have_reached_one(world: World):
    """The ticket was returned (退单) and waits for a dispatcher: no department has it. The 批示 is posted in
    the dispatch chat, yet the leader is told "批示已送达 #2026-000001 的承办部门" — the leader believes
    城市管理局 (or someone) is acting on it, and nobody in any department has read it. The answer must not
    claim a department received it (README: the 批示 "reaches the department chat")."""
    card = await dispatched(world, "小区门口垃圾没人清运")
    await return_it(world, CGJ_CHAT, HANDLER_A, card, "这是物业管理的范围")
    assert (await ticket_by_code(world, "2026-000001")).lead_dept is None
    before_cgj = len(world.sb.bot_messages(CGJ_CHAT))
    await world.send(LEADER, LEADERS_CHAT, "/instruct #2026-000001 请尽快明确责任单位")
    answer = (await world.reply_from_bot(LEADERS_CHAT, contains="#2026-000001"))["text"]
    await world.settle()
    assert said(world, DISPATCH_CHAT, "请尽快明确责任单位")  # where it really went
    assert len(world.sb.bot_messages(CGJ_CHAT)) == before_cgj
    assert answer != "批示已送达 #2026-000001 的承办部门。", answer


async def test_a_leaders_current_case_is_not_cut_off_by_old_ones(world: World):
    """README: "`/mine` (private) lists their cases". Over weeks a leader takes many tickets; they close, but
    /mine lists every case ever taken, oldest first, in one message clipped at Telegram's limit. The case the
    leader took today — the only one still open — falls past the cut and is not shown. The leader's open
    cases must be listed (closed ones after them, left out, or paged)."""
    await started(world, LEADER)
    async with world.app.sessions() as s:
        now = world.clock()
        for n in range(90):
            at = now - timedelta(days=60) + timedelta(minutes=n)
            s.add(Ticket(code=f"2026-{n + 500:06d}", status="CLOSED", text=f"第{n}号：小区门口垃圾堆放多日无人清运，影响出行",
                         lead_dept="cgj", leader_id=LEADER, leader_name="周书记", taken_at=at,
                         created_at=at, updated_at=at, closed_at=at))
        await s.commit()
    await dispatched(world, "菜市场垃圾桶满了")
    await world.send(LEADER, LEADER, "/take #2026-000001")
    await world.reply_from_bot(LEADER, contains="已包案")
    await world.send(LEADER, LEADER, "/mine")
    await world.reply_from_bot(LEADER, contains="您包案的工单")
    await world.settle()
    texts = "\n".join(m.get("text") or "" for m in world.sb.bot_messages(LEADER))
    listing = texts.split("您包案的工单", 1)[1]
    assert "#2026-000001" in listing, listing[-200:]


async def test_the_leader_who_holds_a_case_hears_of_another_leaders_instruction(world: World):
    """README: the leader who took a ticket (领导包案) "is told of every step in private". 周书记 holds the
    case; 钱局长 writes a 批示 on it to 城市管理局. The department acts on an instruction its case-holder
    never heard of: 周书记 gets no word of it (not even in /mine), and may give a contrary one."""
    await started(world, LEADER)
    await started(world, CGJ_LEADER)
    await dispatched(world, "小区门口垃圾没人清运")
    await world.send(LEADER, LEADER, "/take #2026-000001")
    await world.reply_from_bot(LEADER, contains="已包案")
    before = len(world.sb.bot_messages(LEADER))
    await world.send(CGJ_LEADER, CGJ_LEADER, "/instruct #2026-000001 今天下班前必须清运完毕")
    await world.reply_from_bot(CGJ_CHAT, contains="今天下班前必须清运完毕")
    await world.settle()
    told = [m.get("text") or "" for m in world.sb.bot_messages(LEADER)[before:]]
    assert any("今天下班前必须清运完毕" in t for t in told), told


async def test_an_instruction_to_a_department_whose_chat_is_gone_is_not_said_to_be_delivered(world: World):
    """城市管理局's group was deleted (the bot noticed: its binding is inactive). A 派单 or 退回重办 to it is
    refused ("还没有绑定工作群"), but /instruct posts the 批示 into the dead chat and tells the leader
    "批示已送达 #2026-000001 的承办部门" — the leader's instruction is lost and the leader believes it arrived.
    It must go where someone reads it (the dispatch chat) or the leader must be told it could not be
    delivered (cf. the refusal `instruct.nowhere`)."""
    from tests.steps import lose_chat

    await dispatched(world, "小区门口垃圾没人清运")
    await lose_chat(world, CGJ_CHAT)
    await world.send(LEADER, LEADERS_CHAT, "/instruct #2026-000001 请本周内清理完毕")
    answer = (await world.reply_from_bot(LEADERS_CHAT, contains="#2026-000001"))["text"]
    await world.settle()
    delivered_somewhere = said(world, DISPATCH_CHAT, "请本周内清理完毕")
    assert delivered_somewhere or answer != "批示已送达 #2026-000001 的承办部门。", answer
