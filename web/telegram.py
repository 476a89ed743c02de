"""The webhook route: the raw update is committed to the inbox before Telegram hears 200
(with the updates of the requests open at the same time: bot.receiving.WebhookInbox).

A failure to store it answers 500 and Telegram delivers the update again; an update the
inbox already has is simply acknowledged.  Parsing and handling happen later, from the
inbox (``bot.inbox``), so a slow or failing handler never holds the answer back.
"""
from __future__ import annotations

import hmac
import json
import logging

from aiohttp import web

from bot.receiving import WebhookInbox
from web.keys import APP, STOPPING, WEBHOOK_INBOX

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def add_webhook_route(web_app: web.Application, path: str, secret: str | None) -> None:
    # Concurrent requests' updates are committed together.
    writer = web_app[WEBHOOK_INBOX] = WebhookInbox(web_app[APP])

    async def receive(request: web.Request) -> web.Response:
        if secret and not hmac.compare_digest(request.headers.get(SECRET_HEADER, ""), secret):
            return web.Response(status=401, text="wrong secret token")
        if request.app[STOPPING]["now"]:
            return web.Response(status=503, text="shutting down")  # Telegram tries again
        try:
            raw = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            log.error("webhook: a body that is not JSON was refused")
            return web.Response(status=400, text="not JSON")
        if not isinstance(raw, dict) or not isinstance(raw.get("update_id"), int) or not 0 <= raw["update_id"] < 2**63:
            log.error("webhook: an update without an update_id was refused: %.300r", raw)
            return web.Response(status=400, text="no update_id")
        await writer.store(raw)  # raises → 500 → Telegram retries
        return web.Response(status=200)

    web_app.router.add_post(path, receive)
