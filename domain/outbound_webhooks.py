"""Outbound webhooks for integrators: the event catalogue, Standard Webhooks signatures, the
retry schedule, and which addresses a delivery may reach.

An event is written in the transaction of what caused it (``IntegrationEvents.publish``);
the delivery job fans it out to the endpoints subscribed to its type and posts it, signed per
the Standard Webhooks specification (https://www.standardwebhooks.com): headers
``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` (``v1,<base64 HMAC-SHA256 of
"id.timestamp.body">``, several separated by spaces while a rotated secret overlaps).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol
from urllib.parse import urlsplit
from uuid import UUID

from domain.errors import InvalidInput, NotFound

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
MAX_URL_LENGTH = 2000
MAX_DESCRIPTION_LENGTH = 500
# Retries: 30 s, 1 min, 2 min, ... doubling up to 12 h between attempts, for up to three days
# after the delivery was queued (about fourteen attempts in all).
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=12)
RETRY_FOR = timedelta(days=3)
MAX_OVERLAP = timedelta(days=7)


class EventType(StrEnum):
    MEMBER_ENROLLED = "member.enrolled"
    MEMBER_UPDATED = "member.updated"
    MEMBER_ERASED = "member.erased"
    POINTS_EARNED = "points.earned"
    POINTS_REDEEMED = "points.redeemed"
    POINTS_EXPIRED = "points.expired"
    POINTS_ADJUSTED = "points.adjusted"
    TIER_CHANGED = "tier.changed"
    COUPON_ISSUED = "coupon.issued"
    COUPON_REDEEMED = "coupon.redeemed"
    DRAW_WON = "draw.won"
    FEEDBACK_CREATED = "feedback.created"
    REWARD_REDEEMED = "reward.redeemed"
    REWARD_COLLECTED = "reward.collected"


@dataclass(frozen=True, slots=True)
class IntegrationEvent:
    """What happened, for integrators: ``data`` holds ids and amounts only; ``personal`` what
    only an endpoint allowed personal data receives (merged into ``data`` for it)."""

    type: EventType
    data: Mapping[str, object]
    occurred_at: datetime
    personal: Mapping[str, object] | None = None


class IntegrationEvents(Protocol):
    async def publish(self, event: IntegrationEvent) -> None:
        """Stores the event in the current transaction: it is announced only if that
        transaction commits."""
        ...

    async def publish_all(self, events: Sequence[IntegrationEvent]) -> None:
        """Like ``publish`` for many, in one statement."""
        ...

    async def forget_member(self, member_id: UUID) -> None:
        """Erasure: the member's personal data leaves every stored event (deliveries still
        to be made carry ids and amounts only)."""
        ...


class WebhookEndpointNotFound(NotFound):
    code = "webhook_endpoint_not_found"
    title = "No such webhook endpoint"


class WebhookDeliveryNotFound(NotFound):
    code = "webhook_delivery_not_found"
    title = "The endpoint has no such delivery"


class InvalidWebhookEndpoint(InvalidInput):
    code = "invalid_webhook_endpoint"
    title = "The webhook endpoint is not valid"


def check_url(url: str) -> str:
    """An absolute http(s) URL without credentials; where it points is checked at delivery."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidWebhookEndpoint(f"the URL is longer than {MAX_URL_LENGTH} characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise InvalidWebhookEndpoint("only http and https URLs are allowed")
    if not parts.hostname:
        raise InvalidWebhookEndpoint("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise InvalidWebhookEndpoint("the URL must not carry credentials")
    if parts.fragment:
        raise InvalidWebhookEndpoint("the URL must not have a fragment")
    try:
        parts.port  # noqa: B018 (raises on a port out of range)
    except ValueError:
        raise InvalidWebhookEndpoint("the URL's port is not valid") from None
    return url


def check_event_types(types: Sequence[str]) -> tuple[EventType, ...]:
    if not types:
        raise InvalidWebhookEndpoint("choose at least one event type")
    known = {t.value: t for t in EventType}
    unknown = sorted({t for t in types if t not in known})
    if unknown:
        raise InvalidWebhookEndpoint(f"unknown event types: {', '.join(unknown)}")
    return tuple(sorted({known[t] for t in types}, key=lambda t: t.value))


def check_description(description: str) -> str:
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidWebhookEndpoint(
            f"the description is longer than {MAX_DESCRIPTION_LENGTH} characters"
        )
    return description


# Signing ---------------------------------------------------------------------------------------


def new_secret(random_bytes: bytes) -> str:
    if len(random_bytes) < 24:
        raise ValueError("a signing secret needs at least 24 random bytes")
    return SECRET_PREFIX + base64.b64encode(random_bytes).decode()


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error as error:
        raise ValueError("not a whsec_ signing secret") from error


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>`` of ``"{id}.{timestamp}.{body}"`` under the secret's key."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(
    secrets: Sequence[str], message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The three Standard Webhooks headers; one signature per secret (current first)."""
    if not secrets:
        raise ValueError("at least one secret signs")
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, message_id, timestamp, body) for s in secrets),
    }


# Retries ---------------------------------------------------------------------------------------


def retry_wait(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 30 s doubling, at most 12 h."""
    if attempts < 1:
        raise ValueError("attempts start at 1")
    if attempts > 20:
        return LONGEST_WAIT
    wait: timedelta = FIRST_RETRY * 2 ** (attempts - 1)
    return min(wait, LONGEST_WAIT)


def next_attempt(queued_at: datetime, attempts: int, now: datetime) -> datetime | None:
    """When to try again after a failed attempt; None once that would be more than three
    days after the delivery was queued (it is then dead)."""
    when = now + retry_wait(attempts)
    if when > queued_at + RETRY_FOR:
        return None
    return when


# Where a delivery may go -----------------------------------------------------------------------

# Cloud metadata services that are reachable at public-looking or shared addresses.
METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
        ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
    }
)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def refused_address(address: Address) -> str | None:
    """Why a delivery may not connect to ``address`` (None: it may): anything that is not
    a public unicast address (loopback, private, link-local, shared, reserved, multicast) or
    is a cloud metadata service."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return refused_address(address.ipv4_mapped)
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private:
        return "a private address"
    if address.is_unspecified or address.is_reserved or not address.is_global:
        return "not a public address"
    return None


# Endpoints and deliveries ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    id: UUID
    url: str
    description: str
    event_types: tuple[EventType, ...]
    personal_data: bool  # receives names, phones and e-mail addresses
    enabled: bool
    created_at: datetime
    consecutive_failures: int = 0
    disabled_at: datetime | None = None
    disabled_reason: str | None = None
    previous_secret_until: datetime | None = None  # the old secret still signs until then
    sealed_secret: str = field(default="", repr=False)
    sealed_previous_secret: str | None = field(default=None, repr=False)


class DeliveryState(StrEnum):
    PENDING = "pending"  # waiting for its first attempt or a retry
    DELIVERED = "delivered"
    DEAD = "dead"  # retried for three days, then given up (a resend queues it again)


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    id: int
    endpoint_id: UUID
    event_id: str
    event_type: str
    occurred_at: datetime
    state: DeliveryState
    attempts: int
    queued_at: datetime
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    id: int
    delivery_id: int
    event_id: str
    event_type: str
    attempt: int
    at: datetime
    status: int | None  # the HTTP status, None when no answer came (refused, timeout)
    latency_ms: int
    error: str | None


class WebhookEndpointRepository(Protocol):
    async def add(self, endpoint: WebhookEndpoint) -> None: ...

    async def get(self, endpoint_id: UUID) -> WebhookEndpoint | None: ...

    async def hold(self, endpoint_id: UUID) -> WebhookEndpoint | None:
        """Like ``get``, locking the row for the rest of the transaction."""
        ...

    async def list(self, *, after: UUID | None, limit: int) -> Sequence[WebhookEndpoint]: ...

    async def save(self, endpoint: WebhookEndpoint) -> None:
        """Writes every field (secrets included) of an existing endpoint."""
        ...

    async def deliveries(
        self, endpoint_id: UUID, *, before: int | None, limit: int
    ) -> Sequence[WebhookDelivery]:
        """Newest first."""
        ...

    async def attempts(
        self, endpoint_id: UUID, *, before: int | None, limit: int
    ) -> Sequence[DeliveryAttempt]:
        """The delivery log, newest first."""
        ...

    async def resend(self, endpoint_id: UUID, delivery_id: int, now: datetime) -> bool:
        """Queues the delivery again, due now, with three more days of retries; False if
        the endpoint has no such delivery."""
        ...

    async def resend_since(self, endpoint_id: UUID, since: datetime, now: datetime) -> int:
        """Queues again every delivery of events that occurred at or after ``since``."""
        ...
