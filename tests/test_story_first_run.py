"""Stories: the first run of a new district — learning ids with /id, becoming admin through HUYING_ADMINS."""
from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import select

from bot.preflight import log_startup_warnings
from storage.models import Chat
from tests.harness import ADMIN, COMMUNITY, DISPATCH_CHAT, DISPATCHER, PEOPLE, RESIDENT, UNKNOWN_GROUP, World

OPERATOR = 77001  # the district's IT officer: in no org file


async def test_id_answers_with_the_chat_and_the_sender(world: World):
    world.sb.add_user(OPERATOR, "信息科小林")
    await world.send(OPERATOR, OPERATOR, "/id")
    answer = await world.reply_from_bot(OPERATOR, contains="77001")
    assert answer["text"] == "本聊天 id：77001（private）\n你的 id：77001"
    await world.send(OPERATOR, UNKNOWN_GROUP, "/id")
    answer = await world.reply_from_bot(UNKNOWN_GROUP, contains=str(UNKNOWN_GROUP))
    assert answer["text"] == f"本聊天 id：{UNKNOWN_GROUP}（supergroup）\n你的 id：77001"


async def test_id_as_a_reply_names_the_other_person_where_the_public_cannot_read_it(world: World):
    theirs = await world.send(DISPATCHER, DISPATCH_CHAT, "大家好")
    await world.send(ADMIN, DISPATCH_CHAT, "/id", reply_to=theirs["message_id"])
    answer = await world.reply_from_bot(DISPATCH_CHAT, contains="的 id")
    assert answer["text"].splitlines()[-1] == f"{PEOPLE[DISPATCHER]} 的 id：{DISPATCHER}"
    # In a community chat a resident's name and id are nobody's business: each can send /id.
    theirs = await world.send(RESIDENT, COMMUNITY, "大家好")
    await world.send(ADMIN, COMMUNITY, "/id", reply_to=theirs["message_id"])
    answer = await world.reply_from_bot(COMMUNITY, contains="你的 id")
    assert answer["text"] == f"本聊天 id：{COMMUNITY}（supergroup）\n你的 id：{ADMIN}"


@pytest.mark.parametrize("world", [{"HUYING_ADMINS": f" {OPERATOR} , 77002"}], indirect=True)
async def test_huying_admins_can_bind_without_editing_the_org_file(world: World):
    world.sb.add_user(OPERATOR, "信息科小林")
    await world.send(OPERATOR, UNKNOWN_GROUP, "/bind dispatch")
    await world.reply_from_bot(UNKNOWN_GROUP, contains="本群已绑定")
    assert (await world.scalar(select(Chat).where(Chat.id == UNKNOWN_GROUP))).kind == "dispatch"
    # The org file's own admin keeps the role: HUYING_ADMINS adds, it does not replace.
    await world.send(ADMIN, UNKNOWN_GROUP, "/bind leaders")
    await world.reply_from_bot(UNKNOWN_GROUP, contains="领导")


async def test_without_huying_admins_a_stranger_cannot_bind(world: World):
    world.sb.add_user(OPERATOR, "信息科小林")
    await world.send(OPERATOR, UNKNOWN_GROUP, "/bind dispatch")
    await world.reply_from_bot(UNKNOWN_GROUP, contains="管理员")
    assert await world.scalar(select(Chat).where(Chat.id == UNKNOWN_GROUP)) is None


async def test_bind_community_says_what_privacy_mode_hides_until_the_bot_is_admin(world: World):
    world.sb.set_privacy_mode(True)
    world.app.reads_all_group_messages = False  # what getMe says with privacy mode on
    await world.send(ADMIN, UNKNOWN_GROUP, "/bind community xinhe")
    answer = await world.reply_from_bot(UNKNOWN_GROUP, contains="新河街道")
    assert "隐私模式已开启" in answer["text"] and "/setprivacy" in answer["text"]
    world.sb.add_member(UNKNOWN_GROUP, world.app.bot_id, "administrator")
    await world.send(ADMIN, UNKNOWN_GROUP, "/bind community gangkou")
    answer = await world.reply_from_bot(UNKNOWN_GROUP, contains="港口镇")
    assert "隐私模式" not in answer["text"]


async def test_start_up_logs_the_warnings_check_prints(world: World, caplog):
    # The start-up's own round of warnings (privacy off, every chat there) must be over first.
    await asyncio.gather(*[t for t in asyncio.all_tasks() if t.get_name() == "startup-warnings"])
    world.sb.set_privacy_mode(True)
    world.sb.world.chats[COMMUNITY].bot_removed = True
    me = await world.bot.get_me()
    chats = [(COMMUNITY, "community", "gangkou"), (UNKNOWN_GROUP, "community", "xinhe"), (-1005555555555, "leaders", "")]
    with caplog.at_level(logging.WARNING, logger="bot.preflight"):
        await log_startup_warnings(world.bot, me, [], chats)
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith("nobody is an admin")
    assert lines[1].startswith("privacy mode is on")
    assert lines[2].startswith(f"chat {COMMUNITY} (community gangkou): the bot cannot open this chat")
    assert lines[3].startswith(f"chat {UNKNOWN_GROUP} (community xinhe): privacy mode hides")
    assert lines[4] == ("chat -1005555555555 (leaders ): the bot cannot open this chat (Bad Request: chat not found): "
                        "add the bot to the group")
    assert len(lines) == 5
