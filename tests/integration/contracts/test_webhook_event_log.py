"""The webhook event log's contract: an event is claimed once per source."""

from __future__ import annotations

from tests.integration.contracts.conftest import Backend
from tests.integration.factories import T0


async def test_an_event_is_claimed_once_per_source(backend: Backend) -> None:
    async with backend.committed() as uow:
        assert await uow.webhook_events.claim("shop", "evt-1", "order.paid", T0) is True
        await uow.webhook_events.record_outcome("shop", "evt-1", "applied")
    async with backend.new_uow() as uow:
        assert await uow.webhook_events.claim("shop", "evt-1", "order.paid", T0) is False
        assert await uow.webhook_events.claim("stripe", "evt-1", "charge.refunded", T0) is True
