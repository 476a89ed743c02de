"""Steps the stories share: file an appeal, dispatch, accept, resolve and rate it, press a button,
read the ticket, run the scan, what the bot said, and refusals compared with the exact text of the
catalogue."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.i18n import Translator
from bot.sandbox import TelegramSandbox
from scheduler.jobs import scan
from storage.models import InboxUpdate, Ticket, TicketEvent
from tests.harness import CGJ_CHAT, COMMUNITY, DISPATCH_CHAT, DISPATCHER, HANDLER_A, LEADER, LEADERS_CHAT, RESIDENT, World

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


async def ticket_by_code(world: World, code: str) -> Ticket:
    return await world.scalar(select(Ticket).where(Ticket.code == code))


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
    return await showing(world, rating_chat, "非常满意")


async def inbox_row(world: World, update_id: int) -> InboxUpdate:
    return await world.scalar(select(InboxUpdate).where(InboxUpdate.update_id == update_id))


def refused(answer: dict, key: str, **params: object) -> None:
    """The press was refused with an alert saying exactly the catalogue's `key` (in Chinese)."""
    assert answer.get("show_alert"), answer
    assert answer.get("text") == ZH(key, **params), (answer.get("text"), ZH(key, **params))


def refused_text(text: str, key: str, **params: object) -> None:
    """A command was refused with exactly the catalogue's `key` (in Chinese)."""
    assert text == ZH(key, **params), (text, ZH(key, **params))


# -- a ticket's way, step by step ---------------------------------------------------------------


async def appeal(world: World, user: int, text: str, chat: int = COMMUNITY) -> dict:
    """A neighbour's appeal (a mention of the bot); returns the bot's acknowledgement in `chat`."""
    before = len(world.sb.bot_messages(chat))
    await world.send(user, chat, f"@huying_bot {text}")
    return await world.reply_from_bot(chat, contains="#2026-", timeout=30,  # the first appeal loads the router
                                      predicate=lambda m: world.sb.bot_messages(chat).index(m) >= before)


async def dispatched(world: World, text: str, dept_chat: int = CGJ_CHAT, user: int = RESIDENT) -> dict:
    """An appeal in the community chat, 派单 by the dispatcher; returns the department's card."""
    await appeal(world, user, text)
    card = await world.reply_from_bot(DISPATCH_CHAT, predicate=has_button("派单"))
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    return await world.reply_from_bot(dept_chat, predicate=has_button("签收"))


async def accept(world: World, handler: int, chat: int, card: dict) -> dict:
    """签收; returns the card as it reads now."""
    await press(world, handler, chat, card, "签收")
    return world.sb.message(chat, card["message_id"])


async def submit_result(world: World, handler: int, chat: int, card: dict, result: str) -> None:
    """办结 on the department card, and the result by reply to the prompt."""
    await press(world, handler, chat, world.sb.message(chat, card["message_id"]), "办结")
    prompt = await world.reply_from_bot(chat, contains="办理结果")
    await world.send(handler, chat, result, reply_to=prompt["message_id"])


async def resolve(world: World, handler: int, chat: int, card: dict, result: str) -> dict:
    """办结 with a result; returns the rating question put to the resident."""
    await submit_result(world, handler, chat, card, result)
    return await world.reply_from_bot(COMMUNITY, predicate=has_button("非常满意"))


async def through_resolution(world: World, text: str, result: str = "已清运") -> tuple[dict, dict]:
    """A resident's appeal about rubbish, 派单 to 城市管理局, 签收 and 办结 with `result`;
    returns the dispatch card and the department's card as they were posted."""
    await world.send(RESIDENT, COMMUNITY, f"@huying_bot {text}")
    card = await world.reply_from_bot(DISPATCH_CHAT, predicate=has_button("派单"))
    await press(world, DISPATCHER, DISPATCH_CHAT, card, "派单")
    dept_card = await world.reply_from_bot(CGJ_CHAT, predicate=has_button("签收"))
    await accept(world, HANDLER_A, CGJ_CHAT, dept_card)
    await submit_result(world, HANDLER_A, CGJ_CHAT, dept_card, result)
    return card, dept_card


async def rate(world: World, question: dict, label: str, user: int = RESIDENT) -> None:
    await press(world, user, COMMUNITY, question, label)


async def open_campaign(world: World, alert: dict, goal: str, leader: int = LEADER) -> dict:
    """A leader opens a 专项 from a 高频共性 alert; returns the leaders' 专项已开设 message."""
    await press(world, leader, LEADERS_CHAT, alert, "开设专项")
    prompt = await world.reply_from_bot(LEADERS_CHAT, contains="治理目标")
    await world.send(leader, LEADERS_CHAT, goal, reply_to=prompt["message_id"])
    return await world.reply_from_bot(LEADERS_CHAT, contains="专项已开设")


async def supported(world: World, user: int, ack: dict, words: str = "+1", chat: int = COMMUNITY) -> dict:
    """A neighbour agrees by replying to the acknowledgement (附议): answered with a 👍 reaction."""
    reply = await world.send(user, chat, words, reply_to=ack["message_id"])
    await world.settle()
    assert world.sb.bot_reaction(chat, reply["message_id"]) == "👍", world.sb.bot_messages(chat)[-1:]
    return reply


async def lose_chat(world: World, chat_id: int) -> None:
    """A department's chat is deleted in Telegram and the bot has noticed (its binding inactive)."""
    from storage import directory

    world.sb.delete_chat(chat_id)
    async with world.app.sessions() as s:
        chat = await directory.chat(s, chat_id)
        chat.active = False
        await s.commit()


async def return_it(world: World, dept_chat: int, handler: int, card: dict, why: str) -> dict:
    await press(world, handler, dept_chat, card, "退单")
    prompt = await world.reply_from_bot(dept_chat, contains="理由")
    await world.send(handler, dept_chat, why, reply_to=prompt["message_id"])
    return await world.reply_from_bot(DISPATCH_CHAT, contains=why)


async def disputed(world: World) -> dict:
    """A rubbish ticket returned twice by 城市管理局: the dispatch card offering 提请领导决定."""
    card = await dispatched(world, "小区门口垃圾没人清运")
    dispatch_card = await return_it(world, CGJ_CHAT, HANDLER_A, card, "这是物业管理的范围")
    await press(world, DISPATCHER, DISPATCH_CHAT, dispatch_card, "派单")
    card = await world.reply_from_bot(CGJ_CHAT, predicate=has_button("签收"))
    return await return_it(world, CGJ_CHAT, HANDLER_A, card, "还是不归我们管")
