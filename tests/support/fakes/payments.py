"""Stripe payments."""

from __future__ import annotations

import copy

from domain.payments import StripePayment
from tests.support.fakes.common import ConstraintViolation


class FakePaymentRepository:
    def __init__(self) -> None:
        self.payments: dict[str, StripePayment] = {}

    async def add(self, payment: StripePayment) -> bool:
        if payment.payment_intent_id in self.payments:
            return False
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
