"""The outbox keeps its promises: nothing lost on 429/5xx/403, order per chat, flood limits kept."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import MessageLink, OutboxMessage, Person
from tests.harness import (
    CGJ_CHAT,
    COMMUNITY,
    COMMUNITY_2,
    DISPATCH_CHAT,
    LEADERS_CHAT,
    RESIDENT,
    SW_CHAT,
    UNKNOWN_GROUP,
    ZJJ_CHAT,
    World,
)


async def test_429_is_honoured_and_the_ack_still_arrives(world: World):
    world.sb.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    await world.send(RESIDENT, COMMUNITY, "/appeal 垃圾没人清运")
    ack = await world.reply_from_bot(COMMUNITY, contains="#2026-000001", timeout=10)
    row = await world.scalar(select(OutboxMessage).where(OutboxMessage.purpose == "ack"))
    assert row.status == "sent" and row.sent_message_ids == [ack["message_id"]]
    assert await world.scalar(select(MessageLink).where(MessageLink.message_id == ack["message_id"]))


async def test_server_errors_are_retried(world: World):
    world.sb.fail_next("sendMessage", 502, "Bad Gateway", count=2)
    await world.send(RESIDENT, COMMUNITY, "/appeal 路灯不亮")
    await world.reply_from_bot(COMMUNITY, contains="#2026-000001", timeout=15)
    row = await world.scalar(select(OutboxMessage).where(OutboxMessage.purpose == "ack"))
    failed = [c for c in world.sb.calls if c.method.lower() == "sendmessage" and not c.ok]
    assert row.status == "sent" and len(failed) == 2 and row.attempts >= 2


async def test_order_per_chat_is_kept(world: World):
    for n in range(5):
        await world.send(RESIDENT, COMMUNITY, f"/appeal 第{n + 1}个问题：楼道灯坏了")
    await world.reply_from_bot(COMMUNITY, contains="#2026-000005", timeout=15)
    acks = [m["text"] for m in world.sb.bot_messages(COMMUNITY) if "#2026-" in m["text"]]
    assert [a.split("#")[1][:11] for a in acks] == [f"2026-00000{n}" for n in range(1, 6)]


async def test_blocked_reporter_sees_the_news_on_the_acknowledgement(world: World):
    await world.send(RESIDENT, RESIDENT, "/start")  # the resident opened a private chat
    await world.reply_from_bot(RESIDENT)
    await world.send(RESIDENT, COMMUNITY, "/appeal 垃圾没人清运")
    await world.reply_from_bot(COMMUNITY, contains="#2026-000001")
    world.sb.block_bot(RESIDENT)
    # Something the reporter must hear about: the ticket is rejected by the dispatcher.
    from bot.services import dispatch
    from bot.services.access import roles_of
    from tests.harness import DISPATCHER

    async with world.app.sessions() as s:
        await dispatch.reject(s, world.app, 1, await roles_of(s, DISPATCHER), "重复提交")
        await world.app.commit(s)
    await world.settle()
    assert (await world.scalar(select(Person).where(Person.id == RESIDENT))).blocked
    # The group gets no new message (issue #13): its acknowledgement shows the state, and the
    # reason waits behind its button, in private.
    [ack] = world.sb.bot_messages(COMMUNITY)
    assert ack["text"].endswith("📌 进度：未予受理") and "重复提交" not in ack["text"]
    await world.sb.open_link(RESIDENT, COMMUNITY, ack["message_id"], "私聊查看进展")
    await world.reply_from_bot(RESIDENT, contains="重复提交")


@pytest.mark.parametrize("world", [{"OUTBOX_CHAT_INTERVAL": 0.25}], indirect=True)
async def test_flood_limit_is_kept_per_chat(world: World):
    world.sb.set_flood(True, chat_per_second=4)
    for n in range(4):
        await world.send(RESIDENT, COMMUNITY, f"/appeal 问题{n + 1}：井盖松动")
    await world.reply_from_bot(COMMUNITY, contains="#2026-000004", timeout=15)
    times = world.sb.send_times(COMMUNITY)
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert gaps and min(gaps) >= 0.2
    rows = await world.rows(select(OutboxMessage))
    assert all(r.status == "sent" for r in rows)


async def _queue(world: World, *rows: dict) -> None:
    """Queue rows in one transaction, as a service would, and wake the worker."""
    from storage import outbox

    async with world.app.sessions() as s:
        for row in rows:
            outbox.enqueue(s, now=world.clock(), method="message", **row)
        await world.app.commit(s)


@pytest.mark.parametrize("world", [{"OUTBOX_GLOBAL_PER_SECOND": 4}], indirect=True)
async def test_concurrent_deliveries_never_share_a_slot(world: World):
    # Telegram (the sandbox) allows 4 messages a second overall; eight chats have one each.
    world.sb.set_flood(True, global_per_second=4, chat_per_second=100, group_per_minute=100)
    chats = [DISPATCH_CHAT, LEADERS_CHAT, COMMUNITY, COMMUNITY_2, CGJ_CHAT, ZJJ_CHAT, SW_CHAT, UNKNOWN_GROUP]
    await _queue(world, *({"chat_id": c, "payload": {"text": f"news {n}"}} for n, c in enumerate(chats)))
    await world.settle(timeout=15)
    assert world.sb.flood.rejections == 0
    assert sorted(len(world.sb.send_times(c)) for c in chats) == [1] * 8
    rows = await world.rows(select(OutboxMessage))
    assert [(r.status, r.attempts) for r in rows] == [("sent", 1)] * 8


async def test_acks_and_replies_go_ahead_of_news_in_the_same_chat(world: World):
    await _queue(
        world,
        {"chat_id": COMMUNITY, "payload": {"text": "news 1"}, "purpose": "dept_note"},
        {"chat_id": COMMUNITY, "payload": {"text": "daily digest"}, "purpose": "digest"},
        {"chat_id": COMMUNITY, "payload": {"text": "news 2"}, "purpose": "dept_note"},
        {"chat_id": COMMUNITY, "payload": {"text": "the ack"}, "purpose": "ack"},
        {"chat_id": COMMUNITY, "payload": {"text": "a reply", "reply_to": 1}},
    )
    await world.settle()
    texts = [m["text"] for m in world.sb.bot_messages(COMMUNITY)]
    assert texts == ["the ack", "a reply", "news 1", "news 2", "daily digest"]


async def test_a_tickets_messages_never_overtake_each_other(world: World):
    await world.send(RESIDENT, COMMUNITY, "/appeal 路灯不亮")
    await world.reply_from_bot(COMMUNITY, contains="#2026-000001")
    before = len(world.sb.bot_messages(COMMUNITY))
    await _queue(
        world,
        {"chat_id": COMMUNITY, "payload": {"text": "ticket news"}, "purpose": "reporter_note", "ticket_id": 1},
        {"chat_id": COMMUNITY, "payload": {"text": "other answer", "reply_to": 1}},
        {"chat_id": COMMUNITY, "payload": {"text": "ticket answer"}, "ticket_id": 1, "priority": 0},
    )
    # The other answer overtakes the news; the ticket's own answer does not.
    await world.settle()
    texts = [m["text"] for m in world.sb.bot_messages(COMMUNITY)[before:]]
    assert texts == ["other answer", "ticket news", "ticket answer"]
