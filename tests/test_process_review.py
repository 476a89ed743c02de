"""The operator's processes: restarts, instances, a Telegram that answers 429/500 or is slow, a database that drops connections (a review from outside)."""
from __future__ import annotations

import asyncio

from sqlalchemy import select

from storage.models import Ticket
from tests.harness import CGJ_CHAT, World
from tests.steps import dispatched, press

NEW_COLLEAGUE = 20077  # a member of 城管局工作群, not in the org file's handlers


async def test_a_telegram_500_on_getchatmember_does_not_refuse_a_department_members_press(world: World):
    world.sb.add_user(NEW_COLLEAGUE, "新同事")
    world.sb.add_member(CGJ_CHAT, NEW_COLLEAGUE, "member")
    card = await dispatched(world, "小区门口垃圾三天没人清运")
    # Telegram hiccups once on the membership question (a 500 — it passes by itself).
    world.sb.fail_next("getChatMember", 500, "Internal Server Error: restart")
    answer = await press(world, NEW_COLLEAGUE, CGJ_CHAT, card, "签收")
    await world.settle()
    t = await world.scalar(select(Ticket).where(Ticket.id == 1))
    # The member of the department chat is a handler (DESIGN §1): the press must take effect once
    # Telegram answers again, not be refused as if they were a stranger.
    assert t.status == "ACCEPTED", (t.status, answer)


async def test_a_429_on_getchatmember_is_not_remembered_as_not_a_member(world: World):
    world.sb.add_user(NEW_COLLEAGUE, "新同事")
    world.sb.add_member(CGJ_CHAT, NEW_COLLEAGUE, "member")
    card = await dispatched(world, "小区门口垃圾三天没人清运")
    world.sb.fail_next("getChatMember", 429, "Too Many Requests: retry after 1", retry_after=1)
    answer = await press(world, NEW_COLLEAGUE, CGJ_CHAT, card, "签收")
    await world.settle()  # the press is tried again once Telegram answers; "not a member" was never remembered
    t = await world.scalar(select(Ticket).where(Ticket.id == 1))
    assert t.status == "ACCEPTED", (t.status, answer)


# --- the real process --------------------------------------------------------------------------
import signal  # noqa: E402

import pytest  # noqa: E402

from bot.sandbox import TelegramSandbox  # noqa: E402
from tests.harness import COMMUNITY, DATA, RESIDENT, TOKEN, fresh_database, populate  # noqa: E402
from tests.test_entrypoint import free_port, run_cli  # noqa: E402


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), timeout=30)
        except TimeoutError:
            proc.kill()
            await proc.wait()


@pytest.mark.parametrize("code, description", [(429, "Too Many Requests: retry after 1"),
                                               (500, "Internal Server Error")])
async def test_webhook_start_survives_a_passing_telegram_error_on_setwebhook(tmp_path, code, description):
    # Two instances deployed together both call setWebhook; Telegram answers one of them 429.
    async with TelegramSandbox(bot_token=TOKEN, bot_username="huying_bot") as sb:
        populate(sb)
        port = free_port()
        env = {"BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": sb.base_url, "DATABASE_URL": await fresh_database(tmp_path),
               "HUYING_ORG_FILE": str(DATA / "org.yaml"), "RUN_SCHEDULER": "false",
               "WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/webhook", "WEBHOOK_SECRET": "s3cret",
               "LISTEN_HOST": "127.0.0.1", "LISTEN_PORT": str(port)}
        sb.fail_next("setWebhook", code, description, retry_after=1 if code == 429 else None)
        proc = await run_cli(env, "run")
        try:
            for _ in range(600):
                if proc.returncode is not None:
                    break
                if sum(c.method.lower() == "setwebhook" for c in sb.calls) >= 2:
                    break
                await asyncio.sleep(0.05)
            if proc.returncode is not None:
                err = (await proc.stderr.read()).decode()
                pytest.fail(f"run exited {proc.returncode} on a {code} from setWebhook:\n{err[-1500:]}")
            await sb.user_sends(RESIDENT, COMMUNITY, "/appeal 小区门口垃圾三天没人清运")
            ack = await sb.wait_for_bot_message(COMMUNITY, contains="#2026-000001", timeout=60)
            assert ack["reply_to_message"]["from"]["id"] == RESIDENT
        finally:
            await _stop(proc)


async def test_a_25_minute_telegram_outage_does_not_drop_the_acknowledgement(world: World):
    """Telegram (or the server's network) is down for about 25 minutes: 500 on every send.
    The outbox retries with a back-off that reaches 300 s — and after 12 tries marks the row
    `failed` for good, so the resident's acknowledgement is never sent, and /healthz shows an
    empty backlog as if all were well."""
    from storage.models import OutboxMessage
    from tests.harness import COMMUNITY, RESIDENT
    world.sb.fail_next("sendMessage", 500, "Internal Server Error", count=26)
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 小区门口垃圾三天没人清运")

    def acked() -> list[dict]:
        return [m for m in world.sb.bot_messages(COMMUNITY) if "#2026-000001" in (m.get("text") or "")]

    loop = asyncio.get_running_loop()
    for _ in range(40):  # up to 40 × 5 min of Telegram trouble; each round the outbox tries again
        if acked():
            break
        tried, deadline = world.sb.faults.injected, loop.time() + 10
        world.clock.advance(seconds=301)
        world.app.wake_outbox()
        while world.sb.faults.injected == tried and not acked() and loop.time() < deadline:
            await asyncio.sleep(0.02)  # until the outbox's next try has reached Telegram
    await world.settle()
    ack = acked()
    rows = await world.rows(select(OutboxMessage).where(OutboxMessage.purpose == "ack"))
    assert ack, [(r.status, r.attempts, r.error) for r in rows]


# --- PostgreSQL: a connection that dies under an update ---------------------------------------
import os  # noqa: E402

from sqlalchemy import text  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from storage.models import InboxUpdate  # noqa: E402

on_postgres = pytest.mark.skipif(not (os.environ.get("TEST_DATABASE_URL") or "").startswith("postgresql"),
                                 reason="PostgreSQL: set TEST_DATABASE_URL")


@on_postgres
async def test_an_appeal_whose_connection_postgres_closes_is_tried_again_not_parked(world: World):
    """PostgreSQL restarts (or a failover, or a proxy's idle timeout, or pg_terminate_backend): an
    update in the middle of its transaction loses its connection. That is trouble that passes —
    the update must be handled again on a fresh connection, not parked as dead with the resident
    told 'internal error'."""
    url = os.environ["TEST_DATABASE_URL"]
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 先来一条，热身")  # the router's word lists load
    await world.reply_from_bot(COMMUNITY, contains="#2026-000001", timeout=30)
    engine = create_async_engine(url)
    try:
        async with engine.connect() as lock:
            await lock.execute(text("LOCK TABLE seen_updates IN ACCESS EXCLUSIVE MODE"))
            msg = await world.send(RESIDENT, COMMUNITY, "@huying_bot 小区门口垃圾三天没人清运")
            for _ in range(200):  # until the update's transaction waits for the lock
                waiting = (await lock.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"))).scalar()
                if waiting:
                    break
                await asyncio.sleep(0.05)
            assert waiting, "the update never reached the database"
            await lock.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"))
            await lock.rollback()
        await asyncio.sleep(1.0)
        await world.settle(timeout=20)
    finally:
        await engine.dispose()
    rows = await world.rows(select(InboxUpdate).where(InboxUpdate.status == "dead"))
    tickets = await world.rows(select(Ticket).where(Ticket.origin_message_id == msg["message_id"]))
    assert not rows and len(tickets) == 1, ([(r.update_id, r.error[:160]) for r in rows], len(tickets),
                                            [m.get("text") for m in world.sb.bot_messages(COMMUNITY)])


@on_postgres
@pytest.mark.timeout(900)
async def test_two_instances_started_together_on_a_new_database_both_come_up(tmp_path):
    """README: run any number of `python -m bot run` with the same DATABASE_URL. A deploy (compose
    `--scale bot=2`, a rolling restart, a reboot) starts them at the same moment: the migration and
    the org import of one must not fail the other. (A race: tried up to three times.)"""
    from tests.burst import bot_env, free_port as port, start_bot
    async with TelegramSandbox(bot_token=TOKEN, bot_username="huying_bot") as sb:
        populate(sb)
        for round_ in range(3):
            db = await fresh_database(tmp_path)
            calls = len(sb.calls)
            procs = []
            try:
                for n in range(2):
                    p = port()
                    env = bot_env(sb, db, DATA / "org.yaml", p, WEBHOOK_URL=f"http://127.0.0.1:{p}/telegram/webhook",
                                  WEBHOOK_SECRET="s3cret", LOG_LEVEL="INFO")
                    procs.append(await start_bot(env, tmp_path / f"bot{round_}-{n}.log"))
                for _ in range(900):
                    if sum(c.method.lower() == "setwebhook" for c in sb.calls[calls:]) >= 2 or \
                            any(p.returncode is not None for p in procs):
                        break
                    await asyncio.sleep(0.1)
                await asyncio.sleep(1.0)
                codes = [p.returncode for p in procs]
                logs = "\n".join((tmp_path / f"bot{round_}-{n}.log").read_text(errors="replace")[-400:]
                                 for n in range(2))
                assert codes == [None, None], (round_, codes, logs)
            finally:
                for p in procs:
                    await _stop(p)


async def test_a_slow_telegram_does_not_get_the_acknowledgement_twice(world: World):
    """Telegram is slow (overloaded: it answers sendMessage after 25 s, but the message is
    delivered). README: duplicates happen only for rows caught mid-send by a kill -9. Here the
    outbox gives up waiting after 20 s (bot/client.py REQUEST_TIMEOUT), counts it as a network
    failure and sends the same acknowledgement again: the resident reads it twice."""
    hold = world.sb.hold_next("sendMessage")
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 小区门口垃圾三天没人清运")
    await asyncio.wait_for(hold.arrived.wait(), 30)
    await asyncio.sleep(25)  # Telegram's slowness, not a synchronisation: the call stays unanswered that long
    hold.release()
    await world.settle(timeout=20)
    acks = [m for m in world.sb.bot_messages(COMMUNITY) if "#2026-000001" in (m.get("text") or "")]
    assert len(acks) == 1, [m.get("text", "")[:40] for m in acks]
