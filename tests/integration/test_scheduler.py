"""The one table of jobs (app.scheduling.JOBS), as the CLI and the service run it, on PostgreSQL."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest
from piccolo.engine.postgres import PostgresEngine

from adapters.persistence.job_locks import ADVISORY_LOCK_CLASS
from adapters.persistence.tables import ALL_TABLES
from app.scheduling import JOBS, JOBS_BY_NAME, run_job
from app.wiring.cli import main as cli_main
from tests.support.fakes import FixedClock
from tests.support.job_ports import job_ports_on

pytestmark = pytest.mark.db

LOCKED = [job.name for job in JOBS if job.lock is not None]

# What each job says when there is nothing to do.
SAID_ON_AN_EMPTY_DATABASE = {
    "release-pending": "released 0 pending lots of 0 members: 0 points earned, 0 of them paid",
    "expire-points": "expired 0 points in 0 lots of 0 members (0 batches, reference expiry_run:",
    "review-tiers": "reviewed 0 members: 0 upgraded, 0 downgraded, grace started for 0,",
    "expire-coupons": "marked 0 coupons expired",
    "birthday-coupons": "birthday coupons are switched off (PUT /v1/admin/birthday-reward)",
    "deliver-notifications": "delivered 0 notifications, 0 to retry later, 0 given up",
    "deliver-webhooks": "fanned out 0 events; delivered 0 webhooks, 0 to retry later, 0 given up;",
    "remind-points-expiring": "queued 0 reminders of points expiring within 7 days",
    "purge-login-state": "purged 0 rate-limit windows, 0 login codes and 0 refresh tokens",
    "schedule-follow-ups": "scheduled 0 follow-up calls due ",
    "score-rfm": "scored 0 members as of ",
    "snapshot-dashboard": "wrote the dashboard's days ",
    "purge-idempotency-keys": "purged 0 idempotency keys older than 2 days",
}


def run_cli(args: list[str]) -> int:
    bound = {table: table._meta._db for table in ALL_TABLES}
    try:  # the CLI binds the tables to an engine of its own, then closes it
        return cli_main(args)
    finally:
        for table, db in bound.items():
            table._meta._db = db


async def test_every_job_of_the_table_is_a_cli_command_that_says_what_it_did(
    clean_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert set(SAID_ON_AN_EMPTY_DATABASE) == {job.name for job in JOBS}
    monkeypatch.setenv("DATABASE_URL", clean_db)
    for job in JOBS:
        code = await asyncio.to_thread(run_cli, ["jobs", job.name])
        out = capsys.readouterr().out.splitlines()
        assert (job.name, code) == (job.name, 0)
        assert len(out) == 1
        assert out[0].startswith(SAID_ON_AN_EMPTY_DATABASE[job.name])


async def test_what_every_job_logs_is_plain_json(engine: PostgresEngine) -> None:
    ports = job_ports_on(engine, FixedClock())
    for job in JOBS:
        outcome = await run_job(job, ports)
        assert outcome is not None
        assert json.loads(json.dumps(outcome.facts)) == outcome.facts, job.name


@pytest.mark.parametrize("name", LOCKED)
async def test_a_job_whose_lock_another_process_holds_is_skipped_and_its_lock_freed_after(
    engine: PostgresEngine, clean_db: str, name: str
) -> None:
    job = JOBS_BY_NAME[name]
    ports = job_ports_on(engine, FixedClock())
    holder = await asyncpg.connect(clean_db)
    try:
        assert await holder.fetchval(
            "SELECT pg_try_advisory_lock($1, $2)", ADVISORY_LOCK_CLASS, job.lock
        )
        assert await run_job(job, ports) is None
    finally:
        await holder.close()
    assert await run_job(job, ports) is not None
    assert job.lock is not None
    async with ports.locks.hold(job.lock) as held:
        assert held


async def test_the_cli_says_when_another_process_is_running_the_job(
    clean_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before the table, the CLI took no lock for expire-coupons: it now takes the service's.
    job = JOBS_BY_NAME["expire-coupons"]
    monkeypatch.setenv("DATABASE_URL", clean_db)
    holder = await asyncpg.connect(clean_db)
    try:
        await holder.execute("SELECT pg_advisory_lock($1, $2)", ADVISORY_LOCK_CLASS, job.lock)
        code = await asyncio.to_thread(run_cli, ["jobs", job.name])
    finally:
        await holder.close()
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    # (the last line: the service's own log records may go to stderr before it)
    assert captured.err.splitlines()[-1] == "skipped: another process is running expire-coupons"
