"""Wiring: settings + org file → database, Bot, Dispatcher, outbox worker, scheduler."""
from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import threading
from contextlib import asynccontextmanager
from typing import AsyncIterator

from aiogram import Bot, Dispatcher
from aiogram.exceptions import (TelegramAPIError, TelegramBadRequest, TelegramNetworkError, TelegramRetryAfter,
                                TelegramServerError)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.client import make_bot
from bot.command_menus import publish_commands, publish_desk_menus
from bot.context import App, Clock, system_clock
from bot.domain import duplicates
from bot.inbox import InboxWorkers
from bot.org import OrgFile, as_deployed, load_org
from bot.receiving import ALLOWED_UPDATES, RETRY_PAUSES, Poller
from bot.sender import OutboxSender
from bot.services import department_cards, dispatch_cards
from bot.settings import Settings, SettingsError
from handlers import build_router
from handlers.errors import build_errors_router
from handlers.admin import PrivacyLookahead
from handlers.membership import Membership, MembershipLookahead
from handlers.middlewares import setup_middlewares
from bot.preflight import database_error, log_startup_warnings, webhook_path_warning, who_am_i
from storage import health
from storage.db import make_engine, make_sessionmaker, migrate
from scheduler.jobs import instance_id, release_lease
from scheduler.setup import start_scheduler
from storage.orgsync import import_org
from storage.sqlite_owner import FileInUse, sole_owner
from web.app import STOPPING, build_web_app, serve

log = logging.getLogger(__name__)
SHUTDOWN_GRACE = 10.0  # seconds in-flight updates get to finish on SIGTERM
# After a stop signal the process is gone within this, whatever still waits: a database that
# does not answer (a SQLite file another process holds locked) kept it running until it did.
# Leaving without the rest of the shutdown loses nothing — everything lives in the database, as
# after a kill -9.
SHUTDOWN_DEADLINE = SHUTDOWN_GRACE + 5.0


def make_dispatcher(app: App) -> Dispatcher:
    # No conversation here keeps aiogram's FSM state (a guided appeal's steps are drafts in the
    # database, storage/drafts.py): without it, no state is looked up for every update.
    dp = Dispatcher(disable_fsm=True)
    membership = Membership()
    # Before the session's middleware: Telegram is asked with no transaction open.
    dp.update.outer_middleware(MembershipLookahead(app, membership))
    dp.update.outer_middleware(PrivacyLookahead(app))
    setup_middlewares(dp, app)
    dp.include_router(build_router(membership))
    dp.include_router(build_errors_router(app))
    return dp


async def migrate_or_explain(url: str) -> None:
    """Migrate, or one line saying why the database cannot be opened."""
    try:
        await migrate(url)
    except Exception as exc:  # noqa: BLE001 — whatever the driver raises, the operator gets one line
        raise database_error(url, exc) from None


async def _open_database(settings: Settings, org: OrgFile, clock: Clock) -> tuple[App, AsyncEngine]:
    await migrate_or_explain(settings.database_url)
    engine = make_engine(settings.database_url)
    app = App(settings=settings, org=org, sessions=make_sessionmaker(engine), clock=clock)
    try:
        async with app.sessions() as session:
            moved = await import_org(session, org)
            # The file moved a department or the dispatch desk to another group: the open
            # tickets' cards, the only place with their buttons, follow (in the import's transaction).
            for code in moved.departments:
                await department_cards.post_again(session, app, code)
            if moved.dispatch:
                await dispatch_cards.post_again(session, app)
            await session.commit()
    except (OSError, DBAPIError) as exc:
        await engine.dispose()
        raise database_error(settings.database_url, exc) from None
    return app, engine


def warm_word_lists(app: App) -> None:
    app.matcher.warm()
    duplicates.warm()


def inbox_workers(dp: Dispatcher) -> InboxWorkers:
    """The running inbox workers (tests wait on them to drain)."""
    return dp.workflow_data["inbox_workers"]


@asynccontextmanager
async def running(settings: Settings, org: OrgFile | None = None, clock: Clock = system_clock,
                  with_scheduler: bool | None = None) -> AsyncIterator[tuple[App, Bot, Dispatcher]]:
    """Everything but the update source: database ready, org imported, inbox workers, the
    outbox sender (under its lease) and the scheduler running.

    Leaving it is the graceful half of a shutdown: the workers take nothing new and get
    ``SHUTDOWN_GRACE`` seconds to finish (what does not finish stays in the inbox), the
    outbox finishes the row it is sending, the leases are released for other instances.
    """
    org = as_deployed(org or load_org(settings.org_file), settings.admin_ids, settings.timezone)
    bot = make_bot(settings)
    me = await who_am_i(bot, settings)  # a rejected token stops us before the database is touched
    try:
        app, engine = await _open_database(settings, org, clock)
    except BaseException:
        await bot.session.close()
        raise
    app.bot_id, app.bot_username = me.id, me.username or app.bot_username
    # The word lists routing and the duplicate check cut appeals with (jieba's dictionary, some
    # 80 MB, a second to load): now, not inside the first appeal's transaction.
    await asyncio.to_thread(warm_word_lists, app)
    app.reads_all_group_messages = bool(me.can_read_all_group_messages)
    await publish_commands(bot)
    async with app.sessions() as session:
        chats = await health.bound_chats(session)
    await publish_desk_menus(bot, [(chat_id, kind) for chat_id, kind, _code in chats])
    warnings = asyncio.create_task(log_startup_warnings(bot, me, org.admins, chats), name="startup-warnings")
    dp = make_dispatcher(app)
    holder = instance_id()
    shared = engine.dialect.name != "sqlite"  # several instances may share PostgreSQL, never a SQLite file
    workers = InboxWorkers(app, bot, dp, holder, exclusive=not shared)
    dp.workflow_data["inbox_workers"] = workers
    workers_task = asyncio.create_task(workers.run(), name="inbox")
    # The outbox sends through a bot of its own, whose session skips what only it can spare.
    outbox_bot = make_bot(settings, for_outbox=True)
    sender = OutboxSender(app, outbox_bot, holder, shared=shared)
    sender_task = asyncio.create_task(sender.run(), name="outbox-lease")
    scheduler = None
    if settings.run_scheduler if with_scheduler is None else with_scheduler:
        scheduler = start_scheduler(app, bot, holder)
    # What start-up built (modules, the org, routers, pydantic models) lives as long as the process:
    # keep the cyclic collector off it, or a full collection stalls every chat for hundreds of ms.
    gc.freeze()
    try:
        yield app, bot, dp
    finally:
        await workers.stop(SHUTDOWN_GRACE)
        await asyncio.gather(workers_task, return_exceptions=True)
        if scheduler is not None:
            scheduler.shutdown(wait=False)
            try:  # let another instance take the scan over at once
                await release_lease(app, holder)
            except Exception:  # noqa: BLE001 — shutting down; the lease expires anyway
                log.warning("could not release the scheduler lease", exc_info=True)
        warnings.cancel()
        await sender.stop()
        await asyncio.gather(sender_task, return_exceptions=True)
        await outbox_bot.session.close()
        await bot.session.close()
        await engine.dispose()


def exit_by_deadline(seconds: float = SHUTDOWN_DEADLINE) -> threading.Timer:
    """A thread, so it fires even while the event loop waits on a stuck call."""
    def give_up() -> None:
        log.error("stopping took more than %.0f s (the database did not answer); leaving now — what was "
                  "received is in the inbox and is handled at the next start", seconds)
        logging.shutdown()
        os._exit(0)

    timer = threading.Timer(seconds, give_up)
    timer.daemon = True
    timer.start()
    return timer


def stop_on_signals() -> asyncio.Event:
    """SIGTERM (every deploy, ``docker stop``) and SIGINT set the event: a graceful stop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread, or Windows
            pass
    return stop


async def serve_bot(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """``python -m bot run``: long polling, or the webhook when WEBHOOK_URL is set; the HTTP
    application on LISTEN_HOST:LISTEN_PORT either way.  Returns after a graceful stop."""
    stop = stop or stop_on_signals()
    webhook = bool(settings.webhook_url)
    try:
        with sole_owner(settings.database_url):
            await _serve(settings, stop, webhook)
    except FileInUse as exc:  # raised on entering only: one line for the operator
        raise SettingsError(str(exc)) from None


async def _serve(settings: Settings, stop: asyncio.Event, webhook: bool) -> None:
    async with running(settings) as (app, bot, dp):
        web_app = build_web_app(app, bot, webhook=webhook)
        try:
            runner = await serve(web_app, settings.listen_host, settings.listen_port)
        except OSError as exc:
            if webhook:
                raise SettingsError(f"LISTEN_PORT: cannot listen on {settings.listen_host}:"
                                    f"{settings.listen_port} ({exc.strerror or exc})") from None
            runner = None  # polling still works; only the HTTP surfaces are missing
            log.error("cannot listen on %s:%s (%s); polling without HTTP", settings.listen_host,
                      settings.listen_port, exc.strerror or exc)
        try:
            if webhook:
                await set_webhook_patiently(bot, settings, stop)
                if warning := webhook_path_warning(settings):
                    log.warning("%s", warning)
                log.info("webhook on %s:%s%s", settings.listen_host, settings.listen_port, settings.webhook_path)
                await stop.wait()
                exit_by_deadline()
                web_app[STOPPING]["now"] = True  # from now on Telegram hears 503 and tries again
            else:
                try:  # a webhook left over from another deployment would block getUpdates
                    await bot.delete_webhook(drop_pending_updates=False)
                except TelegramAPIError as exc:
                    log.warning("deleteWebhook failed (%s); polling anyway", exc)
                log.info("polling as @%s", app.bot_username)
                poller = Poller(app, bot)
                polling = asyncio.create_task(poller.run(), name="polling")
                stopped = asyncio.create_task(stop.wait())
                await asyncio.wait({polling, stopped}, return_when=asyncio.FIRST_COMPLETED)
                exit_by_deadline()
                poller.stop()
                stopped.cancel()
                await asyncio.gather(polling, return_exceptions=True)
            log.info("stopping: no new updates are taken; finishing what is in flight")
        finally:
            if runner is not None:
                await runner.cleanup()
    log.info("stopped")


async def set_webhook_patiently(bot: Bot, settings: Settings, stop: asyncio.Event) -> None:
    """setWebhook, waiting out what passes: instances deployed together all set it, and Telegram
    may answer the later ones 429 (or a 5xx). A refusal is a setting to fix: one line."""
    for pause in (*RETRY_PAUSES, *[RETRY_PAUSES[-1]] * 20):
        try:
            await bot.set_webhook(settings.webhook_url, secret_token=settings.webhook_secret,
                                  allowed_updates=ALLOWED_UPDATES)
            return
        except TelegramBadRequest as exc:
            raise SettingsError(f"WEBHOOK_URL / WEBHOOK_SECRET: Telegram refused the webhook ({exc.message})") from None
        except TelegramRetryAfter as exc:
            pause = max(pause, exc.retry_after)
            log.warning("setWebhook: Telegram asks to wait %s s", exc.retry_after)
        except (TelegramServerError, TelegramNetworkError) as exc:
            log.warning("setWebhook failed (%s); again in %s s", exc, pause)
        if stop.is_set():
            return
        try:
            await asyncio.wait_for(stop.wait(), timeout=pause)
            return
        except TimeoutError:
            pass
    raise SettingsError("WEBHOOK_URL: Telegram did not take the webhook for several minutes; try again later")


async def run_polling(settings: Settings) -> None:
    await serve_bot(settings)


async def run_webhook(settings: Settings) -> None:
    await serve_bot(settings)
