"""The console's 一类事 pages: 高频共性 groups of a period and the 专项 (bot/services/console_matter.py)."""
from __future__ import annotations

from aiohttp import web

from bot.services import console_matter
from web.console.common import BadInput, Console, Visit, render
from web.transactions import run_op


def _share(value: float | None) -> str:
    return f"{value:.0%}" if value is not None else "—"


async def hotspots(console: Console, request: web.Request, v: Visit) -> web.StreamResponse:
    if not v.staff.sees_all:
        raise BadInput("console.matter_staff")
    period_text = (request.query.get("period") or "").strip()[:20]
    try:
        pg = await run_op(console.app, lambda s: console_matter.hotspots(s, console.app, v.staff, period_text or None),
                          write=False)
    except ValueError:
        raise BadInput("console.bad_hotspot_period", value=period_text) from None
    return render(console, request, v, "hotspots.html", page=pg, period_text=period_text)


async def campaigns(console: Console, request: web.Request, v: Visit) -> web.StreamResponse:
    rows = await run_op(console.app, lambda s: console_matter.campaign_rows(s, console.app, v.staff), write=False)
    return render(console, request, v, "campaigns.html", rows=rows, share=_share)
