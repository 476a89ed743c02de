"""The command menus Telegram shows (setMyCommands, zh and en): one per kind of chat.

Residents see a private chat's and a group's menu. A staff chat — the dispatch desk, the leaders'
chat, a department's chat — is a group too, and the group menu offers none of the commands its
people work with; each gets a menu of its own (a chat-scoped menu, set at start for every bound
desk and again when /bind makes a chat one). A chat bound back to a community loses its own menu
and shows the groups' again."""
from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import (
    BotCommand, BotCommandScopeAllGroupChats, BotCommandScopeAllPrivateChats, BotCommandScopeChat,
    BotCommandScopeDefault,
)

from bot.i18n import t

log = logging.getLogger(__name__)

# README "Commands people use": a private chat has the guided flow's /cancel; a group has no /my
# (it answers in private) nor /lang (admins only there).
PRIVATE_COMMANDS = ("appeal", "ticket", "my", "help", "lang", "id", "cancel")
GROUP_COMMANDS = ("appeal", "ticket", "help", "id")
MENUS = ((BotCommandScopeDefault(), PRIVATE_COMMANDS[:-1]), (BotCommandScopeAllPrivateChats(), PRIVATE_COMMANDS),
         (BotCommandScopeAllGroupChats(), GROUP_COMMANDS))
# What each desk works with (handlers/dispatch_desk, department_desk, leaders, reports, deadlines, matter).
DESK_COMMANDS = {
    "dispatch": ("queue", "unsatisfied", "ticket", "hotspots", "duty", "cards", "report", "export", "help", "id"),
    "leaders": ("ticket", "take", "instruct", "hotspots", "cards", "report", "export", "help", "id"),
    "department": ("open", "mine", "ticket", "cards", "duty", "export", "help", "id"),
}
LANGUAGES = (("zh_CN", None), ("en", "en"))


async def publish_commands(bot: Bot) -> None:
    """The menus of private chats and groups; a failure here must not stop the bot."""
    for scope, names in MENUS:
        await _publish(bot, scope, names)


async def publish_desk_menu(bot: Bot, chat_id: int, kind: str) -> None:
    """The menu of a chat bound as `kind`: a desk's own, or (any other kind) the groups' again."""
    scope = BotCommandScopeChat(chat_id=chat_id)
    names = DESK_COMMANDS.get(kind)
    if names is not None:
        await _publish(bot, scope, names)
        return
    for _lang, code in LANGUAGES:
        try:
            await bot.delete_my_commands(scope=scope, language_code=code)
        except TelegramAPIError as exc:
            log.warning("could not take the desk menu off chat %s: %s", chat_id, exc)


async def publish_desk_menus(bot: Bot, desks: list[tuple[int, str]]) -> None:
    """Every bound desk's menu, (chat id, kind) each."""
    for chat_id, kind in desks:
        if kind in DESK_COMMANDS:
            await publish_desk_menu(bot, chat_id, kind)


async def _publish(bot: Bot, scope: BotCommandScopeDefault | BotCommandScopeAllPrivateChats
                   | BotCommandScopeAllGroupChats | BotCommandScopeChat, names: tuple[str, ...]) -> None:
    for lang, code in LANGUAGES:
        commands = [BotCommand(command=c, description=t(lang, f"cmd.{c}")) for c in names]
        try:
            await bot.set_my_commands(commands, scope=scope, language_code=code)
        except TelegramAPIError as exc:
            log.warning("could not publish the command menu (%s, %s): %s", lang, scope.type, exc)
