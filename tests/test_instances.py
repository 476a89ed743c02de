"""Two `python -m bot run` instances in webhook mode behind a load balancer, sharing PostgreSQL.

Updates are spread over both; the instance that sends (the outbox lease) is killed mid-burst;
nothing is lost, the survivor takes the outbox and the deadline scan over (the appeals are
dispatched at once with a 20-second accept window, so every one of them comes due and earns its
department a card — those filed after the kill can only be scanned by the survivor), and
Telegram's global limit (enforced by the sandbox) is never exceeded: one sender at a time.
"""
from __future__ import annotations

import asyncio
import os
import signal
from datetime import datetime, timezone

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from bot.sandbox import TelegramSandbox
from bot.outbox import MAX_IN_FLIGHT
from storage.models import Card, Lease, Ticket
from tests.burst import (bot_env, burst_chats, burst_org_file, free_port, populate_burst, send_burst, start_bot,
                         wait_for_tally)
from tests.harness import TOKEN, fresh_database, populate

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                                reason="several instances need PostgreSQL: set TEST_DATABASE_URL")
SECRET = "s3cret"
HEADER = "X-Telegram-Bot-Api-Secret-Token"


class Balancer:
    """Round-robin over the instances' webhooks; an instance that does not answer is skipped."""

    def __init__(self, targets: list[str]) -> None:
        self.targets, self.turn = targets, 0
        self.handled = {t: 0 for t in targets}
        self.http: aiohttp.ClientSession | None = None

    async def forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        for _ in range(len(self.targets)):
            target = self.targets[self.turn % len(self.targets)]
            self.turn += 1
            try:
                async with self.http.post(target, data=body, headers={HEADER: request.headers.get(HEADER, ""),
                                                                       "Content-Type": "application/json"}) as resp:
                    if resp.status < 500:
                        self.handled[target] += 1
                        return web.Response(status=resp.status)
            except aiohttp.ClientError:
                continue
        return web.Response(status=502)


async def holder_of(db_url: str, name: str) -> str | None:
    engine = create_async_engine(db_url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(select(Lease.holder).where(Lease.name == name))).scalar_one_or_none()
    finally:
        await engine.dispose()


async def count(db_url: str, query) -> int:  # noqa: ANN001
    engine = create_async_engine(db_url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(query)).scalar_one()
    finally:
        await engine.dispose()


async def wait_until(check, timeout: float) -> bool:  # noqa: ANN001
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.5)
    return False


@pytest.mark.timeout(900)
async def test_two_webhook_instances_share_the_inbox_and_one_survives_a_kill(tmp_path):
    async with TelegramSandbox(bot_token=TOKEN, bot_username="huying_bot", privacy_mode=False) as sb:
        populate(sb)
        sb.set_flood(True, global_per_second=12, group_per_minute=1200, chat_per_second=20)
        chats = burst_chats(10)
        people = populate_burst(sb, chats)
        db = await fresh_database(tmp_path)
        # 楼道 routes confidently to 住建局: auto-dispatch, then the accept clock runs out in 20 s.
        sla = {"normal": {"accept": "20 s", "progress": "7 d", "resolve": "5 working days"},
               "urgent": {"accept": "30 min", "resolve": "1 d"}, "reminders": []}
        org = burst_org_file(tmp_path, chats, scan_every="2 s", dispatch={"auto": True}, sla=sla)
        ports = [free_port(), free_port()]
        balancer = Balancer([f"http://127.0.0.1:{p}/telegram/webhook" for p in ports])
        lb_port = free_port()
        lb_app = web.Application()
        lb_app.router.add_post("/telegram/webhook", balancer.forward)
        runner = web.AppRunner(lb_app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", lb_port).start()
        balancer.http = aiohttp.ClientSession()
        procs: list[asyncio.subprocess.Process] = []
        try:
            for n, port in enumerate(ports):  # one after the other: the first one migrates the schema
                env = bot_env(sb, db, org, port, WEBHOOK_URL=f"http://127.0.0.1:{lb_port}/telegram/webhook",
                              WEBHOOK_SECRET=SECRET, RUN_SCHEDULER="true", OUTBOX_GLOBAL_PER_SECOND="10",
                              OUTBOX_GROUP_PER_MINUTE="1000", OUTBOX_CHAT_INTERVAL="0.1")
                procs.append(await start_bot(env, tmp_path / f"bot{n}.log"))

                async def registered(count: int = n + 1) -> bool:
                    return sum(c.method.lower() == "setwebhook" for c in sb.calls) >= count
                assert await wait_until(registered, 90), (tmp_path / f"bot{n}.log").read_text()[-3000:]
            sent = await send_burst(sb, chats, people, 60, per_second=15)
            sender = await holder_of(db, "outbox")
            victim = next(p for p in procs if f":{p.pid}:" in (sender or ""))
            survivor = next(p for p in procs if p is not victim)
            victim.send_signal(signal.SIGKILL)
            await victim.wait()
            killed_at = datetime.now(timezone.utc)
            sent += await send_burst(sb, chats, people, 60, per_second=15, start=60)
            result = await wait_for_tally(sb, db, sent, timeout=300)
            assert (result.appeals, result.no_ticket, result.two_tickets, result.missing_acks) == (120, 0, 0, 0), \
                result.line()
            assert all(n > 0 for n in balancer.handled.values()), balancer.handled
            # Only what the killed sender had in flight may be sent twice.
            assert result.duplicate_acks <= MAX_IN_FLIGHT, result.line()

            async def every_ticket_carded() -> bool:
                return await count(db, select(func.count()).select_from(Card)) == 120
            assert await wait_until(every_ticket_carded, 180), await count(db, select(func.count()).select_from(Card))
            carded = select(func.count()).select_from(Card).join(Ticket, Ticket.id == Card.ticket_id)
            assert await count(db, carded.where(Ticket.created_at > killed_at)) >= 60

            async def survivor_sends_and_scans() -> bool:
                mark = f":{survivor.pid}:"
                return mark in (await holder_of(db, "outbox") or "") and mark in (await holder_of(db, "scheduler") or "")
            assert await wait_until(survivor_sends_and_scans, 120)
            assert sb.flood.rejections == 0  # one sender at a time kept the bot's global limit
            survivor.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(survivor.wait(), 60) == 0
        finally:
            for p in procs:
                if p.returncode is None:
                    p.kill()
                    await p.wait()
            await balancer.http.close()
            await runner.cleanup()
