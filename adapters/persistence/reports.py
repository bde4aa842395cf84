"""The Reports port (app.reports) on PostgreSQL: each report on a connection of the pool."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import TypeVar
from uuid import UUID

import asyncpg
from piccolo.engine.postgres import PostgresEngine

from adapters.persistence import console_snapshots, crm_reports, exports
from adapters.persistence.points_liability import points_liability
from adapters.persistence.replica import ReadRouter
from adapters.persistence.tier_simulation import simulate_tiers
from app.reports import (
    AuditEntry,
    AuditQuery,
    ChurnRisk,
    ChurnRiskQuery,
    ChurnSnapshot,
    DashboardDay,
    LifecycleReport,
    PointsLiability,
    RegionRow,
    RegionsReport,
    RfmGrid,
    RfmReport,
    ScoredMember,
    SegmentMember,
    Snapshotted,
    TierSimulation,
)
from domain.crm import CrmSettings, RfmSegment, SegmentSpec
from domain.tier_policy import TierPolicy

T = TypeVar("T")


class PostgresReports:
    """Each report on the read replica when one is configured (and up), else on the primary
    (adapters/persistence/replica.py). The full reset on release: a report's REPEATABLE READ
    transaction leaves nothing behind, but nothing here vouches for it."""

    def __init__(self, database: PostgresEngine | ReadRouter) -> None:
        self._reads = ReadRouter.of(database)

    async def _run(self, report: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        return await self._reads.run(report, own_commits=True, clean=False)

    @asynccontextmanager
    async def _pooled(self) -> AsyncIterator[asyncpg.Connection]:
        async with self._reads.connection() as connection:
            yield connection

    async def points_liability(self, *, time_zone: str, start: date, end: date) -> PointsLiability:
        return await self._run(
            lambda c: points_liability(c, time_zone=time_zone, start=start, end=end)
        )

    async def rfm(self, *, zone: str, as_of: date, window_days: int) -> RfmReport:
        return await self._run(
            lambda c: crm_reports.rfm_report(c, zone=zone, as_of=as_of, window_days=window_days)
        )

    async def lifecycle(
        self, *, zone: str, start: date, end: date, crm: CrmSettings
    ) -> LifecycleReport:
        return await self._run(
            lambda c: crm_reports.lifecycle_report(c, zone=zone, start=start, end=end, crm=crm)
        )

    async def churn_risk(self, query: ChurnRiskQuery) -> Sequence[ChurnRisk]:
        return await self._run(lambda c: crm_reports.churn_risk(c, query))

    async def regions(
        self, *, zone: str, first_day: date | None, last_day: date | None
    ) -> Sequence[RegionRow]:
        return await self._run(
            lambda c: crm_reports.regions_report(
                c, zone=zone, first_day=first_day, last_day=last_day
            )
        )

    async def simulate_tiers(
        self, policy: TierPolicy, *, now: datetime, earn_rate: Decimal, currency_exponent: int
    ) -> TierSimulation:
        return await simulate_tiers(
            self._reads.primary,
            policy,
            now=now,
            earn_rate=earn_rate,
            currency_exponent=currency_exponent,
        )

    async def audit_log(self, query: AuditQuery) -> Sequence[AuditEntry]:
        return await self._run(lambda c: exports.audit_log(c, query))

    # The console's snapshots: a few rows each.

    async def dashboard_days(self, *, first_day: date, last_day: date) -> Sequence[DashboardDay]:
        return await self._run(
            lambda c: console_snapshots.dashboard_days(c, first_day=first_day, last_day=last_day)
        )

    async def rfm_grid(self) -> RfmGrid | None:
        return await self._run(console_snapshots.rfm_grid)

    async def rfm_cell_members(
        self, *, r: int, f: int, limit: int, after: tuple[int, UUID] | None
    ) -> Sequence[ScoredMember]:
        return await self._run(
            lambda c: console_snapshots.rfm_cell_members(c, r=r, f=f, limit=limit, after=after)
        )

    async def lifecycle_snapshot(self) -> Snapshotted[LifecycleReport] | None:
        return await self._run(console_snapshots.lifecycle_snapshot)

    async def churn_risk_snapshot(
        self, *, crm: CrmSettings, within_days: int, limit: int, after: tuple[int, UUID] | None
    ) -> ChurnSnapshot | None:
        return await self._run(
            lambda c: console_snapshots.churn_risk_snapshot(
                c, crm=crm, within_days=within_days, limit=limit, after=after
            )
        )

    async def regions_snapshot(self) -> Snapshotted[RegionsReport] | None:
        return await self._run(console_snapshots.regions_snapshot)

    # The exports hold their pooled connection while the caller streams their rows out; a
    # caller that stops early (the client went away) closes the generator, which gives the
    # connection back.

    async def rfm_members(
        self, *, zone: str, as_of: date, window_days: int, segment: RfmSegment | None
    ) -> AsyncIterator[ScoredMember]:
        async with self._pooled() as connection:
            async for row in exports.rfm_members(
                connection, zone=zone, as_of=as_of, window_days=window_days, segment=segment
            ):
                yield row

    async def segment_members(
        self, spec: SegmentSpec, *, today: date, zone: str, crm: CrmSettings
    ) -> AsyncIterator[SegmentMember]:
        async with self._pooled() as connection:
            async for row in exports.segment_members(
                connection, spec, today=today, zone=zone, crm=crm
            ):
                yield row

    async def churn_risk_all(self, query: ChurnRiskQuery) -> AsyncIterator[ChurnRisk]:
        async with self._pooled() as connection:
            async for row in exports.churn_risk_all(connection, query):
                yield row
