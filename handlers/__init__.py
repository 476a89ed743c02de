"""aiogram routers, built by factories so every test gets a fresh Dispatcher (DESIGN §5).

One router per job: commands, admin, the dispatch chat's desk, a department chat's desk,
ratings, deadlines (/cards, /duty), the reporter's replies, private guided appeals, community
intake. Replies to the bot find their ticket with the `ReplyTo` filter (handlers/reply_filter.py);
the one membership lookup is injected as `members` (handlers/membership.py).
"""
from __future__ import annotations

from aiogram import Router

from handlers.admin import build_admin_router
from handlers.commands import build_commands_router, build_unknown_router
from handlers.console import build_console_router
from handlers.deadlines import build_deadlines_router
from handlers.event_filters import SomeRouterLetsIn
from handlers.department_desk import build_department_desk_router
from handlers.dispatch_desk import build_dispatch_desk_router, build_forged_router
from handlers.identity import build_identity_router
from handlers.intake import build_borrowed_identity_router, build_intake_router, build_reporter_router
from handlers.leaders import build_leaders_router
from handlers.matter import build_matter_router
from handlers.membership import Membership, MembershipMiddleware
from handlers.private import build_private_router
from handlers.ratings import build_ratings_router
from handlers.reports import build_reports_router


def build_router(membership: Membership | None = None) -> Router:
    """`membership`: the Dispatcher's cache of who is in which department chat (shared with the
    lookahead that fills it before an update's transaction, bot/app.py)."""
    root = Router(name="huying")
    members = MembershipMiddleware(membership or Membership())
    root.message.middleware(members)
    root.callback_query.middleware(members)
    # The desks' routers answer commands, replies and private chats; an appeal in a community chat
    # is none of those and passes all of them with one check on their group.
    desks = Router(name="desks")
    desks.message.filter(SomeRouterLetsIn(desks))
    for sub in (
        build_identity_router(),
        build_commands_router(),
        build_admin_router(),
        build_console_router(),
        build_leaders_router(),
        build_dispatch_desk_router(),
        build_department_desk_router(),
        build_ratings_router(),
        build_reports_router(),
        build_deadlines_router(),
        build_matter_router(),
        build_reporter_router(),
        build_private_router(),
    ):
        desks.include_router(sub)
    for sub in (
        build_borrowed_identity_router(),
        desks,
        build_intake_router(),
        build_unknown_router(),
        build_forged_router(),
    ):
        root.include_router(sub)
    return root
