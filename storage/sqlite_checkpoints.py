"""SQLite's WAL checkpoints on a thread of their own, not inside a commit on the event loop.

A checkpoint copies the pages the write-ahead log holds back into the database file and syncs
both. SQLite runs one inside the commit that takes the log past ``wal_autocheckpoint`` pages
(1000 by default), and commits run on the event loop's thread here (storage/inline_sqlite.py):
every update waited while pages were copied and synced. How long that takes follows the size of
the file, not the work: bench/deadline_scan.py's five commits for 1,000 due tickets took 17 ms
among 10,000 open tickets and 266 ms among a million, whose pages lie all over the file.

So the connection's own checkpoint is set far off (`BACKSTOP_PAGES`: it still runs should this
thread fall behind, as under a long unbroken stream of writes) and, after a commit, a passive
checkpoint is started on a thread with a connection of its own — at most one at a time, and not
again within `EVERY` seconds of the last start. PASSIVE never waits for a reader or the writer,
so it holds nobody up; what it could not copy yet, the next one does. Durability is unchanged:
a commit is in the log either way (``synchronous=NORMAL``), and the log is synced before any of
it is copied.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import Callable

log = logging.getLogger(__name__)

BACKSTOP_PAGES = 10_000  # ~40 MB of log with 4 KB pages
# The log file keeps the size of its longest stretch between checkpoints (a burst, a big scan)
# unless told otherwise: SQLite cuts it back to this when it next starts the log from the top.
LOG_LIMIT_BYTES = 8 * 1024 * 1024
EVERY = 0.5  # seconds between the starts of two checkpoints


@dataclass(frozen=True)
class Checkpoint:
    """What one checkpoint did: SQLite's answer (log pages, pages copied) and the thread it ran on."""

    busy: bool
    log_pages: int
    copied_pages: int
    thread: int


class Checkpointer:
    """Background checkpoints of one database file (one per pooled connection)."""

    def __init__(self, path: str, every: float = EVERY, clock: Callable[[], float] = time.monotonic) -> None:
        self.path, self.every, self.clock = path, every, clock
        self.last: Checkpoint | None = None
        self._running: threading.Thread | None = None
        self._started = float("-inf")

    def after_commit(self) -> None:
        """Start a checkpoint unless one runs or one started less than `every` seconds ago."""
        now = self.clock()
        if (self._running is not None and self._running.is_alive()) or now - self._started < self.every:
            return
        self._started = now
        self._running = threading.Thread(target=self._checkpoint, name="sqlite-checkpoint", daemon=True)
        self._running.start()

    def wait(self, timeout: float | None = None) -> None:
        """Until the checkpoint under way (if any) is done. Blocking: call it off the loop."""
        running = self._running
        if running is not None:
            running.join(timeout)

    def _checkpoint(self) -> None:
        try:
            # A connection per checkpoint: a few hundred µs twice a second at most, and nothing
            # left open to close when the pool's connection goes.
            conn = sqlite3.connect(self.path, timeout=0, isolation_level=None, check_same_thread=False)
            try:
                busy, pages, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            finally:
                conn.close()
            self.last = Checkpoint(bool(busy), pages, copied, threading.get_ident())
        except sqlite3.Error:  # the next commit starts another; the backstop covers a lasting fault
            log.warning("background WAL checkpoint of %s failed", self.path, exc_info=True)
