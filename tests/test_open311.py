"""Open311 GeoReport v2: an independent client (the `georeport` package) reads what the bot serves;
a plain form POST from a channel becomes a ticket that reaches the dispatch chat; bad posts get the
spec's errors and create nothing; GET never shows the requester's contact details."""
from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET

import aiohttp
import pytest
from georeport import GeoReport
from sqlalchemy import func, select

from storage.models import ChannelRequest, Ticket, TicketEvent
from tests.harness import COMMUNITY, DISPATCH_CHAT, DISPATCHER, RESIDENT, RESIDENT_2, World
from tests.steps import ZH, press
from tests.webharness import HOTLINE_KEY, serving
from web.open311 import PREFIX

FORM = {"api_key": HOTLINE_KEY, "service_code": "市容环卫", "description": "新河街道路口垃圾桶满了没人清运",
        "address_string": "新河街道幸福路12号", "email": "lisi@example.com", "phone": "13812345678",
        "first_name": "四", "last_name": "李"}


async def post(base: str, path: str, data: dict) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http:
        async with http.post(base + PREFIX.lstrip("/") + "/" + path, data=data) as resp:
            return resp.status, await resp.text()


async def get(base: str, path: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as http:
        async with http.get(base + PREFIX.lstrip("/") + "/" + path) as resp:
            return resp.status, resp.headers["Content-Type"], await resp.text()


async def count(world: World, model) -> int:  # noqa: ANN001
    return await world.scalar(select(func.count()).select_from(model))


async def test_georeport_client_reads_services_and_a_posted_request(world: World):
    async with serving(world) as base:
        root = base + PREFIX.lstrip("/")
        as_json, as_xml = GeoReport(root), GeoReport(root, output_format="xml")
        services = await asyncio.to_thread(as_json.get_service_list)
        assert [s["service_code"] for s in services] == ["市容环卫", "供水排水", "物业与房屋"]
        assert services[0]["group"] == "城市管理局" and services[0]["metadata"] is False
        xml_services = await asyncio.to_thread(as_xml.get_service_list)
        assert [s["service_code"] for s in xml_services] == ["市容环卫", "供水排水", "物业与房屋"]
        assert xml_services[1]["group"] == "水务局"
        definition = await asyncio.to_thread(as_xml.get_service_definition, "供水排水")
        assert definition["service_code"] == "供水排水"

        # A plain form POST, as a hotline's system sends it.
        status, body = await post(base, "requests.json", FORM)
        assert status == 200, body
        [made] = json.loads(body)
        assert made["service_request_id"] == "2026-000001"
        card = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
        assert "城市管理局" in card["text"] and "新河街道" in card["text"] and "来自12345热线" in card["text"]
        assert "13812345678" not in card["text"] and "lisi@example.com" not in card["text"]
        t = await world.scalar(select(Ticket))
        assert (t.status, t.category, t.lead_dept, t.area_code, t.reporter_id, t.channel) == (
            "TRIAGE", "市容环卫", None, "xinhe", None, "12345热线")
        contact = await world.scalar(select(ChannelRequest))
        assert (contact.email, contact.phone) == ("lisi@example.com", "13812345678")
        created = await world.scalar(select(TicketEvent).where(TicketEvent.kind == "created"))
        assert created.data == {"channel": "12345热线"}

        listed = await asyncio.to_thread(as_json.get_service_requests)
        assert [r["service_request_id"] for r in listed] == ["2026-000001"]
        one = listed[0]
        shanghai = t.created_at.astimezone(world.app.tz).isoformat(timespec="seconds")
        assert shanghai.startswith("2026-11-23T09:") and shanghai.endswith("+08:00")
        assert (one["status"], one["service_code"], one["requested_datetime"]) == ("open", "市容环卫", shanghai)
        for private in ("lisi@example.com", "13812345678", "幸福路", "垃圾桶满了"):
            assert private not in json.dumps(listed, ensure_ascii=False)
        xml_one = await asyncio.to_thread(as_xml.get_service_request, "2026-000001")
        assert (xml_one["service_request_id"], xml_one["status"]) == ("2026-000001", "open")
        by_id = await asyncio.to_thread(as_json.get_service_request, "2026-000001")
        assert by_id["service_request_id"] == "2026-000001"

        # The spec's filters.
        assert await asyncio.to_thread(as_json.get_service_requests, status="closed") == []
        assert await asyncio.to_thread(as_json.get_service_requests, service_code="供水排水") == []
        assert len(await asyncio.to_thread(as_json.get_service_requests, service_code="市容环卫,供水排水")) == 1
        assert len(await asyncio.to_thread(as_json.get_service_requests, start_date="2026-11-23T00:00:00Z",
                                           end_date="2026-11-24T00:00:00+08:00")) == 1
        assert await asyncio.to_thread(as_json.get_service_requests, start_date="2026-11-24T00:00:00Z") == []


@pytest.mark.parametrize("fields, status, words", [
    ({"api_key": "wrong-key-9999"}, 403, "api_key"),
    ({"api_key": ""}, 403, "api_key"),
    ({"service_code": "不存在的服务"}, 404, "service_code"),
    ({"service_code": ""}, 400, "service_code"),
    ({"description": ""}, 400, "description"),
    ({"address_string": "", "lat": "", "long": ""}, 400, "location"),
    ({"lat": "91", "long": "120"}, 400, "lat"),
    ({"lat": "31.2"}, 400, "long"),
    ({"media_url": "javascript:alert(document.cookie)"}, 400, "media_url"),  # the console links to it
])
async def test_bad_posts_get_the_spec_error_and_create_nothing(world: World, fields, status, words):
    async with serving(world) as base:
        got, body = await post(base, "requests.json", {**FORM, **fields})
        assert got == status
        [err] = json.loads(body)
        assert err["code"] == status and words in err["description"]
        got, body = await post(base, "requests.xml", {**FORM, **fields})
        assert got == status
        root = ET.fromstring(body.encode())
        assert root.tag == "errors" and root.find("error/code").text == str(status)
    assert await count(world, Ticket) == 0
    assert await count(world, ChannelRequest) == 0


async def test_formats_dates_and_unknown_things(world: World):
    async with serving(world) as base:
        status, ctype, body = await get(base, "discovery.json")
        assert status == 200 and ctype.startswith("application/json")
        assert json.loads(body)["endpoints"][0]["url"].endswith("/open311/v2")
        status, ctype, body = await get(base, "services.xml")
        assert ctype == "text/xml; charset=utf-8" and body.startswith('<?xml version="1.0" encoding="UTF-8"?>')
        status, _, body = await get(base, "requests/2026-999999.json")
        assert status == 404 and json.loads(body)[0]["code"] == 404
        status, _, body = await get(base, "requests.json?start_date=yesterday")
        assert status == 400 and "start_date" in json.loads(body)[0]["description"]
        # The example of that message typed as is: its "+" reaches the server as a space.
        status, _, body = await get(base, "requests.json?start_date=2026-11-23T09:00:00+08:00")
        assert (status, json.loads(body)) == (200, [])
        status, _, body = await get(base, "requests.json?status=pending")
        assert status == 400
        status, _, body = await get(base, "nothing-here.xml")
        assert status == 404 and ET.fromstring(body.encode()).tag == "errors"
        status, _, body = await get(base, "services/不存在.json")
        assert status == 404
        for far in ("start_date=9999-12-31T00:00:00Z", "end_date=0001-01-02T00:00:00Z"):
            status, _, body = await get(base, "requests.json?" + far)
            assert status == 400 and "out of range" in json.loads(body)[0]["description"], far


async def test_ids_that_are_no_ticket_code_find_nothing(world: World):
    async with serving(world) as base:
        got, _ = await post(base, "requests.json", FORM)
        assert got == 200
        status, _, body = await get(base, "requests.json")
        assert [r["service_request_id"] for r in json.loads(body)] == ["2026-000001"]
        status, _, body = await get(base, "requests.json?service_request_id=garbage")
        assert (status, json.loads(body)) == (200, [])


@pytest.mark.parametrize("headers, body", [
    ({"Content-Type": "multipart/form-data; boundary=zz"}, b"junk"),
    ({"Content-Type": "multipart/form-data"}, b"junk"),
    ({"Content-Type": "application/x-www-form-urlencoded"}, b"description=\xff\xfe"),
    ({"Content-Type": "application/x-www-form-urlencoded; charset=bogus"}, b"description=x"),
    # JSON with a good api_key: the answer is about the body, not a 403 about the key.
    ({"Content-Type": "application/json"}, json.dumps(FORM).encode()),
    ({"Content-Type": "text/plain"}, b"description=x"),
])
async def test_a_body_that_is_not_a_form_gets_400_and_creates_nothing(world: World, headers, body):
    async with serving(world) as base, aiohttp.ClientSession() as http:
        async with http.post(base + PREFIX.lstrip("/") + "/requests.json", data=body, headers=headers) as resp:
            assert resp.status == 400, await resp.text()
            [error] = json.loads(await resp.text())
            assert (error["code"], error["description"]) == (
                400, "the body must be form-encoded (application/x-www-form-urlencoded)")
    assert await count(world, Ticket) == 0


async def _reject(world: World, card: dict, reason: str) -> None:
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "驳回")
    prompt = await world.reply_from_bot(DISPATCH_CHAT, contains="请回复驳回理由")
    await world.send(DISPATCHER, DISPATCH_CHAT, reason, reply_to=prompt["message_id"])
    await world.settle()


async def test_get_shows_only_public_tickets(world: World):
    """Public: an appeal in a community chat, and a channel's own request even when rejected. Never:
    a 举报, an appeal made in private, a chat message rejected as spam — not listed, and by id not found."""
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 小区门口垃圾三天没人清运了")
    await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 我要举报有人在小区里开设赌场")
    await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000002")
    await world.send(RESIDENT, RESIDENT, "/appeal 楼下水管漏水严重，家里都淹了")
    await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000003")
    await world.send(RESIDENT_2, COMMUNITY, "@huying_bot 加微信领红包，先到先得")
    await _reject(world, await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000004"), "广告信息")
    kinds = {t.code: (t.kind, t.origin_chat_id, t.status) for t in await world.rows(select(Ticket))}
    assert kinds["2026-000002"][0] == "report" and kinds["2026-000003"][1] == RESIDENT
    assert kinds["2026-000004"][2] == "REJECTED"
    async with serving(world) as base:
        status, body = await post(base, "requests.json", FORM)
        assert status == 200 and json.loads(body)[0]["service_request_id"] == "2026-000005"
        await _reject(world, await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000005"), "重复提交")

        status, _, body = await get(base, "requests.json")
        listed = json.loads(body)
        assert [(r["service_request_id"], r["status"]) for r in listed] == [("2026-000005", "closed"),
                                                                              ("2026-000001", "open")]
        assert listed[0]["status_notes"] == "经审核不予受理。"
        status, _, body = await get(base, "requests.xml?service_request_id=2026-000001,2026-000002,2026-000003")
        assert [e.text for e in ET.fromstring(body.encode()).iter("service_request_id")] == ["2026-000001"]
        for hidden in ("2026-000002", "2026-000003", "2026-000004"):
            status, _, body = await get(base, f"requests/{hidden}.json")
            assert status == 404 and json.loads(body)[0]["code"] == 404, hidden
        status, _, body = await get(base, "requests/2026-000005.json")
        assert status == 200 and json.loads(body)[0]["status"] == "closed"


async def test_a_channel_ticket_without_a_place_is_not_called_a_private_appeal(world: World):
    form = {**FORM, "description": "路口垃圾桶满了没人清运", "address_string": "路口"}
    async with serving(world) as base:
        status, body = await post(base, "requests.json", form)
        assert status == 200, body
        card = await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    lines = card["text"].split("\n")
    assert ZH("card.area", area="未知") in lines and "来自12345热线" in card["text"]
    assert ZH("card.no_area") not in card["text"]
