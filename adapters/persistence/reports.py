"""The Reports port (app.reports) on PostgreSQL: each report on a connection of the pool."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

import asyncpg
from piccolo.engine.postgres import PostgresEngine

from adapters.persistence import console_snapshots, crm_reports, exports
from adapters.persistence.points_liability import points_liability
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


class PostgresReports:
    def __init__(self, engine: PostgresEngine) -> None:
        self._engine = engine

    @asynccontextmanager
    async def _pooled(self) -> AsyncIterator[asyncpg.Connection]:
        # The full reset on release: a report's REPEATABLE READ transaction leaves nothing
        # behind, but nothing here vouches for it (engine.clean_connection).
        if self._engine.pool is None:
            raise RuntimeError("the engine's connection pool is not started")
        async with self._engine.pool.acquire() as connection:
            yield connection

    async def points_liability(self, *, time_zone: str, start: date, end: date) -> PointsLiability:
        async with self._pooled() as connection:
            return await points_liability(connection, time_zone=time_zone, start=start, end=end)

    async def rfm(self, *, zone: str, as_of: date, window_days: int) -> RfmReport:
        async with self._pooled() as connection:
            return await crm_reports.rfm_report(
                connection, zone=zone, as_of=as_of, window_days=window_days
            )

    async def lifecycle(
        self, *, zone: str, start: date, end: date, crm: CrmSettings
    ) -> LifecycleReport:
        async with self._pooled() as connection:
            return await crm_reports.lifecycle_report(
                connection, zone=zone, start=start, end=end, crm=crm
            )

    async def churn_risk(self, query: ChurnRiskQuery) -> Sequence[ChurnRisk]:
        async with self._pooled() as connection:
            return await crm_reports.churn_risk(connection, query)

    async def regions(
        self, *, zone: str, first_day: date | None, last_day: date | None
    ) -> Sequence[RegionRow]:
        async with self._pooled() as connection:
            return await crm_reports.regions_report(
                connection, zone=zone, first_day=first_day, last_day=last_day
            )

    async def simulate_tiers(
        self, policy: TierPolicy, *, now: datetime, earn_rate: Decimal, currency_exponent: int
    ) -> TierSimulation:
        return await simulate_tiers(
            self._engine,
            policy,
            now=now,
            earn_rate=earn_rate,
            currency_exponent=currency_exponent,
        )

    async def audit_log(self, query: AuditQuery) -> Sequence[AuditEntry]:
        async with self._pooled() as connection:
            return await exports.audit_log(connection, query)

    # The console's snapshots: a few rows each.

    async def dashboard_days(self, *, first_day: date, last_day: date) -> Sequence[DashboardDay]:
        async with self._pooled() as connection:
            return await console_snapshots.dashboard_days(
                connection, first_day=first_day, last_day=last_day
            )

    async def rfm_grid(self) -> RfmGrid | None:
        async with self._pooled() as connection:
            return await console_snapshots.rfm_grid(connection)

    async def rfm_cell_members(
        self, *, r: int, f: int, limit: int, after: tuple[int, UUID] | None
    ) -> Sequence[ScoredMember]:
        async with self._pooled() as connection:
            return await console_snapshots.rfm_cell_members(
                connection, r=r, f=f, limit=limit, after=after
            )

    async def lifecycle_snapshot(self) -> Snapshotted[LifecycleReport] | None:
        async with self._pooled() as connection:
            return await console_snapshots.lifecycle_snapshot(connection)

    async def churn_risk_snapshot(
        self, *, crm: CrmSettings, within_days: int, limit: int, after: tuple[int, UUID] | None
    ) -> ChurnSnapshot | None:
        async with self._pooled() as connection:
            return await console_snapshots.churn_risk_snapshot(
                connection, crm=crm, within_days=within_days, limit=limit, after=after
            )

    async def regions_snapshot(self) -> Snapshotted[RegionsReport] | None:
        async with self._pooled() as connection:
            return await console_snapshots.regions_snapshot(connection)

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
