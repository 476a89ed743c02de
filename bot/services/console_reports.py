"""The console's supervision pages: the three rates per department (and per channel) for a period,
the chart, and the annex ledgers as downloads — read through the reports' own services."""
from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import App
from bot.domain.periods import Period
from bot.domain.rates import Figures, department_figures
from bot.domain.report import Report
from bot.i18n import Translator
from bot.reports.ledgers import FORM_NAMES, FORMS
from bot.reports.text import period_label
from bot.services import exports, reports
from bot.services.console_auth import Staff
from storage import console as store
from storage import report_facts as facts


@dataclass
class RatesPage:
    period: Period
    label: str
    report: Report
    names: dict[str, str]
    places: list  # bot.domain.ranking.Place, the ones this person may see
    channels: dict[str, Figures]
    received: dict[str, int]


async def period_of(session: AsyncSession, app: App, text: str | None) -> Period:
    """The period asked for (`2026-11`, `2026-Q4`, `2026-H2`, `2026`), or the last complete month.
    Raises bot.domain.periods.PeriodError, a message key the page shows."""
    return await reports.choose_period(session, app, [text] if text else [], app.now())


async def channel_figures(session: AsyncSession, app: App, period: Period) -> tuple[dict[str, Figures], dict[str, int]]:
    """The same definitions with the channel in place of the department (rates by channel)."""
    start, end = period.bounds(app.tz)
    dispatches = await facts.dispatch_facts(session, start, end)
    ratings = await facts.rating_facts(session, start, end)
    channel = await store.channels_of(session, {d.ticket_code for d in dispatches} | {r.ticket_code for r in ratings})
    figures = department_figures(start, end, app.now(),
                                 [replace(d, dept=channel.get(d.ticket_code, "telegram")) for d in dispatches],
                                 [replace(r, dept=channel.get(r.ticket_code, "telegram")) for r in ratings])
    return figures, await store.received_by_channel(session, start, end, app.now())


async def rates(session: AsyncSession, app: App, staff: Staff, tr: Translator, period_text: str | None) -> RatesPage:
    period = await period_of(session, app, period_text)
    report = await reports.build(session, app, period, app.now())
    mine = staff.departments
    places = [p for p in report.places if mine is None or p.dept in mine]
    by_channel, received = await channel_figures(session, app, period) if mine is None else ({}, {})
    return RatesPage(period=period, label=period_label(period, tr), report=report,
                     names=await reports.department_names(session), places=places, channels=by_channel,
                     received=received)


async def chart(session: AsyncSession, app: App, staff: Staff, tr: Translator, period_text: str | None) -> bytes:
    period = await period_of(session, app, period_text)
    report = await reports.build(session, app, period, app.now())
    names = await reports.department_names(session)
    rendered = await reports.render(report, names, app, tr)
    return rendered.png


def forms(tr: Translator) -> list[tuple[str, str]]:
    return [(name, tr(FORMS[name].title_key)) for name in FORM_NAMES]


async def ledger(session: AsyncSession, app: App, staff: Staff, tr: Translator, form: str,
                 period_text: str | None) -> tuple[str, bytes]:
    """One annex ledger as .xlsx; a handler gets the rows of their departments (all of them) only."""
    name = exports.form_of(form)
    period = await period_of(session, app, period_text)
    filename, data, _caption = await exports.workbook(session, app, name, period, tr, depts=staff.departments,
                                                      with_contacts=True)
    return filename, data
