"""aiogram routers, built by factories so every test gets a fresh Dispatcher (DESIGN §5)."""
from __future__ import annotations

from aiogram import Router


def build_router() -> Router:
    from handlers.admin import build_admin_router
    from handlers.commands import build_commands_router, build_unknown_router
    from handlers.console import build_console_router
    from handlers.deadlines import build_deadlines_router
    from handlers.intake import build_intake_router
    from handlers.private import build_private_router
    from handlers.ratings import build_ratings_router
    from handlers.work import build_work_router
    from handlers.workflow import build_forged_router, build_workflow_router

    root = Router(name="huying")
    for sub in (
        build_commands_router(),
        build_admin_router(),
        build_console_router(),
        build_work_router(),
        build_workflow_router(),
        build_ratings_router(),
        build_deadlines_router(),
        build_private_router(),
        build_intake_router(),
        build_unknown_router(),
        build_forged_router(),
    ):
        root.include_router(sub)
    return root
