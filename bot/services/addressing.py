"""Where things go and what they are called: tickets by id, the office's chats, names.

A leaf module: every stage (intake → triage → dispatch → department work → rating → review)
asks here instead of asking each other.
"""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import App
from bot.domain.lifecycle import Refusal
from bot.i18n import Translator
from bot.services import notify
from storage import console as console_store
from storage import directory, tickets
from storage.models import Department, Ticket


async def load(session: AsyncSession, ticket_id: int) -> Ticket:
    """The ticket a button or reply names, read afresh; a missing one is a bad button."""
    t = await tickets.get(session, ticket_id)
    if t is None:
        raise Refusal("error.bad_button")
    return t


async def dept_names(session: AsyncSession) -> dict[str | None, str]:
    """Department names by code (a missing lead department, None, simply finds no name)."""
    return {code: name for code, name in (await directory.department_names(session)).items()}


async def dispatch_chat_id(session: AsyncSession, app: App) -> int | None:
    chat = await directory.first_chat_of_kind(session, "dispatch")
    return chat.id if chat else app.org.dispatch_chat


async def leaders_chat_id(session: AsyncSession, app: App) -> int | None:
    chat = await directory.first_chat_of_kind(session, "leaders")
    return chat.id if chat else app.org.leaders_chat


async def dispatch_translator(session: AsyncSession, app: App) -> Translator:
    return await notify.chat_translator(session, app, await dispatch_chat_id(session, app) or 0)


async def lead_department(session: AsyncSession, t: Ticket) -> Department | None:
    return await directory.department(session, t.lead_dept) if t.lead_dept else None


async def department_of_chat(session: AsyncSession, chat_id: int | None) -> str | None:
    """The department a chat is bound to (None for any other chat)."""
    chat = await directory.chat(session, chat_id) if chat_id is not None else None
    return chat.department_code if chat and chat.kind == "department" else None


async def chat_kind(session: AsyncSession, chat_id: int) -> str | None:
    chat = await directory.chat(session, chat_id)
    return chat.kind if chat else None


async def reporter_names(session: AsyncSession, t: Ticket) -> list[str]:
    """What the bot knows the reporters by — of this ticket and of every ticket merged into it (a
    private appellant's name is no more public for his appeal having joined a neighbour's): their
    Telegram names and @usernames, the name a volunteer gave, the name a hotline gave for its
    caller. A department's result may name them, and a public text masks these
    (bot.domain.rating.scrub)."""
    names: list[str] = []
    for one in [t, *await _merged_in(session, t.id)]:
        names += await _names_of(session, one)
    return list(dict.fromkeys(n for n in names if n))


async def _merged_in(session: AsyncSession, ticket_id: int) -> list[Ticket]:
    """The tickets merged into this one, and into those (a merge of merges), each once."""
    found: list[Ticket] = []
    seen, todo = {ticket_id}, [ticket_id]
    while todo:
        for child in await tickets.merged_into(session, todo.pop()):
            if child.id not in seen:
                seen.add(child.id)
                found.append(child)
                todo.append(child.id)
    return found


async def _names_of(session: AsyncSession, t: Ticket) -> list[str]:
    names = [t.on_behalf_name or ""]
    for user_id in {u for u in (t.reporter_id, t.on_behalf_user_id) if u is not None}:
        p = await directory.person(session, user_id)
        if p is not None:
            # Telegram's "first last": a Chinese name is written last+first. Whole names only: a
            # single part (路灯, 物业 as someone's first name) would mask ordinary words.
            parts = (p.full_name or "").split()
            names += [p.full_name or "", "".join(reversed(parts)) if len(parts) > 1 else "",
                      f"@{p.username}" if p.username else ""]
    if t.channel != "telegram" and (asked := await console_store.channel_request(session, t.id)) is not None:
        first, last = (asked.first_name or "").strip(), (asked.last_name or "").strip()
        if first and last:  # 李 + 四: 李四, and the western orders too
            names += [f"{last}{first}", f"{first} {last}", f"{last} {first}"]
        elif len(first or last) > 1:  # a whole name in one field; one character alone would mask words
            names.append(first or last)
    return names


async def person_name(session: AsyncSession, user_id: int | None) -> str | None:
    p = await directory.person(session, user_id) if user_id else None
    return (p.full_name or (f"@{p.username}" if p.username else str(p.id))) if p else None


async def person_label(session: AsyncSession, user_id: int, tr: Translator) -> str:
    """A name people recognise, with the @username that pings them when we know it."""
    p = await directory.person(session, user_id)
    name = p.full_name if p and p.full_name else None
    handle = f"@{p.username}" if p and p.username else None
    if name and handle:
        return f"{name} ({handle})"
    return name or handle or tr("duty.person_id", id=user_id)
