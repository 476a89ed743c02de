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


def _command_name(message: Message) -> str | None:
    """The command a message starts with, as aiogram's `Command` reads it ("/Take@bot 1" → "take"),
    or None when it does not start with "/"."""
    text = message.text or message.caption
    if not text or not text.startswith("/"):
        return None
    head = text.split(maxsplit=1)[0]  # "/" then spaces (a full-width one, say) leaves just "/"
    return head[1:].partition("@")[0].casefold()


class _RoutersCommands:
    """The names of the commands a router's message handlers answer, read from their `Command`
    filters the first time they are needed (the handlers are registered after the router's own
    filter); None when one of them is a pattern or another prefix, so any command may be it."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self._names: frozenset[str] | None | bool = False

    def may_answer(self, name: str) -> bool:
        if self._names is False:
            self._names = self._read()
        return self._names is None or name in self._names  # type: ignore[operator]

    def _read(self) -> frozenset[str] | None:
        names = set()
        for handler in self.router.message.handlers:
            for f in handler.filters or []:
                if isinstance(f.callback, Command):
                    if f.callback.prefix != "/" or not all(isinstance(c, str) for c in f.callback.commands):
                        return None
                    names.update(c.casefold() for c in f.callback.commands)
        return frozenset(names)


class CommandsOnly(Filter):
    """A command one of the router's handlers answers. Set on the message observer of a router
    that holds commands only, so an appeal — or another router's command, such as a group's
    ``/appeal`` — passes it with one check instead of every `Command` filter in it parsing the text."""

    def __init__(self, router: Router) -> None:
        self.commands = _RoutersCommands(router)

    async def __call__(self, message: Message) -> bool:
        name = _command_name(message)
        return name is not None and self.commands.may_answer(name)


class RepliesOrCommands(Filter):
    """A message that replies to another, or a command one of the router's handlers answers. Set on
    the message observer of a router whose message handlers all need one of the two (`ReplyTo`,
    `Command`): a plain appeal passes it with one check instead of each `ReplyTo` and `Command` in
    it (an appeal in a community chat crossed five such routers, some fifteen filters)."""

    def __init__(self, router: Router) -> None:
        self.commands = _RoutersCommands(router)

    async def __call__(self, message: Message) -> bool:
        if message.reply_to_message is not None:
            return True
        name = _command_name(message)
        return name is not None and self.commands.may_answer(name)
