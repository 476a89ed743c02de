"""What must hold before the bot can serve a district, shared by `run` (start-up warnings)
and `python -m bot check` (the doctor's table).

Each failure that stops the bot is a SettingsError with one line naming the setting —
never a traceback, never an aiohttp session left open.
"""
from __future__ import annotations

import logging
from urllib.parse import urlsplit
from dataclasses import dataclass

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramUnauthorizedError,
)
from aiogram.types import User
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from bot.settings import Settings, SettingsError

log = logging.getLogger(__name__)
ADMIN_STATUSES = ("administrator", "creator")
PRESENT_STATUSES = ("member", "restricted", *ADMIN_STATUSES)
PRIVACY_HIDES = ("hashtags (#诉求 …), volunteers' forwards, plain replies between neighbours "
                 "and all but the first photo of an album")


def api_url(settings: Settings) -> str:
    return settings.telegram_api_url or "https://api.telegram.org"


def _first_line(text: str) -> str:
    return " ".join(text.strip().splitlines()[:1]) or "unknown error"


def database_error(url: str, exc: BaseException) -> SettingsError:
    """One line for a database that cannot be opened (password hidden)."""
    shown = make_url(url).render_as_string(hide_password=True)
    reason = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    detail = _first_line(str(reason)) if str(reason).strip() else type(reason).__name__
    if isinstance(reason, OSError) and reason.strerror:
        detail = f"{reason.strerror}" + (f": {reason.filename}" if reason.filename else "")
    return SettingsError(f"DATABASE_URL {shown}: cannot open the database ({detail})")


def api_error(settings: Settings, exc: TelegramAPIError) -> SettingsError:
    """One line for a Bot API that refuses us or cannot be reached."""
    if isinstance(exc, TelegramUnauthorizedError):
        return SettingsError("BOT_TOKEN was rejected by Telegram (401 Unauthorized): "
                             "copy the current token from @BotFather (/token)")
    if isinstance(exc, TelegramNetworkError):
        reason = exc.message.removeprefix("HTTP Client says - ")
        return SettingsError(f"TELEGRAM_API_URL {api_url(settings)}: cannot reach the Bot API ({_first_line(reason)})")
    if isinstance(exc, TelegramNotFound):
        return SettingsError(f"TELEGRAM_API_URL {api_url(settings)}: no Bot API there (getMe answered 404 Not Found)")
    return SettingsError(f"TELEGRAM_API_URL {api_url(settings)}: getMe failed ({_first_line(exc.message)})")


async def who_am_i(bot: Bot, settings: Settings) -> User:
    """getMe, or one line saying why not; the bot's HTTP session is closed on failure."""
    try:
        return await bot.get_me()
    except TelegramAPIError as exc:
        await bot.session.close()
        raise api_error(settings, exc) from None


@dataclass(frozen=True)
class ChatProbe:
    """What Telegram says about one bound chat."""

    chat_id: int
    kind: str
    bound_to: str
    title: str | None = None
    chat_type: str | None = None
    status: str | None = None  # the bot's getChatMember status; None when the chat cannot be read
    error: str | None = None

    @property
    def member(self) -> bool:
        return self.status in PRESENT_STATUSES

    @property
    def admin(self) -> bool:
        return self.status in ADMIN_STATUSES

    def problem(self, reads_all: bool) -> str | None:
        """Why this chat will not work as bound (None: it will)."""
        if self.error:
            return f"the bot cannot open this chat ({self.error}): add the bot to the group"
        if not self.member:
            return f"the bot is not in this chat (status: {self.status}): add it to the group"
        if self.kind == "community" and not reads_all and not self.admin:
            return (f"privacy mode hides {PRIVACY_HIDES} here: make the bot an admin of this group, "
                    "or turn privacy mode off (@BotFather /setprivacy → Disable)")
        return None


async def probe_chat(bot: Bot, bot_id: int, chat_id: int, kind: str, bound_to: str) -> ChatProbe:
    try:
        chat = await bot.get_chat(chat_id)
        member = await bot.get_chat_member(chat_id, bot_id)
    except TelegramNetworkError:
        raise
    except TelegramAPIError as exc:
        return ChatProbe(chat_id, kind, bound_to, error=_first_line(exc.message))
    return ChatProbe(chat_id, kind, bound_to, title=chat.title, chat_type=chat.type, status=member.status)


def privacy_warning(me: User) -> str | None:
    if me.can_read_all_group_messages:
        return None
    return (f"privacy mode is on (@BotFather /setprivacy): in groups where @{me.username} is not an admin it "
            f"sees only commands, mentions and replies to itself — {PRIVACY_HIDES} are hidden")


def webhook_path_warning(settings: Settings) -> str | None:
    """Telegram posts to WEBHOOK_URL; the bot listens on WEBHOOK_PATH. A load balancer's address
    without the path got 405s and nothing else, with every check green."""
    if not settings.webhook_url:
        return None
    problems = []
    path = urlsplit(settings.webhook_url).path or "/"
    if path != settings.webhook_path:
        problems.append(f"Telegram will post to {path} (WEBHOOK_URL) but the bot listens on {settings.webhook_path} "
                        f"(WEBHOOK_PATH): unless a proxy rewrites the path nothing arrives; end WEBHOOK_URL with "
                        f"{settings.webhook_path}")
    if not settings.webhook_secret:
        problems.append("no WEBHOOK_SECRET: anyone who finds the address can post updates to the bot")
    return "; ".join(problems) or None


def no_admin_warning(admins: list[int]) -> str | None:
    if admins:
        return None
    return ("nobody is an admin, so nobody can /bind chats: put your Telegram user id in HUYING_ADMINS "
            "or in the org file's admins (send /id to the bot to learn it)")


async def log_startup_warnings(bot: Bot, me: User, admins: list[int],
                               chats: list[tuple[int, str, str]]) -> None:
    """At start-up, the same warnings `check` prints (logged; they do not stop the bot)."""
    for warning in (no_admin_warning(admins), privacy_warning(me)):
        if warning:
            log.warning("%s", warning)
    reads_all = bool(me.can_read_all_group_messages)
    for chat_id, kind, bound_to in chats:
        try:
            probe = await probe_chat(bot, me.id, chat_id, kind, bound_to)
        except TelegramNetworkError as exc:
            log.warning("could not check chat %s: %s", chat_id, exc.message)
            continue
        if problem := probe.problem(reads_all):
            log.warning("chat %s (%s %s): %s", chat_id, kind, bound_to, problem)
