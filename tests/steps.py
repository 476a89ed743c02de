"""Steps the stories share: press a button, read the ticket, run the scan, what the bot said,
and refusals compared with the exact text of the catalogue."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.i18n import Translator
from bot.sandbox import TelegramSandbox
from scheduler.jobs import scan
from storage.models import InboxUpdate, Ticket, TicketEvent
from tests.harness import CGJ_CHAT, COMMUNITY, HANDLER_A, World

SH = ZoneInfo("Asia/Shanghai")
ZH = Translator("zh_CN")


def sh(*args: int) -> datetime:
    """A wall time in Shanghai (the org file's timezone)."""
    return datetime(*args, tzinfo=SH)


def has_button(label: str):  # noqa: ANN201
    return lambda m: any(label in row for row in TelegramSandbox.buttons(m))


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


def messages_saying(world: World, chat: int, *words: str) -> list[dict]:
    """The bot's messages in `chat` whose text (or caption) contains every one of `words`."""
    return [m for m in world.sb.bot_messages(chat)
            if all(w in (m.get("text") or m.get("caption") or "") for w in words)]


def said(world: World, chat: int, *words: str) -> list[str]:
    """The texts of the bot's messages in `chat` that contain every one of `words`."""
    return [m.get("text") or m.get("caption") or "" for m in messages_saying(world, chat, *words)]


async def resolve_on(world: World, card: dict, result: str, rating_chat: int = COMMUNITY) -> dict:
    """办结 on a department card, the result by reply; returns the rating question."""
    await press(world, HANDLER_A, CGJ_CHAT, card, "办结")
    prompt = await world.reply_from_bot(CGJ_CHAT, contains="办理结果")
    await world.send(HANDLER_A, CGJ_CHAT, result, reply_to=prompt["message_id"])
    return await world.reply_from_bot(rating_chat, predicate=has_button("非常满意"))


async def inbox_row(world: World, update_id: int) -> InboxUpdate:
    return await world.scalar(select(InboxUpdate).where(InboxUpdate.update_id == update_id))


def refused(answer: dict, key: str, **params: object) -> None:
    """The press was refused with an alert saying exactly the catalogue's `key` (in Chinese)."""
    assert answer.get("show_alert"), answer
    assert answer.get("text") == ZH(key, **params), (answer.get("text"), ZH(key, **params))
