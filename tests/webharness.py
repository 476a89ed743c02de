"""Serve the running test bot's one web app (web.app.build_web_app: console, Open311, health) on a free port."""
from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

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
