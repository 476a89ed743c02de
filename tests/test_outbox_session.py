"""The outbox's own Bot API session (bot/client.py `OutboxSession`): JSON bodies, answers not
validated, and everything else exactly as aiogram does it; and each kind of outbox row's call
(bot/bot_calls.py) — against the sandbox over HTTP."""
from __future__ import annotations

import pytest
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters

from bot.bot_calls import call
from bot.client import OutboxSession, make_bot
from bot.sandbox import TelegramSandbox
from storage.models import OutboxMessage
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


ROWS = [  # an outbox row, and the call aiogram's typed methods made of it before the outbox posted JSON
    ("message", {"text": "已受理 #2026-000001", "keyboard": [[{"text": "补充", "data": "t:1:add"}],
                                                            [{"text": "查看", "url": "https://t.me/huying_bot?start=t1"}]]},
     {"method": "sendMessage", "text": "已受理 #2026-000001",
      "reply_markup": {"inline_keyboard": [[{"text": "补充", "callback_data": "t:1:add"}],
                                           [{"text": "查看", "url": "https://t.me/huying_bot?start=t1"}]]}}),
    ("message", {"text": "请说明原因", "force_reply": True, "reply_to": "appeal"},
     {"method": "sendMessage", "text": "请说明原因",
      "reply_parameters": {"message_id": "appeal", "allow_sending_without_reply": True},
      "reply_markup": {"force_reply": True, "selective": True}}),
    ("message", {"text": "无按钮", "keyboard": []}, {"method": "sendMessage", "text": "无按钮"}),
    ("photo", {"photo": "PHOTO", "caption": "现场照片", "keyboard": [[{"text": "签收", "data": "t:1:take"}]]},
     {"method": "sendPhoto", "photo": "PHOTO", "caption": "现场照片",
      "reply_markup": {"inline_keyboard": [[{"text": "签收", "callback_data": "t:1:take"}]]}}),
    ("album", {"media": ["PHOTO", "PHOTO"], "caption": "两张照片", "reply_to": "appeal"},
     {"method": "sendMediaGroup",
      "media": [{"type": "photo", "media": "PHOTO", "caption": "两张照片"}, {"type": "photo", "media": "PHOTO"}],
      "reply_parameters": {"message_id": "appeal", "allow_sending_without_reply": True}}),
    ("photo", {"photo": "PHOTO", "caption": ""}, {"method": "sendPhoto", "photo": "PHOTO"}),
    ("location", {"latitude": 0.0, "longitude": 114.1}, {"method": "sendLocation", "latitude": 0.0, "longitude": 114.1}),
    ("document", {"document": "DOC", "caption": "台账"}, {"method": "sendDocument", "document": "DOC", "caption": "台账"}),
    ("edit_text", {"text": "已签收", "keyboard": [[{"text": "办结", "data": "t:1:resolve"}]], "message_id": "mine"},
     {"method": "editMessageText", "text": "已签收", "message_id": "mine",
      "reply_markup": {"inline_keyboard": [[{"text": "办结", "callback_data": "t:1:resolve"}]]}}),
    ("edit_markup", {"keyboard": None, "message_id": "mine"}, {"method": "editMessageReplyMarkup", "message_id": "mine"}),
    ("react", {"emoji": "👍", "message_id": "appeal"},
     {"method": "setMessageReaction", "message_id": "appeal", "reaction": [{"type": "emoji", "emoji": "👍"}]}),
    ("delete", {"message_id": "mine"}, {"method": "deleteMessage", "message_id": "mine"}),
]


@pytest.fixture
async def plain_bot(sandbox, tmp_path):
    bot = make_bot(settings_for(f"sqlite+aiosqlite:///{tmp_path}/x.db", TELEGRAM_API_URL=sandbox.base_url))
    assert type(bot.session) is AiohttpSession
    yield bot
    await bot.session.close()


async def _perform(sandbox, bot, method: str, payload: dict) -> tuple[list[int], dict]:
    """One row through `call`; what it returned and the call the sandbox saw (message ids the
    test made itself replaced by their names)."""
    appeal = (await sandbox.user_sends(RESIDENT, COMMUNITY, "楼道灯坏了"))["message_id"]
    card = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="签收", callback_data="t:1:take")]])
    mine = (await bot.send_message(chat_id=COMMUNITY, text="卡片", reply_markup=card, parse_mode=None)).message_id
    names = {appeal: "appeal", mine: "mine"}
    ids = {"appeal": appeal, "mine": mine}
    files = {"PHOTO": sandbox.world.new_photo(b"photo")[-1]["file_id"],
             "DOC": sandbox.world.new_document(b"a,b\n", "ledger.csv", "text/csv")["file_id"]}
    p = {k: ids.get(v, v) if k in ("reply_to", "message_id") else v for k, v in payload.items()}
    p = {k: files.get(v, v) if k in ("photo", "document") else v for k, v in p.items()}
    p["media"] = [files[f] for f in p.get("media", [])]
    if not p["media"]:
        del p["media"]
    returned = await call(bot, OutboxMessage(method=method), COMMUNITY, None, p)
    seen = sandbox.calls[-1]
    assert seen.ok, seen
    params = dict(seen.params)
    ours = {v: k for k, v in files.items()}  # each run makes its own files: compare by name
    for key in ("photo", "document"):
        if key in params:
            params[key] = ours[params[key]]
    if "media" in params:
        params["media"] = [{**m, "media": ours[m["media"]]} for m in params["media"]]
    if "message_id" in params:
        params["message_id"] = names[params["message_id"]]
    if "reply_parameters" in params:
        params["reply_parameters"] = {**params["reply_parameters"],
                                      "message_id": names[params["reply_parameters"]["message_id"]]}
    shown = [sandbox.message(COMMUNITY, i) for i in returned]
    return [names.get(i, "new" if m is not None and not m.get("_deleted") else "?") for i, m in zip(returned, shown)], \
        {"method": seen.method, **params}


@pytest.mark.parametrize(("method", "payload", "expected"), ROWS, ids=[f"{m}-{i}" for i, (m, *_) in enumerate(ROWS)])
async def test_the_outbox_posts_the_call_aiograms_typed_method_makes(sandbox, outbox_bot, plain_bot, method, payload,
                                                                     expected):
    # bot/bot_calls.py: the JSON the outbox's session posts as it is must be the very call
    # aiogram's typed method makes of the same row (the sandbox records each call's parameters
    # after reading a form or a JSON body alike).
    raw = await _perform(sandbox, outbox_bot, method, payload)
    typed = await _perform(sandbox, plain_bot, method, payload)  # an upload, or a bot with aiogram's own session
    assert raw == typed
    assert raw[1] == {"chat_id": COMMUNITY, **expected}
    expected_ids = {"edit_text": ["mine"], "edit_markup": ["mine"], "delete": [], "react": [], "album": ["new", "new"]}
    assert raw[0] == expected_ids.get(method, ["new"])
