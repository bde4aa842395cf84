"""The service's in-process scheduler: every row of app.scheduling.JOBS that has an interval
runs in a task of its own, once at start-up and then every interval (a nightly row: every
night at LOYALTY_NIGHTLY_AT in the programme's time zone), until the service stops.

The one loop for every job: a run skipped because another process holds the job's lock waits
for the next tick; a run that fails is logged and counted, and tried again at the next tick.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import suppress

import structlog

from adapters.observability import JOB_FAILURES, JOB_RUNS, OUTBOX_BACKLOG
from app.batch_jobs import JobPorts
from app.scheduling import JOBS, Job, JobOutcome, run_job, wait_after_run
from app.settings import Settings

log = structlog.get_logger("loyalty.jobs")


async def run_observed(job: Job, ports: JobPorts) -> JobOutcome | None:
    """One run, in the service: logged and counted, never raised."""
    try:
        outcome = await run_job(job, ports)
    except Exception:
        log.exception("jobs.failed", job=job.name)
        JOB_FAILURES.labels(job.name).inc()
        return None
    if outcome is None:
        return None
    backlog = outcome.facts.get("outbox_backlog")
    if isinstance(backlog, int):
        OUTBOX_BACKLOG.set(backlog)
    if outcome.worked:
        JOB_RUNS.labels(job.name).inc()
        log.info(f"jobs.{job.name}", **outcome.facts)
    for failure in outcome.failures:
        log.warning("jobs.partly_failed", job=job.name, failure=failure)
    return outcome


async def run_periodically(job: Job, ports: JobPorts, settings: Settings) -> None:
    while True:
        await run_observed(job, ports)
        await asyncio.sleep(await _wait(job, ports, settings))


async def _wait(job: Job, ports: JobPorts, settings: Settings) -> float:
    try:
        return await wait_after_run(job, ports, settings)
    except Exception:
        # The programme's zone could not be read (the database is away): the interval.
        assert job.interval is not None
        log.warning("jobs.no_schedule", job=job.name)
        return float(job.interval(settings))


def start_jobs(
    ports: JobPorts, settings: Settings, jobs: Sequence[Job] = JOBS
) -> list[asyncio.Task[None]]:
    return [
        asyncio.create_task(run_periodically(job, ports, settings), name=f"loyalty-job-{job.name}")
        for job in jobs
        if job.interval is not None
    ]


async def stop_jobs(tasks: Sequence[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with suppress(asyncio.CancelledError):
            await task
