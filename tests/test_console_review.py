"""The web console as a district office's supervisor and a department head use it (a review from outside)."""
from __future__ import annotations

import re

from sqlalchemy import select

from storage.models import Ticket
from tests.harness import (
    CGJ_CHAT, COMMUNITY, DISPATCH_CHAT, DISPATCHER, RESIDENT, SW_CHAT, SW_HANDLER, World,
)
from tests.steps import ZH, has_button, press, showing
from tests.webharness import Browser, login_token, serving


async def _dispatched(world: World, text: str, chat: int) -> dict:
    await world.send(RESIDENT, COMMUNITY, f"@huying_bot {text}")
    await world.settle()
    card = world.sb.bot_messages(DISPATCH_CHAT)[-1]
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    return await world.reply_from_bot(chat, predicate=has_button("签收"))


async def _in_review(world: World) -> dict:
    """Two 不满意 rounds on a 城市管理局 ticket: the review card in the dispatch chat."""
    from tests.test_story_ratings import resolved
    from tests.steps import resolve_on
    q = await resolved(world)
    for n in range(2):
        if n:
            card = await world.reply_from_bot(CGJ_CHAT, contains="问题没有解决")
            q = await resolve_on(world, card, "再次清运", COMMUNITY)
        await press(world, RESIDENT, COMMUNITY, q, "不满意")
        await press(world, RESIDENT, COMMUNITY, await showing(world, COMMUNITY, "问题没有解决"), "问题没有解决")
    return await world.reply_from_bot(DISPATCH_CHAT, contains="不满意诉求审核")


async def test_dispatching_a_ticket_under_review_from_the_console_settles_the_review_card(world: World):
    """The console offers 派单 on a REVIEW ticket. Afterwards the review card in the dispatch chat must
    not still offer 关闭并说明 / 退回重办 / 改派 as if the review were pending (the chat's own way, 改派,
    settles it)."""
    review = await _in_review(world)
    assert world.sb.buttons(review)
    async with serving(world) as base:
        b = Browser(base)
        try:
            await b.login(await login_token(world, DISPATCHER))
            status, page = await b.get("tickets/2026-000001")
            assert 'id="form-dispatch"' in page
            status, page = await b.post("tickets/2026-000001/dispatch", {"lead": "sw"})
            assert status == 200
        finally:
            await b.close()
    await world.reply_from_bot(SW_CHAT, predicate=has_button("签收"))
    t = await world.scalar(select(Ticket))
    assert t.status == "DISPATCHED" and t.lead_dept == "sw"
    now = world.sb.message(DISPATCH_CHAT, review["message_id"])
    assert world.sb.buttons(now) == [], f"the review card still offers {world.sb.buttons(now)}"


async def test_the_console_speaks_the_language_the_bot_speaks_to_that_person(world: World):
    """A 水务局 handler whose Telegram is in English gets the /console link in English (private chats
    follow the user's language, DESIGN §5); the console it opens must not then be in Chinese."""
    world.sb.add_user(SW_HANDLER, "Sun", language_code="en")
    await world.send(SW_HANDLER, SW_HANDLER, "/console")
    msg = await world.reply_from_bot(SW_HANDLER, contains="/login?token=")
    assert not re.search(r"[\u4e00-\u9fff]", msg["text"]), msg["text"]  # the bot spoke English
    token = re.search(r"token=(\S+)", msg["text"]).group(1)
    async with serving(world) as base:
        b = Browser(base)
        try:
            status, form = await b.get(f"login?token={token}")
            assert status == 200
            status, page = await b.post("login", {"token": token}, csrf=False)
            assert status == 200
            assert ZH("console.queue_heading") not in page and "Ticket queue" in page, \
                "the English-speaking handler's console opened in Chinese"
        finally:
            await b.close()
