"""Telegram's flood limits (optional), scripted failures for retry tests, and held (slow) calls."""

from __future__ import annotations

import asyncio
import math
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any

from .errors import ApiError, too_many_requests


class FloodControl:
    """Sliding-window limits from the Bot API FAQ; off unless enabled.

    Send timestamps are always recorded (even when off) so tests and benchmarks can
    measure the rate the bot actually achieved.
    """

    def __init__(
        self,
        enabled: bool = False,
        global_per_second: float = 30,
        group_per_minute: float = 20,
        chat_per_second: float = 1,
    ):
        self.enabled = enabled
        self.global_per_second = global_per_second
        self.group_per_minute = group_per_minute
        self.chat_per_second = chat_per_second
        self.send_times: dict[int, list[float]] = defaultdict(list)
        self.rejections = 0
        self._global: deque[float] = deque()
        self._chat: dict[int, deque[float]] = defaultdict(deque)

    def configure(self, enabled: bool | None = None, **limits: float | None) -> None:
        if enabled is not None:
            self.enabled = enabled
        for key, value in limits.items():
            if key not in ("global_per_second", "group_per_minute", "chat_per_second"):
                raise TypeError(f"unknown flood limit {key!r}")
            if value is not None:
                setattr(self, key, value)

    def settings(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "global_per_second": self.global_per_second,
            "group_per_minute": self.group_per_minute,
            "chat_per_second": self.chat_per_second,
            "rejections": self.rejections,
        }

    @staticmethod
    def _window(rate: float, per: float) -> tuple[int, float]:
        """(max sends, window seconds) for a rate of `rate` per `per` seconds."""
        if rate >= 1:
            return int(rate), per
        return 1, per / rate

    @staticmethod
    def _retry_after(times: deque[float], limit: int, window: float, now: float) -> int | None:
        while times and times[0] <= now - 60.0 and times[0] <= now - window:
            times.popleft()
        recent = [t for t in times if t > now - window]
        if len(recent) < limit:
            return None
        # Free once the oldest send that still counts leaves the window.
        return max(1, math.ceil(recent[-limit] + window - now))

    def check(self, chat_id: int, is_group: bool, count: int = 1) -> None:
        """Raise 429 if sending `count` messages now would break a limit."""
        if not self.enabled:
            return
        now = time.monotonic()
        checks = [(self._global, *self._window(self.global_per_second, 1.0))]
        checks.append((self._chat[chat_id], *self._window(self.chat_per_second, 1.0)))
        if is_group:
            checks.append((self._chat[chat_id], *self._window(self.group_per_minute, 60.0)))
        waits = [
            w
            for times, limit, window in checks
            if (w := self._retry_after(times, max(1, limit - count + 1), window, now)) is not None
        ]
        if waits:
            self.rejections += 1
            raise too_many_requests(max(waits))

    def record(self, chat_id: int) -> None:
        now = time.monotonic()
        self.send_times[chat_id].append(now)
        self._global.append(now)
        chat_times = self._chat[chat_id]
        chat_times.append(now)
        # Keep only what a window can still see (the longest is a minute).
        while chat_times and chat_times[0] <= now - 60.0:
            chat_times.popleft()
        while self._global and self._global[0] <= now - 1.0:
            self._global.popleft()


@dataclass
class _Fault:
    error_code: int
    description: str
    parameters: dict[str, Any] | None


class Hold:
    """A call held unanswered (a slow Telegram) until the test releases it."""

    def __init__(self) -> None:
        self.arrived = asyncio.Event()
        self.released = asyncio.Event()
        self.params: dict[str, Any] = {}  # the held call's

    def release(self) -> None:
        self.released.set()


class FaultInjector:
    def __init__(self) -> None:
        self._faults: dict[str, deque[_Fault]] = defaultdict(deque)
        self._holds: dict[str, deque[Hold]] = defaultdict(deque)
        self.injected = 0

    def hold_next(self, method: str) -> Hold:
        """The next call of `method` waits, unanswered, until the returned hold is released."""
        hold = Hold()
        self._holds[method.lower()].append(hold)
        return hold

    def take_hold(self, method: str) -> Hold | None:
        queue = self._holds.get(method.lower())
        return queue.popleft() if queue else None

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str,
        count: int = 1,
        retry_after: int | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        params = dict(parameters or {})
        if retry_after is not None:
            params["retry_after"] = int(retry_after)
        for _ in range(count):
            self._faults[method.lower()].append(_Fault(error_code, description, params or None))

    def take(self, method: str) -> ApiError | None:
        queue = self._faults.get(method.lower())
        if not queue:
            return None
        fault = queue.popleft()
        self.injected += 1
        return ApiError(fault.error_code, fault.description, fault.parameters)

    def pending(self) -> dict[str, int]:
        return {m: len(q) for m, q in self._faults.items() if q}

    def clear(self) -> None:
        self._faults.clear()
        for queue in self._holds.values():
            for hold in queue:
                hold.release()
        self._holds.clear()
