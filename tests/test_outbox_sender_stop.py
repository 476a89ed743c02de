"""The outbox sender stops for good, and a delivered message is recorded even through a busy database.

Both are ways a graceful stop could still repeat a message: a worker started after stop()
(a lease renewal that was in flight when SIGTERM came) sends rows that the process then
abandons mid-send; an outcome that could not be written leaves its row 'sending', so the
next start sends it again.
"""
from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

import bot.sender as sender_module
from bot.context import App
from bot.outbox import OutboxWorker
from bot.sender import OutboxSender
from storage import leases
from storage import outbox as outbox_store
from storage.db import make_engine, make_sessionmaker
from storage.models import OutboxMessage
from tests.harness import COMMUNITY, RESIDENT, World


class RenewalHeld(OutboxSender):
    """A sender on a lease of its own whose renewals can be held at the database."""

    def __init__(self, *args, **kw) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kw)
        self.hold = False
        self.renewing = asyncio.Event()
        self.go_on = asyncio.Event()

    async def _take(self) -> bool:
        if self.hold:
            self.renewing.set()
            await self.go_on.wait()
        async with self.app.sessions() as session:
            ok = await leases.take_lease(session, "outbox-under-test", self.holder, sender_module.wall_clock(),
                                         sender_module.LEASE_TTL)
            await session.commit()
        return ok


async def test_a_stop_during_a_lease_renewal_starts_no_new_worker(world: World, monkeypatch):
    started: list[OutboxWorker] = []

    class Counted(OutboxWorker):
        def __init__(self, *args, **kw) -> None:  # noqa: ANN002, ANN003
            super().__init__(*args, **kw)
            if self.app is app:  # the world's own sender may start its worker meanwhile
                started.append(self)

    monkeypatch.setattr(sender_module, "OutboxWorker", Counted)
    engine = make_engine(world.app.settings.database_url)
    app = App(settings=world.app.settings, org=world.app.org, sessions=make_sessionmaker(engine), clock=world.clock)
    sender = RenewalHeld(app, world.bot, "holder-under-test", shared=False)
    running = asyncio.create_task(sender.run())
    try:
        while not sender.sending:  # the first renewal took the lease and started the worker
            await asyncio.wait({running}, timeout=0.02)
        sender.hold = True
        await sender.renewing.wait()  # the next renewal is now in flight
        stopping = asyncio.create_task(sender.stop())
        # The old code finished stop() here, while the renewal was still out.
        await asyncio.wait({stopping}, timeout=0.5)
        sender.go_on.set()
        await stopping
        await running
        assert len(started) == 1
        assert not sender.sending
        assert all(w._stopping.is_set() for w in started)
    finally:
        sender.go_on.set()
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await engine.dispose()


async def test_a_sent_message_is_recorded_when_the_database_is_briefly_busy(world: World, monkeypatch):
    real_mark_sent = outbox_store.mark_sent
    refused: list[list[int]] = []

    async def busy_once(session, sent):  # noqa: ANN001
        if sent and not refused:
            refused.append([row_id for row_id, _ids, _at in sent])
            raise OperationalError("UPDATE outbox", {}, Exception("database is locked"))
        await real_mark_sent(session, sent)

    monkeypatch.setattr(outbox_store, "mark_sent", busy_once)
    await world.send(RESIDENT, COMMUNITY, "/appeal 垃圾没人清运")
    ack = await world.reply_from_bot(COMMUNITY, contains="#2026-000001")
    await world.settle()
    row = await world.scalar(select(OutboxMessage).where(OutboxMessage.purpose == "ack"))
    assert len(refused) == 1 and row.id in refused[0]
    assert (row.status, row.sent_message_ids) == ("sent", [ack["message_id"]])
    assert len([m for m in world.sb.bot_messages(COMMUNITY) if "#2026-000001" in (m.get("text") or "")]) == 1


async def test_a_worker_that_ends_with_an_error_is_replaced_and_the_sender_goes_on(world: World, monkeypatch):
    # The lease lapsed during a database outage; the worker, told to stop, could not write its last
    # marks and ended with that error, which escaped the sender's loop and ended it: nothing was
    # sent again until a restart.
    started: list[OutboxWorker] = []

    class FirstOneFailsAtItsEnd(OutboxWorker):
        def __init__(self, *args, **kw) -> None:  # noqa: ANN002, ANN003
            super().__init__(*args, **kw)
            if self.app is app:
                started.append(self)

        async def run(self) -> None:
            await super().run()
            if self is started[0]:
                raise ConnectionRefusedError(111, "Connect call failed")

    class LeaseLapses(RenewalHeld):
        lapse = False

        async def _take(self) -> bool:
            if self.lapse:
                self.lapse = False
                return False
            return await super()._take()

    monkeypatch.setattr(sender_module, "OutboxWorker", FirstOneFailsAtItsEnd)
    monkeypatch.setattr(sender_module, "RENEW_EVERY", 0.05)
    engine = make_engine(world.app.settings.database_url)
    app = App(settings=world.app.settings, org=world.app.org, sessions=make_sessionmaker(engine), clock=world.clock)
    sender = LeaseLapses(app, world.bot, "holder-under-test", shared=False)
    running = asyncio.create_task(sender.run())
    try:
        while not sender.sending:
            await asyncio.wait({running}, timeout=0.02)
        sender.lapse = True  # the next renewal finds the lease gone: the worker is stopped
        while len(started) < 2 or not sender.sending:  # ... and replaced once the lease is back
            await asyncio.wait({running}, timeout=0.02)
            assert not running.done(), running.exception()
        await sender.stop()
        await running
        assert len(started) == 2 and not sender.sending
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await engine.dispose()
