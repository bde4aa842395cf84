"""The store repository's contract, on the fake and on PostgreSQL."""

from __future__ import annotations

from uuid import uuid4

from tests.integration.contracts.conftest import Backend
from tests.integration.factories import a_store, a_terminal


async def test_a_store_and_its_terminal_round_trip(backend: Backend) -> None:
    store = await backend.store("SHA-001")
    terminal = a_terminal(store.id)
    async with backend.committed() as uow:
        assert await uow.stores.add_terminal(terminal) is True
    async with backend.new_uow() as uow:
        assert await uow.stores.get_store(store.id) == store
        assert await uow.stores.get_store_by_code("SHA-001") == store
        assert await uow.stores.get_store_by_code("SHA-002") is None
        assert await uow.stores.get_terminal(terminal.id) == terminal


async def test_a_store_code_is_taken_once(backend: Backend) -> None:
    await backend.store("SHA-001")
    async with backend.new_uow() as uow:
        assert await uow.stores.add_store(a_store("SHA-001")) is False


async def test_a_terminal_code_is_taken_once_per_store(backend: Backend) -> None:
    first, second = await backend.store("SHA-001"), await backend.store("SHA-002")
    async with backend.committed() as uow:
        assert await uow.stores.add_terminal(a_terminal(first.id, "till-1")) is True
    async with backend.new_uow() as uow:
        assert await uow.stores.add_terminal(a_terminal(first.id, "till-1")) is False
        assert await uow.stores.add_terminal(a_terminal(second.id, "till-1")) is True


async def test_a_terminal_of_a_store_that_does_not_exist_is_refused(backend: Backend) -> None:
    async with backend.new_uow() as uow:
        with backend.refuses():
            await uow.stores.add_terminal(a_terminal(uuid4()))
