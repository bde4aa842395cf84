"""Delivering outbound webhooks: events fanned out to subscribed endpoints, each delivery
claimed, signed and posted, with retries for three days, a log of every attempt, and an
endpoint disabled after a run of failures.

Like the outbox of member notifications: a delivery is claimed for a lease (its attempt
counted; other workers skip it, SKIP LOCKED) and posted outside any transaction; a worker that
dies mid-post leaves it to be claimed again when the lease ends, so delivery is at least once
and a consumer deduplicates on ``webhook-id``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

import structlog

from domain.notifications import SecretBox
from domain.outbound_webhooks import next_attempt, signed_headers
from domain.ports import Clock

log = structlog.get_logger("loyalty.webhooks")

DELIVERY_BATCH_SIZE = 50
FAN_OUT_BATCH_SIZE = 1000
CLAIM_LEASE = timedelta(minutes=2)
MAX_ERROR_LENGTH = 500
SYSTEM_ACTOR = "system:webhooks"


@dataclass(frozen=True, slots=True)
class DueDelivery:
    id: int
    endpoint_id: UUID
    url: str
    event_id: UUID
    event_type: str
    occurred_at: datetime
    data: Mapping[str, object]
    personal: Mapping[str, object] | None
    personal_data: bool  # the endpoint may receive ``personal``
    sealed_secrets: tuple[str, ...]  # the current secret first, then one still overlapping
    attempts: int  # this one included, since the delivery was first queued
    round_attempts: int  # this one included, since it was last (re)queued
    queued_at: datetime

    @property
    def message_id(self) -> str:
        return message_id(self.event_id)


def message_id(event_id: UUID) -> str:
    """The ``webhook-id`` of an event: the same for every attempt and every endpoint."""
    return f"msg_{event_id.hex}"


@dataclass(frozen=True, slots=True)
class PostResult:
    status: int | None  # None: no HTTP answer (refused address, timeout, connection error)
    latency_ms: int
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True, slots=True)
class AttemptOutcome:
    delivery_id: int
    endpoint_id: UUID
    attempt: int
    at: datetime
    result: PostResult
    retry_at: datetime | None  # a failure to retry then; None with a failure: dead


class WebhookSender(Protocol):
    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> PostResult:
        """Posts once, never raising: where it may not go, or nothing answered, says so in
        the result."""
        ...


@dataclass(frozen=True, slots=True)
class DisabledEndpoint:
    endpoint_id: UUID
    url: str
    failures: int


class WebhookQueue(Protocol):
    async def fan_out(self, now: datetime, *, limit: int) -> int:
        """Turns up to ``limit`` events not yet fanned out into one delivery per endpoint
        subscribed to their type (enabled or not: a disabled endpoint's wait for it); returns
        how many events it took."""
        ...

    async def claim_due(
        self, now: datetime, *, limit: int, lease: timedelta
    ) -> Sequence[DueDelivery]:
        """Up to ``limit`` pending deliveries of enabled endpoints due by ``now`` that no other
        worker holds, their attempt counted and hidden from other workers until
        ``now + lease``."""
        ...

    async def put_back(self, delivery_id: int, now: datetime) -> None:
        """Undoes a claim that was not attempted (its endpoint was disabled meanwhile): the
        attempt uncounted, due at once for when the endpoint is enabled again."""
        ...

    async def record(
        self, outcome: AttemptOutcome, *, disable_after: int
    ) -> DisabledEndpoint | None:
        """Logs the attempt and applies it (delivered, retry, dead) in one transaction, and
        counts the endpoint's run of failures (a success ends it); the attempt that makes the
        run ``disable_after`` long disables the endpoint, records that in the audit log (actor
        ``SYSTEM_ACTOR``, action ``webhook_endpoint.disabled``) in the same transaction, and
        is answered with it."""
        ...


@dataclass(frozen=True)
class WebhookPorts:
    """What the delivery job uses besides the clock and the unit of work."""

    queue: WebhookQueue
    sender: WebhookSender
    secrets: SecretBox  # opens the endpoints' sealed signing secrets
    disable_after: int  # failed attempts in a row that disable an endpoint
    lease: timedelta = CLAIM_LEASE  # how long a claim keeps other workers off a delivery


@dataclass(frozen=True, slots=True)
class WebhookReport:
    fanned_out: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    endpoints_disabled: int = 0


def body_of(delivery: DueDelivery) -> bytes:
    data = dict(delivery.data)
    if delivery.personal_data and delivery.personal:
        data.update(delivery.personal)
    payload = {
        "type": delivery.event_type,
        "timestamp": delivery.occurred_at.isoformat(),
        "data": data,
    }
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


async def deliver_webhooks(
    queue: WebhookQueue,
    sender: WebhookSender,
    clock: Clock,
    *,
    secrets: SecretBox,
    disable_after: int,
    batch_size: int = DELIVERY_BATCH_SIZE,
    lease: timedelta = CLAIM_LEASE,
) -> WebhookReport:
    """Fans out new events, then posts every delivery due now, batch after batch."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    fanned = 0
    while True:
        taken = await queue.fan_out(clock.now(), limit=FAN_OUT_BATCH_SIZE)
        fanned += taken
        if taken < FAN_OUT_BATCH_SIZE:
            break
    delivered = retrying = dead = disabled = 0
    gone_now: set[UUID] = set()  # endpoints this run disabled: their claims are put back
    while True:
        claimed_at = clock.now()
        batch = await queue.claim_due(claimed_at, limit=batch_size, lease=lease)
        for delivery in batch:
            if clock.now() - claimed_at > lease / 2:
                # Slow endpoints used up half the lease: the rest of the batch is left to be
                # claimed again when its lease ends, never posted while another worker may
                # hold it (each attempt is bounded well within half a lease).
                break
            if delivery.endpoint_id in gone_now:
                await queue.put_back(delivery.id, clock.now())
                continue
            result = await _post(delivery, sender, secrets, clock)
            at = clock.now()
            retry_at = (
                None if result.ok else next_attempt(delivery.queued_at, delivery.round_attempts, at)
            )
            gone = await queue.record(
                AttemptOutcome(
                    delivery.id, delivery.endpoint_id, delivery.attempts, at, result, retry_at
                ),
                disable_after=disable_after,
            )
            if result.ok:
                delivered += 1
            elif retry_at is None:
                dead += 1
            else:
                retrying += 1
            if gone is not None:
                gone_now.add(gone.endpoint_id)
                disabled += 1
                _tell_admins(gone, result)
        if len(batch) < batch_size:
            return WebhookReport(fanned, delivered, retrying, dead, disabled)


async def _post(
    delivery: DueDelivery, sender: WebhookSender, secrets: SecretBox, clock: Clock
) -> PostResult:
    body = body_of(delivery)
    try:
        keys = [secrets.open(sealed) for sealed in delivery.sealed_secrets]
    except ValueError:
        return PostResult(None, 0, "the endpoint's secret cannot be opened by this service")
    headers = {
        "content-type": "application/json",
        **signed_headers(keys, delivery.message_id, int(clock.now().timestamp()), body),
    }
    result = await sender.post(delivery.url, body, headers)
    if result.error is not None and len(result.error) > MAX_ERROR_LENGTH:
        return PostResult(result.status, result.latency_ms, result.error[:MAX_ERROR_LENGTH])
    return result


def _tell_admins(gone: DisabledEndpoint, result: PostResult) -> None:
    """The audit entry is written with the change; the log line is for the alerting."""
    last = result.error or f"HTTP {result.status}"
    log.warning(
        "webhook_endpoint_disabled",
        endpoint_id=str(gone.endpoint_id),
        failures=gone.failures,
        last_error=last,
    )
