"""A hotline's appeal goes the whole way like any other: Open311 POST → dispatch card (naming the
channel) → 派单 → 签收 → 办结 → the centre's 回访 rating in the console → closed; Open311 GET shows
the public status and the scrubbed result, never the requester's details."""
from __future__ import annotations

import io
import json

from openpyxl import load_workbook
from sqlalchemy import select

from storage.models import RatingRound, TicketEvent
from tests.harness import CGJ_CHAT, COMMUNITY, DISPATCH_CHAT, DISPATCHER, HANDLER_A, RESIDENT, World
from tests.steps import ZH, has_button, press, ticket
from tests.test_open311 import FORM, get, post
from tests.webharness import Browser, login_token, serving


async def public(base: str, code: str) -> dict:
    status, _, body = await get(base, f"requests/{code}.json")
    assert status == 200
    return json.loads(body)[0]


async def test_a_hotline_appeal_is_dispatched_handled_and_rated_by_callback(world: World):
    async with serving(world) as base:
        status, body = await post(base, "requests.json", FORM)
        assert status == 200, body
        card = await world.reply_from_bot(DISPATCH_CHAT, contains="来自12345热线")
        await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
        dept_card = await world.reply_from_bot(CGJ_CHAT, predicate=has_button("签收"))
        assert world.sb.buttons(dept_card) == [["签收", "退单"]]
        assert "来自12345热线" in dept_card["text"] and "新河街道幸福路12号" in dept_card["text"]
        assert "13812345678" not in dept_card["text"]
        assert (await public(base, "2026-000001"))["agency_responsible"] == "城市管理局"

        await press(world, HANDLER_A, CGJ_CHAT, dept_card, "签收")
        await press(world, HANDLER_A, CGJ_CHAT, world.sb.message(CGJ_CHAT, dept_card["message_id"]), "办结")
        prompt = await world.reply_from_bot(CGJ_CHAT, contains="办理结果")
        await world.send(HANDLER_A, CGJ_CHAT, "已清运并加装垃圾桶，回访电话13900001111", reply_to=prompt["message_id"])
        await world.settle()
        t = await ticket(world)
        assert t.status == "RESOLVED" and t.rating_round == 1
        shown = await public(base, "2026-000001")
        assert shown["status"] == "closed" and "已清运并加装垃圾桶" in shown["status_notes"]
        assert "13900001111" not in shown["status_notes"]  # scrubbed like the community's 正面回应

        # Nobody of the hotline's can press our buttons: the dispatcher records the callback.
        b = Browser(base)
        try:
            await b.login(await login_token(world, DISPATCHER))
            status, page = await b.get("tickets/2026-000001")
            assert status == 200 and 'id="form-rate"' in page and "lisi@example.com" in page
            status, page = await b.post("tickets/2026-000001/rate", {"score": "1"})
            assert status == 409 and ZH("rate.callback_reason") in page  # 不满意 needs its reason; nothing recorded
            assert (await world.scalar(select(RatingRound))).result_level is None
            status, page = await b.post("tickets/2026-000001/rate", {"score": "3"})
            assert status == 200 and "已记录回访评价" in page
        finally:
            await b.close()
        await world.settle()
        t = await ticket(world)
        assert (t.status, t.close_reason) == ("CLOSED", "satisfied")
        r = await world.scalar(select(RatingRound))
        assert (r.result_level, r.rater_id) == (3, DISPATCHER)
        ev = await world.scalar(select(TicketEvent).where(TicketEvent.kind == "rated_satisfied"))
        assert ev.actor_id == DISPATCHER and ev.data["callback"] is True
        assert "比较满意" in world.sb.last_bot_message(CGJ_CHAT)["text"]


async def test_telegram_reporters_rate_for_themselves(world: World):
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 小区门口垃圾三天没人清运了")
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="城市管理局")
    assert "来自" not in card["text"]  # Telegram is the default channel: no line for it
    async with serving(world) as base:
        b = Browser(base)
        try:
            await b.login(await login_token(world, DISPATCHER))
            status, page = await b.get("tickets/2026-000001")
            assert 'id="form-rate"' not in page
            status, page = await b.post("tickets/2026-000001/rate", {"score": "4"})
            assert status == 409 and ZH("rate.callback_telegram") in page
        finally:
            await b.close()


async def test_an_unsatisfied_callback_reads_in_words_and_the_ledger_names_the_requester(world: World):
    async with serving(world) as base:
        assert (await post(base, "requests.json", FORM))[0] == 200
        await press(world, DISPATCHER, DISPATCH_CHAT, await world.reply_from_bot(DISPATCH_CHAT, contains="来自"), "派单")
        dept_card = await world.reply_from_bot(CGJ_CHAT, predicate=has_button("签收"))
        await press(world, HANDLER_A, CGJ_CHAT, dept_card, "签收")
        await press(world, HANDLER_A, CGJ_CHAT, world.sb.message(CGJ_CHAT, dept_card["message_id"]), "办结")
        prompt = await world.reply_from_bot(CGJ_CHAT, contains="办理结果")
        await world.send(HANDLER_A, CGJ_CHAT, "已清运，联系人邮箱wang@example.com，电话１３９００００１１１１",
                         reply_to=prompt["message_id"])
        await world.settle()
        # The public status never carries an address or a number typed in full-width digits.
        assert (await public(base, "2026-000001"))["status_notes"].endswith(
            "已清运，联系人邮箱***@example.com，电话139****1111")
        b = Browser(base)
        try:
            await b.login(await login_token(world, DISPATCHER))
            await b.get("tickets/2026-000001")
            status, page = await b.post("tickets/2026-000001/rate", {"score": "1", "reason": "slow", "words": "太慢了"})
            assert status == 200, page
            status, page = await b.get("tickets/2026-000001")
            assert "办理太慢 太慢了" in page and ">slow<" not in page and "slow 太慢了" not in page
            async with b.http.get(base + "exports/unsatisfied.xlsx?period=2026-11") as resp:
                data = await resp.read()
        finally:
            await b.close()
    rows = [list(r) for r in load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True)]
    [row] = [r for r in rows if r and r[0] == 1]
    assert row[-1] == "李四 13812345678 lisi@example.com"  # 群众姓名及联系方式: the name the hotline gave


async def test_open311_status_notes_mask_the_telegram_reporters_names_as_the_group_does(world: World):
    # The rating request and the 正面回应 masked them; the public Open311 notes printed them.
    from tests.steps import rate, through_resolution
    world.sb.add_user(RESIDENT, "桂英", last_name="张", username="zhang_guiying")
    await through_resolution(world, "小区门口垃圾三天没人清运了", result="已联系张桂英（@zhang_guiying），垃圾已清运")
    from tests.steps import showing
    await rate(world, await showing(world, COMMUNITY, "非常满意"), "非常满意")
    assert (await ticket(world)).status == "CLOSED"
    async with serving(world) as base:
        shown = await public(base, "2026-000001")
    assert shown["status_notes"] == "已联系张**（@***），垃圾已清运"
