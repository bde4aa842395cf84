"""Stripe payments of members: points on what was received, refunds and disputes.

A payment whose metadata names a shop order (``order_id``) belongs to that order: its points
are earned and refunded by the shop's ``order.paid`` and ``order.refunded`` events, never here,
so a payment is never counted twice. Stripe's events for it are recorded (the running
refunded total, the dispute) and a dispute freezes that order's points. A payment without
an order is a web sale of its own: receipt id = the payment intent id, one line of
``amount_received``.

Disputes: ``charge.dispute.created`` freezes the points the payment earned (they stay in the
balance but cannot be spent or released). ``charge.dispute.closed`` decides: ``won`` thaws
them; ``lost`` reverses them as a refund of the disputed amount (pro rata, possibly leaving a
debt if they were spent), then thaws what is left.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from app.unit_of_work import (
    WithPayments,
)
from app.use_cases.announcements import save_announced
from app.use_cases.erased_members import named_member
from app.use_cases.online_orders import OnlineOrdersUnit, web_store
from app.use_cases.sales import LineInput, RecordSale, RefundSale, record_sale, refund_sale
from app.webhooks import APPLIED, IGNORED
from domain.errors import InvalidInput
from domain.payments import CurrencyMismatch, StripePayment
from domain.ports import Clock, IdGenerator
from domain.repositories import AuditRecord
from domain.sale_dating import SaleDating
from domain.sales import ONLINE
from domain.webshop import WEB_STORE_CODE, NotOwnOrder


class StripePaymentsUnit(OnlineOrdersUnit, WithPayments, Protocol):
    """What these use cases use of the unit of work (any ``UnitOfWork`` has it)."""


PAYMENT_SKU = "stripe-payment"
ACTOR = "stripe"
RECORDED = "recorded"  # noted, but the points move with the shop's order events
DISPUTE_WON = frozenset({"won", "warning_closed"})
DISPUTE_LOST = "lost"


async def _require_currency(uow: StripePaymentsUnit, currency: str) -> None:
    program = await uow.program.get()
    if currency.upper() != program.currency:
        raise CurrencyMismatch(
            f"the payment is in {currency.upper()}, the programme in {program.currency}"
        )


@dataclass(frozen=True, slots=True)
class PaymentSucceeded:
    payment_intent_id: str
    member_ref: str  # metadata.member_id as sent
    currency: str
    amount_received: int
    created: datetime
    order_id: str | None = None


async def payment_succeeded(
    cmd: PaymentSucceeded,
    uow: StripePaymentsUnit,
    *,
    clock: Clock,
    ids: IdGenerator,
    dating: SaleDating,
) -> str:
    try:
        member_id = UUID(cmd.member_ref)
    except ValueError:
        raise InvalidInput(
            "metadata.member_id is not a member id", field="metadata.member_id"
        ) from None
    named_member(await uow.members.get(member_id))
    await _require_currency(uow, cmd.currency)
    if await uow.payments.get_for_update(cmd.payment_intent_id) is not None:
        return IGNORED  # the same payment under another event id: recorded already
    payment = StripePayment(
        payment_intent_id=cmd.payment_intent_id,
        member_id=member_id,
        currency=cmd.currency.upper(),
        amount_received=cmd.amount_received,
        created_at=clock.now(),
        order_id=cmd.order_id,
    )
    store_id = await web_store(uow, clock=clock, ids=ids)
    outcome = RECORDED
    if cmd.order_id is None:
        # Checked here first so that the refusal names Stripe's own field.
        dating.check(cmd.created, clock.now(), field="data.object.created")
        sale = await record_sale(
            RecordSale(
                store_id=store_id,
                terminal_id=None,
                receipt_id=cmd.payment_intent_id,
                lines=[LineInput(PAYMENT_SKU, 1, cmd.amount_received)],
                member_id=member_id,
                occurred_at=cmd.created,
                channel=ONLINE,
            ),
            uow,
            clock=clock,
            ids=ids,
            dating=dating,
        )
        payment.sale_id = sale.sale_id
        outcome = APPLIED
    else:
        payment.sale_id = await uow.shop.sale_for_receipt(store_id, cmd.order_id)
        order = await uow.sales.get(payment.sale_id) if payment.sale_id else None
        if order is not None and order.member_id != member_id:
            raise NotOwnOrder(f"order {cmd.order_id!r} was paid for by another member")
    await uow.payments.add(payment)
    return outcome


async def _sale_of(uow: StripePaymentsUnit, payment: StripePayment) -> UUID | None:
    if payment.sale_id is None and payment.order_id is not None:
        # The shop's order.paid may have arrived after the payment.
        store = await uow.stores.get_store_by_code(WEB_STORE_CODE)
        if store is not None:
            payment.sale_id = await uow.shop.sale_for_receipt(store.id, payment.order_id)
    return payment.sale_id


@dataclass(frozen=True, slots=True)
class ChargeRefunded:
    payment_intent_id: str
    charge_id: str
    currency: str
    amount_refunded: int  # the running total on the charge


async def charge_refunded(
    cmd: ChargeRefunded, uow: StripePaymentsUnit, *, clock: Clock, ids: IdGenerator
) -> str:
    """Reverses points pro rata on what is newly refunded since the last refund event."""
    payment = await uow.payments.get_for_update(cmd.payment_intent_id)
    if payment is None:
        return IGNORED  # not a member's payment
    await _require_currency(uow, cmd.currency)
    newly = payment.refund_to(cmd.amount_refunded)
    sale_id = await _sale_of(uow, payment)
    await uow.payments.save(payment)
    if payment.order_id is not None:
        return RECORDED
    if newly == 0 or sale_id is None:
        return IGNORED
    sale = await uow.sales.get(sale_id)
    assert sale is not None  # a foreign key
    amount = min(newly, sale.refundable_amount)
    if amount == 0:
        return IGNORED
    await refund_sale(
        RefundSale(
            store_id=sale.store_id,
            sale_id=sale.id,
            refund_id=f"{cmd.charge_id}:{payment.amount_refunded}",
            amount=amount,
        ),
        uow,
        clock=clock,
        ids=ids,
    )
    return APPLIED


@dataclass(frozen=True, slots=True)
class DisputeCreated:
    payment_intent_id: str
    dispute_id: str


async def dispute_created(cmd: DisputeCreated, uow: StripePaymentsUnit, *, clock: Clock) -> str:
    """The payment's points stop being spendable until the dispute is closed."""
    payment = await uow.payments.get_for_update(cmd.payment_intent_id)
    if payment is None:
        return IGNORED
    now = clock.now()
    payment.disputed_at = payment.disputed_at or now
    sale_id = await _sale_of(uow, payment)
    await uow.payments.save(payment)
    frozen = 0
    if sale_id is not None:
        sale = await uow.sales.get(sale_id)
        assert sale is not None
        account = await uow.points.get_for_update(payment.member_id)
        frozen = account.freeze(sale.reference)
        await save_announced(uow, account)
    await uow.audit.record(
        AuditRecord(
            ACTOR,
            "points.frozen",
            f"member:{payment.member_id}",
            {
                "payment_intent": payment.payment_intent_id,
                "dispute": cmd.dispute_id,
                "points": frozen,
            },
        )
    )
    return APPLIED


@dataclass(frozen=True, slots=True)
class DisputeClosed:
    payment_intent_id: str
    dispute_id: str
    status: str
    amount: int


async def dispute_closed(
    cmd: DisputeClosed, uow: StripePaymentsUnit, *, clock: Clock, ids: IdGenerator
) -> str:
    payment = await uow.payments.get_for_update(cmd.payment_intent_id)
    if payment is None:
        return IGNORED
    if cmd.status not in DISPUTE_WON and cmd.status != DISPUTE_LOST:
        return IGNORED  # not closed in a way that decides anything
    sale_id = await _sale_of(uow, payment)
    payment.disputed_at = None
    await uow.payments.save(payment)
    if sale_id is None:
        return IGNORED
    sale = await uow.sales.get(sale_id)
    assert sale is not None
    reversed_points = 0
    if cmd.status == DISPUTE_LOST and sale.refundable_amount > 0:
        outcome = await refund_sale(
            RefundSale(
                store_id=sale.store_id,
                sale_id=sale.id,
                refund_id=cmd.dispute_id,
                amount=min(cmd.amount, sale.refundable_amount),
            ),
            uow,
            clock=clock,
            ids=ids,
        )
        reversed_points = outcome.points_reversed
    account = await uow.points.get_for_update(payment.member_id)
    thawed = account.unfreeze(sale.reference)
    await save_announced(uow, account)
    await uow.audit.record(
        AuditRecord(
            ACTOR,
            "points.unfrozen",
            f"member:{payment.member_id}",
            {
                "payment_intent": payment.payment_intent_id,
                "dispute": cmd.dispute_id,
                "status": cmd.status,
                "points": thawed,
                "reversed": reversed_points,
            },
        )
    )
    return APPLIED
