"""Running a use case in a unit of work: reads roll back, writes commit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

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
