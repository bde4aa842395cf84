"""The web shop's customers and reviews."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain.webshop import ShopReview
from tests.support.fakes.common import Linked, require


class FakeShopRepository(Linked):
    def __init__(self) -> None:
        self.customers: dict[str, UUID] = {}
        self.reviews: dict[str, ShopReview] = {}

    async def member_for_customer(self, customer_id: str) -> UUID | None:
        return self.customers.get(customer_id)

    async def link_customer(self, customer_id: str, member_id: UUID, now: datetime) -> UUID:
        require(member_id in self.db.members.members, "shop_customers_member_id_fkey")
        return self.customers.setdefault(customer_id, member_id)

    async def customers_of(self, member_id: UUID) -> list[str]:
        return [c for c, m in self.customers.items() if m == member_id]

    async def sale_for_receipt(self, store_id: UUID, receipt_id: str) -> UUID | None:
        sales = self.db.sales
        return next(
            (
                s.id
                for s in sales.sales.values()
                if (s.store_id, s.receipt_id) == (store_id, receipt_id)
            ),
            None,
        )

    async def add_review(self, review: ShopReview) -> bool:
        if review.review_id in self.reviews:
            return False
        require(review.member_id in self.db.members.members, "shop_reviews_member_id_fkey")
        require(review.sale_id in self.db.sales.sales, "shop_reviews_sale_id_fkey")
        self.reviews[review.review_id] = review
        return True
