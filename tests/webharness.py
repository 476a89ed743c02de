"""Serve the running test bot's one web app (web.app.build_web_app: console, Open311, health) on a free
port, and a browser-like client that logs in to the console through /console as staff do."""
from __future__ import annotations

import re
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator
from urllib.parse import parse_qs, urlsplit

import aiohttp

from web.app import build_web_app, serve

HOTLINE_KEY, WEBFORM_KEY = "hotline-key-0001", "webform-key-0002"


@asynccontextmanager
async def serving(world: Any) -> AsyncIterator[str]:
    """The same application `python -m bot run` serves; yields its base URL (ending in /)."""
    runner = await serve(build_web_app(world.app, world.bot, webhook=False), "127.0.0.1", 0)
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}/"
    finally:
        await runner.cleanup()


async def login_token(world: Any, user: int) -> str:
    await world.send(user, user, "/console")
    msg = await world.reply_from_bot(user, contains="/login?token=")
    link = re.search(r"https?://\S+", msg["text"]).group(0)
    assert link.startswith("http://127.0.0.1:8080/login?token=")  # no CONSOLE_URL: the listening address
    return parse_qs(urlsplit(link).query)["token"][0]


class Browser:
    """A cookie-keeping HTTP client that reads CSRF tokens out of the pages, like a person's browser."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    async def get(self, path: str) -> tuple[int, str]:
        async with self.http.get(self.base + path.lstrip("/")) as resp:
            text = await resp.text()
        if m := re.search(r'name="csrf" value="([^"]+)"', text):
            self.csrf = m.group(1)
        return resp.status, text

    async def post(self, path: str, data: dict, csrf: bool = True) -> tuple[int, str]:
        body = {**data, **({"csrf": self.csrf} if csrf else {})}
        async with self.http.post(self.base + path.lstrip("/"), data=body) as resp:
            return resp.status, await resp.text()

    async def login(self, token: str) -> tuple[int, str]:
        status, page = await self.get(f"login?token={token}")
        assert status == 200 and 'name="token"' in page
        return await self.post("login", {"token": token}, csrf=False)

    async def close(self) -> None:
        await self.http.close()
