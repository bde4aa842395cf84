"""The web shop as the programme sees it: its customers are members, its orders are sales.

An online order is recorded as a sale of the web store (``channel`` web) whose receipt id is
the shop's order id, so that it earns, redeems and refunds exactly as a till's sale does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from domain.errors import Conflict, InvalidInput, RuleViolation

# The store every online order is recorded at; created on first use.
WEB_STORE_CODE = "webshop"
WEB_STORE_NAME = "Web shop"
MIN_RATING, MAX_RATING = 1, 5


class OrderAlreadyPaid(Conflict):
    code = "order_already_paid"
    title = "This order was already paid by an earlier event"


class CustomerNotLinked(RuleViolation):
    code = "customer_not_linked"
    title = "This shop customer is not linked to a member; send customer.linked first"


class CustomerLinkedElsewhere(Conflict):
    code = "customer_linked_elsewhere"
    title = "This shop customer is already linked to another member"


class NotOwnOrder(RuleViolation):
    code = "not_own_order"
    title = "The review's author is not the member who paid for the order"


class DuplicateReview(Conflict):
    code = "duplicate_review"
    title = "This review id was already recorded under another event id"


def require_rating(rating: int) -> int:
    if not MIN_RATING <= rating <= MAX_RATING:
        raise InvalidInput(f"rating must be {MIN_RATING}-{MAX_RATING}", field="rating")
    return rating


@dataclass(frozen=True, slots=True)
class ShopReview:
    review_id: str
    member_id: UUID
    sale_id: UUID
    rating: int
    posted_at: datetime


class ShopRepository(Protocol):
    async def member_for_customer(self, customer_id: str) -> UUID | None: ...

    async def link_customer(self, customer_id: str, member_id: UUID, now: datetime) -> UUID:
        """Links the id unless it is linked already; returns the member it is linked to."""
        ...

    async def customers_of(self, member_id: UUID) -> list[str]: ...

    async def sale_for_receipt(self, store_id: UUID, receipt_id: str) -> UUID | None: ...

    async def add_review(self, review: ShopReview) -> bool:
        """False if the review id was recorded before."""
        ...


class WebhookEventLog(Protocol):
    async def claim(self, source: str, event_id: str, event_type: str, now: datetime) -> bool:
        """Records the event id as a write of the current transaction.

        False if it was recorded before; a concurrent transaction holding the same id is
        waited for, so two deliveries at the same instant cannot both get True.
        """
        ...

    async def record_outcome(self, source: str, event_id: str, outcome: str) -> None: ...
