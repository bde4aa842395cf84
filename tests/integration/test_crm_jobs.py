from __future__ import annotations

import asyncpg
from piccolo.engine.postgres import PostgresEngine

from adapters.persistence.crm_jobs import CRM_JOBS_LOCK_KEY, run_crm_jobs
from adapters.persistence.points_expiry import ADVISORY_LOCK_CLASS
from tests.support.fakes import FixedClock


async def test_the_daily_crm_jobs_run_and_step_aside_for_a_worker_already_running_them(
    engine: PostgresEngine, clean_db: str
) -> None:
    assert await run_crm_jobs(engine, FixedClock()) is True
    holder = await asyncpg.connect(clean_db)
    try:
        await holder.execute(
            "SELECT pg_advisory_lock($1, $2)", ADVISORY_LOCK_CLASS, CRM_JOBS_LOCK_KEY
        )
        assert await run_crm_jobs(engine, FixedClock()) is False
    finally:
        await holder.close()
