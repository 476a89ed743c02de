"""Queue messages in the outbox in the reader's language (no sending here)."""
from __future__ import annotations

from typing import Any, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import App
from bot.domain.rating import scrub
from bot.i18n import Translator
from storage import directory, outbox
from storage import tickets as tickets_repo
from storage.models import Ticket


async def chat_translator(session: AsyncSession, app: App, chat_id: int) -> Translator:
    if chat_id > 0:
        return await person_translator(session, app, chat_id)
    chat = await directory.chat(session, chat_id)
    return Translator(chat.locale if chat and chat.locale else app.default_locale)


async def person_translator(session: AsyncSession, app: App, user_id: int | None) -> Translator:
    person = await directory.person(session, user_id) if user_id else None
    return Translator(person.locale if person and person.locale else app.default_locale)


# Telegram's limits: 4096 characters of text, 1024 of caption. Longer words stay whole in the
# ticket (and /ticket); the message carries a clipped copy rather than failing.
TEXT_LIMIT, CAPTION_LIMIT = 4096, 1024


def clip(text: str | None, limit: int = TEXT_LIMIT) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def send(
    session: AsyncSession, app: App, chat_id: int, text: str, *, thread_id: int | None = None,
    reply_to: int | None = None, keyboard: list[list[dict]] | None = None, ticket: Ticket | None = None,
    purpose: str | None = None, awaiting_user_id: int | None = None, force_reply: bool = False,
    fallback: dict | None = None, delay: float = 0.0, link_data: dict | None = None, ticket_id: int | None = None,
) -> None:
    """Queue a text message; `ticket`/`ticket_id` + `purpose` link the sent message to a ticket."""
    payload: dict[str, Any] = {"text": clip(text)}
    if reply_to:
        payload["reply_to"] = reply_to
    if keyboard:
        payload["keyboard"] = keyboard
    if force_reply:
        payload["force_reply"] = True
    if link_data:
        payload["link_data"] = link_data
    outbox.enqueue(
        session, chat_id=chat_id, method="message", payload=payload, now=app.now(), thread_id=thread_id,
        ticket_id=ticket.id if ticket else ticket_id, purpose=purpose, awaiting_user_id=awaiting_user_id,
        fallback=fallback, delay=delay,
    )


def send_media(
    session: AsyncSession, app: App, chat_id: int, file_ids: list[str], caption: str | None, *,
    thread_id: int | None = None, reply_to: int | None = None, ticket: Ticket | None = None,
    purpose: str | None = None, keyboard: list[list[dict]] | None = None,
) -> None:
    """One photo (with buttons) or an album (buttons cannot ride on an album)."""
    if not file_ids:
        return
    if len(file_ids) == 1:
        payload: dict[str, Any] = {"photo": file_ids[0], "caption": clip(caption, CAPTION_LIMIT)}
        method = "photo"
        if keyboard:
            payload["keyboard"] = keyboard
    else:
        payload, method = {"media": file_ids[:10], "caption": clip(caption, CAPTION_LIMIT)}, "album"
    if reply_to:
        payload["reply_to"] = reply_to
    outbox.enqueue(
        session, chat_id=chat_id, method=method, payload=payload, now=app.now(), thread_id=thread_id,
        ticket_id=ticket.id if ticket else None, purpose=purpose,
    )


def edit(
    session: AsyncSession, app: App, chat_id: int, message_id: int, text: str | None,
    keyboard: list[list[dict]] | None = None, ticket: Ticket | None = None,
) -> None:
    payload: dict[str, Any] = {"message_id": message_id, "keyboard": keyboard}
    if text is None:
        method = "edit_markup"
    else:
        method, payload["text"] = "edit_text", clip(text)
    outbox.enqueue(session, chat_id=chat_id, method=method, payload=payload, now=app.now(),
                   ticket_id=ticket.id if ticket else None)


async def tell_reporter(
    session: AsyncSession, app: App, ticket: Ticket, key: str, *, purpose: str = "reporter_note",
    keyboard: list[list[dict]] | Callable[[Translator], list[list[dict]]] | None = None, awaiting: bool = False,
    **params: object,
) -> None:
    """Tell the reporter in private when they started the bot, else reply where they asked.

    The group variant carries no personal data; if the private chat refuses (blocked),
    the outbox falls back to the group reply. `keyboard` may be a function of the reader's
    Translator, so each chat gets button labels in its own language. Reporters of tickets
    merged into this one follow it too (news only: buttons stay with its own reporter).
    """
    await _tell_one(session, app, ticket, key, purpose, keyboard, awaiting, params)
    if keyboard is None and not awaiting:
        for merged in await tickets_repo.merged_into(session, ticket.id):
            if merged.reporter_id != ticket.reporter_id:
                await _tell_one(session, app, merged, key, "follower_note", None, False, params)


async def _tell_one(
    session: AsyncSession, app: App, ticket: Ticket, key: str, purpose: str,
    keyboard: list[list[dict]] | Callable[[Translator], list[list[dict]]] | None, awaiting: bool,
    params: dict[str, object],
) -> None:
    reporter = await directory.person(session, ticket.reporter_id) if ticket.reporter_id else None
    awaiting_id = ticket.reporter_id if awaiting else None
    group_target: dict[str, Any] | None = None
    if ticket.origin_chat_id and ticket.origin_chat_id < 0:
        tr = await chat_translator(session, app, ticket.origin_chat_id)
        # A community chat is public: mask phone and ID numbers a handler may have written.
        public = {k: scrub(v) if isinstance(v, str) else v for k, v in params.items()}
        group_payload: dict[str, Any] = {"text": clip(tr(key, **public)), "reply_to": ticket.origin_message_id}
        if group_kb := _rows(keyboard, tr):
            group_payload["keyboard"] = group_kb
        group_target = {"chat_id": ticket.origin_chat_id, "thread_id": ticket.origin_thread_id, "payload": group_payload}
    if reporter and reporter.started and not reporter.blocked:
        tr = await person_translator(session, app, reporter.id)
        send(session, app, reporter.id, tr(key, **params), keyboard=_rows(keyboard, tr), ticket=ticket,
             purpose=purpose, awaiting_user_id=awaiting_id, fallback=group_target)
    elif group_target:
        p = group_target["payload"]
        send(session, app, group_target["chat_id"], p["text"], thread_id=group_target["thread_id"],
             reply_to=p["reply_to"], keyboard=p.get("keyboard"), ticket=ticket, purpose=purpose,
             awaiting_user_id=awaiting_id)


def _rows(keyboard, tr: Translator) -> list[list[dict]] | None:  # noqa: ANN001
    return keyboard(tr) if callable(keyboard) else keyboard
