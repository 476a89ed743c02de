"""No filter of the bot's routers is run in a thread: aiogram sends a filter that is not a
coroutine (a bare ``F.…`` is one) through ``asyncio.to_thread`` on every check
(handlers/event_filters.py); a router marked as holding commands only (or replies and commands) holds nothing else."""
from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command

from handlers import build_router
from handlers.event_filters import CommandsOnly, OnLoop, RepliesOrCommands
from handlers.reply_filter import ReplyTo


def threaded_filters(root: Router) -> list[str]:
    found = []
    for router in root.chain_tail:
        for kind, observer in router.observers.items():
            checks = [("router filter", f) for f in observer._handler.filters or []]
            checks += [(getattr(h.callback, "__name__", "?"), f) for h in observer.handlers for f in h.filters or []]
            found += [f"{router.name}.{kind} {where}: {f.callback}" for where, f in checks if not f.awaitable]
    return found


def test_the_rule_finds_a_bare_magic_filter():
    router = Router(name="probe")

    @router.message(F.chat.type == "private")
    async def bare(message) -> None: ...  # noqa: ANN001

    @router.message(OnLoop(F.chat.type == "private"))
    async def wrapped(message) -> None: ...  # noqa: ANN001

    router.message.filter(F.from_user)
    assert len(threaded_filters(router)) == 2


def test_no_filter_of_the_bots_routers_goes_to_a_thread():
    assert threaded_filters(build_router()) == []


def test_a_router_marked_commands_only_holds_only_commands():
    marked = [r for r in build_router().chain_tail
              if any(isinstance(f.callback, CommandsOnly) for f in r.message._handler.filters or [])]
    assert {r.name for r in marked} == {"identity", "commands", "admin", "console", "leaders", "reports", "deadlines"}
    for router in marked:
        for handler in router.message.handlers:
            assert any(isinstance(f.callback, Command) for f in handler.filters or []), (router.name, handler.callback)


def test_a_router_marked_replies_or_commands_holds_only_replies_to_the_bot_and_commands():
    marked = [r for r in build_router().chain_tail
              if any(isinstance(f.callback, RepliesOrCommands) for f in r.message._handler.filters or [])]
    assert {r.name for r in marked} == {"dispatch_desk", "department_desk", "ratings", "matter", "reporter"}
    for router in marked:
        for handler in router.message.handlers:
            assert any(isinstance(f.callback, (Command, ReplyTo)) for f in handler.filters or []), (
                router.name, handler.callback)
