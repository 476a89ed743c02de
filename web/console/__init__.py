"""The centre's console (DESIGN §9): server-rendered pages on the bot's own aiohttp app.

`setup_console(root, app, bot)` adds its routes to the shared application. Templates are
Jinja2 through aiohttp-jinja2, with inline CSS only: deployments may be offline networks.
"""
from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiogram import Bot
from aiohttp import web

from bot.context import App
from web.console import matter_pages, pages, supervision_pages
from web.console.common import JINJA_KEY, Console, page

TEMPLATES = Path(__file__).parent / "templates"


def setup_console(root: web.Application, app: App, bot: Bot) -> Console:
    console = Console(app=app, bot=bot)
    aiohttp_jinja2.setup(root, loader=jinja2.FileSystemLoader(str(TEMPLATES)), app_key=JINJA_KEY,
                         autoescape=jinja2.select_autoescape(default=True))

    async def login_form(request: web.Request) -> web.StreamResponse:
        return await pages.login_form(console, request)

    async def login(request: web.Request) -> web.StreamResponse:
        return await pages.login(console, request)

    async def index(request: web.Request) -> web.StreamResponse:
        return await pages.index(console, request)

    root.router.add_get("/", index)
    root.router.add_get("/login", login_form)
    root.router.add_post("/login", login)
    root.router.add_post("/logout", page(console, pages.logout, post=True))
    root.router.add_get("/queue", page(console, pages.queue))
    root.router.add_get("/tickets/{code}", page(console, pages.ticket))
    root.router.add_get("/tickets/{code}/photos/{attachment}", page(console, pages.photo))
    root.router.add_post("/tickets/{code}/{action}", page(console, pages.act, post=True))
    root.router.add_get("/rates", page(console, supervision_pages.rates))
    root.router.add_get("/rates/chart.png", page(console, supervision_pages.chart))
    root.router.add_get("/hotspots", page(console, matter_pages.hotspots))
    root.router.add_get("/campaigns", page(console, matter_pages.campaigns))
    root.router.add_get("/exports", page(console, supervision_pages.exports))
    root.router.add_get("/exports/{form}.xlsx", page(console, supervision_pages.ledger))
    console.nav = [{"path": "/rates", "key": "console.nav_rates"},
                   {"path": "/hotspots", "key": "console.nav_hotspots", "sees_all": True},
                   {"path": "/campaigns", "key": "console.nav_campaigns"},
                   {"path": "/exports", "key": "console.nav_exports"}]
    return console
