"""Pacing for Telegram's flood limits (Bot API FAQ), pure and clock-driven."""
from __future__ import annotations

from collections import defaultdict, deque


class FloodGate:
    """Answers "how long until I may send to this chat?" and records sends.

    ~30 messages/s overall, ~1/s into one chat, 20/min into one group; plus any
    `retry_after` Telegram told us for a chat (or globally).
    """

    def __init__(self, global_per_second: float = 25.0, chat_interval: float = 1.0, group_per_minute: int = 19):
        self.global_interval = 1.0 / global_per_second
        self.chat_interval = chat_interval
        self.group_per_minute = group_per_minute
        self._last_global = float("-inf")
        self._last_chat: dict[int, float] = {}
        self._group_sends: dict[int, deque[float]] = defaultdict(deque)
        self._blocked_until: dict[int, float] = {}

    def wait_time(self, chat_id: int, now: float) -> float:
        waits = [
            self._last_global + self.global_interval - now,
            self._last_chat.get(chat_id, float("-inf")) + self.chat_interval - now,
            self._blocked_until.get(chat_id, float("-inf")) - now,
        ]
        if chat_id < 0:  # groups, supergroups and channels have negative ids
            window = self._group_sends[chat_id]
            while window and window[0] <= now - 60.0:
                window.popleft()
            if len(window) >= self.group_per_minute:
                waits.append(window[0] + 60.0 - now)
        return max(0.0, *waits)

    def record(self, chat_id: int, now: float, count: int = 1) -> None:
        self._last_global = now
        self._last_chat[chat_id] = now
        if chat_id < 0:
            self._group_sends[chat_id].extend([now] * count)

    def block(self, chat_id: int, until: float) -> None:
        self._blocked_until[chat_id] = max(until, self._blocked_until.get(chat_id, 0.0))
