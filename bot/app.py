"""Wiring: settings + org file → database, Bot, Dispatcher, outbox worker, scheduler."""
from __future__ import annotations

import asyncio
import gc
import logging
from contextlib import asynccontextmanager
from typing import AsyncIterator

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.context import App, Clock, system_clock
from bot.i18n import t
from bot.org import OrgFile, load_org, with_extra_admins
from bot.outbox import OutboxWorker
from bot.settings import Settings
from handlers import build_router
from handlers.errors import build_errors_router
from handlers.middlewares import setup_middlewares
from bot.preflight import database_error, log_startup_warnings, who_am_i
from storage import health
from storage.db import make_engine, make_sessionmaker, migrate
from storage.orgsync import import_org

log = logging.getLogger(__name__)
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]


def make_bot(settings: Settings) -> Bot:
    session = None
    if settings.telegram_api_url:
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url.rstrip("/")))
    return Bot(settings.require_token(), session=session, default=DefaultBotProperties(parse_mode=None))


def make_dispatcher(app: App) -> Dispatcher:
    dp = Dispatcher()
    setup_middlewares(dp, app)
    dp.include_router(build_router())
    dp.include_router(build_errors_router(app))
    return dp


PUBLIC_COMMANDS = ("appeal", "ticket", "my", "help", "lang", "cancel")


async def publish_commands(bot: Bot) -> None:
    """The command menu in both languages; a failure here must not stop the bot."""
    from aiogram.types import BotCommand

    for lang, code in (("zh_CN", None), ("en", "en")):
        commands = [BotCommand(command=c, description=t(lang, f"cmd.{c}")) for c in PUBLIC_COMMANDS]
        try:
            await bot.set_my_commands(commands, language_code=code)
        except TelegramAPIError as exc:
            log.warning("could not publish the command menu (%s): %s", lang, exc)


async def migrate_or_explain(url: str) -> None:
    """Migrate, or one line saying why the database cannot be opened."""
    try:
        await migrate(url)
    except Exception as exc:  # noqa: BLE001 — whatever the driver raises, the operator gets one line
        raise database_error(url, exc) from None


async def _open_database(settings: Settings, org: OrgFile) -> AsyncEngine:
    await migrate_or_explain(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            await import_org(session, org)
            await session.commit()
    except (OSError, DBAPIError) as exc:
        await engine.dispose()
        raise database_error(settings.database_url, exc) from None
    return engine


@asynccontextmanager
async def running(settings: Settings, org: OrgFile | None = None, clock: Clock = system_clock,
                  with_scheduler: bool | None = None) -> AsyncIterator[tuple[App, Bot, Dispatcher]]:
    """Everything but the update source: database ready, org imported, outbox (and scheduler) running."""
    org = with_extra_admins(org or load_org(settings.org_file), settings.admin_ids)
    bot = make_bot(settings)
    me = await who_am_i(bot, settings)  # a rejected token stops us before the database is touched
    try:
        engine = await _open_database(settings, org)
    except BaseException:
        await bot.session.close()
        raise
    app = App(settings=settings, org=org, sessions=make_sessionmaker(engine), clock=clock)
    app.bot_id, app.bot_username = me.id, me.username or app.bot_username
    app.reads_all_group_messages = bool(me.can_read_all_group_messages)
    await publish_commands(bot)
    async with app.sessions() as session:
        chats = await health.bound_chats(session)
    warnings = asyncio.create_task(log_startup_warnings(bot, me, org.admins, chats), name="startup-warnings")
    dp = make_dispatcher(app)
    worker = OutboxWorker(app, bot)
    worker_task = asyncio.create_task(worker.run(), name="outbox")
    scheduler = None
    if settings.run_scheduler if with_scheduler is None else with_scheduler:
        from scheduler.jobs import instance_id
        from scheduler.setup import start_scheduler

        holder = instance_id()
        scheduler = start_scheduler(app, bot, holder)
    # What start-up built (modules, the org, routers, pydantic models) lives as long as the process:
    # keep the cyclic collector off it, or a full collection stalls every chat for hundreds of ms.
    gc.freeze()
    try:
        yield app, bot, dp
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
            from scheduler.jobs import release_lease

            try:  # let another instance take the scan over at once
                await release_lease(app, holder)
            except Exception:  # noqa: BLE001 — shutting down; the lease expires anyway
                log.warning("could not release the scheduler lease", exc_info=True)
        warnings.cancel()
        worker.stop()
        try:
            await asyncio.wait_for(worker_task, timeout=5)
        except (TimeoutError, asyncio.CancelledError):
            worker_task.cancel()
        await bot.session.close()
        await engine.dispose()


async def run_polling(settings: Settings) -> None:
    async with running(settings) as (app, bot, dp):
        try:  # a webhook left over from another deployment would block getUpdates
            await bot.delete_webhook(drop_pending_updates=False)
        except TelegramAPIError as exc:
            log.warning("deleteWebhook failed (%s); polling anyway", exc)
        log.info("polling as @%s", app.bot_username)
        await dp.start_polling(bot, allowed_updates=ALLOWED_UPDATES, handle_signals=True, close_bot_session=False)


async def run_webhook(settings: Settings) -> None:
    from aiohttp import web
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application

    async with running(settings) as (app, bot, dp):
        web_app = web.Application()
        SimpleRequestHandler(dispatcher=dp, bot=bot, secret_token=settings.webhook_secret).register(
            web_app, path=settings.webhook_path)
        setup_application(web_app, dp, bot=bot)
        await bot.set_webhook(settings.webhook_url, secret_token=settings.webhook_secret,
                              allowed_updates=ALLOWED_UPDATES)
        runner = web.AppRunner(web_app)
        await runner.setup()
        site = web.TCPSite(runner, settings.listen_host, settings.listen_port)
        await site.start()
        log.info("webhook on %s:%s%s", settings.listen_host, settings.listen_port, settings.webhook_path)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()
