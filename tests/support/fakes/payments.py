"""Stripe payments."""

from __future__ import annotations

import copy

from domain.payments import StripePayment
from tests.support.fakes.common import ConstraintViolation, Linked, require


class FakePaymentRepository(Linked):
    def __init__(self) -> None:
        self.payments: dict[str, StripePayment] = {}

    async def add(self, payment: StripePayment) -> bool:
        if payment.payment_intent_id in self.payments:
            return False
        db = self.db
        require(payment.member_id in db.members.members, "stripe_payments_member_id_fkey")
        require(
            payment.sale_id is None or payment.sale_id in db.sales.sales,
            "stripe_payments_sale_id_fkey",
        )
        if not 0 <= payment.amount_refunded <= payment.amount_received:
            raise ConstraintViolation("stripe_payments_amounts")
        self.payments[payment.payment_intent_id] = copy.deepcopy(payment)
        return True

    async def get_for_update(self, payment_intent_id: str) -> StripePayment | None:
        return copy.deepcopy(self.payments.get(payment_intent_id))

    async def save(self, payment: StripePayment) -> None:
        if not 0 <= payment.amount_refunded <= payment.amount_received:
            raise ConstraintViolation("stripe_payments_amounts")
        self.payments[payment.payment_intent_id] = copy.deepcopy(payment)
