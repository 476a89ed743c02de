"""The acknowledgement: the one message that follows a ticket in the chat it came from (issue #13).

In a community chat a ticket adds at most three bot messages over its whole life: this
acknowledgement, the rating request (bot/services/notify.py `tell_reporter`, edited in place
for the questions after it) and the 正面回应 (bot/services/reviews.py). Every other change —
派单, 签收, progress, 办结, a reopening, an extension, a merge, a 附议 — rewrites the
acknowledgement in place (`refresh`, called by bot/services/transition.py for every move), ending
in a short status line. It carries a button that opens a private chat with the bot
(`https://t.me/<bot>?start=t<code>`, bot/services/private_link.py), where the reporter gets the
details and, from then on, the news. It shows the code, the photo count, how many neighbours
agree and the state — never the appeal's words or who posted it; a 举报 not even those, and it asks
its reporter to go on in private. An acknowledgement in a private chat is only ever recounted
(an album's late photo); the news goes there as messages of their own.
"""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import TicketAct, button
from bot.context import App
from bot.domain.codes import display, parse_code
from bot.domain.lifecycle import Status
from bot.i18n import Translator
from bot.services import notify
from bot.services.addressing import dept_names
from bot.services.ticket_lines import local
from storage import console as console_store
from storage import extensions, merges, outbox, tickets
from storage import matter as matter_repo
from storage.models import Ticket

START_PREFIX = "t"  # /start t2026-000123: the ticket's code is public already (it is on the ack)
PURPOSES = ("ack", "ack_edit")


def code_of_payload(payload: str) -> str | None:
    """The ticket code a /start payload names (None: not one of ours)."""
    payload = payload.strip()
    return parse_code(payload[len(START_PREFIX):]) if payload.startswith(START_PREFIX) else None


def private_button(tr: Translator, app: App, t: Ticket) -> dict:
    return code_button(tr("ack.btn_report" if t.kind == "report" else "ack.btn_private"), app, t.code)


def code_button(label: str, app: App, code: str) -> dict:
    """A button that opens the private chat on the ticket `code` (its reporter gets the details there)."""
    return {"text": label, "url": f"https://t.me/{app.bot_username}?start={START_PREFIX}{code}"}


def memo(t: Ticket) -> str:
    """What the status line is made of, from the ticket's own columns: a move that changes
    none of it (NEW → TRIAGE, a second progress note) leaves the acknowledgement alone."""
    phase = Status.TRIAGE.value if t.status == Status.NEW else t.status
    if t.status == Status.ACCEPTED and t.first_progress_at is not None:
        phase = "WORKING"
    due = t.resolve_due.isoformat() if t.resolve_due else ""
    return "|".join(map(str, (phase, t.lead_dept, due, t.merged_into_id, t.kind, t.urgency)))


async def post(session: AsyncSession, app: App, t: Ticket, chat_id: int, message_id: int, thread_id: int | None,
               photo_count: int, related: Ticket | None, delay: float) -> None:
    """The acknowledgement, as a reply to the appeal (held for `delay` s while an album arrives)."""
    tr = await notify.chat_translator(session, app, chat_id)
    text, rows = await render(session, app, tr, t, group=chat_id < 0, photos=photo_count, supporters=0,
                              related=related, related_known=True)
    notify.send(session, app, chat_id, text, thread_id=thread_id, reply_to=message_id, keyboard=rows, ticket=t,
                purpose="ack", delay=delay, memo=memo(t))


async def refresh(session: AsyncSession, app: App, t: Ticket, *, counts: bool = False) -> None:
    """Bring the acknowledgement up to date: rewrite it while it waits in the outbox, else queue an
    edit (of a message id the outbox finds once the acknowledgement is sent, if it is not yet).

    `counts`: photos or supporters changed (they are not in the ticket's columns); without it
    only a group's acknowledgement is looked at, and only when its status line may have changed.
    """
    group = bool(t.origin_chat_id and t.origin_chat_id < 0)
    if not group and not counts:
        return
    rows = await outbox.rows_for(session, t.id, PURPOSES)
    ack = next((r for r in rows if r.purpose == "ack"), None)
    if ack is None or ack.status == "failed":
        return
    shown = rows[-1].payload
    if not counts and shown.get("memo") == memo(t):
        return
    tr = await notify.chat_translator(session, app, ack.chat_id)
    text, keyboard = await render(session, app, tr, t, group=ack.chat_id < 0)
    text = notify.clip(text) or ""
    if shown.get("text") == text and shown.get("keyboard") == keyboard:
        return
    new = {"text": text, "keyboard": keyboard, "memo": memo(t)}
    if rows[-1].status == "pending" and await outbox.rewrite_pending(session, rows[-1].id, {**shown, **new}):
        return
    if ack.status == "sent" and ack.sent_message_ids and ack.sent_message_ids[0] is not None:
        new["message_id"] = ack.sent_message_ids[0]
    else:
        new["message_of"] = "ack"
    outbox.enqueue(session, chat_id=ack.chat_id, method="edit_text", payload=new, now=app.now(), ticket_id=t.id,
                   purpose="ack_edit")


async def render(session: AsyncSession, app: App, tr: Translator, t: Ticket, *, group: bool,
                 photos: int | None = None, supporters: int | None = None,
                 related: Ticket | None = None, related_known: bool = False) -> tuple[str, list[list[dict]] | None]:
    """The acknowledgement's text and buttons as the ticket stands (counts read when not given)."""
    code = display(t.code)
    if group and t.kind == "report":
        # A 举报 in a public chat: nothing of it here, and its reporter is asked into private.
        lines = [tr("ack.report", code=code), tr("ack.report_private"), await status_line(session, app, tr, t)]
        return "\n".join(lines), [[private_button(tr, app, t)]]
    if photos is None:
        photos = await tickets.count_attachments(session, t.id, source="appeal")
    lines = [tr("ack.created", code=code)]
    if t.on_behalf_name:
        lines.append(tr("ack.on_behalf"))
    if photos:
        lines.append(tr("ack.photos", count=photos))
    if t.urgency == "urgent":
        lines.append(tr("ack.urgent"))
    lines.append(tr("ack.next_group" if group else "ack.next"))
    if not related_known:
        related = await matter_repo.related_to(session, t.id)
    if related is not None:
        lines.append(tr("card.related", code=display(related.code)))
    if not group:
        return "\n".join(lines), None
    if supporters is None:
        supporters = await matter_repo.support_count(session, t.id)
    if supporters:
        lines.append(tr("ack.supporters", count=supporters))
    rows: list[list[dict]] = []
    if answered(t):
        # A consultation the knowledge base answered: the answer is public knowledge, so it is
        # shown here, with the button that sends it on to a person while that may still help.
        if answer := await tickets.knowledge_answer(session, t.id):
            lines.append(tr("ack.answer", answer=answer))
        if t.status == Status.ANSWERED:
            rows.append([button(tr("btn.not_helpful"), TicketAct(action="nohelp", ticket_id=t.id))])
    lines.append(await status_line(session, app, tr, t))
    rows.append([private_button(tr, app, t)])
    return "\n".join(lines), rows


def answered(t: Ticket) -> bool:
    """A consultation the knowledge base answered, still open to 没有解决 or closed by itself."""
    return t.status == Status.ANSWERED or (t.status == Status.CLOSED and t.close_reason == "answered")


async def status_line(session: AsyncSession, app: App, tr: Translator, t: Ticket) -> str:
    """已受理 → 已派单 → 已签收 → 办理中 → 已办结 …: where the ticket stands, in one line."""
    status = Status(t.status)
    dept = ""
    if t.lead_dept and t.kind != "report" and status in (Status.DISPATCHED, Status.ACCEPTED, Status.REOPENED):
        dept = tr("ack.dept", dept=(await dept_names(session)).get(t.lead_dept, t.lead_dept))
    match status:
        case Status.NEW | Status.TRIAGE:
            state = tr("ack.state.TRIAGE")
        case Status.ACCEPTED:
            state = tr("ack.state.WORKING" if t.first_progress_at else "ack.state.ACCEPTED") + dept
        case Status.DISPATCHED:
            state = tr("ack.state.DISPATCHED") + dept
        case Status.REOPENED:
            return tr("ack.status", state=tr("ack.state.REOPENED", when=local(app, t.resolve_due), dept=dept))
        case Status.CLOSED if answered(t):
            return tr("ack.status", state=tr("ack.state.ANSWERED"))
        case Status.MERGED:
            # The ticket that carries the matter, named only when the public may see it (never a
            # 举报 or an appeal made in private: Open311 follows the same rule).
            target = (await merges.merge_path(session, t))[-1]
            if target.id == t.id or not await console_store.is_public(session, target.id):
                return tr("ack.status", state=tr("ack.state.MERGED_ELSEWHERE"))
            return tr("ack.status", state=tr("ack.state.MERGED", code=display(target.code)))
        case _:
            return tr("ack.status", state=tr(f"ack.state.{status.value}"))
    if t.resolve_due is not None and t.resolve_due == await extensions.approved_due(session, t.id):
        state += tr("ack.extended", when=local(app, t.resolve_due, "%m-%d"))
    return tr("ack.status", state=state)
