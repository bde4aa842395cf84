"""The table of batch jobs: each job's name, lock, interval and runner, in one place.

Both ways of running a job read it: ``loyalty jobs <name>`` (app.wiring.cli) runs one row
once, and a service started with LOYALTY_JOBS_IN_PROCESS runs every row that has an interval
in a loop of its own (app.wiring.scheduler), once at start-up and then every interval, or, for
a row marked nightly, every night at LOYALTY_NIGHTLY_AT in the programme's time zone. Either
way ``run_job`` takes the row's lock first: where another process (a second worker, the CLI)
holds it, this run is skipped. A row without a lock is safe to run side by side (the outbox
claims its messages with SKIP LOCKED).

Adding a job: a runner below (the use case or the set-based port it calls, and the line it
reports), and a row in JOBS with a lock key no other row uses.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.batch_jobs import JobPorts
from app.notifications import deliver_notifications
from app.outbound_webhooks import deliver_webhooks
from app.settings import Settings
from app.use_cases.birthdays import run_birthday_job
from app.use_cases.pending_points import release_pending
from domain.crm import DEFAULT_WINDOW_DAYS

DAY_SECONDS = 24 * 3600
IDEMPOTENCY_RETENTION = timedelta(hours=48)
REMINDER_HORIZON = timedelta(days=7)
# The console's charts show this many days; the lifecycle flows and regions cover them too.
DASHBOARD_DAYS = 30


@dataclass(frozen=True, slots=True)
class JobOptions:
    """What a run may be told; a row's defaults say which options the job takes."""

    batch_size: int | None = None
    window_days: int | None = None


@dataclass(frozen=True, slots=True)
class JobOutcome:
    summary: str | None  # the line the CLI prints; None: nothing to say on success
    facts: Mapping[str, object]  # the same for the log
    worked: bool = True  # False: there was nothing to do (the service logs nothing)
    failures: tuple[str, ...] = field(default=())  # lines for a person; the CLI exits 1

    @property
    def ok(self) -> bool:
        return not self.failures


Runner = Callable[[JobPorts, JobOptions], Awaitable[JobOutcome]]


@dataclass(frozen=True)
class Job:
    name: str  # the command: loyalty jobs <name>
    help: str
    lock: int | None  # advisory lock key; None: runs side by side with itself
    interval: Callable[[Settings], int] | None  # seconds in the service; None: CLI only
    run: Runner
    defaults: JobOptions = JobOptions()
    # In the service: after the run at start-up, every night at LOYALTY_NIGHTLY_AT in the
    # programme's time zone rather than every interval (which stays the fallback).
    nightly: bool = False


async def run_job(
    job: Job, ports: JobPorts, options: JobOptions | None = None
) -> JobOutcome | None:
    """Runs ``job`` once under its lock; None when another process holds the lock."""
    chosen = job.defaults if options is None else _over(job.defaults, options)
    if job.lock is None:
        return await job.run(ports, chosen)
    async with ports.locks.hold(job.lock) as held:
        if not held:
            return None
        return await job.run(ports, chosen)


def seconds_until_night(now: datetime, zone: ZoneInfo, at: time) -> float:
    """Seconds from ``now`` to the next ``at`` on the local clock of ``zone`` (a full day when
    it is that time now). A time the clock skips on the night of a change to summer time
    is taken as the wall time it names, shifted forward by the change."""
    local = now.astimezone(zone)
    target = datetime.combine(local.date(), at, tzinfo=zone)
    if target.astimezone(UTC) <= now.astimezone(UTC):
        target = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=zone)
    return (target.astimezone(UTC) - now.astimezone(UTC)).total_seconds()


async def wait_after_run(job: Job, ports: JobPorts, settings: Settings) -> float:
    """How long the service waits before running ``job`` again."""
    assert job.interval is not None
    if not job.nightly:
        return float(job.interval(settings))
    async with ports.uow() as uow:
        program = await uow.program.get()
    return seconds_until_night(ports.clock.now(), program.zone, settings.nightly_at)


def _over(defaults: JobOptions, given: JobOptions) -> JobOptions:
    return replace(
        defaults,
        batch_size=given.batch_size if given.batch_size is not None else defaults.batch_size,
        window_days=given.window_days if given.window_days is not None else defaults.window_days,
    )


def _facts(report: Any, **more: object) -> dict[str, object]:
    """A report's fields for the log, as plain JSON values."""
    return {**_plain(report), **more}


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    return str(value)  # UUIDs, dates


def _batch(options: JobOptions) -> int:
    assert options.batch_size is not None  # every row that batches has a default
    return options.batch_size


# Intervals: the ledger's work runs every LOYALTY_JOBS_INTERVAL; a review of every member, a
# day's follow-ups and a snapshot of everyone's scores at most daily; the outbox within seconds.


def _hourly(settings: Settings) -> int:
    return settings.jobs_interval_seconds


def _daily(settings: Settings) -> int:
    return max(settings.jobs_interval_seconds, DAY_SECONDS)


def _outbox(settings: Settings) -> int:
    return settings.outbox_interval_seconds


# Runners ---------------------------------------------------------------------------------------


async def _release_pending(ports: JobPorts, options: JobOptions) -> JobOutcome:
    report = await release_pending(
        ports.uow, ports.clock, ports.releasable_lots, batch_size=_batch(options)
    )
    return JobOutcome(
        f"released {report.lots} pending lots of {report.members} members: "
        f"{report.points} points earned, {report.debt_paid} of them paid off debt",
        _facts(report),
        failures=tuple(f"failed for member {f.member_id}: {f.error}" for f in report.failed),
    )


async def _expire_points(ports: JobPorts, options: JobOptions) -> JobOutcome:
    report = await ports.points_expiry.expire_points(ports.clock.now(), batch_size=_batch(options))
    return JobOutcome(
        f"expired {report.points} points in {report.lots} lots of {report.members} members "
        f"({report.batches} batches, reference {report.reference})",
        _facts(report, reference=report.reference),
    )


async def _review_tiers(ports: JobPorts, options: JobOptions) -> JobOutcome:
    report = await ports.tier_review.review_tiers(ports.clock.now(), batch_size=_batch(options))
    return JobOutcome(
        f"reviewed {report.members_reviewed} members: {report.upgraded} upgraded, "
        f"{report.downgraded} downgraded, grace started for {report.grace_started}, "
        f"cleared for {report.grace_cleared} ({report.batches} batches)",
        _facts(report),
    )


async def _expire_coupons(ports: JobPorts, options: JobOptions) -> JobOutcome:
    expired = await ports.coupon_expiry.expire_coupons(
        ports.clock.now(), batch_size=_batch(options)
    )
    return JobOutcome(f"marked {expired} coupons expired", {"expired": expired})


async def _birthday_coupons(ports: JobPorts, options: JobOptions) -> JobOutcome:
    report = await run_birthday_job(
        ports.uow,
        ports.birthdays,
        clock=ports.clock,
        random=ports.random,
        ids=ports.ids,
        batch_size=_batch(options),
    )
    facts = _facts(report)
    if not report.enabled:
        return JobOutcome(
            "birthday coupons are switched off (PUT /v1/admin/birthday-reward)", facts
        )
    if report.template_closed:
        return JobOutcome(
            None,
            facts,
            failures=("the birthday template no longer issues coupons; choose another",),
        )
    return JobOutcome(
        f"issued {report.issued} birthday coupons; {report.skipped} members skipped "
        "(already have this year's, or the template's limits)",
        facts,
    )


async def _deliver_notifications(ports: JobPorts, options: JobOptions) -> JobOutcome:
    report = await deliver_notifications(
        ports.notifications,
        ports.clock,
        ports.sms,
        ports.member_notifier,
        secrets=ports.secrets,
        login_codes=ports.login_codes,
        batch_size=_batch(options),
    )
    return JobOutcome(
        f"delivered {report.delivered} notifications, {report.retrying} to retry later, "
        f"{report.dead} given up",
        _facts(report, outbox_backlog=await ports.outbox_backlog.backlog()),
        # Every two seconds: only a round that handled a message is worth a log line.
        worked=bool(report.delivered or report.retrying or report.dead),
    )


async def _deliver_webhooks(ports: JobPorts, options: JobOptions) -> JobOutcome:
    hooks = ports.webhooks
    report = await deliver_webhooks(
        hooks.queue,
        hooks.sender,
        ports.clock,
        secrets=hooks.secrets,
        disable_after=hooks.disable_after,
        lease=hooks.lease,
        batch_size=_batch(options),
    )
    return JobOutcome(
        f"fanned out {report.fanned_out} events; delivered {report.delivered} webhooks, "
        f"{report.retrying} to retry later, {report.dead} given up; "
        f"{report.endpoints_disabled} endpoints disabled",
        _facts(report),
        worked=bool(report.fanned_out or report.delivered or report.retrying or report.dead),
    )


async def _remind_points_expiring(ports: JobPorts, _: JobOptions) -> JobOutcome:
    queued = await ports.reminders.remind_points_expiring(ports.clock.now(), REMINDER_HORIZON)
    return JobOutcome(
        f"queued {queued} reminders of points expiring within {REMINDER_HORIZON}",
        {"reminders": queued},
    )


async def _purge_login_state(ports: JobPorts, _: JobOptions) -> JobOutcome:
    purged = await ports.login_state.purge_login_state(ports.clock.now())
    return JobOutcome(
        f"purged {purged.counters} rate-limit windows, {purged.codes} login codes and "
        f"{purged.refresh_tokens} refresh tokens",
        _facts(purged),
    )


async def _schedule_follow_ups(ports: JobPorts, _: JobOptions) -> JobOutcome:
    report = await ports.follow_ups.schedule_due_follow_ups(ports.clock.now())
    return JobOutcome(
        f"scheduled {report.scheduled} follow-up calls due {report.today}",
        _facts(report),
    )


async def _score_rfm(ports: JobPorts, options: JobOptions) -> JobOutcome:
    assert options.window_days is not None
    done = await ports.rfm.snapshot_rfm(ports.clock.now(), options.window_days)
    return JobOutcome(
        f"scored {done.members_scored} members as of {done.as_of}",
        _facts(done),
    )


async def _snapshot_dashboard(ports: JobPorts, options: JobOptions) -> JobOutcome:
    assert options.window_days is not None
    done = await ports.dashboard.snapshot_dashboard(ports.clock.now(), days=options.window_days)
    return JobOutcome(
        f"wrote the dashboard's days {done.first_day} to {done.last_day}, "
        "the lifecycle flows and the regions",
        _facts(done),
    )


async def _purge_idempotency_keys(ports: JobPorts, _: JobOptions) -> JobOutcome:
    async with ports.uow() as uow:
        purged = await uow.idempotency.purge_older_than(ports.clock.now() - IDEMPOTENCY_RETENTION)
        await uow.commit()
    return JobOutcome(
        f"purged {purged} idempotency keys older than {IDEMPOTENCY_RETENTION}", {"purged": purged}
    )


# The table -------------------------------------------------------------------------------------

# One row per job: name, what it does, lock key, interval in the service, runner, options.
JOBS: tuple[Job, ...] = (
    Job("release-pending", "release pending points whose pending period is over",
        2, _hourly, _release_pending, JobOptions(batch_size=1000)),  # members per batch
    Job("expire-points", "expire what is left of every lot past its expiry",
        1, _hourly, _expire_points, JobOptions(batch_size=50_000)),  # lots per transaction
    # A million members is tens of seconds of work.
    Job("review-tiers", "review every member's tier: upgrades, grace, downgrades",
        3, _daily, _review_tiers, JobOptions(batch_size=250_000)),  # members per transaction
    Job("expire-coupons", "mark available coupons past their end as expired",
        10, _hourly, _expire_coupons, JobOptions(batch_size=50_000)),
    Job("birthday-coupons",
        "issue the birthday template to members whose birthday is in the coming days",
        11, _hourly, _birthday_coupons, JobOptions(batch_size=500)),  # members per transaction
    # Login codes must go out within seconds; workers share the queue (SKIP LOCKED), no lock.
    Job("deliver-notifications", "send due outbox messages (SMS codes, member notices)",
        None, _outbox, _deliver_notifications, JobOptions(batch_size=100)),  # per claim
    # Outbound webhooks: workers share the deliveries (SKIP LOCKED), no lock.
    Job("deliver-webhooks",
        "fan out new events to webhook endpoints and post due deliveries, with retries",
        None, _outbox, _deliver_webhooks, JobOptions(batch_size=50)),  # per claim
    Job("remind-points-expiring",
        "queue one notice per member and expiry date for points expiring within 7 days",
        14, _hourly, _remind_points_expiring),
    Job("purge-login-state",
        "forget spent rate-limit windows, and login codes and refresh tokens a day past expiry",
        15, _hourly, _purge_login_state),
    Job("schedule-follow-ups",
        "one follow-up call per member sale made crm.follow_up_days days ago",
        12, _daily, _schedule_follow_ups),
    # Nightly: the 360 view shows these scores, and says how old they are.
    Job("score-rfm", "store every member's RFM scores as of today (for the 360 view)",
        13, _daily, _score_rfm, JobOptions(window_days=DEFAULT_WINDOW_DAYS), nightly=True),
    # The console's dashboard and CRM pages read these rows (console_snapshots.py): a run
    # rewrites only the recent days, so hourly is cheap; window_days is the days kept fresh.
    Job("snapshot-dashboard",
        "store the dashboard's daily figures, the lifecycle flows and the regions (console)",
        17, _hourly, _snapshot_dashboard, JobOptions(window_days=DASHBOARD_DAYS)),
    # Not in the service: schedule it yourself (cron).
    Job("purge-idempotency-keys", f"forget keys older than {IDEMPOTENCY_RETENTION}",
        16, None, _purge_idempotency_keys),
)  # fmt: skip

JOBS_BY_NAME: Mapping[str, Job] = {job.name: job for job in JOBS}
