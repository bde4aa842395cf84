"""The idempotency store's contract: a key is claimed once per caller, its answer replayed."""

from __future__ import annotations

from datetime import timedelta

from app.idempotency_store import StoredResponse
from tests.integration.contracts.conftest import Backend
from tests.integration.factories import T0


async def test_a_remembered_answer_is_replayed_to_its_caller_only(backend: Backend) -> None:
    answer = StoredResponse(201, b"{}", "application/json")
    async with backend.committed() as uow:
        first = await uow.idempotency.claim("pos:t1", "k", "h1", T0)
        assert (first.request_hash, first.replay) == ("h1", None)
        await uow.idempotency.remember("pos:t1", "k", answer)
    async with backend.committed() as uow:
        again = await uow.idempotency.claim("pos:t1", "k", "h2", T0)
        assert (again.request_hash, again.replay) == ("h1", answer)
        other_caller = await uow.idempotency.claim("pos:t2", "k", "h2", T0)
        assert other_caller.replay is None
        await uow.idempotency.remember("pos:t2", "k", answer)
    async with backend.committed() as uow:
        assert await uow.idempotency.purge_older_than(T0 + timedelta(seconds=1)) == 2
    async with backend.new_uow() as uow:
        assert (await uow.idempotency.claim("pos:t1", "k", "h3", T0)).replay is None
