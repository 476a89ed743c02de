"""Filters for the routers' hot path: `OnLoop`, aiogram's magic filters (``F.…``) checked on the
event loop, `CommandsOnly`, one check for a router of commands, `RepliesOrCommands`, one for a router
whose messages are replies to the bot or commands, and `SomeRouterLetsIn`, one for a group of routers.

aiogram calls a filter that is not a coroutine through ``asyncio.to_thread``, and a bare magic
filter is not one: every ``F.chat.type == "private"`` on an update's way through the routers was a
hop to a worker thread and back (seven for an appeal in a community chat, a tenth of its CPU).
A `Filter` is awaited where it is, so the same check wrapped in one costs a function call.
`tests/test_router_filters.py` fails on any filter the routers would send to a thread.
"""
from __future__ import annotations

from functools import cached_property
from typing import Any

from aiogram import Router
from aiogram.filters import Command, Filter
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


def command_name(message: Message) -> str | None:
    """The command a message starts with, as aiogram's `Command` reads it ("/Take@bot 1" → "take"),
    or None when it does not start with "/"."""
    text = message.text or message.caption
    if not text or not text.startswith("/"):
        return None
    head = text.split(maxsplit=1)[0]  # "/" then spaces (a full-width one, say) leaves just "/"
    return head[1:].partition("@")[0].casefold()


class _OwnCommands(Filter):
    """A router's own filter that knows the commands the router answers."""

    def __init__(self, router: Router) -> None:
        self.router = router

    @cached_property
    def names(self) -> frozenset[str] | None:
        """The router's command names, read from its `Command` filters when first needed (its
        handlers are registered after this filter); None when one of them is a pattern or has
        another prefix, so any command may be it."""
        names = set()
        for handler in self.router.message.handlers:
            for f in handler.filters or []:
                if isinstance(f.callback, Command):
                    if f.callback.prefix != "/" or not all(isinstance(c, str) for c in f.callback.commands):
                        return None
                    names.update(c.casefold() for c in f.callback.commands)
        return frozenset(names)

    def answers(self, message: Message) -> bool:
        name = command_name(message)
        return name is not None and (self.names is None or name in self.names)


class CommandsOnly(_OwnCommands):
    """A command one of the router's handlers answers. Set on the message observer of a router
    that holds commands only, so an appeal — or another router's command, such as a group's
    ``/appeal`` — passes it with one check instead of every `Command` filter in it parsing the text."""

    async def __call__(self, message: Message) -> bool:
        return self.answers(message)


class RepliesOrCommands(_OwnCommands):
    """A message that replies to another, or a command one of the router's handlers answers. Set on
    the message observer of a router whose message handlers all need one of the two (`ReplyTo`,
    `Command`): a plain appeal passes it with one check instead of each `ReplyTo` and `Command` in
    it (an appeal in a community chat crossed five such routers, some fifteen filters)."""

    async def __call__(self, message: Message) -> bool:
        return message.reply_to_message is not None or self.answers(message)


class SomeRouterLetsIn(Filter):
    """A message one of the router's sub-routers would let in: their own message filters, all of
    them for one sub-router, one sub-router after another (one without filters lets anything in).
    Set on a router that only groups others, so a message none of them answers — an appeal in a
    community chat — passes the group with one check. aiogram's way into each router costs some
    µs of its own however quickly the router's filter says no, and an appeal crossed thirteen."""

    def __init__(self, router: Router) -> None:
        self.router = router

    async def __call__(self, message: Message) -> bool:
        for sub in self.router.sub_routers:
            own = sub.message._handler.filters or []  # the router's own filters (aiogram keeps them there)
            for f in own:
                if not await f.call(message):
                    break
            else:
                return True
        return False
