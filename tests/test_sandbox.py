"""The built-in Telegram sandbox, exercised through the real aiogram Bot over HTTP."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    InaccessibleMessage,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Message,
    ReplyParameters,
)
from aiohttp import web

from bot.sandbox import SandboxError, SandboxTimeout, TelegramSandbox

TOKEN = "123456:TEST"
BOT_ID = 123456
GROUP = -1001234567890
FORUM = -1009876543210
AUNTIE, VOLUNTEER, STRANGER = 1001, 1002, 1003


@pytest.fixture
async def sb():
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


@pytest.fixture
async def bot(sb):
    b = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(sb.base_url)))
    yield b
    await b.session.close()


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=d) for t, d in pairs]]
    )


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


async def test_get_updates_offset_semantics(sb, bot):
    for text in ("/appeal 一", "/appeal 二", "/appeal 三"):
        await sb.user_sends(AUNTIE, GROUP, text)
    first = await bot.get_updates()
    ids = [u.update_id for u in first]
    assert len(ids) == 3 and ids == sorted(ids)
    assert [u.update_id for u in await bot.get_updates(limit=2)] == ids[:2]  # not confirmed yet
    assert [u.update_id for u in await bot.get_updates(offset=ids[1])] == ids[1:]
    assert [u.update_id for u in await bot.get_updates(offset=ids[1])] == ids[1:]
    assert await bot.get_updates(offset=ids[2] + 1) == []
    # Negative offset keeps only the newest updates.
    for text in ("/appeal 四", "/appeal 五"):
        await sb.user_sends(AUNTIE, GROUP, text)
    latest = await bot.get_updates(offset=-1)
    assert len(latest) == 1 and latest[0].message.text == "/appeal 五"

    # Long polling returns as soon as something arrives.
    poll = asyncio.create_task(bot.get_updates(offset=latest[0].update_id + 1, timeout=10))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await sb.user_sends(AUNTIE, GROUP, "/appeal 六")
    got = await asyncio.wait_for(poll, 5)
    assert time.monotonic() - started < 2 and got[0].message.text == "/appeal 六"

    # Telegram may restart the sequence lower: those updates still arrive.
    sb.set_next_update_id(5)
    await sb.user_sends(AUNTIE, GROUP, "/appeal 重启后")
    after = await bot.get_updates(offset=got[-1].update_id + 1)
    assert [(u.update_id, u.message.text) for u in after] == [(5, "/appeal 重启后")]
    assert await bot.get_updates(offset=6) == []

    # allowed_updates filters new updates by type.
    await bot.get_updates(offset=6, allowed_updates=["callback_query"])
    await sb.user_sends(AUNTIE, GROUP, "/appeal 被过滤")
    assert await bot.get_updates(offset=6) == []


async def test_privacy_mode(sb, bot):
    sent = await bot.send_message(GROUP, "请描述问题")
    await sb.user_sends(AUNTIE, GROUP, "大家好")  # not for the bot
    await sb.user_sends(AUNTIE, GROUP, "/appeal@other_bot 不是给我的")
    await sb.user_sends(AUNTIE, GROUP, "/appeal 路灯坏了")
    await sb.user_sends(AUNTIE, GROUP, "@huying_bot 帮帮忙")
    await sb.user_sends(AUNTIE, GROUP, "补充一下", reply_to=sent.message_id)
    await sb.user_sends(AUNTIE, GROUP, "#诉求 垃圾")
    seen = [u.message.text for u in await bot.get_updates()]
    assert seen == ["/appeal 路灯坏了", "@huying_bot 帮帮忙", "补充一下"]
    sb.set_privacy_mode(False)
    await sb.user_sends(AUNTIE, GROUP, "#诉求 垃圾")
    assert (await bot.get_updates(offset=-1))[0].message.entities[0].type == "hashtag"


async def test_entities_use_utf16_offsets(sb):
    msg = await sb.user_sends(AUNTIE, GROUP, "😀 /appeal@huying_bot 看 #诉求 @huying_bot")
    ents = [(e["type"], e["offset"], e["length"]) for e in msg["entities"]]
    assert ents == [("bot_command", 3, 18), ("hashtag", 24, 3), ("mention", 28, 11)]
    photo = await sb.user_sends(AUNTIE, GROUP, photo=True, caption="/appeal 积水")
    assert photo["caption_entities"][0] == {"type": "bot_command", "offset": 0, "length": 7}
    assert len(photo["photo"]) == 2


async def test_user_actions_shapes(sb, bot):
    fwd = await sb.user_sends(
        VOLUNTEER,
        GROUP,
        "/appeal 代王奶奶反映",
        forward_from={"type": "hidden_user", "sender_user_name": "王奶奶"},
    )
    assert fwd["forward_origin"]["sender_user_name"] == "王奶奶" and fwd["forward_origin"]["date"]
    album = await sb.user_sends_album(AUNTIE, GROUP, count=3, caption="/appeal 三张")
    assert len({m["media_group_id"] for m in album}) == 1 and album[0]["caption"]
    edited = await sb.user_edits(AUNTIE, GROUP, album[0]["message_id"], "/appeal 改了")
    assert edited["caption"] == "/appeal 改了" and edited["edit_date"]
    loc = await sb.user_sends(AUNTIE, AUNTIE, location=(22.5, 114.1))
    joined = await sb.service_message(GROUP, new_chat_members=[STRANGER])
    assert joined["new_chat_members"][0]["first_name"] == "路人"
    raw = await sb.inject_update(
        {
            "message": {
                "message_id": 500,
                "date": 1,
                "chat": {"id": -100777, "type": "supergroup", "title": "外部群"},
                "from": {"id": 9, "is_bot": False, "first_name": "外人"},
                "text": "/appeal 语料",
            }
        }
    )
    updates = await bot.get_updates()
    kinds = [u.event_type for u in updates]
    assert kinds.count("message") == 4 + 1 and "edited_message" in kinds  # album: 1 has command
    assert updates[-1].update_id == raw["update_id"]
    # The learned chat accepts replies to the injected message.
    reply = await bot.send_message(-100777, "收到", reply_to_message_id=500)
    assert reply.reply_to_message.text == "/appeal 语料"
    assert loc["location"]["latitude"] == 22.5
    assert (await bot.get_chat_member(GROUP, STRANGER)).status == "member"


async def test_get_chat_member_and_chat(sb, bot):
    assert (await bot.get_chat_member(GROUP, VOLUNTEER)).status == "administrator"
    assert (await bot.get_chat_member(GROUP, AUNTIE)).status == "member"
    assert (await bot.get_chat_member(GROUP, 424242)).status == "left"
    sb.add_member(GROUP, AUNTIE, "creator")
    assert (await bot.get_chat_member(GROUP, AUNTIE)).status == "creator"
    chat = await bot.get_chat(FORUM)
    assert chat.is_forum and chat.title == "街道调度"
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.get_chat(-1)


async def test_commands(bot):
    cmds = [
        BotCommand(command="appeal", description="提交诉求"),
        BotCommand(command="my", description="我的诉求"),
    ]
    assert await bot.set_my_commands(cmds)
    assert [c.command for c in await bot.get_my_commands()] == ["appeal", "my"]
    assert await bot.get_my_commands(language_code="en") == []
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == []
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="诉求", description="x")])
    assert await bot.close() and await bot.log_out()


async def test_webhook_delivery(sb, bot):
    received: list[tuple[str | None, dict]] = []
    failures = {"left": 1}

    async def hook(request: web.Request) -> web.Response:
        if failures["left"]:
            failures["left"] -= 1
            return web.Response(status=500)
        update = await request.json()
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), update))
        if update.get("message", {}).get("text") == "/appeal 回复我":
            # Telegram runs a method returned in the webhook response.
            return web.json_response(
                {"method": "sendMessage", "chat_id": GROUP, "text": "webhook 里回复"}
            )
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        await bot.set_webhook(url, secret_token="s3cret-token")
        assert (await bot.get_webhook_info()).url == url
        with pytest.raises(TelegramConflictError):
            await bot.get_updates()
        await sb.user_sends(AUNTIE, GROUP, "/appeal 第一条")
        await sb.user_sends(AUNTIE, GROUP, "/appeal 回复我")
        reply = await sb.wait_for_bot_message(GROUP, contains="webhook 里回复")
        assert reply["from"]["id"] == BOT_ID
        assert [(s, u["message"]["text"]) for s, u in received] == [
            ("s3cret-token", "/appeal 第一条"),
            ("s3cret-token", "/appeal 回复我"),
        ]
        assert sb.updates.webhook.deliveries[0]["status"] == 500  # retried after a 500
        assert (await bot.get_webhook_info()).pending_update_count == 0
        await bot.delete_webhook()
        await sb.user_sends(AUNTIE, GROUP, "/appeal 轮询")
        assert (await bot.get_updates())[0].message.text == "/appeal 轮询"
    finally:
        await runner.cleanup()


async def test_polling_dispatcher_end_to_end(sb, bot):
    """A real aiogram Dispatcher polls the sandbox; wait_for_bot_message is race-free."""
    router = Router()

    @router.message(F.text.startswith("/appeal"))
    async def on_appeal(message: Message) -> None:
        await message.reply("已受理", reply_markup=keyboard(("签收", "ack")))

    @router.callback_query(F.data == "ack")
    async def on_ack(query: CallbackQuery) -> None:
        await query.answer("已签收")
        await query.message.edit_text("已签收 ✅")
        await query.message.answer("处理中")

    dp = Dispatcher()
    dp.include_router(router)
    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=1))
    try:
        msg = await sb.user_sends(AUNTIE, GROUP, "/appeal 小区门口垃圾三天没人清运了")
        card = await sb.wait_for_bot_message(GROUP, contains="已受理")
        assert card["reply_to_message"]["message_id"] == msg["message_id"]
        qid = await sb.press(VOLUNTEER, GROUP, card["message_id"], "签收")
        assert (await sb.callback_answer(qid))["text"] == "已签收"
        follow = await sb.wait_for_bot_message(GROUP)
        assert follow["text"] == "处理中"
        assert sb.message(GROUP, card["message_id"])["text"] == "已签收 ✅"
        with pytest.raises(SandboxTimeout):
            await sb.wait_for_bot_message(GROUP, timeout=0.1)  # nothing new since the press
    finally:
        await dp.stop_polling()
        await asyncio.wait_for(polling, 10)
    text = sb.format_transcript([GROUP], names={VOLUNTEER: "李志愿者"})
    assert "[港口镇社区群] 张阿姨: /appeal 小区门口垃圾三天没人清运了" in text
    lines = text.splitlines()
    # The card as it was sent, the press, then the edit at the moment it happened.
    assert lines[1] == "[港口镇社区群] 呼应 ↪ 张阿姨「/appeal 小区门口…」: 已受理  [签收]"
    assert lines[2] == "[港口镇社区群] 李志愿者 ▶ [签收]" and "(提示) 已签收" in lines[3]
    assert lines[4] == f"[港口镇社区群] 呼应 ✎#{card['message_id']}: 已签收 ✅"
    assert lines[5] == "[港口镇社区群] 呼应: 处理中"


async def test_control_api(sb):
    async with aiohttp.ClientSession() as http:

        async def post(path: str, body: dict) -> dict:
            async with http.post(f"{sb.base_url}/control/{path}", json=body) as resp:
                return await resp.json()

        assert (await post("users", {"id": 2001, "first_name": "王奶奶"}))["ok"]
        chat = await post(
            "chats",
            {
                "id": -1002001,
                "type": "supergroup",
                "title": "社区二群",
                "members": {"2001": "member"},
            },
        )
        assert chat["result"][0]["title"] == "社区二群"
        sent = await post("send", {"user_id": 2001, "chat_id": -1002001, "text": "/appeal 漏水"})
        assert sent["result"]["entities"][0]["type"] == "bot_command"
        bad = await post("send", {"user_id": 9999, "chat_id": -1002001, "text": "x"})
        assert not bad["ok"] and "unknown user" in bad["error"]
        async with http.get(f"{sb.base_url}/control/chats/-1002001/transcript") as resp:
            transcript = (await resp.json())["result"]
        assert [m["text"] for m in transcript] == ["/appeal 漏水"]
        flood = await post("flood", {"enabled": True, "chat_per_second": 2})
        assert flood["result"]["enabled"] and flood["result"]["chat_per_second"] == 2
        await post("fail", {"method": "getMe", "error_code": 502, "description": "Bad Gateway"})
        async with http.get(f"{sb.base_url}/bot{TOKEN}/getMe") as resp:
            assert resp.status == 502
            assert await resp.json() == {
                "ok": False,
                "error_code": 502,
                "description": "Bad Gateway",
            }
        raw = await post(
            "update",
            {
                "message": {
                    "message_id": 1,
                    "date": 1,
                    "text": "/x",
                    "chat": {"id": 5, "type": "private", "first_name": "五"},
                }
            },
        )
        assert raw["result"]["update_id"] >= 1
    assert sb.flood.enabled


async def test_get_file_unknown_and_download_404(sb, bot):
    with pytest.raises(TelegramBadRequest):
        await bot.get_file("nope")
    url = f"{sb.base_url}/file/bot{TOKEN}/photos/missing.jpg"
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        assert resp.status == 404


async def test_membership_updates(sb, bot):
    await sb.user_sends(AUNTIE, AUNTIE, "/start")
    sb.block_bot(AUNTIE)
    sb.delete_chat(GROUP, by_user=VOLUNTEER)
    updates = await bot.get_updates()
    changes = [
        (u.my_chat_member.chat.id, u.my_chat_member.new_chat_member.status)
        for u in updates
        if u.my_chat_member
    ]
    assert changes == [(AUNTIE, "kicked"), (GROUP, "kicked")]
    await sb.user_sends(AUNTIE, AUNTIE, "/start")  # writing to the bot again unblocks it
    assert (await bot.send_message(AUNTIE, "欢迎回来")).text == "欢迎回来"


async def test_markup_checks_and_html_contains(sb, bot):
    with pytest.raises(TelegramBadRequest, match=r"Character '\.' is reserved"):
        await bot.send_message(GROUP, "工单 1.2", parse_mode="MarkdownV2")
    assert await bot.send_message(GROUP, "工单 1\\.2", parse_mode="MarkdownV2")
    sent = await bot.send_message(
        GROUP,
        "<b>工单</b> &lt;#3&gt; 已受理",
        parse_mode="HTML",
        reply_markup=keyboard(("签收", "a")),
    )
    assert sb.buttons(sent) == [["签收"]]  # aiogram Message objects work too
    found = await sb.wait_for_bot_message(GROUP, contains="工单 <#3> 已受理")
    assert found["message_id"] == sent.message_id
    assert "工单 <#3> 已受理  [签收]" in sb.format_transcript()


async def test_reactions_link_buttons_and_start_links(sb, bot):
    from aiogram.types import ReactionTypeEmoji

    said = await sb.user_sends(AUNTIE, GROUP, "+1")
    assert await bot.set_message_reaction(GROUP, said["message_id"], [ReactionTypeEmoji(emoji="👍")])
    assert sb.bot_reaction(GROUP, said["message_id"]) == "👍"
    assert "[港口镇社区群] 呼应 👍 → 张阿姨「+1」" in sb.format_transcript([GROUP]).split("\n")
    with pytest.raises(TelegramBadRequest, match="REACTION_INVALID"):
        await bot.set_message_reaction(GROUP, said["message_id"], [ReactionTypeEmoji(emoji="🐈")])
    with pytest.raises(TelegramBadRequest, match="REACTIONS_TOO_MANY"):
        await bot.set_message_reaction(
            GROUP, said["message_id"], [ReactionTypeEmoji(emoji="👍"), ReactionTypeEmoji(emoji="👌")]
        )
    with pytest.raises(TelegramBadRequest, match="MESSAGE_ID_INVALID"):
        await bot.set_message_reaction(GROUP, 4242, [ReactionTypeEmoji(emoji="👍")])
    sb.restrict_reactions(GROUP, ["❤"])
    with pytest.raises(TelegramBadRequest, match="REACTION_INVALID"):
        await bot.set_message_reaction(GROUP, said["message_id"], [ReactionTypeEmoji(emoji="👌")])
    assert await bot.set_message_reaction(GROUP, said["message_id"], [])  # taken back
    assert sb.bot_reaction(GROUP, said["message_id"]) is None

    link = InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text="私聊", url="https://t.me/huying_bot?start=t2026-000001"),
        InlineKeyboardButton(text="别处", url="https://example.org/"),
    ]])
    sent = await bot.send_message(GROUP, "已受理", reply_markup=link)
    with pytest.raises(TelegramBadRequest, match="BUTTON_URL_INVALID"):
        bad = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="x", url="t.me/huying_bot")]])
        await bot.send_message(GROUP, "x", reply_markup=bad)
    with pytest.raises(SandboxError, match="not a callback button"):
        await sb.press(STRANGER, GROUP, sent.message_id, "私聊")
    # Tapping the link: Telegram opens the private chat and sends /start with the payload.
    start = await sb.open_link(STRANGER, GROUP, sent.message_id, "私聊")
    assert (start["chat"]["id"], start["text"]) == (STRANGER, "/start t2026-000001")
    updates = await bot.get_updates(timeout=1)
    assert updates[-1].message.text == "/start t2026-000001"
    with pytest.raises(SandboxError, match="does not open a chat"):
        await sb.open_link(STRANGER, GROUP, sent.message_id, "别处")
