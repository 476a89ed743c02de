"""Members of a department chat count as its handlers (checked with getChatMember, cached briefly)."""
from __future__ import annotations

import time

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

MEMBER_STATUSES = {"creator", "administrator", "member", "restricted"}
TTL = 60.0


class MemberCache:
    def __init__(self, ttl: float = TTL) -> None:
        self.ttl = ttl
        self._seen: dict[tuple[int, int], tuple[float, bool]] = {}

    async def is_member(self, bot: Bot, chat_id: int, user_id: int) -> bool:
        key, now = (chat_id, user_id), time.monotonic()
        hit = self._seen.get(key)
        if hit and now - hit[0] < self.ttl:
            return hit[1]
        try:
            member = await bot.get_chat_member(chat_id, user_id)
            ok = member.status in MEMBER_STATUSES
        except TelegramAPIError:
            ok = False  # cannot tell: treat as not a member (no rights granted by accident)
        self._seen[key] = (now, ok)
        return ok
