"""What the sandbox tests share: the sandbox with its people and chats, and a Bot on it."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.sandbox import TelegramSandbox

TOKEN = "123456:TEST"
BOT_ID = 123456
GROUP = -1001234567890
FORUM = -1009876543210
AUNTIE, VOLUNTEER, STRANGER = 1001, 1002, 1003


@pytest.fixture(name="sb")
async def sandbox_fixture():
    async with TelegramSandbox(bot_token=TOKEN, bot_username="huying_bot") as sandbox:
        sandbox.add_user(AUNTIE, "张阿姨")
        sandbox.add_user(VOLUNTEER, "李", "志愿者", username="li_vol")
        sandbox.add_user(STRANGER, "路人")
        sandbox.add_chat(
            GROUP,
            "supergroup",
            title="港口镇社区群",
            members={AUNTIE: "member", VOLUNTEER: "administrator"},
        )
        sandbox.add_chat(FORUM, "supergroup", title="街道调度", is_forum=True)
        yield sandbox


@pytest.fixture(name="bot")
async def bot_fixture(sb):
    b = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(sb.base_url)))
    yield b
    await b.session.close()


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=d) for t, d in pairs]]
    )
