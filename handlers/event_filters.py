"""Filters for the routers' hot path: `OnLoop`, aiogram's magic filters (``F.…``) checked on the
event loop, `CommandsOnly`, one check for a router of commands, and `RepliesOrCommands`, one for a router
whose messages are replies to the bot or commands.

aiogram calls a filter that is not a coroutine through ``asyncio.to_thread``, and a bare magic
filter is not one: every ``F.chat.type == "private"`` on an update's way through the routers was a
hop to a worker thread and back (seven for an appeal in a community chat, a tenth of its CPU).
A `Filter` is awaited where it is, so the same check wrapped in one costs a function call.
`tests/test_router_filters.py` fails on any filter the routers would send to a thread.
"""
from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.types import Message
from aiogram.utils.magic_filter import MagicFilter


class OnLoop(Filter):
    """True when every magic filter given resolves to something true for the event."""

    def __init__(self, *magic: MagicFilter) -> None:
        self.magic = magic

    async def __call__(self, event: Any) -> bool:
        return all(m.resolve(event) for m in self.magic)

    def __str__(self) -> str:
        return f"OnLoop({', '.join(map(str, self.magic))})"


class CommandsOnly(Filter):
    """A message whose text (or caption, as aiogram's `Command` reads it) starts with "/". Set on
    the message observer of a router that holds commands only, so an appeal passes such a router
    with one check instead of every `Command` filter in it parsing the text."""

    async def __call__(self, message: Message) -> bool:
        return (message.text or message.caption or "").startswith("/")


class RepliesOrCommands(Filter):
    """A message that replies to another or is a command. Set on the message observer of a router
    whose message handlers all need one of the two (`ReplyTo`, `Command`): a plain appeal passes
    it with one check instead of each `ReplyTo` and `Command` in it (an appeal in a community chat
    crossed five such routers, some fifteen filters)."""

    async def __call__(self, message: Message) -> bool:
        return message.reply_to_message is not None or (message.text or message.caption or "").startswith("/")
