"""The set-based batch jobs' ports (app.batch_jobs) on PostgreSQL, over the service's engine.

The SQL is in the module of each job; this class only hands each one the engine (a pooled
connection, or connections of its own where a job runs batches side by side).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from piccolo.engine.postgres import PostgresEngine

from adapters.persistence.connections import connection_for
from adapters.persistence.console_snapshots import snapshot_dashboard
from adapters.persistence.coupon_expiry import expire_coupons
from adapters.persistence.crm_reports import snapshot_rfm
from adapters.persistence.follow_ups import schedule_due_follow_ups
from adapters.persistence.outbox import purge_login_state, remind_points_expiring
from adapters.persistence.points_expiry import expire_points
from adapters.persistence.tier_review import review_tiers
from app.batch_jobs import (
    DashboardSnapshot,
    ExpiryReport,
    FollowUpsScheduled,
    PurgedLoginState,
    ReviewReport,
    RfmSnapshot,
)


class PostgresBatchJobs:
    def __init__(self, engine: PostgresEngine) -> None:
        self._engine = engine

    async def expire_points(self, now: datetime, *, batch_size: int) -> ExpiryReport:
        return await expire_points(self._engine, now, batch_size)

    async def review_tiers(self, now: datetime, *, batch_size: int) -> ReviewReport:
        return await review_tiers(self._engine, now, batch_size=batch_size)

    async def expire_coupons(self, now: datetime, *, batch_size: int) -> int:
        return await expire_coupons(self._engine, now, batch_size=batch_size)

    async def remind_points_expiring(self, now: datetime, horizon: timedelta) -> int:
        return await remind_points_expiring(self._engine, now, horizon)

    async def purge_login_state(self, now: datetime) -> PurgedLoginState:
        return await purge_login_state(self._engine, now)

    async def schedule_due_follow_ups(self, now: datetime) -> FollowUpsScheduled:
        async with connection_for(self._engine) as connection:
            return await schedule_due_follow_ups(connection, now)

    async def snapshot_rfm(self, now: datetime, window_days: int) -> RfmSnapshot:
        """As of today in the programme's time zone."""
        async with connection_for(self._engine) as connection:
            zone = await connection.fetchval("SELECT time_zone FROM program_settings WHERE id = 1")
            today = now.astimezone(ZoneInfo(zone)).date()
            return await snapshot_rfm(
                connection, zone=zone, as_of=today, window_days=window_days, now=now
            )

    async def snapshot_dashboard(self, now: datetime, *, days: int) -> DashboardSnapshot:
        async with connection_for(self._engine) as connection:
            return await snapshot_dashboard(connection, now, days=days)
