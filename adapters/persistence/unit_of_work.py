"""The PostgreSQL unit of work: one database transaction shared by every repository.

It takes a pooled connection and begins; commit ends the transaction; the exit rolls back
whatever was not committed and returns the connection without the pool's reset query (a
unit of work leaves no session state behind: see adapters/persistence/engine.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import Token
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import asyncpg
from piccolo.engine.exceptions import TransactionError

from adapters.persistence import session
from adapters.persistence.crm_reports import PostgresSegmentResolver
from adapters.persistence.engine import LoyaltyEngine
from adapters.persistence.follow_ups import PostgresFollowUpRepository
from adapters.persistence.outbound_webhooks import (
    PostgresIntegrationEvents,
    PostgresWebhookEndpointRepository,
)
from adapters.persistence.repositories.audit import PostgresAuditLog
from adapters.persistence.repositories.coupons import (
    PostgresCouponRepository,
    PostgresCouponTemplateRepository,
    PostgresRewardSettingsRepository,
)
from adapters.persistence.repositories.draws import PostgresDrawRepository
from adapters.persistence.repositories.earning_rules import PostgresEarningRuleRepository
from adapters.persistence.repositories.feedback import PostgresFeedbackRepository
from adapters.persistence.repositories.idempotency import PostgresIdempotencyStore
from adapters.persistence.repositories.login import (
    PostgresLoginChallengeRepository,
    PostgresRefreshTokenRepository,
)
from adapters.persistence.repositories.member_privacy import PostgresMemberPrivacyRepository
from adapters.persistence.repositories.members import PostgresMemberRepository
from adapters.persistence.repositories.message_templates import (
    PostgresMessageTemplateRepository,
)
from adapters.persistence.repositories.outbox import PostgresOutbox
from adapters.persistence.repositories.points import PostgresPointsRepository
from adapters.persistence.repositories.profiles import PostgresMemberProfileRepository
from adapters.persistence.repositories.program import (
    PostgresProgramRepository,
    PostgresTierRepository,
)
from adapters.persistence.repositories.reward_catalogue import (
    PostgresGuestClaimRepository,
    PostgresRewardCatalogueRepository,
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
    profiles = PostgresMemberProfileRepository()
    message_templates = PostgresMessageTemplateRepository()
    earning_rules = PostgresEarningRuleRepository()
    integration_events = PostgresIntegrationEvents()
    webhook_endpoints = PostgresWebhookEndpointRepository()
    catalogue = PostgresRewardCatalogueRepository()
    guest_claims = PostgresGuestClaimRepository()

    def __init__(self, engine: LoyaltyEngine, *, tables: LoyaltyEngine | None = None) -> None:
        self._engine = engine
        # The engine Piccolo's tables are bound to: its transaction variable is the one
        # Piccolo's queries join. Another engine than ``engine`` for a unit of work on a
        # read replica (replica.py).
        self._tables = tables or engine
        self._open: _Open | None = None

    async def __aenter__(self) -> Self:
        if self._open is not None:
            raise RuntimeError("this unit of work is already active")
        # Nesting would silently join an outer transaction (Piccolo's default): refuse it.
        if session.current() is not None or self._tables.current_transaction.get() is not None:
            raise TransactionError(
                "A transaction is already active - nested transactions aren't allowed."
            )
        pool = self._engine.pool
        if pool is None:
            raise RuntimeError("the engine's connection pool is not started")
        connection = await pool.acquire()
        try:
            # Plain statements rather than asyncpg's Transaction: the COMMIT may carry the
            # transaction's last writes (session.at_commit), which asyncpg's cannot.
            await connection.execute("BEGIN")
        except BaseException:
            await pool.release(connection)
            raise
        active = session.ActiveTransaction(connection, self._engine.config_cache)
        self._open = _Open(
            connection,
            active,
            session._current.set(active),
            # Piccolo's queries (the repositories not yet on raw SQL) join through this one.
            self._tables.current_transaction.set(active),  # type: ignore[arg-type]
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        state = self._require()
        self._open = None
        # Clean: the transaction is over and nothing else was left on the connection.
        clean = state.active.closed
        try:
            if not clean:
                try:
                    await state.connection.execute("ROLLBACK")
                    clean = True
                except (asyncpg.exceptions.InterfaceError, asyncpg.exceptions.InternalClientError):
                    # A connection that died (database restarted, network cut) took its
                    # transaction with it; the rollback's own error would hide the one that
                    # matters (which the caller answers with 503).
                    if exc is None:
                        raise
        finally:
            state.active.closed = True
            self._tables.current_transaction.reset(state.piccolo_token)
            session._current.reset(state.session_token)
            if clean:
                await self._engine.release_clean(state.connection)
            else:
                assert self._engine.pool is not None
                await self._engine.pool.release(state.connection)

    async def commit(self) -> None:
        """Commits and ends the unit of work's transaction: a statement after it is refused
        (it would autocommit), so a use case that writes again needs a new unit of work."""
        state = self._require()
        active = state.active
        statements = [*active.at_commit, "COMMIT"]
        # If a deferred write fails, the COMMIT after it does not run: the exit rolls back.
        await active.connection.execute(";\n".join(statements))
        active.closed = True
        if self._engine.committed is not None:
            await self._engine.committed(state.connection, active.members_written)

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        state = self._require()
        connection = state.active.connection
        state.savepoints += 1
        name = f"uow_savepoint_{state.savepoints}"
        await connection.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            await connection.execute(f"ROLLBACK TO SAVEPOINT {name}")
            state.active.chain_heads.clear()
            raise
        else:
            await connection.execute(f"RELEASE SAVEPOINT {name}")

    def _require(self) -> _Open:
        if self._open is None:
            raise RuntimeError("the unit of work is not active: use `async with uow:`")
        return self._open


@dataclass(slots=True)
class _Open:
    connection: Any  # the pool's proxy of an asyncpg connection
    active: session.ActiveTransaction
    session_token: Token[session.ActiveTransaction | None]
    piccolo_token: Token[Any]
    savepoints: int = 0


def _conforms(engine: LoyaltyEngine) -> UnitOfWork:
    return PostgresUnitOfWork(engine)
