"""Prometheus metric objects (served at /metrics by web/health.py).

A leaf module: it imports nothing of the project, so any layer may count an event where it
happens without an import going backwards. Gauges that describe the database (tickets by
status, the outbox backlog) are set when /metrics is scraped, not kept up to date here.
"""
from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

UPDATES_HANDLED = Counter(
    "huying_updates_handled_total", "Telegram updates handled, by result (ok, failed)", ["result"])
LAST_UPDATE = Gauge(
    "huying_last_update_timestamp_seconds", "Unix time at which this instance last handled an update")
TICKETS = Gauge("huying_tickets", "Tickets by status", ["status"])
OUTBOX_BACKLOG = Gauge("huying_outbox_backlog", "Outgoing messages not delivered yet")
OUTBOX_OLDEST_AGE = Gauge(
    "huying_outbox_oldest_age_seconds", "Age of the oldest outgoing message not delivered yet (0 when none)")
OUTBOX_SENDS = Counter(
    "huying_outbox_sends_total",
    "Bot API calls made by the outbox, by result (sent, retry_after_429, retry, bad_request, unreachable, "
    "migrated, error)", ["result"])
SCAN_SECONDS = Histogram(
    "huying_deadline_scan_seconds", "Duration of one deadline scan",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
REPORT_RUNS = Counter(
    "huying_report_runs_total",
    "Supervision reports posted, by period (month, quarter, half, year) and trigger (scheduled: the 通报; "
    "command: /report)", ["period", "trigger"])
TRIAGE_DEFERRED = Counter(
    "huying_triage_deferred_total",
    "Appeals filed while updates queued, triaged (routed, card drawn) after their acknowledgement")
INBOX_DEAD = Gauge("huying_inbox_dead", "Updates parked as dead in the inbox")
INBOX_PENDING = Gauge("huying_inbox_pending", "Updates received and not handled yet")
# 1 when the last scrape reached the database, 0 when it did not: the figures read from it are then
# the last known ones, and an alert on quiet queues alone would see "all quiet".
DATABASE_UP = Gauge("huying_database_up", "Whether the database answered the last /metrics scrape")


def update_handled(ok: bool) -> None:
    UPDATES_HANDLED.labels("ok" if ok else "failed").inc()
    LAST_UPDATE.set_to_current_time()


def report_run(period: str, trigger: str) -> None:
    REPORT_RUNS.labels(period, trigger).inc()
