"""督/考 reports: build one for a period from the database, and queue it (text + chart) to chats.

The figures are added up by the database (storage.report_facts), and so are the period's
高频共性 groups (bot.services.hotspot_alerts); the 专项 in progress at the period's end come from
bot.services.campaigns. The chart is drawn in a worker thread (matplotlib is CPU work) before the
short transaction that queues the messages.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import App
from bot.domain import periods
from bot.domain.periods import Period
from bot.domain.ranking import Weights
from bot.domain.report import Report, assemble
from bot.i18n import Translator
from bot.reports import chart
from bot.reports import text as report_text
from bot.services import campaigns, hotspot_alerts, notify
from storage import bulletins as files
from storage import directory
from storage import outbox
from storage import report_facts as facts

CAPTION_LIMIT = 1024


def weights(app: App) -> Weights:
    spec = app.org.reports
    return Weights.of(spec.weights.response, spec.weights.resolution, spec.weights.satisfaction,
                      spec.red_card_penalty)


async def department_names(session: AsyncSession) -> dict[str, str]:
    return {d.code: d.name for d in await directory.departments(session)}


async def choose_period(session: AsyncSession, app: App, args: list[str], now: datetime) -> Period:
    """The period a command names; raises bot.domain.periods.PeriodError (a message key)."""
    return periods.choose(args, now=now, tz=app.tz, first_ticket_at=await facts.first_ticket_at(session))


async def build(session: AsyncSession, app: App, period: Period, as_of: datetime) -> Report:
    start, end = period.bounds(app.tz)
    return assemble(
        period, app.tz, as_of,
        received=await facts.received(session, start, end, as_of),
        figures=await facts.figures(session, start, end, as_of),
        worst=await facts.worst(session, start, end, as_of),
        departments=[d.code for d in await directory.departments(session)],
        weights=weights(app),
        hotspots=await hotspot_alerts.top_for_report(session, app, start, min(end, as_of)),
        campaigns=await campaigns.in_progress(session, app, min(end, as_of)),
    )


@dataclass(frozen=True)
class Rendered:
    text: str
    caption: str
    png: bytes


async def render(report: Report, names: dict[str, str], app: App, tr: Translator) -> Rendered:
    png = await asyncio.to_thread(chart.render_png, report_text.chart_rows(report, names),
                                  report_text.chart_text(report, tr))
    caption = report_text.chart_text(report, tr).title[:CAPTION_LIMIT]
    return Rendered(report_text.render(report, names, app.tz, tr), caption, png)


async def queue(session: AsyncSession, app: App, chat_id: int, rendered: Rendered, *, thread_id: int | None = None,
                reply_to: int | None = None, purpose: str = "report") -> None:
    """The report's text (in as many messages as it takes), then its chart, to one chat (the
    outbox keeps their order)."""
    now = app.now()
    for n, piece in enumerate(notify.pieces(rendered.text)):
        payload: dict = {"text": piece}
        if reply_to and n == 0:
            payload["reply_to"] = reply_to
        outbox.enqueue(session, chat_id=chat_id, method="message", payload=payload, now=now, thread_id=thread_id,
                       purpose=purpose)
    file_id = await files.add_file(session, "report.png", rendered.png, now)
    outbox.enqueue(session, chat_id=chat_id, method="photo", now=now, thread_id=thread_id, purpose=purpose,
                   payload={"upload": file_id, "filename": "report.png", "caption": rendered.caption})


async def queue_document(session: AsyncSession, app: App, chat_id: int, filename: str, content: bytes, caption: str,
                         *, thread_id: int | None = None, reply_to: int | None = None) -> None:
    now = app.now()
    file_id = await files.add_file(session, filename, content, now)
    payload: dict = {"upload": file_id, "filename": filename, "caption": caption[:CAPTION_LIMIT]}
    if reply_to:
        payload["reply_to"] = reply_to
    outbox.enqueue(session, chat_id=chat_id, method="document", payload=payload, now=now, thread_id=thread_id,
                   purpose="export")


# -- who may ask, where ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Desk:
    """Where a /report or /export was asked: the kind of chat, and what it may see."""

    kind: str  # leaders | dispatch | department | private
    dept: str | None = None  # a department chat sees its own department's rows only
    contacts: bool = False  # staff group chats get the reporters' contact details in exports


async def is_community(session: AsyncSession, chat_id: int) -> bool:
    chat = await directory.chat(session, chat_id)
    return chat is not None and chat.kind == "community"


async def desk(session: AsyncSession, chat_id: int, chat_type: str, *, leader: bool, dispatcher: bool,
               admin: bool, exports: bool = False) -> Desk | None:
    """None when the chat or the person has no right to reports (a community chat, a resident)."""
    if chat_type == "private":
        return Desk("private") if leader or dispatcher or admin else None
    chat = await directory.chat(session, chat_id)
    if chat is None or not chat.active:
        return None
    if chat.kind in ("leaders", "dispatch"):
        return Desk(chat.kind, contacts=True)
    if exports and chat.kind == "department" and chat.department_code:
        return Desk("department", dept=chat.department_code, contacts=True)
    return None
