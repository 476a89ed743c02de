"""Small helpers shared by routers: replies through the outbox, localized text."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import get_i18n, gettext

from bot.context import App, DbSession
from bot.domain.lifecycle import NotAllowed, Stale, TransitionError
from bot.i18n import Translator
from bot.services import notify
from handlers.facts import thread_of
from storage import held_rows

T = TypeVar("T")


def _(key: str, /, **params: object) -> str:
    """The current update's language (set by LocaleMiddleware)."""
    text = gettext(key)
    return text.format(**params) if params else text


def reply(session: DbSession, app: App, message: Message, text: str, **kw: object) -> None:
    """Answer a message in its chat and topic, through the outbox."""
    notify.send(session, app, message.chat.id, text, thread_id=thread_of(message), reply_to=message.message_id, **kw)


# In a group chat a reply that only needs a "got it" gets a reaction on it, not a message.
NOTED = "👌"
GROUP_TYPES = ("group", "supergroup")


def noted(session: DbSession, app: App, message: Message, text: str, emoji: str = NOTED) -> None:
    """Acknowledge a message: in a group a reaction (`text` only where the chat allows no such
    reaction), elsewhere `text` as a reply."""
    if message.chat.type in GROUP_TYPES:
        notify.react(session, app, message.chat.id, message.message_id, emoji, thread_id=thread_of(message),
                     fallback_text=text)
    else:
        reply(session, app, message, text)


async def answer(session: DbSession, app: App, query: CallbackQuery, text: str | None = None, *,
                 show_alert: bool = False) -> None:
    """Answer a button press once the update's transaction is committed. Telegram may take up to
    the request timeout to answer, and an open transaction holds the database: on SQLite the one
    connection every other update waits for. What the update wrote so far is kept (a refusal's
    own writes were undone by its savepoint); if the answer then fails, the press is not redone."""
    await app.commit(session)
    await query.answer(text, show_alert=show_alert)


async def alert(session: DbSession, app: App, query: CallbackQuery, key: str, **params: object) -> None:
    await answer(session, app, query, _(key, **params), show_alert=True)


def current_tr() -> Translator:
    """A Translator for the current update's language (for services that render)."""
    return Translator(get_i18n().current_locale)


async def undone_on_refusal(session: DbSession, op: Callable[[], Awaitable[T]]) -> T:
    """Run one domain operation in a savepoint: a refusal (a TransitionError, re-raised) undoes what
    the operation wrote, but not what the update itself recorded before it (the seen update id,
    the sender's name and whether they started the bot)."""
    async with held_rows.savepoint(session):  # the rows it holds go with it too (storage/held_rows.py)
        return await op()


async def press_op(session: DbSession, app: App, query: CallbackQuery,
                   op: Callable[[], Awaitable[str | None]]) -> None:
    """Run one domain operation for a button press; it returns the key of the short answer.

    A refusal becomes an alert and nothing the operation did is kept.
    """
    try:
        key = await undone_on_refusal(session, op)
    except TransitionError as exc:
        await alert(session, app, query, exc.code, **getattr(exc, "params", {}))
        return
    await answer(session, app, query, _(key) if key else None)


async def reply_op(session: DbSession, app: App, message: Message,
                   op: Callable[[], Awaitable[str | None]], *, retry_link=None, quiet: bool = False,  # noqa: ANN001
                   done_link: dict | None = None) -> bool:
    """The same for a message that carries work (a reply, a command): a refusal is answered
    politely, nothing half-done. The operation answers a success itself, or returns the key.

    `retry_link` (a message link): the refusal is linked like the prompt it answers, so
    replying to the refusal is another try at the same question. `quiet`: success is `noted`
    (a reaction in a group chat) — for answers that only say it was received. `done_link`: the
    success answer is linked to the ticket (`ticket_id`, `purpose`), so a reply to it is about it.
    """
    # Read the link now: undoing the operation may expire ORM rows.
    link = {} if retry_link is None else {
        "ticket_id": retry_link.ticket_id, "purpose": retry_link.purpose,
        "awaiting_user_id": retry_link.awaiting_user_id, "link_data": retry_link.data}
    try:
        key = await undone_on_refusal(session, op)
    except TransitionError as exc:
        if type(exc) in (NotAllowed, Stale) and exc.status:
            # "这个按钮已过期" is a button's answer; words sent after the ticket moved on hear where it is.
            reply(session, app, message, _("error.moved_on", status=_(f"status.{exc.status}")), **link)
        else:
            reply(session, app, message, _(exc.code, **getattr(exc, "params", {})), **link)
        return True
    if key and quiet:
        noted(session, app, message, _(key))
    elif key:
        reply(session, app, message, _(key), **(done_link or {}))
    return True
