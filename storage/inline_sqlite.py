"""SQLite calls made on the event loop's own thread, with aiosqlite's worker thread kept for waits.

aiosqlite hands every call — execute, fetch, cursor, close, commit, some eighty per appeal —
to its worker thread and waits for the answer to come back through the event loop. Measured
over a burst of appeals (issue #14), SQLite itself worked 1.5 ms per appeal while the bot
spent 30 ms of CPU; running the same calls where they are made took a third off that and
1.6× more appeals per second. A statement on a local file returns in microseconds, so it
is run in place.

What must not run in place is a wait for another connection's lock (an export or a backup
writing to the same file, a second process): SQLite's busy handler sleeps, and here it
would sleep with the whole event loop. So the connection's busy timeout is short
(``INLINE_BUSY_MS``); a call that meets a lock is handed to aiosqlite's worker thread,
which waits the configured ``patience`` there while the loop goes on with everything else.
A statement that failed with SQLITE_BUSY did nothing, so making it again is what SQLite's own
busy handler does too (`REPEATABLE`: a fetch or an executemany that meets a lock is not repeated).

A commit starts SQLite's checkpoint of its write-ahead log on a thread of its own
(storage/sqlite_checkpoints.py): left to the commit, it copied and synced pages on the loop.

The price: a slow statement (a report over many tickets) holds the loop while it runs.
With one connection to a SQLite file every other database call waits for it anyway.
"""
from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from functools import partial
from typing import Any, Callable

import aiosqlite

from storage.sqlite_checkpoints import Checkpointer

INLINE_BUSY_MS = 20
# Calls that did nothing when they failed with SQLITE_BUSY, so may be made again. Not a fetch (the
# cursor's statement is gone after the error) nor an executemany (part of it may have run): with
# WAL and BEGIN IMMEDIATE (storage/db.py) only the BEGIN and the connection's first PRAGMAs meet
# a lock, and those are statements.
REPEATABLE = frozenset({"execute", "commit", "rollback", "cursor"})


def _busy(exc: sqlite3.OperationalError) -> bool:
    words = str(exc).lower()
    return "locked" in words or "busy" in words


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection that runs its calls in place; see the module's docstring.

    The two threads never use the connection at once: while a call handed to the worker thread
    has not finished — even when the task that waited for it was cancelled meanwhile — every
    later call (a rollback, the close that follows a cancellation) is queued behind it there.
    """

    def __init__(self, connector: Callable[[], sqlite3.Connection], iter_chunk_size: int, patience_ms: int,
                 checkpoints: Checkpointer | None = None) -> None:
        super().__init__(connector, iter_chunk_size)
        self.checkpoints = checkpoints
        self._thread.daemon = True  # as SQLAlchemy makes aiosqlite's own: an undisposed engine must not hold the exit
        self._patience_ms = patience_ms
        self._handed = 0  # calls queued on or running in the worker thread
        self._handed_lock = threading.Lock()

    async def _execute(self, fn, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN001
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        if not self._handed:
            try:
                return fn(*args, **kwargs)
            except sqlite3.OperationalError as exc:
                if not _busy(exc) or getattr(fn, "__name__", "") not in REPEATABLE:
                    raise
        with self._handed_lock:
            self._handed += 1
        return await super()._execute(self._patiently, fn, args, kwargs)

    async def commit(self) -> None:
        await super().commit()
        if self.checkpoints is not None:
            self.checkpoints.after_commit()

    async def close(self) -> None:
        await super().close()
        if self.checkpoints is not None:  # not left copying into a file its owner has let go of
            await asyncio.get_running_loop().run_in_executor(None, self.checkpoints.wait)

    def _patiently(self, fn, args: tuple, kwargs: dict) -> Any:  # noqa: ANN001
        """On the worker thread: the call, waiting for a lock as long as configured."""
        try:
            conn = self._conn
            conn.execute(f"PRAGMA busy_timeout={int(self._patience_ms)}")
            try:
                return fn(*args, **kwargs)
            finally:
                with contextlib.suppress(sqlite3.ProgrammingError):  # the call was the close
                    conn.execute(f"PRAGMA busy_timeout={INLINE_BUSY_MS}")
        finally:
            with self._handed_lock:
                self._handed -= 1


def creator(path: str, patience_s: float):  # noqa: ANN201
    """SQLAlchemy's ``async_creator`` for a SQLite file: a new `InlineConnection` to it."""

    async def connect() -> InlineConnection:
        connector = partial(sqlite3.connect, path, timeout=INLINE_BUSY_MS / 1000, check_same_thread=False)
        checkpoints = Checkpointer(path) if path != ":memory:" else None
        return await InlineConnection(connector, 64, int(patience_s * 1000), checkpoints)

    return connect
