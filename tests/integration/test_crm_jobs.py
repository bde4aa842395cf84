from __future__ import annotations

import asyncpg
import pytest
from piccolo.engine.postgres import PostgresEngine

from adapters.persistence.job_locks import ADVISORY_LOCK_CLASS
from app.scheduling import JOBS_BY_NAME, run_job
from tests.support.fakes import FixedClock
from tests.support.job_ports import job_ports_on


@pytest.mark.parametrize("name", ["schedule-follow-ups", "score-rfm", "snapshot-dashboard"])
async def test_the_daily_crm_jobs_run_and_step_aside_for_a_worker_already_running_them(
    engine: PostgresEngine, clean_db: str, name: str
) -> None:
    job = JOBS_BY_NAME[name]
    ports = job_ports_on(engine, FixedClock())
    assert await run_job(job, ports) is not None
    holder = await asyncpg.connect(clean_db)
    try:
        await holder.execute("SELECT pg_advisory_lock($1, $2)", ADVISORY_LOCK_CLASS, job.lock)
        assert await run_job(job, ports) is None
    finally:
        await holder.close()
