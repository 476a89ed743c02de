"""Replies to the bot's own messages find their ticket in `message_links` (never in the text).

Feature routers register what a reply to a message of a given purpose means.
"""
from __future__ import annotations

from typing import Awaitable, Callable

ReplyHandler = Callable[..., Awaitable[bool]]
_REGISTRY: dict[str, ReplyHandler] = {}


def on_reply(*purposes: str) -> Callable[[ReplyHandler], ReplyHandler]:
    def deco(fn: ReplyHandler) -> ReplyHandler:
        for p in purposes:
            _REGISTRY[p] = fn
        return fn

    return deco


def handler_for(purpose: str) -> ReplyHandler | None:
    return _REGISTRY.get(purpose)
