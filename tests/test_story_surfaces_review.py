"""Review (surfaces): the same facts seen through the chats' cards and commands, the console, the
annex ledgers and Open311 must agree with each other and with README "Supervision"."""
from __future__ import annotations

import io
import json
import re

from openpyxl import load_workbook

from tests.harness import CGJ_CHAT, DISPATCH_CHAT, DISPATCHER, HANDLER_A, RESIDENT, RESIDENT_2, World
from tests.steps import accept, appeal, dispatched, has_button, press, rate, resolve, scan_at, sh
from tests.test_open311 import get as open311_get
from tests.webharness import Browser, login_token, serving


def _cells(row_html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row_html, flags=re.S)]


def _ratings_rows(page: str) -> list[list[str]]:
    """The rows of the console ticket page's 满意度评价 table."""
    head = page.index("<h2>满意度评价</h2>")
    table = page[head:page.index("</table>", head)]
    return [_cells(r) for r in re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[1], flags=re.S)]


def _history_rows(page: str) -> list[list[str]]:
    table = page[page.index('<table id="history">'):]
    table = table[:table.index("</table>")]
    return [_cells(r) for r in re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[1], flags=re.S)]


async def _console_page(world: World, path: str) -> str:
    async with serving(world) as base:
        b = Browser(base)
        try:
            await b.login(await login_token(world, DISPATCHER))
            status, page = await b.get(path)
        finally:
            await b.close()
    assert status == 200, page[:300]
    return page


def _sheet(world: World, msg: dict) -> list[list[object]]:
    data = world.sb.world.files[msg["document"]["file_id"]].data
    return [list(r) for r in load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True)]


async def test_console_names_an_unsatisfied_rating_without_a_reason_as_the_ledger_and_card_do(world: World):
    """A resident presses 不满意 and never says why; an hour later the scan reopens the ticket. The
    department card and the 不满意台账 (seed 001) say 原因：未说明原因, but the console's ticket page —
    where the dispatcher reviews unsatisfied tickets (DESIGN §1) — shows the raw code "none", both in
    the 满意度评价 table and in the history's 不满意，退回原部门重办 line. The same fact must read the same."""
    card = await dispatched(world, "小区门口垃圾没人清运", CGJ_CHAT)
    await accept(world, HANDLER_A, CGJ_CHAT, card)
    await rate(world, await resolve(world, HANDLER_A, CGJ_CHAT, card, "已清运"), "不满意")
    await scan_at(world, sh(2026, 11, 23, 11))  # no reason within the hour: reopened to the department

    await world.send(DISPATCHER, DISPATCH_CHAT, "/export unsatisfied 2026-11")
    ledger = _sheet(world, await world.reply_from_bot(DISPATCH_CHAT, predicate=lambda m: "document" in m))
    assert ledger[3][5] == "未说明原因"  # the ledger's 不满意原因

    page = await _console_page(world, "tickets/2026-000001")
    [round1] = _ratings_rows(page)
    assert round1[3] == "未说明原因", round1
    reopened = [row for row in _history_rows(page) if row[1].startswith("不满意，退回原部门重办")]
    assert reopened and "none" not in reopened[0][1], reopened
    assert ">none<" not in page and " none " not in page


async def test_console_does_not_call_a_rating_still_awaited_not_rated(world: World):
    """README "Supervision": 未评价 (not rated) is a round *closed* without an answer — the 满意度评价表
    writes it only then, and it counts apart from 满意率. The console's ticket page writes 未评价 in the
    result column for a round the resident can still answer (the ticket reads 已办结，待评价), exactly as
    for one closed as not rated a week later: a dispatcher reviewing the ticket cannot tell whether the
    resident declined to rate or simply has not answered yet."""
    card = await dispatched(world, "小区门口垃圾没人清运", CGJ_CHAT)
    await accept(world, HANDLER_A, CGJ_CHAT, card)
    await resolve(world, HANDLER_A, CGJ_CHAT, card, "已清运")
    awaiting = _ratings_rows(await _console_page(world, "tickets/2026-000001"))[0][1]

    for day in (25, 27, 30):  # the reminder after 2 days, then closed as not rated after 7
        await scan_at(world, sh(2026, 11, day, 10))
    closed = _ratings_rows(await _console_page(world, "tickets/2026-000001"))[0][1]
    assert closed == "未评价"
    assert awaiting != "未评价", awaiting  # e.g. 待评价, as the ticket's own status says


async def test_ticket_command_does_not_call_a_deadline_met_on_time_overdue(world: World):
    """A handler 签收 at once on Monday 09:00 (the 签收时限 is Tuesday 09:00). On Wednesday the dispatcher
    asks /ticket: it answers 签收时限：2026-11-24 09:00（已超时） — the deadline was met, the card in the
    department chat no longer lists it, no card was given, and /report counts the dispatch as 签收 on time
    (响应率 100%). `bot/services/ticket_view.deadline_lines` marks every passed deadline of a working ticket,
    whether or not its step was done."""
    card = await dispatched(world, "小区门口垃圾没人清运", CGJ_CHAT)
    await accept(world, HANDLER_A, CGJ_CHAT, card)
    world.clock.set(sh(2026, 11, 25, 10))
    await world.send(DISPATCHER, DISPATCH_CHAT, "/ticket 2026-000001")
    shown = await world.reply_from_bot(DISPATCH_CHAT, contains="工单 #2026-000001")
    lines = shown["text"].splitlines()
    assert "签收时限：2026-11-24 09:00" in lines, lines

    await world.send(DISPATCHER, DISPATCH_CHAT, "/report 2026-11")
    report = await world.reply_from_bot(DISPATCH_CHAT, contains="诉求办理通报")
    assert "响应率 100.0% (1/1)" in report["text"]


async def test_open311_status_filter_agrees_with_the_status_it_shows_for_a_merged_request(world: World):
    """A neighbour's appeal #2026-000002 is merged into #2026-000001, which is dispatched and still being
    handled. GET requests.json shows #2026-000002 with `status: open` (a merged request follows the
    ticket that carries it, README "Open311"), yet `?status=open` leaves it out and `?status=closed`
    lists it — reading `open`. A hotline polling for closed requests to call its callers back gets one
    that is not closed; one polling for open ones never sees it. `bot/services/open311.find_requests`
    filters on the ticket's own status (MERGED is in CLOSED) while `_view` shows the carrier's."""
    await appeal(world, RESIDENT, "3栋楼下垃圾桶都溢出来了，苍蝇到处飞")
    first = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    await appeal(world, RESIDENT_2, "3栋垃圾桶溢出来了好几天没人收")
    dup = await world.reply_from_bot(DISPATCH_CHAT, predicate=has_button("合并到 #2026-000001"))
    await press(world, DISPATCHER, DISPATCH_CHAT, dup, "合并到 #2026-000001")
    await press(world, DISPATCHER, DISPATCH_CHAT, world.sb.message(DISPATCH_CHAT, first["message_id"]), "派单")
    await world.reply_from_bot(CGJ_CHAT, predicate=has_button("签收"))

    async with serving(world) as base:
        _, _, everything = await open311_get(base, "requests.json")
        _, _, only_open = await open311_get(base, "requests.json?status=open")
        _, _, only_closed = await open311_get(base, "requests.json?status=closed")
    shown = {r["service_request_id"]: r["status"] for r in json.loads(everything)}
    assert shown == {"2026-000001": "open", "2026-000002": "open"}
    assert sorted(r["service_request_id"] for r in json.loads(only_open)) == ["2026-000001", "2026-000002"]
    assert [r["service_request_id"] for r in json.loads(only_closed)] == []


async def test_console_ticket_page_does_not_name_the_department_that_returned_the_ticket_as_its_lead(world: World):
    """城市管理局 returns (退单) a ticket; it waits for the dispatchers again. The console's queue shows its
    承办部门 as "—", Open311 gives `agency_responsible: ""`, the community chat reads 已受理，待派单 — but
    the ticket's own console page still says 承办部门 城市管理局 (主办), the department that just refused it.
    A dispatcher deciding where to send it next reads that it is with 城市管理局. The page lists the
    ticket_departments rows, which a 退单 leaves in place (bot/services/console_views.ticket_page)."""
    card = await dispatched(world, "小区门口垃圾没人清运", CGJ_CHAT)
    await press(world, HANDLER_A, CGJ_CHAT, card, "退单")
    prompt = await world.reply_from_bot(CGJ_CHAT, contains="理由")
    await world.send(HANDLER_A, CGJ_CHAT, "不属于本部门职责，应由街道处理", reply_to=prompt["message_id"])
    await world.reply_from_bot(DISPATCH_CHAT, contains="不属于本部门")

    async with serving(world) as base:
        _, _, body = await open311_get(base, "requests/2026-000001.json")
        b = Browser(base)
        try:
            await b.login(await login_token(world, DISPATCHER))
            _, queue = await b.get("queue")
            _, page = await b.get("tickets/2026-000001")
        finally:
            await b.close()
    assert json.loads(body)[0]["agency_responsible"] == ""
    row = re.search(r"<tr[^>]*>(?:(?!</tr>).)*2026-000001.*?</tr>", queue, flags=re.S).group(0)
    assert "城市管理局" not in row and "待派单" in row
    departments = re.search(r'<dd id="departments">(.*?)</dd>', page, flags=re.S).group(1).strip()
    assert departments == "—", departments
