"""No filter of the bot's routers is run in a thread: aiogram sends a filter that is not a
coroutine (a bare ``F.…`` is one) through ``asyncio.to_thread`` on every check
(handlers/event_filters.py); a router marked as holding commands only (or replies and commands) holds nothing else."""
from __future__ import annotations

from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import Chat, Message

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


def _message(text: str, reply: bool = False) -> Message:
    chat = Chat(id=-100123, type="supergroup")
    earlier = Message(message_id=1, date=datetime(2026, 12, 1), chat=chat, text="楼道灯坏了") if reply else None
    return Message(message_id=2, date=datetime(2026, 12, 1), chat=chat, text=text, reply_to_message=earlier)


async def test_a_routers_own_filter_lets_in_only_its_own_commands_and_replies():
    routers = {r.name: r for r in build_router().chain_tail}

    async def passes(name: str, message: Message) -> bool:
        return all([await f.callback(message) for f in routers[name].message._handler.filters])

    appeal = _message("/appeal 第1号：楼道路灯坏了")  # the private router's command, sent in a group
    for name in ("identity", "commands", "admin", "console", "leaders", "reports", "deadlines",
                 "dispatch_desk", "department_desk", "ratings", "matter", "reporter"):
        assert not await passes(name, appeal), name
    assert await passes("leaders", _message("/take@huying_bot #2026-000001"))
    assert await passes("leaders", _message("/Mine"))  # its own `Command` filter decides on case
    for blank in ("/", "/ ", "/\u3000", "/\xa0take"):  # "/" and spaces only (a full-width one, say)
        assert not await passes("leaders", _message(blank)), blank
    assert not await passes("leaders", _message("/report"))
    assert await passes("reports", _message("/report 2026-11"))
    assert await passes("commands", _message("/start"))
    assert await passes("dispatch_desk", _message("/queue"))
    assert not await passes("dispatch_desk", _message("楼道灯坏了"))
    assert await passes("ratings", _message("很满意", reply=True))
    assert not await passes("ratings", _message("/queue"))


def test_the_membership_lookahead_takes_presses_replies_and_duty_naming_someone():
    from aiogram.types import CallbackQuery, Update, User

    from handlers.membership import acting_in_group

    group, person = Chat(id=-100777, type="supergroup"), User(id=42, is_bot=False, first_name="李")

    def said(text: str | None = None, caption: str | None = None, reply: bool = False, chat: Chat = group) -> Update:
        earlier = Message(message_id=1, date=datetime(2026, 12, 1), chat=chat, text="card") if reply else None
        return Update(update_id=1, message=Message(message_id=2, date=datetime(2026, 12, 1), chat=chat,
                                                    from_user=person, text=text, caption=caption,
                                                    reply_to_message=earlier))

    press = Update(update_id=2, callback_query=CallbackQuery(
        id="q", from_user=person, chat_instance="c", data="x",
        message=Message(message_id=1, date=datetime(2026, 12, 1), chat=group, text="card")))
    looked_ahead = [said("/duty 20002"), said("/DUTY@huying_bot off"), said(caption="/duty @qian"),
                    said("好的", reply=True), press]
    not_looked_ahead = [said("/duty"), said("/duty   "), said("/appeal 路灯坏了"), said("路灯坏了"),
                        said("/duty 20002", chat=Chat(id=42, type="private"))]
    assert [acting_in_group(u) for u in looked_ahead] == [(-100777, 42)] * 5
    assert [acting_in_group(u) for u in not_looked_ahead] == [None] * 5


async def test_the_desks_group_lets_in_what_one_of_its_routers_would_and_no_appeal():
    root = build_router()
    desks = next(r for r in root.sub_routers if r.name == "desks")
    assert [r.name for r in root.sub_routers] == ["borrowed-identity", "desks", "intake", "unknown", "forged"]

    async def group(message: Message) -> bool:
        return all([await f.call(message) for f in desks.message._handler.filters])

    private = Message(message_id=3, date=datetime(2026, 12, 1), chat=Chat(id=5, type="private"), text="楼道灯坏了",
                      from_user={"id": 5, "is_bot": False, "first_name": "王"})
    cases = {
        _message("/appeal 第1号：楼道路灯坏了"): False,  # the intake router's
        _message("楼道灯坏了 @huying_bot"): False,
        _message("/take@huying_bot #2026-000001"): True,
        _message("/Report"): True,
        _message("/nosuchcommand"): False,
        _message("好的", reply=True): True,
        private: True,
    }
    assert {m.text: await group(m) for m in cases} == {m.text: want for m, want in cases.items()}
