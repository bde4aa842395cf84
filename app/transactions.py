"""Running a use case in a unit of work: reads roll back, writes commit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from app.unit_of_work import UnitOfWork, UnitOfWorkFactory

T = TypeVar("T")


async def read(uow_factory: UnitOfWorkFactory, query: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    async with uow_factory() as uow:
        return await query(uow)


async def write(uow_factory: UnitOfWorkFactory, command: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    async with uow_factory() as uow:
        result = await command(uow)
        await uow.commit()
        return result


class ReplicaReads(Protocol):
    """Runs a query that only reads in a unit of work that may be on a read replica (one that
    has replayed every commit of this process), or else on the primary. A query that writes
    is a bug: the replica refuses it."""

    async def __call__(self, query: Callable[[UnitOfWork], Awaitable[T]]) -> T: ...
