"""Coupon jobs on PostgreSQL: marking expired coupons, finding birthdays, and their schedule.

Expiry only changes what the status column says: a coupon past its end can never be redeemed
whether or not the job has run (redemption checks the time), and members already see it as
expired. The job keeps the column honest for reports and indexes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

import structlog
from piccolo.engine.postgres import PostgresEngine

from adapters.observability import JOB_FAILURES, JOB_RUNS
from adapters.persistence.points_expiry import Database, _connection, job_lock
from app.unit_of_work import UnitOfWorkFactory
from app.use_cases.birthdays import BirthdayReport, run_birthday_job
from domain.ports import Clock, IdGenerator, RandomSource

log = structlog.get_logger("loyalty.jobs")

EXPIRE_BATCH_SIZE = 50_000

_EXPIRE_BATCH = """
WITH due AS (
    SELECT id FROM coupons
    WHERE status = 'available' AND expires_at <= $1
    ORDER BY expires_at, id
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
UPDATE coupons SET status = 'expired', updated_at = $1
FROM due WHERE coupons.id = due.id
"""


async def expire_coupons(
    database: Database, now: datetime, *, batch_size: int = EXPIRE_BATCH_SIZE
) -> int:
    """Marks every available coupon past its end as expired; returns how many. Each batch
    commits; coupons a sale holds at this moment are skipped and caught by the next run."""
    total = 0
    async with _connection(database) as connection:
        while True:
            status = await connection.execute(_EXPIRE_BATCH, now, batch_size)
            changed = int(status.split()[-1])
            total += changed
            if changed < batch_size:
                return total


# Members whose birthday, celebrated in one of the window's years, falls in the window.
# 29 February is celebrated on 28 February in years without one.
_BIRTHDAYS_DUE = """
SELECT m.id, occurrence.day
FROM members AS m
CROSS JOIN LATERAL (
    SELECT CASE
        WHEN extract(month FROM m.birthday) = 2 AND extract(day FROM m.birthday) = 29
             AND NOT (y % 4 = 0 AND (y % 100 <> 0 OR y % 400 = 0))
        THEN make_date(y, 2, 28)
        ELSE make_date(y, extract(month FROM m.birthday)::int, extract(day FROM m.birthday)::int)
    END AS day
    FROM generate_series(extract(year FROM $1::date)::int, extract(year FROM $2::date)::int) AS y
) AS occurrence
WHERE m.birthday IS NOT NULL
  AND occurrence.day BETWEEN $1::date AND $2::date
  AND ($3::uuid IS NULL OR m.id > $3::uuid)
ORDER BY m.id
LIMIT $4
"""


class PostgresBirthdayCalendar:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def members_due(
        self, first: date, last: date, *, after: UUID | None, limit: int
    ) -> Sequence[tuple[UUID, date]]:
        async with _connection(self._database) as connection:
            rows = await connection.fetch(_BIRTHDAYS_DUE, first, last, after, limit)
        return [(row["id"], row["day"]) for row in rows]


@dataclass(frozen=True, slots=True)
class CouponJobsReport:
    expired: int
    birthdays: BirthdayReport


async def run_coupon_jobs(
    engine: PostgresEngine,
    uow_factory: UnitOfWorkFactory,
    *,
    clock: Clock,
    random: RandomSource,
    ids: IdGenerator,
) -> CouponJobsReport | None:
    """Expiry, then birthdays, under one advisory lock; None if another worker runs them."""
    async with job_lock(engine, "coupons") as connection:
        if connection is None:
            return None
        expired = await expire_coupons(engine, clock.now())
        birthdays = await run_birthday_job(
            uow_factory, PostgresBirthdayCalendar(engine), clock=clock, random=random, ids=ids
        )
    return CouponJobsReport(expired, birthdays)


async def run_coupon_jobs_periodically(
    engine: PostgresEngine,
    uow_factory: UnitOfWorkFactory,
    *,
    clock: Clock,
    random: RandomSource,
    ids: IdGenerator,
    interval: float,
) -> None:
    while True:
        try:
            report = await run_coupon_jobs(engine, uow_factory, clock=clock, random=random, ids=ids)
            if report is not None:
                JOB_RUNS.labels("coupons").inc()
                log.info(
                    "jobs.coupons",
                    expired=report.expired,
                    birthday_coupons=report.birthdays.issued,
                    birthday_skipped=report.birthdays.skipped,
                    birthday_template_closed=report.birthdays.template_closed,
                )
        except Exception:
            log.exception("jobs.coupons_failed")
            JOB_FAILURES.labels("coupons").inc()
        await asyncio.sleep(interval)


def start_coupon_scheduler(
    engine: PostgresEngine,
    uow_factory: UnitOfWorkFactory,
    *,
    clock: Clock,
    random: RandomSource,
    ids: IdGenerator,
    interval: float,
) -> asyncio.Task[None]:
    return asyncio.create_task(
        run_coupon_jobs_periodically(
            engine, uow_factory, clock=clock, random=random, ids=ids, interval=interval
        ),
        name="loyalty-coupon-jobs",
    )
