"""Pacing for Telegram's flood limits (Bot API FAQ), pure and clock-driven.

The gate hands out *reservations*: a sender books its slot before it sleeps, so two
deliveries running at once can never share a slot (reading "when was the last send?"
and sleeping on it lets eight senders all go at the same instant).

Limits, with the stand-in's (and Telegram's) sliding-window meaning:
- overall: at most `global_per_second` messages in any second.  Slots are spaced evenly
  (1/limit apart), and a slot also waits until the send `limit` places back was
  *answered* a full second earlier: Telegram counts a request when it arrives, which is
  somewhere between our start and its answer, so start-to-answer spacing is the safe one.
- one chat: `chat_interval` seconds from the previous send's answer to the next send.
- one group: at most `group_per_minute` messages in any 60 s (an album counts each photo).
- a 429's `retry_after`: for the chat alone when our own log says the chat was near its
  limit, otherwise for the whole bot (Telegram's overall limit, or one we do not know).
"""
from __future__ import annotations

import math
from collections import defaultdict, deque
from dataclasses import dataclass, field

# What Telegram documents; used to judge whether a 429 could have been the chat's own.
TELEGRAM_CHAT_INTERVAL = 1.0
TELEGRAM_GROUP_PER_MINUTE = 20
# Even spacing at exactly 1/limit: the answered-a-window-earlier rule below is what keeps a
# late-arriving request from making `limit + 1` in a second, so no guessed margin is needed.
SPACING_MARGIN = 0.0
GROUP_WINDOW = 60.0


@dataclass
class Slot:
    """One booked send: `at` is when it may start; `done` when Telegram answered (or None)."""

    chat_id: int
    at: float
    count: int = 1
    done: float | None = None
    cancelled: bool = False
    previous: Slot | None = None  # the chat's slot before this one (back in force if this is cancelled)
    windows: list[Window] = field(default_factory=list)  # those that hold it (their totals count it)

    def answered_by(self, latency: float) -> float:
        return self.done if self.done is not None else self.at + latency


class Window:
    """Booked slots oldest first, and the messages they send (cancelled slots left out): a
    booking far from its limit needs no walk through the window, which with a high limit
    holds thousands of slots."""

    __slots__ = ("slots", "total")

    def __init__(self) -> None:
        self.slots: deque[Slot] = deque()
        self.total = 0

    def add(self, slot: Slot) -> None:
        self.slots.append(slot)
        self.total += slot.count
        slot.windows.append(self)

    def drop_oldest(self) -> None:
        slot = self.slots.popleft()
        slot.windows.remove(self)
        if not slot.cancelled:
            self.total -= slot.count

    def __len__(self) -> int:
        return len(self.slots)


class FloodGate:
    def __init__(self, global_per_second: float = 30.0, chat_interval: float = 1.0, group_per_minute: int = 20):
        self.global_limit = max(1, int(global_per_second)) if global_per_second >= 1 else 1
        self.global_window = 1.0 if global_per_second >= 1 else 1.0 / global_per_second
        self.spacing = self.global_window / self.global_limit * (1 + SPACING_MARGIN)
        self.chat_interval = chat_interval
        self.group_per_minute = group_per_minute
        self.paused_until = float("-inf")
        self._next_global = float("-inf")
        self._global = Window()  # booked slots in start order, long enough for one window
        self._last: dict[int, Slot] = {}  # each chat's latest slot
        self._groups: dict[int, Window] = defaultdict(Window)
        self._blocked_until: dict[int, float] = {}
        self._latency = 0.05  # a guess until the first answer comes back

    # --- questions ----------------------------------------------------------------------
    def chat_ready_at(self, chat_id: int, now: float, count: int = 1) -> float:
        """Earliest start the chat's own limits (and any pause) allow; books nothing."""
        t = max(now, self.paused_until, self._blocked_until.get(chat_id, float("-inf")))
        last = self._last.get(chat_id)
        if last is not None:
            t = max(t, last.answered_by(self._latency) + self.chat_interval)
        if chat_id < 0:  # groups, supergroups and channels have negative ids
            window = self._prune_group(chat_id, now)
            excess = window.total + count - self.group_per_minute
            freed = 0
            for s in window.slots if excess > 0 else ():  # free once enough of the oldest sends have left the minute
                if s.cancelled:
                    continue
                freed += s.count
                if freed >= excess:
                    t = max(t, s.answered_by(self._latency) + GROUP_WINDOW)
                    break
        return t

    def next_free(self, now: float) -> float:
        """When the next overall slot opens (to decide whether to book more now)."""
        return max(now, self._next_global, self.paused_until)

    # --- booking ------------------------------------------------------------------------
    def reserve(self, chat_id: int, now: float, count: int = 1, horizon: float = math.inf) -> Slot | None:
        """Book the earliest slot at or after `now` that keeps every limit.

        Returns None (and books nothing) when that slot is more than `horizon` seconds away.
        """
        t = max(self.chat_ready_at(chat_id, now, count), self._next_global)
        self._prune_global(now)
        # The send `global_limit` places back must have been answered a window earlier.
        seen = 0
        for s in reversed(self._global.slots) if self._global.total + count > self.global_limit else ():
            if s.cancelled:
                continue
            seen += s.count
            if seen + count > self.global_limit:
                t = max(t, s.answered_by(self._latency) + self.global_window)
                break
        if t - now > horizon:
            return None
        slot = Slot(chat_id, t, count, previous=self._last.get(chat_id))
        self._global.add(slot)
        self._next_global = t + self.spacing * count
        self._last[chat_id] = slot
        if chat_id < 0:
            self._groups[chat_id].add(slot)
        return slot

    def done(self, slot: Slot, now: float) -> None:
        """Telegram answered the send booked in `slot` (whatever it said)."""
        slot.done = max(now, slot.at)
        slot.previous = None  # only a cancelled slot needs it; no chain of old slots is kept
        self._latency = 0.8 * self._latency + 0.2 * max(0.0, now - slot.at)

    def cancel(self, slot: Slot) -> None:
        """The slot was not used (the row was taken elsewhere, or the bot paused meanwhile)."""
        if not slot.cancelled:
            for window in slot.windows:
                window.total -= slot.count
        slot.cancelled = True
        if self._last.get(slot.chat_id) is slot:
            if slot.previous is None:
                del self._last[slot.chat_id]
            else:
                self._last[slot.chat_id] = slot.previous

    def still_valid(self, slot: Slot) -> bool:
        """False when a pause began after the slot was booked: book again."""
        return slot.at >= self.paused_until and slot.at >= self._blocked_until.get(slot.chat_id, float("-inf"))

    # --- 429 ----------------------------------------------------------------------------
    def block(self, chat_id: int, until: float) -> None:
        self._blocked_until[chat_id] = max(until, self._blocked_until.get(chat_id, float("-inf")))

    def pause(self, until: float) -> None:
        self.paused_until = max(self.paused_until, until)

    def on_retry_after(self, chat_id: int, retry_after: float, now: float, failed: Slot | None = None) -> bool:
        """Take a 429 for `chat_id`; True when it was judged the overall limit (the bot pauses)."""
        until = now + retry_after
        if self._chat_was_near_its_limit(chat_id, failed):
            self.block(chat_id, until)
            return False
        self.pause(until)
        return True

    def _chat_was_near_its_limit(self, chat_id: int, failed: Slot | None) -> bool:
        at = failed.at if failed is not None else math.inf
        if chat_id < 0:
            pool = self._groups[chat_id].slots if chat_id in self._groups else deque()
        else:
            pool = self._global.slots
        earlier = [s for s in pool if s.chat_id == chat_id and s is not failed and not s.cancelled and s.at < at]
        if earlier and at - earlier[-1].at < TELEGRAM_CHAT_INTERVAL:
            return True
        if chat_id < 0:
            recent = sum(s.count for s in earlier if s.at > at - GROUP_WINDOW)
            return recent + (failed.count if failed else 1) > TELEGRAM_GROUP_PER_MINUTE
        return False

    # --- housekeeping -------------------------------------------------------------------
    def _prune_global(self, now: float) -> None:
        # Keep a window's worth plus the limit's count: enough for the look-back above.
        while len(self._global) > self.global_limit * 2 and self._global.slots[0].answered_by(self._latency) < now - 2:
            self._global.drop_oldest()

    def _prune_group(self, chat_id: int, now: float) -> Window:
        """The group's sends that still count against its minute (oldest first)."""
        window = self._groups.get(chat_id)
        if window is None:
            return Window()
        while window.slots and (window.slots[0].cancelled or window.slots[0].answered_by(self._latency) <= now - GROUP_WINDOW):
            window.drop_oldest()
        return window

    def sweep(self, now: float) -> None:
        """Forget chats whose limits no longer matter (memory stays flat in the number of chats)."""
        horizon = now - max(GROUP_WINDOW, self.chat_interval) - 1
        for chat_id in [c for c, s in self._last.items() if s.answered_by(self._latency) < horizon]:
            del self._last[chat_id]
            self._groups.pop(chat_id, None)
        for chat_id in [c for c, until in self._blocked_until.items() if until < now]:
            del self._blocked_until[chat_id]
