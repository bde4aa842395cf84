"""Web shop and Stripe webhook bodies.

The envelope is decoded first; ``data`` is then decoded into the shape its ``type`` names,
so that a bad field is reported with its path (``data.lines[0].quantity``).
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from msgspec import Meta

from adapters.http.schemas.common import (
    Input,
    Money,
    Output,
    Points,
    PositiveMoney,
    TimesChecked,
    Timestamp,
)
from adapters.http.schemas.pos import CouponCode, SaleLineIn
from domain.sales import MAX_LINES, MAX_QUANTITY
from domain.time_range import EARLIEST_INSTANT, LATEST_INSTANT

# Lengths are those of the columns the values land in (adapters/persistence/tables.py).
Id64 = Annotated[str, Meta(min_length=1, max_length=64)]
# Stripe's times are Unix seconds; the service's accepted range in those units.
EARLIEST_SECONDS = int(EARLIEST_INSTANT.timestamp())
LATEST_SECONDS = int(LATEST_INSTANT.timestamp())
EventId = Annotated[str, Meta(min_length=1, max_length=255)]  # webhook_events.event_id
EventType = Annotated[str, Meta(min_length=1, max_length=64)]  # webhook_events.event_type


class ShopEventIn(TimesChecked, kw_only=True):
    """Unknown envelope fields are tolerated: the shop may add some (a version, a shop id)."""

    id: EventId
    type: EventType
    created_at: Timestamp
    data: Annotated[
        dict[str, Any],
        Meta(
            description=(
                "customer.linked {customer_id, phone?, email?, member_id?}; order.paid "
                "{order_id, customer_id or member_id, lines, coupon_codes, redeem_points, "
                "paid_at}; order.completed {order_id}; order.refunded {order_id, refund_id, "
                "amount or lines}; review.posted {review_id, order_id, rating, customer_id or "
                "member_id}"
            )
        ),
    ]


class CustomerLinkedData(Input, kw_only=True):
    customer_id: Id64
    phone: Annotated[str, Meta(min_length=1, max_length=32)] | None = None
    email: Annotated[str, Meta(max_length=254)] | None = None
    member_id: UUID | None = None


class OrderPaidData(Input, kw_only=True):
    order_id: Id64
    customer_id: Id64 | None = None
    member_id: UUID | None = None
    lines: Annotated[list[SaleLineIn], Meta(min_length=1, max_length=MAX_LINES)]
    coupon_codes: Annotated[list[CouponCode], Meta(max_length=20)] = []
    redeem_points: Points = 0
    paid_at: Timestamp


class OrderCompletedData(Input, kw_only=True):
    order_id: Id64


class RefundLineData(Input, kw_only=True):
    sku: Annotated[str, Meta(min_length=1, max_length=64)]
    quantity: Annotated[int, Meta(ge=1, le=MAX_QUANTITY)]


class OrderRefundedData(Input, kw_only=True):
    order_id: Id64
    refund_id: Id64
    amount: PositiveMoney | None = None
    lines: Annotated[list[RefundLineData], Meta(min_length=1, max_length=MAX_LINES)] | None = None


class ReviewPostedData(Input, kw_only=True):
    review_id: Id64
    order_id: Id64
    rating: Annotated[int, Meta(ge=1, le=5)]
    customer_id: Id64 | None = None
    member_id: UUID | None = None


class WebhookAckOut(Output, kw_only=True):
    event_id: str
    type: str
    outcome: Annotated[str, Meta(examples=["applied", "duplicate", "ignored", "recorded"])]


# Stripe: the fields of Stripe's objects this service reads (the rest are ignored). ------------


class StripeObject(msgspec.Struct, kw_only=True):
    """Stripe adds fields to its objects over time: unknown fields are ignored."""


# Unix seconds within the service's accepted range of instants (domain/time_range.py).
UnixSeconds = Annotated[int, Meta(ge=EARLIEST_SECONDS, lt=LATEST_SECONDS)]
# Stripe's own limits on metadata: 50 keys of up to 40 characters, values of up to 500.
StripeMetadata = Annotated[
    dict[Annotated[str, Meta(max_length=40)], Annotated[str, Meta(max_length=500)]],
    Meta(max_length=50),
]
Currency = Annotated[str, Meta(min_length=3, max_length=3)]


class StripePaymentIntent(StripeObject, kw_only=True):
    id: Id64  # the receipt id of the web sale (sales.receipt_id)
    amount_received: Money
    currency: Currency
    created: UnixSeconds
    metadata: StripeMetadata = {}


class StripeCharge(StripeObject, kw_only=True):
    # refunds.refund_id is "<charge id>:<amount refunded>": 40 + 1 + 13 digits fit its 64.
    id: Annotated[str, Meta(min_length=1, max_length=40)]
    payment_intent: Id64 | None = None
    amount_refunded: Money
    currency: Currency


class StripeDispute(StripeObject, kw_only=True):
    id: Id64  # the refund id of a lost dispute (refunds.refund_id)
    payment_intent: Id64 | None = None
    amount: Money
    status: Annotated[str, Meta(min_length=1, max_length=32)]


class RawEnvelope(msgspec.Struct):
    """The same envelope with ``data`` kept as raw JSON, to decode it into its own shape."""

    data: msgspec.Raw


class StripeEventIn(msgspec.Struct, kw_only=True):
    """A Stripe event: its id and type, and its object kept raw for the shape its type names.

    Other fields (api_version, created, livemode, request...) are ignored.
    """

    id: EventId
    type: EventType
    data: StripeEventData


class StripeEventData(msgspec.Struct, kw_only=True):
    object: msgspec.Raw
