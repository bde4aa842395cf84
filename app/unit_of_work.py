"""The unit of work: one transaction, the repositories that join it, an explicit commit."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Protocol, Self

from app.idempotency_store import IdempotencyStore
from domain.repositories import (
    AuditLog,
    MemberRepository,
    PointsRepository,
    ProgramRepository,
    SaleRepository,
    StoreRepository,
    TierRepository,
)


class UnitOfWork(Protocol):
    members: MemberRepository
    points: PointsRepository
    sales: SaleRepository
    stores: StoreRepository
    program: ProgramRepository
    tiers: TierRepository
    audit: AuditLog
    idempotency: IdempotencyStore

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Rolls back whatever was not committed."""
        ...

    async def commit(self) -> None: ...

    def savepoint(self) -> AbstractAsyncContextManager[None]:
        """Writes inside the block are undone if it raises; the transaction goes on."""
        ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...
