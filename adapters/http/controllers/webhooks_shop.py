"""POST /v1/webhooks/shop: signed events from the web shop, each applied once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from litestar import Controller, Request, Response, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler
from litestar.params import JSONBody

from adapters.http.problems import ProblemException
from adapters.http.schemas.pos import require_amount_or_lines
from adapters.http.schemas.problem import problems
from adapters.http.schemas.webhooks import (
    CustomerLinkedData,
    OrderCompletedData,
    OrderPaidData,
    OrderRefundedData,
    RawEnvelope,
    ReviewPostedData,
    ShopEventIn,
    WebhookAckOut,
)
from adapters.http.webhook_bodies import decode_part
from app.container import Container
from app.unit_of_work import UnitOfWork
from app.use_cases.online_orders import (
    LinkCustomer,
    PayOrder,
    PostReview,
    RefundOrder,
    complete_order,
    link_customer,
    pay_order,
    post_review,
    refund_order,
)
from app.use_cases.sales import LineInput
from app.webhook_signatures import SignatureRefused
from app.webhooks import APPLIED, IGNORED, Source, apply_once
from domain.sales import RefundLine

SIGNATURE_HEADER = "Shop-Signature"
log = structlog.get_logger("loyalty.webhooks")

Handler = Callable[[bytes, Container], Callable[[UnitOfWork], Awaitable[str]]]


async def require_shop_signature(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Runs before the body is parsed: a forged request learns nothing about our schema."""
    container: Container = connection.app.state.container
    body = await Request(connection.scope, connection.receive).body()
    try:
        container.shop_signatures.verify(
            connection.headers.get(SIGNATURE_HEADER), body, now=container.clock.now().timestamp()
        )
    except SignatureRefused as error:
        log.warning("webhook_refused", source="shop", code=error.code)
        raise ProblemException(401, error.code, error.detail) from None


def _data(body: bytes) -> Any:
    return decode_part(body, RawEnvelope, "").data


def _customer_linked(body: bytes, c: Container) -> Callable[[UnitOfWork], Awaitable[str]]:
    data = decode_part(_data(body), CustomerLinkedData, "data")
    command = LinkCustomer(data.customer_id, data.phone, data.email, data.member_id)

    async def apply(uow: UnitOfWork) -> str:
        await link_customer(
            command, uow, clock=c.clock, ids=c.ids, random=c.random, contacts=c.contacts
        )
        return APPLIED

    return apply


def _order_paid(body: bytes, c: Container) -> Callable[[UnitOfWork], Awaitable[str]]:
    data = decode_part(_data(body), OrderPaidData, "data")
    command = PayOrder(
        order_id=data.order_id,
        customer_id=data.customer_id,
        member_id=data.member_id,
        lines=[LineInput(i.sku, i.quantity, i.unit_price, i.category) for i in data.lines],
        coupon_codes=data.coupon_codes,
        redeem_points=data.redeem_points,
        paid_at=data.paid_at,
    )

    async def apply(uow: UnitOfWork) -> str:
        await pay_order(command, uow, clock=c.clock, ids=c.ids, dating=c.sale_dating)
        return APPLIED

    return apply


def _order_completed(body: bytes, c: Container) -> Callable[[UnitOfWork], Awaitable[str]]:
    data = decode_part(_data(body), OrderCompletedData, "data")

    async def apply(uow: UnitOfWork) -> str:
        await complete_order(data.order_id, uow, clock=c.clock)
        return APPLIED

    return apply


def _order_refunded(body: bytes, c: Container) -> Callable[[UnitOfWork], Awaitable[str]]:
    data = decode_part(_data(body), OrderRefundedData, "data")
    require_amount_or_lines(data.amount, data.lines, prefix="data.")
    command = RefundOrder(
        order_id=data.order_id,
        refund_id=data.refund_id,
        amount=data.amount,
        lines=[RefundLine(line.sku, line.quantity) for line in data.lines or ()],
    )

    async def apply(uow: UnitOfWork) -> str:
        await refund_order(command, uow, clock=c.clock, ids=c.ids)
        return APPLIED

    return apply


def _review_posted(body: bytes, c: Container) -> Callable[[UnitOfWork], Awaitable[str]]:
    data = decode_part(_data(body), ReviewPostedData, "data")
    command = PostReview(
        review_id=data.review_id,
        order_id=data.order_id,
        rating=data.rating,
        customer_id=data.customer_id,
        member_id=data.member_id,
    )

    async def apply(uow: UnitOfWork) -> str:
        await post_review(command, uow, clock=c.clock, random=c.random, ids=c.ids)
        return APPLIED

    return apply


HANDLERS: dict[str, Handler] = {
    "customer.linked": _customer_linked,
    "order.paid": _order_paid,
    "order.completed": _order_completed,
    "order.refunded": _order_refunded,
    "review.posted": _review_posted,
}


async def _ignore(_: UnitOfWork) -> str:
    return IGNORED


class ShopWebhookController(Controller):
    path = "/shop"
    tags = ["webhooks"]
    guards = [require_shop_signature]

    @post(
        operation_id="receiveShopEvent",
        summary="An event from the web shop, signed with Shop-Signature",
        description=(
            'Header `Shop-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`'
            " with the shared secret; wrong or older than 5 minutes: 401. Each event id is "
            "applied once: a repeated id is answered 200 with outcome `duplicate`. A refused "
            "event (4xx) changes nothing and is not remembered, so it can be sent again. "
            "Unknown types are acknowledged with outcome `ignored`."
        ),
        status_code=200,
        security=[],
        responses=problems(401, 403, 404, 409, 422),
    )
    async def receive(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[ShopEventIn],
        container: NamedDependency[Container],
    ) -> Response[WebhookAckOut]:
        body = await request.body()
        handler = HANDLERS.get(data.type)
        apply = handler(body, container) if handler else _ignore
        outcome = await apply_once(
            container.uow,
            container.clock,
            source=Source.SHOP,
            event_id=data.id,
            event_type=data.type,
            apply=apply,
        )
        return Response(WebhookAckOut(event_id=data.id, type=data.type, outcome=outcome))
