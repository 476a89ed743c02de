"""Appeals filed while updates queue get their ack first and their triage after (issue 14).

With one inbox worker and two appeals from two chats in the inbox at once, the first is claimed
while the second waits: it is filed with its acknowledgement only, and bot/deferred_triage.py
routes it and draws its card once the inbox has room. The second, claimed when nothing else
waits, is triaged in its own transaction as usual. A ticket left NEW by an earlier run is taken
up without anyone asking.
"""
from __future__ import annotations

import asyncio
import os
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select, text

from bot.domain.appeal import Photo
from bot.services import intake
from storage import tickets as ticket_store
from storage.models import Ticket, TicketEvent
from tests.harness import COMMUNITY, COMMUNITY_2, DISPATCH_CHAT, RESIDENT, VOLUNTEER, World
from tests.test_story_emergency import URGENT_SEWER


def deferred() -> float:
    return REGISTRY.get_sample_value("huying_triage_deferred_total") or 0.0


def cards(world: World) -> list[str]:
    return [m["text"] for m in world.sb.bot_messages(DISPATCH_CHAT) if "#2026-" in m.get("text", "")]


@pytest.mark.parametrize("world", [{"INBOX_WORKERS": 1}], indirect=True)
async def test_an_appeal_that_waited_in_the_inbox_is_acknowledged_first_and_triaged_after(world: World):
    before = deferred()
    # Both land in the inbox in one getUpdates answer (sending does not yield to the poller).
    await world.send(RESIDENT, COMMUNITY, "/appeal 楼道里的灯坏了一个星期")
    await world.send(VOLUNTEER, COMMUNITY_2, "/appeal 小区门口的路灯不亮了")
    await world.settle()

    assert deferred() - before == 1  # the first: another update waited behind it
    rows = await world.rows(select(Ticket).order_by(Ticket.id))
    assert [(t.code, t.status, t.origin_chat_id) for t in rows] == [
        ("2026-000001", "TRIAGE", COMMUNITY), ("2026-000002", "TRIAGE", COMMUNITY_2)]
    # Each got its ack in its own chat and its card in the dispatch chat, exactly once.
    assert ["#2026-000001" in m["text"] for m in world.sb.bot_messages(COMMUNITY)] == [True]
    assert ["#2026-000002" in m["text"] for m in world.sb.bot_messages(COMMUNITY_2)] == [True]
    assert sorted(code for text in cards(world) for code in ("#2026-000001", "#2026-000002") if code in text) == [
        "#2026-000001", "#2026-000002"]
    # The deferred ticket was committed NEW with its ack, and moved on in a later transaction.
    events = await world.rows(select(TicketEvent).where(TicketEvent.ticket_id == rows[0].id).order_by(TicketEvent.id))
    assert [(e.kind, e.to_status) for e in events][:2] == [("created", "NEW"), ("triage", "TRIAGE")]


@pytest.mark.parametrize("world", [{"INBOX_WORKERS": 1}], indirect=True)
async def test_an_emergency_is_triaged_at_once_even_when_updates_wait(world: World):
    before = deferred()
    await world.send(RESIDENT, COMMUNITY, URGENT_SEWER)  # an emergency the catalogue routes
    await world.send(VOLUNTEER, COMMUNITY_2, "/appeal 小区门口的路灯不亮了")
    await world.settle()
    assert deferred() - before == 0
    first = await world.scalar(select(Ticket).where(Ticket.id == 1))
    assert (first.urgency, first.status) == ("urgent", "DISPATCHED")


async def test_a_ticket_left_new_by_an_earlier_run_is_triaged_without_being_asked(world: World):
    async with world.app.sessions() as session:  # what a process killed after filing leaves behind
        now = world.clock()
        await ticket_store.create(session, now=now - timedelta(minutes=5), code_year=2026, kind="help",
                                  urgency="normal", status="NEW", text="井盖松动，车一过就响", area_code="gangkou",
                                  reporter_id=RESIDENT, origin_chat_id=COMMUNITY, origin_message_id=999,
                                  category="市容环卫", channel="telegram")
        await session.commit()
    await world.settle()
    t = await world.scalar(select(Ticket).where(Ticket.origin_message_id == 999))
    assert t.status == "TRIAGE"
    assert len([text for text in cards(world) if f"#{t.code}" in text]) == 1


async def test_a_ticket_whose_triage_fails_does_not_hold_back_the_others_of_its_batch(world: World, monkeypatch):
    real, failing = intake.triage_now, set()

    async def failing_for_the_second(session, app, ticket):  # noqa: ANN001
        if ticket.id in failing:
            raise RuntimeError("a ticket the triage cannot handle")
        await real(session, app, ticket)

    monkeypatch.setattr(intake, "triage_now", failing_for_the_second)
    async with world.app.sessions() as session:  # one commit: the worker finds all three in one batch
        made = [await ticket_store.create(session, now=world.clock(), code_year=2026, kind="help", urgency="normal",
                                          status="NEW", text=f"垃圾桶满了没人清 {k}", area_code="gangkou",
                                          reporter_id=RESIDENT, origin_chat_id=COMMUNITY, origin_message_id=900 + k,
                                          category="市容环卫", channel="telegram") for k in range(3)]
        ids = [t.id for t in made]
        failing.add(ids[1])
        await session.commit()

    async def statuses() -> list[str]:
        return [(await world.scalar(select(Ticket).where(Ticket.id == i))).status for i in ids]

    deadline = asyncio.get_running_loop().time() + 8
    while await statuses() != ["TRIAGE", "NEW", "TRIAGE"]:
        assert asyncio.get_running_loop().time() < deadline, await statuses()
        await asyncio.sleep(0.05)
    failing.clear()  # mended: its next try (after a back-off of a second) goes through
    await world.settle()
    assert await statuses() == ["TRIAGE", "TRIAGE", "TRIAGE"]


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
                    reason="SQLite lets one writer in at a time: the photo cannot land while the card is drawn")
async def test_an_album_photo_committed_while_its_deferred_card_is_drawn_is_counted_on_the_card(world: World,
                                                                                               monkeypatch):
    async def nothing_waits(*args, **kwargs) -> list:  # noqa: ANN002, ANN003 — this test is the triage worker
        return []

    monkeypatch.setattr(intake, "waiting_triage", nothing_waits)
    async with world.app.sessions() as session:  # an album's ticket, filed with its ack only: NEW, one photo
        t = await ticket_store.create(session, now=world.clock(), code_year=2026, kind="help", urgency="normal",
                                      status="NEW", text="楼道墙皮脱落，砸到人怎么办", area_code="gangkou",
                                      reporter_id=RESIDENT, origin_chat_id=COMMUNITY, origin_message_id=700,
                                      media_group_id="album-7", category="市容环卫", channel="telegram")
        await ticket_store.add_attachment(session, t.id, file_id="p1", file_unique_id="u1", now=world.clock())
        await session.commit()

    async with world.app.sessions() as drawing:  # the triage's transaction, as bot/deferred_triage.py runs it
        [claimed] = await ticket_store.oldest_untriaged(drawing, None, frozenset(), 10)
        await intake.triage_now(drawing, world.app, claimed)

        async def second_photo() -> None:  # the album's next item, in a transaction of its own
            async with world.app.sessions() as session:
                await intake.buffer_album_item(session, world.app, COMMUNITY, 701, "album-7", RESIDENT,
                                               Photo("p2", "u2", "photo"))
                await session.commit()

        photo = asyncio.create_task(second_photo())
        # Either the photo is committed before the card (the race), or it waits for the card's lock.
        while not photo.done() and not await waiting_on_a_lock(world):
            await asyncio.sleep(0.01)
        await drawing.commit()
    await photo
    await world.reply_from_bot(DISPATCH_CHAT, contains=f"#{t.code}")  # held a moment, as an album's card is
    [card] = [words for words in cards(world) if f"#{t.code}" in words]
    assert "照片：2 张" in card


async def waiting_on_a_lock(world: World) -> bool:
    async with world.app.sessions() as session:
        return bool(await session.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")))
