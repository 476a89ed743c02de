"""The built-in Telegram sandbox, through the real aiogram Bot over HTTP: updates (getUpdates,
webhooks, a Dispatcher end to end), what users do, the control API, reactions and links."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from aiogram import Dispatcher, F, Router
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
)
from aiogram.types import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiohttp import web

from bot.sandbox import SandboxError, SandboxTimeout

from tests.sandbox_kit import AUNTIE, BOT_ID, FORUM, GROUP, STRANGER, TOKEN, VOLUNTEER, keyboard
from tests.sandbox_kit import bot_fixture, sandbox_fixture  # noqa: F401 (the fixtures `bot` and `sb`)


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
