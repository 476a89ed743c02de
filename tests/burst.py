"""Bursts of appeals across many community chats, and the tally of what became of them.

Shared by the inbox tests, the crash tests and ``bench/crash_burst.py``: the org file
gets one area per burst chat, the sandbox learns the chats and residents, and
``tally`` counts appeals without a ticket, with two tickets, missing and repeated acks.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from bot.sandbox import TelegramSandbox
from storage.models import Ticket
from tests.harness import DATA

FIRST_CHAT = -1002000000000
FIRST_RESIDENT = 700000


def burst_chats(n: int) -> list[int]:
    return [FIRST_CHAT - i for i in range(n)]


def burst_areas(chats: list[int]) -> list[dict]:
    org = yaml.safe_load((DATA / "org.yaml").read_text(encoding="utf-8"))
    return org["areas"] + [{"code": f"burst{i}", "name": f"社区{i}", "chats": [cid]} for i, cid in enumerate(chats)]


def burst_org_file(tmp_path: Path, chats: list[int]) -> Path:
    org = yaml.safe_load((DATA / "org.yaml").read_text(encoding="utf-8"))
    org["areas"] = burst_areas(chats)
    path = tmp_path / "org-burst.yaml"
    path.write_text(yaml.safe_dump(org, allow_unicode=True), encoding="utf-8")
    return path


def populate_burst(sb: TelegramSandbox, chats: list[int], residents: int = 50) -> list[int]:
    for cid in chats:
        sb.add_chat(cid, type="supergroup", title=f"burst {cid}")
    people = [FIRST_RESIDENT + i for i in range(residents)]
    for uid in people:
        sb.add_user(uid, f"resident {uid}")
    return people


async def send_burst(sb: TelegramSandbox, chats: list[int], people: list[int], n: int, *,
                     per_second: float | None = None, start: int = 0) -> list[tuple[int, int]]:
    """n appeals, round-robin over the chats; (chat_id, message_id) of each."""
    sent = []
    loop = asyncio.get_running_loop()
    began = loop.time()
    for k in range(start, start + n):
        chat, who = chats[k % len(chats)], people[k % len(people)]
        msg = await sb.user_sends(who, chat, f"/appeal 第{k}号：楼道路灯坏了，晚上很黑")
        sent.append((chat, msg["message_id"]))
        if per_second:
            ahead = began + (k - start + 1) / per_second - loop.time()
            if ahead > 0:
                await asyncio.sleep(ahead)
    return sent


@dataclass
class Tally:
    appeals: int
    no_ticket: int
    two_tickets: int
    missing_acks: int
    duplicate_acks: int

    @property
    def complete(self) -> bool:
        return self.no_ticket == 0 and self.missing_acks == 0

    def line(self) -> str:
        return (f"appeals={self.appeals} no_ticket={self.no_ticket} two_tickets={self.two_tickets} "
                f"missing_acks={self.missing_acks} duplicate_acks={self.duplicate_acks}")


def acks_by_appeal(sb: TelegramSandbox, chats: list[int]) -> dict[tuple[int, int], int]:
    """How many acknowledgements (a bot reply carrying a ticket code) each appeal got."""
    counts: dict[tuple[int, int], int] = {}
    for cid in set(chats):
        for msg in sb.bot_messages(cid):
            reply = msg.get("reply_to_message") or {}
            if "#20" in (msg.get("text") or "") and reply.get("message_id"):
                key = (cid, reply["message_id"])
                counts[key] = counts.get(key, 0) + 1
    return counts


async def tally(sb: TelegramSandbox, db_url: str, appeals: list[tuple[int, int]]) -> Tally:
    engine = create_async_engine(db_url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(
                select(Ticket.origin_chat_id, Ticket.origin_message_id, func.count())
                .group_by(Ticket.origin_chat_id, Ticket.origin_message_id))).all()
    finally:
        await engine.dispose()
    tickets = {(c, m): n for c, m, n in rows}
    acks = acks_by_appeal(sb, [c for c, _ in appeals])
    return Tally(
        appeals=len(appeals),
        no_ticket=sum(1 for a in appeals if tickets.get(a, 0) == 0),
        two_tickets=sum(1 for a in appeals if tickets.get(a, 0) > 1),
        missing_acks=sum(1 for a in appeals if acks.get(a, 0) == 0),
        duplicate_acks=sum(max(0, acks.get(a, 0) - 1) for a in appeals),
    )


async def wait_for_tally(sb: TelegramSandbox, db_url: str, appeals: list[tuple[int, int]],
                         timeout: float) -> Tally:
    """Poll until every appeal has a ticket and an ack (or the time is up); the last tally."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await tally(sb, db_url, appeals)
        if result.complete or loop.time() > deadline:
            return result
        await asyncio.sleep(0.5)
