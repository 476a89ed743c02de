"""Members of a department chat count as its handlers (checked with getChatMember, cached briefly).

One `Membership` per Dispatcher, injected into handlers as `members` by the middleware below;
handlers that act for a department ask it once: `roles = await members.in_chat(session, roles, chat_id)`.

`MembershipLookahead` asks Telegram before the update's transaction opens, for a press, a
reply or a /duty that names someone in a department's chat, so `in_chat` finds the answer
cached. Asked inside, the transaction waited for Telegram, and on SQLite so did every other
update (the one connection).
"""
from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.types import CallbackQuery, Message, TelegramObject, Update

from bot.context import App, DbSession
from bot.services.access import Roles
from bot.services.addressing import department_of_chat
from handlers.event_filters import command_name

log = logging.getLogger(__name__)
MEMBER_STATUSES = {"creator", "administrator", "member", "restricted"}
TTL = 60.0


class Membership:
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
        except (TelegramServerError, TelegramRetryAfter, TelegramNetworkError):
            raise  # Telegram could not say now: the update is tried again later, nothing remembered
        except TelegramAPIError:
            ok = False  # Telegram says no (not in the chat, no such user): no rights granted by accident
        self._seen[key] = (now, ok)
        return ok

    def forget(self, chat_id: int, user_ids: list[int]) -> None:
        """People who joined or left the chat: their next press asks Telegram again, not the cache."""
        for user_id in user_ids:
            self._seen.pop((chat_id, user_id), None)


@dataclasses.dataclass
class ChatMembers:
    """The lookup bound to this update's bot."""

    membership: Membership
    bot: Bot

    async def in_chat(self, session: DbSession, roles: Roles, chat_id: int | None) -> Roles:
        """`roles`, with the department whose chat `chat_id` is when the person is a member of it."""
        dept = await department_of_chat(session, chat_id)
        if dept is None or roles.user_id is None:
            return roles
        if dept in roles.handler_of or await self.membership.is_member(self.bot, chat_id, roles.user_id):
            return dataclasses.replace(roles, member_of=dept)
        return roles


class MembershipMiddleware(BaseMiddleware):
    def __init__(self, membership: Membership) -> None:
        self.membership = membership

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        data["members"] = ChatMembers(self.membership, data["bot"])
        return await handler(event, data)


# The department commands that ask whether their sender is in the chat, when given arguments
# (a bare /duty only shows who is on duty). Other commands are not looked ahead: every group's
# /appeal would pay for the look-up.
ASKING_COMMANDS = frozenset({"duty"})


def acting_in_group(update: Update) -> tuple[int, int] | None:
    """(chat, person) of an update that may act for a department: a button pressed on a group's
    message, a reply in a group (to a card's prompt), or one of `ASKING_COMMANDS` with arguments."""
    query, message = update.callback_query, update.message
    if isinstance(query, CallbackQuery) and query.message is not None and query.message.chat.type != "private":
        return query.message.chat.id, query.from_user.id
    if isinstance(message, Message) and message.chat.type != "private" and message.from_user is not None \
            and (message.reply_to_message is not None or _asking_command(message)):
        return message.chat.id, message.from_user.id
    return None


def comings_and_goings(update: Update) -> list[tuple[int, list[int]]]:
    """(chat, people) who joined or left a group in this update: a service message or a member update."""
    found = []
    message = update.message
    if isinstance(message, Message) and message.chat.type != "private":
        people = [u.id for u in message.new_chat_members or []]
        if message.left_chat_member is not None:
            people.append(message.left_chat_member.id)
        if people:
            found.append((message.chat.id, people))
    if update.chat_member is not None:
        found.append((update.chat_member.chat.id, [update.chat_member.new_chat_member.user.id]))
    return found


def _asking_command(message: Message) -> bool:
    # As aiogram's Command reads it: the text, or a photo's caption.
    return command_name(message) in ASKING_COMMANDS and len((message.text or message.caption or "").split(maxsplit=1)) > 1


class MembershipLookahead(BaseMiddleware):
    """An outer middleware on updates, set before the session's: see the module's docstring. The
    department chat is looked up in a session of its own (the directory's copy, as a rule)."""

    def __init__(self, app: App, membership: Membership) -> None:
        self.app, self.membership = app, membership

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        if isinstance(event, Update):
            for chat_id, user_ids in comings_and_goings(event):
                self.membership.forget(chat_id, user_ids)
        acting = acting_in_group(event) if isinstance(event, Update) else None
        if acting is not None:
            try:
                async with self.app.sessions() as session:
                    dept = await department_of_chat(session, acting[0])
                if dept is not None:
                    await self.membership.is_member(data["bot"], *acting)
            except Exception:  # noqa: BLE001 — only a head start: the handler asks again if it must
                log.warning("membership lookahead failed for update %s", event.update_id, exc_info=True)
        return await handler(event, data)
