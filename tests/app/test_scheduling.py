"""The table of jobs and the service's one loop over it, without a database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time
from typing import cast
from zoneinfo import ZoneInfo

import pytest

from app.batch_jobs import JobPorts
from app.scheduling import JOBS, Job, JobOptions, JobOutcome, run_job, seconds_until_night
from app.settings import Settings, SettingsError
from app.wiring.scheduler import start_jobs, stop_jobs

NO_PORTS = cast(JobPorts, None)  # the jobs below take no lock and use no port


def test_every_job_has_a_name_and_a_lock_of_its_own() -> None:
    names = [job.name for job in JOBS]
    locks = [job.lock for job in JOBS if job.lock is not None]
    assert len(set(names)) == len(names)
    assert len(set(locks)) == len(locks)
    # Only the outbox runs side by side with itself: it claims messages with SKIP LOCKED.
    assert [job.name for job in JOBS if job.lock is None] == [
        "deliver-notifications",
        "deliver-webhooks",
    ]


def test_the_service_runs_every_job_but_the_idempotency_purge_at_its_interval() -> None:
    settings = Settings(jobs_interval_seconds=600, outbox_interval_seconds=3)
    intervals = {job.name: job.interval(settings) for job in JOBS if job.interval is not None}
    assert intervals == {
        "release-pending": 600,
        "expire-points": 600,
        "review-tiers": 86_400,
        "expire-coupons": 600,
        "birthday-coupons": 600,
        "deliver-notifications": 3,
        "deliver-webhooks": 3,
        "remind-points-expiring": 600,
        "purge-login-state": 600,
        "schedule-follow-ups": 86_400,
        "score-rfm": 86_400,
        "snapshot-dashboard": 600,
    }


async def test_a_run_takes_the_options_given_and_the_row_defaults_for_the_rest() -> None:
    seen: list[JobOptions] = []

    async def remember(_: JobPorts, options: JobOptions) -> JobOutcome:
        seen.append(options)
        return JobOutcome("done", {})

    job = Job("x", "", None, None, remember, JobOptions(batch_size=10, window_days=365))
    await run_job(job, NO_PORTS)
    await run_job(job, NO_PORTS, JobOptions(batch_size=5))
    assert seen == [JobOptions(10, 365), JobOptions(5, 365)]


async def test_a_failed_run_is_tried_again_at_the_next_tick_and_stop_ends_every_loop() -> None:
    runs: list[str] = []

    async def flaky(_: JobPorts, __: JobOptions) -> JobOutcome:
        runs.append("run")
        if len(runs) == 1:
            raise RuntimeError("the database went away")
        return JobOutcome("done", {"n": len(runs)})

    async def idle(_: JobPorts, __: JobOptions) -> JobOutcome:
        return JobOutcome(None, {}, worked=False)

    jobs = [
        Job("flaky", "", None, lambda _: 0, flaky),
        Job("idle", "", None, lambda _: 3600, idle),
        Job("by-hand", "", None, None, flaky),  # CLI only: never started
    ]
    tasks = start_jobs(NO_PORTS, Settings(), jobs)
    try:
        for _ in range(200):
            if len(runs) >= 3:
                break
            await asyncio.sleep(0.01)
    finally:
        await stop_jobs(tasks)
    assert len(tasks) == 2
    assert len(runs) >= 3
    assert all(task.cancelled() for task in tasks)


def test_the_rfm_snapshot_runs_nightly_in_the_service() -> None:
    nightly = [job.name for job in JOBS if job.nightly]
    assert nightly == ["score-rfm"]
    assert all(job.interval is not None for job in JOBS if job.nightly)


def test_a_nightly_job_waits_until_the_next_night_in_the_programmes_zone() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    at = time(3, 0)
    # 22:00 in Shanghai: five hours to 03:00.
    evening = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
    assert seconds_until_night(evening, shanghai, at) == 5 * 3600
    # 03:00 exactly: the next night, a day away; 03:30: 23.5 hours.
    assert seconds_until_night(datetime(2026, 12, 7, 19, 0, tzinfo=UTC), shanghai, at) == 86_400
    assert (
        seconds_until_night(datetime(2026, 12, 7, 19, 30, tzinfo=UTC), shanghai, at) == 23.5 * 3600
    )


def test_the_nightly_time_is_a_setting_checked_at_start_up() -> None:
    assert Settings.from_env({"LOYALTY_NIGHTLY_AT": "01:30"}).nightly_at == time(1, 30)
    assert Settings.from_env({}).nightly_at == time(3, 0)
    for bad in ("25:00", "3", "3:5", "noon"):
        with pytest.raises(SettingsError, match="LOYALTY_NIGHTLY_AT"):
            Settings.from_env({"LOYALTY_NIGHTLY_AT": bad})
