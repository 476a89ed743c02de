"""Appeals filed while updates queue get their ack first and their triage after (issue 14).

With one inbox worker and two appeals from two chats in the inbox at once, the first is claimed
while the second waits: it is filed with its acknowledgement only, and bot/deferred_triage.py
routes it and draws its card once the inbox has room. The second, claimed when nothing else
waits, is triaged in its own transaction as usual. A ticket left NEW by an earlier run is taken
up without anyone asking.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from storage import tickets as ticket_store
from storage.models import Ticket, TicketEvent
from tests.harness import COMMUNITY, COMMUNITY_2, DISPATCH_CHAT, RESIDENT, VOLUNTEER, World


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
