"""Clocks: the system's, and a shifted one for the demo and tests (real time moving on from a
chosen start, with jumps — no sleeping)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone


class ShiftedClock:
    def __init__(self, start: datetime) -> None:
        self.offset = start - datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def advance(self, delta: timedelta | None = None, **kw: float) -> datetime:
        self.offset += delta or timedelta(**kw)
        return self()

    def set(self, when: datetime) -> None:
        self.offset = when - datetime.now(timezone.utc)
