"""Serve aiohttp (sub-)applications of the running test bot on a free port."""
from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator, Callable

from aiohttp import web

HOTLINE_KEY, WEBFORM_KEY = "hotline-key-0001", "webform-key-0002"


@asynccontextmanager
async def serving(setup: Callable[[web.Application], None]) -> AsyncIterator[str]:
    """Build an app with `setup`, serve it on 127.0.0.1 and yield its base URL (ending in /)."""
    root = web.Application()
    setup(root)
    runner = web.AppRunner(root)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001 — aiohttp has no public accessor
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        await runner.cleanup()
