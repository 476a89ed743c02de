"""The cards the bot keeps in the dispatch and department chats: text and buttons."""
from __future__ import annotations

from bot.callbacks import PickDept, TicketAct, button
from bot.context import App
from bot.domain.codes import display
from bot.domain.intake import summary
from bot.i18n import Translator
from storage.models import Department, Ticket


def _local(app: App, when) -> str:  # noqa: ANN001
    return when.astimezone(app.tz).strftime("%m-%d %H:%M")


def head(tr: Translator, t: Ticket) -> str:
    flag = "🔴 " if t.urgency == "urgent" else ""
    return tr("card.head", flag=flag, code=display(t.code), kind=tr(f"kind.{t.kind}"),
              urgency=tr(f"urgency.{t.urgency}"))


def dispatch_card(tr: Translator, app: App, t: Ticket, photos: int, area: str | None,
                  names: dict[str, str], note: str | None = None) -> str:
    route = t.route or {}
    lines = [head(tr, t), tr("card.area", area=area or tr("card.no_area")), tr("card.summary", text=summary(t.text))]
    if photos:
        lines.append(tr("card.photos", count=photos))
    if t.latitude is not None:
        lines.append(tr("card.has_location"))
    if t.on_behalf_name:
        lines.append(tr("card.on_behalf"))
    if route.get("lead"):
        co = "、".join(names.get(c, c) for c in route.get("co") or [])
        lines.append(tr("card.suggest", dept=names.get(route["lead"], route["lead"]),
                        category=route.get("category") or "-", co=co or "-",
                        confidence=f"{route.get('confidence', 0):.0%}", why="、".join(route.get("matched") or []) or "-"))
    else:
        lines.append(tr("card.no_suggestion"))
    if route.get("urgent"):
        lines.append(tr("card.urgent_why", why="、".join(route.get("urgent_matched") or [])))
    if route.get("divert"):
        lines.append(tr("card.divert_hint", why="、".join(route.get("divert_matched") or [])))
    if t.returns_count:
        lines.append(tr("card.returns", count=t.returns_count))
    if note:
        lines.append(note)
    return "\n".join(lines)


def dispatch_keyboard(tr: Translator, t: Ticket, names: dict[str, str]) -> list[list[dict]]:
    lead = (t.route or {}).get("lead")
    first = [button(tr("btn.dispatch"), TicketAct(action="dispatch", ticket_id=t.id))] if lead else []
    return [
        first + [button(tr("btn.choose_dept"), TicketAct(action="route", ticket_id=t.id))],
        [button(tr("btn.co"), TicketAct(action="co", ticket_id=t.id)),
         button(tr("btn.merge"), TicketAct(action="merge", ticket_id=t.id))],
        [button(tr("btn.divert"), TicketAct(action="divert", ticket_id=t.id)),
         button(tr("btn.reject"), TicketAct(action="reject", ticket_id=t.id))],
    ]


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
    done = PickDept(role="done", ticket_id=t.id, dept="-")
    rows.append([button(tr("btn.back"), done)])
    return rows


DIVERT_CHANNELS = ("litigation", "arbitration", "reconsideration", "discipline")


def divert_picker(tr: Translator, t: Ticket) -> list[list[dict]]:
    rows = [[button(tr(f"divert.{c}"), PickDept(role="divert", ticket_id=t.id, dept=c)) for c in DIVERT_CHANNELS[:2]],
            [button(tr(f"divert.{c}"), PickDept(role="divert", ticket_id=t.id, dept=c)) for c in DIVERT_CHANNELS[2:]]]
    rows.append([button(tr("btn.back"), PickDept(role="done", ticket_id=t.id, dept="-"))])
    return rows


def dept_card(tr: Translator, app: App, t: Ticket, photos: int, role: str, co_names: list[str],
              owner_name: str | None = None, note: str | None = None) -> str:
    lines = [head(tr, t)]
    if role == "co":
        lines.append(tr("card.co_info"))
    lines.append(tr("card.summary", text=summary(t.text, 500)))
    if photos:
        lines.append(tr("card.photos", count=photos))
    if t.latitude is not None:
        lines.append(tr("card.location", lat=f"{t.latitude:.5f}", lon=f"{t.longitude:.5f}"))
    if co_names:
        lines.append(tr("card.co_depts", names="、".join(co_names)))
    for clock, due in (("accept", t.accept_due), ("resolve", t.resolve_due)):
        if due is not None and not (clock == "accept" and t.accepted_at):
            lines.append(tr("card.due", clock=tr(f"clock.{clock}"), when=_local(app, due)))
    if owner_name:
        lines.append(tr("card.owner", name=owner_name))
    if note:
        lines.append(note)
    lines.append(tr("card.reply_hint"))
    return "\n".join(lines)


def dept_keyboard(tr: Translator, t: Ticket, role: str) -> list[list[dict]]:
    if role == "co":
        return [[button(tr("btn.coaccept"), TicketAct(action="coaccept", ticket_id=t.id))]]
    if t.status == "DISPATCHED":
        return [[button(tr("btn.accept"), TicketAct(action="accept", ticket_id=t.id)),
                 button(tr("btn.return"), TicketAct(action="return", ticket_id=t.id))]]
    if t.status in ("ACCEPTED", "REOPENED"):
        return [[button(tr("btn.resolve"), TicketAct(action="resolve", ticket_id=t.id)),
                 button(tr("btn.extend"), TicketAct(action="extend", ticket_id=t.id))]]
    return []
