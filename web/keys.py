"""Names under which the web application keeps the running bot's pieces."""
from __future__ import annotations

from aiohttp import web

from bot.context import App

APP: web.AppKey[App] = web.AppKey("huying_app", App)
STOPPING: web.AppKey[dict] = web.AppKey("huying_stopping", dict)
