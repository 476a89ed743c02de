"""Per-chat and per-person settings changed from the chat (/lang)."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import App
from bot.services.access import Roles, require_admin
from storage import directory


async def set_language(session: AsyncSession, app: App, roles: Roles, chat_id: int, user_id: int, group: bool,
                       lang: str) -> None:
    """A person sets their own language; a group's is set by an admin."""
    if group:
        require_admin(roles)
        await directory.set_chat_locale(session, chat_id, lang)
    else:
        await directory.set_person_locale(session, user_id, lang)
