"""Each contract case runs twice: on the dict-backed fake and on the PostgreSQL adapter.

A use-case test on the fakes is only as good as the fakes: what the database refuses, the fake
must refuse too, and what the real read returns, the fake must return. ``backend`` hands a case
a unit-of-work factory of either kind, and the exception a refusal raises there
(``ConstraintViolation`` from a fake, an integrity error from PostgreSQL).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass

import asyncpg
import pytest

from app.unit_of_work import UnitOfWork
from domain.members import Member
from domain.stores import Store
from tests.integration.factories import a_member, a_store
from tests.support.fakes import ConstraintViolation, FakeUnitOfWorkFactory


@dataclass(frozen=True)
class Backend:
    name: str
    new_uow: Callable[[], UnitOfWork]
    refusal: type[Exception]

    @contextmanager
    def refuses(self) -> Iterator[None]:
        """The block must fail as a broken constraint fails on this backend."""
        with pytest.raises(self.refusal):
            yield

    @asynccontextmanager
    async def committed(self) -> AsyncIterator[UnitOfWork]:
        """A unit of work that commits when the block ends without an error."""
        async with self.new_uow() as uow:
            yield uow
            await uow.commit()

    async def store(self, code: str = "SHA-001") -> Store:
        store = a_store(code)
        async with self.committed() as uow:
            assert await uow.stores.add_store(store)
        return store

    async def member(self, phone: str = "+8613800138000", *, card: int = 1) -> Member:
        member = a_member(phone, card=card)
        async with self.committed() as uow:
            assert await uow.members.add(member)
            await uow.points.open_account(member.id)
        return member


@pytest.fixture(params=["fake", pytest.param("postgres", marks=pytest.mark.db)])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "fake":
        return Backend("fake", FakeUnitOfWorkFactory(), ConstraintViolation)
    return Backend(
        "postgres",
        request.getfixturevalue("uow_factory"),
        asyncpg.IntegrityConstraintViolationError,
    )
