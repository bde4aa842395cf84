"""POST /v1/webhooks/stripe: Stripe events for members' payments, each applied once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
import structlog
from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency

from adapters.http.problems import ProblemException
from adapters.http.schemas.problem import problems
from adapters.http.schemas.webhooks import (
    StripeCharge,
    StripeDispute,
    StripeEventIn,
    StripePaymentIntent,
    WebhookAckOut,
)
from adapters.http.strict_input import require_json
from adapters.http.webhook_bodies import decode_part
from app.container import Container
from app.unit_of_work import UnitOfWork
from app.use_cases.stripe_payments import (
    ChargeRefunded,
    DisputeClosed,
    DisputeCreated,
    PaymentSucceeded,
    charge_refunded,
    dispute_closed,
    dispute_created,
    payment_succeeded,
)
from app.webhook_signatures import SignatureRefused
from app.webhooks import IGNORED, Source, apply_once
from domain.errors import InvalidInput

SIGNATURE_HEADER = "Stripe-Signature"
log = structlog.get_logger("loyalty.webhooks")
MEMBER_KEY = "member_id"
ORDER_KEY = "order_id"

Apply = Callable[[UnitOfWork], Awaitable[str]]


async def _ignore(_: UnitOfWork) -> str:
    return IGNORED


def _object(raw: msgspec.Raw, shape: type[Any]) -> Any:
    return decode_part(raw, shape, "data.object")


def _payment_succeeded(raw: msgspec.Raw, c: Container) -> Apply:
    intent: StripePaymentIntent = _object(raw, StripePaymentIntent)
    member_ref = intent.metadata.get(MEMBER_KEY)
    if not member_ref:
        return _ignore  # not a member's payment: nothing to earn
    order_id = intent.metadata.get(ORDER_KEY) or None
    if order_id is not None and len(order_id) > 64:
        raise InvalidInput("metadata.order_id is longer than 64 characters", field=ORDER_KEY)
    command = PaymentSucceeded(
        payment_intent_id=intent.id,
        member_ref=member_ref,
        currency=intent.currency,
        amount_received=intent.amount_received,
        created=datetime.fromtimestamp(intent.created, UTC),
        order_id=order_id,
    )

    async def apply(uow: UnitOfWork) -> str:
        return await payment_succeeded(command, uow, clock=c.clock, ids=c.ids, dating=c.sale_dating)

    return apply


def _charge_refunded(raw: msgspec.Raw, c: Container) -> Apply:
    charge: StripeCharge = _object(raw, StripeCharge)
    if charge.payment_intent is None:
        return _ignore  # a charge without a payment intent is none of ours
    command = ChargeRefunded(
        payment_intent_id=charge.payment_intent,
        charge_id=charge.id,
        currency=charge.currency,
        amount_refunded=charge.amount_refunded,
    )

    async def apply(uow: UnitOfWork) -> str:
        return await charge_refunded(command, uow, clock=c.clock, ids=c.ids)

    return apply


def _dispute_created(raw: msgspec.Raw, c: Container) -> Apply:
    dispute: StripeDispute = _object(raw, StripeDispute)
    if dispute.payment_intent is None:
        return _ignore
    command = DisputeCreated(payment_intent_id=dispute.payment_intent, dispute_id=dispute.id)

    async def apply(uow: UnitOfWork) -> str:
        return await dispute_created(command, uow, clock=c.clock)

    return apply


def _dispute_closed(raw: msgspec.Raw, c: Container) -> Apply:
    dispute: StripeDispute = _object(raw, StripeDispute)
    if dispute.payment_intent is None:
        return _ignore
    command = DisputeClosed(
        payment_intent_id=dispute.payment_intent,
        dispute_id=dispute.id,
        status=dispute.status,
        amount=dispute.amount,
    )

    async def apply(uow: UnitOfWork) -> str:
        return await dispute_closed(command, uow, clock=c.clock, ids=c.ids)

    return apply


HANDLERS: dict[str, Callable[[msgspec.Raw, Container], Apply]] = {
    "payment_intent.succeeded": _payment_succeeded,
    "charge.refunded": _charge_refunded,
    "charge.dispute.created": _dispute_created,
    "charge.dispute.closed": _dispute_closed,
}


class StripeWebhookController(Controller):
    path = "/stripe"
    tags = ["webhooks"]

    @post(
        operation_id="receiveStripeEvent",
        summary="An event from Stripe, verified with Stripe-Signature and the endpoint secret",
        description=(
            "Verified by Stripe's library against each configured endpoint secret (rotation), "
            "then decoded strictly; a signature dated more than five minutes before or after the "
            "server's time is 401 `signature_expired`. `payment_intent.succeeded` with "
            "`metadata.member_id` earns on "
            "`amount_received` (unless `metadata.order_id` names a shop order, whose events "
            "earn instead); `charge.refunded` reverses pro rata on the newly refunded part of "
            "the cumulative `amount_refunded`; `charge.dispute.created` freezes the payment's "
            "points, `charge.dispute.closed` thaws them (won) or reverses them (lost). Other "
            "types: 200, ignored. Each event id is applied once."
        ),
        status_code=200,
        security=[],
        responses=problems(401, 404, 415, 422),
    )
    async def receive(
        self, request: Request[Any, Any, Any], container: NamedDependency[Container]
    ) -> Response[WebhookAckOut]:
        body = await request.body()
        try:
            container.stripe_signatures.verify(
                request.headers.get(SIGNATURE_HEADER), body, now=container.clock.now().timestamp()
            )
        except SignatureRefused as error:
            log.warning("webhook_refused", source="stripe", code=error.code)
            raise ProblemException(401, error.code, error.detail) from None
        require_json(request)
        event = decode_part(body, StripeEventIn, "")
        handler = HANDLERS.get(event.type)
        apply = handler(event.data.object, container) if handler else _ignore
        outcome = await apply_once(
            container.uow,
            container.clock,
            source=Source.STRIPE,
            event_id=event.id,
            event_type=event.type,
            apply=apply,
        )
        return Response(WebhookAckOut(event_id=event.id, type=event.type, outcome=outcome))
