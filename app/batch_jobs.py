"""The batch jobs' ports: set-based work on every member at once, and what each reports.

The SQL of each lives in adapters/persistence (points_expiry.py, tier_review.py,
coupon_expiry.py, outbox.py, follow_ups.py, crm_reports.py); the jobs that go through the
domain member by member are use cases (pending_points.py, birthdays.py, notifications.py).
app.scheduling runs both kinds, from the CLI and in the service, through these ports.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol
from uuid import UUID

from app.messages import LoginCodeSender
from app.notifications import NotificationQueue
from app.outbound_webhooks import WebhookPorts
from app.unit_of_work import UnitOfWorkFactory
from app.use_cases.birthdays import BirthdayCalendar
from app.use_cases.pending_points import ReleasableLots
from domain.notifications import MemberNotifier, SecretBox, SmsSender
from domain.points import Reference
from domain.ports import Clock, IdGenerator, RandomSource

EXPIRY_RUN = "expiry_run"


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


class PointsExpiry(Protocol):
    async def expire_points(self, now: datetime, *, batch_size: int) -> ExpiryReport:
        """Expires what is left of every lot whose expiry is at or before ``now``, writing
        what ``PointsAccount.expire`` would; running it again expires nothing twice."""
        ...


@dataclass(frozen=True, slots=True)
class ReviewReport:
    members_reviewed: int = 0
    upgraded: int = 0  # moved up to the tier they qualify for (reason 'qualified')
    downgraded: int = 0  # dropped after their grace period (reason 'review')
    grace_started: int = 0  # found short for the first time: grace starts now
    grace_cleared: int = 0  # were short, qualify again (upgrades included)
    batches: int = 0


class TierReview(Protocol):
    async def review_tiers(self, now: datetime, *, batch_size: int) -> ReviewReport:
        """Applies ``domain.tier_policy.at_review`` to every member at ``now``."""
        ...


class CouponExpiry(Protocol):
    async def expire_coupons(self, now: datetime, *, batch_size: int) -> int:
        """Marks every available coupon past its end as expired; returns how many."""
        ...


class ExpiryReminders(Protocol):
    async def remind_points_expiring(self, now: datetime, horizon: timedelta) -> int:
        """Queues one notice per member and expiry date for points expiring within the
        horizon; returns how many new notices were queued (a rerun queues none twice)."""
        ...


@dataclass(frozen=True, slots=True)
class PurgedLoginState:
    counters: int  # rate-limit windows that ended
    codes: int  # login codes a day past their expiry
    refresh_tokens: int  # refresh tokens a day past their expiry


class LoginStatePurge(Protocol):
    async def purge_login_state(self, now: datetime) -> PurgedLoginState: ...


class OutboxBacklog(Protocol):
    async def backlog(self) -> int:
        """Notifications still to be sent (due, or waiting for a retry)."""
        ...


@dataclass(frozen=True, slots=True)
class FollowUpsScheduled:
    today: date
    scheduled: int


class FollowUpScheduling(Protocol):
    async def schedule_due_follow_ups(self, now: datetime) -> FollowUpsScheduled:
        """One follow-up call, due today, per member sale made ``crm.follow_up_days`` ago
        (catching up on days a run missed); never two for one sale."""
        ...


@dataclass(frozen=True, slots=True)
class RfmSnapshot:
    as_of: date
    window_days: int
    members_scored: int


class RfmSnapshots(Protocol):
    async def snapshot_rfm(self, now: datetime, window_days: int) -> RfmSnapshot:
        """Replaces the stored RFM scores with everyone's as of today (programme time zone)."""
        ...


@dataclass(frozen=True, slots=True)
class DashboardSnapshot:
    first_day: date  # the days (local, programme time zone) written by this run
    last_day: date
    days_written: int


class DashboardSnapshots(Protocol):
    async def snapshot_dashboard(self, now: datetime, *, days: int) -> DashboardSnapshot:
        """Writes the dashboard's days up to today that are not stored complete yet (always
        yesterday and today, never further back than ``days`` days), today's standing, and
        the lifecycle flows and regions of the last ``days`` days, in one snapshot."""
        ...


class JobLocks(Protocol):
    def hold(self, key: int) -> AbstractAsyncContextManager[bool]:
        """Holds the job's lock for the block: True, or False at once if another process
        holds it. A process that dies lets go of it."""
        ...


@dataclass(frozen=True)
class JobPorts:
    """Every port a batch job may use; the wiring builds one per process."""

    uow: UnitOfWorkFactory
    clock: Clock
    random: RandomSource
    ids: IdGenerator
    locks: JobLocks
    points_expiry: PointsExpiry
    releasable_lots: ReleasableLots
    tier_review: TierReview
    coupon_expiry: CouponExpiry
    birthdays: BirthdayCalendar
    notifications: NotificationQueue
    outbox_backlog: OutboxBacklog
    sms: SmsSender
    member_notifier: MemberNotifier
    secrets: SecretBox
    reminders: ExpiryReminders
    login_state: LoginStatePurge
    follow_ups: FollowUpScheduling
    rfm: RfmSnapshots
    dashboard: DashboardSnapshots
    webhooks: WebhookPorts
    # Login codes in the templates and the member's language (app.messages); None sends
    # the fixed English text through ``sms``.
    login_codes: LoginCodeSender | None = None
