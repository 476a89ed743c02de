"""The durable inbox: every update is committed before Telegram hears it arrived, handled
from the database, and one bad update never blocks the rest."""
from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from sqlalchemy import func, select, text

from storage import inbox as inbox_store
from storage.models import InboxUpdate, Ticket
from tests.burst import burst_areas, burst_chats, populate_burst, send_burst, wait_for_tally
from tests.harness import ADMIN, COMMUNITY, RESIDENT, World
from web.app import build_web_app, serve
from web.keys import WEBHOOK_INBOX

CHATS = burst_chats(40)


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("world", [{"org_patch": {"areas": burst_areas(CHATS)}, "INBOX_WORKERS": 5}],
                         indirect=True)
async def test_2000_appeals_queued_at_once_lose_none(world: World):
    people = populate_burst(world.sb, CHATS)
    appeals = await send_burst(world.sb, CHATS, people, 2000)
    result = await wait_for_tally(world.sb, world.app.settings.database_url, appeals, timeout=900)
    assert (result.no_ticket, result.two_tickets, result.missing_acks, result.duplicate_acks) == (0, 0, 0, 0), \
        result.line()
    # Every ack is committed with its update's done-mark, so nothing is left in the inbox.
    assert dict(await _statuses(world)) == {"done": 2000}


async def _statuses(world: World) -> list[tuple[str, int]]:
    async with world.app.sessions() as s:
        return list((await s.execute(select(InboxUpdate.status, func.count()).group_by(InboxUpdate.status))).all())


async def test_unparseable_update_in_the_middle_is_parked_and_the_rest_handled(world: World):
    await world.send(RESIDENT, COMMUNITY, "/appeal 路灯不亮")
    bad = await world.sb.inject_update({"message": {"message_id": 777, "date": 1,
                                                    "chat": {"id": COMMUNITY, "type": "supergroup"},
                                                    "text": {"unknown": "shape"}}})
    await world.send(RESIDENT, COMMUNITY, "/appeal 井盖丢了")
    await world.reply_from_bot(COMMUNITY, contains="#2026-000002")
    await world.settle()
    row = await world.scalar(select(InboxUpdate).where(InboxUpdate.update_id == bad["update_id"]))
    assert row.status == "dead" and "cannot parse" in row.error and row.attempts == 1
    assert await world.scalar(select(func.count()).select_from(Ticket)) == 2
    # The admin sees it.
    await world.send(ADMIN, ADMIN, "/health")
    answer = await world.reply_from_bot(ADMIN, contains="1")
    assert "1" in answer["text"] and "cannot parse" in answer["text"]


async def test_a_repeated_update_is_stored_once_and_handled_once(world: World):
    msg = await world.send(RESIDENT, COMMUNITY, "/appeal 垃圾没人清运")
    await world.reply_from_bot(COMMUNITY, contains="#2026-000001")
    update = {"update_id": 990001, "message": msg}
    await world.sb.inject_update(update)
    await world.sb.inject_update(update)
    await world.settle()
    assert await world.scalar(select(func.count()).select_from(Ticket)) == 1
    assert await world.scalar(select(func.count()).select_from(InboxUpdate)
                              .where(InboxUpdate.update_id == 990001)) == 1


@pytest.mark.parametrize("world", [{"WEBHOOK_SECRET": "s3cret"}], indirect=True)
async def test_webhook_answers_200_only_once_the_update_is_in_the_inbox(world: World, unused_tcp_port):
    web_app = build_web_app(world.app, world.bot, webhook=True)
    secret = world.app.settings.webhook_secret
    runner = await serve(web_app, "127.0.0.1", unused_tcp_port)
    url = f"http://127.0.0.1:{unused_tcp_port}{world.app.settings.webhook_path}"
    update = {"update_id": 880001, "message": {
        "message_id": 4242, "date": int(time.time()), "text": "/appeal 小区停水了",
        "entities": [{"type": "bot_command", "offset": 0, "length": 7}],
        "chat": {"id": COMMUNITY, "type": "supergroup", "title": "community"},
        "from": {"id": RESIDENT, "is_bot": False, "first_name": "R"}}}
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}) as resp:
                wrong_secret = resp.status
            async with http.post(url, data=b"not json", headers=headers) as resp:
                not_json = resp.status
            async with http.post(url, json=update, headers=headers) as resp:
                assert resp.status == 200
                stored = await world.scalar(select(InboxUpdate.update_id).where(InboxUpdate.update_id == 880001))
            async with http.post(url, json=update, headers=headers) as resp:  # Telegram's retry
                again = resp.status
    finally:
        await runner.cleanup()
    assert stored == 880001 and again == 200 and not_json == 400
    assert wrong_secret == 401
    await world.settle()
    tickets = await world.rows(select(Ticket))
    assert [(t.origin_chat_id, t.origin_message_id) for t in tickets] == [(COMMUNITY, 4242)]


async def test_webhook_requests_open_together_are_committed_together_and_a_failed_commit_answers_each_500(
        world: World, unused_tcp_port, monkeypatch):
    web_app = build_web_app(world.app, world.bot, webhook=True)
    writer, real, calls = web_app[WEBHOOK_INBOX], inbox_store.receive, []
    ids = list(range(770001, 770031))

    async def commits(session, raws, now):  # noqa: ANN001
        calls.append([raw["update_id"] for raw in raws])
        if len(calls) == 1:  # the first commit fails, once every request has come in
            while len(raws) + writer.waiting < len(ids):
                await asyncio.sleep(0.01)
            raise ConnectionError("database went away")
        return await real(session, raws, now)

    monkeypatch.setattr(inbox_store, "receive", commits)
    runner = await serve(web_app, "127.0.0.1", unused_tcp_port)
    url = f"http://127.0.0.1:{unused_tcp_port}{world.app.settings.webhook_path}"

    async def post(http: aiohttp.ClientSession, update_id: int) -> tuple[int, int, bool]:
        update = {"update_id": update_id, "edited_message": {
            "message_id": update_id, "date": int(time.time()), "edit_date": int(time.time()), "text": "x",
            "chat": {"id": COMMUNITY, "type": "supergroup", "title": "community"},
            "from": {"id": RESIDENT, "is_bot": False, "first_name": "R"}}}
        async with http.post(url, json=update) as resp:
            stored = await world.scalar(select(InboxUpdate.update_id).where(InboxUpdate.update_id == update_id))
            return update_id, resp.status, stored is not None

    try:
        async with aiohttp.ClientSession() as http:
            answers = await asyncio.gather(*(post(http, i) for i in ids))
            retried = await asyncio.gather(*(post(http, i) for i, status, _ in answers if status == 500))
    finally:
        await runner.cleanup()
    # The requests in the failed commit, and only they, were answered 500; those that came in
    # while it ran shared the next commit. Every 200 came once its update was in the inbox.
    failed, rest = calls[0], sorted(set(ids) - set(calls[0]))
    assert sorted(i for i, status, _ in answers if status == 500) == sorted(failed)
    if rest:
        assert sorted(calls[1]) == rest
    assert max(len(batch) for batch in calls) > 1  # one commit for many requests
    assert [status for _, status, _ in retried] == [200] * len(failed)  # Telegram's second try
    assert all(stored for _, status, stored in answers + retried if status == 200)
    assert sorted(i for batch in calls[1:] for i in batch) == ids
    assert await world.scalar(select(func.count()).select_from(InboxUpdate).where(InboxUpdate.update_id.in_(ids))) == 30


_REFUSE_POISON = {
    "sqlite": ["CREATE TRIGGER refuse_poison BEFORE INSERT ON inbox"
               " WHEN json_extract(NEW.payload, '$.message.text') = 'poison'"
               " BEGIN SELECT RAISE(ABORT, 'this row is refused'); END"],
    "postgresql": ["CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN"
                   " IF NEW.payload->'message'->>'text' = 'poison' THEN"
                   " RAISE EXCEPTION 'this row is refused' USING ERRCODE = 'check_violation'; END IF;"
                   " RETURN NEW; END $$ LANGUAGE plpgsql",
                   "CREATE TRIGGER refuse_poison BEFORE INSERT ON inbox FOR EACH ROW EXECUTE FUNCTION refuse_poison()"],
}


async def test_an_update_the_database_refuses_is_set_aside_and_the_rest_go_on(world: World):
    # Polling retried the whole answer for ever: nothing behind it was stored, and nothing said so.
    async with world.app.sessions() as s:
        for sql in _REFUSE_POISON[s.bind.dialect.name]:
            await s.execute(text(sql))
        await s.commit()
    await world.send(RESIDENT, COMMUNITY, "/appeal 路灯不亮")
    poison = await world.sb.inject_update({"message": {"message_id": 778, "date": 1, "text": "poison",
                                                       "chat": {"id": COMMUNITY, "type": "supergroup"}}})
    await world.send(RESIDENT, COMMUNITY, "/appeal 井盖丢了")
    await world.reply_from_bot(COMMUNITY, contains="#2026-000002")
    row = await world.scalar(select(InboxUpdate).where(InboxUpdate.update_id == poison["update_id"]))
    assert (row.status, row.payload) == ("dead", {"update_id": poison["update_id"], "set_aside": True})
    assert row.error.startswith("cannot be stored: IntegrityError(") and "this row is refused" in row.error
    assert await world.scalar(select(func.count()).select_from(Ticket)) == 2


async def test_an_appeal_with_a_nul_character_is_filed_without_it(world: World):
    # PostgreSQL refuses NUL in any text column: the appeal was parked as dead there, filed on SQLite.
    await world.send(RESIDENT, COMMUNITY, "/appeal 楼道垃圾\x00没人清运好几天了")
    await world.reply_from_bot(COMMUNITY, contains="#2026-000001")
    assert await world.scalar(select(Ticket.text)) == "楼道垃圾没人清运好几天了"
