"""Events for integrators (outbound webhooks), as the unit of work writes them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from uuid import UUID

from domain.outbound_webhooks import EventType, IntegrationEvent


class FakeIntegrationEvents:
    def __init__(self) -> None:
        self.events: list[IntegrationEvent] = []

    async def publish(self, event: IntegrationEvent) -> None:
        await self.publish_all([event])

    async def publish_all(self, events: Sequence[IntegrationEvent]) -> None:
        self.events.extend(events)

    async def forget_member(self, member_id: UUID) -> None:
        self.events = [
            replace(e, personal=None) if str(e.data.get("member_id")) == str(member_id) else e
            for e in self.events
        ]

    def of_type(self, event_type: EventType) -> list[IntegrationEvent]:
        return [e for e in self.events if e.type is event_type]
