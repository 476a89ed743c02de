"""Names under which the web application keeps the running bot's pieces."""
from __future__ import annotations

from aiohttp import web

from bot.context import App
from bot.receiving import WebhookInbox

APP: web.AppKey[App] = web.AppKey("huying_app", App)
STOPPING: web.AppKey[dict] = web.AppKey("huying_stopping", dict)
WEBHOOK_INBOX: web.AppKey[WebhookInbox] = web.AppKey("huying_webhook_inbox", WebhookInbox)
