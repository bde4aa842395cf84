"""The webhook endpoint repository's contract (and the integration events port's)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from uuid import UUID

from domain.outbound_webhooks import EventType, IntegrationEvent, WebhookEndpoint
from tests.integration.contracts.conftest import Backend
from tests.integration.factories import T0


def an_endpoint(n: int) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=UUID(int=n),
        url=f"https://crm.example.com/hooks/{n}",
        description=f"endpoint {n}",
        event_types=(EventType.MEMBER_ENROLLED, EventType.POINTS_EARNED),
        personal_data=n % 2 == 0,
        enabled=True,
        created_at=T0,
        sealed_secret=f"sealed-{n}",
    )


async def test_endpoints_round_trip_and_page_by_id(backend: Backend) -> None:
    async with backend.committed() as uow:
        for n in (3, 1, 2):
            await uow.webhook_endpoints.add(an_endpoint(n))
    async with backend.new_uow() as uow:
        assert await uow.webhook_endpoints.get(UUID(int=2)) == an_endpoint(2)
        assert await uow.webhook_endpoints.get(UUID(int=9)) is None
        first = await uow.webhook_endpoints.list(after=None, limit=2)
        assert [e.id.int for e in first] == [1, 2]
        rest = await uow.webhook_endpoints.list(after=first[-1].id, limit=2)
        assert [e.id.int for e in rest] == [3]


async def test_a_saved_endpoint_keeps_every_field_secrets_included(backend: Backend) -> None:
    async with backend.committed() as uow:
        await uow.webhook_endpoints.add(an_endpoint(1))
    changed = replace(
        an_endpoint(1),
        url="https://other.example.com/h",
        event_types=(EventType.TIER_CHANGED,),
        enabled=False,
        disabled_at=T0 + timedelta(hours=1),
        disabled_reason="by admin:a",
        consecutive_failures=7,
        sealed_secret="sealed-new",
        sealed_previous_secret="sealed-1",
        previous_secret_until=T0 + timedelta(days=1),
    )
    async with backend.committed() as uow:
        assert await uow.webhook_endpoints.hold(UUID(int=1)) == an_endpoint(1)
        await uow.webhook_endpoints.save(changed)
    async with backend.new_uow() as uow:
        assert await uow.webhook_endpoints.get(UUID(int=1)) == changed


async def test_an_endpoint_without_event_types_or_with_half_an_overlap_is_refused(
    backend: Backend,
) -> None:
    async with backend.new_uow() as uow:
        with backend.refuses():
            await uow.webhook_endpoints.add(replace(an_endpoint(1), event_types=()))
    async with backend.committed() as uow:
        await uow.webhook_endpoints.add(an_endpoint(2))
    async with backend.new_uow() as uow:
        with backend.refuses():
            await uow.webhook_endpoints.save(
                replace(an_endpoint(2), sealed_previous_secret="sealed-old")
            )


async def test_an_endpoint_without_deliveries_has_nothing_to_list_or_resend(
    backend: Backend,
) -> None:
    async with backend.committed() as uow:
        await uow.webhook_endpoints.add(an_endpoint(1))
    async with backend.new_uow() as uow:
        assert await uow.webhook_endpoints.deliveries(UUID(int=1), before=None, limit=5) == []
        assert await uow.webhook_endpoints.attempts(UUID(int=1), before=None, limit=5) == []
        assert await uow.webhook_endpoints.resend(UUID(int=1), 1, T0) is False
        assert await uow.webhook_endpoints.resend_since(UUID(int=1), T0, T0) == 0


async def test_events_are_published_and_a_member_forgotten_in_the_unit_of_work(
    backend: Backend,
) -> None:
    member = await backend.member()
    event = IntegrationEvent(
        EventType.MEMBER_ENROLLED,
        {"member_id": str(member.id)},
        T0,
        personal={"phone": member.phone},
    )
    async with backend.committed() as uow:
        await uow.integration_events.publish(event)
        await uow.integration_events.publish_all([])
        await uow.integration_events.forget_member(member.id)
