"""The one aiohttp application served on LISTEN_HOST:LISTEN_PORT, in polling mode too.

``build_web_app`` is where every HTTP surface is mounted: the Telegram webhook (webhook
mode), and the routes other modules add (health and metrics, the console, Open311).
Handlers reach the running bot through ``request.app[APP]``.
"""
from __future__ import annotations

import logging

from aiohttp import web

from bot.context import App
from web.keys import APP, STOPPING
from web.telegram import add_webhook_route

__all__ = ["APP", "STOPPING", "build_web_app", "serve"]
log = logging.getLogger(__name__)


def build_web_app(app: App, *, webhook: bool) -> web.Application:
    web_app = web.Application(client_max_size=4 * 1024 * 1024)
    web_app[APP] = app
    web_app[STOPPING] = {"now": False}  # set on SIGTERM: the webhook answers 503, Telegram retries
    if webhook:
        add_webhook_route(web_app, app.settings.webhook_path, app.settings.webhook_secret)
    # Other surfaces mount here (one line each): health/metrics, console, Open311.
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
