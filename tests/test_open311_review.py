"""Open311 GeoReport v2 as a hotline integrator and a third-party app read it (a review from outside)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from storage.models import Ticket
from tests.harness import CGJ_CHAT, COMMUNITY, DISPATCH_CHAT, DISPATCHER, HANDLER_A, RESIDENT, World
from tests.steps import has_button, press, ticket_by_code
from tests.test_open311 import FORM, get, post
from tests.webharness import serving


async def public(base: str, code: str) -> dict:
    status, _, body = await get(base, f"requests/{code}.json")
    assert status == 200, body
    return json.loads(body)[0]


async def _hotline_resolved(world: World, base: str, result: str, form: dict | None = None) -> None:
    status, body = await post(base, "requests.json", form or FORM)
    assert status == 200, body
    card = await world.reply_from_bot(DISPATCH_CHAT, contains="来自12345热线")
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    dept_card = await world.reply_from_bot(CGJ_CHAT, predicate=has_button("签收"))
    await press(world, HANDLER_A, CGJ_CHAT, dept_card, "签收")
    await press(world, HANDLER_A, CGJ_CHAT, world.sb.message(CGJ_CHAT, dept_card["message_id"]), "办结")
    prompt = await world.reply_from_bot(CGJ_CHAT, contains="办理结果")
    await world.send(HANDLER_A, CGJ_CHAT, result, reply_to=prompt["message_id"])
    await world.settle()


async def test_hotline_requesters_name_is_not_published_in_status_notes(world: World):
    """README: "The requester's e-mail, phone and name are kept for the staff ... and never published".
    The handler's result names the caller the hotline gave (first_name 四, last_name 李): the public
    status_notes mask a Telegram reporter's name, but print the hotline caller's in full."""
    async with serving(world) as base:
        await _hotline_resolved(world, base, "已联系李四本人，垃圾桶已清运")
        shown = await public(base, "2026-000001")
    assert shown["status"] == "closed" and "垃圾桶已清运" in shown["status_notes"]
    assert "李四" not in shown["status_notes"], shown["status_notes"]


CONSULT = {"org_patch": {"catalog": [
    {"category": "市容环卫", "keywords": ["垃圾", "清运"], "lead": "cgj", "co": [], "kind": "help"},
    {"category": "户籍与证件", "keywords": ["户口", "居住证"], "lead": "cgj", "co": [], "kind": "consultation"}]}}


@pytest.mark.parametrize("world", [CONSULT], indirect=True)
async def test_a_hotline_consultation_answered_from_the_knowledge_base_tells_the_channel_the_answer(world: World):
    """A hotline posts a question to a consultation service (the example org's 户籍与证件). The knowledge
    base answers it at once (ANSWERED) — but nobody hears the answer: no reporter in Telegram, no card
    for the dispatchers, and GET says `closed` with empty status_notes, so the caller is never told."""
    form = {**FORM, "service_code": "户籍与证件", "description": "请问居住证怎么办理？需要带什么材料"}
    async with serving(world) as base:
        status, body = await post(base, "requests.json", form)
        assert status == 200, body
        await world.settle()
        t = await ticket_by_code(world, "2026-000001")
        assert t.status == "ANSWERED"
        shown = await public(base, "2026-000001")
    assert shown["status"] == "closed"
    assert "派出所" in shown["status_notes"], shown  # the knowledge base's answer: 携带身份证和居住证明到派出所办理


async def test_a_hotline_report_is_a_report_as_in_the_chat_and_not_published(world: World):
    """The same words in a community chat make a 举报 (kind report), which GET never lists (the
    whistle-blower's safety, README). Posted through Open311 to a help service, the stated 举报 is
    ignored: the ticket is `help`, listed to anyone, and its result will be published."""
    words = "我要举报小区物业偷偷把垃圾倒进河里"
    await world.send(RESIDENT, COMMUNITY, f"@huying_bot {words}")
    await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    async with serving(world) as base:
        status, body = await post(base, "requests.json", {**FORM, "description": words})
        assert status == 200, body
        await world.settle()
        kinds = {t.code: t.kind for t in await world.rows(select(Ticket))}
        status, _, listed = await get(base, "requests.json")
    assert kinds["2026-000001"] == "report"
    assert kinds["2026-000002"] == "report", kinds
    assert "2026-000002" not in listed


BOUNDS = {"org_patch": {"areas": [
    {"code": "gangkou", "name": "港口镇", "chats": [-1001000000010], "bounds": [[22.49, 113.89], [22.51, 113.91]]},
    {"code": "xinhe", "name": "新河街道", "chats": [-1001000000011], "bounds": [[23.10, 113.26], [23.12, 113.28]]}]}}


@pytest.mark.parametrize("world", [BOUNDS], indirect=True)
async def test_a_hotline_request_with_lat_long_inside_an_areas_bounds_gets_that_area(world: World):
    """README "Areas of private appeals": the area whose `bounds` hold the shared location. A chat appeal
    with a location gets it; an Open311 POST with lat/long inside 港口镇's box (and an address that
    does not name the town) is left without an area: card says 区域 未知, the area's 高频共性 and
    per-area figures miss it."""
    form = {**FORM, "lat": "22.5010", "long": "113.9010", "address_string": "幸福花园3号楼",
            "description": "楼下垃圾桶满了好几天没人清运"}
    async with serving(world) as base:
        status, body = await post(base, "requests.json", form)
        assert status == 200, body
        await world.settle()
    t = await ticket_by_code(world, "2026-000001")
    assert (t.latitude, t.longitude) == (22.501, 113.901)
    assert t.area_code == "gangkou", t.area_code


async def test_a_merged_hotline_request_tells_the_channel_which_ticket_carries_it(world: World):
    """A dispatcher merges the hotline's request #2026-000002 into a neighbour's appeal #2026-000001
    (合并). A chat reporter is told the surviving code and follows its news (reporter.merged); the
    hotline's GET says `closed`, "与同一事项合并办理。", and never names the ticket that carries the
    matter — the channel cannot follow it and its caller never hears the result."""
    from tests.harness import COMMUNITY_2
    await world.send(RESIDENT, COMMUNITY_2, "@huying_bot 新河街道路口垃圾桶满了，好几天没人清运")
    await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    async with serving(world) as base:
        status, body = await post(base, "requests.json", FORM)
        assert status == 200, body
        card2 = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000002")
        await press(world, DISPATCHER, DISPATCH_CHAT, card2, "合并")
        prompt = await world.reply_from_bot(DISPATCH_CHAT, contains="编号")
        await world.send(DISPATCHER, DISPATCH_CHAT, "#2026-000001", reply_to=prompt["message_id"])
        await world.reply_from_bot(DISPATCH_CHAT, contains="已合并")
        assert (await ticket_by_code(world, "2026-000002")).status == "MERGED"
        shown = await public(base, "2026-000002")
    assert "2026-000001" in shown["status_notes"], shown["status_notes"]


async def test_the_name_of_a_private_appellant_merged_into_a_public_ticket_is_masked_in_status_notes(world: World):
    """刘建国 appeals in PRIVATE (README: such an appeal is never shown — the resident chose not to speak in
    public). The dispatcher merges it into the neighbour's community appeal #2026-000001; the handler's
    result names him. Open311 GET of #2026-000001 masks the community reporter's name, but prints the
    private appellant's full name to anyone."""
    from tests.harness import RESIDENT_2
    from tests.steps import accept, submit_result
    world.sb.add_user(RESIDENT_2, "建国", last_name="刘", username="liu_jianguo")
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 小区门口垃圾三天没人清运了")
    await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    await world.send(RESIDENT_2, RESIDENT_2, "/appeal 小区门口的垃圾堆了三天没人清运，我家就在旁边")
    card2 = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000002")
    await press(world, DISPATCHER, DISPATCH_CHAT, card2, "合并")
    prompt = await world.reply_from_bot(DISPATCH_CHAT, contains="编号")
    await world.send(DISPATCHER, DISPATCH_CHAT, "#2026-000001", reply_to=prompt["message_id"])
    await world.reply_from_bot(DISPATCH_CHAT, contains="已合并")
    card1 = next(m for m in world.sb.bot_messages(DISPATCH_CHAT) if "#2026-000001" in m.get("text", "")
                 and has_button("派单")(m))
    await press(world, DISPATCHER, DISPATCH_CHAT, card1, "派单")
    dept_card = await world.reply_from_bot(CGJ_CHAT, predicate=has_button("签收"))
    await accept(world, HANDLER_A, CGJ_CHAT, dept_card)
    await submit_result(world, HANDLER_A, CGJ_CHAT, dept_card, "已上门联系刘建国（@liu_jianguo），垃圾已清运")
    await world.settle()
    async with serving(world) as base:
        shown = await public(base, "2026-000001")
    assert "垃圾已清运" in shown["status_notes"]
    assert "刘建国" not in shown["status_notes"] and "liu_jianguo" not in shown["status_notes"], shown["status_notes"]


async def test_service_request_id_overrides_the_other_filters(world: World):
    """GeoReport v2, GET Service Requests: service_request_id "overrides all other arguments" (README: "With
    `codes`, the other filters are ignored (spec)"). An app that keeps its list's date range and status in
    every query and adds the ids it follows gets a 400 about the filters it should have ignored."""
    async with serving(world) as base:
        status, body = await post(base, "requests.json", FORM)
        assert status == 200, body
        for extra in ("&start_date=2026-01-01T00:00:00Z&end_date=2026-12-31T00:00:00Z", "&status=pending,open"):
            status, _, body = await get(base, "requests.json?service_request_id=2026-000001" + extra)
            assert status == 200, (extra, body)
            assert [r["service_request_id"] for r in json.loads(body)] == ["2026-000001"]
