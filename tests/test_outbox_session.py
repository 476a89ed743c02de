"""The outbox's own Bot API session (bot/client.py `OutboxSession`): JSON bodies, answers not
validated, and everything else exactly as aiogram does it — against the sandbox over HTTP."""
from __future__ import annotations

import pytest
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters

from bot.client import OutboxSession, make_bot
from bot.sandbox import TelegramSandbox
from tests.harness import COMMUNITY, RESIDENT, TOKEN, populate
from tests.harness import test_settings as settings_for


@pytest.fixture
async def sandbox():
    async with TelegramSandbox(bot_token=TOKEN, bot_username="huying_bot", privacy_mode=False) as sb:
        populate(sb)
        yield sb


@pytest.fixture
async def outbox_bot(sandbox, tmp_path):
    bot = make_bot(settings_for(f"sqlite+aiosqlite:///{tmp_path}/x.db", TELEGRAM_API_URL=sandbox.base_url),
                   for_outbox=True)
    assert isinstance(bot.session, OutboxSession)
    yield bot
    await bot.session.close()


async def test_a_send_goes_as_json_with_its_keyboard_and_reply_and_gives_the_message_id(sandbox, outbox_bot):
    asked = (await sandbox.user_sends(RESIDENT, COMMUNITY, "楼道灯坏了"))["message_id"]
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="签收", callback_data="t:1:take")]])
    reply = ReplyParameters(message_id=asked, allow_sending_without_reply=True)
    sent = await outbox_bot.send_message(chat_id=COMMUNITY, text="已受理 #2026-000001", reply_markup=markup,
                                         reply_parameters=reply, parse_mode=None)
    shown = sandbox.last_bot_message(COMMUNITY)
    assert sent.message_id == shown["message_id"]
    assert shown["text"] == "已受理 #2026-000001"
    assert sandbox.buttons(shown) == [["签收"]]
    assert shown["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "t:1:take"
    assert shown["reply_to_message"]["message_id"] == asked
    call = [c for c in sandbox.calls if c.method.lower() == "sendmessage"][-1]
    assert "parse_mode" not in call.params  # None is left out, as aiogram's form leaves it out


async def test_a_refusal_and_a_429_raise_what_aiogram_raises(sandbox, outbox_bot):
    sandbox.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    with pytest.raises(TelegramRetryAfter) as caught:
        await outbox_bot.send_message(chat_id=COMMUNITY, text="x", parse_mode=None)
    assert caught.value.retry_after == 7
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await outbox_bot.edit_message_text(chat_id=COMMUNITY, message_id=999_999, text="y", parse_mode=None)


async def test_an_upload_still_goes_as_a_form_and_edits_answer_as_before(sandbox, outbox_bot):
    sent = await outbox_bot.send_document(chat_id=COMMUNITY, document=BufferedInputFile(b"a,b\n1,2\n", "台账.csv"))
    shown = sandbox.last_bot_message(COMMUNITY)
    assert sent.message_id == shown["message_id"] and shown["document"]["file_name"] == "台账.csv"
    text = await outbox_bot.send_message(chat_id=COMMUNITY, text="旧", parse_mode=None)
    assert await outbox_bot.edit_message_text(chat_id=COMMUNITY, message_id=text.message_id, text="新",
                                              parse_mode=None) is not None
    assert sandbox.message(COMMUNITY, text.message_id)["text"] == "新"
    assert await outbox_bot.delete_message(chat_id=COMMUNITY, message_id=text.message_id) is True
    assert sandbox.message(COMMUNITY, text.message_id)["_deleted"] is True


async def test_a_zero_is_sent_as_the_form_sends_it(sandbox, outbox_bot):
    # A point on the equator (Open311 takes lat=0): the form sent "0.0", and so must the JSON body.
    sent = await outbox_bot.send_location(chat_id=COMMUNITY, latitude=0.0, longitude=114.1)
    shown = sandbox.last_bot_message(COMMUNITY)
    assert sent.message_id == shown["message_id"]
    assert (shown["location"]["latitude"], shown["location"]["longitude"]) == (0.0, 114.1)
