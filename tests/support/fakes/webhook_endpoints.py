"""Outbound webhook endpoints (their deliveries are the job's, tested on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from domain.outbound_webhooks import DeliveryAttempt, WebhookDelivery, WebhookEndpoint
from tests.support.fakes.common import require


class FakeWebhookEndpointRepository:
    def __init__(self) -> None:
        self.endpoints: dict[UUID, WebhookEndpoint] = {}
        self.delivery_log: list[WebhookDelivery] = []
        self.attempt_log: list[DeliveryAttempt] = []
        self.resent: list[tuple[UUID, int | datetime, datetime]] = []

    async def add(self, endpoint: WebhookEndpoint) -> None:
        require(endpoint.id not in self.endpoints, "webhook_endpoints_pkey")
        require(bool(endpoint.event_types), "webhook_endpoints_event_types")
        self.endpoints[endpoint.id] = endpoint

    async def get(self, endpoint_id: UUID) -> WebhookEndpoint | None:
        return self.endpoints.get(endpoint_id)

    async def hold(self, endpoint_id: UUID) -> WebhookEndpoint | None:
        return self.endpoints.get(endpoint_id)

    async def list(self, *, after: UUID | None, limit: int) -> Sequence[WebhookEndpoint]:
        ordered = sorted(self.endpoints.values(), key=lambda e: e.id)
        return [e for e in ordered if after is None or e.id > after][:limit]

    async def save(self, endpoint: WebhookEndpoint) -> None:
        if endpoint.id in self.endpoints:
            require(bool(endpoint.event_types), "webhook_endpoints_event_types")
            require(
                (endpoint.sealed_previous_secret is None)
                == (endpoint.previous_secret_until is None),
                "webhook_endpoints_overlap",
            )
            self.endpoints[endpoint.id] = endpoint

    async def deliveries(
        self, endpoint_id: UUID, *, before: int | None, limit: int
    ) -> Sequence[WebhookDelivery]:
        mine = [d for d in self.delivery_log if d.endpoint_id == endpoint_id]
        mine = [d for d in mine if before is None or d.id < before]
        return sorted(mine, key=lambda d: -d.id)[:limit]

    async def attempts(
        self, endpoint_id: UUID, *, before: int | None, limit: int
    ) -> Sequence[DeliveryAttempt]:
        ids = {d.id for d in self.delivery_log if d.endpoint_id == endpoint_id}
        mine = [a for a in self.attempt_log if a.delivery_id in ids]
        mine = [a for a in mine if before is None or a.id < before]
        return sorted(mine, key=lambda a: -a.id)[:limit]

    async def resend(self, endpoint_id: UUID, delivery_id: int, now: datetime) -> bool:
        found = any(d.id == delivery_id and d.endpoint_id == endpoint_id for d in self.delivery_log)
        if found:
            self.resent.append((endpoint_id, delivery_id, now))
        return found

    async def resend_since(self, endpoint_id: UUID, since: datetime, now: datetime) -> int:
        count = sum(
            1 for d in self.delivery_log if d.endpoint_id == endpoint_id and d.occurred_at >= since
        )
        self.resent.append((endpoint_id, since, now))
        return count
