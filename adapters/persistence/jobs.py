"""Points-ledger batch jobs on PostgreSQL: set-based expiry, and scheduling both jobs in-process.

Lock order, the same as every other writer of the ledger: a member's ``points_accounts`` row
first, then their lots and entries. The expiry job locks all the accounts of a batch in
ascending member id order, in one statement, before it touches any lot, so that it can wait
for a sale but never deadlock with one (a sale locks a single account).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias
from uuid import UUID, uuid4

import asyncpg
import structlog
from piccolo.engine.postgres import PostgresEngine

from adapters.observability import JOB_FAILURES, JOB_RUNS
from app.jobs import ReleaseReport, release_pending
from app.unit_of_work import UnitOfWorkFactory
from domain.points import Reference
from domain.ports import Clock

log = structlog.get_logger("loyalty.jobs")

EXPIRY_BATCH_SIZE = 50_000
EXPIRY_RUN = "expiry_run"

# pg_try_advisory_lock(key1, key2): one key pair per job, so that one worker runs each job.
ADVISORY_LOCK_CLASS = 0x4C594C54  # "LYLT"
# Advisory lock keys under ADVISORY_LOCK_CLASS; the tier review holds 3 itself.
JOB_LOCK_KEYS = {"expire-points": 1, "release-pending": 2, "coupons": 10, "crm": 12}

Database: TypeAlias = PostgresEngine | asyncpg.Connection

# Members with lots due for expiry, after a keyset cursor: up to $3 lots' worth of members.
_EXPIRY_CANDIDATES = """
SELECT member_id FROM (
    SELECT member_id FROM points_lots
    WHERE remaining > 0 AND NOT pending AND expires_at <= $1
      AND ($2::uuid IS NULL OR member_id > $2::uuid)
    ORDER BY member_id
    LIMIT $3
) AS due
GROUP BY member_id
ORDER BY member_id
"""

# The lock order: accounts before lots and entries, ascending member id. The sort runs below
# the row locking, so the rows are locked in this order.
_LOCK_ACCOUNTS = """
SELECT member_id FROM points_accounts
WHERE member_id = ANY($1::uuid[])
ORDER BY member_id
FOR UPDATE
"""

# What PointsAccount.expire does, for every due lot of the locked members at once:
# one `expire` entry per lot (the chain trigger numbers and hashes them in this order), one
# movement per lot, the lot emptied, the member's available balance reduced by the sum.
# `remaining - due.remaining` is 0 unless someone changed a lot without the account lock; then
# the CHECK on remaining fails the batch instead of writing an entry that disagrees with it.
_EXPIRE_LOCKED = """
WITH due AS (
    SELECT id, member_id, remaining, expires_at
    FROM points_lots
    WHERE member_id = ANY($3::uuid[])
      AND remaining > 0 AND NOT pending AND expires_at <= $1::timestamptz
),
entries AS (
    INSERT INTO points_entries
        (member_id, entry_type, points, reference, posting_key, created_at, expires_at)
    SELECT member_id, 'expire', -remaining, $2::text, $2::text || ':lot:' || id, $1, expires_at
    FROM due
    ORDER BY member_id, id
    RETURNING id, member_id, posting_key
),
moved AS (
    INSERT INTO points_lot_movements (member_id, entry_id, lot_id, points)
    SELECT due.member_id, entries.id, due.id, -due.remaining
    FROM due
    JOIN entries
      ON entries.member_id = due.member_id AND entries.posting_key = $2::text || ':lot:' || due.id
    ORDER BY entries.id
    RETURNING lot_id
),
emptied AS (
    UPDATE points_lots AS lot SET remaining = lot.remaining - due.remaining
    FROM due WHERE lot.id = due.id
    RETURNING lot.id
),
per_member AS (
    SELECT member_id, sum(remaining) AS points FROM due GROUP BY member_id
),
accounts AS (
    UPDATE points_accounts AS account
    SET available = account.available - per_member.points, updated_at = $1
    FROM per_member WHERE account.member_id = per_member.member_id
    RETURNING account.member_id
)
SELECT
    (SELECT count(*) FROM due) AS lots,
    (SELECT count(*) FROM moved) AS movements,
    (SELECT count(*) FROM emptied) AS emptied,
    (SELECT coalesce(sum(points), 0)::bigint FROM per_member) AS points,
    (SELECT count(*) FROM accounts) AS members
"""

_RELEASE_CANDIDATES = """
SELECT member_id FROM (
    SELECT member_id FROM points_lots
    WHERE pending AND NOT frozen AND release_at <= $1
      AND ($2::uuid IS NULL OR member_id > $2::uuid)
    ORDER BY member_id
    LIMIT $3
) AS due
GROUP BY member_id
ORDER BY member_id
"""


@dataclass(frozen=True, slots=True)
class ExpiryReport:
    lots: int
    points: int
    members: int
    batches: int
    run_id: UUID  # the reference of its entries is expiry_run:<run_id>

    @property
    def reference(self) -> str:
        return str(Reference(EXPIRY_RUN, str(self.run_id)))


@asynccontextmanager
async def _connection(database: Database) -> AsyncIterator[asyncpg.Connection]:
    if isinstance(database, asyncpg.Connection):
        yield database
        return
    if database.pool is not None:
        async with database.pool.acquire() as connection:
            yield connection
        return
    connection = await database.get_new_connection()
    try:
        yield connection
    finally:
        await connection.close()


async def expire_points(
    database: Database,
    now: datetime,
    batch_size: int = EXPIRY_BATCH_SIZE,
    *,
    run_id: UUID | None = None,
) -> ExpiryReport:
    """Expires what is left of every lot whose expiry is at or before ``now``.

    Set-based: each batch is one transaction of three statements (find members, lock their
    accounts, expire all their due lots), whatever the number of lots. A batch holds about
    ``batch_size`` lots (a member's lots are never split across batches). Running it again
    expires nothing twice: an expired lot has nothing remaining. Given a connection, it must
    not be inside a transaction (each batch commits).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    run_id = run_id or uuid4()
    reference = str(Reference(EXPIRY_RUN, str(run_id)))
    lots = points = members = batches = 0
    after: UUID | None = None
    async with _connection(database) as connection:
        while True:
            async with connection.transaction():
                candidates = [
                    row["member_id"]
                    for row in await connection.fetch(_EXPIRY_CANDIDATES, now, after, batch_size)
                ]
                if not candidates:
                    break
                locked = [
                    row["member_id"] for row in await connection.fetch(_LOCK_ACCOUNTS, candidates)
                ]
                result = await connection.fetchrow(_EXPIRE_LOCKED, now, reference, locked)
                assert result is not None
                if not result["lots"] == result["movements"] == result["emptied"]:
                    raise RuntimeError(f"expiry batch wrote inconsistent rows: {dict(result)}")
            after = candidates[-1]
            batches += 1
            lots += result["lots"]
            points += result["points"]
            members += result["members"]
            if len(locked) < len(candidates):
                log.warning(
                    "expiry.lots_without_account",
                    members=[str(m) for m in sorted(set(candidates) - set(locked))],
                )
    return ExpiryReport(lots=lots, points=points, members=members, batches=batches, run_id=run_id)


class PostgresReleasableLots:
    """The release job's read model: members with pending lots due, in member id order."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def members_due(self, now: datetime, *, after: UUID | None, limit: int) -> Sequence[UUID]:
        async with _connection(self._database) as connection:
            rows = await connection.fetch(_RELEASE_CANDIDATES, now, after, limit)
        return [row["member_id"] for row in rows]


# In-process scheduling -----------------------------------------------------------------------


@asynccontextmanager
async def job_lock(engine: PostgresEngine, job: str) -> AsyncIterator[asyncpg.Connection | None]:
    """Holds the job's session-level advisory lock; yields None if another process holds it.

    The lock lives on the yielded connection (the expiry job runs on it). If the holder dies,
    PostgreSQL drops the lock with its session; the pool resets a returned connection, which
    releases advisory locks too.
    """
    key = JOB_LOCK_KEYS[job]
    async with _connection(engine) as connection:
        locked = await connection.fetchval(
            "SELECT pg_try_advisory_lock($1, $2)", ADVISORY_LOCK_CLASS, key
        )
        if not locked:
            yield None
            return
        try:
            yield connection
        finally:
            await connection.execute("SELECT pg_advisory_unlock($1, $2)", ADVISORY_LOCK_CLASS, key)


async def run_expiry_job(engine: PostgresEngine, clock: Clock) -> ExpiryReport | None:
    """The expiry job under its advisory lock; None if another worker is running it."""
    async with job_lock(engine, "expire-points") as connection:
        if connection is None:
            return None
        return await expire_points(connection, clock.now())


async def run_release_job(
    engine: PostgresEngine, uow_factory: UnitOfWorkFactory, clock: Clock
) -> ReleaseReport | None:
    """The release job under its advisory lock; None if another worker is running it."""
    async with job_lock(engine, "release-pending") as connection:
        if connection is None:
            return None
        return await release_pending(uow_factory, clock, PostgresReleasableLots(engine))


async def run_jobs_periodically(
    engine: PostgresEngine,
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    *,
    interval: float,
) -> None:
    """Runs both jobs now and every ``interval`` seconds until cancelled.

    Release first: points that expired while they were pending are then expired in the same
    round. A failing round is logged and retried at the next tick.
    """
    while True:
        try:
            released = await run_release_job(engine, uow_factory, clock)
            if released is not None:
                JOB_RUNS.labels("release_pending").inc()
                log.info(
                    "jobs.release_pending",
                    lots=released.lots,
                    points=released.points,
                    debt_paid=released.debt_paid,
                    members=released.members,
                    failed=[str(f.member_id) for f in released.failed],
                )
            expired = await run_expiry_job(engine, clock)
            if expired is not None:
                JOB_RUNS.labels("expire_points").inc()
                log.info(
                    "jobs.expire_points",
                    lots=expired.lots,
                    points=expired.points,
                    members=expired.members,
                    batches=expired.batches,
                    reference=expired.reference,
                )
        except Exception:
            log.exception("jobs.round_failed")
            JOB_FAILURES.labels("points").inc()
        await asyncio.sleep(interval)


def start_job_scheduler(
    engine: PostgresEngine, uow_factory: UnitOfWorkFactory, clock: Clock, *, interval: float
) -> asyncio.Task[None]:
    return asyncio.create_task(
        run_jobs_periodically(engine, uow_factory, clock, interval=interval),
        name="loyalty-jobs",
    )


async def stop_job_scheduler(task: asyncio.Task[None]) -> None:
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task
