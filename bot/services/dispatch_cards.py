"""The dispatch chat's card for a ticket: its text, its buttons and pickers, posting and rewriting it.

While a dispatcher decides (TRIAGE, REVIEW) the card carries every decision; while a department
works the ticket it keeps 改类型 and 标紧急 / 改普通 (bot/services/reclassify.py). An urgent
ticket's card names the on-duty dispatcher.
"""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import PickDept, Reclassify, Supervise, TicketAct, button
from bot.context import App
from bot.domain.intake import summary
from bot.domain.lifecycle import RULES, WORKING, Actor, Status, TransitionError, authorise
from bot.i18n import Translator
from bot.services import escalation, matter_lines, notify
from bot.services.addressing import dept_names, dispatch_chat_id
from bot.services.ticket_lines import head
from storage import assignments, directory, outbox, tickets, worklists
from storage.models import Department, Ticket

DIVERT_CHANNELS = ("litigation", "arbitration", "reconsideration", "discipline")
CARD_ACTIONS = ("dispatch", "merge", "divert", "reject")
KINDS = ("help", "complaint", "suggestion", "consultation", "report")


def place(tr: Translator, t: Ticket, area: str | None) -> str:
    """Where the appeal is from, as the cards say it: the area; else how it came in (a private
    chat; a channel's ticket says its channel on a line of its own, and was not filed in private)."""
    if area:
        return area
    return tr("card.no_area") if t.channel == "telegram" else tr("card.no_area_channel")


def card_text(tr: Translator, t: Ticket, photos: int, area: str | None, names: dict[str | None, str],
              note: str | None = None) -> str:
    route = t.route or {}
    lines = [head(tr, t), tr("card.area", area=place(tr, t, area)), tr("card.summary", text=summary(t.text))]
    if photos:
        lines.append(tr("card.photos", count=photos))
    if t.latitude is not None:
        lines.append(tr("card.has_location"))
    if t.on_behalf_name:
        lines.append(tr("card.on_behalf"))
    if route.get("lead"):
        co = tr("report.list_sep").join(names.get(c, c) for c in route.get("co") or [])
        lines.append(tr("card.suggest", dept=names.get(route["lead"], route["lead"]),
                        category=route.get("category") or "-", co=co or "-",
                        confidence=f"{route.get('confidence', 0):.0%}",
                        why=tr("report.list_sep").join(route.get("matched") or []) or "-"))
    else:
        lines.append(tr("card.no_suggestion"))
    if t.urgency == "urgent":
        why = tr("report.list_sep").join(route.get("urgent_matched") or []) if route.get("urgent") else ""
        lines.append(tr("card.urgent_why", why=why) if why else tr("card.urgent_marked"))
    if route.get("divert"):
        lines.append(tr("card.divert_hint", why=tr("report.list_sep").join(route.get("divert_matched") or [])))
    if t.returns_count:
        lines.append(tr("card.returns", count=t.returns_count))
    if note:
        lines.append(note)
    return "\n".join(lines)


def keyboard(tr: Translator, t: Ticket) -> list[list[dict]]:
    lead = (t.route or {}).get("lead")
    first = [button(tr("btn.dispatch"), TicketAct(action="dispatch", ticket_id=t.id))] if lead else []
    # 职责争议 (returned twice): lay it before the leaders, until one of them has chosen.
    dispute = ([[button(tr("btn.raise_dispute"), Supervise(action="raise", ticket_id=t.id))]]
               if t.disputed_at is not None and not t.lead_decided_by else [])
    return dispute + [
        first + [button(tr("btn.choose_dept"), TicketAct(action="route", ticket_id=t.id))],
        [button(tr("btn.co"), TicketAct(action="co", ticket_id=t.id)),
         button(tr("btn.merge"), TicketAct(action="merge", ticket_id=t.id))],
        [button(tr("btn.divert"), TicketAct(action="divert", ticket_id=t.id)),
         button(tr("btn.reject"), TicketAct(action="reject", ticket_id=t.id))],
    ]


def classify_row(tr: Translator, t: Ticket) -> list[dict]:
    """改类型, and 标紧急 or 改普通: the dispatcher corrects what the words suggested."""
    urgent = t.urgency == "urgent"
    return [button(tr("btn.change_kind"), Reclassify(what="kinds", ticket_id=t.id)),
            button(tr("btn.make_normal" if urgent else "btn.make_urgent"),
                   Reclassify(what="urgency", ticket_id=t.id, value="normal" if urgent else "urgent"))]


def kind_picker(tr: Translator, t: Ticket) -> list[list[dict]]:
    def pick(k: str) -> dict:
        mark = "✓ " if k == t.kind else ""
        return button(mark + tr(f"kind.{k}"), Reclassify(what="kind", ticket_id=t.id, value=k))

    return [[pick(k) for k in KINDS[:3]], [pick(k) for k in KINDS[3:]],
            [button(tr("btn.back"), PickDept(role="done", ticket_id=t.id, dept="-"))]]


def dept_picker(tr: Translator, t: Ticket, depts: list[Department], role: str) -> list[list[dict]]:
    chosen = set((t.route or {}).get("co") or [])
    rows, row = [], []
    for d in depts:
        mark = "✓ " if role == "co" and d.code in chosen else ""
        row.append(button(mark + d.name, PickDept(role=role, ticket_id=t.id, dept=d.code)))
        if len(row) == 2:
            rows.append(row)
            row = []
    if row:
        rows.append(row)
    rows.append([button(tr("btn.back"), PickDept(role="done", ticket_id=t.id, dept="-"))])
    return rows


def divert_picker(tr: Translator, t: Ticket) -> list[list[dict]]:
    def pick(c: str) -> dict:
        return button(tr(f"divert.{c}"), PickDept(role="divert", ticket_id=t.id, dept=c))

    return [[pick(c) for c in DIVERT_CHANNELS[:2]], [pick(c) for c in DIVERT_CHANNELS[2:]],
            [button(tr("btn.back"), PickDept(role="done", ticket_id=t.id, dept="-"))]]


Duplicates = tuple[list[str], list[list[dict]]]


def _reclassifiable(t: Ticket) -> bool:
    """A dispatcher or a department has it: its kind and urgency may still change."""
    return Status(t.status) in RULES["reclassify"].sources


async def _text(session: AsyncSession, app: App, tr: Translator, t: Ticket, note: str | None,
                dups: Duplicates | None = None) -> str:
    names = await dept_names(session)
    area = await directory.area(session, t.area_code) if t.area_code else None
    facts = await matter_lines.card_facts(session, t)
    text = card_text(tr, t, facts.attachments, area.name if area else None, names, note)
    line = await escalation.dispatcher_line(session, app, tr, t) if _reclassifiable(t) else None
    extra = [line] if line else []
    extra += await matter_lines.card_lines(session, app, tr, t, facts)
    extra += (dups or await matter_lines.duplicate_lines(session, app, tr, t))[0]
    return "\n".join([text, *extra])


async def _keyboard(session: AsyncSession, app: App, tr: Translator, t: Ticket,
                    full: bool = True, dups: Duplicates | None = None) -> list[list[dict]] | None:
    """The card's buttons: every decision (`full`) with a one-tap 合并 into each likely duplicate,
    and 改类型 / 标紧急 while the ticket may be reclassified; None when nothing is left to press."""
    rows = keyboard(tr, t) if full else []
    if _reclassifiable(t):
        rows.append(classify_row(tr, t))
    if full:
        rows += (dups or await matter_lines.duplicate_lines(session, app, tr, t))[1]
    return rows or None


async def _card(session: AsyncSession, app: App, tr: Translator, t: Ticket, note: str | None,
                full: bool = True) -> tuple[str, list[list[dict]] | None]:
    """Text and buttons, the likely duplicates looked for once for both."""
    dups = await matter_lines.duplicate_lines(session, app, tr, t)
    return await _text(session, app, tr, t, note, dups), await _keyboard(session, app, tr, t, full, dups)


async def status_note(session: AsyncSession, app: App, tr: Translator, t: Ticket) -> str | None:
    """The card's last line for a ticket a department has: where it went (and that it went by
    itself, for an urgent ticket the catalogue matched)."""
    if Status(t.status) not in WORKING or not t.lead_dept:
        return None
    names = await dept_names(session)
    co = [d.dept_code for d in await tickets.departments_of(session, t.id) if d.role == "co"]
    who = names.get(t.lead_dept, t.lead_dept) + (" + " + tr("report.list_sep").join(names.get(c, c) for c in co) if co else "")
    current = await assignments.current(session, t.id)
    if current is not None and current.dispatched_by is None and t.urgency == "urgent":
        return tr("card.dispatched_urgent", dept=who)
    return tr("card.dispatched", dept=who)


async def post_again(session: AsyncSession, app: App) -> int:
    """The dispatch desk moved to another group: each ticket waiting for a dispatcher gets its card
    there again (the old group is no desk any more). Returns how many."""
    waiting, _total = await worklists.waiting(session, 0, worklists.REPOST_AT_MOST)
    for t in waiting:
        await post(session, app, t)
    return len(waiting)



async def post(session: AsyncSession, app: App, t: Ticket, note: str | None = None) -> None:
    """A new card in the dispatch chat, with the buttons.

    A new album's card waits as long as its acknowledgement does, so that it counts the
    photos still arriving (`recount`)."""
    chat_id = await dispatch_chat_id(session, app)
    if chat_id is None:
        return
    tr = await notify.chat_translator(session, app, chat_id)
    first_of_album = bool(t.media_group_id) and not await tickets.links_of(session, t.id, "dispatch_card")
    deciding = Status(t.status) in (Status.NEW, Status.TRIAGE, Status.REVIEW)
    text, kb = await _card(session, app, tr, t, note, full=deciding)
    notify.send(session, app, chat_id, text, keyboard=kb, ticket=t, purpose="dispatch_card",
                delay=app.settings.album_debounce if first_of_album else 0.0)


async def has_card(session: AsyncSession, t: Ticket) -> bool:
    """Whether the ticket has a dispatch card (sent, or waiting in the outbox)."""
    return bool(await tickets.links_of(session, t.id, "dispatch_card")
                or await outbox.pending_for(session, t.id, "dispatch_card"))


async def recount(session: AsyncSession, app: App, t: Ticket) -> None:
    """More photos of the appeal arrived after its card was written: the card counts them
    (rewritten before it is sent, else edited while the ticket still waits for a dispatcher)."""
    row = await outbox.pending_for(session, t.id, "dispatch_card")
    if row is not None:
        tr = await notify.chat_translator(session, app, row.chat_id)
        row.payload = {**row.payload, "text": notify.clip(await _text(session, app, tr, t, None))}
    elif t.status == Status.TRIAGE:
        await refresh(session, app, t, None, with_buttons=True)


async def link_pressed(session: AsyncSession, app: App, ticket_id: int, chat_id: int, message_id: int) -> None:
    """A card can be pressed in the instant before its link is written (the outbox writes it
    just after Telegram answers the send): link the pressed card now, so the decision edits it
    like the linked ones instead of leaving its buttons live."""
    if chat_id != await dispatch_chat_id(session, app) or await tickets.find_link(session, chat_id, message_id):
        return
    if await tickets.get(session, ticket_id) is not None:
        await tickets.link(session, chat_id, message_id, ticket_id, "dispatch_card", app.now())


async def refresh(session: AsyncSession, app: App, t: Ticket, note: str | None, with_buttons: bool = False) -> None:
    """Rewrite the dispatch card(s) of a ticket after a decision (`with_buttons`: every decision
    is still open; otherwise only 改类型 / 标紧急 stay, while the ticket may be reclassified)."""
    for link in await tickets.links_of(session, t.id, "dispatch_card"):
        tr = await notify.chat_translator(session, app, link.chat_id)
        text, kb = await _card(session, app, tr, t, note, full=with_buttons)
        notify.edit(session, app, link.chat_id, link.message_id, text, kb, ticket=t)
    row = await outbox.pending_for(session, t.id, "dispatch_card")
    if row is not None:
        # A card still waiting in the outbox (a burst, a 429, an album's wait) goes out as the
        # ticket stands now — not with the buttons of a decision already taken.
        tr = await notify.chat_translator(session, app, row.chat_id)
        text, kb = await _card(session, app, tr, t, note, full=with_buttons)
        await outbox.rewrite_pending(session, row.id, {**row.payload, "text": notify.clip(text), "keyboard": kb})


async def decisions_open(session: AsyncSession, t: Ticket) -> bool:
    """Whether the dispatch card offers its decisions (派单 / 另选部门 …): in TRIAGE, and in REVIEW
    once 改派 has put the ticket back on a dispatch card; before that the review card decides
    (关闭并说明 / 退回重办 / 改派), and no other card or page may go round it."""
    if t.status == Status.TRIAGE:
        return True
    if t.status != Status.REVIEW:
        return False
    kinds = [e.kind for e in await tickets.events(session, t.id) if e.kind in ("to_review", "review_redirect")]
    return bool(kinds) and kinds[-1] == "review_redirect"


async def redraw(session: AsyncSession, app: App, t: Ticket) -> None:
    """The card(s) after a change of kind or urgency, or a leader's 包案: as the ticket stands now."""
    tr = await notify.chat_translator(session, app, await dispatch_chat_id(session, app) or 0)
    await refresh(session, app, t, await status_note(session, app, tr, t),
                  with_buttons=await decisions_open(session, t))


async def show_buttons(session: AsyncSession, app: App, t: Ticket, actors: set[Actor], chat_id: int,
                       message_id: int) -> None:
    """返回 from a picker: the card with its buttons again while any of them may still act.

    The same rules as the buttons themselves (lifecycle.authorise): 派单 / 另选部门 / 协办部门 from
    TRIAGE and from REVIEW (a dispatch card posted by 改派), 合并 / 分流 / 驳回 from NEW and
    TRIAGE — so a REVIEW ticket is never left on a card without buttons.
    """
    def allowed(action: str) -> bool:
        try:
            authorise(action, t.status, actors)
        except TransitionError:
            return False
        return True

    tr = await notify.chat_translator(session, app, chat_id)
    text, kb = await _card(session, app, tr, t, await status_note(session, app, tr, t),
                           full=any(allowed(a) for a in CARD_ACTIONS))
    notify.edit(session, app, chat_id, message_id, text, kb, ticket=t)


async def show_picker(session: AsyncSession, app: App, t: Ticket, chat_id: int, message_id: int, what: str) -> None:
    tr = await notify.chat_translator(session, app, chat_id)
    if what == "divert":
        kb = divert_picker(tr, t)
    elif what == "kinds":
        kb = kind_picker(tr, t)
    else:
        depts = [d for d in await directory.departments(session) if d.chat_id is not None]
        kb = dept_picker(tr, t, depts, "lead" if what == "route" else "co")
    notify.edit(session, app, chat_id, message_id, None, kb, ticket=t)
