"""The console's 督/考 pages: rates (with the chart and the rates by channel) and the ledgers."""
from __future__ import annotations

from aiohttp import web

from bot.domain.periods import PeriodError
from bot.reports.text import percent, points
from bot.services import console_reports
from bot.services.exports import UnknownForm
from web.console.common import BadInput, Console, Visit, render
from web.transactions import run_op


def rate(value, num: int, den: int) -> str:  # noqa: ANN001
    return f"{percent(value)} ({num}/{den})" if den else "—"


async def rates(console: Console, request: web.Request, v: Visit) -> web.StreamResponse:
    period_text = (request.query.get("period") or "").strip()[:20]
    try:
        pg = await run_op(console.app, lambda s: console_reports.rates(s, console.app, v.staff, v.tr, period_text),
                          write=False)
    except PeriodError as exc:
        return render(console, request, v, "rates.html", status=400, page=None, period_text=period_text,
                      problem=v.tr(exc.code, **exc.params), rate=rate, points=points, channel_names=[])
    names = ["telegram"] + [c.name for c in console.app.org.channels]
    return render(console, request, v, "rates.html", page=pg, period_text=pg.period.key, problem=None, rate=rate,
                  points=points, channel_names=names)


async def chart(console: Console, request: web.Request, v: Visit) -> web.StreamResponse:
    period_text = (request.query.get("period") or "").strip()[:20]
    if not v.staff.sees_all:
        raise BadInput("console.chart_staff")
    try:
        png = await run_op(console.app, lambda s: console_reports.chart(s, console.app, v.staff, v.tr, period_text),
                           write=False)
    except PeriodError as exc:
        raise BadInput("console.bad_period", reason=v.tr(exc.code, **exc.params)) from None
    return web.Response(body=png, content_type="image/png", headers={"Cache-Control": "private, max-age=60"})


async def exports(console: Console, request: web.Request, v: Visit) -> web.StreamResponse:
    period_text = (request.query.get("period") or "").strip()[:20]
    return render(console, request, v, "exports.html", forms=console_reports.forms(v.tr), period_text=period_text)


async def ledger(console: Console, request: web.Request, v: Visit) -> web.StreamResponse:
    form = request.match_info["form"]
    period_text = (request.query.get("period") or "").strip()[:20]
    try:
        filename, data = await run_op(console.app, lambda s: console_reports.ledger(
            s, console.app, v.staff, v.tr, form, period_text), write=False)
    except UnknownForm:
        raise BadInput("console.bad_form", value=form[:30]) from None
    except PeriodError as exc:
        raise BadInput("console.bad_period", reason=v.tr(exc.code, **exc.params)) from None
    return web.Response(body=data, headers={
        "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "Content-Disposition": f'attachment; filename="{filename}"'})
