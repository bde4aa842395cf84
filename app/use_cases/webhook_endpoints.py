"""Webhook endpoints of integrators: registered, changed, their secret rotated with an
overlap, their delivery log read, deliveries sent again.

The signing secret is shown once. Standard Webhooks signs with the symmetric secret itself, so
the service keeps it, sealed by the secret box (AES-GCM under a key derived from the service
secret): a dump of the database alone signs nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from app.unit_of_work import WithAudit, WithWebhookEndpoints
from domain.notifications import SecretBox
from domain.outbound_webhooks import (
    MAX_OVERLAP,
    SECRET_BYTES,
    DeliveryAttempt,
    InvalidWebhookEndpoint,
    WebhookDelivery,
    WebhookDeliveryNotFound,
    WebhookEndpoint,
    WebhookEndpointNotFound,
    check_description,
    check_event_types,
    check_url,
    new_secret,
)
from domain.ports import Clock, IdGenerator, RandomSource
from domain.repositories import AuditRecord

DEFAULT_OVERLAP = timedelta(hours=24)


class WebhookEndpointsUnit(WithAudit, WithWebhookEndpoints, Protocol):
    """What these use cases use of the unit of work (any ``UnitOfWork`` has it)."""


@dataclass(frozen=True, slots=True)
class RegisterEndpoint:
    url: str
    event_types: tuple[str, ...]
    description: str
    personal_data: bool
    actor: str


@dataclass(frozen=True, slots=True)
class EndpointWithSecret:
    endpoint: WebhookEndpoint
    secret: str  # shown once: never stored in clear, not even in the stored idempotent answer


def _audit_details(endpoint: WebhookEndpoint) -> dict[str, object]:
    return {
        "url": endpoint.url,
        "event_types": [t.value for t in endpoint.event_types],
        "personal_data": endpoint.personal_data,
        "enabled": endpoint.enabled,
    }


async def register_endpoint(
    cmd: RegisterEndpoint,
    uow: WebhookEndpointsUnit,
    *,
    clock: Clock,
    ids: IdGenerator,
    random: RandomSource,
    secrets: SecretBox,
) -> EndpointWithSecret:
    secret = new_secret(random.token_bytes(SECRET_BYTES))
    endpoint = WebhookEndpoint(
        id=ids.new_id(),
        url=check_url(cmd.url),
        description=check_description(cmd.description),
        event_types=check_event_types(cmd.event_types),
        personal_data=cmd.personal_data,
        enabled=True,
        created_at=clock.now(),
        sealed_secret=secrets.seal(secret),
    )
    await uow.webhook_endpoints.add(endpoint)
    await uow.audit.record(
        AuditRecord(
            cmd.actor,
            "webhook_endpoint.registered",
            f"webhook_endpoint:{endpoint.id}",
            _audit_details(endpoint),
        )
    )
    return EndpointWithSecret(endpoint, secret)


@dataclass(frozen=True, slots=True)
class ChangeEndpoint:
    endpoint_id: UUID
    actor: str
    url: str | None = None
    event_types: tuple[str, ...] | None = None
    description: str | None = None
    personal_data: bool | None = None
    enabled: bool | None = None


async def change_endpoint(
    cmd: ChangeEndpoint, uow: WebhookEndpointsUnit, *, clock: Clock
) -> WebhookEndpoint:
    """Enabling an endpoint (one disabled by its failures too) clears its run of failures;
    its deliveries that waited go out at once."""
    endpoint = await _held(uow, cmd.endpoint_id)
    changed = replace(
        endpoint,
        url=check_url(cmd.url) if cmd.url is not None else endpoint.url,
        event_types=check_event_types(cmd.event_types)
        if cmd.event_types is not None
        else endpoint.event_types,
        description=check_description(cmd.description)
        if cmd.description is not None
        else endpoint.description,
        personal_data=cmd.personal_data
        if cmd.personal_data is not None
        else endpoint.personal_data,
    )
    if cmd.enabled is True and not endpoint.enabled:
        changed = replace(
            changed, enabled=True, disabled_at=None, disabled_reason=None, consecutive_failures=0
        )
    elif cmd.enabled is False and endpoint.enabled:
        changed = replace(
            changed, enabled=False, disabled_at=clock.now(), disabled_reason=f"by {cmd.actor}"
        )
    if changed == endpoint:
        return endpoint
    await uow.webhook_endpoints.save(changed)
    await uow.audit.record(
        AuditRecord(
            cmd.actor,
            "webhook_endpoint.changed",
            f"webhook_endpoint:{endpoint.id}",
            _audit_details(changed),
        )
    )
    return changed


@dataclass(frozen=True, slots=True)
class RotateEndpointSecret:
    endpoint_id: UUID
    actor: str
    overlap: timedelta = DEFAULT_OVERLAP


async def rotate_endpoint_secret(
    cmd: RotateEndpointSecret,
    uow: WebhookEndpointsUnit,
    *,
    clock: Clock,
    random: RandomSource,
    secrets: SecretBox,
) -> EndpointWithSecret:
    """A new secret, shown once; the one it replaces still signs (a second signature in the
    same header) until the overlap ends, so consumers can switch without losing a delivery.
    An overlap of zero drops the old secret at once. A secret still overlapping from an
    earlier rotation is dropped."""
    if not timedelta(0) <= cmd.overlap <= MAX_OVERLAP:
        raise InvalidWebhookEndpoint(f"the overlap must be between 0 and {MAX_OVERLAP}")
    endpoint = await _held(uow, cmd.endpoint_id)
    secret = new_secret(random.token_bytes(SECRET_BYTES))
    until = clock.now() + cmd.overlap
    rotated = replace(
        endpoint,
        sealed_secret=secrets.seal(secret),
        sealed_previous_secret=endpoint.sealed_secret if cmd.overlap else None,
        previous_secret_until=until if cmd.overlap else None,
    )
    await uow.webhook_endpoints.save(rotated)
    await uow.audit.record(
        AuditRecord(
            cmd.actor,
            "webhook_endpoint.secret_rotated",
            f"webhook_endpoint:{endpoint.id}",
            {"previous_secret_until": until.isoformat() if cmd.overlap else None},
        )
    )
    return EndpointWithSecret(rotated, secret)


async def get_endpoint(uow: WebhookEndpointsUnit, endpoint_id: UUID) -> WebhookEndpoint:
    endpoint = await uow.webhook_endpoints.get(endpoint_id)
    if endpoint is None:
        raise WebhookEndpointNotFound()
    return endpoint


async def list_endpoints(
    uow: WebhookEndpointsUnit, *, after: UUID | None, limit: int
) -> Sequence[WebhookEndpoint]:
    return await uow.webhook_endpoints.list(after=after, limit=limit)


async def list_deliveries(
    uow: WebhookEndpointsUnit, endpoint_id: UUID, *, before: int | None, limit: int
) -> Sequence[WebhookDelivery]:
    await get_endpoint(uow, endpoint_id)
    return await uow.webhook_endpoints.deliveries(endpoint_id, before=before, limit=limit)


async def list_attempts(
    uow: WebhookEndpointsUnit, endpoint_id: UUID, *, before: int | None, limit: int
) -> Sequence[DeliveryAttempt]:
    await get_endpoint(uow, endpoint_id)
    return await uow.webhook_endpoints.attempts(endpoint_id, before=before, limit=limit)


@dataclass(frozen=True, slots=True)
class ResendDelivery:
    endpoint_id: UUID
    delivery_id: int
    actor: str


async def resend_delivery(cmd: ResendDelivery, uow: WebhookEndpointsUnit, *, clock: Clock) -> None:
    """Queues one delivery again (delivered, dead or waiting), due now; the consumer sees
    the same ``webhook-id``."""
    await _held(uow, cmd.endpoint_id)
    if not await uow.webhook_endpoints.resend(cmd.endpoint_id, cmd.delivery_id, clock.now()):
        raise WebhookDeliveryNotFound()
    await uow.audit.record(
        AuditRecord(
            cmd.actor,
            "webhook_endpoint.resent",
            f"webhook_endpoint:{cmd.endpoint_id}",
            {"delivery_id": cmd.delivery_id},
        )
    )


@dataclass(frozen=True, slots=True)
class ResendSince:
    endpoint_id: UUID
    since: datetime
    actor: str


async def resend_since(cmd: ResendSince, uow: WebhookEndpointsUnit, *, clock: Clock) -> int:
    """Queues again every delivery to the endpoint of events that occurred at or after
    ``since``; returns how many."""
    if cmd.since.tzinfo is None:
        raise InvalidWebhookEndpoint("since needs a time zone")
    await _held(uow, cmd.endpoint_id)
    count = await uow.webhook_endpoints.resend_since(cmd.endpoint_id, cmd.since, clock.now())
    await uow.audit.record(
        AuditRecord(
            cmd.actor,
            "webhook_endpoint.resent",
            f"webhook_endpoint:{cmd.endpoint_id}",
            {"since": cmd.since.isoformat(), "deliveries": count},
        )
    )
    return count


async def _held(uow: WebhookEndpointsUnit, endpoint_id: UUID) -> WebhookEndpoint:
    endpoint = await uow.webhook_endpoints.hold(endpoint_id)
    if endpoint is None:
        raise WebhookEndpointNotFound()
    return endpoint
