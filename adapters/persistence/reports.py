"""The Reports port (app.reports) on PostgreSQL: each report on a connection of the pool."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import date, datetime
from decimal import Decimal

import asyncpg
from piccolo.engine.postgres import PostgresEngine

from adapters.persistence import crm_reports
from adapters.persistence.points_liability import points_liability
from adapters.persistence.tier_simulation import simulate_tiers
from app.reports import (
    ChurnRisk,
    ChurnRiskQuery,
    LifecycleReport,
    PointsLiability,
    RegionRow,
    RfmReport,
    TierSimulation,
)
from domain.crm import CrmSettings
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
