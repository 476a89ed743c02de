"""Count the SQL statements an engine runs (a SQLAlchemy event hook), grouped by verb and table.

    counter = StatementCounter(engine)      # an AsyncEngine or a sync Engine
    ... work ...
    counter.total, counter.by_kind.most_common(10)

The grouping key is the verb and the first table it names ("SELECT chats", "INSERT outbox"),
so a report shows which tables an appeal or a scan touches and how often.
"""
from __future__ import annotations

import asyncio
import re
from collections import Counter
from typing import Any

from sqlalchemy import event

_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE|JOIN)\s+\"?(\w+)", re.IGNORECASE)


def kind_of(statement: str) -> str:
    words = statement.split(None, 1)
    verb = words[0].upper() if words else "?"
    if verb in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA"):
        return verb
    table = _TABLE.search(statement)
    return f"{verb} {table.group(1) if table else '?'}"


class StatementCounter:
    """Counts every statement, or with `tasks` only those run by asyncio tasks whose name starts
    with one of them (the outbox worker's are "outbox…"), or with `skip_tasks` all but those."""

    def __init__(self, engine: Any, skip_tasks: tuple[str, ...] = ()) -> None:
        self.engine = getattr(engine, "sync_engine", engine)
        self.by_kind: Counter[str] = Counter()
        self.skip_tasks = skip_tasks
        event.listen(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001, ARG002
        if self.skip_tasks:
            try:
                task = asyncio.current_task()
            except RuntimeError:
                task = None
            if task is not None and task.get_name().startswith(self.skip_tasks):
                return
        self.by_kind[kind_of(statement)] += 1

    @property
    def total(self) -> int:
        return sum(self.by_kind.values())

    def reset(self) -> None:
        self.by_kind.clear()

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)

    def report(self, per: int = 1, top: int = 12) -> str:
        rows = ", ".join(f"{n / per:g}× {k}" for k, n in self.by_kind.most_common(top))
        return f"{self.total / per:.1f} statements ({rows})"
