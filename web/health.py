"""/healthz (is this instance able to serve?) and /metrics (Prometheus), on the shared web app.

/healthz answers 200 with a JSON body while the database answers, 503 when it does not; the
body says how far behind the outbox is and when an update last arrived, so an operator (or a
container's health check) sees a stuck sender or a silent bot, not only a dead process.
"""
from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from bot import metrics
from bot.context import App
from bot.domain.lifecycle import Status
from bot.receiving import TOKEN_REFUSED
from storage import health

log = logging.getLogger(__name__)
OUTBOX_STUCK_AFTER = 300.0  # seconds: older undelivered messages mean the sender is not keeping up
STORING_STUCK_AFTER = 30.0  # seconds of updates that cannot be stored: intake has stopped
POLLING_STUCK_AFTER = 30.0  # seconds of getUpdates failing: nothing arrives (a network blip is shorter)
DEAD_IS_NEWS_FOR = timedelta(days=1)  # a dead update degrades health for a day after it arrived


def _age(now: datetime, then: datetime | None) -> int | None:
    """Whole seconds: monitoring needs no more."""
    return None if then is None else max(0, int((now - then).total_seconds()))


async def snapshot(app: App) -> dict[str, Any]:
    """The numbers /healthz shows and /metrics exports (raises when the database is unreachable)."""
    now = app.now()
    async with app.sessions() as session:
        await health.ping(session)
        backlog, oldest = await health.outbox_backlog(session)
        tickets = {status.lower(): n for status, n in (await health.tickets_by_status(session)).items()}
        inbox = await health.inbox_state(session, datetime.now(timezone.utc) - DEAD_IS_NEWS_FOR)
    last = REGISTRY.get_sample_value("huying_last_update_timestamp_seconds") or None  # this instance's memory
    body: dict[str, Any] = {
        "database": "ok",
        "outbox": {"backlog": backlog, "oldest_age_seconds": _age(now, oldest)},
        "last_update_age_seconds": None if last is None else max(0, int(time.time() - last)),
        "tickets": tickets,
    }
    # The inbox keeps real time (its claims and back-offs do), not the business clock.
    pending, dead, dead_lately, newest = inbox
    received = _age(datetime.now(timezone.utc), newest)
    body["inbox"] = {"pending": pending, "dead": dead, "dead_last_day": dead_lately,
                     "last_received_age_seconds": received}
    if received is not None:  # any instance's last update, and known after a restart too
        body["last_update_age_seconds"] = received
    failing = app.storing_failing_since
    body["inbox"]["storing_failing_seconds"] = None if failing is None else int(time.monotonic() - failing)
    polling = app.polling_failing_since
    body["polling"] = {"failing_seconds": None if polling is None else int(time.monotonic() - polling),
                       "error": app.polling_error, "error_code": app.polling_error_code}
    return body


def add_health_routes(web_app: web.Application, app: App) -> None:
    async def healthz(request: web.Request) -> web.Response:
        try:
            body = await snapshot(app)
        except Exception as exc:  # noqa: BLE001 — whatever the driver raises, the answer is "down"
            log.warning("healthz: database unreachable: %s", exc)
            return web.json_response({"status": "down", "database": str(exc).splitlines()[0][:300]}, status=503)
        warnings = []
        if (body["outbox"]["oldest_age_seconds"] or 0) > OUTBOX_STUCK_AFTER:
            warnings.append("outbox behind")
        if body["inbox"]["dead_last_day"]:  # news for a day; an old one would keep the alarm on for good
            warnings.append("dead updates in the inbox")
        if (body["inbox"]["storing_failing_seconds"] or 0) > STORING_STUCK_AFTER:
            warnings.append("updates cannot be stored")
        polling = body["polling"]
        if polling["error_code"] in TOKEN_REFUSED or (polling["failing_seconds"] or 0) > POLLING_STUCK_AFTER:
            warnings.append("getUpdates failing")  # a refused token at once: it will not pass by itself
        body = {"status": "degraded" if warnings else "ok", "warnings": warnings, **body}
        return web.json_response(body, dumps=_dumps)

    async def prometheus(request: web.Request) -> web.Response:
        try:
            body = await snapshot(app)
        except Exception as exc:  # noqa: BLE001 — export what this process knows anyway
            log.warning("metrics: database unreachable: %s", exc)
            metrics.DATABASE_UP.set(0)
        else:
            metrics.DATABASE_UP.set(1)
            for status in Status:  # every status, 0 when none: a series that vanished reads as "no data"
                metrics.TICKETS.labels(status.value.lower()).set(body["tickets"].get(status.value.lower(), 0))
            metrics.OUTBOX_BACKLOG.set(body["outbox"]["backlog"])
            metrics.OUTBOX_OLDEST_AGE.set(body["outbox"]["oldest_age_seconds"] or 0)
            metrics.INBOX_DEAD.set(body["inbox"]["dead"])
            metrics.INBOX_PENDING.set(body["inbox"]["pending"])
        return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})

    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/metrics", prometheus)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)
