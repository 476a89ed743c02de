"""The built-in Telegram sandbox, exercised through the real aiogram Bot over HTTP: the Bot API
methods, messages, errors and limits."""

from __future__ import annotations


import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BufferedInputFile,
    InaccessibleMessage,
    InputMediaPhoto,
    ReplyParameters,
)

from bot.sandbox import SandboxError, SandboxTimeout

from tests.sandbox_kit import AUNTIE, BOT_ID, FORUM, GROUP, STRANGER, TOKEN, VOLUNTEER, keyboard
from tests.sandbox_kit import bot_fixture, sandbox_fixture  # noqa: F401 (the fixtures `bot` and `sb`)


async def test_get_me(bot):
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (BOT_ID, "huying_bot", True)
    assert me.can_read_all_group_messages is False  # privacy mode is on by default


async def test_unknown_token_and_method(sb, bot):
    other = Bot("999:WRONG", session=AiohttpSession(api=TelegramAPIServer.from_base(sb.base_url)))
    with pytest.raises(TelegramUnauthorizedError):
        await other.get_me()
    await other.session.close()
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{sb.base_url}/bot{TOKEN}/noSuchMethod") as resp:
            assert resp.status == 404
            assert await resp.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found: method not found",
            }
        # Method names are case-insensitive; JSON bodies work too.
        async with http.post(
            f"{sb.base_url}/bot{TOKEN}/SENDMESSAGE", json={"chat_id": GROUP, "text": "json body"}
        ) as resp:
            body = await resp.json()
            assert body["ok"] and body["result"]["text"] == "json body"


async def test_keyboard_press_reaches_get_updates(sb, bot):
    sent = await bot.send_message(
        GROUP, "新诉求 #12", reply_markup=keyboard(("签收", "t:12:ack"), ("退单", "t:12:rej"))
    )
    stored = sb.last_bot_message(GROUP)
    assert stored["message_id"] == sent.message_id
    assert sb.buttons(stored) == [["签收", "退单"]]

    qid = await sb.press(VOLUNTEER, GROUP, sent.message_id, "签收")
    qid2 = await sb.press(VOLUNTEER, GROUP, sent.message_id, "t:12:rej")  # by callback_data
    updates = await bot.get_updates(timeout=1)
    queries = [u.callback_query for u in updates if u.callback_query]
    assert [(q.id, q.data) for q in queries] == [(qid, "t:12:ack"), (qid2, "t:12:rej")]
    assert queries[0].message.message_id == sent.message_id
    assert queries[0].from_user.id == VOLUNTEER

    assert await bot.answer_callback_query(qid, text="已签收", show_alert=True)
    assert await sb.callback_answer(qid) == {"text": "已签收", "show_alert": True, "url": None}
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(qid)  # answered twice
    with pytest.raises(SandboxTimeout):
        await sb.callback_answer(qid2, timeout=0.05)
    with pytest.raises(SandboxError):
        await sb.press(VOLUNTEER, GROUP, sent.message_id, "没有这个按钮")
    forged = await sb.press_raw(STRANGER, GROUP, 4242, "t:999:ack")
    updates = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=1)
    assert updates[-1].callback_query.id == forged
    assert isinstance(updates[-1].callback_query.message, InaccessibleMessage)


async def test_callback_data_limit(bot):
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(GROUP, "x", reply_markup=keyboard(("太长", "x" * 65)))


async def test_send_photo_upload_file_id_and_download(sb, bot):
    data = b"\xff\xd8\xff\xe0fake-jpeg-bytes"
    first = await bot.send_photo(GROUP, BufferedInputFile(data, "scene.jpg"), caption="现场照片")
    assert len(first.photo) == 2 and first.caption == "现场照片"
    largest = first.photo[-1]
    again = await bot.send_photo(GROUP, largest.file_id)
    assert again.photo[-1].file_unique_id == largest.file_unique_id

    file = await bot.get_file(largest.file_id)
    assert file.file_path.startswith("photos/") and file.file_size == len(data)
    downloaded = await bot.download(file)
    assert downloaded.read() == data
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_photo(GROUP, "AgACnope")

    # A photo a user sent can be fetched the same way.
    msg = await sb.user_sends(AUNTIE, GROUP, photo=True, caption="/appeal 垃圾")
    user_file = await bot.get_file(msg["photo"][-1]["file_id"])
    assert (await bot.download(user_file)).read()


async def test_send_document_and_location(sb, bot):
    doc = await bot.send_document(GROUP, BufferedInputFile(b"%PDF-1.4 report", "报告.pdf"))
    assert doc.document.file_name == "报告.pdf"
    loc = await bot.send_location(GROUP, latitude=22.54, longitude=114.05)
    assert (loc.location.latitude, loc.location.longitude) == (22.54, 114.05)
    assert (await bot.download(doc.document.file_id)).read() == b"%PDF-1.4 report"


async def test_send_media_group(sb, bot):
    media = [
        InputMediaPhoto(media=BufferedInputFile(b"one", "1.jpg"), caption="三张现场图"),
        InputMediaPhoto(media=BufferedInputFile(b"two", "2.jpg")),
        InputMediaPhoto(media=BufferedInputFile(b"three", "3.jpg")),
    ]
    messages = await bot.send_media_group(GROUP, media)
    assert len(messages) == 3
    assert len({m.media_group_id for m in messages}) == 1 and messages[0].media_group_id
    assert [m.message_id for m in messages] == sorted(m.message_id for m in messages)
    assert messages[0].caption == "三张现场图" and messages[1].caption is None
    assert (await bot.download(messages[2].photo[-1].file_id)).read() == b"three"
    assert "📷×3" in sb.format_transcript([GROUP])


async def test_edit_message_text_and_markup(sb, bot):
    sent = await bot.send_message(GROUP, "工单 #7 待签收", reply_markup=keyboard(("签收", "a")))
    edited = await bot.edit_message_text(
        "工单 #7 已签收",
        chat_id=GROUP,
        message_id=sent.message_id,
        reply_markup=keyboard(("办结", "b")),
    )
    assert edited.text == "工单 #7 已签收" and edited.edit_date is not None
    assert sb.buttons(sb.message(GROUP, sent.message_id)) == [["办结"]]
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "工单 #7 已签收",
            chat_id=GROUP,
            message_id=sent.message_id,
            reply_markup=keyboard(("办结", "b")),
        )
    await bot.edit_message_reply_markup(chat_id=GROUP, message_id=sent.message_id)
    assert sb.buttons(sb.message(GROUP, sent.message_id)) == []
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=GROUP, message_id=9999)
    user_msg = await sb.user_sends(AUNTIE, GROUP, "/appeal 路灯坏了")
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_text("x", chat_id=GROUP, message_id=user_msg["message_id"])
    photo = await bot.send_photo(GROUP, BufferedInputFile(b"p", "p.jpg"), caption="旧")
    await bot.edit_message_caption(chat_id=GROUP, message_id=photo.message_id, caption="新")
    assert sb.message(GROUP, photo.message_id)["caption"] == "新"


async def test_delete_message_marks_transcript(sb, bot):
    sent = await bot.send_message(GROUP, "临时消息")
    assert await bot.delete_message(GROUP, sent.message_id)
    assert sb.transcript(GROUP)[-1]["_deleted"] is True
    assert sb.bot_messages(GROUP) == []
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(GROUP, sent.message_id)


async def test_message_ids_are_per_chat_and_shared(sb, bot):
    m1 = await sb.user_sends(AUNTIE, GROUP, "/appeal 一")
    b1 = await bot.send_message(GROUP, "收到")
    m2 = await sb.user_sends(AUNTIE, GROUP, "/appeal 二")
    p1 = await sb.user_sends(AUNTIE, AUNTIE, "你好")  # private chat starts at 1
    assert [m1["message_id"], b1.message_id, m2["message_id"]] == [1, 2, 3]
    assert p1["message_id"] == 1 and p1["chat"]["type"] == "private"


async def test_error_mapping(sb, bot):
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(-100555, "hi")
    with pytest.raises(TelegramForbiddenError, match="can't initiate conversation"):
        await bot.send_message(STRANGER, "hi")
    await sb.user_sends(AUNTIE, AUNTIE, "/start")
    assert (await bot.send_message(AUNTIE, "您好")).chat.id == AUNTIE
    sb.block_bot(AUNTIE)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(AUNTIE, "还在吗")
    sb.delete_chat(GROUP)
    with pytest.raises(TelegramForbiddenError, match="bot was kicked from the supergroup chat"):
        await bot.send_message(GROUP, "hi")
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await bot.send_message(FORUM, "hi", reply_to_message_id=777)
    ok = await bot.send_message(
        FORUM,
        "hi",
        reply_parameters=ReplyParameters(message_id=777, allow_sending_without_reply=True),
    )
    assert ok.reply_to_message is None
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(FORUM, "<b>1 < 2</b>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(FORUM, " ")
    assert [c.ok for c in sb.calls if c.method == "sendMessage"].count(False) >= 5


async def test_forum_threads(sb, bot):
    topic = await sb.create_topic(FORUM, "环卫", user_id=VOLUNTEER)
    in_topic = await sb.user_sends(VOLUNTEER, FORUM, "/appeal 垃圾桶满了", thread_id=topic)
    assert in_topic["is_topic_message"] and in_topic["message_thread_id"] == topic
    answer = await bot.send_message(
        FORUM, "已派单", message_thread_id=topic, reply_to_message_id=in_topic["message_id"]
    )
    assert answer.message_thread_id == topic and answer.is_topic_message

    # A reply in General carries a thread id that is not a topic: sending there fails.
    general = await sb.user_sends(AUNTIE, FORUM, "/appeal 路灯")
    reply = await sb.user_sends(VOLUNTEER, FORUM, "补充", reply_to=general["message_id"])
    assert reply["message_thread_id"] == general["message_id"]
    assert not reply.get("is_topic_message")
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(FORUM, "x", message_thread_id=reply["message_thread_id"])
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(GROUP, "x", message_thread_id=topic)
    # Replying without a thread id lands in the replied message's topic.
    follow = await bot.send_message(FORUM, "跟进", reply_to_message_id=in_topic["message_id"])
    assert follow.message_thread_id == topic
    created = await bot.create_forum_topic(FORUM, "工单 #9")
    assert created.message_thread_id in sb.world.chats[FORUM].topics


async def test_flood_limits(sb, bot):
    sb.set_flood(True, chat_per_second=1, group_per_minute=3, global_per_second=30)
    await bot.send_message(GROUP, "一")
    with pytest.raises(TelegramRetryAfter) as info:
        await bot.send_message(GROUP, "二")
    assert info.value.retry_after >= 1
    assert len(sb.bot_messages(GROUP)) == 1  # nothing was sent
    sb.set_flood(True, chat_per_second=100)
    await bot.send_message(GROUP, "二")
    await bot.send_message(GROUP, "三")
    with pytest.raises(TelegramRetryAfter) as info:
        await bot.send_message(GROUP, "四")  # 3 per minute into one group
    assert 1 <= info.value.retry_after <= 60
    await sb.user_sends(AUNTIE, AUNTIE, "/start")
    for i in range(3):  # private chats are not under the group limit
        await bot.send_message(AUNTIE, f"私聊 {i}")
    sb.set_flood(False)
    await bot.send_message(GROUP, "四")
    times = sb.send_times(GROUP)
    assert len(times) == 4 and times == sorted(times)


async def test_fault_injection(sb, bot):
    sb.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    with pytest.raises(TelegramRetryAfter) as info:
        await bot.send_message(GROUP, "x")
    assert info.value.retry_after == 7
    sb.fail_next("sendmessage", 500, "Internal Server Error", count=2)
    for _ in range(2):
        with pytest.raises(TelegramServerError):
            await bot.send_message(GROUP, "x")
    assert (await bot.send_message(GROUP, "终于")).text == "终于"
    sb.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(GROUP, "x")
    assert len(sb.bot_messages(GROUP)) == 1
    assert [c.ok for c in sb.calls] == [False, False, False, True, False]


async def test_migrated_group(sb, bot):
    old, new = -4001, -1004001
    sb.add_chat(old, "group", title="老年协会", members={AUNTIE: "creator"})
    await bot.send_message(old, "欢迎")
    to_msg, from_msg = await sb.migrate_chat(old, new, user_id=AUNTIE)
    assert to_msg["migrate_to_chat_id"] == new and from_msg["migrate_from_chat_id"] == old
    updates = await bot.get_updates(timeout=1)
    kinds = [
        (u.message.chat.id, u.message.migrate_to_chat_id, u.message.migrate_from_chat_id)
        for u in updates
        if u.message
    ]
    assert (old, new, None) in kinds and (new, None, old) in kinds
    with pytest.raises(TelegramMigrateToChat) as info:
        await bot.send_message(old, "还在吗")
    assert info.value.migrate_to_chat_id == new
    assert (await bot.send_message(new, "在新群")).chat.id == new
    assert (await bot.get_chat_member(new, AUNTIE)).status == "creator"
