"""The console and one matter (issues #11, #12): a ticket's supporters and related tickets, 批示 and
领导包案 from the ticket page (the services /instruct and /take call, for leaders only, with the CSRF
token), and the 高频共性 and 专项 pages in the header, in Chinese and English."""
from __future__ import annotations

import re

from sqlalchemy import select

from storage.models import Ticket
from tests.harness import (
    CGJ_CHAT, CGJ_LEADER, COMMUNITY, DISPATCH_CHAT, DISPATCHER, HANDLER_A, LEADERS_CHAT, RESIDENT, RESIDENT_2,
    STRANGER, SW_HANDLER, World,
)
from tests.steps import ZH, appeal, dispatched, open_campaign, supported
from tests.test_story_matter import RUBBISH
from tests.webharness import Browser, login_token, serving


def section(page: str, element_id: str, tag: str = "dd|table|div|p") -> str:
    """The text of the element with this id up to its first closing `tag` (tags dropped, spaces squeezed)."""
    m = re.search(rf'id="{element_id}"[^>]*>(.*?)</({tag})>', page, re.S)
    assert m, element_id
    return " ".join(re.sub(r"<[^>]+>", " ", m.group(1)).split())


async def test_the_ticket_page_shows_supporters_and_related_tickets(world: World):
    ack = await appeal(world, RESIDENT, RUBBISH)
    await supported(world, RESIDENT_2, ack, "同问，什么时候能修好？")  # a neighbour agrees: 附议
    await world.send(STRANGER, COMMUNITY, "不光垃圾，楼道里还堆满了杂物，消防通道都堵了", reply_to=ack["message_id"])
    await world.reply_from_bot(COMMUNITY, contains="#2026-000002")
    async with serving(world) as base:
        b = Browser(base)
        try:
            await b.login(await login_token(world, DISPATCHER))
            status, page = await b.get("tickets/2026-000001")
            assert status == 200
            assert section(page, "supporters") == "1 人: 刘先生"
            assert section(page, "related") == "相关诉求： #2026-000002"
            assert 'href="/tickets/2026-000002"' in page
            status, page = await b.get("tickets/2026-000002?lang=en")
            assert section(page, "supporters") == "—"
            assert section(page, "related") == "Filed as related to #2026-000001"
        finally:
            await b.close()


async def test_a_leader_instructs_and_takes_a_ticket_from_its_page(world: World):
    await dispatched(world, "小区门口垃圾三天没人清运了")
    async with serving(world) as base:
        leader, dispatcher = Browser(base), Browser(base)
        try:
            await dispatcher.login(await login_token(world, DISPATCHER))
            status, page = await dispatcher.get("tickets/2026-000001")
            assert status == 200 and 'id="form-instruct"' not in page and 'id="form-take"' not in page
            await leader.login(await login_token(world, CGJ_LEADER))
            status, page = await leader.get("tickets/2026-000001")
            assert 'id="form-instruct"' in page and 'id="form-take"' in page

            # 批示: the department chat hears exactly what /instruct makes it hear.
            words = "请本周内清理完毕并回复群众"
            status, page = await leader.post("tickets/2026-000001/instruct", {"words": words})
            assert status == 200 and section(page, "flash") == "批示已送达承办部门"
            note = await world.reply_from_bot(CGJ_CHAT, contains="领导批示")
            assert note["text"] == ZH("instruct.note", leader="钱局长", code="#2026-000001", words=words)
            await world.send(CGJ_LEADER, CGJ_LEADER, f"/instruct #2026-000001 {words}")
            by_command = await world.reply_from_bot(CGJ_CHAT, contains="领导批示")
            assert by_command["text"] == note["text"]

            # Roles on the server: a dispatcher's POST (forged, the page offers no form) is refused.
            sent = len(world.sb.bot_messages(CGJ_CHAT))
            status, page = await dispatcher.post("tickets/2026-000001/instruct", {"words": "我来批示"})
            assert status == 409 and section(page, "flash") == ZH("take.leaders_only")
            status, page = await dispatcher.post("tickets/2026-000001/take", {})
            assert status == 409 and section(page, "flash") == ZH("take.leaders_only")
            # Without the CSRF token nothing happens either; an empty instruction is refused.
            status, _ = await leader.post("tickets/2026-000001/instruct", {"words": "再催一下"}, csrf=False)
            assert status == 403
            status, page = await leader.post("tickets/2026-000001/instruct", {"words": " "})
            assert status == 409 and section(page, "flash") == "请先写下批示内容。"
            await world.settle()
            assert len(world.sb.bot_messages(CGJ_CHAT)) == sent
            assert (await world.scalar(select(Ticket))).leader_id is None

            # 领导包案, as /take and the button: the leader hears every step, the card names them.
            status, page = await leader.post("tickets/2026-000001/take", {})
            assert status == 200 and section(page, "leader") == "钱局长" and 'id="form-take"' not in page
            await world.reply_from_bot(CGJ_LEADER, contains="您已包案 #2026-000001")
            await world.reply_from_bot(CGJ_CHAT, contains="#2026-000001 已由领导 钱局长 包案")
            assert (await world.scalar(select(Ticket))).leader_id == CGJ_LEADER
        finally:
            await leader.close()
            await dispatcher.close()


async def test_hotspots_and_campaigns_pages(world: World):
    for user, text in ((RESIDENT, RUBBISH), (RESIDENT_2, "渔港街菜市场门口垃圾堆成山了"),
                       (STRANGER, "河边有人倒建筑垃圾，堆了一大片")):
        await appeal(world, user, text)
    alert = await world.reply_from_bot(LEADERS_CHAT, contains="高频共性问题")
    await open_campaign(world, alert, "一个月内清理全镇垃圾点 2026-12-31")
    await world.reply_from_bot(DISPATCH_CHAT, contains="专项已开设", since=0)
    async with serving(world) as base:
        b, handler, other = Browser(base), Browser(base), Browser(base)
        try:
            await b.login(await login_token(world, DISPATCHER))
            status, page = await b.get("queue")
            assert 'href="/hotspots"' in page and 'href="/campaigns"' in page
            status, page = await b.get("hotspots")
            assert status == 200
            rows = re.findall(r'<tr data-area="([^"]+)" data-category="([^"]+)">', page)
            assert rows == [("港口镇", "市容环卫")]
            row = section(page, "hotspots")
            assert "1 港口镇 市容环卫 3" in row and "同类诉求达到阈值" in row and "专项 #1 市容环卫" in row
            assert all(f'href="/tickets/2026-00000{n}"' in page for n in (1, 2, 3))
            status, page = await b.get("hotspots?period=soon")
            assert status == 400 and "看不懂时间段“soon”" in page
            status, page = await b.get("hotspots?period=本月&lang=en")
            assert status == 200 and "Recurring problems" in page and "Many tickets of one kind" in page

            status, page = await b.get("campaigns?lang=zh")
            assert status == 200
            box = section(page, "campaign-1", "div")
            assert "专项 #1 市容环卫 · 港口镇 · 进行中" in box
            assert "一个月内清理全镇垃圾点" in box and "城市管理局" in box and "周书记" in box
            assert "诉求 3 件，已办结 0 件；已评价 0 件，满意率 —" in box
            assert all(f'href="/tickets/2026-00000{n}"' in page for n in (1, 2, 3))
            status, page = await b.get("campaigns?lang=en")
            assert "Campaign #1 市容环卫 · 港口镇 · running" in section(page, "campaign-1", "div")
            assert "3 tickets, 0 solved; 0 rated, — satisfied" in page

            # A handler: no hotspots (they span departments), but the 专项 their department leads.
            await handler.login(await login_token(world, HANDLER_A))
            status, page = await handler.get("queue")
            assert 'href="/hotspots"' not in page and 'href="/campaigns"' in page
            status, page = await handler.get("hotspots")
            assert status == 400 and "仅派单员、领导和管理员可以查看" in page and "市容环卫" not in page
            status, page = await handler.get("campaigns")
            assert status == 200 and 'id="campaign-1"' in page
            await other.login(await login_token(world, SW_HANDLER))
            status, page = await other.get("campaigns")
            assert status == 200 and 'id="campaign-1"' not in page and "还没有专项" in page
        finally:
            for x in (b, handler, other):
                await x.close()
