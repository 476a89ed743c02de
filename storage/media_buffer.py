"""Album items that came without words, kept until the message with the words is handled (an
appeal's album, a department's progress or result photos)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.common import insert_ignore
from storage.models import MediaBuffer


async def buffer_media(session: AsyncSession, **values: Any) -> None:
    await insert_ignore(session, MediaBuffer, values)


async def take_buffered(session: AsyncSession, chat_id: int, media_group_id: str) -> list[MediaBuffer]:
    """An album's items kept until its words came, in order; they leave the buffer."""
    return await _take(session, MediaBuffer.chat_id == chat_id, MediaBuffer.media_group_id == media_group_id)


async def take_buffered_from(session: AsyncSession, chat_id: int, user_id: int, since: datetime) -> list[MediaBuffer]:
    """What this person sent wordless in this chat since `since` (a department chat's albums: the
    after-photos sent before the result's words)."""
    return await _take(session, MediaBuffer.chat_id == chat_id, MediaBuffer.user_id == user_id,
                       MediaBuffer.created_at >= since)


async def has_buffered(session: AsyncSession, chat_id: int, media_group_id: str) -> bool:
    q = select(MediaBuffer.id).where(MediaBuffer.chat_id == chat_id, MediaBuffer.media_group_id == media_group_id)
    return (await session.execute(q.limit(1))).first() is not None


async def _take(session: AsyncSession, *conds: Any) -> list[MediaBuffer]:
    rows = list((await session.execute(select(MediaBuffer).where(*conds).order_by(MediaBuffer.message_id))).scalars())
    for row in rows:
        await session.delete(row)
    return rows
