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


async def able_to_take(session: AsyncSession, code: str | None) -> Department:
    """The department a ticket is about to go to (派单, 退回重办), refused when no active chat of its
    own can show it the card: the ticket would wait where nobody can act on it."""
    dept = await directory.department(session, code) if code else None
    if dept is None:
        raise Refusal("error.bad_button")
    chat = await directory.chat(session, dept.chat_id) if dept.chat_id else None
    if chat is None or not chat.active or chat.kind != "department" or chat.department_code != dept.code:
        raise Refusal("dispatch.no_chat", dept=dept.name)
    return dept


async def department_of_chat(session: AsyncSession, chat_id: int | None) -> str | None:
    """The department a chat is bound to (None for any other chat)."""
    chat = await directory.chat(session, chat_id) if chat_id is not None else None
    return chat.department_code if chat and chat.kind == "department" and chat.active else None


async def chat_kind(session: AsyncSession, chat_id: int) -> str | None:
    chat = await directory.chat(session, chat_id)
    return chat.kind if chat else None


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
