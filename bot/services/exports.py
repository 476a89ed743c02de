"""/export and `python -m bot export`: the annex ledgers of a period as .xlsx bytes."""
from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import App
from bot.domain.codes import display
from bot.domain.lifecycle import Status
from bot.domain.periods import Period
from bot.i18n import Translator
from bot.reports.ledgers import FORM_NAMES, FORMS, TicketRow, write_xlsx
from bot.reports.text import period_label
from storage import ledger_rows as store
from storage.ledger_rows import LedgerRow


class UnknownForm(Exception):
    def __init__(self, given: str) -> None:
        super().__init__(given)
        self.given = given


def form_of(word: str | None) -> str:
    name = (word or "").strip().lower()
    if name not in FORM_NAMES:
        raise UnknownForm(word or "")
    return name


def _person(name: str | None, username: str | None, user_id: int | None) -> str:
    handle = f"@{username}" if username else (f"tg://user?id={user_id}" if user_id else "")
    return " ".join(x for x in (name, handle) if x)


def _note(r: LedgerRow, tr: Translator) -> str:
    parts = [tr(f"status.{r.status}")]
    if r.leader_id:
        parts.append(tr("xlsx.note.taken", leader=r.leader_name or r.leader_id))
    if r.disputed:
        parts.append(tr("xlsx.note.disputed"))
    if r.carded:
        parts.append(tr("xlsx.note.overdue"))
    return tr("report.list_sep").join(parts)


def _handling(r: LedgerRow, tr: Translator) -> str:
    if r.status == Status.CLOSED and r.close_reason:
        return tr(f"xlsx.handling.{r.close_reason}") if r.close_reason in ("explained", "satisfied", "not_rated") \
            else tr("status.CLOSED")
    return tr(f"status.{r.status}")


def ticket_row(r: LedgerRow, tr: Translator, tz: tzinfo) -> TicketRow:
    reason = tr(f"rate.reason.{r.reason}") if r.reason else ""
    opinion = "; ".join(x for x in (reason, r.comment or "") if x)
    return TicketRow(
        code=display(r.code), text=r.text, dept=r.dept or "",
        reporter=r.on_behalf_name or r.reporter_name or r.channel_name or "",
        contact=" ".join(x for x in (r.channel_phone, r.channel_email) if x) or _person(None, r.reporter_username,
                                                                                      r.reporter_id),
        note=_note(r, tr), resolved=r.resolved, result=r.result_text or "",
        dept_contact=_person(r.handler_name, r.handler_username, r.handler_id),
        level=r.level, opinion=opinion, handling=_handling(r, tr),
        rated_at=r.rated_at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if r.rated_at else "",
    )


async def rows(session: AsyncSession, form: str, start: datetime, end: datetime,
               depts: Collection[str] | None) -> list[LedgerRow]:
    if form == "ledger":
        return await store.received(session, start, end, depts)
    if form in ("transfers", "feedback"):
        return await store.dispatched(session, start, end, depts)
    if form == "satisfaction":
        return await store.rated(session, start, end, depts)
    return await store.rated(session, start, end, depts, only_level=1)


async def workbook(session: AsyncSession, app: App, form: str, period: Period, tr: Translator, *,
                   depts: Collection[str] | None = None, with_contacts: bool) -> tuple[str, bytes, str]:
    """(file name, .xlsx bytes, a caption) of one form for one period; `depts`: only the rows of
    these departments (a department's chat, a handler of one or several)."""
    start, end = period.bounds(app.tz)
    table = [ticket_row(r, tr, app.tz) for r in await rows(session, form, start, end, depts)]
    unit = app.org.reports.unit or tr("xlsx.unit_default")
    submitted = app.now().astimezone(app.tz).strftime("%Y-%m-%d")
    data = write_xlsx(form, table, t=tr, period_label=period_label(period, tr), unit=unit, submitted=submitted,
                      with_contacts=with_contacts)
    caption = tr("export.caption", title=tr(FORMS[form].title_key), period=period_label(period, tr), rows=len(table))
    which = "".join(f"-{d}" for d in sorted(depts or ()))
    return f"{form}-{period.key}{which}.xlsx", data, caption
