"""The PostgreSQL unit of work: one database transaction shared by every repository."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Self

import asyncpg
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction

from adapters.persistence.crm_reports import PostgresSegmentResolver
from adapters.persistence.follow_ups import PostgresFollowUpRepository
from adapters.persistence.repositories.audit import PostgresAuditLog
from adapters.persistence.repositories.coupons import (
    PostgresCouponRepository,
    PostgresCouponTemplateRepository,
    PostgresRewardSettingsRepository,
)
from adapters.persistence.repositories.draws import PostgresDrawRepository
from adapters.persistence.repositories.feedback import PostgresFeedbackRepository
from adapters.persistence.repositories.idempotency import PostgresIdempotencyStore
from adapters.persistence.repositories.login import (
    PostgresLoginChallengeRepository,
    PostgresRefreshTokenRepository,
)
from adapters.persistence.repositories.member_privacy import PostgresMemberPrivacyRepository
from adapters.persistence.repositories.members import PostgresMemberRepository
from adapters.persistence.repositories.outbox import PostgresOutbox
from adapters.persistence.repositories.points import PostgresPointsRepository
from adapters.persistence.repositories.program import (
    PostgresProgramRepository,
    PostgresTierRepository,
)
from adapters.persistence.repositories.sales import PostgresSaleRepository
from adapters.persistence.repositories.stores import PostgresStoreRepository
from adapters.persistence.repositories.webhooks import (
    PostgresPaymentRepository,
    PostgresShopRepository,
    PostgresWebhookEventLog,
)
from app.unit_of_work import UnitOfWork


class PostgresUnitOfWork:
    # Repositories hold no state of their own; they run in whatever transaction is current.
    members = PostgresMemberRepository()
    points = PostgresPointsRepository()
    sales = PostgresSaleRepository()
    stores = PostgresStoreRepository()
    program = PostgresProgramRepository()
    tiers = PostgresTierRepository()
    audit = PostgresAuditLog()
    idempotency = PostgresIdempotencyStore()
    coupon_templates = PostgresCouponTemplateRepository()
    coupons = PostgresCouponRepository()
    rewards = PostgresRewardSettingsRepository()
    draws = PostgresDrawRepository()
    webhook_events = PostgresWebhookEventLog()
    shop = PostgresShopRepository()
    payments = PostgresPaymentRepository()
    feedback = PostgresFeedbackRepository()
    login_challenges = PostgresLoginChallengeRepository()
    refresh_tokens = PostgresRefreshTokenRepository()
    outbox = PostgresOutbox()
    segments = PostgresSegmentResolver()
    follow_ups = PostgresFollowUpRepository()
    member_privacy = PostgresMemberPrivacyRepository()

    def __init__(self, engine: PostgresEngine) -> None:
        self._engine = engine
        self._transaction: PostgresTransaction | None = None

    async def __aenter__(self) -> Self:
        # Nesting would silently join an outer transaction (Piccolo's default): refuse it.
        self._transaction = self._engine.transaction(allow_nested=False)
        await self._transaction.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        transaction = self._require()
        try:
            if not transaction._rolled_back:
                try:
                    await transaction.rollback()
                except (asyncpg.exceptions.InterfaceError, asyncpg.exceptions.InternalClientError):
                    # A connection that died (database restarted, network cut) took its
                    # transaction with it; the rollback's own error would hide the one that
                    # matters (which the caller answers with 503).
                    if exc is None:
                        raise
        finally:
            # Piccolo's exit commits a transaction it believes open; nothing may commit here,
            # not even when the rollback above was interrupted. The pool resets the connection.
            transaction._rolled_back = True
            await transaction.__aexit__(None, None, None)
            self._transaction = None

    async def commit(self) -> None:
        transaction = self._require()
        await transaction.commit()
        # Whatever happens after a commit belongs to a new transaction, which the exit rolls
        # back unless it is committed too (without this, asyncpg would autocommit it).
        transaction.transaction = transaction.connection.transaction()
        await transaction.begin()
        transaction._committed = False

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        savepoint = await self._require().savepoint()
        try:
            yield
        except BaseException:
            await savepoint.rollback_to()
            raise
        else:
            await savepoint.release()

    def _require(self) -> PostgresTransaction:
        if self._transaction is None:
            raise RuntimeError("the unit of work is not active: use `async with uow:`")
        return self._transaction


def _conforms(engine: PostgresEngine) -> UnitOfWork:
    return PostgresUnitOfWork(engine)
