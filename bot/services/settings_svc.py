"""Per-chat and per-person settings changed from the chat (/lang)."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import App
from storage import directory


async def set_language(session: AsyncSession, app: App, chat_id: int, user_id: int, group: bool, lang: str) -> None:
    if group:
        await directory.set_chat_locale(session, chat_id, lang)
    else:
        await directory.set_person_locale(session, user_id, lang)
