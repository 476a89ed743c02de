"""The console: login through /console, the queue, a ticket page, 派单 from the web — and every
refusal the security model promises (expired, reused, forged links and cookies; another
department's ticket; a POST without its CSRF token), each with nothing changed."""
from __future__ import annotations

import re

import aiohttp
import pytest
from sqlalchemy import func, select

from storage.models import ConsoleSession, Ticket
from tests.harness import (
    CGJ_CHAT, COMMUNITY, DISPATCH_CHAT, DISPATCHER, HANDLER_A, RESIDENT, STRANGER, SW_HANDLER, World,
)
from tests.steps import ZH, press
from tests.webharness import Browser, login_token, serving


async def appeal(world: World, text: str = "小区门口垃圾三天没人清运了") -> dict:
    await world.send(RESIDENT, COMMUNITY, f"@huying_bot {text}")
    return await world.reply_from_bot(DISPATCH_CHAT, contains="城市管理局")


async def sessions(world: World) -> int:
    return await world.scalar(select(func.count()).select_from(ConsoleSession))


async def status_of(world: World, tid: int = 1) -> str:
    return (await world.scalar(select(Ticket).where(Ticket.id == tid))).status


async def test_dispatcher_logs_in_sees_the_queue_and_dispatches(world: World):
    await appeal(world)
    token = await login_token(world, DISPATCHER)
    async with serving(world) as base:
        b = Browser(base)
        try:
            status, page = await b.login(token)
            assert status == 200 and "#2026-000001" in page and "城市管理局" not in page.split("queue")[0]
            assert 'http-equiv="refresh"' in page
            cookie = next(c for c in b.http.cookie_jar if c.key == "huying_console")
            assert cookie["httponly"] and cookie["samesite"] == "Lax"
            status, page = await b.get("tickets/2026-000001")
            assert status == 200 and "小区门口垃圾" in page and 'id="form-dispatch"' in page
            status, page = await b.post("tickets/2026-000001/dispatch", {"lead": "cgj"})
            assert status == 200 and "已派单" in page
            card = await world.reply_from_bot(CGJ_CHAT, predicate=lambda m: "签收" in str(world.sb.buttons(m)))
            assert "#2026-000001" in card["text"]
            assert await status_of(world) == "DISPATCHED"
            # The dispatch card in the chat was rewritten exactly as a 派单 press would.
            assert "城市管理局" in world.sb.last_bot_message(DISPATCH_CHAT)["text"]
            # The same form again (another tab, a double click): refused, said so, nothing changed.
            sent = len(world.sb.bot_messages(CGJ_CHAT))
            status, page = await b.post("tickets/2026-000001/dispatch", {"lead": "sw"})
            assert status == 409 and 'class="flash error"' in page
            await world.settle()
            assert await status_of(world) == "DISPATCHED" and len(world.sb.bot_messages(CGJ_CHAT)) == sent
            assert world.sb.bot_messages(-1001000000022) == []  # 水务局 heard nothing
            status, page = await b.get("queue?lang=en")
            assert status == 200 and "Ticket queue" in page and "dispatched, awaiting acceptance" in page
        finally:
            await b.close()


async def test_links_expired_reused_forged_open_nothing(world: World):
    async with serving(world) as base:
        b = Browser(base)
        try:
            token = await login_token(world, DISPATCHER)
            user, issued, nonce, sig = token.split(".")
            for forged in (f"{HANDLER_A}.{issued}.{nonce}.{sig}", f"{user}.{issued}.{nonce}.{sig[:-2]}AA",
                           "not-a-token", ""):
                status, page = await b.post("login", {"token": forged}, csrf=False)
                assert status == 401 and ("链接无效" in page or "请先登录" in page)
            status, page = await b.get(f"login?token={user}.{issued}.{nonce}.x")
            assert status == 401 and "链接无效" in page
            assert await sessions(world) == 0
            status, _ = await b.login(token)
            assert status == 200 and await sessions(world) == 1
            b2 = Browser(base)
            status, page = await b2.post("login", {"token": token}, csrf=False)
            await b2.close()
            assert status == 401 and "链接已使用" in page and await sessions(world) == 1

            late = await login_token(world, DISPATCHER)
            world.clock.advance(minutes=11)
            status, page = await b.post("login", {"token": late}, csrf=False)
            assert status == 401 and "链接已过期" in page and await sessions(world) == 1
        finally:
            await b.close()


async def test_a_login_body_that_is_not_a_form_gets_a_clear_400(world: World):
    async with serving(world) as base, aiohttp.ClientSession() as http:
        for ctype, body in (("multipart/form-data; boundary=zz", b"junk"),
                            ("application/x-www-form-urlencoded; charset=bogus", b"token=x")):
            async with http.post(base + "login", data=body, headers={"Content-Type": ctype}) as resp:
                page = await resp.text()
                assert resp.status == 400 and ZH("console.bad_login_body.title") in page, ctype
    assert await sessions(world) == 0


async def test_a_login_posted_from_another_site_is_refused_and_the_link_still_works(world: World):
    async with serving(world) as base, aiohttp.ClientSession() as http:
        token = await login_token(world, DISPATCHER)
        for origin in ("https://evil.example", "null"):
            async with http.post(base + "login", data={"token": token}, headers={"Origin": origin},
                                 allow_redirects=False) as resp:
                page = await resp.text()
                assert resp.status == 403 and ZH("console.csrf.title") in page, origin
        assert await sessions(world) == 0
        own = base.split("/", 3)
        async with http.post(base + "login", data={"token": token}, headers={"Origin": f"{own[0]}//{own[2]}"},
                             allow_redirects=False) as resp:
            assert resp.status in (302, 303) and resp.headers["Location"].endswith("/queue")
        assert await sessions(world) == 1


async def test_forged_and_expired_cookies_are_refused(world: World):
    await appeal(world)
    async with serving(world) as base:
        forged = aiohttp.ClientSession(cookies={"huying_console": "made-up-session"})
        async with forged.get(base + "queue") as resp:
            assert resp.status == 401 and "#2026-000001" not in await resp.text()
        await forged.close()
        b = Browser(base)
        try:
            await b.login(await login_token(world, DISPATCHER))
            assert (await b.get("queue"))[0] == 200
            world.clock.advance(hours=13)
            status, page = await b.get("queue")
            assert status == 401 and "登录已失效" in page and "#2026-000001" not in page
            status, page = await b.post("tickets/2026-000001/dispatch", {"lead": "cgj"})
            assert status == 401 and await status_of(world) == "TRIAGE"
        finally:
            await b.close()


async def test_post_without_csrf_changes_nothing(world: World):
    await appeal(world)
    async with serving(world) as base:
        b = Browser(base)
        try:
            await b.login(await login_token(world, DISPATCHER))
            await b.get("tickets/2026-000001")
            status, page = await b.post("tickets/2026-000001/dispatch", {"lead": "cgj"}, csrf=False)
            assert status == 403 and "未做任何更改" in page
            status, _ = await b.post("tickets/2026-000001/reject", {"reason": "重复", "csrf": "guess"}, csrf=False)
            assert status == 403
            assert await status_of(world) == "TRIAGE"
            assert world.sb.bot_messages(CGJ_CHAT) == []
        finally:
            await b.close()


async def test_handlers_see_only_their_department(world: World):
    await appeal(world)
    async with serving(world) as base:
        d = Browser(base)
        await d.login(await login_token(world, DISPATCHER))
        await d.get("tickets/2026-000001")
        await d.post("tickets/2026-000001/dispatch", {"lead": "cgj"})
        await d.close()
        await world.settle()
        own, other = Browser(base), Browser(base)
        try:
            await own.login(await login_token(world, HANDLER_A))
            status, page = await own.get("queue")
            assert status == 200 and "#2026-000001" in page
            status, page = await own.get("tickets/2026-000001")
            assert status == 200 and 'id="form-dispatch"' not in page  # handlers do not dispatch

            await other.login(await login_token(world, SW_HANDLER))
            status, page = await other.get("queue")
            assert status == 200 and "#2026-000001" not in page
            status, page = await other.get("tickets/2026-000001")
            assert status == 404 and "小区门口垃圾" not in page
            status, _ = await other.post("tickets/2026-000001/reject", {"reason": "不归我们管"})
            assert status == 404 and await status_of(world) == "DISPATCHED"
            status, _ = await other.get("queue?department=cgj")
            assert status == 200
        finally:
            await own.close()
            await other.close()


async def test_strangers_get_no_link_and_bad_input_gets_a_clear_page(world: World):
    await world.send(STRANGER, STRANGER, "/console")
    msg = await world.reply_from_bot(STRANGER, contains="控制台")
    assert "token" not in msg["text"]
    await world.send(DISPATCHER, COMMUNITY, "/console@huying_bot")
    msg = await world.reply_from_bot(COMMUNITY, contains="私聊")
    assert "token" not in msg["text"]
    async with serving(world) as base:
        b = Browser(base)
        try:
            await b.login(await login_token(world, DISPATCHER))
            for path, status, words in (("queue?status=BOGUS", 400, "BOGUS"), ("queue?department=nope", 400, "nope"),
                                        ("tickets/2026-999999", 404, "没有这个工单"),
                                        ("tickets/garbage", 404, "没有这个工单"),
                                        ("tickets/2026-000001/photos/x", 400, "照片编号有误"),
                                        ("tickets/2026-000001/photos/7", 404, "没有这个工单")):
                got, page = await b.get(path)
                assert got == status and words in page and "Traceback" not in page, path
            got, page = await b.post("tickets/2026-000001/launch", {})
            assert got == 400 and "没有这个操作" in page
        finally:
            await b.close()


@pytest.mark.parametrize("world", [{"CONSOLE_URL": "https://desk.example.org/huying"}], indirect=True)
async def test_console_url_gives_the_links_their_base(world: World):
    await world.send(DISPATCHER, DISPATCHER, "/console")
    msg = await world.reply_from_bot(DISPATCHER, contains="token=")
    assert "https://desk.example.org/huying/login?token=" in msg["text"]


async def test_photos_come_through_get_file_and_are_cached(world: World, tmp_path):
    world.app.settings.console_cache_dir = tmp_path / "cache"
    await world.sb.user_sends_album(RESIDENT, COMMUNITY, count=2, caption="@huying_bot 垃圾没人清运")
    await world.reply_from_bot(DISPATCH_CHAT, contains="城市管理局")
    async with serving(world) as base:
        b = Browser(base)
        try:
            await b.login(await login_token(world, DISPATCHER))
            status, page = await b.get("tickets/2026-000001")
            paths = re.findall(r'src="(/tickets/2026-000001/photos/\d+)"', page)
            assert status == 200 and len(paths) == 2
            def get_files() -> int:
                return sum(1 for c in world.sb.calls if c.method.lower() == "getfile")

            async with b.http.get(base + paths[0].lstrip("/")) as resp:
                first = await resp.read()
                assert resp.status == 200 and resp.content_type == "image/jpeg" and first
            assert get_files() == 1
            async with b.http.get(base + paths[0].lstrip("/")) as resp:
                assert await resp.read() == first
            assert get_files() == 1  # the second time from the cache
            assert len(list((tmp_path / "cache").iterdir())) == 1
        finally:
            await b.close()


# -- 合并 and 驳回 from the console: the chats hear what the buttons would tell them -------------------


def _normal(text: str, own: str, target: str | None = None) -> str:
    text = text.replace(f"#{own}", "#OWN")
    return text.replace(f"#{target}", "#TARGET") if target else text


async def _heard(world: World, card: dict, community_mark: int, own: str, target: str | None = None) -> tuple:
    """What a decision on `card` told the chats: the lines it added to the dispatch card, the card's
    buttons, the community chat's new messages since `community_mark` and the status line its
    acknowledgement now ends with (a quiet group hears of a step on the ack; codes made comparable)."""
    now = world.sb.message(DISPATCH_CHAT, card["message_id"])
    added = [_normal(line, own, target) for line in now["text"].splitlines() if line not in card["text"].splitlines()]
    notices = [_normal(m["text"], own, target) for m in world.sb.bot_messages(COMMUNITY)
               if m["message_id"] > community_mark]
    [ack] = [m for m in world.sb.bot_messages(COMMUNITY) if f"#{own}" in (m.get("text") or "")]
    return added, world.sb.buttons(now), notices, _normal(ack["text"].splitlines()[-1], own, target)


def _mark(world: World) -> int:
    return max((m["message_id"] for m in world.sb.bot_messages(COMMUNITY)), default=0)


async def test_merge_and_reject_from_the_console_tell_the_chats_what_the_buttons_tell(world: World):
    cards = {}
    for n, text in enumerate(("小区门口垃圾三天没人清运了", "楼下水管漏水严重", "小区电梯坏了一周没人修",
                              "路口积水一直不退", "广场上有人卖假药", "路灯坏了好几天"), 1):
        await world.send(RESIDENT, COMMUNITY, f"@huying_bot {text}")
        cards[n] = await world.reply_from_bot(DISPATCH_CHAT, contains=f"#2026-00000{n}")
    async with serving(world) as base:
        b = Browser(base)
        try:
            await b.login(await login_token(world, DISPATCHER))
            # 合并 #2 into #1 from the console; #4 into #3 with the card's 合并 button and a reply.
            mark = _mark(world)
            await b.get("tickets/2026-000002")
            status, page = await b.post("tickets/2026-000002/merge", {"target": "#2026-000001"})
            assert status == 200 and 'id="flash"' in page and "已合并" in page
            await world.settle()
            from_console = await _heard(world, cards[2], mark, "2026-000002", "2026-000001")
            mark = _mark(world)
            answer = await press(world, DISPATCHER, DISPATCH_CHAT, cards[4], "合并")
            assert not answer.get("show_alert")
            prompt = await world.reply_from_bot(DISPATCH_CHAT, contains="请回复要并入的工单编号")
            await world.send(DISPATCHER, DISPATCH_CHAT, "#2026-000003", reply_to=prompt["message_id"])
            await world.settle()
            from_button = await _heard(world, cards[4], mark, "2026-000004", "2026-000003")
            assert from_console == from_button == (["🔗 已合并至 #TARGET"], [], [], "📌 进度：与 #TARGET 为同一问题，已合并办理")
            assert [await status_of(world, t) for t in (1, 2, 3, 4)] == ["TRIAGE", "MERGED", "TRIAGE", "MERGED"]

            # 驳回 #5 from the console; #6 with the card's 驳回 button and a reply.
            mark = _mark(world)
            await b.get("tickets/2026-000005")
            status, page = await b.post("tickets/2026-000005/reject", {"reason": "不属于受理范围，请向市场监管部门反映"})
            assert status == 200 and 'id="flash"' in page
            await world.settle()
            from_console = await _heard(world, cards[5], mark, "2026-000005")
            mark = _mark(world)
            await press(world, DISPATCHER, DISPATCH_CHAT, cards[6], "驳回")
            prompt = await world.reply_from_bot(DISPATCH_CHAT, contains="请回复驳回理由")
            await world.send(DISPATCHER, DISPATCH_CHAT, "不属于受理范围，请向市场监管部门反映",
                             reply_to=prompt["message_id"])
            await world.settle()
            from_button = await _heard(world, cards[6], mark, "2026-000006")
            assert from_console == from_button == (
                ["⛔ 已驳回：不属于受理范围，请向市场监管部门反映"], [], [], "📌 进度：未予受理")
            assert [await status_of(world, t) for t in (5, 6)] == ["REJECTED", "REJECTED"]
            # The console's history names who did it, as the chat's would.
            status, page = await b.get("tickets/2026-000005")
            assert status == 200 and "吴派单" in page.split('id="history"')[1]
        finally:
            await b.close()


async def test_a_queue_longer_than_a_page_says_how_many_there_are(world: World, monkeypatch):
    monkeypatch.setattr("web.console.pages.QUEUE_ROWS", 2)  # a page of two, not of two hundred
    for text in ("小区门口垃圾三天没人清运了", "楼道里堆满了杂物没人管", "路灯坏了一个星期"):
        await world.send(RESIDENT, COMMUNITY, f"@huying_bot {text}")
    await world.settle()
    token = await login_token(world, DISPATCHER)
    async with serving(world) as base:
        b = Browser(base)
        try:
            status, page = await b.login(token)
            assert status == 200
            assert re.search(r'id="queue-count">\((\d+)\)', page).group(1) == "3"
            assert len(re.findall(r'<tr data-code=', page)) == 2
            capped = re.search(r'id="queue-capped">([^<]*)<', page).group(1)
            assert capped == ZH("console.queue_capped", shown=2, total=3)
        finally:
            await b.close()
