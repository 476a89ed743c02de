"""One `python -m bot run` per SQLite file (README "Several instances": a SQLite file belongs to one
process). A second process on the same file would poll with the same token and, at its start, take
back every inbox claim as stale (bot/inbox.py, `exclusive`): updates the first is handling would be
handled twice. The first process holds an exclusive lock on ``<file>.lock``; the OS drops it when the
process ends, however it ends (kill -9 included), so a crash never leaves the file locked."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

try:
    import fcntl
except ImportError:  # not on Linux or macOS: no guard, as before
    fcntl = None  # type: ignore[assignment]


class FileInUse(Exception):
    """Another process runs the bot on this SQLite file."""


@contextmanager
def sole_owner(database_url: str) -> Iterator[None]:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") or fcntl is None:
        yield
        return
    lock = Path(f"{url.database}.lock")
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:  # no place for it: opening the database fails there too, and says so in one line
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            raise FileInUse(f"DATABASE_URL {url.render_as_string(hide_password=True)}: another bot process "
                            f"(pid {holder}) is using this SQLite file; several instances need PostgreSQL") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)  # closing drops the lock
