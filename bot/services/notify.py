"""Queue messages in the outbox in the reader's language (no sending here)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Callable, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import App
from bot.domain.rating import scrub
from bot.i18n import Translator, person_language
from bot.services.reporter_names import reporter_names
from storage import directory, merges, outbox
from storage import tickets as tickets_repo
from storage.models import Person, Ticket


async def chat_translator(session: AsyncSession, app: App, chat_id: int) -> Translator:
    if chat_id > 0:
        return await person_translator(session, app, chat_id)
    chat = await directory.chat(session, chat_id)
    return Translator(chat.locale if chat and chat.locale else app.default_locale)


async def person_translator(session: AsyncSession, app: App, user_id: int | None) -> Translator:
    person = await directory.person(session, user_id) if user_id else None
    return Translator(person_language(person.locale if person else None, person.language_code if person else None,
                                      app.default_locale))


# Telegram's limits: 4096 characters of text, 1024 of caption. Longer words stay whole in the
# ticket (and /ticket); the message carries a clipped copy rather than failing.
TEXT_LIMIT, CAPTION_LIMIT = 4096, 1024


def clip(text: str | None, limit: int = TEXT_LIMIT) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def pieces(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """A long text as messages of whole lines, in order (a line longer than a message is clipped):
    a district's 通报 ranks more 承办单位 than one message holds, and cut at the limit it lost
    the ranking's tail, the 排名后两位 and the 超期最久 without a word."""
    out: list[str] = []
    current = ""
    for line in text.split("\n"):
        line = clip(line, limit) or ""
        if current and len(current) + 1 + len(line) > limit:
            out.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current or not out:
        out.append(current)
    return out


def send(
    session: AsyncSession, app: App, chat_id: int, text: str, *, thread_id: int | None = None,
    reply_to: int | None = None, keyboard: list[list[dict]] | None = None, ticket: Ticket | None = None,
    purpose: str | None = None, awaiting_user_id: int | None = None, force_reply: bool = False,
    fallback: dict | None = None, delay: float = 0.0, link_data: dict | None = None, ticket_id: int | None = None,
    memo: str | None = None,
) -> None:
    """Queue a text message; `ticket`/`ticket_id` + `purpose` link the sent message to a ticket.
    `memo`: what the text was rendered from, for the one who may rewrite it (bot/services/group_ack.py)."""
    payload: dict[str, Any] = {"text": clip(text)}
    if memo is not None:
        payload["memo"] = memo
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


class Media(Protocol):
    """What a department's or a reporter's file is sent as: an appeal's `Photo` or a stored `Attachment`."""
    kind: str  # photo | video | document (a picture sent as a file)
    file_id: str


# sendMediaGroup takes 2–10 items; photos and videos may share one, documents only go with documents.
ALBUM_AT_MOST = 10


def send_media(
    session: AsyncSession, app: App, chat_id: int, items: Sequence[Media], caption: str | None, *,
    thread_id: int | None = None, reply_to: int | None = None, ticket: Ticket | None = None,
    purpose: str | None = None, keyboard: list[list[dict]] | None = None,
) -> None:
    """Every file as it came: one photo, video or picture file alone (it can carry buttons), else
    albums of ten, the pictures and videos apart from the files; the caption rides on the first."""
    visual = [i for i in items if i.kind != "document"]
    files = [i for i in items if i.kind == "document"]
    groups = [g[k:k + ALBUM_AT_MOST] for g in (visual, files) for k in range(0, len(g), ALBUM_AT_MOST)]
    for n, group in enumerate(groups):
        text = clip(caption, CAPTION_LIMIT) if n == 0 else None
        payload: dict[str, Any]
        if len(group) == 1:
            method = group[0].kind if group[0].kind in ("video", "document") else "photo"
            payload = {method: group[0].file_id, "caption": text}
            if keyboard and len(groups) == 1:
                payload["keyboard"] = keyboard
        else:
            method = "album"
            payload = {"media": [i.file_id if i.kind == "photo" else {"type": i.kind, "media": i.file_id}
                                 for i in group], "caption": text}
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


def react(session: AsyncSession, app: App, chat_id: int, message_id: int, emoji: str, *,
          thread_id: int | None = None, fallback_text: str | None = None) -> None:
    """A reaction on someone's message instead of a message of ours (a "got it" in a group chat).
    A chat that allows no such reaction gets `fallback_text` as a reply instead."""
    fallback = None
    if fallback_text:
        fallback = {"chat_id": chat_id, "thread_id": thread_id,
                    "payload": {"text": clip(fallback_text), "reply_to": message_id}}
    outbox.enqueue(session, chat_id=chat_id, method="react", payload={"message_id": message_id, "emoji": emoji},
                   now=app.now(), thread_id=thread_id, fallback=fallback)


async def in_private(session: AsyncSession, user_id: int | None) -> Person | None:
    """The person, when the bot may write to them in private (they started it and have not blocked it)."""
    person = await directory.person(session, user_id) if user_id else None
    return person if person is not None and person.started and not person.blocked else None


async def answer_in_private(session: AsyncSession, app: App, user_id: int, key: str, *, chat_id: int,
                            message_id: int, thread_id: int | None, **params: object) -> bool:
    """Say `key` to someone in private instead of in the group where they wrote, when they started
    the bot; should the private chat refuse, the group gets it as a reply after all. False: not
    reachable in private — the caller answers in the group."""
    if await in_private(session, user_id) is None:
        return False
    group_tr = await chat_translator(session, app, chat_id)
    fallback = {"chat_id": chat_id, "thread_id": thread_id,
                "payload": {"text": clip(group_tr(key, **params)), "reply_to": message_id}}
    tr = await person_translator(session, app, user_id)
    send(session, app, user_id, tr(key, **params), fallback=fallback)
    return True


Keyboard = list[list[dict]] | Callable[[Translator], list[list[dict]]] | None
# The one rating message of a ticket in a community chat is edited from question to question.
RATING_PURPOSES = ("rate_ask", "rate_process", "rate_reason")


async def tell_reporter(
    session: AsyncSession, app: App, ticket: Ticket, key: str, *, purpose: str = "reporter_note",
    keyboard: Keyboard = None, awaiting: bool = False, rating: bool = False, group_key: str | None = None,
    **params: object,
) -> None:
    """Tell the reporter in private — and the person it was reported for, when they started the bot too.

    Neither of them reachable in private and the appeal came from a group chat: the group gets
    nothing new — the acknowledgement's status line says what happened (bot/services/group_ack.py,
    refreshed by every move) and its button leads to the details in private. Only the rating
    questions (`rating=True`) are asked there: one message per ticket, edited in place from
    question to question (`group_key`: its wording there, with the params scrubbed of phone
    and ID numbers). A private chat that refuses (blocked) falls back to that group message.
    `keyboard` may be a function of the reader's Translator, so each chat gets button labels in
    its own language. Reporters of tickets merged into this one follow it too (news only:
    buttons stay with its own reporter).
    """
    await _tell_one(session, app, ticket, key, purpose, keyboard, awaiting, rating, group_key, params)
    if keyboard is None and not awaiting:
        followers = [m for m in await merges.merged_under(session, ticket.id)
                     if m.reporter_id != ticket.reporter_id]
        # Another resident: the department's words with this ticket's reporter's numbers, door and names masked.
        shown = await for_neighbours(session, ticket, params) if followers else params
        for merged in followers:
            await _tell_one(session, app, merged, key, "follower_note", None, False, False, None, shown)


async def for_neighbours(session: AsyncSession, ticket: Ticket, params: dict[str, object]) -> dict[str, object]:
    """What a neighbour may read of a text about someone else's appeal (a +1's supporter, the
    reporter of a merged duplicate): phone and ID numbers, the door and the reporter's names masked."""
    names = await reporter_names(session, ticket)
    return {k: scrub(v, names) if isinstance(v, str) else v for k, v in params.items()}


async def reporters_in_private(session: AsyncSession, ticket: Ticket) -> list[Person]:
    """The reporter and the person reported for, those of them the bot may write to in private."""
    reachable = []
    for person_id in dict.fromkeys(x for x in (ticket.reporter_id, ticket.on_behalf_user_id) if x):
        if (person := await in_private(session, person_id)) is not None:
            reachable.append(person)
    return reachable


async def _tell_one(
    session: AsyncSession, app: App, ticket: Ticket, key: str, purpose: str, keyboard: Keyboard, awaiting: bool,
    rating: bool, group_key: str | None, params: dict[str, object],
) -> None:
    reachable = await reporters_in_private(session, ticket)
    in_group = rating and bool(ticket.origin_chat_id and ticket.origin_chat_id < 0)
    if not reachable:
        if in_group:
            await _rating_in_group(session, app, ticket, group_key or key, purpose, keyboard, awaiting, params)
        return
    fallback = None
    if in_group and not await _rating_message(session, ticket):
        tr = await chat_translator(session, app, ticket.origin_chat_id or 0)
        group_payload: dict[str, Any] = {"text": clip(tr(group_key or key, **_public(params))),
                                         "reply_to": ticket.origin_message_id}
        if group_kb := _rows(keyboard, tr):
            group_payload["keyboard"] = group_kb
        fallback = {"chat_id": ticket.origin_chat_id, "thread_id": ticket.origin_thread_id, "payload": group_payload}
    for person in reachable:
        tr = await person_translator(session, app, person.id)
        send(session, app, person.id, tr(key, **params), keyboard=_rows(keyboard, tr), ticket=ticket,
             purpose=purpose, awaiting_user_id=person.id if awaiting else None, fallback=fallback)
        fallback = None  # one way back to the group is enough


def _public(params: dict[str, object]) -> dict[str, object]:
    """A community chat is public: mask phone and ID numbers a handler may have written."""
    return {k: scrub(v) if isinstance(v, str) else v for k, v in params.items()}


async def _rating_message(session: AsyncSession, ticket: Ticket) -> int | None:
    links = await tickets_repo.links_of(session, ticket.id, RATING_PURPOSES, ticket.origin_chat_id)
    return links[-1].message_id if links else None


async def _rating_in_group(session: AsyncSession, app: App, ticket: Ticket, key: str, purpose: str,
                           keyboard: Keyboard, awaiting: bool, params: dict[str, object]) -> None:
    """The rating message in the community chat: the first question is a reply to the appeal; the
    next ones (the process question, the reason, a reminder, a later round) replace it in place,
    and replies to it then answer the question it shows."""
    chat_id = ticket.origin_chat_id or 0
    tr = await chat_translator(session, app, chat_id)
    text, rows = tr(key, **_public(params)), _rows(keyboard, tr)
    awaiting_id = ticket.reporter_id if awaiting else None
    message_id = await _rating_message(session, ticket)
    if message_id is None:
        send(session, app, chat_id, text, thread_id=ticket.origin_thread_id, reply_to=ticket.origin_message_id,
             keyboard=rows, ticket=ticket, purpose=purpose, awaiting_user_id=awaiting_id)
        return
    await outbox.drop_pending_edits(session, ticket.id, chat_id, message_id)  # e.g. "rating recorded"
    edit(session, app, chat_id, message_id, text, rows, ticket=ticket)
    await tickets_repo.relink(session, chat_id, message_id, purpose, app.now(), awaiting_id)


def _rows(keyboard, tr: Translator) -> list[list[dict]] | None:  # noqa: ANN001
    return keyboard(tr) if callable(keyboard) else keyboard
