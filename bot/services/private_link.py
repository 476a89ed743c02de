"""The acknowledgement's button: `/start t<code>` in a private chat with the bot (issue #13).

Who gets the details: the ticket's reporter, or the person it was reported for (a resident
whose message a grid volunteer forwarded) — the same two who may rate it and add to it. Their
start marks them as reachable in private (`people.started`, set for anyone who writes to the
bot), so from then on every note about their tickets goes to them there, not to the group;
the acknowledgement keeps its status line for the neighbours. Anyone else pressing the button —
a neighbour, someone who guessed a code — is told the link is for the reporter and learns
nothing of the ticket; a supporter (附议) is told the result will come to them.
"""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import App
from bot.domain.appeal import is_reporter
from bot.domain.codes import display
from bot.domain.rating import clip
from bot.i18n import Translator
from bot.services import group_ack, ticket_view
from storage import matter, tickets

# The events whose words the reporter reads in private: what the department and the centre said.
NEWS = {"answered": "answer", "progress": "text", "resolved": "text", "review_closed": "explanation",
        "rejected": "reason", "diverted": "channel"}


async def open_ticket(session: AsyncSession, app: App, tr: Translator, user_id: int, payload: str) -> str | None:
    """The answer to `/start <payload>` (None: the payload is not a ticket's; plain /start then)."""
    code = group_ack.code_of_payload(payload)
    if code is None:
        return None
    t = await tickets.get_by_code(session, code)
    if t is None or not is_reporter(user_id, t.reporter_id, t.on_behalf_user_id):
        # The same answer whether the ticket exists or not: codes are guessable.
        if t is not None and any(s.person_id == user_id for s in await matter.supporters(session, t.id)):
            return tr("start.supporter", code=display(t.code))
        return tr("start.not_yours")
    v = await ticket_view.view(session, t)
    if not any(e.kind == "followed_in_private" and e.actor_id == user_id for e in v.events):
        await tickets.add_event(session, t.id, "followed_in_private", app.now(), actor_id=user_id)
    lines = [tr("start.linked", code=display(t.code)), "", ticket_view.render(tr, v, app)]
    news = [e for e in v.events if e.kind in NEWS and (e.data or {}).get(NEWS[e.kind])]
    if news:
        lines.append(tr("start.news"))
        for e in news[-5:]:
            when = e.at.astimezone(app.tz).strftime("%m-%d %H:%M")
            words = (e.data or {})[NEWS[e.kind]]
            if e.kind == "diverted":  # where to take it instead: the channel's own advice
                words = tr(f"reporter.diverted_{words}", code=display(t.code))
            lines.append(f"  {when} {clip(words, 500)}")
    return "\n".join(lines)
