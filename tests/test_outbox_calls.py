"""An outbox row's Bot API call (bot/bot_calls.py): the JSON the outbox's session posts as it is
must be the very call aiogram's typed method makes of the same row — checked against the sandbox
over HTTP, which records each call's parameters after reading a form or a JSON body alike."""
from __future__ import annotations

import pytest
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.bot_calls import call
from bot.client import OutboxSession, make_bot
from bot.sandbox import TelegramSandbox
from storage.models import OutboxMessage
from tests.harness import COMMUNITY, RESIDENT, TOKEN, populate
from tests.harness import test_settings as settings_for

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
async def sandbox():
    async with TelegramSandbox(bot_token=TOKEN, bot_username="huying_bot", privacy_mode=False) as sb:
        populate(sb)
        yield sb


@pytest.fixture
async def bots(sandbox, tmp_path):
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path}/x.db", TELEGRAM_API_URL=sandbox.base_url)
    made = make_bot(settings, for_outbox=True), make_bot(settings)
    assert isinstance(made[0].session, OutboxSession) and type(made[1].session) is AiohttpSession
    yield made
    for bot in made:
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
async def test_the_outbox_posts_the_call_aiograms_typed_method_makes(sandbox, bots, method, payload, expected):
    raw = await _perform(sandbox, bots[0], method, payload)
    typed = await _perform(sandbox, bots[1], method, payload)  # an upload, or a bot with aiogram's own session
    assert raw == typed
    assert raw[1] == {"chat_id": COMMUNITY, **expected}
    expected_ids = {"edit_text": ["mine"], "edit_markup": ["mine"], "delete": [], "react": [], "album": ["new", "new"]}
    assert raw[0] == expected_ids.get(method, ["new"])
