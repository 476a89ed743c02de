"""Admins change the deployment at runtime: /bind a chat, /role a person (DESIGN §1).

Only admins may; each command is refused here, first, to anyone else.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import App
from bot.domain.lifecycle import Refusal
from bot.services import department_cards
from bot.services.access import Roles, require_admin
from storage import directory

CHAT_KINDS = ("community", "department", "dispatch", "leaders")
ROLES = ("grid_volunteer", "building_leader", "dispatcher", "handler", "leader", "admin")
SCOPED = {"handler": "department", "leader": "department", "grid_volunteer": "area", "building_leader": "area"}
# A handler works for a department; a leader may lead one (领导包案 then shows it) or the whole office.
SCOPE_REQUIRED = {"handler"}
MAX_USER_ID = 2**52  # Telegram user ids have at most 52 significant bits


async def bind_command(session: AsyncSession, app: App, roles: Roles, chat_id: int, private: bool,
                       title: str | None, words: list[str]) -> str:
    """/bind <kind> [code] in the chat to bind; returns the bound name (area or department) or the kind."""
    require_admin(roles)
    if private:
        raise Refusal("bind.group_only")
    if not words:
        raise Refusal("bind.usage")
    return await _bind(session, app, chat_id, title, words[0], words[1] if len(words) > 1 else None)


async def _bind(session: AsyncSession, app: App, chat_id: int, title: str | None, kind: str, code: str | None) -> str:
    """Bind a chat; returns the bound name (area or department) or the kind."""
    if kind not in CHAT_KINDS:
        raise Refusal("bind.usage")
    if kind == "community":
        area = await directory.area(session, code or "")
        if area is None:
            raise Refusal("bind.unknown_area", code=code or "")
        await directory.bind_chat(session, chat_id, kind, area=area.code, title=title)
        return area.name
    if kind == "department":
        dept = await directory.department(session, code or "")
        if dept is None:
            raise Refusal("bind.unknown_department", code=code or "")
        moved = dept.chat_id != chat_id
        await directory.bind_chat(session, chat_id, kind, department=dept.code, title=title)
        if moved:  # its open tickets' cards, with their buttons, are in the chat it had
            await department_cards.post_again(session, app, dept.code)
        return dept.name
    for other in await directory.chats_of_kind(session, kind):
        if other.id != chat_id:
            other.active = False  # one dispatch chat and one leaders' chat at a time
    await directory.bind_chat(session, chat_id, kind, title=title)
    return kind


async def _set_role(session: AsyncSession, app: App, user_id: int, role: str, scope: str | None,
                   revoke: bool) -> None:
    if role not in ROLES:
        raise Refusal("role.usage")
    kind = SCOPED.get(role)
    if role in SCOPE_REQUIRED and not scope:
        raise Refusal("role.needs_department", role=role)
    if kind == "department" and scope and await directory.department(session, scope) is None:
        raise Refusal("bind.unknown_department", code=scope)
    if kind == "area" and scope and await directory.area(session, scope) is None:
        raise Refusal("bind.unknown_area", code=scope)
    if revoke:
        await directory.revoke(session, user_id, role, scope)
    else:
        await directory.grant(session, user_id, role, scope or "", source="command")


@dataclass(frozen=True)
class RoleChange:
    user_id: int
    role: str
    revoke: bool


async def role_command(session: AsyncSession, app: App, roles: Roles, words: list[str],
                       replied_to: int | None) -> RoleChange:
    """/role [user_id] [-]role [scope] (or as a reply to the person: `replied_to`)."""
    require_admin(roles)
    target = replied_to
    if words and words[0].isascii() and words[0].isdigit():
        if int(words[0]) > MAX_USER_ID:
            raise Refusal("role.bad_user", user=words[0][:40])
        target, words = int(words[0]), words[1:]
    if target is None or not words:
        raise Refusal("role.usage")
    change = RoleChange(target, words[0].lstrip("-"), words[0].startswith("-"))
    await _set_role(session, app, target, change.role, words[1] if len(words) > 1 else None, change.revoke)
    return change


BOT_PRESENT = frozenset({"member", "administrator", "creator"})


async def bot_membership(session: AsyncSession, app: App, chat_id: int, status: str) -> None:
    """The bot was added back to a chat it had lost (removed, or a send refused with 403, which
    stops the outbox writing there): the chat works again at once, and a department's chat gets
    the cards of its open tickets, which may have failed meanwhile."""
    chat = await directory.chat(session, chat_id)
    if status not in BOT_PRESENT or chat is None or chat.active or chat.migrated_to:
        return
    await directory.reactivate(session, chat_id)
    if chat.kind == "department" and chat.department_code:
        dept = await directory.department(session, chat.department_code)
        if dept is not None and dept.chat_id == chat_id:
            await department_cards.post_again(session, app, dept.code)
