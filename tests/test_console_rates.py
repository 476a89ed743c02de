"""The console's 督/考 pages: the three rates per department and per channel for a period, the
chart, and the annex ledgers as .xlsx downloads — read through the reports' own services."""
from __future__ import annotations

import io

import pytest
import yaml
from openpyxl import load_workbook

from tests.harness import CGJ_CHAT, COMMUNITY, DATA, DISPATCH_CHAT, DISPATCHER, RESIDENT, SW_CHAT, SW_HANDLER, World
from tests.steps import press
from tests.test_console import appeal
from tests.test_open311 import FORM, post
from tests.webharness import Browser, login_token, serving


async def test_rates_chart_channels_and_ledgers(world: World):
    await appeal(world)
    async with serving(world) as base:
        status, _ = await post(base, "requests.json", FORM)
        assert status == 200
        b = Browser(base)
        try:
            await b.login(await login_token(world, DISPATCHER))
            await b.get("tickets/2026-000001")
            await b.post("tickets/2026-000001/dispatch", {"lead": "cgj"})
            await world.reply_from_bot(CGJ_CHAT, contains="#2026-000001")
            status, page = await b.get("rates?period=2026-11")
            assert status == 200 and 'data-dept="cgj"' in page and 'data-channel="12345热线"' in page
            assert 'id="chart"' in page
            async with b.http.get(base + "rates/chart.png?period=2026-11") as resp:
                assert resp.status == 200 and (await resp.read()).startswith(b"\x89PNG")
            status, page = await b.get("rates?period=2031-13")
            assert status == 400 and "Traceback" not in page
            status, page = await b.get("exports?period=2026-11")
            assert status == 200 and "ledger.xlsx" in page
            async with b.http.get(base + "exports/ledger.xlsx?period=2026-11") as resp:
                assert resp.status == 200 and (await resp.read()).startswith(b"PK")
            status, page = await b.get("exports/nonsense.xlsx?period=2026-11")
            assert status == 400
        finally:
            await b.close()
        h = Browser(base)
        try:
            await h.login(await login_token(world, SW_HANDLER))
            status, page = await h.get("rates?period=2026-11")
            assert status == 200 and 'data-dept="cgj"' not in page and 'id="channels"' not in page
        finally:
            await h.close()


def _sw_handler_also_in_cgj() -> list[dict]:
    departments = yaml.safe_load((DATA / "org.yaml").read_text(encoding="utf-8"))["departments"]
    for d in departments:
        if d["code"] == "cgj":
            d["handlers"] = [*d.get("handlers", []), SW_HANDLER]
    return departments


@pytest.mark.parametrize("world", [{"org_patch": {"departments": _sw_handler_also_in_cgj()}}], indirect=True)
async def test_a_handler_of_two_departments_exports_the_rows_of_both(world: World):
    for text, chat in (("路口垃圾堆积很多天没人清运", CGJ_CHAT), ("小区水管漏水了好几天", SW_CHAT)):
        await world.send(RESIDENT, COMMUNITY, f"@huying_bot {text}")
        await world.settle()
        await press(world, DISPATCHER, DISPATCH_CHAT, world.sb.bot_messages(DISPATCH_CHAT)[-1], "派单")
        await world.reply_from_bot(chat, contains="签收")
    async with serving(world) as base:
        h = Browser(base)
        try:
            await h.login(await login_token(world, SW_HANDLER))
            async with h.http.get(base + "exports/transfers.xlsx?period=2026-11") as resp:
                assert resp.status == 200
                assert resp.headers["Content-Disposition"].endswith('transfers-2026-11-cgj-sw.xlsx"')
                data = await resp.read()
        finally:
            await h.close()
    rows = [list(r) for r in load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True)]
    assert [r[4] for r in rows if r and isinstance(r[0], int)] == ["城市管理局", "水务局"]  # 建议解决部门
