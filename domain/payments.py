"""Card payments taken by Stripe for members: the sale they earned on, refunds and disputes.

Stripe reports refunds cumulatively (``amount_refunded`` is the running total on the charge),
so a refund event gives back the difference to what was already refunded; an older event that
arrives late gives back nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from domain.errors import RuleViolation


class CurrencyMismatch(RuleViolation):
    code = "currency_mismatch"
    title = "The payment's currency is not the programme's"


@dataclass(slots=True)
class StripePayment:
    payment_intent_id: str
    member_id: UUID
    currency: str
    amount_received: int
    created_at: datetime
    sale_id: UUID | None = None
    order_id: str | None = None  # a web shop order: earned and refunded by the shop's events
    amount_refunded: int = 0
    disputed_at: datetime | None = None

    def refund_to(self, cumulative: int) -> int:
        """Records the running refunded total; returns what is newly refunded (maybe 0)."""
        cumulative = min(cumulative, self.amount_received)
        newly = max(cumulative - self.amount_refunded, 0)
        self.amount_refunded = max(self.amount_refunded, cumulative)
        return newly


class PaymentRepository(Protocol):
    async def add(self, payment: StripePayment) -> bool:
        """False if the payment intent was recorded before."""
        ...

    async def get_for_update(self, payment_intent_id: str) -> StripePayment | None: ...

    async def save(self, payment: StripePayment) -> None: ...
