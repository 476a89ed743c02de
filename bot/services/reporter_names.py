"""The names a reporter is known by — of a ticket and of every ticket merged into it — that a text
for anyone but the reporter masks (bot.domain.rating.scrub): a community chat, Open311, a
neighbour who said +1, the reporter of a merged duplicate."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage import console as console_store
from storage import directory, merges
from storage.models import Ticket


async def reporter_names(session: AsyncSession, t: Ticket) -> list[str]:
    """What the bot knows the reporters by — of this ticket and of every ticket merged into it (a
    private appellant's name is no more public for his appeal having joined a neighbour's): their
    Telegram names and @usernames, the name a volunteer gave, the name a hotline gave for its
    caller. A department's result may name them, and a public text masks these
    (bot.domain.rating.scrub)."""
    names: list[str] = []
    for one in [t, *await merges.merged_under(session, t.id)]:
        names += await _names_of(session, one)
    return list(dict.fromkeys(n for n in names if n))


async def _names_of(session: AsyncSession, t: Ticket) -> list[str]:
    names = [t.on_behalf_name or ""]
    for user_id in {u for u in (t.reporter_id, t.on_behalf_user_id) if u is not None}:
        p = await directory.person(session, user_id)
        if p is not None:
            # Telegram's "first last": a Chinese name is written last+first. Whole names only: a
            # single part (路灯, 物业 as someone's first name) would mask ordinary words.
            parts = (p.full_name or "").split()
            names += [p.full_name or "", "".join(reversed(parts)) if len(parts) > 1 else "",
                      f"@{p.username}" if p.username else ""]
    if t.channel != "telegram" and (asked := await console_store.channel_request(session, t.id)) is not None:
        first, last = (asked.first_name or "").strip(), (asked.last_name or "").strip()
        if first and last:  # 李 + 四: 李四, and the western orders too
            names += [f"{last}{first}", f"{first} {last}", f"{last} {first}"]
        elif len(first or last) > 1:  # a whole name in one field; one character alone would mask words
            names.append(first or last)
    return names
