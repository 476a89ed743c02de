"""Edges of intake: forum topics, oversized text, entity offsets inside an emoji, a briefly locked database."""
from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time

import pytest
from sqlalchemy import select

from storage.models import Ticket
from tests.harness import ADMIN, COMMUNITY, RESIDENT, World
from tests.steps import inbox_row

FORUM = -1003000000010


async def test_forum_topics_are_answered_in_the_same_topic(world: World):
    world.sb.add_chat(FORUM, type="supergroup", title="港口镇论坛", is_forum=True)
    await world.send(ADMIN, FORUM, "/bind community gangkou")
    await world.reply_from_bot(FORUM, contains="港口镇")
    topic = await world.sb.create_topic(FORUM, "环境卫生")
    await world.send(RESIDENT, FORUM, "/appeal 垃圾桶满了没人清运", thread_id=topic)
    ack = await world.reply_from_bot(FORUM, contains="#2026-000001")
    assert ack.get("message_thread_id") == topic
    # In the General topic the bot answers in the chat itself.
    await world.send(RESIDENT, FORUM, "/appeal 路灯不亮")
    ack2 = await world.reply_from_bot(FORUM, contains="#2026-000002")
    assert not ack2.get("is_topic_message")
    assert (await world.scalar(select(Ticket).where(Ticket.id == 1))).origin_thread_id == topic


async def test_very_long_appeal_is_kept_whole(world: World):
    text = "小区垃圾问题：" + "垃圾堆积如山，" * 700
    await world.send(RESIDENT, COMMUNITY, "/appeal " + text)
    ack = await world.reply_from_bot(COMMUNITY, contains="#2026-000001")
    assert len(ack["text"]) < 4096
    t = await world.scalar(select(Ticket))
    assert len(t.text) == len(text.strip())


async def test_a_briefly_locked_database_delays_but_loses_nothing(world: World):
    if os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("SQLite locking")
    path = world.app.settings.database_url.split("///", 1)[1]
    blocker = sqlite3.connect(path, timeout=1, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    await world.send(RESIDENT, COMMUNITY, "/appeal 井盖丢了")
    await asyncio.sleep(1.0)
    blocker.execute("COMMIT")
    blocker.close()
    await world.reply_from_bot(COMMUNITY, contains="#2026-000001", timeout=15)
    assert len(await world.rows(select(Ticket))) == 1


async def test_entity_offsets_that_split_a_surrogate_pair_do_not_fail_the_update(world: World, caplog):
    caplog.set_level(logging.ERROR)
    text = "😀#报修 小区门口路灯坏了"  # the emoji is two UTF-16 units; the entity starts inside it
    update = await world.sb.inject_update({"message": {
        "message_id": 5001, "date": int(time.time()), "text": text,
        "entities": [{"type": "hashtag", "offset": 1, "length": 4}],
        "chat": {"id": COMMUNITY, "type": "supergroup", "title": "community"},
        "from": {"id": RESIDENT, "is_bot": False, "first_name": "R"}}})
    await world.settle()
    row = await inbox_row(world, update["update_id"])
    assert (row.status, row.error) == ("done", None)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
