"""The console's 督/考 pages: the three rates per department and per channel for a period, the
chart, and the annex ledgers as .xlsx downloads — read through the reports' own services."""
from __future__ import annotations

from tests.harness import CGJ_CHAT, DISPATCHER, SW_HANDLER, World
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
