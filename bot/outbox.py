"""The outbox worker: delivers queued messages within Telegram's limits (DESIGN §5).

Woken by `App.wake_outbox()` after each commit, so an acknowledgement goes out at
once; it also sleeps until the next delayed row (an album's debounced ack).
"""
from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta
from typing import Awaitable, Callable

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import BufferedInputFile

from bot.context import App
from bot.bot_calls import call
from bot.metrics import OUTBOX_SENDS as SENDS
from bot.ratelimit import FloodGate, Slot
from storage import bulletins, directory
from storage import outbox as repo
from storage import tickets
from storage.models import OutboxMessage

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 12
# Book slots at most this far ahead: an ack committed now waits at most this long behind
# messages already booked, and a global 429 strands at most this much.
HORIZON = 0.5
MAX_IN_FLIGHT = 32
# At most one round per this many seconds, however many commits wake the worker.
ROUND_GAP = 0.02
# Recording a delivery's outcome is tried this often: a row left 'sending' would hold its chat
# up until the next start and then be sent a second time.
RECORD_ATTEMPTS = 8


class OutboxWorker:
    """Rounds: read what may go now, book each row's slot in the flood gate, claim the booked rows
    in one statement, then let each delivery sleep until its slot (see bot/ratelimit.py)."""

    def __init__(self, app: App, bot: Bot, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.app, self.bot = app, bot
        s = app.settings
        self.gate = FloodGate(s.outbox_global_per_second, s.outbox_chat_interval, s.outbox_group_per_minute)
        self.monotonic = monotonic
        self._stopping = asyncio.Event()
        self._inflight: set[asyncio.Task] = set()
        # Sent rows whose mark (and links) the next round's transaction writes: (row, chat, ids, when).
        self._marks: list[tuple[OutboxMessage, int, list[int], datetime]] = []

    async def run(self) -> None:
        async with self.app.sessions() as session:
            if n := await repo.release_stuck(session):
                log.warning("outbox: %d rows were left mid-send; they will be sent again", n)
            await session.commit()
        last_round = float("-inf")
        while not self._stopping.is_set():
            # Commits come in bursts (an appeal, its card, a delivery ending): one round for all of them.
            if (gap := ROUND_GAP - (self.monotonic() - last_round)) > 0:
                await asyncio.sleep(gap)
            # Clear before draining: a commit that lands while we drain sets it again,
            # so its message is not left waiting for the timeout.
            self.app.outbox_event.clear()
            last_round = self.monotonic()
            try:
                wait = await self.drain()
            except Exception:  # the worker must outlive any one bad row or a DB hiccup
                log.exception("outbox: drain failed")
                wait = 1.0
            try:
                await asyncio.wait_for(self.app.outbox_event.wait(), timeout=wait)
            except TimeoutError:
                pass
        # Deliveries still asleep put their rows back; those talking to Telegram finish.
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)
        await self._write_marks(attempts=RECORD_ATTEMPTS)

    def stop(self) -> None:
        self._stopping.set()
        self.app.wake_outbox()

    async def drain(self) -> float:
        """Book and start what may go now; return how long to sleep before the next round."""
        now_m = self.monotonic()
        ahead = self.gate.next_free(now_m) - now_m
        if ahead > HORIZON / 2 or len(self._inflight) >= MAX_IN_FLIGHT:
            # Booked far enough ahead: a round per delivery would cost more than it gains.
            await self._write_marks()
            return max(0.01, ahead - HORIZON / 2)
        now = self.app.now()
        plan: list[tuple[OutboxMessage, Slot]] = []
        # One transaction marks what was sent since the last round, reads the heads and claims
        # what the gate booked (SQLite's write lock is taken once per round, not three times).
        async with self.app.sessions() as session:
            marks = await self._apply_marks(session)
            rows, upcoming = await repo.heads(session, now)
            # Rows behind a chat's send in flight are looked at again when that send ends.
            wait = 30.0 if upcoming is None else (upcoming - now).total_seconds()
            for row in rows:
                count = len(row.payload.get("media", [])) or 1
                ready = self.gate.chat_ready_at(row.chat_id, now_m, count)
                if ready > self.gate.next_free(now_m):  # its chat is not free yet: do not hold the others up
                    wait = min(wait, ready - now_m)
                    continue
                if len(self._inflight) + len(plan) >= MAX_IN_FLIGHT:
                    break
                slot = self.gate.reserve(row.chat_id, now_m, count, horizon=HORIZON)
                if slot is None:  # booked far enough ahead; the rest waits for the next round
                    wait = min(wait, HORIZON / 2)
                    break
                plan.append((row, slot))
            claimed = await repo.claim_many(session, [row for row, _ in plan]) if plan else set()
            try:
                await session.commit()
            except Exception:
                self._marks[:0] = marks  # written next time
                raise
        for row, slot in plan:
            if row.id not in claimed:  # sent or rerouted meanwhile
                self.gate.cancel(slot)
                continue
            task = asyncio.create_task(self._deliver(row, slot), name=f"outbox-{row.id}")
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
        self.gate.sweep(now_m)
        return max(0.01, min(30.0, wait))

    async def _deliver(self, row: OutboxMessage, slot: Slot) -> None:
        try:
            while True:
                delay = slot.at - self.monotonic()
                if delay > 0 and await self._stopped_within(delay):
                    self.gate.cancel(slot)
                    await self._update(row, status="pending", attempts=row.attempts)  # not tried after all
                    return
                if self.gate.still_valid(slot):
                    break
                # The bot was told to pause (a 429 for everyone) after this slot was booked.
                self.gate.cancel(slot)
                slot = self.gate.reserve(row.chat_id, self.monotonic(), slot.count)
            await self._attempt(row, slot)
        finally:
            self.app.wake_outbox()  # the chat is free again: its next row may go

    async def _stopped_within(self, delay: float) -> bool:
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=delay)
        except TimeoutError:
            return False
        return True

    async def _attempt(self, row: OutboxMessage, slot: Slot) -> None:
        chat_id, thread_id, payload = row.chat_id, row.thread_id, row.payload
        try:
            try:
                if payload.get("upload"):
                    payload = await self._with_upload(row)
                if payload.get("message_of"):
                    payload = await self._with_target(row)
                ids = await call(self.bot, row, chat_id, thread_id, payload)
            finally:
                self.gate.done(slot, self.monotonic())
        except TelegramRetryAfter as exc:
            SENDS.labels("retry_after_429").inc()
            if self.gate.on_retry_after(chat_id, exc.retry_after, self.monotonic(), failed=slot):
                log.warning("outbox: Telegram's overall limit hit; pausing every chat for %s s", exc.retry_after)
            await self._retry(row, exc.retry_after, str(exc), count=False)
        except TelegramMigrateToChat as exc:
            SENDS.labels("migrated").inc()
            async with self.app.sessions() as session:
                await directory.migrate_chat(session, chat_id, exc.migrate_to_chat_id)
                await repo.reroute_chat(session, chat_id, exc.migrate_to_chat_id)
                await session.commit()
            log.warning("outbox: chat %s became %s; following it", chat_id, exc.migrate_to_chat_id)
        except (TelegramServerError, TelegramNetworkError, TimeoutError) as exc:
            SENDS.labels("retry").inc()
            # Telegram or the network is down: however long that lasts, the row waits it out
            # (every 5 minutes at most); only a refusal or a bug ends a row.
            await self._retry(row, min(2 ** row.attempts, 300), str(exc), give_up=False)
        except TelegramBadRequest as exc:
            SENDS.labels("bad_request").inc()
            await self._bad_request(row, exc)
        except (TelegramForbiddenError, TelegramNotFound) as exc:
            SENDS.labels("unreachable").inc()
            await self._unreachable(row, str(exc))
        except Exception as exc:  # a bug or an unexpected answer: keep the row, back off
            SENDS.labels("error").inc()
            log.exception("outbox: row %s failed", row.id)
            await self._retry(row, min(2 ** row.attempts, 300), repr(exc))
        else:
            SENDS.labels("sent").inc()
            await self._sent(row, chat_id, ids)

    async def _with_upload(self, row: OutboxMessage) -> dict:
        """A report's chart or an exported ledger: the bytes live in `outbox_files`, not in the row."""
        async with self.app.sessions() as session:
            stored = await bulletins.file(session, int(row.payload["upload"]))
        if stored is None:
            raise ValueError(f"outbox row {row.id}: upload {row.payload['upload']} is gone")
        field = "photo" if row.method == "photo" else "document"
        return {**row.payload, field: BufferedInputFile(stored.content, row.payload.get("filename") or stored.filename)}

    async def _with_target(self, row: OutboxMessage) -> dict:
        """An edit of a ticket's message whose id was not known when the edit was queued (the
        acknowledgement was still on its way): the message it became, from `message_links`.
        The outbox keeps a ticket's rows in order, so that message has been sent by now."""
        async with self.app.sessions() as session:
            links = await tickets.links_of(session, row.ticket_id or 0, row.payload["message_of"], row.chat_id)
        if not links:
            raise TelegramBadRequest(method=None, message=f"message to edit not found (no {row.payload['message_of']})")  # type: ignore[arg-type]
        return {**row.payload, "message_id": links[0].message_id}

    async def _bad_request(self, row: OutboxMessage, exc: TelegramBadRequest) -> None:
        text = exc.message.lower()
        if "reaction_invalid" in text and row.fallback:
            # The chat allows no such reaction: say it in words instead.
            fb = row.fallback
            await self._update(row, status="pending", method="message", chat_id=fb["chat_id"],
                               thread_id=fb.get("thread_id"), payload=fb["payload"], fallback=None, error=exc.message)
        elif "thread not found" in text and row.thread_id:
            # A forum's General topic, or a deleted topic: send to the chat itself.
            await self._update(row, status="pending", thread_id=None, error=exc.message)
        elif "message is not modified" in text:
            await self._sent(row, row.chat_id, [row.payload.get("message_id")])
        elif "message to edit not found" in text or "message to delete not found" in text or "message can't be" in text:
            await self._update(row, status="failed", error=exc.message)
        elif "chat not found" in text:
            await self._unreachable(row, exc.message)
        else:
            log.error("outbox: row %s refused by Telegram: %s", row.id, exc.message)
            await self._update(row, status="failed", error=exc.message)

    async def _unreachable(self, row: OutboxMessage, error: str) -> None:
        """The chat refuses us: use the fallback route (e.g. the reporter's original chat)."""
        fb = row.fallback
        values: dict = {"status": "failed", "error": error}
        if fb:
            values = {"status": "pending", "chat_id": fb["chat_id"], "thread_id": fb.get("thread_id"),
                      "payload": fb["payload"], "fallback": None, "error": error}

        async def record(session) -> None:  # noqa: ANN001
            if row.chat_id > 0:
                await directory.mark_unreachable(session, row.chat_id)
            else:
                chat = await directory.chat(session, row.chat_id)
                if chat is not None:
                    chat.active = False
            await repo.set_row(session, row.id, values)

        await self._record(row, record)
        log.warning("outbox: chat %s unreachable (%s)%s", row.chat_id, error, "; using fallback" if fb else "")
        if fb:
            self.app.wake_outbox()

    async def _retry(self, row: OutboxMessage, after: float, error: str, count: bool = True,
                     give_up: bool = True) -> None:
        if count and give_up and row.attempts >= MAX_ATTEMPTS:
            log.error("outbox: row %s gave up after %d attempts: %s", row.id, row.attempts, error)
            await self._update(row, status="failed", error=error)
            return
        values = {"status": "pending", "error": error, "not_before": self.app.now() + timedelta(seconds=after)}
        if not count:  # `row` was read before it was claimed: this puts the claim's +1 back
            values["attempts"] = row.attempts
        await self._update(row, **values)

    async def _sent(self, row: OutboxMessage, chat_id: int, ids: list[int]) -> None:
        """Marked sent (and linked to its ticket) by the next round's transaction, together with
        the rows sent meanwhile, rather than in a transaction of its own. Until then the row stays
        `sending`, so its chat's next message still waits for it; a crash before then sends it
        again at start-up, as a row caught mid-send always could be."""
        self._marks.append((row, chat_id, ids, self.app.now()))

    async def _apply_marks(self, session) -> list[tuple[OutboxMessage, int, list[int], datetime]]:  # noqa: ANN001
        """Write the pending marks in the caller's transaction; returns them (to put back on failure)."""
        marks, self._marks = self._marks, []
        if not marks:
            return marks
        try:
            await repo.mark_sent(session, [(row.id, ids, at) for row, _chat, ids, at in marks])
            await tickets.link_many(session, [
                {"chat_id": chat_id, "message_id": mid, "ticket_id": row.ticket_id, "purpose": row.purpose,
                 "awaiting_user_id": row.awaiting_user_id, "data": row.payload.get("link_data"), "created_at": at}
                for row, chat_id, ids, at in marks if row.ticket_id and row.purpose for mid in ids if mid is not None])
        except Exception:
            self._marks[:0] = marks
            raise
        return marks

    async def _write_marks(self, attempts: int = 1) -> None:
        """Write the pending marks in a transaction of their own, tried `attempts` times (at the end
        of a run: a mark left unwritten would send its row a second time at the next start)."""
        for attempt in range(attempts):
            if not self._marks:
                return
            try:
                async with self.app.sessions() as session:
                    marks = await self._apply_marks(session)
                    try:
                        await session.commit()
                    except Exception:
                        self._marks[:0] = marks
                        raise
                return
            except Exception:
                if attempt == attempts - 1:
                    raise
                log.warning("outbox: could not mark %d sent rows; trying again", len(self._marks), exc_info=True)
                await asyncio.sleep(min(5.0, 0.2 * 2 ** attempt))

    async def _update(self, row: OutboxMessage, **values: object) -> None:
        async def record(session) -> None:  # noqa: ANN001
            await repo.set_row(session, row.id, values)

        await self._record(row, record)
        if values.get("status") == "pending":
            self.app.wake_outbox()

    async def _record(self, row: OutboxMessage, work: Callable[..., Awaitable[None]]) -> None:
        """Write a delivery's outcome in its own transaction, trying again while the database
        is briefly busy or unreachable (the message is already with Telegram, or known to fail)."""
        for attempt in range(RECORD_ATTEMPTS):
            try:
                async with self.app.sessions() as session:
                    await work(session)
                    await session.commit()
                return
            except Exception:
                if attempt == RECORD_ATTEMPTS - 1:
                    raise
                log.warning("outbox: could not record the outcome of row %s; trying again", row.id, exc_info=True)
                await asyncio.sleep(min(5.0, 0.2 * 2 ** attempt))
