"""The daily CRM jobs in the service: follow-up calls due, and the RFM snapshot the 360 view
reads. Both are idempotent (a follow-up per sale, a snapshot per day); an advisory lock keeps
two workers from doing the same work at once."""

from __future__ import annotations

import asyncio

import structlog
from piccolo.engine.postgres import PostgresEngine

from adapters.persistence.crm_reports import snapshot_rfm_on
from adapters.persistence.follow_ups import schedule_follow_ups_on
from adapters.persistence.points_expiry import JOB_LOCK_KEYS, job_lock
from domain.crm import DEFAULT_WINDOW_DAYS
from domain.ports import Clock

log = structlog.get_logger("loyalty.jobs")

CRM_JOBS_LOCK_KEY = JOB_LOCK_KEYS["crm"]
CRM_INTERVAL_SECONDS = 24 * 3600


async def run_crm_jobs(engine: PostgresEngine, clock: Clock) -> bool:
    """Schedules the follow-ups due and scores RFM; False if another worker holds the lock."""
    async with job_lock(engine, "crm") as connection:
        if connection is None:
            return False
        follow_ups = await schedule_follow_ups_on(engine, clock.now())
        scored = await snapshot_rfm_on(engine, clock.now(), DEFAULT_WINDOW_DAYS)
        log.info(
            "jobs.crm",
            follow_ups_scheduled=follow_ups.scheduled,
            rfm_members_scored=scored.members_scored,
        )
    return True


async def run_crm_jobs_periodically(
    engine: PostgresEngine, clock: Clock, *, interval: float = CRM_INTERVAL_SECONDS
) -> None:
    while True:
        try:
            await run_crm_jobs(engine, clock)
        except Exception:
            log.exception("jobs.crm_failed")
        await asyncio.sleep(interval)


def start_crm_scheduler(
    engine: PostgresEngine, clock: Clock, *, interval: float = CRM_INTERVAL_SECONDS
) -> asyncio.Task[None]:
    return asyncio.create_task(
        run_crm_jobs_periodically(engine, clock, interval=interval), name="loyalty-crm-jobs"
    )
