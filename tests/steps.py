"""Steps the stories share: press a button, read the ticket, run the scan, what the bot said,
and refusals compared with the exact text of the catalogue."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.i18n import Translator
from bot.sandbox import TelegramSandbox
from scheduler.jobs import scan
from storage.models import Ticket, TicketEvent
from tests.harness import COMMUNITY, World

SH = ZoneInfo("Asia/Shanghai")
ZH = Translator("zh_CN")


def sh(*args: int) -> datetime:
    """A wall time in Shanghai (the org file's timezone)."""
    return datetime(*args, tzinfo=SH)


def has_button(label: str):  # noqa: ANN201
    return lambda m: any(label in row for row in TelegramSandbox.buttons(m))


def ack_line(world: World, n: int = 0, chat: int = COMMUNITY) -> str:
    """The status line (the last line) of the `n`-th bot message in a community chat: the
    acknowledgement that every step of its ticket rewrites (issue #13)."""
    return world.sb.bot_messages(chat)[n]["text"].split("\n")[-1]


def shown(world: World, chat: int, msg: dict) -> dict:
    """`msg` as it reads now (after the bot's edits)."""
    return world.sb.message(chat, msg["message_id"])


async def showing(world: World, chat: int, label: str) -> dict:
    """The newest bot message in `chat` with a button `label`, sent or edited into it: in a community
    chat the rating request is one message that each next question replaces in place."""
    await world.settle()
    found = [m for m in world.sb.bot_messages(chat) if has_button(label)(m)]
    assert found, f"no message with [{label}] in {chat}: {[m.get('text', '')[:40] for m in world.sb.bot_messages(chat)]}"
    return found[-1]


async def ticket(world: World, tid: int = 1) -> Ticket:
    return await world.scalar(select(Ticket).where(Ticket.id == tid))


async def event_rows(world: World, tid: int = 1) -> list[TicketEvent]:
    return await world.rows(select(TicketEvent).where(TicketEvent.ticket_id == tid).order_by(TicketEvent.id))


async def event_kinds(world: World, tid: int = 1) -> list[str]:
    return [e.kind for e in await event_rows(world, tid)]


async def press(world: World, user: int, chat: int, msg: dict, label: str) -> dict:
    """`user` presses the button labelled `label` on `msg`; returns the callback answer."""
    qid = await world.sb.press(user, chat, msg["message_id"], label)
    answer = await world.sb.callback_answer(qid)
    await world.settle()
    return answer


async def press_raw(world: World, user: int, chat: int, message_id: int, data: str) -> dict:
    """A press carrying `data` as is (a forged or stale button)."""
    qid = await world.sb.press_raw(user, chat, message_id, data)
    answer = await world.sb.callback_answer(qid)
    await world.settle()
    return answer


async def scan_at(world: World, when: datetime | None = None, **delta: float) -> int:
    """Move the clock (to `when`, or by `delta`) and run the scan the scheduler would run."""
    if when is not None:
        world.clock.set(when)
    else:
        world.clock.advance(**delta)
    handled = await scan(world.app)
    await world.settle()
    return handled


def said(world: World, chat: int, *words: str) -> list[str]:
    """The texts of the bot's messages in `chat` that contain every one of `words`."""
    texts = [m.get("text") or m.get("caption") or "" for m in world.sb.bot_messages(chat)]
    return [t for t in texts if all(w in t for w in words)]


def refused(answer: dict, key: str, **params: object) -> None:
    """The press was refused with an alert saying exactly the catalogue's `key` (in Chinese)."""
    assert answer.get("show_alert"), answer
    assert answer.get("text") == ZH(key, **params), (answer.get("text"), ZH(key, **params))
