"""Prometheus metrics beyond the per-route request metrics Litestar's plugin keeps.

Counters live in the process that serves /metrics: jobs run from the CLI are not counted here
(their runs are in the logs).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

LEDGER_POSTINGS = Counter(
    "loyalty_ledger_postings",
    "Ledger entries written, by type (an entry whose transaction rolls back is counted too)",
    ["type"],
)
JOB_RUNS = Counter("loyalty_job_runs", "Job runs that did work, by job", ["job"])
JOB_FAILURES = Counter("loyalty_job_failures", "Job runs that failed, by job", ["job"])
DATABASE_UNAVAILABLE = Counter(
    "loyalty_database_unavailable",
    "Requests answered 503 because PostgreSQL could not be reached",
)
OUTBOX_BACKLOG = Gauge(
    "loyalty_outbox_backlog", "Notifications waiting in the outbox at the last look"
)
