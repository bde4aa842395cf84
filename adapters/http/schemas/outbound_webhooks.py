"""Bodies of the admin API's outbound webhook endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from adapters.http.schemas.common import Input, Output, Page
from domain.outbound_webhooks import (
    MAX_DESCRIPTION_LENGTH,
    MAX_URL_LENGTH,
    DeliveryAttempt,
    EventType,
    WebhookDelivery,
    WebhookEndpoint,
)

Url = Annotated[str, Meta(min_length=8, max_length=MAX_URL_LENGTH, description="http(s) URL")]
EventTypes = Annotated[list[EventType], Meta(min_length=1, max_length=len(EventType))]
Description = Annotated[str, Meta(max_length=MAX_DESCRIPTION_LENGTH)]
PERSONAL_DATA = (
    "true: payloads also carry the member's name, phone and e-mail where an event has them "
    "(member.enrolled, member.updated); false (the default): ids and amounts only"
)
SECRET = (
    "the signing secret (whsec_...), in the answer that registered the endpoint or rotated "
    "its secret only; null everywhere else. Verify deliveries with it (Standard Webhooks)"
)
SECRET_WITHHELD = (
    "true when this answer is the replay of an earlier request with the same Idempotency-Key: "
    "the secret was shown once, to that request. If it was lost, rotate it"
)


class WebhookEndpointIn(Input, kw_only=True):
    url: Url
    event_types: EventTypes
    description: Description = ""
    personal_data: Annotated[bool, Meta(description=PERSONAL_DATA)] = False


class WebhookEndpointPatchIn(Input, kw_only=True):
    url: Url | UnsetType = UNSET
    event_types: EventTypes | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    personal_data: bool | UnsetType = UNSET
    enabled: (
        Annotated[
            bool,
            Meta(
                description="false stops deliveries (they wait); true resumes them and clears "
                "the run of failures of an endpoint the service disabled"
            ),
        ]
        | UnsetType
    ) = UNSET


class SecretRotationIn(Input, kw_only=True):
    overlap_seconds: Annotated[
        int,
        Meta(
            ge=0,
            le=7 * 24 * 3600,
            description="how long the replaced secret still signs, beside the new one",
        ),
    ] = 24 * 3600


class ResendSinceIn(Input, kw_only=True):
    since: Annotated[
        datetime, Meta(description="every delivery of events that occurred at or after this")
    ]


class WebhookEndpointOut(Output, kw_only=True):
    endpoint_id: UUID
    url: str
    description: str
    event_types: list[str]
    personal_data: bool
    enabled: bool
    created_at: datetime
    consecutive_failures: Annotated[int, Meta(description="failed attempts in a row")]
    disabled_at: datetime | None = None
    disabled_reason: Annotated[
        str | None,
        Meta(description="who disabled it, or the run of failures that did"),
    ] = None
    previous_secret_until: Annotated[
        datetime | None, Meta(description="the replaced secret also signs until then")
    ] = None
    secret: Annotated[str | None, Meta(description=SECRET)] = None
    secret_withheld: Annotated[bool, Meta(description=SECRET_WITHHELD)] = False

    @classmethod
    def of(cls, endpoint: WebhookEndpoint, secret: str | None = None) -> WebhookEndpointOut:
        return cls(
            endpoint_id=endpoint.id,
            url=endpoint.url,
            description=endpoint.description,
            event_types=[t.value for t in endpoint.event_types],
            personal_data=endpoint.personal_data,
            enabled=endpoint.enabled,
            created_at=endpoint.created_at,
            consecutive_failures=endpoint.consecutive_failures,
            disabled_at=endpoint.disabled_at,
            disabled_reason=endpoint.disabled_reason,
            previous_secret_until=endpoint.previous_secret_until,
            secret=secret,
        )

    def withheld(self) -> WebhookEndpointOut:
        return msgspec.structs.replace(self, secret=None, secret_withheld=True)


class WebhookEndpointPageOut(Page, kw_only=True):
    items: list[WebhookEndpointOut]


class WebhookDeliveryOut(Output, kw_only=True):
    delivery_id: int
    event_id: Annotated[str, Meta(description="the webhook-id header of every attempt")]
    event_type: str
    occurred_at: datetime
    state: Annotated[str, Meta(description="pending, delivered or dead")]
    attempts: int
    queued_at: datetime
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None

    @classmethod
    def of(cls, d: WebhookDelivery) -> WebhookDeliveryOut:
        return cls(
            delivery_id=d.id,
            event_id=d.event_id,
            event_type=d.event_type,
            occurred_at=d.occurred_at,
            state=d.state.value,
            attempts=d.attempts,
            queued_at=d.queued_at,
            next_attempt_at=d.next_attempt_at,
            last_status=d.last_status,
            last_error=d.last_error,
            delivered_at=d.delivered_at,
        )


class WebhookDeliveryPageOut(Page, kw_only=True):
    items: list[WebhookDeliveryOut]


class WebhookAttemptOut(Output, kw_only=True):
    attempt_id: int
    delivery_id: int
    event_id: str
    event_type: str
    attempt: Annotated[int, Meta(description="the delivery's attempt number, from 1")]
    at: datetime
    status: Annotated[int | None, Meta(description="HTTP status; null when none came")]
    latency_ms: int
    error: str | None

    @classmethod
    def of(cls, a: DeliveryAttempt) -> WebhookAttemptOut:
        return cls(
            attempt_id=a.id,
            delivery_id=a.delivery_id,
            event_id=a.event_id,
            event_type=a.event_type,
            attempt=a.attempt,
            at=a.at,
            status=a.status,
            latency_ms=a.latency_ms,
            error=a.error,
        )


class WebhookAttemptPageOut(Page, kw_only=True):
    items: list[WebhookAttemptOut]


class ResentOut(Output, kw_only=True):
    deliveries: Annotated[int, Meta(description="deliveries queued again, due now")]
