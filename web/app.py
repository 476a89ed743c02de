"""The one aiohttp application served on LISTEN_HOST:LISTEN_PORT, in polling mode too.

``build_web_app`` is where every HTTP surface is mounted: the Telegram webhook (webhook
mode), and the routes other modules add (health and metrics, the console, Open311).
Handlers reach the running bot through ``request.app[APP]``.
"""
from __future__ import annotations

import logging

from aiohttp import web

from aiogram import Bot

from bot.context import App
from web.console import setup_console
from web.health import add_health_routes
from web.keys import APP, STOPPING
from web.open311 import PREFIX as OPEN311_PREFIX
from web.open311 import build_open311
from web.telegram import add_webhook_route

__all__ = ["APP", "STOPPING", "build_web_app", "serve"]
log = logging.getLogger(__name__)


def build_web_app(app: App, bot: Bot, *, webhook: bool) -> web.Application:
    web_app = web.Application(client_max_size=4 * 1024 * 1024)
    web_app[APP] = app
    web_app[STOPPING] = {"now": False}  # set on SIGTERM: the webhook answers 503, Telegram retries
    if webhook:
        add_webhook_route(web_app, app.settings.webhook_path, app.settings.webhook_secret)
    # Every other surface mounts here, one line each.
    add_health_routes(web_app, app)
    setup_console(web_app, app, bot)
    web_app.add_subapp(OPEN311_PREFIX, build_open311(app))
    return web_app


async def serve(web_app: web.Application, host: str, port: int) -> web.AppRunner:
    """Start serving; the caller cleans the runner up (``await runner.cleanup()``)."""
    runner = web.AppRunner(web_app, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError:
        await runner.cleanup()
        raise
    log.info("serving HTTP on %s:%s", host, port)
    return runner
