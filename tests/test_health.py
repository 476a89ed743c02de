"""/healthz and /metrics: what an operator's monitoring sees, read from the real database."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import aiohttp
import pytest
from aiohttp import web
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import create_async_engine

from bot import metrics
from scheduler.bulletins import bulletin_job
from scheduler.jobs import scan_job
from storage.models import InboxUpdate, OutboxMessage
from tests.harness import COMMUNITY, DISPATCH_CHAT, DISPATCHER, RESIDENT, World
from storage.db import make_sessionmaker
from tests.test_entrypoint import free_port
from web.health import add_health_routes


@pytest.fixture
async def http(world: World):
    web_app = web.Application()
    add_health_routes(web_app, world.app)
    runner = web.AppRunner(web_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as client:
        yield client
    await runner.cleanup()


def samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def test_healthz_reports_the_outbox_backlog_and_its_oldest_row(world: World, http):
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 垃圾没人清运")
    await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    async with http.get("/healthz") as resp:
        assert resp.status == 200
        body = await resp.json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["warnings"] == []
    assert body["outbox"] == {"backlog": 0, "oldest_age_seconds": None}
    assert body["tickets"] == {"triage": 1}
    # A message the sender cannot deliver yet: ten minutes old by the world's clock.
    async with world.app.sessions() as s:
        s.add(OutboxMessage(chat_id=COMMUNITY, method="message", payload={"text": "x"}, status="pending",
                            not_before=world.clock() + timedelta(hours=1),
                            created_at=world.clock() - timedelta(minutes=10)))
        await s.commit()
    async with http.get("/healthz") as resp:
        body = await resp.json()
    assert body["outbox"]["backlog"] == 1
    assert 600 <= body["outbox"]["oldest_age_seconds"] < 660  # the world's clock runs on in real time
    assert body["status"] == "degraded" and body["warnings"] == ["outbox behind"]


async def test_healthz_and_metrics_count_the_inbox_rows_a_dead_one_too(world: World, http):
    await world.sb.inject_update({"message": {"message_id": 777, "date": 1, "chat": {"id": COMMUNITY, "type": "supergroup"},
                                              "text": {"unknown": "shape"}}})  # cannot be parsed: parked as dead
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 垃圾没人清运")  # the same chat: handled after it
    await world.reply_from_bot(COMMUNITY, contains="#2026-000001")
    async with http.get("/healthz") as resp:
        body = await resp.json()
    age = body["inbox"].pop("last_received_age_seconds")
    assert body["inbox"] == {"pending": 0, "dead": 1, "dead_last_day": 1, "storing_failing_seconds": None}
    assert 0 <= age < 60 and body["last_update_age_seconds"] == age  # known from the database, after a restart too
    assert body["status"] == "degraded" and body["warnings"] == ["dead updates in the inbox"]
    async with http.get("/metrics") as resp:
        got = samples(await resp.text())
    assert (got[("huying_inbox_dead", ())], got[("huying_inbox_pending", ())]) == (1, 0)
    # A day later the dead row is still there to look into, but no longer news: health is ok again
    # (an alarm that never clears gets ignored, and hides the next one).
    async with world.app.sessions() as s:
        await s.execute(update(InboxUpdate).where(InboxUpdate.status == "dead")
                        .values(received_at=datetime.now(timezone.utc) - timedelta(days=1, minutes=1)))
        await s.commit()
    async with http.get("/healthz") as resp:
        body = await resp.json()
    assert (body["status"], body["inbox"]["dead"], body["inbox"]["dead_last_day"]) == ("ok", 1, 0)


async def test_healthz_is_503_when_the_database_is_gone(world: World, http, tmp_path):
    unreachable = create_async_engine(f"postgresql+asyncpg://nobody@127.0.0.1:{free_port()}/gone")
    real, world.app.sessions = world.app.sessions, make_sessionmaker(unreachable)
    try:
        async with http.get("/healthz") as resp:
            assert resp.status == 503
            body = await resp.json()
        async with http.get("/metrics") as resp:  # the last known figures, and a gauge that says so
            down = samples(await resp.text())
    finally:
        world.app.sessions = real
        await unreachable.dispose()
    assert body["status"] == "down" and "Connect call failed" in body["database"]
    assert down[("huying_database_up", ())] == 0
    async with http.get("/metrics") as resp:
        assert samples(await resp.text())[("huying_database_up", ())] == 1


async def test_metrics_count_tickets_by_status_and_the_backlog(world: World, http):
    before = metrics.OUTBOX_SENDS.labels("sent")._value.get()
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 垃圾没人清运")
    await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    async with http.get("/metrics") as resp:
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/plain")
        got = samples(await resp.text())
    assert got[("huying_tickets", (("status", "triage"),))] == 1
    assert got[("huying_tickets", (("status", "closed"),))] == 0  # a status with none is 0, not a missing series
    assert got[("huying_outbox_backlog", ())] == 0
    assert ("huying_deadline_scan_seconds_count", ()) in got
    assert before >= 0


def handled(result: str) -> float:
    return REGISTRY.get_sample_value("huying_updates_handled_total", {"result": result}) or 0.0


def report_runs(period: str, trigger: str) -> float:
    return REGISTRY.get_sample_value("huying_report_runs_total", {"period": period, "trigger": trigger}) or 0.0


async def test_every_handled_update_is_counted_and_a_dead_one_as_failed(world: World, http):
    ok, failed = handled("ok"), handled("failed")
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 垃圾没人清运")
    await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    await world.sb.inject_update({"message": {"message_id": 777, "date": 1, "chat": {"id": COMMUNITY, "type": "supergroup"},
                                              "text": {"unknown": "shape"}}})  # cannot be parsed: parked
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 井盖丢了")
    await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000002")
    assert (handled("ok"), handled("failed")) == (ok + 2, failed + 1)
    async with http.get("/metrics") as resp:
        got = samples(await resp.text())
    assert got[("huying_updates_handled_total", (("result", "ok"),))] == ok + 2
    assert got[("huying_updates_handled_total", (("result", "failed"),))] == failed + 1
    assert got[("huying_last_update_timestamp_seconds", ())] > 0


async def test_report_runs_are_counted_by_period_and_trigger(world: World, http):
    scheduled, command = report_runs("month", "scheduled"), report_runs("month", "command")
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 垃圾没人清运")
    await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    world.clock.set(datetime(2026, 12, 1, 1, 0, 30, tzinfo=timezone.utc))  # 09:00 in Shanghai: November's 通报
    assert await bulletin_job(world.app, "test-holder", world.clock()) == ["2026-11"]
    assert await bulletin_job(world.app, "test-holder", world.clock()) == []  # once: counted once
    await world.send(DISPATCHER, DISPATCH_CHAT, "/report 2026-11")
    await world.reply_from_bot(DISPATCH_CHAT, contains="诉求办理通报", predicate=lambda m: "reply_to_message" in m)
    assert (report_runs("month", "scheduled"), report_runs("month", "command")) == (scheduled + 1, command + 1)
    async with http.get("/metrics") as resp:
        got = samples(await resp.text())
    assert got[("huying_report_runs_total", (("period", "month"), ("trigger", "scheduled")))] == scheduled + 1


async def test_outbox_sends_and_429s_are_counted(world: World, http):
    def value(result: str) -> float:
        return metrics.OUTBOX_SENDS.labels(result)._value.get()

    sent, throttled, mark = value("sent"), value("retry_after_429"), len(world.sb.calls)
    world.sb.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    await world.send(RESIDENT, COMMUNITY, "@huying_bot 垃圾没人清运")
    await world.reply_from_bot(DISPATCH_CHAT, contains="#2026-000001")
    await world.reply_from_bot(COMMUNITY, contains="#2026-000001")
    async with http.get("/metrics") as resp:
        got = samples(await resp.text())
    assert value("retry_after_429") == throttled + 1
    assert got[("huying_outbox_sends_total", (("result", "retry_after_429"),))] == throttled + 1
    delivered = [c for c in world.sb.calls[mark:] if c.ok and c.method.startswith(("send", "edit", "delete"))]
    assert len(delivered) >= 2 and value("sent") == sent + len(delivered)


async def test_each_deadline_scan_is_timed(world: World):
    before = REGISTRY.get_sample_value("huying_deadline_scan_seconds_count") or 0
    await scan_job(world.app, "test-holder")
    await scan_job(world.app, "test-holder")
    assert REGISTRY.get_sample_value("huying_deadline_scan_seconds_count") == before + 2


_CLOSE_INBOX = {
    "sqlite": (["CREATE TRIGGER inbox_closed BEFORE INSERT ON inbox BEGIN SELECT RAISE(ABORT, 'closed'); END"],
               ["DROP TRIGGER inbox_closed"]),
    "postgresql": (["CREATE FUNCTION inbox_closed() RETURNS trigger AS $$ BEGIN"
                    " RAISE EXCEPTION 'closed' USING ERRCODE = 'check_violation'; END $$ LANGUAGE plpgsql",
                    "CREATE TRIGGER inbox_closed BEFORE INSERT ON inbox FOR EACH ROW EXECUTE FUNCTION inbox_closed()"],
                   ["DROP TRIGGER inbox_closed ON inbox", "DROP FUNCTION inbox_closed()"]),
}


async def _run_sql(world: World, which: int) -> None:
    async with world.app.sessions() as s:
        for sql in _CLOSE_INBOX[s.bind.dialect.name][which]:
            await s.execute(text(sql))
        await s.commit()


async def test_healthz_says_when_received_updates_cannot_be_stored(world: World, http):
    # Polling retries a commit the database refuses — here every row, so not even a dead row
    # can hold the update's place — and nothing showed it: the inbox just looked quiet.
    await _run_sql(world, 0)
    await world.sb.user_sends(RESIDENT, COMMUNITY, "@huying_bot 垃圾没人清运")
    for _ in range(600):  # until the poller has met the refusal
        if world.app.storing_failing_since is not None:
            break
        await asyncio.sleep(0.05)
    world.app.storing_failing_since -= 31  # as if it had gone on for half a minute
    async with http.get("/healthz") as resp:
        body = await resp.json()
    assert body["inbox"]["storing_failing_seconds"] >= 31
    assert body["status"] == "degraded" and body["warnings"] == ["updates cannot be stored"]
    await _run_sql(world, 1)
    await world.reply_from_bot(COMMUNITY, contains="#2026-000001", timeout=30)  # the next try stores it
    async with http.get("/healthz") as resp:
        body = await resp.json()
    assert (body["status"], body["inbox"]["storing_failing_seconds"]) == ("ok", None)


async def _until_polling_fails(world: World) -> None:
    for _ in range(600):  # until the poller has met the refusal (its next long poll: ≤ 1 s here)
        if world.app.polling_error is not None:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("getUpdates never failed")


async def test_healthz_says_when_getupdates_keeps_failing_and_clears_when_it_answers(world: World, http):
    # A webhook set by another deployment makes Telegram answer every getUpdates 409: nothing
    # arrives, and /healthz looked like a quiet evening in the neighbourhood.
    world.sb.updates.set_webhook("https://elsewhere.example/hook")
    await _until_polling_fails(world)
    async with http.get("/healthz") as resp:
        body = await resp.json()
    assert body["polling"]["error_code"] == 409
    assert body["polling"]["error"].startswith("Conflict: can't use getUpdates method while webhook is active")
    assert body["status"] == "ok"  # a blip is not yet trouble
    world.app.polling_failing_since -= 31  # as if it had gone on for half a minute
    async with http.get("/healthz") as resp:
        body = await resp.json()
    assert (body["status"], body["warnings"]) == ("degraded", ["getUpdates failing"])
    assert body["polling"]["failing_seconds"] >= 31
    world.sb.updates.delete_webhook()
    await world.sb.user_sends(RESIDENT, COMMUNITY, "@huying_bot 垃圾没人清运")
    await world.reply_from_bot(COMMUNITY, contains="#2026-000001", timeout=30)
    async with http.get("/healthz") as resp:
        body = await resp.json()
    assert (body["status"], body["polling"]) == ("ok", {"failing_seconds": None, "error": None, "error_code": None})


async def test_healthz_warns_at_once_when_telegram_refuses_the_token(world: World, http):
    token, world.sb.token = world.sb.token, "revoked"  # as @BotFather's /revoke does
    try:
        await _until_polling_fails(world)
        async with http.get("/healthz") as resp:
            body = await resp.json()
    finally:
        world.sb.token = token
    assert (body["status"], body["warnings"]) == ("degraded", ["getUpdates failing"])
    assert (body["polling"]["error_code"], body["polling"]["error"]) == (401, "Unauthorized")
